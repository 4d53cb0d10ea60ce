//! Expectation–maximisation in mean coordinates. The data enter only through their
//! [`SampleMoments`] (mean and covariance), so one EM step costs `O(d² k + k³)` whatever
//! the number of samples: the E-step's averaged joint statistics `E[x zᵀ]` and `E[z zᵀ]`
//! are linear in the data's second moments.

use std::ops::ControlFlow;

use faer::Mat;

use super::density::{LN_2PI, Marginal};
use super::init::{Init, initial_model};
use super::{LgmError, LgmMeanStatistics, LinearGaussianModel, NoiseType};
use crate::linalg::{self, Cholesky};
use crate::samples::Samples;

/// The sufficient statistics of a data set for every linear Gaussian model: the number of
/// rows, the mean and the maximum-likelihood (divide by `n`) covariance.
#[derive(Clone, Debug)]
pub struct SampleMoments {
    rows: usize,
    mean: Vec<f64>,
    covariance: Mat<f64>,
}

impl SampleMoments {
    /// The moments of `x`, centred before the product so that large offsets do not cancel.
    pub fn new(x: &Samples) -> SampleMoments {
        let (n, d) = (x.rows(), x.cols());
        let mut mean = vec![0.0; d];
        for row in x.iter_rows() {
            mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let centred = Mat::from_fn(n, d, |r, i| x.row(r)[i] - mean[i]);
        let covariance = centred.transpose() * &centred * faer::Scale(1.0 / n as f64);
        SampleMoments {
            rows: n,
            mean,
            covariance: linalg::symmetrize(covariance.as_ref()),
        }
    }

    /// Number of observations.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of observable dimensions `d`.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// The sample mean.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// The sample covariance (divided by `n`), `d × d` row-major.
    pub fn covariance(&self) -> Vec<f64> {
        linalg::to_rows(self.covariance.as_ref())
    }

    pub(crate) fn covariance_mat(&self) -> &Mat<f64> {
        &self.covariance
    }
}

impl LinearGaussianModel {
    /// The average log-likelihood `(1/n) Σ_r log p(x_r)` of the data summarised by
    /// `moments`, `−½ (d ln 2π + log det C + tr(C⁻¹ Σ̂) + δᵀ C⁻¹ δ)` with `δ = x̄ − ν`,
    /// through the `k × k` factor of the Woodbury identity. Equals the mean of
    /// [`Self::score_samples`] on the same data.
    pub fn average_log_likelihood(&self, moments: &SampleMoments) -> Result<f64, LgmError> {
        let d = self.observable_dim();
        check_moments(moments, d)?;
        let marginal = Marginal::new(self)?;
        let f = &marginal.scaled_factor;
        let cov = moments.covariance_mat();
        let inner = f.transpose() * (cov * f);
        let solved = marginal.inner.solve(inner.as_ref());
        let low_rank_trace: f64 = (0..solved.nrows()).map(|j| solved[(j, j)]).sum();
        let diag_trace: f64 = (0..d)
            .map(|i| cov[(i, i)] * marginal.noise_precision[i])
            .sum();
        let delta: Vec<f64> = (0..d)
            .map(|i| moments.mean()[i] - marginal.mean[i])
            .collect();
        let delta_mat = Mat::from_fn(d, 1, |i, _| delta[i]);
        let mut projected = f.transpose() * &delta_mat;
        marginal.inner.solve_lower_in_place(projected.as_mut());
        let quad = (0..d)
            .map(|i| delta[i] * delta[i] * marginal.noise_precision[i])
            .sum::<f64>()
            - projected.col(0).iter().map(|v| v * v).sum::<f64>();
        let out =
            -0.5 * (d as f64 * LN_2PI + marginal.log_det + diag_trace - low_rank_trace + quad);
        if !out.is_finite() {
            return Err(LgmError::Overflow {
                what: "average log-likelihood",
            });
        }
        Ok(out)
    }

