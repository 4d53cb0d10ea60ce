//! Conjugated harmoniums: those whose likelihood's log partition is linear in the latent
//! statistic, `ψ_X(θ_X + Θ s_Z(z)) = ρ·s_Z(z) + ψ_X(θ_X)`, so that the latent marginal
//! stays in the latent family (with natural parameters `θ_Z + ρ`, the *prior*) and the
//! observable marginal `p(x)` has a closed form.
//!
//! Three kinds are conjugated here:
//! - any observable family with a [`Categorical`] latent (finite mixtures): `ρ_k` is
//!   `ψ_X(θ_X + Θ e_k) − ψ_X(θ_X)`, evaluated;
//! - a [`Gaussian`] observable coupled through `x` only ([`Coupling::Location`]) with a
//!   [`Gaussian`] latent of full covariance (linear Gaussian models) or a [`Boltzmann`]
//!   latent (small binary latents): `ψ_X(η + Θs, Λ) = ψ_X(η, Λ) + (ΘᵀΣη)·s + ½ sᵀΘᵀΣΘ s`
//!   is quadratic in the latent units, and both latent families carry exactly the unit and
//!   pair statistics that quadratic needs (`z_i² = z_i` for binary units).
//!
//! In all three the latent statistic vanishes at a reference state (category 0, `z = 0`),
//! so the identity holds with no constant.

use faer::Mat;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{Coupling, Harmonium, HarmoniumError};
use crate::expfam::{Boltzmann, Categorical, CovarianceType, ExponentialFamily, Gaussian, dot};
use crate::linalg::Cholesky;
use crate::samples::Samples;

/// A harmonium with a closed-form observable marginal; see the module docs.
pub trait Conjugated {
    /// The observable family.
    type Observable: ExponentialFamily;
    /// The latent family.
    type Latent: ExponentialFamily;

    /// The harmonium itself.
    fn harmonium(&self) -> &Harmonium<Self::Observable, Self::Latent>;

    /// The conjugation parameters `ρ` (latent natural-parameter layout).
    fn conjugation_parameters(&self) -> Result<Vec<f64>, HarmoniumError>;

    /// The natural parameters of the latent marginal `p(z)`: `θ_Z + ρ` (the latent bias
    /// alone is not the prior).
    fn prior(&self) -> Result<Vec<f64>, HarmoniumError> {
        let rho = self.conjugation_parameters()?;
        Ok(self
            .harmonium()
            .latent_bias()
            .iter()
            .zip(&rho)
            .map(|(a, b)| a + b)
            .collect())
    }

    /// The exact log partition `ψ = ψ_Z(θ_Z + ρ) + ψ_X(θ_X)`.
    fn log_partition(&self) -> Result<f64, HarmoniumError> {
        let h = self.harmonium();
        Ok(h.latent().log_partition(&self.prior()?)?
            + h.observable().log_partition(h.observable_bias())?)
    }

    /// `log p(x) = θ_X·s_X(x) + log h_X(x) + ψ_Z(θ_Z + Θᵀ s_X(x)) − ψ`.
    fn log_observable_density(&self, x: &[f64]) -> Result<f64, HarmoniumError> {
        let psi = self.log_partition()?;
        log_observable_density_with(self.harmonium(), x, psi)
    }

    /// `p(x)`.
    fn observable_density(&self, x: &[f64]) -> Result<f64, HarmoniumError> {
        Ok(self.log_observable_density(x)?.exp())
    }

    /// The average of `log p(x)` over the rows of `data`.
    fn average_log_observable_density(&self, data: &Samples) -> Result<f64, HarmoniumError> {
        let h = self.harmonium();
        data.check_width(h.observable().data_dim())?;
        let psi = self.log_partition()?;
        let mut total = 0.0;
        for x in data.iter_rows() {
            total += log_observable_density_with(h, x, psi)?;
        }
        Ok(total / data.rows() as f64)
    }

    /// `E[s_Z(z) | x]`, the posterior mean statistic (posterior probabilities of the
    /// categories `1..K` for a mixture).
    fn posterior_statistics(&self, x: &[f64]) -> Result<Vec<f64>, HarmoniumError> {
        let h = self.harmonium();
        Ok(h.latent().to_mean(&h.posterior_at(x)?)?)
    }

    /// Ancestral sampling: `z ~ p(z)` (the prior), then `x ~ p(x | z)`; returns `(x, z)`,
    /// `n` rows each, row-major. Exact and i.i.d., so it needs no Markov chain.
    fn sample(&self, n: usize, seed: u64) -> Result<(Vec<f64>, Vec<f64>), HarmoniumError> {
        let h = self.harmonium();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let zs = h.latent().sample(&self.prior()?, n, &mut rng)?;
        let (dx, dz) = (h.observable().data_dim(), h.latent().data_dim());
        let mut xs = vec![0.0; n * dx];
        for (x, z) in xs.chunks_exact_mut(dx).zip(zs.chunks_exact(dz)) {
            h.observable()
                .sample_into(&h.likelihood_at(z)?, &mut rng, x)?;
        }
        Ok((xs, zs))
    }

