//! `sample` and `bench`: build, compile, run the schedule, report.

use super::interrupt::Interrupt;
use super::paths::{Output, check_outputs};
use super::report::{BenchLine, Done, Stats};
use super::session::{self, CLI_RUN_VERSION, CliRun, Control, Session, absolute};
use super::{BackendChoice, CliError, RunArgs, SampleArgs, UsageError};
use crate::backend::EngineChoice;
use crate::model_file::{BuiltModel, ModelFile};
use crate::output;
use blockgibbs_runtime::{Moments, Observer, SampleCollector, Sampler, ScalarObservables};
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
    let built = file.build_within(args.model.memory_limit())?;
    let build_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (_, program) = built.compile()?;
    let options = file.sampler_options(args.threads.unwrap_or(0));
    // Compile time covers lowering and the backend (the JIT's code generation); the chains
    // are set up with them, which costs little beside.
    let mut sampler = built
        .sampler_builder()
        .program(Arc::new(program))
        .backend(args.backend.map_or(EngineChoice::Auto, Into::into))
        .options(options)
        .build()
        .map_err(crate::model_file::in_file_terms)?;
    if let Some(note) = sampler.fallback() {
        eprintln!("note: {note}");
    }
    let compile_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
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

/// Runs the schedule (no progress bar: `bench` times it); returns seconds.
fn execute(p: &mut Prepared, obs: &mut Observers) -> Result<f64, CliError> {
    let schedule = p.file.schedule.sampling();
    let mut list = obs.list();
    let t = Instant::now();
    p.sampler.run(&schedule, &mut list)?;
    Ok(t.elapsed().as_secs_f64())
}

/// Writes `--stats` and `--out` of `bench` if asked for.
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
        let run = cli_run(p, args, Vec::new(), None);
        let done = Done {
            sweeps: p.file.schedule.sampling().total_sweeps(),
            samples: p.file.schedule.samples,
        };
        let stats = Stats::new(
            &run,
            &p.sampler,
            obs.scalars.as_ref(),
            obs.moments.as_ref(),
            seconds,
            done,
        );
        output::write_json(path, &stats)?;
    }
    Ok(())
}

/// What a checkpoint of this run has to carry besides the sampler.
fn cli_run(
    p: &Prepared,
    args: &RunArgs,
    observers: Vec<String>,
    checkpoint_every: Option<u64>,
) -> CliRun {
    CliRun {
        version: CLI_RUN_VERSION,
        family: p.file.family().to_string(),
        file: args.model.model.display().to_string(),
        overrides: args.model.set.clone(),
        beta: p.built.beta,
        schedule: p.file.schedule,
        output_nodes: p.built.output_nodes.iter().map(|n| n.0).collect(),
        out: args.out.as_deref().map(absolute),
        stats: args.stats.as_deref().map(absolute),
        checkpoint_every,
        observers,
        seconds: 0.0,
    }
}

/// `blockgibbs sample`: the schedule in pieces, with checkpoints and Ctrl-C handling.
pub(super) fn sample(args: &SampleArgs) -> Result<(), CliError> {
    let run_args = &args.run;
    if args.checkpoint.is_none() {
        for (given, option) in [
            (args.checkpoint_every.is_some(), "--checkpoint-every"),
            (args.max_sweeps.is_some(), "--max-sweeps"),
        ] {
            if given {
                return Err(UsageError::Requires {
                    option: option.into(),
                    needs: "--checkpoint".into(),
                }
                .into());
            }
        }
    }
    let mut outputs = Vec::new();
    for (label, path) in [
        ("--out", &run_args.out),
        ("--stats", &run_args.stats),
        ("--checkpoint", &args.checkpoint),
    ] {
        if let Some(path) = path {
            outputs.push(Output {
                label: label.into(),
                path,
            });
        }
    }
    let file = ModelFile::load(&run_args.model.model, &run_args.model.set)?;
    let referenced = file.referenced_files();
    let mut inputs = vec![("model file".to_string(), run_args.model.model.clone())];
    inputs.extend(
        referenced
            .into_iter()
            .map(|(key, p)| (format!("`{key}` file"), p)),
    );
    let inputs: Vec<(&str, &std::path::Path)> = inputs
        .iter()
        .map(|(r, p)| (r.as_str(), p.as_path()))
        .collect();
    check_outputs(&outputs, &inputs)?;
    let p = prepare(run_args)?;
    if let Some(path) = &run_args.out {
        // Refuse before sampling rather than after.
        let s = &p.file.schedule;
        let n = p.built.output_nodes.len() as u64;
        output::check_npy_size(path, &[s.samples, s.chains as u64, n])?;
    }
    let mut observers = vec![session::SCALARS.to_string()];
    if run_args.stats.is_some() {
        observers.push(session::MOMENTS.into());
    }
    if run_args.out.is_some() {
        observers.push(session::SAMPLES.into());
    }
    let run = cli_run(&p, run_args, observers, args.checkpoint_every);
    let schedule = p.file.schedule.sampling();
    let mut sampler = p.sampler;
    sampler.start_schedule(schedule);
    let mut session = Session::new(run, sampler, false)?;
    let interrupt = Interrupt::install();
    let control = Control {
        checkpoint: args.checkpoint.as_deref(),
        max_sweeps: args.max_sweeps,
        interrupt: Some(&interrupt),
    };
    let outcome = session.execute(&control)?;
    session.conclude(outcome, control.checkpoint)
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
