//! Parallel tempering and simulated annealing against exact enumeration.

use blockgibbs_ir::{Model, ModelBuilder, NodeId, NodeKind};
use blockgibbs_models::tempering::{
    AnnealingSchedule, BetaLadder, ParallelTempering, SwapEvent, TemperingError, TemperingOptions,
    anneal,
};
use blockgibbs_runtime::BackendChoice;
use blockgibbs_runtime::{Sampler, SamplerOptions, SamplingSchedule};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::sync::Arc;

/// A ferromagnetic ring of `n` spins, coupling `j`, uniform field `h`.
fn ring(n: usize, j: f32, h: f32) -> Arc<Model> {
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, n).unwrap();
    let a: Vec<NodeId> = (0..n).map(|i| s.node(i)).collect();
    let c: Vec<NodeId> = (0..n).map(|i| s.node((i + 1) % n)).collect();
    b.pair_coupling("j", &a, &c, &vec![j; n]);
    b.linear_bias("h", &s.ids(), &vec![h; n]);
    Arc::new(b.build().unwrap())
}

/// A Sherrington–Kirkpatrick glass of `n` spins with Gaussian couplings (std 1/√n · 2) and
/// small fields, drawn from `seed`.
fn sk(n: usize, seed: u64) -> Arc<Model> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, n).unwrap();
    let (mut a, mut c, mut w) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        for k in i + 1..n {
            a.push(s.node(i));
            c.push(s.node(k));
            let g: f32 = (0..12).map(|_| rng.random::<f32>()).sum::<f32>() - 6.0;
            w.push(2.0 * g / (n as f32).sqrt());
        }
    }
    b.pair_coupling("j", &a, &c, &w);
    let h: Vec<f32> = (0..n).map(|_| rng.random::<f32>() * 0.2 - 0.1).collect();
    b.linear_bias("h", &s.ids(), &h);
    Arc::new(b.build().unwrap())
}

/// Every joint state of the model's spins (as ±1 vectors).
fn all_states(n: usize) -> Vec<Vec<f32>> {
    (0..1usize << n)
        .map(|m| {
            (0..n)
                .map(|i| if m >> i & 1 == 1 { 1.0 } else { -1.0 })
                .collect()
        })
        .collect()
}

/// Exact p(x) ∝ exp(−β E(x)) over all spin states.
fn enumerate(model: &Model, beta: f64) -> HashMap<Vec<i32>, f64> {
    let states = all_states(model.node_count());
    let w: Vec<f64> = states
        .iter()
        .map(|s| (-beta * model.energy(s)).exp())
        .collect();
    let z: f64 = w.iter().sum();
    states
        .iter()
        .zip(w)
        .map(|(s, w)| (s.iter().map(|&v| v as i32).collect(), w / z))
        .collect()
}

fn key(state: &[f32]) -> Vec<i32> {
    state.iter().map(|&v| v as i32).collect()
}

/// Parallel tempering on a 6-spin ferromagnetic ring (J = 1, h = 0.1) over β 0.2 → 3 (six
/// geometric steps); with `down`, every chain starts in the wrong (all-down) basin.
fn ring_pt(
    ladders: usize,
    threads: usize,
    seed: u64,
    down: bool,
) -> (Arc<Model>, ParallelTempering) {
    let model = ring(6, 1.0, 0.1);
    let ladder = BetaLadder::geometric(0.2, 3.0, 6).unwrap();
    let options = TemperingOptions {
        ladders,
        sweeps_per_swap: 1,
        seed,
        threads,
        backend: BackendChoice::Reference,
    };
    let chains = ladders * ladder.betas().len();
    let mut pt = ParallelTempering::new(model.clone(), ladder, options).unwrap();
    if down {
        pt.write_states(&vec![-1.0; chains * model.node_count()])
            .unwrap();
    }
    (model, pt)
}

fn all_down(sampler: &mut Sampler) {
    for i in 0..sampler.model().node_count() {
        sampler.set_value_all(NodeId(i as u32), -1.0).unwrap();
    }
}

