//! Starting points of EM, the closed-form maximum-likelihood PPCA (Tipping & Bishop, 1999),
//! and the canonical orientation of fitted loadings.

use faer::Mat;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::em::{FitOptions, SampleMoments};
use super::model::check_noise;
use super::{LgmError, LinearGaussianModel, NoiseType};
use crate::linalg::{self, symmetric_eigen};
use crate::samples::Samples;

/// Where EM starts.
#[derive(Clone, Debug, PartialEq)]
pub enum Init {
    /// The maximum-likelihood probabilistic PCA of the data (Tipping & Bishop): loadings
    /// along the `k` leading principal directions of the sample covariance, scaled by
    /// `√(λ_j − σ²)`, with `σ²` the mean of the other eigenvalues; every noise variance
    /// starts at `σ²`. For PPCA this is already the answer (EM stops after one step).
    Principal,
    /// scikit-learn's FactorAnalysis start: noise variances `ψ₀` (given, or all ones as
    /// scikit-learn's `noise_variance_init=None`) and the loadings scikit-learn's first
    /// iteration computes from them, the maximum-likelihood loadings for fixed `ψ₀`:
    /// `A = Ψ₀^{1/2} U diag(√(λ_j − 1))` with `(λ_j, U)` the leading eigenpairs of
    /// `Ψ₀^{-1/2} Σ̂ Ψ₀^{-1/2}`. Its first EM step starts where scikit-learn's second
    /// iteration does.
    Sklearn {
        /// `ψ₀`, length `d` (or one value for PPCA); `None` for ones.
        noise_variance: Option<Vec<f64>>,
    },
    /// Loadings drawn i.i.d. `N(0, v̄ / k)` (ChaCha8 seeded with [`FitOptions::seed`]),
    /// `v̄` the mean sample variance, and noise variances half the sample variances (their
    /// mean for PPCA).
    Random,
    /// This model (whitened first); its dimensions and noise type must match the fit.
    Given(LinearGaussianModel),
}

/// A loading direction whose scale would be zero starts at this fraction of the noise
/// scale instead: a zero column of `A` is a fixed point of EM (its posterior mean is zero
/// for every observation), so it would never move.
const MIN_SCALE_SQUARED: f64 = 1e-3;

/// The `k` leading eigenpairs of symmetric `m`, largest first.
fn leading_eigen(m: &Mat<f64>, k: usize, what: &str) -> Result<(Vec<f64>, Mat<f64>), LgmError> {
    let evd = symmetric_eigen(m.as_ref(), what)?;
    let d = evd.values.len();
    let values = (0..k).map(|j| evd.values[d - 1 - j]).collect();
    let vectors = Mat::from_fn(d, k, |i, j| evd.vectors[(i, d - 1 - j)]);
    Ok((values, vectors))
}

/// The closed-form maximum-likelihood PPCA with `k` components of the data summarised by
/// `moments`, `σ²` floored at `min_noise_variance`.
pub(crate) fn principal_model(
    noise_type: NoiseType,
    k: usize,
    moments: &SampleMoments,
    min_noise_variance: f64,
) -> Result<LinearGaussianModel, LgmError> {
    let d = moments.dim();
    super::model::check_latent_dim(k, d)?;
    let evd = symmetric_eigen(moments.covariance_mat().as_ref(), "sample covariance")?;
    // Ascending: the discarded eigenvalues are the first d − k.
    let discarded = &evd.values[..d - k];
    let sigma2 = (discarded.iter().sum::<f64>() / (d - k) as f64).max(min_noise_variance);
    let loadings = Mat::from_fn(d, k, |i, j| {
        let col = d - 1 - j;
        let scale = (evd.values[col] - sigma2).max(MIN_SCALE_SQUARED * sigma2);
        evd.vectors[(i, col)] * scale.sqrt()
    });
    LinearGaussianModel::new(
        noise_type,
        moments.mean().to_vec(),
        linalg::to_rows(loadings.as_ref()),
        k,
        vec![sigma2; d],
    )
}

fn sklearn_model(
    noise_type: NoiseType,
    k: usize,
    moments: &SampleMoments,
    noise: Option<&Vec<f64>>,
) -> Result<LinearGaussianModel, LgmError> {
    let d = moments.dim();
    let psi = check_noise(
        noise_type,
        noise.cloned().unwrap_or_else(|| vec![1.0; d]),
        d,
    )?;
    let sd: Vec<f64> = psi.iter().map(|v| v.sqrt()).collect();
    let cov = moments.covariance_mat();
    let scaled = Mat::from_fn(d, d, |i, j| cov[(i, j)] / (sd[i] * sd[j]));
    let (values, vectors) = leading_eigen(&scaled, k, "Ψ^{-1/2} Σ Ψ^{-1/2}")?;
    let loadings = Mat::from_fn(d, k, |i, j| {
        sd[i] * vectors[(i, j)] * (values[j] - 1.0).max(MIN_SCALE_SQUARED).sqrt()
    });
    LinearGaussianModel::new(
        noise_type,
        moments.mean().to_vec(),
        linalg::to_rows(loadings.as_ref()),
        k,
        psi,
    )
}

