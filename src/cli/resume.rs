//! `blockgibbs resume CHECKPOINT`: continues a run checkpointed by `sample --checkpoint`
//! (or by an earlier `resume`) on any backend and thread count, checkpointing to the same
//! file, and writes the outputs the uninterrupted `sample` would have written.

use super::interrupt::Interrupt;
use super::paths::{Output, check_outputs};
use super::session::{APP_KEY, CLI_RUN_VERSION, CliRun, Control, Session, absolute};
use super::{BackendChoice, CliError, UsageError};
use blockgibbs_runtime::{BackendChoice as RuntimeBackend, Sampler};
use clap::Args;
use std::path::PathBuf;

/// Flags of `resume`.
#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    /// The checkpoint written by `sample --checkpoint`; it is updated as the run goes on.
    pub checkpoint: PathBuf,
    /// Write the samples here instead of where the run was told to (the run must have
    /// recorded samples from the start, i.e. `sample` was given `--out`).
    #[arg(long, value_name = "SAMPLES.npy")]
    pub out: Option<PathBuf>,
    /// Write the statistics here instead of where the run was told to (the run must have
    /// been given `--stats` from the start).
    #[arg(long, value_name = "STATS.json")]
    pub stats: Option<PathBuf>,
    /// Kernel backend (default: the best available); any backend continues identically.
    #[arg(long, value_enum)]
    pub backend: Option<BackendChoice>,
    /// Worker threads (default: one per core; at most 4 per core, or 1024); any count
    /// continues identically.
    #[arg(long, value_name = "N", value_parser = super::thread_count)]
    pub threads: Option<usize>,
    /// Checkpoint every N sweeps (default: as the run was started).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: Option<u64>,
    /// Stop after N more sweeps, writing the checkpoint and the outputs so far (exit 0;
    /// the statistics say `"partial": true`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_sweeps: Option<u64>,
}

/// `blockgibbs resume`.
pub(super) fn resume(args: &ResumeArgs) -> Result<(), CliError> {
    let backend = args.backend.map_or(RuntimeBackend::Auto, Into::into);
    let sampler = Sampler::resume(&args.checkpoint)
        .backend(backend)
        .threads(args.threads.unwrap_or(0))
        .open()?;
    if let Some(note) = sampler.fallback() {
        eprintln!("note: {note}");
    }
    let mut run = cli_run(&sampler, args)?;
    let mut outputs = Vec::new();
    for (label, path) in [("--out", &args.out), ("--stats", &args.stats)] {
        if let Some(path) = path {
            outputs.push(Output {
                label: label.into(),
                path,
            });
        }
    }
    check_outputs(&outputs, &[("checkpoint", &args.checkpoint)])?;
    if let Some(out) = &args.out {
        run.out = Some(absolute(out));
    }
    if let Some(stats) = &args.stats {
        run.stats = Some(absolute(stats));
    }
    if args.checkpoint_every.is_some() {
        run.checkpoint_every = args.checkpoint_every;
    }
    let mut session = Session::new(run, sampler, true)?;
    let (samples, stats) = session.records();
    for (given, recorded, option, needs) in [
        (args.out.is_some(), samples, "--out", "samples"),
        (
            args.stats.is_some(),
            stats,
            "--stats",
            "node means and observables",
        ),
    ] {
        if given && !recorded {
            return Err(UsageError::NotRecorded {
                option: option.into(),
                what: needs,
                checkpoint: args.checkpoint.clone(),
            }
            .into());
        }
    }
    let interrupt = Interrupt::install();
    let control = Control {
        checkpoint: Some(&args.checkpoint),
        max_sweeps: args.max_sweeps,
        interrupt: Some(&interrupt),
    };
    let outcome = session.execute(&control)?;
    session.conclude(outcome, control.checkpoint)
}

/// The command line's document in the checkpoint.
fn cli_run(sampler: &Sampler, args: &ResumeArgs) -> Result<CliRun, CliError> {
    let bad = |reason: String| CliError::CheckpointApp {
        reason: format!("{}: {reason}", args.checkpoint.display()),
    };
    let doc = sampler
        .app_metadata()
        .and_then(|v| v.get(APP_KEY))
        .ok_or_else(|| {
            bad("it holds no command-line run (was it written by `blockgibbs sample --checkpoint`?)".into())
        })?;
    let version = doc.get("version").and_then(|v| v.as_u64());
    if version != Some(CLI_RUN_VERSION as u64) {
        return Err(bad(format!(
            "command-line run version {version:?} is not {CLI_RUN_VERSION}"
        )));
    }
    let run: CliRun = serde_json::from_value(doc.clone()).map_err(|e| bad(e.to_string()))?;
    if sampler.schedule_cursor().is_none() {
        return Err(bad("it holds no schedule in progress".into()));
    }
    let nodes = sampler.model().node_count();
    if run.output_nodes.iter().any(|&n| n as usize >= nodes)
        || run.schedule.chains != sampler.chains()
    {
        return Err(bad(
            "its output nodes or chain count do not fit its model".into()
        ));
    }
    Ok(run)
}
