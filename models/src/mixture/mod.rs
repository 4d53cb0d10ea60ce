//! Gaussian mixtures fitted by EM, as scikit-learn's `GaussianMixture` (and with the
//! method names of goal-jax and multiDGD).
//!
//! ```
//! use blockgibbs_models::expfam::CovarianceType;
//! use blockgibbs_models::mixture::{GaussianMixture, GaussianMixtureOptions};
//!
//! // Draw from a known two-component mixture, then fit one to the draws.
//! let truth = GaussianMixture::new(
//!     CovarianceType::Isotropic,
//!     vec![0.3, 0.7],
//!     vec![-4.0, 0.0, 4.0, 1.0],
//!     vec![1.0, 0.5],
//! )
//! .unwrap();
//! let (x, _labels) = truth.sample(2000, 1).unwrap();
//! let options = GaussianMixtureOptions {
//!     covariance_type: CovarianceType::Isotropic,
//!     ..GaussianMixtureOptions::new(2)
//! };
//! let fit = GaussianMixture::fit(&x, &options).unwrap();
//! assert!(fit.report.converged);
//! let gm = fit.model;
//! assert!(gm.weights().iter().any(|w| (w - 0.3).abs() < 0.05));
//! println!("log-likelihood per sample: {}", gm.score(&x).unwrap());
//! ```
//!
//! - [`GaussianMixture`]: parameters (weights `[K]`, means `[K, d]`, covariances by
//!   [`CovarianceType`](crate::expfam::CovarianceType): full `[K, d, d]`, diagonal `[K, d]`,
//!   isotropic = scikit-learn's spherical `[K]`, fixed identity), cached precision Cholesky
//!   factors, a validating constructor ([`GaussianMixture::new`],
//!   [`GaussianMixture::from_precisions`]).
//! - [`GaussianMixture::fit`] with [`GaussianMixtureOptions`] (scikit-learn's options and
//!   defaults) returns a [`MixtureFit`]: the model, a [`FitReport`] and the labels.
//! - Methods: `predict_proba` = `posterior_soft_assignments`, `predict` = `clustering`,
//!   `score_samples`, `score`, `bic`, `aic`, `sample_probs`, `sample`, `component_sample`,
//!   `sample_new_points`, `mixture_probs`, `covariance`, `stddev`.
//! - [`adjusted_rand_index`] to compare clusterings.
//!
//! EM follows scikit-learn 1.9.1 operation by operation where it matters (the `10 ε` added
//! to `n_k`, where `reg_covar` enters, the lower bound taken before each M-step, the
//! convergence test, the choice among restarts), so that from the same initial parameters
//! both reach the same log-likelihood. With `reg_covar = 0` EM never decreases the
//! log-likelihood; with `reg_covar > 0` the M-step is no longer the exact maximiser.
//! Batch computations are faer matrix products over blocks of samples (and components) in
//! parallel with rayon; results do not depend on the number of threads.
//!
//! # Differences from scikit-learn
//!
//! - Random choices (initialisation, sampling) come from a seeded ChaCha8 stream, not numpy's:
//!   the same seed does not give scikit-learn's draws. Given the same initial parameters
//!   (`weights_init`, `means_init`, `precisions_init`) both run the same EM
//!   (`scripts/sklearn_mixture.py` and `examples/mixture_bench.rs` check it).
//! - No `tied` covariances and no `warm_start`; `Fixed` (identity covariances) is ours.
//! - A component whose total responsibility falls below
//!   [`GaussianMixtureOptions::min_component_mass`] is [`MixtureError::EmptyComponent`]
//!   (scikit-learn carries on with a weight of order `1e-15`), and a covariance singular to
//!   working precision (a Cholesky pivot below `d ε max_i Σ_ii`, a variance below the rounding
//!   error of `E[x²] − E[x]²`) is [`MixtureError::SingularCovariance`] (scikit-learn only
//!   stops when the pivot or variance is not positive).
//! - With `max_iter = 0` the returned weights are normalised (scikit-learn's one-hot starts
//!   leave them summing to `K/n`).
//! - [`GaussianMixture::sample`] returns the draws grouped by component, as scikit-learn's,
//!   but [`GaussianMixture::sample_probs`] excludes the weights (multiDGD's includes them).

mod components;
mod error;
mod estep;
mod fit;
mod harmonium;
mod init;
mod model;
mod mstep;
mod predict;
mod sampling;

pub use crate::metrics::adjusted_rand_index;
pub use error::MixtureError;
pub use fit::{FitProgress, FitReport, GaussianMixtureOptions, MixtureFit};
pub use init::InitParams;
pub use model::GaussianMixture;
pub use sampling::NewPoints;
