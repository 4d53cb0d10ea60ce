//! Harmoniums (goal-jax's `Harmonium`): an observable group `x` and a latent group `z`, each
//! from an [`ExponentialFamily`], joined by an interaction matrix:
//!
//! `log p(x, z) = θ_X·s_X(x) + θ_Z·s_Z(z) + s_X(x)ᵀ Θ s_Z(z) + log h_X(x) + log h_Z(z) − ψ`.
//!
//! [`Coupling`] says which statistic coordinates `Θ` joins on each side: all of them, or only
//! the first-order ones (a linear Gaussian model couples `x` and `z`, not `xxᵀ`). Parameters
//! are laid out as `[θ_X, θ_Z, Θ]` with `Θ` row-major (`rows` coupled observable coordinates
//! × `cols` coupled latent coordinates); the same layout holds the mean parameters (averaged
//! joint statistics) and the gradients of [`Harmonium::contrastive_divergence`].
//!
//! - [`lower`]: the harmonium as an engine model (the families' statistics are polynomials
//!   in the unit values, which become factors of the general form), with the two-block
//!   schedule `x` then `z` (or `z` then `x`).
//! - [`gibbs`]: Gibbs chains on the runtime, `gibbs_step`, contrastive divergence.
//! - [`conjugated`]: conjugated harmoniums (categorical, Gaussian or Boltzmann latents): the
//!   prior, the exact log partition, `log p(x)`, ancestral sampling and EM.

pub mod conjugated;
mod error;
pub mod gibbs;
pub mod lower;
mod mixture;
pub(crate) mod polynomial;

pub use conjugated::{AnalyticEm, Conjugated};
pub use error::HarmoniumError;
pub use gibbs::HarmoniumSampler;
pub use lower::{LoweredHarmonium, Order};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::expfam::{ExponentialFamily, check_vector, dot, standard_normal};
use crate::samples::Samples;

/// Which statistic coordinates of one side the interaction joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coupling {
    /// Every coordinate (a mixture whose components differ in every parameter).
    Full,
    /// Only the first-order coordinates ([`ExponentialFamily::location_dim`]), e.g. `x` but
    /// not `xxᵀ` of a Gaussian.
    Location,
}

impl Coupling {
    fn width<F: ExponentialFamily>(self, family: &F) -> usize {
        match self {
            Coupling::Full => family.dim(),
            Coupling::Location => family.location_dim(),
        }
    }
}

/// An affine map `s ↦ b + M s[..cols]` from one side's statistic to the other side's natural
/// parameters (`M` adds to the first `rows` outputs): a harmonium's likelihood or posterior
/// function.
#[derive(Clone, Debug, PartialEq)]
pub struct AffineMap {
    /// The constant part `b` (the output's full natural parameters at `s = 0`).
    pub bias: Vec<f64>,
    /// `M`, `rows × cols` row-major.
    pub matrix: Vec<f64>,
    /// Outputs `M` adds to.
    pub rows: usize,
    /// Leading input coordinates `M` reads.
    pub cols: usize,
}

impl AffineMap {
    /// `b + M s[..cols]`; `s` must have at least `cols` entries.
    pub fn apply(&self, s: &[f64]) -> Vec<f64> {
        let mut out = self.bias.clone();
        for (r, o) in out.iter_mut().take(self.rows).enumerate() {
            *o += dot(
                &self.matrix[r * self.cols..(r + 1) * self.cols],
                &s[..self.cols],
            );
        }
        out
    }
}

/// A harmonium over observable family `X` and latent family `Z`; see the module docs.
#[derive(Clone, Debug, PartialEq)]
pub struct Harmonium<X, Z> {
    observable: X,
    latent: Z,
    couplings: (Coupling, Coupling),
    observable_bias: Vec<f64>,
    latent_bias: Vec<f64>,
    interaction: Vec<f64>,
}

impl<X: ExponentialFamily, Z: ExponentialFamily> Harmonium<X, Z> {
    /// A harmonium with biases `θ_X`, `θ_Z` and interaction `Θ` (`rows × cols` row-major,
    /// sizes from the couplings); lengths and finiteness are checked.
    pub fn new(
        observable: X,
        latent: Z,
        couplings: (Coupling, Coupling),
        observable_bias: Vec<f64>,
        latent_bias: Vec<f64>,
        interaction: Vec<f64>,
    ) -> Result<Harmonium<X, Z>, HarmoniumError> {
        check_vector("observable_bias", &observable_bias, observable.dim())?;
        check_vector("latent_bias", &latent_bias, latent.dim())?;
        let rows = couplings.0.width(&observable);
        let cols = couplings.1.width(&latent);
        check_vector("interaction", &interaction, rows * cols)?;
        Ok(Harmonium {
            observable,
            latent,
            couplings,
            observable_bias,
            latent_bias,
            interaction,
        })
    }

