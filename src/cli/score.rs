//! `blockgibbs score MODEL DATA`: per-sample `log p(x)` and the model's assignments under
//! any model file a kind can score (see [`super::kinds`] for what each writes).
//!
//! Every array is written atomically into `--out-dir` (`log_prob.npy` and the kind's
//! others); none may be the model or the data file, which is checked before any is
//! written. The JSON line goes to stdout (and `--json`) after the arrays.

use super::fit::display;
use super::kinds::{self, ArrayValues, LikelihoodMethod, ScoreSettings, Scores};
use super::paths::{Output, check_destination, check_outputs};
use super::{CliError, json_line, write_json_line};
use crate::data::DataFile;
use crate::output;
use blockgibbs_models::AnyModel;
use clap::Args;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The files of `score`, for `score --help`.
pub(super) const FILES_HELP: &str = "Files written into --out-dir (f64 unless said):
  log_prob.npy      [n]     log p(x) of every sample (every model)
  hidden_probs.npy  [n, H]  binary_rbm: p(h_j = 1 | x) of every hidden unit
  proba.npy         [n, K]  models with mixture components: p(component k | x)
  labels.npy        [n]     models with mixture components: the most probable k (int64)
  latent_mean.npy   [n, D]  models with a vector latent (factor models): E[z | x]

The JSON line has model (the file's kind), avg_log_likelihood (the mean of log_prob.npy),
log_likelihood_method (exact, or an estimate such as ais, whose standard error is
log_likelihood_std_err), samples, features, seconds, model_file, data and files.";

/// Arguments of `score`.
#[derive(Debug, Clone, Args)]
pub struct ScoreArgs {
    /// A model file written by `fit` (or any `binary_rbm` safetensors file).
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// The data: a .npy or .csv matrix, one row per sample, as many columns as the model
    /// has features.
    #[arg(value_name = "DATA")]
    pub data: PathBuf,
    /// Directory to write `log_prob.npy` and the model's other arrays into (default: the
    /// current directory).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Also write the JSON line to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Seed of estimates (e.g. AIS for an RBM too large to enumerate; default 0, the
    /// default of `fit` too).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

/// The JSON line of `score`.
#[derive(Debug, Serialize)]
struct ScoreLine {
    /// The `kind` of the model file.
    model: &'static str,
    /// Mean of `log_prob.npy`.
    avg_log_likelihood: f64,
    /// `exact`, or the estimator.
    log_likelihood_method: LikelihoodMethod,
    /// Standard error of an estimate; null when exact.
    log_likelihood_std_err: Option<f64>,
    /// Rows of the data.
    samples: usize,
    /// Columns of the data.
    features: usize,
    /// Wall time of scoring.
    seconds: f64,
    /// The model file read.
    model_file: String,
    /// The data file read.
    data: String,
    /// Each array written: its name (e.g. `log_prob`) → path.
    files: BTreeMap<&'static str, String>,
}

/// `blockgibbs score`.
pub(super) fn score(args: &ScoreArgs) -> Result<(), CliError> {
    let dir = args.out_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    check_destination(&dir.join("log_prob.npy"))?;
    let model = AnyModel::load(&args.model).map_err(|source| CliError::LoadModel {
        path: args.model.clone(),
        source: Box::new(source),
    })?;
    let data = DataFile::read(&args.data)?;
    let settings = ScoreSettings {
        seed: args.seed.unwrap_or(0),
    };
    let start = Instant::now();
    let scores = kinds::score(&model, &data, &settings)?;
    let seconds = start.elapsed().as_secs_f64();
    let n = data.rows();
    if let Some(i) = scores.log_prob.iter().position(|v| !v.is_finite()) {
        return Err(CliError::NonFiniteScore {
            kind: model.kind(),
            location: data.location(i, 0).to_string(),
            data: data.path().to_path_buf(),
            value: scores.log_prob[i],
        });
    }
    let paths = array_paths(&dir, &scores);
    let mut outputs: Vec<Output<'_>> = paths
        .iter()
        .map(|(name, path)| Output {
            label: format!("{name}.npy"),
            path,
        })
        .collect();
    if let Some(json) = &args.json {
        outputs.push(Output {
            label: "--json".into(),
            path: json,
        });
    }
    check_outputs(
        &outputs,
        &[("model file", &args.model), ("data file", &args.data)],
    )?;
    write_arrays(&paths, &scores, n)?;
    let line = json_line(&ScoreLine {
        model: model.kind(),
        avg_log_likelihood: scores.log_prob.iter().sum::<f64>() / n as f64,
        log_likelihood_method: scores.method,
        log_likelihood_std_err: scores.std_err,
        samples: n,
        features: data.cols(),
        seconds,
        model_file: display(&args.model),
        data: display(&args.data),
        files: paths
            .iter()
            .map(|(name, path)| (*name, display(path)))
            .collect(),
    })?;
    if let Some(path) = &args.json {
        write_json_line(path, &line)?;
    }
    println!("{line}");
    Ok(())
}

/// `log_prob` and every other array, each with its path in `dir`.
fn array_paths(dir: &Path, scores: &Scores) -> Vec<(&'static str, PathBuf)> {
    std::iter::once("log_prob")
        .chain(scores.arrays.iter().map(|a| a.name))
        .map(|name| (name, dir.join(format!("{name}.npy"))))
        .collect()
}

/// Writes `log_prob.npy` (`[n]`) and the other arrays to `paths` (as [`array_paths`]).
fn write_arrays(
    paths: &[(&'static str, PathBuf)],
    scores: &Scores,
    n: usize,
) -> Result<(), CliError> {
    let mut paths = paths.iter().map(|(_, p)| p);
    if let Some(path) = paths.next() {
        output::write_npy_f64(path, &[n as u64], &scores.log_prob)?;
    }
    for (array, path) in scores.arrays.iter().zip(paths) {
        match &array.values {
            ArrayValues::F64(v) => output::write_npy_f64(path, &array.shape, v)?,
            ArrayValues::I64(v) => output::write_npy_i64(path, &array.shape, v)?,
        }
    }
    Ok(())
}