/// Observations are spaced by `ROUNDS_BETWEEN` swap rounds (one sweep each). The integrated
/// autocorrelation time of the per-temperature state indicators at that spacing, measured on
/// this model with a long run (`pt_autocorrelation_is_small`, ignored), is below 2; the
/// thresholds inflate the variance by `INFLATION` = 4 to stay conservative.
const ROUNDS_BETWEEN: u64 = 4;
const INFLATION: f64 = 4.0;

#[test]
fn pt_marginals_match_enumeration_at_every_temperature() {
    let ladders = 32;
    let samples = 2000u64;
    let (model, mut pt) = ring_pt(ladders, 0, 7, true);
    let r = pt.temperatures();
    let mut hist: Vec<HashMap<Vec<i32>, f64>> = vec![HashMap::new(); r];
    let schedule = SamplingSchedule::new(200, samples, ROUNDS_BETWEEN);
    pt.run(&schedule, |_, pt| {
        for (t, h) in hist.iter_mut().enumerate() {
            for l in 0..pt.ladders() {
                *h.entry(key(&pt.state_at(l, t).unwrap())).or_insert(0.0) += 1.0;
            }
        }
    })
    .unwrap();
    let draws = (ladders as u64 * samples) as f64;
    for (t, h) in hist.iter().enumerate() {
        let exact = enumerate(&model, pt.betas()[t] as f64);
        let pmax = exact.values().cloned().fold(0.0, f64::max);
        let err = exact
            .iter()
            .map(|(s, p)| (h.get(s).copied().unwrap_or(0.0) / draws - p).abs())
            .fold(0.0, f64::max);
        // Every state's p̂ has standard error ≤ √(INFLATION · pmax / draws); 5 standard errors
        // cover the maximum over 64 states.
        let threshold = 5.0 * (INFLATION * pmax / draws).sqrt() / pmax;
        eprintln!(
            "β = {:.3}: max|p̂ − p|/max p = {:.4} (threshold {:.4})",
            pt.betas()[t],
            err / pmax,
            threshold
        );
        assert!(
            err / pmax < threshold,
            "temperature {t} (β = {}): {} ≥ {threshold}",
            pt.betas()[t],
            err / pmax
        );
    }
    let rates = pt.acceptance_rates();
    eprintln!("swap acceptance: {rates:?}");
    assert_eq!(rates.len(), r - 1);
    for (pair, rate) in rates.iter().enumerate() {
        let rate = rate.expect("every pair was proposed");
        assert!(rate > 0.0 && rate < 1.0, "pair {pair}: rate {rate}");
    }
    let attempts: u64 = pt.pair_stats().iter().map(|s| s.attempts).sum();
    // Each round proposes ⌈(R−1)/2⌉ or ⌊(R−1)/2⌋ pairs per ladder.
    assert_eq!(attempts, pt.rounds() / 2 * (r as u64 - 1) * ladders as u64);
}

/// Without swaps, the coldest temperature started all-down stays mostly there: the model is
/// one where single-temperature Gibbs mixes slowly.
#[test]
fn single_temperature_gibbs_is_stuck_on_the_test_model() {
    let model = ring(6, 1.0, 0.1);
    let mut sampler = Sampler::builder(model.clone())
        .backend(BackendChoice::Reference)
        .options(SamplerOptions {
            chains: 64,
            seed: 7,
            threads: 0,
            beta: 3.0,
        })
        .build()
        .unwrap();
    all_down(&mut sampler);
    sampler.sweep(200 + 2000 * ROUNDS_BETWEEN).unwrap();
    let down = (0..64)
        .filter(|&c| sampler.chain_state(c).unwrap().iter().all(|&v| v < 0.0))
        .count();
    let exact = enumerate(&model, 3.0)[&vec![-1; 6]];
    eprintln!("all-down: {down}/64 chains, exact p = {exact:.4}");
    assert!(down as f64 / 64.0 > 0.5 && exact < 0.05);
}

