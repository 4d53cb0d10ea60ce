//! Determinism: the same seed gives bit-identical samples whatever the thread count, the
//! number of other chains or how a run is split into calls; different seeds differ.
mod common;

use blockgibbs::lattice;
use blockgibbs::prelude::*;
use std::sync::Arc;

/// Every node kind and most factor shapes: a periodic 3×3 grid of spins, categoricals on a
/// ring coupled to the spins, binaries coupled to Gaussians, a gated Gaussian and a clamped
/// spin.
fn mixed_model() -> Arc<Model> {
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 9).unwrap();
    let c = b.group("c", NodeKind::Categorical(3), 4).unwrap();
    let q = b.group("q", NodeKind::Binary, 3).unwrap();
    let x = b.group("x", NodeKind::Gaussian, 3).unwrap();
    let k = b.group("k", NodeKind::Spin, 1).unwrap();
    let edges = lattice::square(3, true);
    let (a, z) = lattice::endpoints(&s, &edges);
    b.pair_coupling("j", &a, &z, &common::random_weights(edges.len(), 0.8, 1));
    b.linear_bias("h", &s.ids(), &common::random_weights(9, 0.5, 2));
    let ring: Vec<NodeId> = (0..4).map(|i| c.node((i + 1) % 4)).collect();
    b.potts_coupling("potts", &c.ids(), &ring, &[0.7; 4]);
    b.factor(
        Factor::new("cs")
            .categorical(c.ids())
            .product(&s.ids()[..4])
            .weights(common::random_weights(12, 1.0, 3)),
    );
    b.gaussian_discrete_coupling("xq", &x.ids(), &q.ids(), &[0.5, -0.4, 0.3]);
    b.gaussian_precision("xp", &x.ids(), &[1.0, 2.0, 1.5]);
    b.gaussian_coupling("xx", &x.ids()[..2], &x.ids()[1..], &[0.3, -0.2]);
    b.gated_gaussian_mean("gm", &[c.node(0)], &[x.node(0)], &[-1.0, 0.0, 1.0]);
    b.linear_bias("qb", &q.ids(), &[0.1, -0.2, 0.3]);
    b.pair_coupling("ks", &[k.node(0)], &[s.node(0)], &[1.0]);
    b.clamp(k.node(0), 1.0);
    Arc::new(b.build().unwrap())
}

struct Run {
    samples: Vec<u32>,
    energies: Vec<u64>,
    moments: Vec<u64>,
}

/// Runs `runs` in sequence on a fresh sampler and returns every observation as bits.
fn run(chains: usize, seed: u64, threads: usize, runs: &[SamplingSchedule]) -> Run {
    let model = mixed_model();
    let mut sampler = Sampler::builder(model.clone())
        .backend(BackendChoice::Reference)
        .options(SamplerOptions {
            chains,
            seed,
            threads,
            beta: 1.0,
        })
        .build()
        .unwrap();
    assert_eq!(sampler.threads(), threads.max(1));
    let k = model.group("k").unwrap().node(0);
    for ch in 0..chains {
        sampler.set_beta(ch, 0.5 + 0.05 * ch as f32).unwrap();
        sampler
            .set_clamped(k, ch, if ch.is_multiple_of(3) { -1.0 } else { 1.0 })
            .unwrap();
    }
    let all: Vec<NodeId> = (0..model.node_count() as u32).map(NodeId).collect();
    let mut samples = SampleCollector::new(all.clone());
    let mut energies = EnergyObserver::default();
    let pairs: Vec<(NodeId, NodeId)> = all.windows(2).map(|w| (w[0], w[1])).collect();
    let mut moments = Moments::new(all, pairs);
    for schedule in runs {
        sampler
            .run(schedule, &mut [&mut samples, &mut energies, &mut moments])
            .unwrap();
    }
    let mut m = moments.means();
    m.extend(moments.pair_means());
    Run {
        samples: samples.data.iter().map(|v| v.to_bits()).collect(),
        energies: energies
            .energies
            .concat()
            .iter()
            .map(|e| e.to_bits())
            .collect(),
        moments: m.iter().map(|v| v.to_bits()).collect(),
    }
}

#[test]
fn same_seed_is_bit_identical_for_one_and_two_threads() {
    // 37 chains: chunks of 16, 16 and 5 (padded to 8 lanes).
    let schedule = [SamplingSchedule::new(20, 40, 2)];
    let one = run(37, 42, 1, &schedule);
    let two = run(37, 42, 2, &schedule);
    assert_eq!(one.samples.len(), 40 * 37 * 20);
    assert!(
        one.samples == two.samples,
        "samples differ between 1 and 2 threads"
    );
    assert!(one.energies == two.energies, "energies differ");
    assert!(one.moments == two.moments, "moments differ");
    // The run is not degenerate: the Gaussian and discrete values move.
    let distinct: std::collections::HashSet<u32> = one.samples.iter().copied().collect();
    assert!(distinct.len() > 1000, "{} distinct values", distinct.len());
}

#[test]
fn a_chain_does_not_depend_on_how_many_other_chains_run() {
    // Randomness is addressed by (chain, node, sweep): the first 21 chains of a 37-chain run
    // (different chunking and padding) are the 21 chains of a 21-chain run.
    let schedule = [SamplingSchedule::new(10, 20, 1)];
    let big = run(37, 9, 2, &schedule);
    let small = run(21, 9, 1, &schedule);
    let per = 20; // nodes
    for s in 0..20 {
        let a = &big.samples[s * 37 * per..s * 37 * per + 21 * per];
        let b = &small.samples[s * 21 * per..(s + 1) * 21 * per];
        assert!(a == b, "observation {s} differs");
    }
}

#[test]
fn different_seeds_differ() {
    let schedule = [SamplingSchedule::new(20, 20, 1)];
    let a = run(37, 1, 1, &schedule);
    let b = run(37, 2, 1, &schedule);
    let differ = a
        .samples
        .iter()
        .zip(&b.samples)
        .filter(|(x, y)| x != y)
        .count();
    // Gaussians always differ; spins/binaries/categories differ about half the time.
    assert!(
        differ * 3 > a.samples.len(),
        "{differ} of {} values differ",
        a.samples.len()
    );
}

#[test]
fn continuing_a_run_is_deterministic_and_equals_one_long_run() {
    // warmup 20 then 29 × 3 sweeps, then (3 sweeps + observation) × 30: the observations of
    // one run of warmup 20 and 60 samples every 3 sweeps.
    let split = [
        SamplingSchedule::new(20, 30, 3),
        SamplingSchedule::new(3, 30, 3),
    ];
    let whole = [SamplingSchedule::new(20, 60, 3)];
    let a = run(37, 5, 2, &split);
    let b = run(37, 5, 1, &split);
    let c = run(37, 5, 2, &whole);
    assert!(a.samples == b.samples && a.energies == b.energies);
    assert!(
        a.samples == c.samples,
        "two run() calls differ from one long run"
    );
    assert!(a.moments == c.moments);
    // sweep(n) + sweep(m) = sweep(n + m).
    let model = mixed_model();
    let mut s1 = common::sampler(&model, 37, 77);
    let mut s2 = common::sampler(&model, 37, 77);
    s1.sweep(7).unwrap();
    s1.sweep(5).unwrap();
    s2.sweep(12).unwrap();
    assert_eq!(s1.sweeps_done(), 12);
    for ch in 0..37 {
        let (x, y) = (s1.chain_state(ch).unwrap(), s2.chain_state(ch).unwrap());
        assert!(x.iter().zip(&y).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
