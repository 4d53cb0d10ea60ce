//! The model kinds of `blockgibbs fit` and the model files `blockgibbs score` reads: the
//! one place where a model family meets the command line.
//!
//! # Adding a model kind
//!
//! A kind is one module here (`gmm.rs`, say) holding a unit struct that implements
//! [`Kind`] and a `score` function, plus three one-line additions in this file:
//!
//! 1. `mod gmm;` and a variant of [`ModelKind`] whose doc comment is its line in
//!    `fit --help` (clap spells `Gmm` as `gmm`; [`Kind::NAME`] must match, a test checks);
//! 2. its arm in [`ModelKind::spec`]: `ModelKind::Gmm => KindSpec::of::<gmm::Gmm>(),`;
//! 3. its arm in [`score`]: `AnyModel::Mixture(m) => gmm::score(m, data, settings),`
//!    (one per `AnyModel` variant the kind saves: `fa` and `ppca` are two).
//!
//! and, if the model has its own error type, a variant of [`KindError`]
//! (`Mixture(#[from] MixtureError)`). The driver ([`super::fit`]) does everything else:
//! option checks, output-path checks, reading the data, the progress bar, timing, the
//! atomic save through `AnyModel::save`, the JSON line and `--json`.
//!
//! What [`Kind`] asks for:
//!
//! - [`Kind::OPTIONS`]: the [`FitOption`]s the kind reads, each with its meaning for this
//!   kind (listed in `fit --help`). Any other option given is refused with
//!   [`UsageError::NotApplicable`] before the data are read; [`Kind::HINTS`] adds a pointer
//!   for options users reach for by mistake (an RBM's `--components` → `--latent-dim`).
//! - [`Kind::settings`]: reads those options (clap has already range-checked them), applies
//!   the kind's defaults and returns [`UsageError::Missing`] for a required one. It sees no
//!   data, so option mistakes are reported instantly.
//! - [`Kind::fit`]: checks the data against the model first — values outside the support
//!   with [`DataFile::check_support`], too few samples (e.g. fewer than components) with
//!   [`DataFile::require_rows`] — so that the error names the file's line and column; then
//!   fits with a progress callback (`progress.start(max_iter, "EM steps")`, then
//!   `progress.set(step)` after each step) and returns a [`Fitted`]: the model as an
//!   [`AnyModel`], the average log-likelihood per sample of the training data and how it
//!   was computed ([`Likelihood`]: exact, or an estimate with its standard error — an
//!   estimate is never labelled exact), the iterations run, convergence (`None` where the
//!   method has no convergence test) and any extra JSON fields. Model errors go through
//!   [`CliError::fitting`]; a model error that names a row (a singular component, say) is
//!   best re-raised as a [`DataFileError`](crate::data::DataFileError) at
//!   `data.location(row, col)`.
//!
//! The `score` function of a kind checks the data's width ([`DataFile::check_width`]) and
//! support, and returns [`Scores`]: `log p(x)` per sample and the arrays the model has.
//! Names are shared so that scripts can rely on them:
//!
//! | file               | shape    | dtype | written for                                      |
//! |--------------------|----------|-------|--------------------------------------------------|
//! | `log_prob.npy`     | `[n]`    | f64   | every model: `log p(x)` of each sample           |
//! | `proba.npy`        | `[n, K]` | f64   | categorical latents (gmm, hmog): `p(c = k \| x)` ([`ScoreArray::soft_assignments`]) |
//! | `labels.npy`       | `[n]`    | i64   | categorical latents: the most probable `k` ([`ScoreArray::labels`]) |
//! | `latent_mean.npy`  | `[n, D]` | f64   | vector latents (fa, ppca, hmog): `E[z \| x]`      |
//! | `hidden_probs.npy` | `[n, H]` | f64   | binary_rbm: `p(h_j = 1 \| x)`, one column per hidden unit |
//!
//! A kind for a model with an EM fit, as `hmog` looks on top of the merged models (branch
//! `h-cli-kinds` has it, with `fa` and `ppca`, compiled and tested):
//!
//! ```text
//! pub(crate) struct HmogKind;
//! impl Kind for HmogKind {
//!     const NAME: &'static str = "hmog";
//!     const OPTIONS: &'static [(FitOption, &'static str)] = &[
//!         (FitOption::Components, "mixture components over the factors (required, ≥ 2)"),
//!         (FitOption::LatentDim, "factors (required)"),
//!         (FitOption::MaxIter, "EM steps (default 200)"),
//!         (FitOption::Seed, "k-means++ seeds of the components (default 0)"),
//!         …
//!     ];
//!     type Settings = HmogSettings;             // the kind's own struct
//!     fn settings(options: &FitOptions) -> Result<HmogSettings, UsageError> {
//!         Ok(HmogSettings {
//!             components: options.components.ok_or(UsageError::Missing {
//!                 option: FitOption::Components, kind: Self::NAME,
//!                 meaning: "the number of mixture components" })?,
//!             max_iter: options.max_iter.unwrap_or(200), …
//!         })
//!     }
//!     fn fit(s: &HmogSettings, data: &DataFile, progress: &Progress) -> Result<Fitted, CliError> {
//!         data.require_rows(s.components, &format!("an hmog of {} components", s.components))?;
//!         let failed = |e: HarmoniumError| CliError::fitting(Self::NAME, data, e);
//!         let start = Hmog::initialize(…, data.samples(), s.seed).map_err(failed)?;
//!         progress.start(s.em.max_iter as u64, "EM steps");
//!         let (model, report) = start
//!             .fit(data.samples(), &s.em, &mut |step, _| progress.set(step as u64))
//!             .map_err(failed)?;
//!         Ok(Fitted {
//!             model: AnyModel::Hmog(model),
//!             likelihood: Likelihood { average: report.log_likelihood,
//!                 method: LikelihoodMethod::Exact, std_err: None },
//!             iterations: report.iterations,
//!             converged: Some(report.converged),
//!             details: json!({ "components": s.components, … }).as_object().cloned().unwrap_or_default(),
//!         })
//!     }
//! }
//!
//! pub(super) fn score(model: &Hmog, data: &DataFile, _: &ScoreSettings) -> Result<Scores, CliError> {
//!     data.check_width(model.observable().data_dim(), KIND_HMOG)?;
//!     // log_prob from score_samples; proba and labels per row
//!     Ok(Scores { log_prob, method: LikelihoodMethod::Exact, std_err: None,
//!         arrays: vec![ScoreArray::soft_assignments(proba, k), ScoreArray::labels(&labels)] })
//! }
//! ```