    /// goal-jax's `initialize`: each bias is its family's reference member (uniform, or the
    /// standard normal) plus `N(0, shape²)` noise on the first-order coordinates, and the
    /// interaction is `N(0, 1) · shape / √rows`.
    pub fn initialize(
        observable: X,
        latent: Z,
        couplings: (Coupling, Coupling),
        shape: f64,
        seed: u64,
    ) -> Result<Harmonium<X, Z>, HarmoniumError> {
        if !(shape >= 0.0 && shape.is_finite()) {
            return Err(HarmoniumError::Invalid {
                field: "shape",
                reason: format!("{shape} must be finite and non-negative"),
            });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let noisy = |family_bias: Vec<f64>, location: usize, rng: &mut ChaCha8Rng| {
            let mut b = family_bias;
            for v in b.iter_mut().take(location) {
                *v += shape * standard_normal(rng);
            }
            b
        };
        let ob = noisy(
            observable.standard_natural(),
            observable.location_dim(),
            &mut rng,
        );
        let lb = noisy(latent.standard_natural(), latent.location_dim(), &mut rng);
        let rows = couplings.0.width(&observable);
        let cols = couplings.1.width(&latent);
        let scale = shape / (rows as f64).sqrt();
        let w = (0..rows * cols)
            .map(|_| scale * standard_normal(&mut rng))
            .collect();
        Harmonium::new(observable, latent, couplings, ob, lb, w)
    }

    /// goal-jax's `initialize_from_sample`: as [`Harmonium::initialize`], but the observable
    /// bias is the maximum-likelihood member for `data`, pulled 0.1% towards the reference
    /// member so that it stays inside the domain (a binary column that is always 1, a
    /// singular sample covariance).
    pub fn initialize_from_sample(
        observable: X,
        latent: Z,
        couplings: (Coupling, Coupling),
        data: &Samples,
        shape: f64,
        seed: u64,
    ) -> Result<Harmonium<X, Z>, HarmoniumError> {
        data.check_width(observable.data_dim())?;
        let mut h = Harmonium::initialize(observable, latent, couplings, shape, seed)?;
        let empirical = h.observable.average_sufficient_statistic(data.as_slice())?;
        let reference = h.observable.to_mean(&h.observable.standard_natural())?;
        let eps = 1e-3;
        let mixed: Vec<f64> = empirical
            .iter()
            .zip(&reference)
            .map(|(e, r)| (1.0 - eps) * e + eps * r)
            .collect();
        h.observable_bias = h.observable.to_natural(&mixed)?;
        Ok(h)
    }

    /// The observable family.
    pub fn observable(&self) -> &X {
        &self.observable
    }

    /// The latent family.
    pub fn latent(&self) -> &Z {
        &self.latent
    }

    /// Which coordinates the interaction joins (observable side, latent side).
    pub fn couplings(&self) -> (Coupling, Coupling) {
        self.couplings
    }

    /// `θ_X`.
    pub fn observable_bias(&self) -> &[f64] {
        &self.observable_bias
    }

    /// `θ_Z` (the latent bias: not the prior of a conjugated harmonium, see
    /// [`Conjugated::prior`]).
    pub fn latent_bias(&self) -> &[f64] {
        &self.latent_bias
    }

    /// `Θ`, `rows × cols` row-major.
    pub fn interaction(&self) -> &[f64] {
        &self.interaction
    }

    /// `(rows, cols)` of `Θ`.
    pub fn interaction_shape(&self) -> (usize, usize) {
        (
            self.couplings.0.width(&self.observable),
            self.couplings.1.width(&self.latent),
        )
    }

    /// Length of the parameter vector `[θ_X, θ_Z, Θ]`.
    pub fn param_dim(&self) -> usize {
        let (r, c) = self.interaction_shape();
        self.observable.dim() + self.latent.dim() + r * c
    }

    /// The parameters `[θ_X, θ_Z, Θ]` as one vector.
    pub fn params(&self) -> Vec<f64> {
        let mut p = self.observable_bias.clone();
        p.extend_from_slice(&self.latent_bias);
        p.extend_from_slice(&self.interaction);
        p
    }

    /// The same harmonium with parameters `[θ_X, θ_Z, Θ]` from one vector.
    pub fn with_params(&self, params: &[f64]) -> Result<Harmonium<X, Z>, HarmoniumError> {
        check_vector("params", params, self.param_dim())?;
        let (a, b) = (
            self.observable.dim(),
            self.observable.dim() + self.latent.dim(),
        );
        Harmonium::new(
            self.observable.clone(),
            self.latent.clone(),
            self.couplings,
            params[..a].to_vec(),
            params[a..b].to_vec(),
            params[b..].to_vec(),
        )
    }

    /// The likelihood function `s_Z ↦ θ_X + Θ s_Z`.
    pub fn likelihood_function(&self) -> AffineMap {
        let (rows, cols) = self.interaction_shape();
        AffineMap {
            bias: self.observable_bias.clone(),
            matrix: self.interaction.clone(),
            rows,
            cols,
        }
    }

    /// The posterior function `s_X ↦ θ_Z + Θᵀ s_X`.
    pub fn posterior_function(&self) -> AffineMap {
        let (rows, cols) = self.interaction_shape();
        let mut transposed = vec![0.0; rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                transposed[c * rows + r] = self.interaction[r * cols + c];
            }
        }
        AffineMap {
            bias: self.latent_bias.clone(),
            matrix: transposed,
            rows: cols,
            cols: rows,
        }
    }

