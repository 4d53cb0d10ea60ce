//! Gradients of two-layer machines against exact answers: the exact gradient against
//! central finite differences of the exact log-likelihood (every parameter, Gaussian `loc` and
//! `log_var` included, for several kind pairs); PCD's model statistics within five standard
//! errors of the exact ones (the variance of each Rao–Blackwellised statistic under the model,
//! over the number of chains); CD-1's against the exact one-step kernel `v → h → v'`.

mod machine_support;

use blockgibbs_models::machine::{
    BoltzmannMachine, Conditional, MachineGradient, MachineGradientEstimator, UnitKind,
    average_log_likelihood, exact_gradient, exact_model_stats, log_partition, positive_phase,
};
use blockgibbs_models::rbm::Sampling;
use machine_support::{layer_states, random_machine, random_state};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The machine with flat parameter `index` (in [`MachineGradient::flatten`] order) moved by
/// `delta`, and the step actually taken after rounding to `f32`.
fn perturbed(m: &BoltzmannMachine, index: usize, delta: f64) -> (BoltzmannMachine, f64) {
    let mut layers = m.layers().to_vec();
    let mut weights = m.weights().to_vec();
    let mut k = index;
    let bump = |x: &mut f32| {
        let old = *x;
        *x = (old as f64 + delta) as f32;
        *x as f64 - old as f64
    };
    let mut step = None;
    for layer in &mut layers {
        let (mut b, mut s) = (layer.bias().to_vec(), layer.log_var().to_vec());
        if step.is_none() && k < b.len() {
            step = Some(bump(&mut b[k]));
        } else if step.is_none() {
            k -= b.len();
            if k < s.len() {
                step = Some(bump(&mut s[k]));
            } else {
                k -= s.len();
            }
        }
        *layer = layer.with_params(b, s).unwrap();
    }
    for w in &mut weights {
        if step.is_none() {
            if k < w.len() {
                step = Some(bump(&mut w[k]));
            } else {
                k -= w.len();
            }
        }
    }
    (
        BoltzmannMachine::new(layers, weights).unwrap(),
        step.unwrap(),
    )
}

fn check_against_finite_differences(spec: &[(UnitKind, usize)], seed: u64) {
    let m = random_machine(spec, 0.6, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 100);
    let data: Vec<f32> = (0..6)
        .flat_map(|_| random_state(&m.layers()[0], &mut rng))
        .collect();
    let grad = exact_gradient(&m, &data).unwrap().gradient.flatten();
    let mut worst: f64 = 0.0;
    for (idx, &g) in grad.iter().enumerate() {
        let (plus, dp) = perturbed(&m, idx, 1e-3);
        let (minus, dm) = perturbed(&m, idx, -1e-3);
        let lp = average_log_likelihood(&plus, &data).unwrap();
        let lm = average_log_likelihood(&minus, &data).unwrap();
        // The gradient is of the *negative* log-likelihood.
        let fd = -(lp - lm) / (dp - dm);
        let err = (fd - g).abs();
        worst = worst.max(err);
        assert!(
            err < 2e-4 * (1.0 + g.abs()),
            "{spec:?} parameter {idx}: exact {g} vs finite difference {fd}"
        );
    }
    eprintln!(
        "{spec:?}: {} parameters, worst |exact − fd| = {worst:.2e}",
        grad.len()
    );
}

#[test]
fn exact_gradient_equals_finite_differences_of_the_log_likelihood() {
    check_against_finite_differences(&[(UnitKind::Gaussian, 2), (UnitKind::Binary, 3)], 1);
    check_against_finite_differences(&[(UnitKind::Binary, 3), (UnitKind::Gaussian, 2)], 2);
    check_against_finite_differences(&[(UnitKind::Spin, 2), (UnitKind::Categorical(3), 2)], 3);
    check_against_finite_differences(&[(UnitKind::Categorical(3), 2), (UnitKind::Spin, 3)], 4);
    check_against_finite_differences(&[(UnitKind::Gaussian, 2), (UnitKind::Categorical(3), 2)], 5);
}

/// For a machine whose layer 0 is discrete: each visible state's Rao–Blackwellised
/// statistics (= `positive_phase` of that one row) with its exact probability.
fn per_state_stats(m: &BoltzmannMachine) -> Vec<(Vec<f32>, Vec<f64>, f64)> {
    let log_z = log_partition(m).unwrap();
    layer_states(&m.layers()[0])
        .into_iter()
        .map(|v| {
            let s = positive_phase(m, &v).unwrap().flatten();
            let p = (-m.free_energy(&[Some(&v), None]).unwrap() - log_z).exp();
            (v, s, p)
        })
        .collect()
}

fn model_mean_and_var(m: &BoltzmannMachine) -> (Vec<f64>, Vec<f64>) {
    let states = per_state_stats(m);
    let n = states[0].1.len();
    let (mut mean, mut sq) = (vec![0.0; n], vec![0.0; n]);
    for (_, s, p) in &states {
        for k in 0..n {
            mean[k] += p * s[k];
            sq[k] += p * s[k] * s[k];
        }
    }
    let var = (0..n)
        .map(|k| (sq[k] - mean[k] * mean[k]).max(0.0))
        .collect();
    (mean, var)
}