mod gmm;
mod hmog;
mod lgm;
mod rbm;

use super::CliError;
use super::options::{FitOption, FitOptions, UsageError};
use super::progress::Progress;
use crate::data::DataFile;
use blockgibbs_models::AnyModel;
use blockgibbs_models::rbm::{RbmError, TrainError};
use clap::ValueEnum;
use serde::Serialize;
use std::fmt::Write;
use thiserror::Error;

/// The model kinds `blockgibbs fit` can fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelKind {
    /// Binary restricted Boltzmann machine (0/1 data), trained by persistent contrastive
    /// divergence.
    Rbm,
    /// Factor analysis (diagonal noise), by EM.
    Fa,
    /// Probabilistic PCA (isotropic noise), by EM.
    Ppca,
    /// Gaussian mixture (scikit-learn's GaussianMixture), by EM.
    Gmm,
    /// Hierarchical mixture of Gaussians (a mixture over the factors of a factor model),
    /// goal-jax's analytic variant, by EM.
    Hmog,
}

impl ModelKind {
    /// The kind's entry points and option table.
    pub(crate) fn spec(self) -> KindSpec {
        match self {
            ModelKind::Rbm => KindSpec::of::<rbm::Rbm>(),
            ModelKind::Fa => KindSpec::of::<lgm::Fa>(),
            ModelKind::Ppca => KindSpec::of::<lgm::PpcaKind>(),
            ModelKind::Hmog => KindSpec::of::<hmog::HmogKind>(),
            ModelKind::Gmm => KindSpec::of::<gmm::Gmm>(),
        }
    }
}

/// A model kind of `fit`: its options, their defaults and its fitting.
pub(crate) trait Kind {
    /// The name typed after `fit`.
    const NAME: &'static str;
    /// The options the kind reads, each with what it sets for this kind.
    const OPTIONS: &'static [(FitOption, &'static str)];
    /// Pointers shown when an option the kind does not read is given, each starting with
    /// "; " (e.g. where the setting it was meant for lives).
    const HINTS: &'static [(FitOption, &'static str)] = &[];
    /// The kind's settings, read from the options with its defaults applied.
    type Settings;
    /// Reads [`Kind::OPTIONS`] from `options`; errors for a required option left out.
    fn settings(options: &FitOptions) -> Result<Self::Settings, UsageError>;
    /// Checks `data` against the model, fits it (reporting to `progress`) and evaluates it.
    fn fit(
        settings: &Self::Settings,
        data: &DataFile,
        progress: &Progress,
    ) -> Result<Fitted, CliError>;
}

