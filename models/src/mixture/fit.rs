//! Fitting by EM exactly as scikit-learn 1.9.1's `GaussianMixture.fit`: for each of
//! `n_init` initialisations, iterate E-step, M-step; the lower bound of an iteration is the
//! mean log-likelihood computed by its E-step (so *before* its M-step); stop when it changes
//! by less than `tol` or after `max_iter` iterations; keep the initialisation with the
//! largest final lower bound; finish with one more E-step for the labels.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::components;
use super::estep::{Design, check_rows, e_step};
use super::init::{InitParams, responsibilities};
use super::model::{check_cov_array, check_weights};
use super::mstep::{MStepFailure, WeightNorm, m_step};
use super::{GaussianMixture, MixtureError};
use crate::expfam::CovarianceType;
use crate::samples::Samples;

/// The options of [`GaussianMixture::fit`], with scikit-learn's names and defaults
/// (`tol = 1e-3`, `reg_covar = 1e-6`, `max_iter = 100`, `n_init = 1`,
/// `init_params = kmeans`, covariance `full`).
///
/// ```
/// use blockgibbs_models::expfam::CovarianceType;
/// use blockgibbs_models::mixture::{GaussianMixtureOptions, InitParams};
/// let options = GaussianMixtureOptions {
///     covariance_type: CovarianceType::Diagonal,
///     init_params: InitParams::KMeansPlusPlus,
///     seed: 7,
///     ..GaussianMixtureOptions::new(3)
/// };
/// assert_eq!((options.tol, options.reg_covar, options.max_iter), (1e-3, 1e-6, 100));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianMixtureOptions {
    /// Number of components `K ≥ 1` (`n_components`).
    pub n_components: usize,
    /// How covariances are parameterised (`covariance_type`; `Fixed` is ours: identity
    /// covariances, only weights and means are learnt).
    pub covariance_type: CovarianceType,
    /// Convergence threshold on the change of the lower bound (`tol`, ≥ 0).
    pub tol: f64,
    /// Added to the diagonal of every estimated covariance (`reg_covar`, ≥ 0; unused by
    /// `Fixed`).
    pub reg_covar: f64,
    /// EM iterations per initialisation (`max_iter`); 0 returns the initial parameters.
    pub max_iter: usize,
    /// Initialisations; the one with the largest lower bound is kept (`n_init`, ≥ 1).
    pub n_init: usize,
    /// How initial parameters are computed when not all are given (`init_params`).
    pub init_params: InitParams,
    /// Initial weights `[K]` (`weights_init`).
    pub weights_init: Option<Vec<f64>>,
    /// Initial means `[K, d]` row-major (`means_init`).
    pub means_init: Option<Vec<f64>>,
    /// Initial precisions in the per-type layout of [`GaussianMixture::covariances`]
    /// (`precisions_init`; must be `None` for `Fixed`). When weights, means and precisions
    /// are all given, EM starts from exactly these parameters and `init_params` is unused.
    pub precisions_init: Option<Vec<f64>>,
    /// Seed of every random choice of the fit (`random_state`).
    pub seed: u64,
    /// A component whose total responsibility `Σ_i r_ik` falls below this is reported as
    /// [`MixtureError::EmptyComponent`] (scikit-learn would carry it on with a weight of
    /// order `1e-15`); ≥ 0, default `1e-8`.
    pub min_component_mass: f64,
}

impl GaussianMixtureOptions {
    /// The defaults with `n_components` components.
    pub fn new(n_components: usize) -> GaussianMixtureOptions {
        GaussianMixtureOptions {
            n_components,
            ..GaussianMixtureOptions::default()
        }
    }

    /// Errors unless every option is in its domain.
    pub fn validate(&self) -> Result<(), MixtureError> {
        let bad = |field, value: String, reason| {
            Err(MixtureError::InvalidOption {
                field,
                value,
                reason,
            })
        };
        if self.n_components == 0 {
            return bad("n_components", "0".into(), "at least one component");
        }
        for (field, value) in [
            ("tol", self.tol),
            ("reg_covar", self.reg_covar),
            ("min_component_mass", self.min_component_mass),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return bad(field, value.to_string(), "a finite number ≥ 0");
            }
        }
        if self.n_init == 0 {
            return bad("n_init", "0".into(), "at least one initialisation");
        }
        if self.covariance_type == CovarianceType::Fixed && self.precisions_init.is_some() {
            return bad(
                "precisions_init",
                "Some(..)".into(),
                "fixed covariances have no precisions to initialise",
            );
        }
        Ok(())
    }
}

impl Default for GaussianMixtureOptions {
    fn default() -> GaussianMixtureOptions {
        GaussianMixtureOptions {
            n_components: 1,
            covariance_type: CovarianceType::Full,
            tol: 1e-3,
            reg_covar: 1e-6,
            max_iter: 100,
            n_init: 1,
            init_params: InitParams::KMeans,
            weights_init: None,
            means_init: None,
            precisions_init: None,
            seed: 0,
            min_component_mass: 1e-8,
        }
    }
}

