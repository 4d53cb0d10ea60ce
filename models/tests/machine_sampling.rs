//! The sampling modes of layered machines on the runtime (reference backend, fixed seeds)
//! against exact answers: Gibbs marginals vs enumeration for each discrete kind and a deep
//! machine, the Gaussian–binary RBM's hidden marginal and `E[v]` in closed form, clamped
//! layers vs conditionals, mean-field and deterministic fixed points, reconstruction.
//!
//! Thresholds: each chain contributes the average of its observations, whose variance is at
//! most the observable's exact variance `var`, and chains are independent, so the error of
//! the chain average has standard deviation ≤ `√(var / chains)`; we allow 5 of those
//! (plus 1e-9 for deterministic observables).

mod machine_support;

use blockgibbs_models::machine::{
    BoltzmannMachine, Conditional, Layer, MachineSampler, SamplingMode, UnitKind,
};
use blockgibbs_models::rbm::{log_sum_exp, sigmoid};
use blockgibbs_runtime::BackendChoice;
use machine_support::{
    exact_observables, layer_states, observables, options, random_machine, rows,
};

const CHAINS: usize = 2000;

/// Sampler averages of [`observables`] over `samples` observations `gap` sweeps apart after
/// `warmup` sweeps.
fn sampled_observables(s: &mut MachineSampler, warmup: u64, samples: usize, gap: u64) -> Vec<f64> {
    let machine = s.machine().clone();
    s.run(SamplingMode::MarkovChain, warmup).unwrap();
    let mut sum: Vec<f64> = Vec::new();
    for _ in 0..samples {
        s.run(SamplingMode::MarkovChain, gap).unwrap();
        let layers: Vec<Vec<Vec<f32>>> = (0..machine.n_layers())
            .map(|l| rows(&s.layer_values(l).unwrap(), machine.layers()[l].len()))
            .collect();
        for c in 0..s.chains() {
            let config: Vec<Vec<f32>> = layers.iter().map(|l| l[c].clone()).collect();
            let o = observables(&machine, &config);
            if sum.is_empty() {
                sum = vec![0.0; o.len()];
            }
            sum.iter_mut().zip(o).for_each(|(a, b)| *a += b);
        }
    }
    let n = (samples * s.chains()) as f64;
    sum.into_iter().map(|x| x / n).collect()
}

fn check_gibbs_marginals(machine: &BoltzmannMachine, seed: u64) {
    let (mean, var) = exact_observables(machine);
    let mut s = MachineSampler::new(
        machine,
        &[],
        options(CHAINS, seed),
        BackendChoice::Reference,
    )
    .unwrap();
    let got = sampled_observables(&mut s, 40, 8, 3);
    let mut worst: f64 = 0.0;
    for k in 0..mean.len() {
        let tol = 5.0 * (var[k] / CHAINS as f64).sqrt() + 1e-9;
        let err = (got[k] - mean[k]).abs();
        worst = worst.max(err / tol);
        assert!(
            err < tol,
            "observable {k}: sampled {} vs exact {} (tol {tol})",
            got[k],
            mean[k]
        );
    }
    eprintln!("worst error / tolerance = {worst:.3}");
}

#[test]
fn gibbs_marginals_match_enumeration_binary_spin_rbm() {
    let m = random_machine(&[(UnitKind::Binary, 5), (UnitKind::Spin, 4)], 0.8, 31);
    check_gibbs_marginals(&m, 1);
}

#[test]
fn gibbs_marginals_match_enumeration_categorical_rbm() {
    let m = random_machine(
        &[(UnitKind::Categorical(3), 3), (UnitKind::Binary, 4)],
        0.8,
        32,
    );
    check_gibbs_marginals(&m, 2);
}

#[test]
fn gibbs_marginals_match_enumeration_three_layer_machine() {
    let m = random_machine(
        &[
            (UnitKind::Spin, 3),
            (UnitKind::Binary, 3),
            (UnitKind::Categorical(3), 2),
        ],
        0.8,
        33,
    );
    check_gibbs_marginals(&m, 3);
}