fn check_within(label: &str, got: &[f64], mean: &[f64], var: &[f64], chains: usize) -> f64 {
    let mut worst: f64 = 0.0;
    for k in 0..mean.len() {
        let tol = 5.0 * (var[k] / chains as f64).sqrt() + 1e-9;
        let err = (got[k] - mean[k]).abs();
        worst = worst.max(err / tol);
        assert!(
            err < tol,
            "{label} statistic {k}: {} vs exact {} (tol {tol})",
            got[k],
            mean[k]
        );
    }
    worst
}

#[test]
fn pcd_model_statistics_match_the_exact_ones() {
    const CHAINS: usize = 3000;
    for (spec, seed) in [
        (vec![(UnitKind::Binary, 4), (UnitKind::Spin, 3)], 11),
        (
            vec![(UnitKind::Categorical(3), 2), (UnitKind::Gaussian, 2)],
            12,
        ),
    ] {
        let m = random_machine(&spec, 0.7, seed);
        let (mean, var) = model_mean_and_var(&m);
        // The enumeration above and exact_model_stats agree.
        let exact = exact_model_stats(&m).unwrap().flatten();
        for (a, b) in exact.iter().zip(&mean) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        let data: Vec<f32> = layer_states(&m.layers()[0]).concat();
        let mut pcd = MachineGradientEstimator::new(
            Sampling::Pcd {
                k: 40,
                chains: CHAINS,
            },
            seed,
        )
        .unwrap();
        let first = pcd.estimate(&m, &data).unwrap();
        assert_eq!(first.positive, positive_phase(&m, &data).unwrap());
        let w1 = check_within("PCD first", &first.negative.flatten(), &mean, &var, CHAINS);
        // The chains persist: the next estimate continues them for 2 more sweeps.
        let before = pcd.fantasy_particles().to_vec();
        assert_eq!(before[0].len(), CHAINS * m.layers()[0].len());
        assert_eq!(before[1].len(), CHAINS * m.layers()[1].len());
        let second = pcd.estimate(&m, &data).unwrap();
        let w2 = check_within(
            "PCD second",
            &second.negative.flatten(),
            &mean,
            &var,
            CHAINS,
        );
        assert_ne!(pcd.fantasy_particles(), &before[..]);
        // gradient = negative − positive.
        let g = second.gradient.flatten();
        let (n, p) = (second.negative.flatten(), second.positive.flatten());
        for k in 0..g.len() {
            assert!((g[k] - (n[k] - p[k])).abs() < 1e-12);
        }
        eprintln!("{spec:?}: worst error / tolerance {w1:.3}, {w2:.3}");
    }
}

/// CD-1 from one repeated row: the final `v'` follows `T(v → v') = Σ_h p(h|v) p(v'|h)`.
#[test]
fn cd1_model_statistics_follow_the_one_step_kernel() {
    const ROWS: usize = 3000;
    let m = random_machine(&[(UnitKind::Spin, 3), (UnitKind::Binary, 3)], 0.9, 21);
    let x = vec![1.0f32, -1.0, 1.0];
    let prob = |c: &Conditional, s: &[f32]| -> f64 {
        let (Conditional::Binary(p) | Conditional::Spin(p)) = c else {
            panic!("discrete scalar layer expected");
        };
        p.iter()
            .zip(s)
            .map(|(&p, &s)| if s == 1.0 { p } else { 1.0 - p })
            .product()
    };
    let ch = m.conditional(1, &[x.clone(), vec![]]).unwrap();
    let mut t = Vec::new();
    for v in layer_states(&m.layers()[0]) {
        let mut tv = 0.0;
        for h in layer_states(&m.layers()[1]) {
            let cv = m.conditional(0, &[vec![], h.clone()]).unwrap();
            tv += prob(&ch, &h) * prob(&cv, &v);
        }
        t.push((v, tv));
    }
    let n = positive_phase(&m, &x).unwrap().flatten().len();
    let (mut mean, mut sq) = (vec![0.0; n], vec![0.0; n]);
    for (v, p) in &t {
        let s = positive_phase(&m, v).unwrap().flatten();
        for k in 0..n {
            mean[k] += p * s[k];
            sq[k] += p * s[k] * s[k];
        }
    }
    let var: Vec<f64> = (0..n)
        .map(|k| (sq[k] - mean[k] * mean[k]).max(0.0))
        .collect();
    let mut cd = MachineGradientEstimator::new(Sampling::Cd { k: 1 }, 5).unwrap();
    let est = cd.estimate(&m, &x.repeat(ROWS)).unwrap();
    assert!(cd.fantasy_particles().is_empty());
    let worst = check_within("CD-1", &est.negative.flatten(), &mean, &var, ROWS);
    eprintln!("CD-1 worst error / tolerance {worst:.3}");
    // The exact stationary statistics differ from CD-1's: the test can tell them apart.
    let exact = exact_model_stats(&m).unwrap().flatten();
    assert!(exact.iter().zip(&mean).any(|(a, b)| (a - b).abs() > 0.05));
    assert_eq!(MachineGradient::zeros(&m).flatten().len(), n);
}