    /// The E-step: the data's average joint statistic with latent statistics replaced by
    /// their posterior expectations (the joint's mean parameters for the M-step).
    fn expectation_step(&self, data: &Samples) -> Result<Vec<f64>, HarmoniumError> {
        self.harmonium().data_statistics(data)
    }
}

fn log_observable_density_with<X: ExponentialFamily, Z: ExponentialFamily>(
    h: &Harmonium<X, Z>,
    x: &[f64],
    log_partition: f64,
) -> Result<f64, HarmoniumError> {
    let sx = h.observable().sufficient_statistic(x)?;
    let posterior = h.posterior_function().apply(&sx);
    Ok(dot(h.observable_bias(), &sx)
        + h.observable().log_base_measure(x)
        + h.latent().log_partition(&posterior)?
        - log_partition)
}

impl<X: ExponentialFamily> Conjugated for Harmonium<X, Categorical> {
    type Observable = X;
    type Latent = Categorical;

    fn harmonium(&self) -> &Harmonium<X, Categorical> {
        self
    }

    fn conjugation_parameters(&self) -> Result<Vec<f64>, HarmoniumError> {
        let base = self.observable().log_partition(self.observable_bias())?;
        let k = self.latent().categories();
        let mut z = [0.0];
        (1..k)
            .map(|c| {
                z[0] = c as f64;
                Ok(self.observable().log_partition(&self.likelihood_at(&z)?)? - base)
            })
            .collect()
    }
}

/// `(l, Q)` with `ψ_X(θ_X + Θ s) − ψ_X(θ_X) = lᵀs + sᵀQs` for a Gaussian observable coupled
/// through `x` only: `l = ΘᵀΣη`, `Q = ½ ΘᵀΣΘ`.
fn gaussian_quadratic<Z: ExponentialFamily>(
    h: &Harmonium<Gaussian, Z>,
) -> Result<(Vec<f64>, Mat<f64>), HarmoniumError> {
    if h.couplings().0 != Coupling::Location && h.observable().dim() != h.observable().data_dim() {
        return Err(HarmoniumError::Unsupported {
            operation: "conjugation",
            reason: "the latent units must couple to x only (Coupling::Location on the \
                     observable side): coupling them to xxᵀ makes ψ_X non-quadratic"
                .into(),
        });
    }
    let d = h.observable().data_dim();
    let (_, cols) = h.interaction_shape();
    let (mean, cov) = h.observable().mean_covariance(h.observable_bias())?;
    let theta = Mat::from_fn(d, cols, |i, j| h.interaction()[i * cols + j]);
    let sigma_theta = &cov * &theta;
    // Σ η is the mean of p(x | s = 0).
    let l = (0..cols)
        .map(|j| (0..d).map(|i| theta[(i, j)] * mean[i]).sum())
        .collect();
    let q = theta.transpose() * &sigma_theta * 0.5;
    Ok((l, crate::linalg::symmetrize(q.as_ref())))
}

impl Conjugated for Harmonium<Gaussian, Gaussian> {
    type Observable = Gaussian;
    type Latent = Gaussian;

    fn harmonium(&self) -> &Harmonium<Gaussian, Gaussian> {
        self
    }

    fn conjugation_parameters(&self) -> Result<Vec<f64>, HarmoniumError> {
        if self.couplings().1 != Coupling::Location
            && self.latent().covariance_type() != CovarianceType::Fixed
        {
            return Err(HarmoniumError::Unsupported {
                operation: "conjugation",
                reason: "a Gaussian latent must couple through z only (Coupling::Location)".into(),
            });
        }
        let (l, q) = gaussian_quadratic(self)?;
        Ok(self.latent().quadratic_to_natural(&l, q.as_ref())?)
    }
}

impl Conjugated for Harmonium<Gaussian, Boltzmann> {
    type Observable = Gaussian;
    type Latent = Boltzmann;

    fn harmonium(&self) -> &Harmonium<Gaussian, Boltzmann> {
        self
    }

    fn conjugation_parameters(&self) -> Result<Vec<f64>, HarmoniumError> {
        if self.couplings().1 != Coupling::Location {
            return Err(HarmoniumError::Unsupported {
                operation: "conjugation",
                reason: "a Boltzmann latent must couple through its units only \
                         (Coupling::Location)"
                    .into(),
            });
        }
        let (l, q) = gaussian_quadratic(self)?;
        let n = self.latent().data_dim();
        let mut rho = vec![0.0; self.latent().dim()];
        for i in 0..n {
            rho[i] = l[i] + q[(i, i)];
            for j in i + 1..n {
                rho[self.latent().pair_index(i, j)] = 2.0 * q[(i, j)];
            }
        }
        Ok(rho)
    }
}

