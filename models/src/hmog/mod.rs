//! Hierarchical mixtures of Gaussians (goal-jax's HMoG): `x — y — z`, a linear Gaussian model
//! from observations `x ∈ ℝᵈ` to latent factors `y ∈ ℝᵏ` below, a mixture of `K` Gaussians
//! over `y` (component `z`) above:
//!
//! `log p(x, y, z) = θ_X·s_X(x) + xᵀ Θ_XY y + [θ_Y·s_Y(y) + θ_Z·s_Z(z) + s_Y(y)ᵀ Θ_YZ s_Z(z)] − ψ`.
//!
//! As a harmonium it has the observable `x` and, as latent, the upper mixture over `(y, z)`:
//! the lower interaction couples `x` to `y` only, so conjugation (`ρ` of the linear Gaussian
//! model, a full quadratic in `y`) adds to the mixture's `y`-bias, and
//! `log p(x) = θ_X·s_X(x) + log h_X(x) + ψ_upper(posterior at x) − ψ_X(θ_X) − ψ_upper(prior)`,
//! with the mixture's own exact log partition ([`crate::harmonium::Conjugated`]).
//!
//! goal-jax's three variants ([`HmogVariant`]) differ in which coordinates the upper
//! mixture's parameters live in; every computation runs in the embedding into full-covariance
//! coordinates, which describes the same densities:
//! - `Analytic` (`analytic_hmog`): full-covariance `y`-bias and components; closed-form EM
//!   with whitening of the prior, and the mean ↔ natural conversion.
//! - `Symmetric` (`symmetric_hmog`): a full-covariance `y`-bias, components that differ only
//!   in restricted (e.g. diagonal) coordinates; trained by gradient ascent on `log p(x)`.
//! - `Differentiable` (`differentiable_hmog`): `y`-bias and components both restricted (the
//!   *posterior* stays restricted, the prior becomes full through `ρ`); gradient ascent.
//!
//! [`fit`] trains them; [`gibbs`] samples the three-level chain on the engine.

mod batch;
mod construct;
pub mod fit;
pub mod gibbs;

pub use construct::HmogMoments;
pub use fit::{HmogFitOptions, HmogFitReport};
pub use gibbs::HmogSampler;

use faer::Mat;

use crate::expfam::{Categorical, CovarianceType, ExponentialFamily, Gaussian, check_vector, dot};
use crate::harmonium::{Conjugated, Coupling, Harmonium, HarmoniumError};
use crate::samples::Samples;

/// Which of goal-jax's HMoG variants; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HmogVariant {
    /// Full-covariance `y`-bias and components; closed-form EM.
    #[doc(alias = "analytic_hmog")]
    Analytic,
    /// Full-covariance `y`-bias; components differ in `components` coordinates.
    #[doc(alias = "symmetric_hmog")]
    Symmetric {
        /// Representation of the per-component parameters.
        components: CovarianceType,
    },
    /// `y`-bias and components in `posterior` coordinates.
    #[doc(alias = "differentiable_hmog")]
    Differentiable {
        /// Representation of the latent posterior.
        posterior: CovarianceType,
    },
}

/// A hierarchical mixture of Gaussians in natural coordinates; see the module docs.
#[derive(Clone, Debug, PartialEq)]
pub struct Hmog {
    variant: HmogVariant,
    observable: Gaussian,
    latent_dim: usize,
    components: usize,
    bias_family: Gaussian,
    component_family: Gaussian,
    observable_bias: Vec<f64>,
    interaction: Vec<f64>,
    latent_bias: Vec<f64>,
    mixture_interaction: Vec<f64>,
    category_bias: Vec<f64>,
}

impl Hmog {
    /// An HMoG from natural parameters: `θ_X` (observable family), `Θ_XY` (`d × k`
    /// row-major), `θ_Y` (the variant's bias family), `Θ_YZ` (component family dimension ×
    /// `K − 1`, row-major) and `θ_Z` (`K − 1`). Shapes and finiteness are checked, and so is
    /// the prior: the model must be normalisable.
    pub fn new(
        variant: HmogVariant,
        observable: Gaussian,
        latent_dim: usize,
        components: usize,
        params: HmogParams,
    ) -> Result<Hmog, HarmoniumError> {
        let template = Hmog::zeros(variant, observable, latent_dim, components)?;
        let hmog = template.with_params(&params.concat())?;
        hmog.log_partition()?;
        Ok(hmog)
    }