/// A [`Kind`] seen through plain values and a function pointer, so that [`ModelKind::spec`]
/// is the only match over kinds.
pub(crate) struct KindSpec {
    /// [`Kind::NAME`].
    pub name: &'static str,
    /// [`Kind::OPTIONS`].
    pub options: &'static [(FitOption, &'static str)],
    /// [`Kind::HINTS`].
    pub hints: &'static [(FitOption, &'static str)],
    /// Runs the whole `fit` command for this kind ([`super::fit::fit_with`]).
    pub run: fn(&super::fit::FitArgs) -> Result<(), CliError>,
}

impl KindSpec {
    /// The spec of kind `K`.
    fn of<K: Kind>() -> KindSpec {
        KindSpec {
            name: K::NAME,
            options: K::OPTIONS,
            hints: K::HINTS,
            run: super::fit::fit_with::<K>,
        }
    }

    /// Errors for the first option given that this kind does not read.
    pub(crate) fn check_applicable(&self, options: &FitOptions) -> Result<(), UsageError> {
        let reads = |o: FitOption| self.options.iter().any(|&(r, _)| r == o);
        match FitOption::ALL
            .into_iter()
            .find(|&o| options.given(o) && !reads(o))
        {
            Some(option) => Err(UsageError::NotApplicable {
                option,
                kind: self.name,
                hint: self
                    .hints
                    .iter()
                    .find(|&&(h, _)| h == option)
                    .map_or_else(String::new, |&(_, text)| text.to_string()),
            }),
            None => Ok(()),
        }
    }
}

/// The model kinds and their options, for `fit --help`.
pub(crate) fn help() -> String {
    let mut out = String::from("Model kinds and the options they read:\n");
    for kind in ModelKind::value_variants() {
        let spec = kind.spec();
        let about = kind
            .to_possible_value()
            .and_then(|v| v.get_help().map(ToString::to_string))
            .unwrap_or_default();
        let _ = writeln!(out, "\n  {}: {about}", spec.name);
        for (option, meaning) in spec.options {
            let _ = writeln!(out, "    {:<16} {meaning}", option.flag());
        }
    }
    out.push_str(
        "\nAn option a kind does not read is an error. The JSON line on stdout has model, \
         avg_log_likelihood (per sample, on the training data), log_likelihood_method \
         (exact or an estimate such as ais), log_likelihood_std_err (null when exact), \
         iterations, converged (null where there is no convergence test), samples, \
         features, seconds, out, data and kind-specific fields.",
    );
    out
}

/// How an average log-likelihood was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LikelihoodMethod {
    /// Exactly (closed form or enumeration), up to rounding.
    Exact,
    /// Annealed importance sampling estimate of the log partition function; the free
    /// energies themselves are exact, so the standard error is that of `log Z`.
    Ais,
}

/// An average log-likelihood per sample and how it was obtained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Likelihood {
    /// `(1/n) Σ log p(x_i)`.
    pub average: f64,
    /// How.
    pub method: LikelihoodMethod,
    /// Standard error of an estimate; `None` when exact.
    pub std_err: Option<f64>,
}

/// What a kind's fit returns to the driver.
#[derive(Debug)]
pub(crate) struct Fitted {
    /// The fitted model, saved by the driver.
    pub model: AnyModel,
    /// Average log-likelihood of the training data.
    pub likelihood: Likelihood,
    /// Iterations run (EM steps, epochs).
    pub iterations: usize,
    /// Whether the convergence test passed; `None` for methods without one.
    pub converged: Option<bool>,
    /// Extra fields of the JSON line, e.g. the settings used.
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// Settings of `score` that a model may need (e.g. the seed of an AIS estimate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScoreSettings {
    /// Seed of any estimate.
    pub seed: u64,
}

/// The values of a [`ScoreArray`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ArrayValues {
    /// Real values, written as `<f8`.
    F64(Vec<f64>),
    /// Integers (labels), written as `<i8`.
    I64(Vec<i64>),
}

/// One array `score` writes besides `log_prob.npy`, as `{name}.npy`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScoreArray {
    /// File stem, e.g. `proba`.
    pub name: &'static str,
    /// Shape (row-major).
    pub shape: Vec<u64>,
    /// Values.
    pub values: ArrayValues,
}

impl ScoreArray {
    /// An `n × cols` real matrix, row-major.
    pub fn matrix(name: &'static str, values: Vec<f64>, cols: usize) -> ScoreArray {
        let rows = values.len().checked_div(cols).unwrap_or(0);
        ScoreArray {
            name,
            shape: vec![rows as u64, cols as u64],
            values: ArrayValues::F64(values),
        }
    }