    /// EM's E-step: the joint statistics `E[s(x, z)]` averaged over the data (through
    /// `moments`) and, for each observation, over the posterior `p(z | x)`. With
    /// `K = S⁻¹ + Aᵀ D⁻¹ A` and `G = K⁻¹ Aᵀ D⁻¹` (so `E[z | x] = G x + const`):
    /// `E[z] = E[z | x̄]`, `Cov z = K⁻¹ + G Σ̂ Gᵀ`, `Cov(x, z) = Σ̂ Gᵀ`, and the observable
    /// statistics are the data's own.
    pub fn expected_statistics(
        &self,
        moments: &SampleMoments,
    ) -> Result<LgmMeanStatistics, LgmError> {
        let (d, k) = (self.observable_dim(), self.latent_dim());
        check_moments(moments, d)?;
        let a = self.loadings_mat();
        let noise = self.noise_variance();
        let scaled = Mat::from_fn(d, k, |i, j| a[(i, j)] / noise[i]);
        let prior = Cholesky::new(self.prior_cov_mat().as_ref(), "prior covariance")?;
        let precision = prior.inverse() + a.transpose() * &scaled;
        let precision = Cholesky::new(
            linalg::symmetrize(precision.as_ref()).as_ref(),
            "posterior precision",
        )?;
        let mut linear = prior.solve_vec(self.prior_mean());
        for (j, l) in linear.iter_mut().enumerate() {
            *l += (0..d)
                .map(|i| scaled[(i, j)] * (moments.mean()[i] - self.mean()[i]))
                .sum::<f64>();
        }
        let latent_mean = precision.solve_vec(&linear);
        let cov_scaled = moments.covariance_mat() * &scaled;
        let cross = precision
            .solve(cov_scaled.transpose())
            .transpose()
            .to_owned();
        let spread = precision.solve((scaled.transpose() * &cross).as_ref());
        let latent_cov = precision.inverse() + spread;
        let stats = LgmMeanStatistics {
            observable_mean: moments.mean().to_vec(),
            observable_variance: (0..d).map(|i| moments.covariance_mat()[(i, i)]).collect(),
            latent_mean,
            latent_covariance: linalg::to_rows(linalg::symmetrize(latent_cov.as_ref()).as_ref()),
            cross_covariance: linalg::to_rows(cross.as_ref()),
        };
        if [
            &stats.latent_mean,
            &stats.latent_covariance,
            &stats.cross_covariance,
        ]
        .iter()
        .any(|v| v.iter().any(|x| !x.is_finite()))
        {
            return Err(LgmError::Overflow {
                what: "expected statistics",
            });
        }
        Ok(stats)
    }

    /// One EM step: [`Self::expected_statistics`], then the M-step
    /// [`Self::from_mean_statistics`] (which fits the latent prior too, the
    /// parameter-expanded EM of Liu, Rubin & Wu, 1998), then [`Self::whiten`]. The observable
    /// marginal never has a lower likelihood than before.
    pub fn em_step(
        &self,
        moments: &SampleMoments,
        min_noise_variance: f64,
    ) -> Result<LinearGaussianModel, LgmError> {
        let stats = self.expected_statistics(moments)?;
        LinearGaussianModel::from_mean_statistics(self.noise_type(), &stats, min_noise_variance)?
            .whiten()
    }
}

fn check_moments(moments: &SampleMoments, d: usize) -> Result<(), LgmError> {
    if moments.dim() != d {
        return Err(crate::samples::DataError::WrongWidth {
            expected: d,
            found: moments.dim(),
        }
        .into());
    }
    Ok(())
}

/// Settings of [`LinearGaussianModel::fit`].
#[derive(Clone, Debug, PartialEq)]
pub struct FitOptions {
    /// Stop when the average log-likelihood per sample changes by less than this between
    /// two EM steps (scikit-learn's FactorAnalysis compares the *total* log-likelihood with
    /// its `tol`; divide that by `n` to compare). Default `1e-6`.
    pub tol: f64,
    /// Largest number of EM steps. Default 1000.
    pub max_iter: usize,
    /// Seed of [`Init::Random`] (EM itself is deterministic). Default 0.
    pub seed: u64,
    /// Starting point. Default [`Init::Principal`].
    pub init: Init,
    /// Floor of every noise variance, as scikit-learn's `SMALL = 1e-12`: a constant
    /// column (e.g. an always-blank pixel) drives its variance to zero, and the likelihood
    /// to infinity, without one. Default `1e-12`; `0` disables it (a vanishing variance is
    /// then an error).
    pub min_noise_variance: f64,
}

/// Default of [`FitOptions::min_noise_variance`].
pub const DEFAULT_MIN_NOISE_VARIANCE: f64 = 1e-12;

impl Default for FitOptions {
    fn default() -> FitOptions {
        FitOptions {
            tol: 1e-6,
            max_iter: 1000,
            seed: 0,
            init: Init::Principal,
            min_noise_variance: DEFAULT_MIN_NOISE_VARIANCE,
        }
    }
}

/// What a fit did.
#[derive(Clone, Debug, PartialEq)]
pub struct FitReport {
    /// EM steps taken.
    pub iterations: usize,
    /// Whether the last step changed the average log-likelihood by less than `tol`.
    pub converged: bool,
    /// Whether the progress callback stopped the fit.
    pub stopped: bool,
    /// Average log-likelihood per sample of the returned model on the training data.
    pub log_likelihood: f64,
    /// The average log-likelihood of the initial model, then after every step
    /// (`iterations + 1` values, never decreasing up to rounding).
    pub history: Vec<f64>,
}

/// Reported to the progress callback after every EM step.
#[derive(Clone, Debug, PartialEq)]
pub struct EmProgress {
    /// Steps taken so far (from 1).
    pub iteration: usize,
    /// Average log-likelihood per sample after this step.
    pub log_likelihood: f64,
    /// Its change over the step.
    pub change: f64,
}

/// The progress callback of [`LinearGaussianModel::fit_with_progress`]: sees every step's
/// progress and model; returning `ControlFlow::Break(())` stops the fit there.
pub type ProgressCallback<'a> =
    &'a mut dyn FnMut(&EmProgress, &LinearGaussianModel) -> ControlFlow<()>;

impl LinearGaussianModel {
    /// Fits a model with `latent_dim` factors and `noise_type` noise to `x` by EM
    /// ([`Self::em_step`]) from `options.init` until the average log-likelihood changes by
    /// less than `options.tol` or `options.max_iter` steps. The result has the standard
    /// prior and its loadings in the canonical orientation of [`Self::canonical`].
    ///
    /// Errors: `latent_dim` not in `1..d`, fewer than `latent_dim + 1` rows, options out of
    /// range, an initial model that does not match.
    ///
    /// ```
    /// use blockgibbs_models::lgm::{FitOptions, LinearGaussianModel, NoiseType};
    /// let truth = LinearGaussianModel::new(NoiseType::Diagonal, vec![0.0; 4],
    ///     vec![2.0, 1.0, -1.0, 0.5], 1, vec![0.1, 0.2, 0.3, 0.4]).unwrap();
    /// let x = truth.sample(2000, 7).unwrap();
    /// let (fit, report) =
    ///     LinearGaussianModel::fit(&x, 1, NoiseType::Diagonal, &FitOptions::default()).unwrap();
    /// assert!(report.converged);
    /// assert!(report.log_likelihood >= truth.score(&x).unwrap());
    /// ```
    pub fn fit(
        x: &Samples,
        latent_dim: usize,
        noise_type: NoiseType,
        options: &FitOptions,
    ) -> Result<(LinearGaussianModel, FitReport), LgmError> {
        Self::fit_with_progress(x, latent_dim, noise_type, options, &mut |_, _| {
            ControlFlow::Continue(())
        })
    }