/// Gaussian visible (σ² = e^{log_var}), binary hidden: integrating `v` out by hand,
/// `−F(h) = bᵀh + Σ_i [(loc_i f_i + f_i²/2)/σ_i² + ½ ln(2πσ_i²)]`, `f_i = Σ_j W_ij h_j`, and
/// `v | h ~ N(loc + f, σ²)`.
#[test]
fn gaussian_binary_rbm_hidden_marginal_and_visible_mean() {
    let m = random_machine(&[(UnitKind::Gaussian, 2), (UnitKind::Binary, 3)], 0.8, 41);
    let (v, h) = (&m.layers()[0], &m.layers()[1]);
    let w = &m.weights()[0];
    let hs = layer_states(h);
    let field =
        |hh: &[f32], i: usize| -> f64 { (0..3).map(|j| w[i * 3 + j] as f64 * hh[j] as f64).sum() };
    let neg_f: Vec<f64> = hs
        .iter()
        .map(|hh| {
            let mut x: f64 = (0..3).map(|j| h.bias()[j] as f64 * hh[j] as f64).sum();
            for i in 0..2 {
                let (loc, var) = (v.bias()[i] as f64, (v.log_var()[i] as f64).exp());
                let f = field(hh, i);
                x += (loc * f + 0.5 * f * f) / var + 0.5 * (2.0 * std::f64::consts::PI * var).ln();
            }
            x
        })
        .collect();
    let log_z = log_sum_exp(&neg_f);
    let p: Vec<f64> = neg_f.iter().map(|x| (x - log_z).exp()).collect();
    for (hh, x) in hs.iter().zip(&neg_f) {
        let f = m.free_energy(&[None, Some(hh)]).unwrap();
        assert!(
            (f + x).abs() < 1e-9,
            "machine free energy {f} vs hand {}",
            -x
        );
    }
    // E[v_i] and Var[v_i] under the model.
    let mut ev = [0.0f64; 2];
    let mut ev2 = [0.0f64; 2];
    for (hh, &ph) in hs.iter().zip(&p) {
        for i in 0..2 {
            let var = (v.log_var()[i] as f64).exp();
            let mu = v.bias()[i] as f64 + field(hh, i);
            ev[i] += ph * mu;
            ev2[i] += ph * (var + mu * mu);
        }
    }
    let mut s = MachineSampler::new(&m, &[], options(CHAINS, 4), BackendChoice::Reference).unwrap();
    s.run(SamplingMode::MarkovChain, 40).unwrap();
    let samples = 8;
    let mut freq = vec![0.0f64; hs.len()];
    let mut vsum = [0.0f64; 2];
    for _ in 0..samples {
        s.run(SamplingMode::MarkovChain, 3).unwrap();
        for row in rows(&s.layer_values(1).unwrap(), 3) {
            let idx = hs.iter().position(|x| *x == row).unwrap();
            freq[idx] += 1.0;
        }
        for row in rows(&s.layer_values(0).unwrap(), 2) {
            vsum[0] += row[0] as f64;
            vsum[1] += row[1] as f64;
        }
    }
    let n = (samples * CHAINS) as f64;
    for (k, &pk) in p.iter().enumerate() {
        let tol = 5.0 * (pk * (1.0 - pk) / CHAINS as f64).sqrt();
        assert!(
            (freq[k] / n - pk).abs() < tol,
            "h = {:?}: {} vs {pk}",
            hs[k],
            freq[k] / n
        );
    }
    for i in 0..2 {
        let tol = 5.0 * ((ev2[i] - ev[i] * ev[i]) / CHAINS as f64).sqrt();
        assert!(
            (vsum[i] / n - ev[i]).abs() < tol,
            "E[v{i}] {} vs {}",
            vsum[i] / n,
            ev[i]
        );
    }
}

