//! What `sample` prints and writes (`--stats`) and the JSON line of `bench`.

use super::run::Prepared;
use super::session::CliRun;
use blockgibbs_runtime::{Estimate, Moments, Sampler, ScalarObservables};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The `--stats` JSON document.
#[derive(Debug, Serialize)]
pub(super) struct Stats {
    /// Model family.
    model: String,
    /// The model file.
    file: String,
    /// Overrides applied.
    overrides: Vec<String>,
    nodes: usize,
    free_nodes: usize,
    chains: usize,
    seed: u64,
    beta: f32,
    warmup: u64,
    samples: u64,
    steps_per_sample: u64,
    sweeps: u64,
    /// Whether the run stopped before the end of its schedule (Ctrl-C, `--max-sweeps`):
    /// everything below then covers the sweeps and samples done so far.
    partial: bool,
    /// Sweeps run (equal to `sweeps` when the run is complete).
    sweeps_done: u64,
    /// Observations made (equal to `samples` when the run is complete).
    samples_done: u64,
    backend: &'static str,
    threads: usize,
    /// Sampling time, summed over the sessions of a resumed run.
    seconds: f64,
    /// name → { mean, stderr, ess, observations }.
    observables: BTreeMap<String, Estimate>,
    /// Node ids of the entries of `node_means` (and the columns of `--out`).
    node_ids: Vec<u32>,
    /// ⟨x⟩ of each node over samples and chains.
    node_means: Vec<f64>,
}

/// How far a run got: sweeps and observations done.
#[derive(Clone, Copy, Debug)]
pub(super) struct Done {
    pub sweeps: u64,
    pub samples: u64,
}

impl Stats {
    pub(super) fn new(
        run: &CliRun,
        sampler: &Sampler,
        scalars: Option<&ScalarObservables>,
        moments: Option<&Moments>,
        seconds: f64,
        done: Done,
    ) -> Stats {
        let s = &run.schedule;
        let sweeps = s.sampling().total_sweeps();
        Stats {
            model: run.family.clone(),
            file: run.file.clone(),
            overrides: run.overrides.clone(),
            nodes: sampler.model().node_count(),
            free_nodes: sampler.program().free_count(),
            chains: s.chains,
            seed: s.seed,
            beta: run.beta,
            warmup: s.warmup,
            samples: s.samples,
            steps_per_sample: s.steps_per_sample,
            sweeps,
            partial: done.sweeps < sweeps || done.samples < s.samples,
            sweeps_done: done.sweeps,
            samples_done: done.samples,
            backend: sampler.backend_name(),
            threads: sampler.threads(),
            seconds,
            observables: scalars
                .map(|o| o.estimates().into_iter().collect())
                .unwrap_or_default(),
            node_ids: run.output_nodes.clone(),
            node_means: moments.map(Moments::means).unwrap_or_default(),
        }
    }
}

/// The `bench` JSON line.
#[derive(Debug, Serialize)]
pub(super) struct BenchLine {
    model: &'static str,
    nodes: usize,
    free_nodes: usize,
    chains: usize,
    sweeps: u64,
    /// Free-node updates: sweeps × free nodes × chains.
    updates: u64,
    /// Sampling time.
    seconds: f64,
    /// Free-node updates per nanosecond of sampling.
    pub(super) updates_per_ns: f64,
    /// Model construction.
    build_seconds: f64,
    /// Colouring, lowering and backend construction.
    compile_seconds: f64,
    /// Chain state allocation and initial draws.
    init_seconds: f64,
    /// Bytes of the lowered program.
    program_bytes: usize,
    /// Peak resident set size (VmHWM) of the process; `null` where unknown.
    peak_rss_bytes: Option<u64>,
    threads: usize,
    backend: &'static str,
}

impl BenchLine {
    pub(super) fn new(p: &Prepared, seconds: f64) -> BenchLine {
        let s = &p.file.schedule;
        let sweeps = s.sampling().total_sweeps();
        let free = p.sampler.program().free_count();
        let updates = sweeps
            .saturating_mul(free as u64)
            .saturating_mul(s.chains as u64);
        BenchLine {
            model: p.file.family(),
            nodes: p.built.model.node_count(),
            free_nodes: free,
            chains: s.chains,
            sweeps,
            updates,
            seconds,
            updates_per_ns: if seconds > 0.0 {
                updates as f64 / (seconds * 1e9)
            } else {
                0.0
            },
            build_seconds: p.build_seconds,
            compile_seconds: p.compile_seconds,
            init_seconds: p.init_seconds,
            program_bytes: p.sampler.program().memory_bytes(),
            peak_rss_bytes: peak_rss_bytes(),
            threads: p.sampler.threads(),
            backend: p.sampler.backend_name(),
        }
    }
}

/// Peak resident set size from `/proc/self/status` (`VmHWM`), on Linux.
pub(super) fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// The human summary of `sample` and `resume`.
pub(super) fn summary(
    run: &CliRun,
    sampler: &Sampler,
    scalars: Option<&ScalarObservables>,
    seconds: f64,
    done: Done,
) -> String {
    let s = &run.schedule;
    let free = sampler.program().free_count();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} nodes ({} free), {} chains, beta = {}, seed {}",
        run.family,
        sampler.model().node_count(),
        free,
        s.chains,
        run.beta,
        s.seed
    );
    let rate = if seconds > 0.0 {
        (done.sweeps as f64 * free as f64 * s.chains as f64) / seconds
    } else {
        0.0
    };
    let total = s.sampling().total_sweeps();
    let partial = if done.sweeps < total || done.samples < s.samples {
        format!(" of {total} (stopped early)")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{} sweeps{partial} ({} samples) in {seconds:.3} s on the {} backend, {} threads ({rate:.3e} updates/s)",
        done.sweeps,
        done.samples,
        sampler.backend_name(),
        sampler.threads(),
    );
    for (name, e) in scalars.map(|o| o.estimates()).unwrap_or_default() {
        let stderr = e
            .stderr
            .map_or_else(|| "n/a".to_string(), |v| format!("{v:.6}"));
        let ess = e
            .ess
            .map_or_else(|| "n/a".to_string(), |v| format!("{v:.0}"));
        let _ = writeln!(
            out,
            "  {name:<20} {:>12.6} ± {stderr:<10} (ess {ess})",
            e.mean
        );
    }
    out
}
