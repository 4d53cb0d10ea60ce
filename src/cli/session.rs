//! The run loop of `sample` and `resume`: the schedule advanced in pieces, a checkpoint
//! every `--checkpoint-every` sweeps and at the end, Ctrl-C turned into a final checkpoint
//! and partial outputs, and the outputs written from the attached observers.
//!
//! What the command line needs to finish a run elsewhere (schedule, output paths, which
//! observers, the time spent) travels in the checkpoint as [`CliRun`], under the
//! application key [`APP_KEY`] (documented in docs/checkpoint.md).

use super::CliError;
use super::interrupt::Interrupt;
use super::report::{self, Done, Stats};
use crate::model_file::ScheduleSpec;
use crate::output;
use blockgibbs_ir::NodeId;
use blockgibbs_runtime::{
    Moments, ObserverHandle, RunStatus, SampleCollector, Sampler, ScalarObservables,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Key of the command line's document in a checkpoint's application metadata.
pub(super) const APP_KEY: &str = "blockgibbs_cli";
/// Version of [`CliRun`]; `resume` refuses others.
pub(super) const CLI_RUN_VERSION: u32 = 1;

/// Observer names in [`CliRun::observers`].
pub(super) const SCALARS: &str = "scalars";
pub(super) const MOMENTS: &str = "moments";
pub(super) const SAMPLES: &str = "samples";

/// Everything about a command-line run that is not sampler state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct CliRun {
    pub version: u32,
    pub family: String,
    pub file: String,
    pub overrides: Vec<String>,
    pub beta: f32,
    pub schedule: ScheduleSpec,
    pub output_nodes: Vec<u32>,
    /// Absolute, so that `resume` from another directory writes the same files.
    pub out: Option<PathBuf>,
    pub stats: Option<PathBuf>,
    pub checkpoint_every: Option<u64>,
    /// The attached observers, in attach order.
    pub observers: Vec<String>,
    /// Sampling time of the sessions so far.
    pub seconds: f64,
}

/// How a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The schedule is complete.
    Finished,
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// `--max-sweeps` reached.
    Limit,
}

/// A sampler with the command line's observers attached.
pub(super) struct Session {
    pub run: CliRun,
    pub sampler: Sampler,
    scalars: Option<ObserverHandle<ScalarObservables>>,
    moments: Option<ObserverHandle<Moments>>,
    samples: Option<ObserverHandle<SampleCollector>>,
}

/// Where a session checkpoints and when it stops early.
pub(super) struct Control<'a> {
    pub checkpoint: Option<&'a Path>,
    pub max_sweeps: Option<u64>,
    pub interrupt: Option<&'a Interrupt>,
}