/// Clamping the middle layer of a deep machine makes its neighbours independent draws from
/// their conditionals; half the chains get one clamped state, half another.
#[test]
fn clamped_middle_layer_gives_the_conditionals() {
    let m = random_machine(
        &[
            (UnitKind::Gaussian, 2),
            (UnitKind::Spin, 3),
            (UnitKind::Categorical(3), 2),
        ],
        0.8,
        51,
    );
    let clamps = [vec![1.0f32, -1.0, 1.0], vec![-1.0f32, -1.0, 1.0]];
    let mut per_chain = Vec::new();
    for c in 0..CHAINS {
        per_chain.extend_from_slice(&clamps[c % 2]);
    }
    let mut s =
        MachineSampler::new(&m, &[1], options(CHAINS, 5), BackendChoice::Reference).unwrap();
    s.clamp_layer(1, &per_chain).unwrap();
    s.run(SamplingMode::MarkovChain, 2).unwrap();
    let v = rows(&s.layer_values(0).unwrap(), 2);
    let top = rows(&s.layer_values(2).unwrap(), 2);
    let half = (CHAINS / 2) as f64;
    for (parity, clamp) in clamps.iter().enumerate() {
        let states = vec![vec![], clamp.clone(), vec![]];
        let chains = (0..CHAINS).filter(|c| c % 2 == parity);
        let Conditional::Gaussian { mean, var } = m.conditional(0, &states).unwrap() else {
            panic!("layer 0 is Gaussian");
        };
        let Conditional::Categorical { probs, .. } = m.conditional(2, &states).unwrap() else {
            panic!("layer 2 is categorical");
        };
        let (mut sv, mut sq) = ([0.0f64; 2], [0.0f64; 2]);
        let mut counts = [0.0f64; 6];
        for c in chains {
            for i in 0..2 {
                let x = v[c][i] as f64 - mean[i];
                sv[i] += x;
                sq[i] += x * x;
                counts[i * 3 + top[c][i] as usize] += 1.0;
            }
        }
        for i in 0..2 {
            let tol_mean = 5.0 * (var[i] / half).sqrt();
            assert!(
                (sv[i] / half).abs() < tol_mean,
                "mean offset {}",
                sv[i] / half
            );
            // Var of (x − μ)² is 2σ⁴ for a Gaussian.
            let tol_var = 5.0 * (2.0 * var[i] * var[i] / half).sqrt();
            assert!(
                (sq[i] / half - var[i]).abs() < tol_var,
                "{} vs {}",
                sq[i] / half,
                var[i]
            );
        }
        for (k, &pk) in probs.iter().enumerate() {
            let tol = 5.0 * (pk * (1.0 - pk) / half).sqrt();
            assert!(
                (counts[k] / half - pk).abs() < tol,
                "category {k}: {} vs {pk}",
                counts[k] / half
            );
        }
    }
}

/// After enough mean-field sweeps every layer equals its conditional mean given its
/// neighbours' means (the mean-field equations), checked with the machine's own conditional.
#[test]
fn mean_field_iteration_reaches_a_fixed_point_of_the_mean_field_equations() {
    let m = random_machine(
        &[
            (UnitKind::Binary, 4),
            (UnitKind::Spin, 3),
            (UnitKind::Gaussian, 2),
            (UnitKind::Binary, 2),
        ],
        0.5,
        61,
    );
    let mut s = MachineSampler::new(&m, &[], options(4, 6), BackendChoice::Reference).unwrap();
    s.run(SamplingMode::MeanField, 200).unwrap();
    for c in 0..4 {
        let states: Vec<Vec<f32>> = (0..m.n_layers())
            .map(|l| rows(&s.layer_values(l).unwrap(), m.layers()[l].len())[c].clone())
            .collect();
        for l in 0..m.n_layers() {
            let means = m.conditional(l, &states).unwrap().means().unwrap();
            for (i, (&x, mu)) in states[l].iter().zip(means).enumerate() {
                assert!(
                    (x as f64 - mu).abs() < 1e-4,
                    "chain {c} layer {l} unit {i}: {x} vs {mu}"
                );
            }
        }
    }
}

/// Deterministic iteration ends at a state where every unit is its conditional mode.
#[test]
fn deterministic_iteration_reaches_a_fixed_point_of_the_modes() {
    let m = random_machine(
        &[
            (UnitKind::Spin, 4),
            (UnitKind::Categorical(3), 2),
            (UnitKind::Binary, 3),
        ],
        0.8,
        71,
    );
    let mut s = MachineSampler::new(&m, &[], options(8, 7), BackendChoice::Reference).unwrap();
    s.run(SamplingMode::Deterministic, 50).unwrap();
    for c in 0..8 {
        let states: Vec<Vec<f32>> = (0..m.n_layers())
            .map(|l| rows(&s.layer_values(l).unwrap(), m.layers()[l].len())[c].clone())
            .collect();
        for l in 0..m.n_layers() {
            let mode: Vec<f32> = match m.conditional(l, &states).unwrap() {
                Conditional::Binary(p) => p.iter().map(|&p| (p >= 0.5) as u8 as f32).collect(),
                Conditional::Spin(p) => p
                    .iter()
                    .map(|&p| if p >= 0.5 { 1.0 } else { -1.0 })
                    .collect(),
                Conditional::Categorical { k, probs } => probs
                    .chunks_exact(k)
                    .map(|row| {
                        let best = row.iter().cloned().fold(f64::MIN, f64::max);
                        row.iter().position(|&x| x == best).unwrap() as f32
                    })
                    .collect(),
                Conditional::Gaussian { mean, .. } => mean.iter().map(|&x| x as f32).collect(),
            };
            assert_eq!(states[l], mode, "chain {c} layer {l}");
        }
    }
}