#[test]
fn swap_history_is_deterministic_across_thread_counts() {
    let history = |threads: usize| {
        let (_, mut pt) = ring_pt(4, threads, 11, false);
        let mut events: Vec<SwapEvent> = Vec::new();
        for _ in 0..300 {
            events.extend(pt.step().unwrap());
        }
        let holders: Vec<usize> = (0..4)
            .flat_map(|l| pt.holders(l).unwrap().to_vec())
            .collect();
        let states: Vec<Vec<f32>> = (0..pt.sampler().chains())
            .map(|c| pt.sampler().chain_state(c).unwrap())
            .collect();
        (events, holders, states, pt.pair_stats().to_vec())
    };
    let one = history(1);
    let two = history(2);
    assert!(one.0.iter().any(|e| e.accepted) && one.0.iter().any(|e| !e.accepted));
    assert_eq!(one, two);
    // A different seed gives a different history.
    let (_, mut other) = ring_pt(4, 1, 12, false);
    let mut events = Vec::new();
    for _ in 0..300 {
        events.extend(other.step().unwrap());
    }
    assert_ne!(one.0, events);
}

#[test]
fn holders_and_betas_stay_consistent() {
    let (_, mut pt) = ring_pt(3, 1, 5, false);
    for _ in 0..100 {
        pt.step().unwrap();
        for l in 0..pt.ladders() {
            let holders = pt.holders(l).unwrap().to_vec();
            let mut sorted = holders.clone();
            sorted.sort_unstable();
            // A ladder's temperatures stay within its own chains.
            assert_eq!(sorted, (l * 6..(l + 1) * 6).collect::<Vec<_>>());
            for (t, &c) in holders.iter().enumerate() {
                assert_eq!(pt.sampler().beta(c).unwrap(), pt.betas()[t]);
                assert_eq!(pt.temperature_of(c).unwrap(), t);
                assert_eq!(pt.holder(l, t).unwrap(), c);
                assert_eq!(pt.energy_at(l, t).unwrap(), pt.sampler().energy(c).unwrap());
            }
        }
    }
    pt.reset_stats();
    assert!(pt.acceptance_rates().iter().all(Option::is_none));
}

#[test]
fn single_temperature_ladder_never_swaps() {
    let model = ring(4, 1.0, 0.0);
    let ladder = BetaLadder::new(vec![1.0]).unwrap();
    let options = TemperingOptions {
        threads: 1,
        ..TemperingOptions::default()
    };
    let mut pt = ParallelTempering::new(model, ladder, options).unwrap();
    assert!(pt.step().unwrap().is_empty());
    assert!(pt.acceptance_rates().is_empty());
}

#[test]
fn ladders_and_schedules_have_the_documented_values() {
    let l = BetaLadder::geometric(0.1, 1.6, 5).unwrap();
    assert_eq!(l.betas()[0], 0.1);
    assert_eq!(l.betas()[4], 1.6);
    for w in l.betas().windows(2) {
        assert!((w[1] / w[0] - 2.0).abs() < 1e-5);
    }
    assert_eq!(BetaLadder::geometric(0.5, 2.0, 1).unwrap().betas(), [2.0]);
    let a = AnnealingSchedule::linear(0.5, 2.0, 4, 3).unwrap();
    assert_eq!(a.betas(), [0.5, 1.0, 1.5, 2.0]);
    assert_eq!(a.total_sweeps(), 12);
    let g = AnnealingSchedule::geometric(0.25, 2.0, 4, 1).unwrap();
    for (x, y) in g.betas().iter().zip([0.25, 0.5, 1.0, 2.0]) {
        assert!((x - y).abs() < 1e-6);
    }
    assert_eq!(
        AnnealingSchedule::custom(vec![2.0, 1.0, 3.0], 1)
            .unwrap()
            .betas(),
        [2.0, 1.0, 3.0]
    );
}

