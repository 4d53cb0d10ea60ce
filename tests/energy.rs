//! Energies of given states against hand-computed values, one factor shape at a time, and
//! the sampler's EnergyObserver against an independent hand-written energy function on every
//! sampled state.
mod common;

use blockgibbs::prelude::*;
use std::sync::Arc;

// Node layout shared by every case: s: 3 spins, q: 2 binaries, c: 3 categoricals (K = 3),
// d: 1 categorical (K = 2), x: 3 Gaussians.
const S: [usize; 3] = [0, 1, 2];
const Q: [usize; 2] = [3, 4];
const C: [usize; 3] = [5, 6, 7];
const D: usize = 8;
const X: [usize; 3] = [9, 10, 11];

fn n(i: usize) -> NodeId {
    NodeId(i as u32)
}

fn nodes<const K: usize>(ids: [usize; K]) -> Vec<NodeId> {
    ids.iter().map(|&i| n(i)).collect()
}

fn base() -> ModelBuilder {
    let mut b = ModelBuilder::new();
    b.group("s", NodeKind::Spin, 3).unwrap();
    b.group("q", NodeKind::Binary, 2).unwrap();
    b.group("c", NodeKind::Categorical(3), 3).unwrap();
    b.group("d", NodeKind::Categorical(2), 1).unwrap();
    b.group("x", NodeKind::Gaussian, 3).unwrap();
    b
}

/// The given state: s = (+1, −1, +1), q = (1, 0), c = (2, 0, 2), d = 1, x = (0.5, −1.5, 2).
const STATE: [f32; 12] = [1.0, -1.0, 1.0, 1.0, 0.0, 2.0, 0.0, 2.0, 1.0, 0.5, -1.5, 2.0];

/// One factor shape: how to add it, its log-density written out by hand, and its energy at
/// [`STATE`] computed by hand (in the comment) — three independent statements of one thing.
struct Case {
    name: &'static str,
    add: fn(&mut ModelBuilder),
    log_density: fn(&[f64]) -> f64,
    energy_at_state: f64,
    /// Whether the case keeps the density proper (x²·y terms do not).
    samplable: bool,
}