/// One EM iteration, as reported to the progress callback of
/// [`GaussianMixture::fit_with_progress`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitProgress {
    /// The initialisation (`0..n_init`).
    pub init: usize,
    /// Initialisations in all.
    pub n_init: usize,
    /// The iteration just finished (1-based).
    pub iteration: usize,
    /// The iteration limit.
    pub max_iter: usize,
    /// Its lower bound (mean log-likelihood before its M-step).
    pub lower_bound: f64,
    /// Change from the previous iteration's lower bound (`+∞` at the first).
    pub change: f64,
}

/// What a fit did (scikit-learn's `n_iter_`, `converged_`, `lower_bound_`, `lower_bounds_`)
/// for the initialisation that was kept.
#[derive(Clone, Debug, PartialEq)]
pub struct FitReport {
    /// EM iterations run (`n_iter_`).
    pub n_iter: usize,
    /// Whether the change of the lower bound fell below `tol` (`converged_`).
    pub converged: bool,
    /// The final lower bound: the mean log-likelihood of the parameters before the last
    /// M-step (`lower_bound_`; `−∞` when `max_iter = 0`).
    pub lower_bound: f64,
    /// The lower bound of every iteration (`lower_bounds_`).
    pub lower_bounds: Vec<f64>,
    /// Which initialisation was kept (`0..n_init`).
    pub best_init: usize,
}

/// A fitted mixture, the report of its fit, and the labels of the training data from a
/// final E-step (scikit-learn's `fit_predict`).
#[derive(Clone, Debug, PartialEq)]
pub struct MixtureFit {
    /// The fitted mixture.
    pub model: GaussianMixture,
    /// What the fit did.
    pub report: FitReport,
    /// The most responsible component of every training sample under `model`.
    pub labels: Vec<usize>,
}

/// The checked `*_init` parameters.
struct GivenInit {
    weights: Option<Vec<f64>>,
    means: Option<Vec<f64>>,
    /// Covariances derived from `precisions_init`, with their precision factors.
    covariances: Option<(Vec<f64>, components::PrecisionFactors)>,
}

fn check_given(options: &GaussianMixtureOptions, d: usize) -> Result<GivenInit, MixtureError> {
    let (k, ty) = (options.n_components, options.covariance_type);
    if let Some(w) = &options.weights_init {
        if w.len() != k {
            return Err(MixtureError::Shape {
                field: "weights_init",
                expected: vec![k],
                found: vec![w.len()],
            });
        }
        check_weights("weights_init", w)?;
    }
    if let Some(m) = &options.means_init {
        check_cov_array("means_init", CovarianceType::Diagonal, k, d, m)?;
    }
    let covariances = match &options.precisions_init {
        None => None,
        Some(p) => {
            check_cov_array("precisions_init", ty, k, d, p)?;
            let not_pd = |(component, reason)| MixtureError::NotPositiveDefinite {
                field: "precisions_init",
                component,
                reason,
            };
            let cov = components::covariances_from_precisions(ty, k, d, p).map_err(not_pd)?;
            let factors = components::precision_factors(ty, k, d, &cov).map_err(not_pd)?;
            Some((cov, factors))
        }
    };
    Ok(GivenInit {
        weights: options.weights_init.clone(),
        means: options.means_init.clone(),
        covariances,
    })
}

fn failure(f: MStepFailure, init: usize, iteration: usize, reg_covar: f64) -> MixtureError {
    match f {
        MStepFailure::Empty { component, mass } => MixtureError::EmptyComponent {
            component,
            init,
            iteration,
            mass,
        },
        MStepFailure::Singular { component, reason } => MixtureError::SingularCovariance {
            component,
            init,
            iteration,
            reg_covar,
            reason,
        },
    }
}

/// scikit-learn's `_initialize_parameters`: responsibilities from `init_params` unless all
/// three `*_init` are given, an M-step from them with weights `n_k / n`, then the given
/// parameters override the estimated ones.
///
/// As in scikit-learn, the weights `n_k / n` are not renormalised: after the one-hot starts
/// (`k-means++`, `random_from_data`) each is `(1 + 10ε)/n` and they sum to `K/n`. That
/// changes no responsibility, but the first lower bound is `log(K/n)` below the
/// log-likelihood of the normalised start — kept so that iteration counts match
/// scikit-learn's.
fn initialise(
    design: &Design<'_>,
    options: &GaussianMixtureOptions,
    given: &GivenInit,
    rng: &mut ChaCha8Rng,
    init: usize,
) -> Result<GaussianMixture, MixtureError> {
    let (k, d, ty) = (options.n_components, design.d, options.covariance_type);
    let mut model = GaussianMixture {
        covariance_type: ty,
        n_features: d,
        weights: vec![1.0 / k as f64; k],
        means: vec![0.0; k * d],
        covariances: Vec::new(),
        precisions_cholesky: Vec::new(),
        log_det_cholesky: vec![0.0; k],
    };
    let all_given = given.weights.is_some()
        && given.means.is_some()
        && (given.covariances.is_some() || ty == CovarianceType::Fixed);
    if !all_given {
        let resp = responsibilities(options.init_params, design, k, rng);
        m_step(
            &mut model,
            design,
            &resp,
            options.reg_covar,
            options.min_component_mass,
            WeightNorm::BySamples,
        )
        .map_err(|f| failure(f, init, 0, options.reg_covar))?;
    }
    if let Some(w) = &given.weights {
        model.weights = w.clone();
    }
    if let Some(m) = &given.means {
        model.means = m.clone();
    }
    if let Some((cov, factors)) = &given.covariances {
        model.covariances = cov.clone();
        model.precisions_cholesky = factors.factors.clone();
        model.log_det_cholesky = factors.log_det.clone();
    }
    Ok(model)
}