/// With weights of ±25 every conditional is 0 or 1 to within e⁻²⁰ (far below the 2⁻²⁴
/// resolution of a draw), so one reconstruction pass is a hand computation:
/// `h_j = [b_j + Σ_i W_ij v_i > 0]`, then `v_i = [a_i + Σ_j W_ij h_j > 0]`.
#[test]
fn reconstruction_is_one_pass_v_to_h_to_v() {
    let w = vec![25.0, -25.0, -25.0, 25.0, 25.0, 25.0];
    let v = Layer::binary(vec![-37.5, 12.5, -12.5]).unwrap();
    let h = Layer::binary(vec![-12.5, -12.5]).unwrap();
    let m = BoltzmannMachine::new(vec![v.clone(), h.clone()], vec![w.clone()]).unwrap();
    let data = layer_states(&v);
    let mut s =
        MachineSampler::new(&m, &[], options(data.len(), 8), BackendChoice::Reference).unwrap();
    let recon = rows(&s.reconstruction(&data.concat()).unwrap(), 3);
    for (x, r) in data.iter().zip(&recon) {
        let hh: Vec<f32> = (0..2)
            .map(|j| {
                let t = h.bias()[j] + (0..3).map(|i| w[i * 2 + j] * x[i]).sum::<f32>();
                (t > 0.0) as u8 as f32
            })
            .collect();
        let expected: Vec<f32> = (0..3)
            .map(|i| {
                let t = v.bias()[i] + (0..2).map(|j| w[i * 2 + j] * hh[j]).sum::<f32>();
                (t > 0.0) as u8 as f32
            })
            .collect();
        assert_eq!(r, &expected, "data {x:?}, hidden {hh:?}");
    }
}

/// The distribution of one reconstruction from a fixed row is
/// `T(v → v') = Σ_h p(h | v) p(v' | h)`, enumerated exactly.
#[test]
fn reconstruction_distribution_matches_the_two_step_kernel() {
    let m = random_machine(&[(UnitKind::Binary, 3), (UnitKind::Binary, 3)], 1.0, 81);
    let (v, h) = (&m.layers()[0], &m.layers()[1]);
    let w = &m.weights()[0];
    let x = [1.0f32, 0.0, 1.0];
    let vs = layer_states(v);
    let mut t = vec![0.0f64; vs.len()];
    for hh in layer_states(h) {
        let ph: f64 = (0..3)
            .map(|j| {
                let p = sigmoid(
                    h.bias()[j] as f64
                        + (0..3)
                            .map(|i| w[i * 3 + j] as f64 * x[i] as f64)
                            .sum::<f64>(),
                );
                if hh[j] == 1.0 { p } else { 1.0 - p }
            })
            .product();
        for (k, vv) in vs.iter().enumerate() {
            let pv: f64 = (0..3)
                .map(|i| {
                    let p = sigmoid(
                        v.bias()[i] as f64
                            + (0..3)
                                .map(|j| w[i * 3 + j] as f64 * hh[j] as f64)
                                .sum::<f64>(),
                    );
                    if vv[i] == 1.0 { p } else { 1.0 - p }
                })
                .product();
            t[k] += ph * pv;
        }
    }
    let mut s = MachineSampler::new(&m, &[], options(CHAINS, 9), BackendChoice::Reference).unwrap();
    let recon = rows(&s.reconstruction(&x.repeat(CHAINS)).unwrap(), 3);
    for (k, vv) in vs.iter().enumerate() {
        let f = recon.iter().filter(|r| *r == vv).count() as f64 / CHAINS as f64;
        let tol = 5.0 * (t[k] * (1.0 - t[k]) / CHAINS as f64).sqrt();
        assert!((f - t[k]).abs() < tol, "v' = {vv:?}: {f} vs {}", t[k]);
    }
}