fn ground_energy(model: &Model) -> f64 {
    all_states(model.node_count())
        .iter()
        .map(|s| model.energy(s))
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn annealing_reaches_the_ground_state_energy() {
    let model = sk(10, 3);
    let ground = ground_energy(&model);
    let schedules = [
        AnnealingSchedule::linear(0.1, 5.0, 100, 2).unwrap(),
        AnnealingSchedule::geometric(0.05, 5.0, 100, 2).unwrap(),
        AnnealingSchedule::custom(vec![0.2, 0.5, 1.0, 2.0, 4.0, 8.0], 30).unwrap(),
    ];
    for schedule in &schedules {
        let mut sampler = Sampler::builder(model.clone())
            .backend(BackendChoice::Reference)
            .options(SamplerOptions {
                chains: 16,
                seed: 1,
                threads: 1,
                beta: 1.0,
            })
            .build()
            .unwrap();
        let result = anneal(&mut sampler, schedule).unwrap();
        let (chain, best) = result.best().unwrap();
        eprintln!("ground {ground}, best {best} (chain {chain})");
        let tol = 1e-5 * ground.abs();
        assert!(
            (best - ground).abs() < tol,
            "best {best} vs ground {ground}"
        );
        for c in 0..16 {
            assert!(result.final_energies[c] >= ground - tol);
            assert!(result.best_energies[c] <= result.final_energies[c]);
            assert_eq!(
                model.energy(&result.best_states[c]),
                result.best_energies[c]
            );
            assert_eq!(
                model.energy(&result.final_states[c]),
                result.final_energies[c]
            );
            assert_eq!(sampler.beta(c).unwrap(), *schedule.betas().last().unwrap());
        }
    }
}

#[test]
fn bad_input_gives_typed_errors() {
    use TemperingError::*;
    assert_eq!(BetaLadder::new(vec![]), Err(EmptyLadder));
    assert_eq!(
        BetaLadder::new(vec![0.5, 0.0]),
        Err(InvalidBeta {
            index: 1,
            beta: 0.0
        })
    );
    assert!(matches!(
        BetaLadder::new(vec![1.0, f32::NAN]),
        Err(InvalidBeta { index: 1, .. })
    ));
    assert_eq!(
        BetaLadder::new(vec![1.0, f32::INFINITY]),
        Err(InvalidBeta {
            index: 1,
            beta: f32::INFINITY
        })
    );
    assert_eq!(
        BetaLadder::new(vec![-1.0]),
        Err(InvalidBeta {
            index: 0,
            beta: -1.0
        })
    );
    assert_eq!(
        BetaLadder::new(vec![1.0, 1.0]),
        Err(NotIncreasing {
            index: 1,
            previous: 1.0,
            beta: 1.0
        })
    );
    assert!(matches!(
        BetaLadder::new(vec![1.0, 2.0, 1.5]),
        Err(NotIncreasing { index: 2, .. })
    ));
    assert_eq!(BetaLadder::geometric(0.1, 1.0, 0), Err(EmptyLadder));
    assert!(matches!(
        BetaLadder::geometric(2.0, 1.0, 3),
        Err(NotIncreasing { .. })
    ));
    assert!(matches!(
        BetaLadder::geometric(0.0, 1.0, 3),
        Err(InvalidBeta { index: 0, .. })
    ));

    let model = ring(4, 1.0, 0.0);
    let ladder = BetaLadder::geometric(0.5, 2.0, 3).unwrap();
    let opts = |ladders, sweeps_per_swap| TemperingOptions {
        ladders,
        sweeps_per_swap,
        seed: 0,
        threads: 1,
        backend: BackendChoice::Reference,
    };
    assert!(matches!(
        ParallelTempering::new(model.clone(), ladder.clone(), opts(0, 1)),
        Err(NoLadders)
    ));
    assert!(matches!(
        ParallelTempering::new(model.clone(), ladder.clone(), opts(1, 0)),
        Err(ZeroSweeps { .. })
    ));
    assert!(matches!(
        ParallelTempering::new(model.clone(), ladder.clone(), opts(usize::MAX, 1)),
        Err(TooManyChains { .. })
    ));
    let mut pt = ParallelTempering::new(model.clone(), ladder, opts(2, 1)).unwrap();
    assert!(matches!(
        pt.write_states(&[0.5; 6 * 4]),
        Err(TemperingError::Runtime(_))
    ));
    assert!(matches!(
        pt.holder(2, 0),
        Err(OutOfRange { what: "ladder", .. })
    ));
    assert!(matches!(
        pt.holder(0, 3),
        Err(OutOfRange {
            what: "temperature",
            ..
        })
    ));
    assert!(matches!(
        pt.temperature_of(6),
        Err(OutOfRange { what: "chain", .. })
    ));

    assert_eq!(AnnealingSchedule::custom(vec![], 1), Err(EmptyLadder));
    assert_eq!(AnnealingSchedule::linear(0.1, 1.0, 0, 1), Err(EmptyLadder));
    assert!(matches!(
        AnnealingSchedule::custom(vec![1.0], 0),
        Err(ZeroSweeps { .. })
    ));
    assert!(matches!(
        AnnealingSchedule::linear(0.0, 1.0, 5, 1),
        Err(InvalidBeta { index: 0, .. })
    ));
    assert!(matches!(
        AnnealingSchedule::geometric(0.1, f32::NAN, 5, 1),
        Err(InvalidBeta { index: 4, .. })
    ));
    assert!(matches!(
        AnnealingSchedule::custom(vec![1.0, -2.0], 1),
        Err(InvalidBeta { index: 1, .. })
    ));
    // Errors render as messages.
    assert!(
        NotIncreasing {
            index: 2,
            previous: 1.0,
            beta: 0.5
        }
        .to_string()
        .contains("β[1] = 1")
    );
}

/// Integrated autocorrelation time `1 + 2 Σ ρ_k` of pooled series (one per ladder), summed
/// until ρ_k first drops below 0.02.
fn integrated_autocorrelation(series: &[Vec<f64>]) -> f64 {
    let all: Vec<f64> = series.iter().flatten().copied().collect();
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    let var = all.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / all.len() as f64;
    if var == 0.0 {
        return 1.0;
    }
    let mut tau = 1.0;
    for k in 1..series[0].len() / 4 {
        let (mut acc, mut n) = (0.0, 0usize);
        for s in series {
            for i in 0..s.len() - k {
                acc += (s[i] - mean) * (s[i + k] - mean);
                n += 1;
            }
        }
        let rho = acc / n as f64 / var;
        if rho < 0.02 {
            break;
        }
        tau += 2.0 * rho;
    }
    tau
}

/// Measures the autocorrelation behind `INFLATION`: per temperature, the integrated
/// autocorrelation time (in observations `ROUNDS_BETWEEN` rounds apart) of the energy and of
/// the indicator of the all-up state.
#[test]
#[ignore = "diagnostic: long run that justifies INFLATION"]
fn pt_autocorrelation_is_small() {
    let ladders = 16;
    let samples = 20_000u64;
    let (_, mut pt) = ring_pt(ladders, 0, 3, true);
    let r = pt.temperatures();
    let mut energy = vec![vec![Vec::new(); ladders]; r];
    let mut up = vec![vec![Vec::new(); ladders]; r];
    pt.run(
        &SamplingSchedule::new(200, samples, ROUNDS_BETWEEN),
        |_, pt| {
            for t in 0..r {
                for l in 0..ladders {
                    energy[t][l].push(pt.energy_at(l, t).unwrap());
                    let s = pt.state_at(l, t).unwrap();
                    up[t][l].push(if s.iter().all(|&v| v > 0.0) { 1.0 } else { 0.0 });
                }
            }
        },
    )
    .unwrap();
    for t in 0..r {
        let (te, tu) = (
            integrated_autocorrelation(&energy[t]),
            integrated_autocorrelation(&up[t]),
        );
        eprintln!(
            "β = {:.3}: τ(E) = {te:.2}, τ(all-up) = {tu:.2}",
            pt.betas()[t]
        );
        assert!(te < INFLATION && tu < INFLATION);
    }
}