    /// `proba.npy`: `p(c = k | x)`, `n × k` row-major.
    pub fn soft_assignments(proba: Vec<f64>, k: usize) -> ScoreArray {
        ScoreArray::matrix("proba", proba, k)
    }

    /// `labels.npy`: the most probable component of each sample.
    pub fn labels(labels: &[usize]) -> ScoreArray {
        ScoreArray {
            name: "labels",
            shape: vec![labels.len() as u64],
            values: ArrayValues::I64(labels.iter().map(|&l| l as i64).collect()),
        }
    }
}

/// What a model's scoring returns to the driver.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scores {
    /// `log p(x)` of every sample.
    pub log_prob: Vec<f64>,
    /// How `log_prob` was computed.
    pub method: LikelihoodMethod,
    /// Standard error shared by every `log_prob` (that of an estimated `log Z`); `None`
    /// when exact.
    pub std_err: Option<f64>,
    /// The other arrays (see the table in the [module docs](self)).
    pub arrays: Vec<ScoreArray>,
}

/// Scores `data` under any model file `score` knows.
pub(crate) fn score(
    model: &AnyModel,
    data: &DataFile,
    settings: &ScoreSettings,
) -> Result<Scores, CliError> {
    match model {
        AnyModel::Rbm(m) => rbm::score(m, data, settings),
        AnyModel::FactorAnalysis(m) => lgm::score_fa(m, model.kind(), data, settings),
        AnyModel::Ppca(m) => lgm::score_ppca(m, model.kind(), data, settings),
        AnyModel::Hmog(m) => hmog::score(m, data, settings),
        AnyModel::Mixture(m) => gmm::score(m, data, settings),
        other => Err(CliError::NotScorable { kind: other.kind() }),
    }
}

/// The errors of the models behind the kinds, one variant per model error type.
#[derive(Debug, Error)]
pub enum KindError {
    /// Binary RBM parameters or evaluation.
    #[error(transparent)]
    Rbm(#[from] RbmError),
    /// Binary RBM training.
    #[error(transparent)]
    RbmTraining(#[from] TrainError),
    /// Factor analysis and PPCA.
    #[error(transparent)]
    Lgm(#[from] blockgibbs_models::lgm::LgmError),
    /// Gaussian mixtures.
    #[error(transparent)]
    Mixture(#[from] blockgibbs_models::mixture::MixtureError),
    /// Harmoniums, hierarchical mixtures among them.
    #[error(transparent)]
    Harmonium(#[from] blockgibbs_models::harmonium::HarmoniumError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::CommandFactory;

    #[test]
    fn every_kind_is_named_as_clap_spells_it_and_reads_only_real_flags() {
        let cli = Cli::command();
        let fit = cli.find_subcommand("fit").expect("fit subcommand");
        let flags: Vec<String> = fit
            .get_arguments()
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect();
        for kind in ModelKind::value_variants() {
            let spec = kind.spec();
            assert_eq!(
                kind.to_possible_value().unwrap().get_name(),
                spec.name,
                "{kind:?}"
            );
            for (option, _) in spec.options.iter().chain(spec.hints) {
                assert!(
                    flags.iter().any(|f| f == option.flag()),
                    "{}",
                    option.flag()
                );
            }
            assert!(help().contains(&format!("  {}: ", spec.name)));
        }
        for option in FitOption::ALL {
            assert!(
                flags.iter().any(|f| f == option.flag()),
                "{}",
                option.flag()
            );
        }
    }

    #[test]
    fn options_a_kind_does_not_read_are_refused_with_its_hint() {
        let spec = ModelKind::Rbm.spec();
        let options = FitOptions {
            components: Some(3),
            ..FitOptions::default()
        };
        let e = spec.check_applicable(&options).unwrap_err();
        assert!(matches!(
            e,
            UsageError::NotApplicable {
                option: FitOption::Components,
                kind: "rbm",
                ..
            }
        ));
        assert!(e.to_string().contains("--latent-dim"), "{e}");
        let fine = FitOptions {
            latent_dim: Some(3),
            seed: Some(1),
            ..FitOptions::default()
        };
        assert!(spec.check_applicable(&fine).is_ok());
    }

    #[test]
    fn score_arrays_have_the_documented_names_and_shapes() {
        let p = ScoreArray::soft_assignments(vec![0.25, 0.75, 1.0, 0.0, 0.5, 0.5], 2);
        assert_eq!((p.name, p.shape.as_slice()), ("proba", &[3u64, 2][..]));
        let l = ScoreArray::labels(&[1, 0, 0]);
        assert_eq!(l.name, "labels");
        assert_eq!(l.values, ArrayValues::I64(vec![1, 0, 0]));
    }
}