    fn zeros(
        variant: HmogVariant,
        observable: Gaussian,
        latent_dim: usize,
        components: usize,
    ) -> Result<Hmog, HarmoniumError> {
        Categorical::new(components)?;
        let (bias_ty, component_ty) = match variant {
            HmogVariant::Analytic => (CovarianceType::Full, CovarianceType::Full),
            HmogVariant::Symmetric { components } => (CovarianceType::Full, components),
            HmogVariant::Differentiable { posterior } => (posterior, posterior),
        };
        let bias_family = Gaussian::new(latent_dim, bias_ty)?;
        let component_family = Gaussian::new(latent_dim, component_ty)?;
        Ok(Hmog {
            variant,
            observable,
            latent_dim,
            components,
            bias_family,
            component_family,
            observable_bias: vec![0.0; observable.dim()],
            interaction: vec![0.0; observable.data_dim() * latent_dim],
            latent_bias: vec![0.0; bias_family.dim()],
            mixture_interaction: vec![0.0; component_family.dim() * (components - 1)],
            category_bias: vec![0.0; components - 1],
        })
    }

    /// The variant.
    pub fn variant(&self) -> HmogVariant {
        self.variant
    }

    /// The observable family.
    pub fn observable(&self) -> &Gaussian {
        &self.observable
    }

    /// Dimension `k` of the latent factors `y`.
    pub fn latent_dim(&self) -> usize {
        self.latent_dim
    }

    /// Number of mixture components `K`.
    pub fn components(&self) -> usize {
        self.components
    }

    /// The family of the `y`-bias `θ_Y` (full, or the posterior representation).
    pub fn bias_family(&self) -> Gaussian {
        self.bias_family
    }

    /// The family of the per-component differences `Θ_YZ e_k`.
    pub fn component_family(&self) -> Gaussian {
        self.component_family
    }

    fn full_y(&self) -> Gaussian {
        self.bias_family().full()
    }

    /// All parameters as one vector `[θ_X, Θ_XY, θ_Y, Θ_YZ, θ_Z]` (the variant's own
    /// coordinates: what gradient training updates).
    pub fn params(&self) -> Vec<f64> {
        self.parts().concat()
    }

    /// The parameters by part.
    pub fn parts(&self) -> HmogParams {
        HmogParams {
            observable_bias: self.observable_bias.clone(),
            interaction: self.interaction.clone(),
            latent_bias: self.latent_bias.clone(),
            mixture_interaction: self.mixture_interaction.clone(),
            category_bias: self.category_bias.clone(),
        }
    }

    /// The same model with parameters from one vector (layout of [`Hmog::params`]); checks
    /// the length and finiteness only.
    pub fn with_params(&self, params: &[f64]) -> Result<Hmog, HarmoniumError> {
        let total = self.observable_bias.len()
            + self.interaction.len()
            + self.latent_bias.len()
            + self.mixture_interaction.len()
            + self.category_bias.len();
        check_vector("params", params, total)?;
        let mut rest = params;
        let mut take = |n: usize| {
            let (head, tail) = rest.split_at(n);
            rest = tail;
            head.to_vec()
        };
        let mut h = self.clone();
        h.observable_bias = take(self.observable_bias.len());
        h.interaction = take(self.interaction.len());
        h.latent_bias = take(self.latent_bias.len());
        h.mixture_interaction = take(self.mixture_interaction.len());
        h.category_bias = take(self.category_bias.len());
        Ok(h)
    }

    /// The lower linear Gaussian model `x — y` with a zero `y`-bias (the `y`-bias belongs to
    /// the upper mixture).
    pub fn lower_harmonium(&self) -> Result<Harmonium<Gaussian, Gaussian>, HarmoniumError> {
        let y = self.full_y();
        Harmonium::new(
            self.observable,
            y,
            (Coupling::Location, Coupling::Location),
            self.observable_bias.clone(),
            vec![0.0; y.dim()],
            self.interaction.clone(),
        )
    }

    /// The upper mixture over `(y, z)` embedded in full-covariance coordinates, with the
    /// stored `y`-bias (neither the prior nor a posterior: see [`Hmog::prior_mixture`] and
    /// [`Hmog::posterior_mixture`]).
    pub fn upper_mixture(&self) -> Result<Harmonium<Gaussian, Categorical>, HarmoniumError> {
        let full = self.full_y();
        let cf = self.component_family();
        let cols = self.components - 1;
        let rows = cf.dim();
        let mut interaction = vec![0.0; full.dim() * cols];
        for c in 0..cols {
            let column: Vec<f64> = (0..rows)
                .map(|r| self.mixture_interaction[r * cols + c])
                .collect();
            for (r, v) in cf.embed_linear(&column).into_iter().enumerate() {
                interaction[r * cols + c] = v;
            }
        }
        Harmonium::new(
            full,
            Categorical::new(self.components)?,
            (Coupling::Full, Coupling::Full),
            self.bias_family().embed_natural(&self.latent_bias)?,
            self.category_bias.clone(),
            interaction,
        )
    }

