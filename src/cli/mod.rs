//! The `blockgibbs` command line: `sample`, `info` and `bench` on TOML model files; `fit`
//! and `score` of models on data files (`src/cli/kinds/mod.rs` lists the model kinds and
//! explains how to add one).
//!
//! `src/main.rs` only calls [`main`]; everything else lives here so that it can be tested.
//! Exit status: 0 on success, 2 for a command line that cannot run as given (clap's parse
//! errors and [`UsageError`]s), 130 for a `sample` or `resume` stopped by Ctrl-C or SIGTERM
//! (after writing its checkpoint and partial outputs), 1 for every other error.

mod fit;
mod info;
mod interrupt;
mod kinds;
mod options;
mod paths;
mod progress;
mod report;
mod resume;
mod run;
mod score;
mod session;

pub use crate::backend::BackendChoice;
pub use fit::FitArgs;
pub use interrupt::INTERRUPTED_STATUS;
pub use kinds::{KindError, ModelKind};
pub use options::{FitOption, FitOptions, UsageError};
pub use resume::ResumeArgs;
pub use score::ScoreArgs;

use crate::data::{DataFile, DataFileError};
use crate::model_file::ModelFileError;
use crate::output::OutputError;
use blockgibbs_compiler::CompileError;
use blockgibbs_ir::{MemoryLimit, ModelError};
use blockgibbs_models::ModelIoError;
use blockgibbs_runtime::{CheckpointError, RuntimeError};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use thiserror::Error;

/// Block-Gibbs sampling of factor graphs described by TOML model files, and fitting and
/// scoring of models on data files.
#[derive(Debug, Parser)]
#[command(name = "blockgibbs", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the model file's schedule and print the observables (mean ± standard error).
    /// Ctrl-C stops after the current sweep, writes the checkpoint (with --checkpoint) and
    /// the outputs so far (marked "partial" in --stats) and exits with status 130; a second
    /// Ctrl-C exits at once.
    Sample(SampleArgs),
    /// Continue a run from its checkpoint (`sample --checkpoint`) on any backend and thread
    /// count, and write the outputs the uninterrupted run would have written.
    Resume(ResumeArgs),
    /// Describe the model: nodes, factors, blocks and colours, memory of the lowered program.
    Info(ModelArgs),
    /// Run the schedule without observers and print one JSON line of timings.
    Bench(RunArgs),
    /// Fit a model to a .npy or .csv data matrix, save it, and print one JSON line (average
    /// log-likelihood, iterations, convergence, …).
    #[command(after_long_help = kinds::help())]
    Fit(FitArgs),
    /// Score a data matrix under a saved model: print the average log-likelihood as one
    /// JSON line and write per-sample log p(x) (and the model's assignments) as .npy.
    #[command(after_long_help = score::FILES_HELP)]
    Score(ScoreArgs),
}

/// The model file and its overrides.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// The TOML model file.
    pub model: PathBuf,
    /// Override a key of the file by dotted path, e.g. `--set model.L=64` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Most memory the model, its program and the chains may take, e.g. `4GiB`, `512MB` or a
    /// number of bytes (default: the memory available). Estimated from the model's sizes
    /// before anything is allocated; a larger need is an error naming the key that made it.
    #[arg(long, value_name = "BYTES", value_parser = memory_limit)]
    pub max_memory: Option<MemoryLimit>,
}

impl ModelArgs {
    /// The memory limit: `--max-memory`, or the memory available.
    pub fn memory_limit(&self) -> MemoryLimit {
        self.max_memory.unwrap_or_else(MemoryLimit::available)
    }
}

/// A `--max-memory` value.
fn memory_limit(text: &str) -> Result<MemoryLimit, String> {
    blockgibbs_ir::memory::parse_bytes(text).map(MemoryLimit::bytes)
}

