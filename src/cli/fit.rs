//! `blockgibbs fit KIND DATA`: the driver shared by every model kind (see [`super::kinds`]
//! for the kinds and how to add one).
//!
//! Order of work, so that mistakes cost nothing: options against the kind, output paths
//! against the inputs, then the data, then the fit. The model is saved atomically
//! (temporary file, then rename, by `AnyModel::save`), the `--json` file likewise, and the
//! JSON line is printed on stdout only once both are in place.

use super::kinds::{Fitted, Kind, LikelihoodMethod, ModelKind};
use super::options::FitOptions;
use super::paths::{Output, check_outputs};
use super::progress::Progress;
use super::{CliError, json_line, write_json_line};
use crate::data::DataFile;
use clap::Args;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `fit`.
#[derive(Debug, Clone, Args)]
pub struct FitArgs {
    /// The model kind.
    #[arg(value_enum, value_name = "KIND")]
    pub kind: ModelKind,
    /// The data: a .npy (2-D, or 1-D for one feature) or .csv matrix, one row per sample.
    #[arg(value_name = "DATA")]
    pub data: PathBuf,
    /// The model's settings (each kind reads some of them; see below).
    #[command(flatten)]
    pub options: FitOptions,
    /// Where to write the fitted model, a safetensors file (default:
    /// `<DATA stem>.<KIND>.safetensors` in the current directory). Never the data file.
    #[arg(long, value_name = "MODEL")]
    pub out: Option<PathBuf>,
    /// Also write the JSON line to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// No progress bar (it is only drawn when stderr is a terminal anyway).
    #[arg(long, short)]
    pub quiet: bool,
}

impl FitArgs {
    /// The model path: `--out`, or `<DATA stem>.<kind>.safetensors` in the current
    /// directory.
    pub fn out_path(&self, kind: &str) -> PathBuf {
        self.out.clone().unwrap_or_else(|| {
            let stem = self
                .data
                .file_stem()
                .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
            PathBuf::from(format!("{stem}.{kind}.safetensors"))
        })
    }
}

/// The JSON line of `fit`.
#[derive(Debug, Serialize)]
struct FitLine<'a> {
    /// The kind, as typed.
    model: &'static str,
    /// Average `log p(x)` per sample of the training data.
    avg_log_likelihood: f64,
    /// `exact`, or the estimator.
    log_likelihood_method: LikelihoodMethod,
    /// Standard error of an estimate; null when exact.
    log_likelihood_std_err: Option<f64>,
    /// Iterations run.
    iterations: usize,
    /// Whether the convergence test passed; null for methods without one.
    converged: Option<bool>,
    /// Rows of the data.
    samples: usize,
    /// Columns of the data.
    features: usize,
    /// Wall time of fitting and evaluating.
    seconds: f64,
    /// The model file written.
    out: String,
    /// The data file read.
    data: String,
    /// The `kind` of the model file (what `score` will find in it).
    file_kind: &'static str,
    /// Kind-specific fields.
    #[serde(flatten)]
    details: &'a serde_json::Map<String, serde_json::Value>,
}

/// `blockgibbs fit`.
pub(super) fn fit(args: &FitArgs) -> Result<(), CliError> {
    (args.kind.spec().run)(args)
}

/// `blockgibbs fit` for the kind `K`.
pub(crate) fn fit_with<K: Kind>(args: &FitArgs) -> Result<(), CliError> {
    args.kind.spec().check_applicable(&args.options)?;
    let settings = K::settings(&args.options)?;
    let out = args.out_path(K::NAME);
    let mut outputs = vec![Output {
        label: "--out".into(),
        path: &out,
    }];
    if let Some(json) = &args.json {
        outputs.push(Output {
            label: "--json".into(),
            path: json,
        });
    }
    check_outputs(&outputs, &[("data file", &args.data)])?;
    let data = DataFile::read(&args.data)?;
    let progress = Progress::new(args.quiet);
    let start = Instant::now();
    let fitted = K::fit(&settings, &data, &progress)?;
    let seconds = start.elapsed().as_secs_f64();
    progress.finish();
    check_finite(&fitted, K::NAME, &data)?;
    fitted
        .model
        .save(&out)
        .map_err(|source| CliError::SaveModel {
            path: out.clone(),
            source: Box::new(source),
        })?;
    let line = json_line(&FitLine {
        model: K::NAME,
        avg_log_likelihood: fitted.likelihood.average,
        log_likelihood_method: fitted.likelihood.method,
        log_likelihood_std_err: fitted.likelihood.std_err,
        iterations: fitted.iterations,
        converged: fitted.converged,
        samples: data.rows(),
        features: data.cols(),
        seconds,
        out: display(&out),
        data: display(&args.data),
        file_kind: fitted.model.kind(),
        details: &fitted.details,
    })?;
    if let Some(path) = &args.json {
        write_json_line(path, &line)?;
    }
    println!("{line}");
    Ok(())
}

/// Refuses a non-finite average log-likelihood (JSON would print it as `null`).
fn check_finite(fitted: &Fitted, kind: &'static str, data: &DataFile) -> Result<(), CliError> {
    if fitted.likelihood.average.is_finite() {
        return Ok(());
    }
    Err(CliError::NonFiniteLikelihood {
        kind,
        data: data.path().to_path_buf(),
        value: fitted.likelihood.average,
    })
}

/// A path as printed in JSON.
pub(super) fn display(path: &Path) -> String {
    path.display().to_string()
}