    fn shifted_mixture(
        &self,
        shift: &[f64],
    ) -> Result<Harmonium<Gaussian, Categorical>, HarmoniumError> {
        let upper = self.upper_mixture()?;
        let mut bias = upper.observable_bias().to_vec();
        for (b, s) in bias.iter_mut().zip(shift) {
            *b += s;
        }
        Harmonium::new(
            *upper.observable(),
            *upper.latent(),
            upper.couplings(),
            bias,
            upper.latent_bias().to_vec(),
            upper.interaction().to_vec(),
        )
    }

    /// The prior `p(y, z)`: the upper mixture with the lower model's conjugation parameters
    /// added to its `y`-bias.
    pub fn prior_mixture(&self) -> Result<Harmonium<Gaussian, Categorical>, HarmoniumError> {
        let rho = self.lower_harmonium()?.conjugation_parameters()?;
        self.shifted_mixture(&rho)
    }

    /// The posterior `p(y, z | x)`: the upper mixture with `Θ_XYᵀ x` added to its `y`
    /// location.
    pub fn posterior_mixture(
        &self,
        x: &[f64],
    ) -> Result<Harmonium<Gaussian, Categorical>, HarmoniumError> {
        self.observable.check_point(x)?;
        let (d, k) = (self.observable.data_dim(), self.latent_dim);
        let shift: Vec<f64> = (0..k)
            .map(|j| (0..d).map(|i| self.interaction[i * k + j] * x[i]).sum())
            .collect();
        self.shifted_mixture(&shift)
    }

    /// The exact log partition `ψ_X(θ_X) + ψ_upper(prior)`.
    pub fn log_partition(&self) -> Result<f64, HarmoniumError> {
        Ok(self.observable.log_partition(&self.observable_bias)?
            + self.prior_mixture()?.log_partition()?)
    }

    fn log_density_with(&self, x: &[f64], psi: f64) -> Result<f64, HarmoniumError> {
        let sx = self.observable.sufficient_statistic(x)?;
        Ok(dot(&self.observable_bias, &sx)
            + self.observable.log_base_measure(x)
            + self.posterior_mixture(x)?.log_partition()?
            - psi)
    }

    /// `log p(x)`.
    pub fn log_observable_density(&self, x: &[f64]) -> Result<f64, HarmoniumError> {
        self.log_density_with(x, self.log_partition()?)
    }

    /// `log p(x)` of every row of `data`.
    pub fn score_samples(&self, data: &Samples) -> Result<Vec<f64>, HarmoniumError> {
        Ok(self.batch_posterior(data, false)?.log_density)
    }

    /// The average `log p(x)` over the rows of `data`.
    pub fn average_log_observable_density(&self, data: &Samples) -> Result<f64, HarmoniumError> {
        let scores = self.score_samples(data)?;
        Ok(scores.iter().sum::<f64>() / scores.len() as f64)
    }

    /// Natural parameters of `p(z | x)`.
    pub fn posterior_categorical(&self, x: &[f64]) -> Result<Vec<f64>, HarmoniumError> {
        self.posterior_mixture(x)?.prior()
    }

    /// `p(z = k | x)` for every component.
    pub fn posterior_soft_assignments(&self, x: &[f64]) -> Result<Vec<f64>, HarmoniumError> {
        let cat = Categorical::new(self.components)?;
        Ok(cat.probabilities(&self.posterior_categorical(x)?)?)
    }

    /// The most probable component given `x`.
    pub fn posterior_hard_assignment(&self, x: &[f64]) -> Result<usize, HarmoniumError> {
        let p = self.posterior_soft_assignments(x)?;
        Ok(argmax(&p))
    }

    /// Ancestral sampling: `(y, z) ~ p(y, z)`, then `x ~ p(x | y)`.
    pub fn sample(&self, n: usize, seed: u64) -> Result<HmogSample, HarmoniumError> {
        use rand::SeedableRng;
        let (ys, zs) = self.prior_mixture()?.sample(n, seed)?;
        let lower = self.lower_harmonium()?;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
        let d = self.observable.data_dim();
        let mut xs = vec![0.0; n * d];
        for (x, y) in xs.chunks_exact_mut(d).zip(ys.chunks_exact(self.latent_dim)) {
            self.observable
                .sample_into(&lower.likelihood_at(y)?, &mut rng, x)?;
        }
        Ok(HmogSample {
            x: xs,
            y: ys,
            z: zs,
        })
    }