impl Session {
    /// Attaches the observers `run.observers` names: fresh ones, or (`restore`) ones
    /// restored from the checkpoint the sampler was resumed from.
    pub fn new(run: CliRun, sampler: Sampler, restore: bool) -> Result<Session, CliError> {
        let nodes: Vec<NodeId> = run.output_nodes.iter().map(|&n| NodeId(n)).collect();
        let model = sampler.model().clone();
        let mut session = Session {
            run: run.clone(),
            sampler,
            scalars: None,
            moments: None,
            samples: None,
        };
        let s = &mut session.sampler;
        fn attach<T: blockgibbs_runtime::Observer + 'static>(
            s: &mut Sampler,
            o: T,
            restore: bool,
        ) -> Result<ObserverHandle<T>, CliError> {
            if restore {
                Ok(s.attach_restored(o)?)
            } else {
                Ok(s.attach(o))
            }
        }
        for name in &run.observers {
            match name.as_str() {
                SCALARS => {
                    let o = ScalarObservables::standard(&model);
                    session.scalars = Some(attach(s, o, restore)?);
                }
                MOMENTS => {
                    let o = Moments::new(nodes.clone(), Vec::new());
                    session.moments = Some(attach(s, o, restore)?);
                }
                SAMPLES => {
                    let o = SampleCollector::new(nodes.clone());
                    session.samples = Some(attach(s, o, restore)?);
                }
                other => {
                    return Err(CliError::CheckpointApp {
                        reason: format!("unknown observer `{other}`"),
                    });
                }
            }
        }
        Ok(session)
    }

    /// Whether the run records what `--out` and `--stats` write.
    pub fn records(&self) -> (bool, bool) {
        (
            self.samples.is_some(),
            self.moments.is_some() && self.scalars.is_some(),
        )
    }

    /// Sweeps and observations done.
    pub fn done(&self) -> Done {
        match self.sampler.schedule_cursor() {
            Some(c) => Done {
                sweeps: c.sweeps_done(),
                samples: c.observations_done,
            },
            None => Done {
                sweeps: 0,
                samples: 0,
            },
        }
    }

    /// Runs until the schedule ends, `max_sweeps` have run or a stop is asked for, writing a
    /// checkpoint at every multiple of `checkpoint_every` sweeps on the way.
    pub fn execute(&mut self, control: &Control<'_>) -> Result<Outcome, CliError> {
        let every = self
            .run
            .checkpoint_every
            .filter(|_| control.checkpoint.is_some());
        let start = Instant::now();
        let before = self.run.seconds;
        let total = self.run.schedule.sampling().total_sweeps();
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} sweeps (eta {eta})",
            ) {
                bar.set_style(style);
            }
            bar.set_position(self.done().sweeps);
            bar
        });
        let stop = || control.interrupt.is_some_and(Interrupt::requested);
        let mut left = control.max_sweeps.unwrap_or(u64::MAX);
        let result = loop {
            let done = self.done().sweeps;
            let to_checkpoint = every.map_or(u64::MAX, |n| n - done % n);
            let status =
                self.sampler
                    .advance(to_checkpoint.min(left), &mut [], &stop, &mut |d, _| {
                        if let Some(b) = &bar {
                            b.set_position(d);
                        }
                    });
            let status = match status {
                Ok(s) => s,
                Err(e) => break Err(e.into()),
            };
            left -= self.done().sweeps - done;
            match status {
                RunStatus::Finished => break Ok(Outcome::Finished),
                RunStatus::Stopped => break Ok(Outcome::Interrupted),
                RunStatus::Paused if left == 0 => break Ok(Outcome::Limit),
                RunStatus::Paused => {
                    if let Some(path) = control.checkpoint {
                        self.run.seconds = before + start.elapsed().as_secs_f64();
                        if let Err(e) = self.save(path) {
                            break Err(e);
                        }
                    }
                }
            }
        };
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        self.run.seconds = before + start.elapsed().as_secs_f64();
        result
    }

    /// Writes a checkpoint of the run as it stands.
    pub fn save(&mut self, path: &Path) -> Result<(), CliError> {
        let app = serde_json::json!({ APP_KEY: &self.run });
        self.sampler.set_app_metadata(Some(app));
        self.sampler.checkpoint(path)?;
        Ok(())
    }

    /// Writes `--out` and `--stats` (whatever the run recorded so far; `partial` in the
    /// statistics says whether it is all of it) and prints the summary.
    pub fn write_outputs(&self) -> Result<(), CliError> {
        let done = self.done();
        let s = &self.sampler;
        if let (Some(path), Some(h)) = (&self.run.out, &self.samples)
            && let Some(samples) = s.observer(h)
        {
            let shape = [
                samples.samples as u64,
                self.run.schedule.chains as u64,
                samples.nodes.len() as u64,
            ];
            output::write_npy_f32(path, &shape, &samples.data)?;
        }
        let scalars = self.scalars.as_ref().and_then(|h| s.observer(h));
        if let Some(path) = &self.run.stats {
            let moments = self.moments.as_ref().and_then(|h| s.observer(h));
            let stats = Stats::new(&self.run, s, scalars, moments, self.run.seconds, done);
            output::write_json(path, &stats)?;
        }
        print!(
            "{}",
            report::summary(&self.run, s, scalars, self.run.seconds, done)
        );
        Ok(())
    }

    /// Finishes a session: the final checkpoint and the outputs, and for a stopped run the
    /// note on how to continue (an error of exit status 130 after Ctrl-C).
    pub fn conclude(
        &mut self,
        outcome: Outcome,
        checkpoint: Option<&Path>,
    ) -> Result<(), CliError> {
        if let Some(path) = checkpoint {
            self.save(path)?;
        }
        self.write_outputs()?;
        let done = self.done();
        let total = self.run.schedule.sampling().total_sweeps();
        match outcome {
            Outcome::Finished => Ok(()),
            Outcome::Limit => {
                if let Some(path) = checkpoint {
                    eprintln!(
                        "stopped after {} of {total} sweeps; `blockgibbs resume {}` continues",
                        done.sweeps,
                        path.display()
                    );
                }
                Ok(())
            }
            Outcome::Interrupted => Err(CliError::Interrupted {
                sweeps: done.sweeps,
                total,
                checkpoint: checkpoint.map(Path::to_path_buf),
            }),
        }
    }
}

/// `path` made absolute against the current directory (unchanged if that fails).
pub(super) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