    /// [`Self::fit`] with a callback after every EM step (a progress bar, logging, or an
    /// early stop).
    pub fn fit_with_progress(
        x: &Samples,
        latent_dim: usize,
        noise_type: NoiseType,
        options: &FitOptions,
        progress: ProgressCallback<'_>,
    ) -> Result<(LinearGaussianModel, FitReport), LgmError> {
        check_options(options)?;
        super::model::check_latent_dim(latent_dim, x.cols())?;
        if x.rows() < latent_dim + 1 {
            return Err(LgmError::TooFewSamples {
                found: x.rows(),
                needed: latent_dim + 1,
                latent_dim,
            });
        }
        let moments = SampleMoments::new(x);
        let mut model =
            initial_model(&options.init, noise_type, latent_dim, &moments, options)?.whiten()?;
        let mut ll = model.average_log_likelihood(&moments)?;
        let mut history = vec![ll];
        let (mut converged, mut stopped) = (false, false);
        for iteration in 1..=options.max_iter {
            let next = model.em_step(&moments, options.min_noise_variance)?;
            let next_ll = next.average_log_likelihood(&moments)?;
            let change = next_ll - ll;
            (model, ll) = (next, next_ll);
            history.push(ll);
            let step = EmProgress {
                iteration,
                log_likelihood: ll,
                change,
            };
            if progress(&step, &model).is_break() {
                stopped = true;
                break;
            }
            if change.abs() < options.tol {
                converged = true;
                break;
            }
        }
        let report = FitReport {
            iterations: history.len() - 1,
            converged,
            stopped,
            log_likelihood: ll,
            history,
        };
        Ok((model.canonical()?, report))
    }
}

fn check_options(options: &FitOptions) -> Result<(), LgmError> {
    let invalid = |field, value: f64, reason| LgmError::InvalidOption {
        field,
        value: value.to_string(),
        reason,
    };
    if !(options.tol.is_finite() && options.tol >= 0.0) {
        return Err(invalid(
            "tol",
            options.tol,
            "must be finite and non-negative",
        ));
    }
    if options.max_iter == 0 {
        return Err(invalid("max_iter", 0.0, "at least one EM step is needed"));
    }
    let floor = options.min_noise_variance;
    if !(floor.is_finite() && floor >= 0.0) {
        return Err(invalid(
            "min_noise_variance",
            floor,
            "must be finite and non-negative",
        ));
    }
    Ok(())
}
