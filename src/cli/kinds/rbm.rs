//! `fit rbm`: a binary restricted Boltzmann machine trained by PCD-1 with SGD from Hinton's
//! initialisation ([`blockgibbs_models::rbm::fit`]), and the scoring of `binary_rbm` files.
//!
//! The hidden units are `--latent-dim`: the hidden layer is the model's vector latent, and
//! `--components` is kept for categorical latents (mixtures). `--max-iter` is the number of
//! epochs: training has no convergence test, so `converged` is `null`.
//!
//! The log-likelihood `log p(v) = −F(v) − log Z` has an exact free energy `F`; `log Z` is
//! exact when the smaller layer has at most [`MAX_EXACT_UNITS`] units (enumeration) and an
//! annealed-importance-sampling estimate otherwise (100 runs, 1,000 linear steps, seeded by
//! `--seed`), reported as `"ais"` with the standard error of `log Z`. `fit` and `score` use
//! the same computation, so scoring the training data with the same seed reproduces the
//! fitted average exactly.

use super::{
    Fitted, Kind, KindError, Likelihood, LikelihoodMethod, ScoreArray, ScoreSettings, Scores,
};
use crate::backend::EngineChoice;
use crate::cli::CliError;
use crate::cli::options::{FitOption, FitOptions, UsageError};
use crate::cli::progress::Progress;
use crate::data::DataFile;
use blockgibbs_models::AnyModel;
use blockgibbs_models::io::KIND_RBM;
use blockgibbs_models::optim::{LrSchedule, Method};
use blockgibbs_models::rbm::{
    AisOptions, BinaryRbm, EpochReport, MAX_EXACT_UNITS, Penalty, RbmError, Sampling, TrainOptions,
    ais_log_partition, fit, hinton_init, log_partition,
};
use serde_json::json;

/// Epochs when `--max-iter` is not given (as the digits example).
const DEFAULT_EPOCHS: usize = 100;
/// SGD learning rate when `--learning-rate` is not given.
const DEFAULT_LEARNING_RATE: f64 = 0.05;
/// Mini-batch size when `--batch-size` is not given.
const DEFAULT_BATCH_SIZE: usize = 20;
/// Persistent fantasy particles of PCD.
const PCD_CHAINS: usize = 100;
/// What the data must be.
const BINARY: &str = "an rbm needs binary data (0 or 1)";

/// `fit rbm`.
pub(crate) struct Rbm;

/// The settings of `fit rbm`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RbmSettings {
    hidden: usize,
    epochs: usize,
    learning_rate: f64,
    batch_size: usize,
    seed: u64,
    backend: EngineChoice,
}

