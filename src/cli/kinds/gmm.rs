//! `fit gmm`: scikit-learn's `GaussianMixture` ([`blockgibbs_models::mixture`]) — a mixture of
//! `--components` Gaussians with a `--covariance` type, fitted by EM from `--n-init`
//! k-means starts drawn with `--seed` — and the scoring of `gaussian_mixture` files.
//!
//! The defaults are scikit-learn's (full covariances, `tol` 1e-3, `reg_covar` 1e-6, 100
//! iterations, one start). `avg_log_likelihood` is the exact `score` of the fitted
//! parameters; `score` writes `log_prob.npy`, `proba.npy` (`p(c = k | x)`) and `labels.npy`.

use super::{Fitted, Kind, Likelihood, LikelihoodMethod, ScoreArray, ScoreSettings, Scores};
use crate::cli::CliError;
use crate::cli::options::{FitOption, FitOptions, UsageError};
use crate::cli::progress::Progress;
use crate::data::DataFile;
use blockgibbs_models::AnyModel;
use blockgibbs_models::expfam::CovarianceType;
use blockgibbs_models::io::KIND_MIXTURE;
use blockgibbs_models::mixture::{GaussianMixture, GaussianMixtureOptions, MixtureError};
use serde_json::json;

/// `fit gmm`.
pub(crate) struct Gmm;

impl Kind for Gmm {
    const NAME: &'static str = "gmm";
    const OPTIONS: &'static [(FitOption, &'static str)] = &[
        (FitOption::Components, "mixture components (required, ≥ 1)"),
        (
            FitOption::Covariance,
            "full (default), diag, spherical or fixed (identity)",
        ),
        (FitOption::MaxIter, "EM iterations per start (default 100)"),
        (
            FitOption::Tol,
            "stop when the mean log-likelihood changes by less (default 1e-3)",
        ),
        (
            FitOption::RegCovar,
            "added to every covariance diagonal (default 1e-6)",
        ),
        (
            FitOption::NInit,
            "k-means starts; the best is kept (default 1)",
        ),
        (FitOption::Seed, "seed of the starts (default 0)"),
    ];
    const HINTS: &'static [(FitOption, &'static str)] = &[(
        FitOption::LatentDim,
        "; a Gaussian mixture has no factors: --components sets its size",
    )];
    type Settings = GaussianMixtureOptions;

    fn settings(options: &FitOptions) -> Result<GaussianMixtureOptions, UsageError> {
        let components = options.components.ok_or(UsageError::Missing {
            option: FitOption::Components,
            kind: Self::NAME,
            meaning: "the number of mixture components",
        })?;
        let defaults = GaussianMixtureOptions::new(components);
        Ok(GaussianMixtureOptions {
            covariance_type: options.covariance.unwrap_or(CovarianceType::Full),
            max_iter: options.max_iter.unwrap_or(defaults.max_iter),
            tol: options.tol.unwrap_or(defaults.tol),
            reg_covar: options.reg_covar.unwrap_or(defaults.reg_covar),
            n_init: options.n_init.unwrap_or(defaults.n_init),
            seed: options.seed_or_default(),
            ..defaults
        })
    }

    fn fit(
        s: &GaussianMixtureOptions,
        data: &DataFile,
        progress: &Progress,
    ) -> Result<Fitted, CliError> {
        data.require_rows(
            s.n_components,
            &format!("a mixture of {} components", s.n_components),
        )?;
        let failed = |e: MixtureError| CliError::fitting(Self::NAME, data, e);
        progress.start((s.max_iter * s.n_init) as u64, "EM iterations");
        let fit = GaussianMixture::fit_with_progress(data.samples(), s, |p| {
            progress.set((p.init * p.max_iter + p.iteration) as u64)
        })
        .map_err(failed)?;
        let average = fit.model.score(data.samples()).map_err(failed)?;
        Ok(Fitted {
            likelihood: Likelihood {
                average,
                method: LikelihoodMethod::Exact,
                std_err: None,
            },
            iterations: fit.report.n_iter,
            converged: Some(fit.report.converged),
            details: json!({
                "components": s.n_components,
                "covariance": s.covariance_type.name(),
                "reg_covar": s.reg_covar,
                "tol": s.tol,
                "n_init": s.n_init,
                "best_init": fit.report.best_init,
                "seed": s.seed,
                "bic": fit.model.bic(data.samples()).map_err(failed)?,
                "aic": fit.model.aic(data.samples()).map_err(failed)?,
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
            model: AnyModel::Mixture(fit.model),
        })
    }
}

/// Scores data under a saved mixture: `log p(x)`, `p(c = k | x)` and the most probable `k`.
pub(super) fn score(
    model: &GaussianMixture,
    data: &DataFile,
    _: &ScoreSettings,
) -> Result<Scores, CliError> {
    data.check_width(model.n_features(), KIND_MIXTURE)?;
    let failed = |e: MixtureError| CliError::scoring(KIND_MIXTURE, data, e);
    let log_prob = model.score_samples(data.samples()).map_err(failed)?;
    let proba = model.predict_proba(data.samples()).map_err(failed)?;
    let labels = model.predict(data.samples()).map_err(failed)?;
    Ok(Scores {
        log_prob,
        method: LikelihoodMethod::Exact,
        std_err: None,
        arrays: vec![
            ScoreArray::soft_assignments(proba, model.n_components()),
            ScoreArray::labels(&labels),
        ],
    })
}