    /// Joint mean parameters in full coordinates: `[E s_X, E[x yᵀ], E s_upper]` with the
    /// upper statistics of the full-covariance mixture over `(y, z)`.
    pub fn mean_parameters(&self) -> Result<Vec<f64>, HarmoniumError> {
        let prior = self.prior_mixture()?;
        let upper_mean = prior.mean_parameters()?;
        let full = self.full_y();
        let (ey, cov_y) = full.mean_covariance_from_mean(&upper_mean[..full.dim()])?;
        let (d, k) = (self.observable.data_dim(), self.latent_dim);
        // x | y ~ N(ν + B y, Σ_x) with Σ_x from θ_X, ν = Σ_x η_x and B = Σ_x Θ_XY.
        let (nu, sigma_x) = self.observable.mean_covariance(&self.observable_bias)?;
        let theta = Mat::from_fn(d, k, |i, j| self.interaction[i * k + j]);
        let b = &sigma_x * &theta;
        let ex: Vec<f64> = (0..d)
            .map(|i| nu[i] + (0..k).map(|j| b[(i, j)] * ey[j]).sum::<f64>())
            .collect();
        let b_cov = &b * &cov_y;
        let cov_x = &sigma_x + &b_cov * b.transpose();
        let mut out = self.observable.mean_from_moments(&ex, cov_x.as_ref());
        for i in 0..d {
            out.extend((0..k).map(|j| ex[i] * ey[j] + b_cov[(i, j)]));
        }
        out.extend(upper_mean);
        Ok(out)
    }

    /// Posterior statistics of one observation in full coordinates: `[s_X(x), x E[y|x]ᵀ,
    /// E[s_upper | x]]`.
    pub fn posterior_statistics(&self, x: &[f64]) -> Result<Vec<f64>, HarmoniumError> {
        let mut out = self.observable.sufficient_statistic(x)?;
        let upper = self.posterior_mixture(x)?.mean_parameters()?;
        for &xi in x {
            out.extend(upper[..self.latent_dim].iter().map(|y| xi * y));
        }
        out.extend(upper);
        Ok(out)
    }

    /// Reads a full-coordinate vector (a gradient) in the variant's parameter layout (the
    /// transpose of the embedding into full coordinates).
    pub fn project_full(&self, v: &[f64]) -> Vec<f64> {
        let full = self.full_y();
        let cf = self.component_family();
        let cols = self.components - 1;
        let a = self.observable_bias.len() + self.interaction.len();
        let mut out = v[..a].to_vec();
        out.extend(self.bias_family().project_full(&v[a..a + full.dim()]));
        let inter = &v[a + full.dim() + cols..];
        let projected: Vec<Vec<f64>> = (0..cols)
            .map(|c| {
                let column: Vec<f64> = (0..full.dim()).map(|r| inter[r * cols + c]).collect();
                cf.project_full(&column)
            })
            .collect();
        for r in 0..cf.dim() {
            out.extend(projected.iter().map(|column| column[r]));
        }
        out.extend_from_slice(&v[a + full.dim()..a + full.dim() + cols]);
        out
    }
}

/// Draws from an [`Hmog`], row-major, one row per draw.
#[derive(Clone, Debug, PartialEq)]
pub struct HmogSample {
    /// Observations `x` (`n × d`).
    pub x: Vec<f64>,
    /// Latent factors `y` (`n × k`).
    pub y: Vec<f64>,
    /// Components `z` (`n`), as category indices.
    pub z: Vec<f64>,
}

/// The parameters of an [`Hmog`] by part, in the variant's coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct HmogParams {
    /// `θ_X` in the observable family's layout.
    pub observable_bias: Vec<f64>,
    /// `Θ_XY`, `d × k` row-major.
    pub interaction: Vec<f64>,
    /// `θ_Y` in [`Hmog::bias_family`]'s layout.
    pub latent_bias: Vec<f64>,
    /// `Θ_YZ`, [`Hmog::component_family`] dimension × `K − 1`, row-major.
    pub mixture_interaction: Vec<f64>,
    /// `θ_Z` (`K − 1`).
    pub category_bias: Vec<f64>,
}

impl HmogParams {
    fn concat(&self) -> Vec<f64> {
        [
            &self.observable_bias[..],
            &self.interaction,
            &self.latent_bias,
            &self.mixture_interaction,
            &self.category_bias,
        ]
        .concat()
    }
}

/// Index of the largest entry (the first of ties).
pub(crate) fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}