/// A `--threads` value: at most [`blockgibbs_runtime::max_threads`] (4 per core, at least
/// 1024), so that a mistyped count is an error rather than tens of thousands of threads.
pub(crate) fn thread_count(text: &str) -> Result<usize, String> {
    let n: usize = text.parse().map_err(|e| format!("{e}"))?;
    let max = blockgibbs_runtime::max_threads();
    if n > max {
        return Err(format!(
            "{n} threads are more than the limit of {max} (4 per core, at least 1024)"
        ));
    }
    Ok(n)
}

/// Flags of `sample` and `bench`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The model file and overrides.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Write statistics (observables, node means, run metadata) as JSON.
    #[arg(long, value_name = "STATS.json")]
    pub stats: Option<PathBuf>,
    /// Write the samples as a NumPy .npy array of shape [samples, chains, nodes] (f32).
    #[arg(long, value_name = "SAMPLES.npy")]
    pub out: Option<PathBuf>,
    /// Kernel backend (default: the best available).
    #[arg(long, value_enum)]
    pub backend: Option<BackendChoice>,
    /// Worker threads (default: one per core; at most 4 per core, or 1024).
    #[arg(long, value_name = "N", value_parser = thread_count)]
    pub threads: Option<usize>,
    /// `bench` only: run the reference and the jit backend on the same model in this process
    /// and print both lines and their speed ratio.
    #[arg(long)]
    pub compare: bool,
}

/// Flags of `sample`: those of `bench` and the checkpoint options.
#[derive(Debug, Clone, Args)]
pub struct SampleArgs {
    /// The model file, outputs, backend and threads.
    #[command(flatten)]
    pub run: RunArgs,
    /// Write the whole run to this checkpoint (safetensors, see docs/checkpoint.md) at the
    /// end, on Ctrl-C and every --checkpoint-every sweeps; `blockgibbs resume` continues it.
    #[arg(long, value_name = "RUN.ckpt")]
    pub checkpoint: Option<PathBuf>,
    /// Checkpoint every N sweeps (needs --checkpoint).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: Option<u64>,
    /// Stop after N sweeps, writing the checkpoint and the outputs so far (exit 0; the
    /// statistics say `"partial": true`); needs --checkpoint. For batch jobs with a time
    /// limit: `blockgibbs resume` continues.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_sweeps: Option<u64>,
}

/// Everything that can make a command fail (boxed: the inner errors are large).
#[derive(Debug, Error)]
pub enum CliError {
    /// The model file is invalid.
    #[error(transparent)]
    ModelFile(Box<ModelFileError>),
    /// The model is invalid.
    #[error(transparent)]
    Model(Box<ModelError>),
    /// Compilation rejected the model.
    #[error(transparent)]
    Compile(Box<CompileError>),
    /// Sampling failed.
    #[error(transparent)]
    Runtime(Box<RuntimeError>),
    /// An output file could not be written.
    #[error(transparent)]
    Output(Box<OutputError>),
    /// The command line cannot run as given (exit status 2).
    #[error(transparent)]
    Usage(Box<UsageError>),
    /// A data file is unreadable or holds bad values.
    #[error(transparent)]
    Data(Box<DataFileError>),
    /// A saved model could not be loaded.
    #[error("cannot load model {}: {source}", path.display())]
    LoadModel {
        /// The model file.
        path: PathBuf,
        /// Why.
        source: Box<ModelIoError>,
    },
    /// A fitted model could not be saved.
    #[error("cannot save model {}: {source}", path.display())]
    SaveModel {
        /// The model file.
        path: PathBuf,
        /// Why.
        source: Box<ModelIoError>,
    },
    /// A checkpoint could not be written or read.
    #[error(transparent)]
    Checkpoint(Box<CheckpointError>),
    /// A checkpoint whose command-line document is missing or does not fit.
    #[error("cannot resume {reason}")]
    CheckpointApp {
        /// The file and what is wrong.
        reason: String,
    },
    /// `sample` or `resume` stopped by Ctrl-C or SIGTERM, after writing its checkpoint and
    /// partial outputs (exit status 130).
    #[error("interrupted after {sweeps} of {total} sweeps; the outputs so far are written{}", checkpoint.as_ref().map_or_else(String::new, |p| format!(" and `blockgibbs resume {}` continues", p.display())))]
    Interrupted {
        /// Sweeps done.
        sweeps: u64,
        /// Sweeps of the schedule.
        total: u64,
        /// The checkpoint written, if any.
        checkpoint: Option<PathBuf>,
    },
    /// A model failed while fitting or scoring.
    #[error("{action} {kind} on {}: {source}", data.display())]
    Kind {
        /// `fitting` or `scoring`.
        action: &'static str,
        /// The model kind (`rbm`) or model file kind (`binary_rbm`).
        kind: &'static str,
        /// The data file.
        data: PathBuf,
        /// The model's error.
        source: Box<KindError>,
    },
    /// A model file of a kind `score` cannot score.
    #[error("score cannot score {kind} models (it scores the models `fit` writes)")]
    NotScorable {
        /// The file's kind.
        kind: &'static str,
    },
    /// A fit whose average log-likelihood came out NaN or infinite.
    #[error("fitting {kind} on {}: the average log-likelihood is {value}", data.display())]
    NonFiniteLikelihood {
        /// The model kind.
        kind: &'static str,
        /// The data file.
        data: PathBuf,
        /// The value.
        value: f64,
    },
    /// A sample whose log-likelihood came out NaN or infinite.
    #[error("scoring {kind} on {}: log p(x) at {location} is {value}", data.display())]
    NonFiniteScore {
        /// The model file kind.
        kind: &'static str,
        /// The data file.
        data: PathBuf,
        /// The sample's place in the file.
        location: String,
        /// The value.
        value: f64,
    },
}

