//! The `blockgibbs` command line: `sample`, `info` and `bench` on TOML model files.
//!
//! `src/main.rs` only calls [`main`]; everything else lives here so that it can be tested.

mod backend;
mod info;
mod report;
mod run;

pub use crate::backend::{BackendChoice, default_backend};
pub use backend::backend_for_cli;

use crate::model_file::ModelFileError;
use crate::output::OutputError;
use blockgibbs_ir::ModelError;
use blockgibbs_runtime::RuntimeError;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use thiserror::Error;

/// Block-Gibbs sampling of factor graphs described by TOML model files.
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
    Sample(RunArgs),
    /// Describe the model: nodes, factors, blocks and colours, memory of the lowered program.
    Info(ModelArgs),
    /// Run the schedule without observers and print one JSON line of timings.
    Bench(RunArgs),
}

/// The model file and its overrides.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// The TOML model file.
    pub model: PathBuf,
    /// Override a key of the file by dotted path, e.g. `--set model.L=64` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
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
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// `bench` only: run the reference and the jit backend on the same model in this process
    /// and print both lines and their speed ratio.
    #[arg(long)]
    pub compare: bool,
}

/// Everything that can make a command fail (boxed: the inner errors are large).
#[derive(Debug, Error)]
pub enum CliError {
    /// The model file is invalid.
    #[error(transparent)]
    ModelFile(Box<ModelFileError>),
    /// Compilation rejected the model.
    #[error(transparent)]
    Model(Box<ModelError>),
    /// Sampling failed.
    #[error(transparent)]
    Runtime(Box<RuntimeError>),
    /// An output file could not be written.
    #[error(transparent)]
    Output(Box<OutputError>),
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
    Runtime(RuntimeError),
    Output(OutputError)
);

/// Parses the command line, runs it and reports errors on stderr.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: &Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::Sample(args) => run::sample(args),
        Command::Bench(args) => run::bench(args),
        Command::Info(args) => info::info(args),
    }
}