fn cat(v: &[f64], i: usize) -> usize {
    v[i] as usize
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "spin bias", // 0.5·1 + 0.25·(−1) − 1·1 = −0.75
            add: |b| {
                b.linear_bias("h", &nodes(S), &[0.5, 0.25, -1.0]);
            },
            log_density: |v| 0.5 * v[S[0]] + 0.25 * v[S[1]] - v[S[2]],
            energy_at_state: 0.75,
            samplable: true,
        },
        Case {
            name: "binary bias", // 0.7·1 − 0.3·0 = 0.7
            add: |b| {
                b.linear_bias("a", &nodes(Q), &[0.7, -0.3]);
            },
            log_density: |v| 0.7 * v[Q[0]] - 0.3 * v[Q[1]],
            energy_at_state: -0.7,
            samplable: true,
        },
        Case {
            name: "spin pair", // 0.6·(1·−1) − 0.4·(−1·1) = −0.2
            add: |b| {
                b.pair_coupling("j", &nodes([0, 1]), &nodes([1, 2]), &[0.6, -0.4]);
            },
            log_density: |v| 0.6 * v[S[0]] * v[S[1]] - 0.4 * v[S[1]] * v[S[2]],
            energy_at_state: 0.2,
            samplable: true,
        },
        Case {
            name: "spin × binary pair", // 0.9·(−1)·1 = −0.9
            add: |b| {
                b.pair_coupling("sq", &[n(S[1])], &[n(Q[0])], &[0.9]);
            },
            log_density: |v| 0.9 * v[S[1]] * v[Q[0]],
            energy_at_state: 0.9,
            samplable: true,
        },
        Case {
            name: "3-body spin", // 1.25·1·(−1)·1 = −1.25
            add: |b| {
                let f = Factor::new("t")
                    .product([n(0)])
                    .product([n(1)])
                    .product([n(2)]);
                b.factor(f.weights([1.25]));
            },
            log_density: |v| 1.25 * v[S[0]] * v[S[1]] * v[S[2]],
            energy_at_state: 1.25,
            samplable: true,
        },
        Case {
            name: "categorical bias", // θ0[2] + θ1[0] = 0.3 + 0.4
            add: |b| {
                b.categorical_bias("th", &nodes([5, 6]), &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
            },
            log_density: |v| [0.1, 0.2, 0.3][cat(v, C[0])] + [0.4, 0.5, 0.6][cat(v, C[1])],
            energy_at_state: -0.7,
            samplable: true,
        },
        Case {
            name: "Potts", // 1.5·δ(2, 2) − 0.5·δ(0, 2) = 1.5
            add: |b| {
                b.potts_coupling("p", &nodes([5, 6]), &nodes([7, 7]), &[1.5, -0.5]);
            },
            log_density: |v| {
                let d = |a: usize, b: usize| (v[a] == v[b]) as u8 as f64;
                1.5 * d(C[0], C[2]) - 0.5 * d(C[1], C[2])
            },
            energy_at_state: -1.5,
            samplable: true,
        },
        Case {
            name: "categorical × categorical tensor", // W0[2, 1] + W1[0, 1] = 0.6 + (−0.8)
            add: |b| {
                let w = [
                    0.1, 0.2, 0.3, 0.4, 0.5, 0.6, -0.7, -0.8, -0.9, -1.0, -1.1, -1.2,
                ];
                let f = Factor::new("cc")
                    .categorical(nodes([5, 6]))
                    .categorical(nodes([8, 8]));
                b.factor(f.weights(w));
            },
            log_density: |v| {
                let w = [
                    0.1, 0.2, 0.3, 0.4, 0.5, 0.6, -0.7, -0.8, -0.9, -1.0, -1.1, -1.2,
                ];
                w[cat(v, C[0]) * 2 + cat(v, D)] + w[6 + cat(v, C[1]) * 2 + cat(v, D)]
            },
            energy_at_state: 0.2,
            samplable: true,
        },
        Case {
            name: "categorical × spin", // W0[2]·s0 + W1[0]·s1 = 0.3·1 + (−0.4)(−1) = 0.7
            add: |b| {
                let f = Factor::new("cs")
                    .categorical(nodes([5, 6]))
                    .product(nodes([0, 1]));
                b.factor(f.weights([0.1, 0.2, 0.3, -0.4, -0.5, -0.6]));
            },
            log_density: |v| {
                [0.1, 0.2, 0.3][cat(v, C[0])] * v[S[0]] + [-0.4, -0.5, -0.6][cat(v, C[1])] * v[S[1]]
            },
            energy_at_state: -0.7,
            samplable: true,
        },
        Case {
            name: "Gaussian linear", // 2·0.5 − 1·(−1.5) = 2.5
            add: |b| {
                b.gaussian_linear("gl", &nodes([9, 10]), &[2.0, -1.0]);
            },
            log_density: |v| 2.0 * v[X[0]] - v[X[1]],
            energy_at_state: -2.5,
            samplable: true,
        },
        Case {
            name: "Gaussian quadratic", // −½(4·0.25 + 2·2.25 + 0.5·4) = −3.75
            add: |b| {
                b.gaussian_precision("gp", &nodes(X), &[4.0, 2.0, 0.5]);
            },
            log_density: |v| {
                -0.5 * (4.0 * v[X[0]].powi(2) + 2.0 * v[X[1]].powi(2) + 0.5 * v[X[2]].powi(2))
            },
            energy_at_state: 3.75,
            samplable: true,
        },
        Case {
            name: "Gaussian coupling", // 0.8·0.5·(−1.5) = −0.6
            add: |b| {
                b.gaussian_coupling("gc", &[n(X[0])], &[n(X[1])], &[0.8]);
            },
            log_density: |v| 0.8 * v[X[0]] * v[X[1]],
            energy_at_state: 0.6,
            samplable: true,
        },
        Case {
            name: "Gaussian × binary", // 1.5·2·1 + 2·(−1.5)·0 = 3
            add: |b| {
                b.gaussian_discrete_coupling("gb", &nodes([11, 10]), &nodes(Q), &[1.5, 2.0]);
            },
            log_density: |v| 1.5 * v[X[2]] * v[Q[0]] + 2.0 * v[X[1]] * v[Q[1]],
            energy_at_state: -3.0,
            samplable: true,
        },
        Case {
            name: "Gaussian × spin", // −0.5·(−1.5)·1 = 0.75
            add: |b| {
                b.gaussian_discrete_coupling("gs", &[n(X[1])], &[n(S[2])], &[-0.5]);
            },
            log_density: |v| -0.5 * v[X[1]] * v[S[2]],
            energy_at_state: -0.75,
            samplable: true,
        },
        Case {
            name: "gated mean", // W0[2]·0.5 + W1[0]·(−1.5) = 1.5 − 6 = −4.5
            add: |b| {
                b.gated_gaussian_mean(
                    "gm",
                    &nodes([5, 6]),
                    &nodes([9, 10]),
                    &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                );
            },
            log_density: |v| {
                [1.0, 2.0, 3.0][cat(v, C[0])] * v[X[0]] + [4.0, 5.0, 6.0][cat(v, C[1])] * v[X[1]]
            },
            energy_at_state: 4.5,
            samplable: true,
        },
        Case {
            name: "gated precision", // −½·λ[2]·2² = −½·3·4 = −6
            add: |b| {
                b.gated_gaussian_precision("gq", &[n(C[0])], &[n(X[2])], &[1.0, 2.0, 3.0]);
            },
            log_density: |v| -0.5 * [1.0, 2.0, 3.0][cat(v, C[0])] * v[X[2]].powi(2),
            energy_at_state: 6.0,
            samplable: true,
        },
        Case {
            name: "spin-gated precision x²·s", // 0.5·(−1)·4 = −2
            add: |b| {
                let f = Factor::new("xs")
                    .product([n(S[1])])
                    .gaussian([n(X[2])], Power::Two);
                b.factor(f.weights([0.5]));
            },
            log_density: |v| 0.5 * v[S[1]] * v[X[2]].powi(2),
            energy_at_state: 2.0,
            samplable: true,
        },
        Case {
            name: "categorical × spin × Gaussian", // W[2]·s0·x1 = 0.6·1·(−1.5) = −0.9
            add: |b| {
                let f = Factor::new("csx").categorical([n(C[0])]).product([n(S[0])]);
                b.factor(f.gaussian([n(X[1])], Power::One).weights([0.2, 0.4, 0.6]));
            },
            log_density: |v| [0.2, 0.4, 0.6][cat(v, C[0])] * v[S[0]] * v[X[1]],
            energy_at_state: 0.9,
            samplable: true,
        },
        Case {
            name: "mixed powers x²·y", // 0.25·0.5²·2 = 0.125
            add: |b| {
                let f = Factor::new("x2y").gaussian([n(X[0])], Power::Two);
                b.factor(f.gaussian([n(X[2])], Power::One).weights([0.25]));
            },
            log_density: |v| 0.25 * v[X[0]].powi(2) * v[X[2]],
            energy_at_state: -0.125,
            samplable: false,
        },
        Case {
            name: "mixed powers x²·y²", // 0.1·2.25·4 = 0.9
            add: |b| {
                let f = Factor::new("x2y2").gaussian([n(X[1])], Power::Two);
                b.factor(f.gaussian([n(X[2])], Power::Two).weights([0.1]));
            },
            log_density: |v| 0.1 * v[X[1]].powi(2) * v[X[2]].powi(2),
            energy_at_state: -0.9,
            samplable: false,
        },
    ]
}