impl CliError {
    /// The error of model kind `kind` while fitting `data`.
    pub(crate) fn fitting(kind: &'static str, data: &DataFile, e: impl Into<KindError>) -> Self {
        CliError::Kind {
            action: "fitting",
            kind,
            data: data.path().to_path_buf(),
            source: Box::new(e.into()),
        }
    }

    /// The error of a model of file kind `kind` while scoring `data`.
    pub(crate) fn scoring(kind: &'static str, data: &DataFile, e: impl Into<KindError>) -> Self {
        CliError::Kind {
            action: "scoring",
            kind,
            data: data.path().to_path_buf(),
            source: Box::new(e.into()),
        }
    }

    /// The process exit status: 2 for usage errors (as clap's), 130 after Ctrl-C, 1
    /// otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Interrupted { .. } => INTERRUPTED_STATUS,
            _ => 1,
        }
    }
}

macro_rules! boxed_from {
    ($($variant:ident($ty:ty)),*) => {$(
        impl From<$ty> for CliError {
            fn from(e: $ty) -> CliError {
                CliError::$variant(Box::new(e))
            }
        }
    )*};
}

boxed_from!(
    ModelFile(ModelFileError),
    Model(ModelError),
    Compile(CompileError),
    Runtime(RuntimeError),
    Output(OutputError),
    Usage(UsageError),
    Data(DataFileError),
    Checkpoint(CheckpointError)
);

/// `value` as one line of JSON.
fn json_line<T: Serialize>(value: &T) -> Result<String, CliError> {
    serde_json::to_string(value).map_err(|source| {
        CliError::from(OutputError::Json {
            path: PathBuf::from("<stdout>"),
            source,
        })
    })
}

/// Writes one JSON line (and a newline) to `path`, atomically.
fn write_json_line(path: &Path, line: &str) -> Result<(), CliError> {
    crate::output::write_atomic(path, |w| {
        w.write_all(line.as_bytes())?;
        w.write_all(b"\n")
    })?;
    Ok(())
}

/// Parses the command line, runs it and reports errors on stderr.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    interrupt::guard();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: &Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::Sample(args) => run::sample(args),
        Command::Resume(args) => resume::resume(args),
        Command::Bench(args) => run::bench(args),
        Command::Info(args) => info::info(args),
        Command::Fit(args) => fit::fit(args),
        Command::Score(args) => score::score(args),
    }
}
