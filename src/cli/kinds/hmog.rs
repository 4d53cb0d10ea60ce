//! `fit hmog`: goal-jax's analytic hierarchical mixture of Gaussians (a factor model below, a
//! mixture of `--components` Gaussians over its `--latent-dim` factors above), initialised
//! from the data (principal directions, k-means++ seeds drawn with `--seed`) and fitted by
//! closed-form EM ([`blockgibbs_models::hmog`]), and the scoring of `hmog` files.
//!
//! `--covariance` is the observable noise (default `diag`, as factor analysis);
//! `--reg-covar` is added to every variance at each EM step. `log p(x)` is exact.
//! `score` writes `log_prob.npy`, `proba.npy` (`p(z = k | x)`) and `labels.npy`.

use super::{Fitted, Kind, Likelihood, LikelihoodMethod, ScoreArray, ScoreSettings, Scores};
use crate::cli::CliError;
use crate::cli::options::{FitOption, FitOptions, UsageError};
use crate::cli::progress::Progress;
use crate::data::DataFile;
use blockgibbs_models::AnyModel;
use blockgibbs_models::expfam::{CovarianceType, ExponentialFamily};
use blockgibbs_models::harmonium::HarmoniumError;
use blockgibbs_models::hmog::{Hmog, HmogFitOptions, HmogVariant};
use blockgibbs_models::io::KIND_HMOG;
use serde_json::json;

/// `fit hmog`.
pub(crate) struct HmogKind;

/// The settings of `fit hmog`.
#[derive(Debug, Clone)]
pub(crate) struct HmogSettings {
    components: usize,
    latent_dim: usize,
    covariance: CovarianceType,
    em: HmogFitOptions,
    seed: u64,
}

impl Kind for HmogKind {
    const NAME: &'static str = "hmog";
    const OPTIONS: &'static [(FitOption, &'static str)] = &[
        (
            FitOption::Components,
            "mixture components over the factors (required, ≥ 2)",
        ),
        (FitOption::LatentDim, "factors (required)"),
        (
            FitOption::Covariance,
            "observable noise: diag (default), spherical, fixed",
        ),
        (FitOption::MaxIter, "EM steps (default 200)"),
        (
            FitOption::Tol,
            "stop when the average log-likelihood changes by less (default 1e-6)",
        ),
        (
            FitOption::RegCovar,
            "added to every variance at each EM step (default 1e-6)",
        ),
        (
            FitOption::Seed,
            "k-means++ seeds of the components (default 0)",
        ),
    ];
    type Settings = HmogSettings;

    fn settings(options: &FitOptions) -> Result<HmogSettings, UsageError> {
        let missing = |option, meaning| UsageError::Missing {
            option,
            kind: Self::NAME,
            meaning,
        };
        let defaults = HmogFitOptions::default();
        Ok(HmogSettings {
            components: options.components.ok_or(missing(
                FitOption::Components,
                "the number of mixture components",
            ))?,
            latent_dim: options
                .latent_dim
                .ok_or(missing(FitOption::LatentDim, "the number of factors"))?,
            covariance: options.covariance.unwrap_or(CovarianceType::Diagonal),
            em: HmogFitOptions {
                max_iter: options.max_iter.unwrap_or(defaults.max_iter),
                tol: options.tol.unwrap_or(defaults.tol),
                reg_covar: options.reg_covar.unwrap_or(defaults.reg_covar),
                ..defaults
            },
            seed: options.seed_or_default(),
        })
    }

    fn fit(s: &HmogSettings, data: &DataFile, progress: &Progress) -> Result<Fitted, CliError> {
        data.require_rows(
            s.components,
            &format!("an hmog of {} components", s.components),
        )?;
        let failed = |e: HarmoniumError| CliError::fitting(Self::NAME, data, e);
        let start = Hmog::initialize(
            HmogVariant::Analytic,
            s.covariance,
            s.latent_dim,
            s.components,
            data.samples(),
            s.seed,
        )
        .map_err(failed)?;
        progress.start(s.em.max_iter as u64, "EM steps");
        let (model, report) = start
            .fit(data.samples(), &s.em, &mut |step, _| {
                progress.set(step as u64)
            })
            .map_err(failed)?;
        Ok(Fitted {
            model: AnyModel::Hmog(model),
            likelihood: Likelihood {
                average: report.log_likelihood,
                method: LikelihoodMethod::Exact,
                std_err: None,
            },
            iterations: report.iterations,
            converged: Some(report.converged),
            details: json!({
                "components": s.components,
                "latent_dim": s.latent_dim,
                "covariance": s.covariance.name(),
                "reg_covar": s.em.reg_covar,
                "tol": s.em.tol,
                "seed": s.seed,
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        })
    }
}

/// Scores data under a saved HMoG: `log p(x)`, `p(z = k | x)` and the most probable `k`.
pub(super) fn score(model: &Hmog, data: &DataFile, _: &ScoreSettings) -> Result<Scores, CliError> {
    data.check_width(model.observable().data_dim(), KIND_HMOG)?;
    let failed = |e: HarmoniumError| CliError::scoring(KIND_HMOG, data, e);
    let log_prob = model.score_samples(data.samples()).map_err(failed)?;
    let k = model.components();
    let proba = model.predict_proba(data.samples()).map_err(failed)?;
    let labels = model.predict(data.samples()).map_err(failed)?;
    Ok(Scores {
        log_prob,
        method: LikelihoodMethod::Exact,
        std_err: None,
        arrays: vec![
            ScoreArray::soft_assignments(proba, k),
            ScoreArray::labels(&labels),
        ],
    })
}
