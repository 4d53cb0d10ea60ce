//! Criterion benches of the reference backend (the portable executable specification).
//!
//! What is measured, and why:
//!
//! - `reference/<workload>/<threads>`: the time of a fixed number of block-Gibbs sweeps
//!   (every colour of every chain once per sweep) through [`Sampler::sweep`], after a short
//!   warm-up that takes the chains away from their random initial state. Criterion reports
//!   the throughput in node updates (`Throughput::Elements` = sweeps × free nodes × chains),
//!   so "Melem/s" reads as millions of node updates per second; divide by 1000 for
//!   updates/ns. These are the reference figures that BENCHMARKS.md puts beside THRML's and
//!   the hand-written loop's (`benches/handwritten.rs`), and that the JIT issue compares
//!   against. Workloads (64 chains each, as in the JIT issue's targets):
//!   - `ising2d_L256_uniformJ`: `families::ising2d(256, J = 1, h = 0, periodic)` at β = 0.4407
//!     (β_c);
//!   - `ising2d_L256_gaussJ`: `families::edwards_anderson(2, 256, N(0,1), …)` at β = 0.5, the
//!     JIT issue's headline workload and THRML's `--random` run;
//!   - `potts2d_q3_L256`: `families::potts2d(3, 256, J = 1)` at β_c = ln(1 + √3);
//!   - `rbm_784x500`: `families::rbm(784, 500, weight_std = 1/√784, …)` at β = 1; for this one
//!     the throughput is also given in chain-sweeps/s in BENCHMARKS.md (elements / 1284).
//!
//!   Each runs on 1 thread and on all cores (`threads = 0`): the runtime splits the 64
//!   chains into 16-lane chunks, one chunk per task.
//! - `build/ising2d_L1024`: building the 1M-node `ising2d` model with the families
//!   constructor (`model`), compiling it (colouring + lowering: `compile`), and both
//!   (`model+compile`), the model-construction half of the issue's "build and lower a
//!   1M-node program well under a second" goal. Peak memory is not measured here
//!   (criterion cannot); `blockgibbs bench` reports it.
//!
//! `BENCH_CLOCK=cpu` (or `both`) measures process CPU time instead of (or besides) wall time,
//! under group names prefixed `cpu/` (see `common/cpu_time.rs`): on a loaded machine the
//! 1-thread CPU-time figures are the robust ones.
//!
//! The runs are kept short (10 samples, a few seconds each) so that
//! `cargo bench --bench reference` finishes in a few minutes on a 2-core machine.

use blockgibbs::families::{self, Disorder};
use blockgibbs::prelude::*;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput, measurement::Measurement};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

#[path = "common/cpu_time.rs"]
mod cpu_time;

/// Chains of every sampling workload.
const CHAINS: usize = 64;
/// Seed of the samplers' randomness.
const SEED: u64 = 1;
/// Seed of the random couplings (Edwards–Anderson, RBM weights).
const DISORDER_SEED: u64 = 7;
/// Sweeps run before measuring, so the chains have left their random initial state.
const WARMUP_SWEEPS: u64 = 5;

/// β_c of the 2D Ising model, ½ ln(1 + √2).
const ISING_BETA_C: f32 = 0.440_686_8;
/// β_c of the q = 3 Potts model, ln(1 + √3).
const POTTS3_BETA_C: f32 = 1.005_052_5;

/// One sampling workload: a model, the β its chains run at, and the sweeps per iteration.
struct Workload {
    name: &'static str,
    model: Arc<Model>,
    beta: f32,
    sweeps_per_iter: u64,
}

fn workloads() -> Vec<Workload> {
    let l = 256;
    vec![
        Workload {
            name: "ising2d_L256_uniformJ",
            model: Arc::new(families::ising2d(l, 1.0, 0.0, true).expect("ising2d")),
            beta: ISING_BETA_C,
            sweeps_per_iter: 1,
        },
        Workload {
            name: "ising2d_L256_gaussJ",
            model: Arc::new(
                families::edwards_anderson(2, l, Disorder::Gaussian, DISORDER_SEED, 0.0, true)
                    .expect("edwards_anderson"),
            ),
            beta: 0.5,
            sweeps_per_iter: 1,
        },
        Workload {
            name: "potts2d_q3_L256",
            model: Arc::new(families::potts2d(3, l, 1.0, true).expect("potts2d")),
            beta: POTTS3_BETA_C,
            sweeps_per_iter: 1,
        },
        Workload {
            name: "rbm_784x500",
            model: Arc::new(
                families::rbm(784, 500, 1.0 / 28.0, 0.0, 0.0, DISORDER_SEED).expect("rbm"),
            ),
            beta: 1.0,
            sweeps_per_iter: 1,
        },
    ]
}

/// Short, flat-sampled groups: every iteration is long (tens of milliseconds or more), so
/// criterion's linear sampling would only waste the time budget.
fn configure<M: Measurement>(group: &mut BenchmarkGroup<'_, M>, measurement_secs: u64) {
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(measurement_secs));
}

/// Sweep throughput of the reference backend, 1 thread and all cores.
fn sampling<M: Measurement>(c: &mut Criterion<M>, prefix: &str) {
    for w in workloads() {
        let mut group = c.benchmark_group(format!("{prefix}reference/{}", w.name));
        configure(&mut group, 4);
        let free = w.model.node_count() as u64;
        group.throughput(Throughput::Elements(
            w.sweeps_per_iter * free * CHAINS as u64,
        ));
        for (label, threads) in [("1thread", 1), ("all_cores", 0)] {
            let options = SamplerOptions {
                chains: CHAINS,
                seed: SEED,
                threads,
                beta: w.beta,
            };
            // Set up on first use only, so that a filtered run (`cargo bench -- potts`)
            // does not pay for the other workloads' compilation and warm-up.
            let mut sampler: Option<Sampler> = None;
            group.bench_function(label, |b| {
                let sampler = sampler.get_or_insert_with(|| {
                    let mut s = Sampler::builder(w.model.clone())
                        .backend(BackendChoice::Reference)
                        .options(options)
                        .build()
                        .expect("sampler");
                    // Every node of these models is free: node_count updates per sweep.
                    assert_eq!(s.program().free_count() as u64, free);
                    s.sweep(WARMUP_SWEEPS).expect("warm-up sweeps");
                    s
                });
                b.iter(|| sampler.sweep(black_box(w.sweeps_per_iter)).expect("sweeps"))
            });
        }
        group.finish();
    }
}

/// Building and compiling (colour + lower) the 1M-node 2D Ising model.
fn build<M: Measurement>(c: &mut Criterion<M>, prefix: &str) {
    const L: usize = 1024;
    let make = || families::ising2d(L, 1.0, 0.0, true).expect("ising2d");
    let mut group = c.benchmark_group(format!("{prefix}build/ising2d_L1024"));
    configure(&mut group, 5);
    group.throughput(Throughput::Elements((L * L) as u64));
    group.bench_function("model", |b| b.iter_with_large_drop(make));
    let model = make();
    group.bench_function("compile", |b| {
        b.iter_with_large_drop(|| compile(black_box(&model)).expect("compile"))
    });
    drop(model);
    group.bench_function("model+compile", |b| {
        b.iter_with_large_drop(|| {
            let model = make();
            let compiled = compile(&model).expect("compile");
            (model, compiled)
        })
    });
    group.finish();
}

fn main() {
    cpu_time::run_with_selected_clock(
        |c, prefix| {
            sampling(c, prefix);
            build(c, prefix);
        },
        |c, prefix| {
            sampling(c, prefix);
            build(c, prefix);
        },
    );
}
