//! Linear Gaussian models: factor analysis and probabilistic PCA.
//!
//! # The model
//!
//! A `k`-dimensional latent `z ~ N(m, S)` generates a `d`-dimensional observation
//! `x | z ~ N(μ + A z, D)`, `1 ≤ k < d`, where the noise covariance `D` is diagonal
//! ([`FactorAnalysis`], scikit-learn's `FactorAnalysis`) or `σ² I` ([`Ppca`], probabilistic
//! PCA). [`LinearGaussianModel`] is the general model with a [`NoiseType`]; the two
//! front-ends are thin wrappers with the standard prior `N(0, I)` and scikit-learn's names.
//!
//! - The observable marginal is `N(μ + A m, A S Aᵀ + D)`. Its log density
//!   ([`LinearGaussianModel::score_samples`]) never forms a `d × d` inverse: with
//!   `B = A L`, `S = L Lᵀ`, the Woodbury identity and the matrix determinant lemma reduce it
//!   to the Cholesky factor of the `k × k` matrix `I + Bᵀ D⁻¹ B`.
//! - The posterior `p(z | x)` is Gaussian with precision `S⁻¹ + Aᵀ D⁻¹ A` (the same for every
//!   `x`) and mean `E[z | x]` ([`LinearGaussianModel::transform`]).
//! - Whitening ([`LinearGaussianModel::whiten`]) maps any prior to `N(0, I)` without
//!   changing `p(x)`: `z' = L⁻¹(z − m)`, `A' = A L`, `μ' = μ + A m`.
//!
//! # As a harmonium
//!
//! In exponential-family terms (goal-jax's `LinearGaussianModel`) the joint is a harmonium
//! of a Gaussian observable with diagonal or isotropic covariance, a Gaussian latent with
//! full covariance, and an interaction on the first moments only:
//!
//! ```text
//! log p(x, z) = θ_x·x − ½ Σ_i P_x,i x_i² + θ_z·z − ½ zᵀ P_z z + xᵀ Θ z − ψ
//! θ_x = D⁻¹ μ,  P_x = D⁻¹,  Θ = D⁻¹ A,  θ_z = S⁻¹ m − Aᵀ D⁻¹ μ,  P_z = S⁻¹ + Aᵀ D⁻¹ A
//! ```
//!
//! ([`LgmNaturalParameters`], [`LinearGaussianModel::log_partition`]). It is conjugated:
//! the observable log partition at `θ_x + Θ z` is affine-quadratic in `z` with the
//! [`ConjugationParameters`] `ρ = (Aᵀ D⁻¹ μ, −Aᵀ D⁻¹ A)`, so the prior is `(θ_z, P_z) + ρ`
//! and every posterior is `(θ_z + Θᵀ x, P_z)`. The mean parameters of the joint are
//! [`LgmMeanStatistics`]; the maximum-likelihood map from them back to parameters
//! ([`LinearGaussianModel::from_mean_statistics`]) is the M-step.
//!
//! # Fitting
//!
//! [`LinearGaussianModel::fit`] runs EM in mean coordinates: the E-step
//! ([`LinearGaussianModel::expected_statistics`]) averages the joint sufficient statistics
//! over the data and the posteriors — only the data's mean and covariance
//! ([`SampleMoments`]) enter, so a step costs `O(d² k)` whatever the number of rows — and
//! the M-step fits the restricted joint to them in closed form, prior included, then
//! whitens. Fitting the prior as well is the parameter-expanded EM of Liu, Rubin & Wu
//! (1998): the same likelihood guarantee as plain EM, faster convergence. scikit-learn's
//! FactorAnalysis maximises the same likelihood with a different iteration (Barber's
//! Algorithm 21.1: an SVD of the noise-scaled data for the loadings, then the noise), so
//! at convergence both reach the same maximum. The starting point is an [`Init`]; the
//! default is the closed-form PPCA solution. Fitted models have the standard prior and
//! canonically oriented loadings ([`LinearGaussianModel::canonical`]).
//!
//! # Files
//!
//! [`FactorAnalysis`] and [`Ppca`] save and load through [`crate::io::ModelIo`] as the kinds
//! `factor_analysis` and `ppca` (see [`crate::io::lgm`]).

mod density;
mod em;
mod error;
mod front;
mod harmonium;
mod init;
mod model;

pub use em::{
    DEFAULT_MIN_NOISE_VARIANCE, EmProgress, FitOptions, FitReport, ProgressCallback, SampleMoments,
};
pub use error::LgmError;
pub use front::{FactorAnalysis, Ppca};
pub use harmonium::{ConjugationParameters, LgmMeanStatistics, LgmNaturalParameters};
pub use init::Init;
pub use model::LinearGaussianModel;

use crate::expfam::CovarianceType;

/// The covariance of the observation noise `D`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NoiseType {
    /// One variance per observable dimension: factor analysis.
    Diagonal,
    /// One variance shared by every dimension, `σ² I`: probabilistic PCA.
    Isotropic,
}

impl NoiseType {
    /// The observable family's covariance type in the shared vocabulary of
    /// [`crate::expfam`].
    pub fn covariance_type(self) -> CovarianceType {
        match self {
            NoiseType::Diagonal => CovarianceType::Diagonal,
            NoiseType::Isotropic => CovarianceType::Isotropic,
        }
    }
}