/// Conjugated harmoniums whose M-step is closed-form: [`AnalyticEm::to_natural_harmonium`]
/// maps averaged joint statistics to the maximum-likelihood harmonium, and
/// [`AnalyticEm::em_step`] is `θ ← to_natural(E-step)`.
pub trait AnalyticEm: Conjugated + Sized {
    /// The harmonium (same families and couplings) whose joint mean parameters are `mean`.
    fn to_natural_harmonium(
        &self,
        mean: &[f64],
    ) -> Result<Harmonium<Self::Observable, Self::Latent>, HarmoniumError>;

    /// One EM step on `data`; the average log-likelihood never decreases.
    fn em_step(
        &self,
        data: &Samples,
    ) -> Result<Harmonium<Self::Observable, Self::Latent>, HarmoniumError> {
        self.to_natural_harmonium(&self.expectation_step(data)?)
    }
}

impl<X: ExponentialFamily> AnalyticEm for Harmonium<X, Categorical> {
    /// Mixture M-step: weights `p_k`, and each component's natural parameters from its
    /// conditional mean statistic `E[s_X | z = k]`.
    fn to_natural_harmonium(
        &self,
        mean: &[f64],
    ) -> Result<Harmonium<X, Categorical>, HarmoniumError> {
        let (weights, component_means) = self.split_mean_mixture(mean)?;
        let (rows, cols) = self.interaction_shape();
        let p0 = weights[0];
        let naturals = (0..=cols)
            .map(|k| self.observable().to_natural(&component_means[k]))
            .collect::<Result<Vec<_>, _>>()?;
        let mut interaction = vec![0.0; rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                interaction[r * cols + c] = naturals[c + 1][r] - naturals[0][r];
            }
        }
        let psi0 = self.observable().log_partition(&naturals[0])?;
        let latent_bias = (1..=cols)
            .map(|k| {
                let rho = self.observable().log_partition(&naturals[k])? - psi0;
                Ok((weights[k] / p0).ln() - rho)
            })
            .collect::<Result<Vec<f64>, HarmoniumError>>()?;
        Harmonium::new(
            self.observable().clone(),
            *self.latent(),
            self.couplings(),
            naturals[0].clone(),
            latent_bias,
            interaction,
        )
    }
}

impl AnalyticEm for Harmonium<Gaussian, Gaussian> {
    /// Linear Gaussian M-step: `p(z) = N(m, S)` from the latent moments, the regression
    /// `A = Cov(x, z) S⁻¹`, `μ = E[x] − A m`, and the residual covariance `Cov(x) − A S Aᵀ`
    /// restricted to the observable's covariance type.
    fn to_natural_harmonium(
        &self,
        mean: &[f64],
    ) -> Result<Harmonium<Gaussian, Gaussian>, HarmoniumError> {
        crate::expfam::check_vector("mean", mean, self.param_dim())?;
        self.conjugation_parameters()?;
        let (ox, lz) = (*self.observable(), *self.latent());
        let (d, k) = (ox.data_dim(), lz.data_dim());
        let (dxs, dzs) = (ox.dim(), lz.dim());
        let (mx, cov_x) = ox.mean_covariance_from_mean(&mean[..dxs])?;
        let (m, s) = lz.mean_covariance_from_mean(&mean[dxs..dxs + dzs])?;
        let cross = &mean[dxs + dzs..];
        let c = Mat::from_fn(d, k, |i, j| cross[i * k + j] - mx[i] * m[j]);
        let s_factor = Cholesky::new(s.as_ref(), "the latent covariance")?;
        // A = C S⁻¹ = (S⁻¹ Cᵀ)ᵀ
        let a = s_factor.solve(c.transpose()).transpose().to_owned();
        let mu: Vec<f64> = (0..d)
            .map(|i| mx[i] - (0..k).map(|j| a[(i, j)] * m[j]).sum::<f64>())
            .collect();
        let explained = &a * c.transpose();
        let residual = Mat::from_fn(d, d, |i, j| cov_x[(i, j)] - explained[(i, j)]);
        let residual = restrict(ox.covariance_type(), residual);
        if let Some(feature) =
            (0..d).find(|&i| residual[(i, i)].is_nan() || residual[(i, i)] <= 0.0)
        {
            return Err(HarmoniumError::DegenerateFeature {
                feature,
                variance: residual[(feature, feature)],
            });
        }
        Harmonium::linear_gaussian(ox, &mu, a.as_ref(), residual.as_ref(), &m, s.as_ref())
    }
}

/// The maximum-likelihood covariance of a type given the unrestricted one: itself, its
/// diagonal, its mean variance times `I`, or `I`.
fn restrict(ty: CovarianceType, cov: Mat<f64>) -> Mat<f64> {
    let d = cov.nrows();
    match ty {
        CovarianceType::Full => crate::linalg::symmetrize(cov.as_ref()),
        CovarianceType::Diagonal => {
            Mat::from_fn(d, d, |i, j| if i == j { cov[(i, i)] } else { 0.0 })
        }
        CovarianceType::Isotropic => {
            let v = (0..d).map(|i| cov[(i, i)]).sum::<f64>() / d as f64;
            Mat::from_fn(d, d, |i, j| if i == j { v } else { 0.0 })
        }
        CovarianceType::Fixed => Mat::identity(d, d),
    }
}
