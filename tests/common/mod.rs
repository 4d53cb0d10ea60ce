//! Shared oracles of the statistical tests: exact enumeration and sample-size-derived
//! thresholds.
#![allow(dead_code)]

use blockgibbs::prelude::*;
use std::collections::HashMap;

/// Exact distribution over the joint states of `free` discrete nodes (other nodes fixed by
/// `fixed`), p ∝ exp(−β E). Returns (state → probability).
pub fn enumerate(
    model: &Model,
    free: &[NodeId],
    fixed: &[(NodeId, f32)],
    beta: f64,
) -> HashMap<Vec<i32>, f64> {
    let sizes: Vec<i32> = free
        .iter()
        .map(|&n| match model.kind(n) {
            NodeKind::Spin | NodeKind::Binary => 2,
            NodeKind::Categorical(k) => k as i32,
            NodeKind::Gaussian => panic!("cannot enumerate a Gaussian node"),
        })
        .collect();
    let mut state = vec![0.0f32; model.node_count()];
    for &(n, v) in fixed {
        state[n.index()] = v;
    }
    let mut digits = vec![0i32; free.len()];
    let mut out = HashMap::new();
    let mut z = 0.0;
    loop {
        for (i, &n) in free.iter().enumerate() {
            state[n.index()] = value_of(model.kind(n), digits[i]);
        }
        let w = (-beta * model.energy(&state)).exp();
        z += w;
        out.insert(free.iter().map(|&n| state[n.index()] as i32).collect(), w);
        let mut i = 0;
        while i < digits.len() {
            digits[i] += 1;
            if digits[i] < sizes[i] {
                break;
            }
            digits[i] = 0;
            i += 1;
        }
        if i == digits.len() {
            break;
        }
    }
    for p in out.values_mut() {
        *p /= z;
    }
    out
}

fn value_of(kind: NodeKind, digit: i32) -> f32 {
    match kind {
        NodeKind::Spin => 2.0 * digit as f32 - 1.0,
        _ => digit as f32,
    }
}

/// Empirical joint distribution of the collected nodes.
pub fn histogram(samples: &SampleCollector) -> HashMap<Vec<i32>, f64> {
    let [s, c, _] = samples.shape();
    let mut out = HashMap::new();
    for i in 0..s {
        for j in 0..c {
            let key: Vec<i32> = samples.row(i, j).iter().map(|&v| v as i32).collect();
            *out.entry(key).or_insert(0.0) += 1.0;
        }
    }
    let n = (s * c) as f64;
    for p in out.values_mut() {
        *p /= n;
    }
    out
}

/// THRML's statistic: max |p̂ − p| / max p.
pub fn max_relative_error(
    exact: &HashMap<Vec<i32>, f64>,
    empirical: &HashMap<Vec<i32>, f64>,
) -> f64 {
    let pmax = exact.values().cloned().fold(0.0, f64::max);
    let mut worst = 0.0f64;
    for (k, &p) in exact {
        worst = worst.max((empirical.get(k).copied().unwrap_or(0.0) - p).abs());
    }
    for k in empirical.keys() {
        assert!(
            exact.contains_key(k),
            "sampled a state of zero probability: {k:?}"
        );
    }
    worst / pmax
}

/// Threshold for [`max_relative_error`] from the number of draws: `z` standard errors of the
/// most probable state's frequency, with the draws discounted by `inflation` for residual
/// autocorrelation between observations (an integrated autocorrelation time bound).
pub fn threshold(exact: &HashMap<Vec<i32>, f64>, draws: usize, inflation: f64, z: f64) -> f64 {
    let pmax = exact.values().cloned().fold(0.0, f64::max);
    let n_eff = draws as f64 / inflation;
    z * (pmax * (1.0 - pmax) / n_eff).sqrt() / pmax
}

/// Samples every free node of `model` and returns (exact, empirical, draws).
pub fn sample_joint(
    model: std::sync::Arc<Model>,
    free: &[NodeId],
    chains: usize,
    schedule: SamplingSchedule,
    seed: u64,
) -> SampleCollector {
    let mut sampler = Sampler::reference(
        model,
        SamplerOptions {
            chains,
            seed,
            ..Default::default()
        },
    )
    .unwrap();
    let mut samples = SampleCollector::new(free.to_vec());
    sampler.run(&schedule, &mut [&mut samples]).unwrap();
    samples
}
