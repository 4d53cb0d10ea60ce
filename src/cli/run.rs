//! `sample` and `bench`: build, compile, run the schedule, report.

use super::report::{self, BenchLine, Stats};
use super::{BackendChoice, CliError, RunArgs, backend_for_cli};
use crate::model_file::{BuiltModel, ModelFile};
use crate::output;
use blockgibbs_runtime::{Moments, Observer, SampleCollector, Sampler, ScalarObservables};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Instant;

/// A model file turned into a ready sampler, with the time each stage took.
pub(super) struct Prepared {
    pub file: ModelFile,
    pub built: BuiltModel,
    pub sampler: Sampler,
    pub build_seconds: f64,
    pub compile_seconds: f64,
    pub init_seconds: f64,
}

/// Loads, builds (timed), compiles (timed) and sets up the sampler (timed).
pub(super) fn prepare(args: &RunArgs) -> Result<Prepared, CliError> {
    let file = ModelFile::load(&args.model.model, &args.model.set)?;
    let t = Instant::now();
    let built = file.build()?;
    let build_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (_, program) = built.compile()?;
    let backend = backend_for_cli(args.backend, Arc::new(program));
    let compile_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let options = file.sampler_options(args.threads.unwrap_or(0));
    let mut sampler = Sampler::new(built.model.clone(), backend, options)?;
    built.configure(&mut sampler)?;
    let init_seconds = t.elapsed().as_secs_f64();
    Ok(Prepared {
        file,
        built,
        sampler,
        build_seconds,
        compile_seconds,
        init_seconds,
    })
}

/// The observers a run asked for.
struct Observers {
    scalars: Option<ScalarObservables>,
    moments: Option<Moments>,
    samples: Option<SampleCollector>,
}

impl Observers {
    fn new(p: &Prepared, args: &RunArgs, scalars: bool) -> Result<Observers, CliError> {
        let nodes = &p.built.output_nodes;
        if let Some(path) = &args.out {
            // Refuse before sampling rather than after.
            let s = &p.file.schedule;
            output::check_npy_size(path, &[s.samples, s.chains as u64, nodes.len() as u64])?;
        }
        Ok(Observers {
            scalars: (scalars || args.stats.is_some())
                .then(|| ScalarObservables::standard(&p.built.model)),
            moments: args
                .stats
                .is_some()
                .then(|| Moments::new(nodes.clone(), Vec::new())),
            samples: args
                .out
                .is_some()
                .then(|| SampleCollector::new(nodes.clone())),
        })
    }

    fn list(&mut self) -> Vec<&mut dyn Observer> {
        let mut v: Vec<&mut dyn Observer> = Vec::new();
        if let Some(o) = &mut self.scalars {
            v.push(o);
        }
        if let Some(o) = &mut self.moments {
            v.push(o);
        }
        if let Some(o) = &mut self.samples {
            v.push(o);
        }
        v
    }
}

/// Runs the schedule with a progress bar on stderr when it is a terminal; returns seconds.
fn execute(p: &mut Prepared, obs: &mut Observers) -> Result<f64, CliError> {
    let schedule = p.file.schedule.sampling();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(schedule.total_sweeps());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} sweeps (eta {eta})",
        ) {
            bar.set_style(style);
        }
        bar
    });
    let mut list = obs.list();
    let t = Instant::now();
    let result = p
        .sampler
        .run_with_progress(&schedule, &mut list, &mut |done, _| {
            if let Some(b) = &bar {
                b.set_position(done);
            }
        });
    let seconds = t.elapsed().as_secs_f64();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    result?;
    Ok(seconds)
}

/// Writes `--stats` and `--out` if asked for.
fn write_outputs(
    p: &Prepared,
    args: &RunArgs,
    obs: &Observers,
    seconds: f64,
) -> Result<(), CliError> {
    if let (Some(path), Some(samples)) = (&args.out, &obs.samples) {
        let s = &p.file.schedule;
        let shape = [s.samples, s.chains as u64, samples.nodes.len() as u64];
        output::write_npy_f32(path, &shape, &samples.data)?;
    }
    if let Some(path) = &args.stats {
        let stats = Stats::new(p, args, obs.scalars.as_ref(), obs.moments.as_ref(), seconds);
        output::write_json(path, &stats)?;
    }
    Ok(())
}

/// `blockgibbs sample`.
pub(super) fn sample(args: &RunArgs) -> Result<(), CliError> {
    let mut p = prepare(args)?;
    let mut obs = Observers::new(&p, args, true)?;
    let seconds = execute(&mut p, &mut obs)?;
    write_outputs(&p, args, &obs, seconds)?;
    print!("{}", report::summary(&p, obs.scalars.as_ref(), seconds));
    Ok(())
}

/// `blockgibbs bench`; with `--compare`, once per backend and the ratio.
pub(super) fn bench(args: &RunArgs) -> Result<(), CliError> {
    if !args.compare {
        return bench_once(args).map(|_| ());
    }
    let mut rates = Vec::new();
    for choice in [BackendChoice::Reference, BackendChoice::Jit] {
        let one = RunArgs {
            backend: Some(choice),
            compare: false,
            ..args.clone()
        };
        rates.push(bench_once(&one)?);
    }
    let ratio = rates[1] / rates[0];
    println!("{{\"compare\":\"jit/reference\",\"updates_per_ns_ratio\":{ratio:.3}}}");
    Ok(())
}

/// One bench run; prints its JSON line and returns its updates per nanosecond.
fn bench_once(args: &RunArgs) -> Result<f64, CliError> {
    let mut p = prepare(args)?;
    let mut obs = Observers::new(&p, args, false)?;
    let seconds = execute(&mut p, &mut obs)?;
    write_outputs(&p, args, &obs, seconds)?;
    let line = BenchLine::new(&p, seconds);
    println!(
        "{}",
        serde_json::to_string(&line).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    );
    Ok(line.updates_per_ns)
}
