//! `fit fa` and `fit ppca`: factor analysis and probabilistic PCA by EM from the closed-form
//! PPCA start ([`blockgibbs_models::lgm`]), and the scoring of their files.
//!
//! `--latent-dim` is the number of factors; `--max-iter` and `--tol` bound EM, whose
//! convergence test is a change of the average log-likelihood below `--tol`. The start is
//! deterministic, so `--seed` does not apply. `log p(x)` is exact (a Gaussian marginal).
//! `score` writes `log_prob.npy` and `latent_mean.npy` (`E[z | x]`, `[n, factors]`).

use super::{Fitted, Kind, Likelihood, LikelihoodMethod, ScoreArray, ScoreSettings, Scores};
use crate::cli::CliError;
use crate::cli::options::{FitOption, FitOptions, UsageError};
use crate::cli::progress::Progress;
use crate::data::DataFile;
use blockgibbs_models::AnyModel;
use blockgibbs_models::lgm::{
    EmProgress, FactorAnalysis, FitOptions as EmOptions, FitReport, LgmError, LinearGaussianModel,
    Ppca, ProgressCallback,
};
use serde_json::json;
use std::ops::ControlFlow;

/// The options both kinds read.
const OPTIONS: &[(FitOption, &str)] = &[
    (FitOption::LatentDim, "factors (required)"),
    (FitOption::MaxIter, "EM steps (default 1000)"),
    (
        FitOption::Tol,
        "stop when the average log-likelihood changes by less (default 1e-6)",
    ),
];

/// The pointers both kinds give.
const HINTS: &[(FitOption, &str)] = &[
    (
        FitOption::Components,
        "; the factors of a factor model are set with --latent-dim",
    ),
    (
        FitOption::Seed,
        "; EM starts from the closed-form PPCA solution, which is not random",
    ),
];

/// The settings of `fit fa` and `fit ppca`.
#[derive(Debug, Clone)]
pub(crate) struct LgmSettings {
    factors: usize,
    em: EmOptions,
}

/// Reads [`OPTIONS`] for `kind`.
fn settings(kind: &'static str, options: &FitOptions) -> Result<LgmSettings, UsageError> {
    let defaults = EmOptions::default();
    Ok(LgmSettings {
        factors: options.latent_dim.ok_or(UsageError::Missing {
            option: FitOption::LatentDim,
            kind,
            meaning: "the number of factors",
        })?,
        em: EmOptions {
            max_iter: options.max_iter.unwrap_or(defaults.max_iter),
            tol: options.tol.unwrap_or(defaults.tol),
            ..defaults
        },
    })
}

/// Fits with `fit` (one of the front-ends' `fit_with_progress`), reporting each EM step.
fn fit_lgm<M>(
    kind: &'static str,
    s: &LgmSettings,
    data: &DataFile,
    progress: &Progress,
    fit: impl FnOnce(&LgmSettings, &DataFile, ProgressCallback<'_>) -> Result<(M, FitReport), LgmError>,
    wrap: impl FnOnce(M) -> AnyModel,
) -> Result<Fitted, CliError> {
    data.require_rows(s.factors + 1, &format!("{kind} with {} factors", s.factors))?;
    progress.start(s.em.max_iter as u64, "EM steps");
    let mut step = |p: &EmProgress, _: &LinearGaussianModel| {
        progress.set(p.iteration as u64);
        ControlFlow::Continue(())
    };
    let (model, report) = fit(s, data, &mut step).map_err(|e| CliError::fitting(kind, data, e))?;
    Ok(Fitted {
        model: wrap(model),
        likelihood: Likelihood {
            average: report.log_likelihood,
            method: LikelihoodMethod::Exact,
            std_err: None,
        },
        iterations: report.iterations,
        converged: Some(report.converged),
        details: json!({ "latent_dim": s.factors, "tol": s.em.tol, "max_iter": s.em.max_iter })
            .as_object()
            .cloned()
            .unwrap_or_default(),
    })
}

/// `fit fa`.
pub(crate) struct Fa;

impl Kind for Fa {
    const NAME: &'static str = "fa";
    const OPTIONS: &'static [(FitOption, &'static str)] = OPTIONS;
    const HINTS: &'static [(FitOption, &'static str)] = HINTS;
    type Settings = LgmSettings;

    fn settings(options: &FitOptions) -> Result<LgmSettings, UsageError> {
        settings(Self::NAME, options)
    }

    fn fit(s: &LgmSettings, data: &DataFile, progress: &Progress) -> Result<Fitted, CliError> {
        fit_lgm(
            Self::NAME,
            s,
            data,
            progress,
            |s, d, cb| FactorAnalysis::fit_with_progress(d.samples(), s.factors, &s.em, cb),
            AnyModel::FactorAnalysis,
        )
    }
}

/// `fit ppca`.
pub(crate) struct PpcaKind;

impl Kind for PpcaKind {
    const NAME: &'static str = "ppca";
    const OPTIONS: &'static [(FitOption, &'static str)] = OPTIONS;
    const HINTS: &'static [(FitOption, &'static str)] = HINTS;
    type Settings = LgmSettings;

    fn settings(options: &FitOptions) -> Result<LgmSettings, UsageError> {
        settings(Self::NAME, options)
    }

    fn fit(s: &LgmSettings, data: &DataFile, progress: &Progress) -> Result<Fitted, CliError> {
        fit_lgm(
            Self::NAME,
            s,
            data,
            progress,
            |s, d, cb| Ppca::fit_with_progress(d.samples(), s.factors, &s.em, cb),
            AnyModel::Ppca,
        )
    }
}

/// The scoring both front-ends share: `log p(x)` and `E[z | x]`.
macro_rules! score_lgm {
    ($name:ident, $model:ty) => {
        /// Scores data under a saved model: `log_prob.npy` and `latent_mean.npy`.
        pub(super) fn $name(
            model: &$model,
            kind: &'static str,
            data: &DataFile,
            _: &ScoreSettings,
        ) -> Result<Scores, CliError> {
            data.check_width(model.n_features(), kind)?;
            let failed = |e: LgmError| CliError::scoring(kind, data, e);
            let log_prob = model.score_samples(data.samples()).map_err(failed)?;
            let z = model.transform(data.samples()).map_err(failed)?;
            Ok(Scores {
                log_prob,
                method: LikelihoodMethod::Exact,
                std_err: None,
                arrays: vec![ScoreArray::matrix("latent_mean", z, model.n_components())],
            })
        }
    };
}

score_lgm!(score_fa, FactorAnalysis);
score_lgm!(score_ppca, Ppca);