    /// Natural parameters of `p(x | z)`: `θ_X + Θ s_Z(z)`.
    pub fn likelihood_at(&self, z: &[f64]) -> Result<Vec<f64>, HarmoniumError> {
        let s = self.latent.sufficient_statistic(z)?;
        Ok(self.likelihood_function().apply(&s))
    }

    /// Natural parameters of `p(z | x)`: `θ_Z + Θᵀ s_X(x)`.
    pub fn posterior_at(&self, x: &[f64]) -> Result<Vec<f64>, HarmoniumError> {
        let s = self.observable.sufficient_statistic(x)?;
        Ok(self.posterior_function().apply(&s))
    }

    /// The joint statistic `[s_X(x), s_Z(z), s_X ⊗ s_Z]` in the parameter layout, given the
    /// two statistics.
    pub fn joint_statistic_from(&self, sx: &[f64], sz: &[f64]) -> Vec<f64> {
        let (rows, cols) = self.interaction_shape();
        let mut out = sx.to_vec();
        out.extend_from_slice(sz);
        for &a in &sx[..rows] {
            out.extend(sz[..cols].iter().map(|b| a * b));
        }
        out
    }

    /// `log p(x, z) + ψ`: the unnormalised joint log-density of a state.
    pub fn log_joint_unnormalised(&self, x: &[f64], z: &[f64]) -> Result<f64, HarmoniumError> {
        let sx = self.observable.sufficient_statistic(x)?;
        let sz = self.latent.sufficient_statistic(z)?;
        let s = self.joint_statistic_from(&sx, &sz);
        Ok(dot(&self.params(), &s)
            + self.observable.log_base_measure(x)
            + self.latent.log_base_measure(z))
    }

    /// The data's average joint statistic with the latent statistic replaced by its
    /// posterior expectation (the positive phase of contrastive divergence, and the
    /// E-step of EM): `avg [s_X(x), E[s_Z | x], s_X(x) ⊗ E[s_Z | x]]`.
    pub fn data_statistics(&self, data: &Samples) -> Result<Vec<f64>, HarmoniumError> {
        data.check_width(self.observable.data_dim())?;
        let mut sum = vec![0.0; self.param_dim()];
        let mut sx = vec![0.0; self.observable.dim()];
        let posterior = self.posterior_function();
        for x in data.iter_rows() {
            self.observable.check_point(x)?;
            self.observable.sufficient_statistic_into(x, &mut sx);
            let ez = self.latent.to_mean(&posterior.apply(&sx))?;
            for (a, b) in sum.iter_mut().zip(self.joint_statistic_from(&sx, &ez)) {
                *a += b;
            }
        }
        let n = data.rows() as f64;
        sum.iter_mut().for_each(|a| *a /= n);
        Ok(sum)
    }
}