impl Kind for Rbm {
    const NAME: &'static str = "rbm";
    const OPTIONS: &'static [(FitOption, &'static str)] = &[
        (FitOption::LatentDim, "hidden units (required)"),
        (
            FitOption::MaxIter,
            "epochs (default 100; no convergence test)",
        ),
        (FitOption::LearningRate, "SGD learning rate (default 0.05)"),
        (FitOption::BatchSize, "samples per mini-batch (default 20)"),
        (
            FitOption::Seed,
            "initialisation, shuffling, Gibbs sampling and AIS (default 0)",
        ),
        (
            FitOption::Backend,
            "kernels of the PCD and AIS sweeps (default: the best; same model on every one)",
        ),
    ];
    const HINTS: &'static [(FitOption, &'static str)] = &[
        (
            FitOption::Components,
            "; the hidden units of an rbm are set with --latent-dim",
        ),
        (
            FitOption::Tol,
            "; rbm training runs --max-iter epochs and has no convergence test",
        ),
    ];
    type Settings = RbmSettings;

    fn settings(options: &FitOptions) -> Result<RbmSettings, UsageError> {
        Ok(RbmSettings {
            hidden: options.latent_dim.ok_or(UsageError::Missing {
                option: FitOption::LatentDim,
                kind: Self::NAME,
                meaning: "the number of hidden units",
            })?,
            epochs: options.max_iter.unwrap_or(DEFAULT_EPOCHS),
            learning_rate: options.learning_rate.unwrap_or(DEFAULT_LEARNING_RATE),
            batch_size: options.batch_size.unwrap_or(DEFAULT_BATCH_SIZE),
            seed: options.seed_or_default(),
            backend: options.backend_or_default(),
        })
    }

    fn fit(s: &RbmSettings, data: &DataFile, progress: &Progress) -> Result<Fitted, CliError> {
        data.check_support(|v| v == 0.0 || v == 1.0, BINARY)?;
        let failed = |e: KindError| CliError::fitting(Self::NAME, data, e);
        let x = data.to_f32();
        let mut rbm =
            hinton_init(data.cols(), s.hidden, &x, s.seed).map_err(|e| failed(e.into()))?;
        let options = TrainOptions {
            sampling: Sampling::Pcd {
                k: 1,
                chains: PCD_CHAINS,
            },
            penalty: Penalty::default(),
            method: Method::Sgd,
            lr: LrSchedule::Constant(s.learning_rate),
            epochs: s.epochs,
            batch_size: s.batch_size,
            seed: s.seed,
            backend: s.backend,
        };
        progress.start(s.epochs as u64, "epochs");
        let mut report = |r: &EpochReport, _: &BinaryRbm| progress.set(r.epoch as u64);
        let reports =
            fit(&mut rbm, &x, &options, Some(&mut report)).map_err(|e| failed(e.into()))?;
        progress.message("log-likelihood");
        let (log_z, method, std_err) = partition(&rbm, s.seed, s.backend).map_err(failed)?;
        let log_prob = log_probs(&rbm, &x, log_z).map_err(|e| failed(e.into()))?;
        Ok(Fitted {
            likelihood: Likelihood {
                average: log_prob.iter().sum::<f64>() / log_prob.len() as f64,
                method,
                std_err,
            },
            iterations: reports.len(),
            converged: None,
            details: json!({
                "latent_dim": s.hidden,
                "learning_rate": s.learning_rate,
                "batch_size": s.batch_size,
                "pcd_chains": PCD_CHAINS,
                "seed": s.seed,
                "log_z": log_z,
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
            model: AnyModel::Rbm(rbm),
        })
    }
}

/// `log Z`, how it was computed and its standard error: exact by enumeration when the
/// smaller layer has at most [`MAX_EXACT_UNITS`] units, else by AIS seeded with `seed` on
/// `backend`.
fn partition(
    rbm: &BinaryRbm,
    seed: u64,
    backend: EngineChoice,
) -> Result<(f64, LikelihoodMethod, Option<f64>), KindError> {
    if rbm.n_visible().min(rbm.n_hidden()) <= MAX_EXACT_UNITS {
        return Ok((log_partition(rbm)?, LikelihoodMethod::Exact, None));
    }
    let ais = ais_log_partition(
        rbm,
        &AisOptions {
            seed,
            backend,
            ..AisOptions::default()
        },
    )?;
    if !ais.log_z.is_finite() {
        return Err(RbmError::NonFinite {
            field: "log_z",
            index: 0,
            value: ais.log_z as f32,
        }
        .into());
    }
    Ok((ais.log_z, LikelihoodMethod::Ais, Some(ais.std_err)))
}

/// `log p(v) = −F(v) − log Z` of every row of binary `x`, in `f64`.
fn log_probs(rbm: &BinaryRbm, x: &[f32], log_z: f64) -> Result<Vec<f64>, RbmError> {
    x.chunks_exact(rbm.n_visible())
        .map(|v| Ok(-rbm.free_energy_visible(v)? - log_z))
        .collect()
}

/// Scores binary data under a `binary_rbm`: `log p(v)` and the hidden-unit posteriors
/// `p(h_j = 1 | v)` (`hidden_probs.npy`, `[n, n_hidden]`).
pub(super) fn score(
    rbm: &BinaryRbm,
    data: &DataFile,
    settings: &ScoreSettings,
) -> Result<Scores, CliError> {
    data.check_width(rbm.n_visible(), KIND_RBM)?;
    data.check_support(|v| v == 0.0 || v == 1.0, BINARY)?;
    let failed = |e: KindError| CliError::scoring(KIND_RBM, data, e);
    let x = data.to_f32();
    let (log_z, method, std_err) =
        partition(rbm, settings.seed, EngineChoice::Auto).map_err(failed)?;
    let mut hidden = Vec::with_capacity(data.rows() * rbm.n_hidden());
    for v in x.chunks_exact(rbm.n_visible()) {
        hidden.extend(rbm.hidden_probs(v).map_err(|e| failed(e.into()))?);
    }
    Ok(Scores {
        log_prob: log_probs(rbm, &x, log_z).map_err(|e| failed(e.into()))?,
        method,
        std_err,
        arrays: vec![ScoreArray::matrix("hidden_probs", hidden, rbm.n_hidden())],
    })
}