fn random_model(
    noise_type: NoiseType,
    k: usize,
    moments: &SampleMoments,
    options: &FitOptions,
) -> Result<LinearGaussianModel, LgmError> {
    let d = moments.dim();
    let cov = moments.covariance_mat();
    let variances: Vec<f64> = (0..d).map(|i| cov[(i, i)]).collect();
    let average = variances.iter().sum::<f64>() / d as f64;
    let sd = (average / k as f64).sqrt();
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let loadings = (0..d * k)
        .map(|_| {
            let e: f64 = StandardNormal.sample(&mut rng);
            sd * e
        })
        .collect();
    let floor = options.min_noise_variance;
    let noise = match noise_type {
        NoiseType::Diagonal => variances.iter().map(|v| (0.5 * v).max(floor)).collect(),
        NoiseType::Isotropic => vec![(0.5 * average).max(floor)],
    };
    LinearGaussianModel::new(noise_type, moments.mean().to_vec(), loadings, k, noise)
}

/// The starting model of a fit (not yet whitened).
pub(crate) fn initial_model(
    init: &Init,
    noise_type: NoiseType,
    k: usize,
    moments: &SampleMoments,
    options: &FitOptions,
) -> Result<LinearGaussianModel, LgmError> {
    match init {
        Init::Principal => principal_model(noise_type, k, moments, options.min_noise_variance),
        Init::Sklearn { noise_variance } => {
            sklearn_model(noise_type, k, moments, noise_variance.as_ref())
        }
        Init::Random => random_model(noise_type, k, moments, options),
        Init::Given(model) => {
            let mismatch = |reason: String| Err(LgmError::InitMismatch { reason });
            if model.noise_type() != noise_type {
                return mismatch(format!(
                    "it has {:?} noise, the fit asks for {:?}",
                    model.noise_type(),
                    noise_type
                ));
            }
            if (model.observable_dim(), model.latent_dim()) != (moments.dim(), k) {
                return mismatch(format!(
                    "it has d = {}, k = {}; the fit has d = {}, k = {k}",
                    model.observable_dim(),
                    model.latent_dim(),
                    moments.dim()
                ));
            }
            Ok(model.clone())
        }
    }
}

impl LinearGaussianModel {
    /// The closed-form maximum-likelihood probabilistic PCA with `latent_dim` components
    /// (Tipping & Bishop, 1999; what scikit-learn's `PCA.score` assumes): `σ²` is the mean
    /// of the `d − k` smallest eigenvalues of the sample covariance (floored at
    /// `min_noise_variance`) and `A = U_k (Λ_k − σ² I)^{1/2}`, standard prior.
    pub fn ppca_closed_form(
        x: &Samples,
        latent_dim: usize,
        min_noise_variance: f64,
    ) -> Result<LinearGaussianModel, LgmError> {
        super::model::check_latent_dim(latent_dim, x.cols())?;
        if x.rows() < latent_dim + 1 {
            return Err(LgmError::TooFewSamples {
                found: x.rows(),
                needed: latent_dim + 1,
                latent_dim,
            });
        }
        if !(min_noise_variance.is_finite() && min_noise_variance > 0.0) {
            return Err(LgmError::InvalidOption {
                field: "min_noise_variance",
                value: min_noise_variance.to_string(),
                reason: "must be finite and positive",
            });
        }
        principal_model(
            NoiseType::Isotropic,
            latent_dim,
            &SampleMoments::new(x),
            min_noise_variance,
        )
    }

    /// The same distribution with the standard prior and loadings in a canonical
    /// orientation: the columns of `A` are rotated (`z' = Rᵀ z`, `R` orthogonal, which
    /// keeps `N(0, I)`) so that `Aᵀ D⁻¹ A` is diagonal with decreasing entries — the
    /// orientation of scikit-learn's FactorAnalysis and, for PPCA, orthogonal principal
    /// axes — and each column's entry of largest magnitude is positive.
    pub fn canonical(&self) -> Result<LinearGaussianModel, LgmError> {
        let white = self.whiten()?;
        let (d, k) = (white.observable_dim(), white.latent_dim());
        let a = white.loadings_mat();
        let noise = white.noise_variance();
        let scaled = Mat::from_fn(d, k, |i, j| a[(i, j)] / noise[i]);
        let gram = linalg::symmetrize((a.transpose() * &scaled).as_ref());
        let (_, rotation) = leading_eigen(&gram, k, "Aᵀ D⁻¹ A")?;
        let mut rotated = &a * &rotation;
        for j in 0..k {
            let mut largest = 0;
            for i in 1..d {
                if rotated[(i, j)].abs() > rotated[(largest, j)].abs() {
                    largest = i;
                }
            }
            if rotated[(largest, j)] < 0.0 {
                (0..d).for_each(|i| rotated[(i, j)] = -rotated[(i, j)]);
            }
        }
        LinearGaussianModel::new(
            white.noise_type(),
            white.mean().to_vec(),
            linalg::to_rows(rotated.as_ref()),
            k,
            white.noise_variance().to_vec(),
        )
    }
}