impl GaussianMixture {
    /// Fits a mixture to the rows of `x` by EM (scikit-learn's `fit_predict`).
    ///
    /// Errors: invalid options or `*_init` parameters, fewer samples than components
    /// ([`MixtureError::TooFewSamples`]), an empty component
    /// ([`MixtureError::EmptyComponent`]) or a singular covariance
    /// ([`MixtureError::SingularCovariance`]), each naming the component, initialisation
    /// and iteration; a log-density that overflowed ([`MixtureError::Overflow`], only for
    /// values near `f64::MAX`). Never NaN.
    ///
    /// ```
    /// use blockgibbs_models::mixture::{GaussianMixture, GaussianMixtureOptions};
    /// use blockgibbs_models::samples::Samples;
    /// let x = Samples::from_rows(&[
    ///     vec![1.0, 2.0], vec![1.0, 4.0], vec![1.0, 0.0],
    ///     vec![10.0, 2.0], vec![10.0, 4.0], vec![10.0, 0.0],
    /// ]).unwrap();
    /// let fit = GaussianMixture::fit(&x, &GaussianMixtureOptions::new(2)).unwrap();
    /// assert!(fit.report.converged);
    /// assert_eq!(fit.labels[0], fit.labels[2]);
    /// assert_ne!(fit.labels[0], fit.labels[3]);
    /// ```
    pub fn fit(x: &Samples, options: &GaussianMixtureOptions) -> Result<MixtureFit, MixtureError> {
        Self::fit_with_progress(x, options, |_| {})
    }

    /// [`GaussianMixture::fit`], calling `progress` after every EM iteration (for a progress
    /// bar or a log).
    pub fn fit_with_progress(
        x: &Samples,
        options: &GaussianMixtureOptions,
        mut progress: impl FnMut(&FitProgress),
    ) -> Result<MixtureFit, MixtureError> {
        options.validate()?;
        let k = options.n_components;
        if x.rows() < k {
            return Err(MixtureError::TooFewSamples {
                samples: x.rows(),
                components: k,
            });
        }
        let given = check_given(options, x.cols())?;
        let design = Design::new(x, options.covariance_type);
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        let mut best: Option<(GaussianMixture, FitReport)> = None;
        let mut max_lower_bound = f64::NEG_INFINITY;
        for init in 0..options.n_init {
            let mut model = initialise(&design, options, &given, &mut rng, init)?;
            if options.max_iter == 0 {
                // The one-hot starts' weights n_k / n sum to K/n (see `initialise`); a
                // returned mixture is a probability model.
                let total: f64 = model.weights.iter().sum();
                model.weights.iter_mut().for_each(|w| *w /= total);
                let report = FitReport {
                    n_iter: 0,
                    converged: false,
                    lower_bound: f64::NEG_INFINITY,
                    lower_bounds: Vec::new(),
                    best_init: init,
                };
                best = Some((model, report));
                continue;
            }
            let mut lower_bound = f64::NEG_INFINITY;
            let mut lower_bounds = Vec::new();
            let mut converged = false;
            let mut n_iter = 0;
            for iteration in 1..=options.max_iter {
                n_iter = iteration;
                let previous = lower_bound;
                let e = e_step(&model, &design);
                check_rows(&e.log_prob_norm, 1)?;
                m_step(
                    &mut model,
                    &design,
                    &e.resp,
                    options.reg_covar,
                    options.min_component_mass,
                    WeightNorm::BySum,
                )
                .map_err(|f| failure(f, init, iteration, options.reg_covar))?;
                lower_bound = e.mean_log_prob();
                lower_bounds.push(lower_bound);
                let change = lower_bound - previous;
                progress(&FitProgress {
                    init,
                    n_init: options.n_init,
                    iteration,
                    max_iter: options.max_iter,
                    lower_bound,
                    change,
                });
                if change.abs() < options.tol {
                    converged = true;
                    break;
                }
            }
            if lower_bound > max_lower_bound || max_lower_bound == f64::NEG_INFINITY {
                max_lower_bound = lower_bound;
                let report = FitReport {
                    n_iter,
                    converged,
                    lower_bound,
                    lower_bounds,
                    best_init: init,
                };
                best = Some((model, report));
            }
        }
        let (model, report) = best.expect("n_init ≥ 1 runs at least one initialisation");
        let labels = model.predict_design(&design)?;
        Ok(MixtureFit {
            model,
            report,
            labels,
        })
    }
}