#[test]
fn every_factor_shape_has_its_hand_computed_energy() {
    let state64: Vec<f64> = STATE.iter().map(|&v| v as f64).collect();
    let mut total = 0.0;
    let mut all = base();
    for case in cases() {
        let mut b = base();
        (case.add)(&mut b);
        (case.add)(&mut all);
        let model = b.build().unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let got = model.energy(&STATE);
        let formula = -(case.log_density)(&state64);
        println!(
            "{:34} E = {got:+.6} (hand {:+.6})",
            case.name, case.energy_at_state
        );
        assert!(
            (got - case.energy_at_state).abs() < 1e-6,
            "{}: {got}",
            case.name
        );
        assert!(
            (formula - case.energy_at_state).abs() < 1e-6,
            "{}: formula",
            case.name
        );
        assert_eq!(model.energy_with(|id| STATE[id.index()]), got);
        total += case.energy_at_state;
    }
    // Factors add.
    let all = all.build().unwrap();
    assert!(
        (all.energy(&STATE) - total).abs() < 1e-5,
        "{} vs {total}",
        all.energy(&STATE)
    );
}

#[test]
fn energy_observer_agrees_with_hand_formula_on_sampled_states() {
    let cases: Vec<Case> = cases().into_iter().filter(|c| c.samplable).collect();
    let mut b = base();
    for case in &cases {
        (case.add)(&mut b);
    }
    // Make x1's precision safely positive whatever its gates (x2: 0.5 + λ[c] − s ≥ 0.5).
    b.gaussian_precision("extra", &[n(X[1])], &[2.0]);
    let model = Arc::new(b.build().unwrap());
    let hand = |v: &[f64]| {
        -cases.iter().map(|c| (c.log_density)(v)).sum::<f64>() + 0.5 * 2.0 * v[X[1]] * v[X[1]]
    };
    let chains = 6;
    let mut sampler = common::sampler(&model, chains, 8);
    sampler.set_betas(&[1.0, 0.5, 2.0, 0.3, 1.7, 0.9]).unwrap(); // energies carry no β
    let all: Vec<NodeId> = (0..12).map(n).collect();
    let mut samples = SampleCollector::new(all);
    let mut energies = EnergyObserver::default();
    sampler
        .run(
            &SamplingSchedule::new(10, 200, 1),
            &mut [&mut samples, &mut energies],
        )
        .unwrap();
    assert_eq!(energies.energies.len(), 200);
    let mut worst = 0.0f64;
    for (s, row) in energies.energies.iter().enumerate() {
        assert_eq!(row.len(), chains);
        for (ch, &e) in row.iter().enumerate() {
            let v: Vec<f64> = samples.row(s, ch).iter().map(|&x| x as f64).collect();
            let h = hand(&v);
            worst = worst.max((e - h).abs() / (1.0 + h.abs()));
            assert!(
                (e - h).abs() < 1e-5 * (1.0 + h.abs()),
                "sample {s} chain {ch}: {e} vs {h}"
            );
        }
    }
    for ch in 0..chains {
        let st = sampler.chain_state(ch).unwrap();
        assert_eq!(sampler.energy(ch).unwrap(), model.energy(&st));
        let v: Vec<f64> = st.iter().map(|&x| x as f64).collect();
        assert!((sampler.energy(ch).unwrap() - hand(&v)).abs() < 1e-5 * (1.0 + hand(&v).abs()));
    }
    println!("EnergyObserver vs hand formula: worst relative difference {worst:.2e}");
}
