//! `IsingEBM`, `estimate_moments`, `estimate_kl_grad` and `hinton_init` against exact
//! enumeration. Thresholds are 5 standard errors computed from the number of draws, with
//! spin variances bounded by 1 and an allowance `TAU` for the integrated autocorrelation
//! time of draws taken `steps_per_sample` sweeps apart on these weakly coupled models.

use blockgibbs_models::{
    HintonRule, IsingEBM, IsingOptimizer, IsingTrainingSpec, KlGradEstimator, LrSchedule, Method,
    SamplingOptions, estimate_kl_grad, estimate_moments, hinton_init, lattice,
};
use blockgibbs_runtime::SamplingSchedule;

mod ising_support;
use ising_support::{chain4, options};

/// Allowance for autocorrelation between successive draws of one chain (τ_int ≤ 2).
const TAU: f64 = 2.0;

/// All 2^n states with their unnormalised probability exp(−E).
fn enumerate(ebm: &IsingEBM) -> Vec<(Vec<f32>, f64)> {
    let n = ebm.node_count();
    (0..1u32 << n)
        .map(|bits| {
            let s: Vec<f32> = (0..n)
                .map(|i| if bits >> i & 1 == 1 { 1.0 } else { -1.0 })
                .collect();
            let e = ebm.energy(&s).unwrap();
            (s, (-e).exp())
        })
        .collect()
}

/// Exact ⟨s_i⟩ (all nodes) and ⟨s_a s_b⟩ (the model's edges) with `clamped` nodes fixed to
/// `values`.
fn exact_moments(ebm: &IsingEBM, clamped: &[u32], values: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let mut z = 0.0;
    let mut m1 = vec![0.0; ebm.node_count()];
    let mut m2 = vec![0.0; ebm.edges().len()];
    for (s, w) in enumerate(ebm) {
        if clamped
            .iter()
            .zip(values)
            .any(|(&c, &v)| s[c as usize] != v)
        {
            continue;
        }
        z += w;
        for (m, x) in m1.iter_mut().zip(&s) {
            *m += w * *x as f64;
        }
        for (m, &(a, b)) in m2.iter_mut().zip(ebm.edges()) {
            *m += w * (s[a as usize] * s[b as usize]) as f64;
        }
    }
    (
        m1.iter().map(|m| m / z).collect(),
        m2.iter().map(|m| m / z).collect(),
    )
}

/// Mean −log p(v_k | c_k) over the examples, by enumeration.
fn exact_nll(
    ebm: &IsingEBM,
    data_nodes: &[u32],
    data: &[Vec<f32>],
    cond: &[u32],
    c: &[Vec<f32>],
) -> f64 {
    let states = enumerate(ebm);
    let mass = |nodes: &[u32], vals: &[f32]| -> f64 {
        states
            .iter()
            .filter(|(s, _)| nodes.iter().zip(vals).all(|(&i, &v)| s[i as usize] == v))
            .map(|(_, w)| w)
            .sum()
    };
    let mut total = 0.0;
    for (k, d) in data.iter().enumerate() {
        let ck: &[f32] = c.get(k).map_or(&[], |r| r);
        let mut nodes = data_nodes.to_vec();
        nodes.extend_from_slice(cond);
        let mut vals = d.clone();
        vals.extend_from_slice(ck);
        total -= (mass(&nodes, &vals) / mass(cond, ck)).ln();
    }
    total / data.len() as f64
}

/// The exact KL gradient from enumerated moments, THRML's convention.
fn exact_grad(
    ebm: &IsingEBM,
    data_nodes: &[u32],
    data: &[Vec<f32>],
    cond: &[u32],
    c: &[Vec<f32>],
) -> (Vec<f64>, Vec<f64>) {
    let beta = ebm.beta() as f64;
    let mut gw = vec![0.0; ebm.edges().len()];
    let mut gb = vec![0.0; ebm.node_count()];
    let k = data.len() as f64;
    for (i, d) in data.iter().enumerate() {
        let ci: &[f32] = c.get(i).map_or(&[], |r| r);
        let mut nodes = data_nodes.to_vec();
        nodes.extend_from_slice(cond);
        let mut vals = d.clone();
        vals.extend_from_slice(ci);
        let (p1, p2) = exact_moments(ebm, &nodes, &vals);
        let (n1, n2) = exact_moments(ebm, cond, ci);
        for (g, (p, n)) in gb.iter_mut().zip(p1.iter().zip(&n1)) {
            *g -= beta * (p - n) / k;
        }
        for (g, (p, n)) in gw.iter_mut().zip(p2.iter().zip(&n2)) {
            *g -= beta * (p - n) / k;
        }
    }
    (gw, gb)
}

#[test]
fn exact_grad_is_gradient_of_nll() {
    // The oracle itself: the moment formula equals central differences of the exact NLL.
    let ebm = chain4();
    let data_nodes = [0u32, 3];
    let data = vec![
        vec![1.0, 1.0],
        vec![1.0, -1.0],
        vec![-1.0, -1.0],
        vec![1.0, 1.0],
    ];
    let (gw, gb) = exact_grad(&ebm, &data_nodes, &data, &[], &[]);
    let h = 1e-3f32;
    for e in 0..3 {
        let mut w = ebm.weights().to_vec();
        let mut plus = ebm.clone();
        w[e] += h;
        plus.set_weights(&w).unwrap();
        let mut minus = ebm.clone();
        w[e] -= 2.0 * h;
        minus.set_weights(&w).unwrap();
        let fd = (exact_nll(&plus, &data_nodes, &data, &[], &[])
            - exact_nll(&minus, &data_nodes, &data, &[], &[]))
            / (2.0 * h as f64);
        assert!((fd - gw[e]).abs() < 1e-3, "edge {e}: {fd} vs {}", gw[e]);
    }
    for i in 0..4 {
        let mut b = ebm.biases().to_vec();
        let mut plus = ebm.clone();
        b[i] += h;
        plus.set_biases(&b).unwrap();
        let mut minus = ebm.clone();
        b[i] -= 2.0 * h;
        minus.set_biases(&b).unwrap();
        let fd = (exact_nll(&plus, &data_nodes, &data, &[], &[])
            - exact_nll(&minus, &data_nodes, &data, &[], &[]))
            / (2.0 * h as f64);
        assert!((fd - gb[i]).abs() < 1e-3, "node {i}: {fd} vs {}", gb[i]);
    }
}

fn check_grad(samples: u64, chains_pos: usize, chains_neg: usize) {
    let ebm = chain4();
    let data_nodes = vec![0u32, 3];
    let data = vec![
        vec![1.0, 1.0],
        vec![1.0, -1.0],
        vec![-1.0, -1.0],
        vec![1.0, 1.0],
    ];
    let schedule = SamplingSchedule::new(50, samples, 3);
    let mut spec =
        IsingTrainingSpec::new(&ebm, data_nodes.clone(), vec![], schedule, schedule).unwrap();
    spec.positive = options(chains_pos, 11);
    spec.negative = options(chains_neg, 12);
    let grad = estimate_kl_grad(&ebm, &spec, &data, &[]).unwrap();
    let (gw, gb) = exact_grad(&ebm, &data_nodes, &data, &[], &[]);
    let n_pos = grad.positive.draws as f64;
    let n_neg = grad.negative.draws as f64;
    assert_eq!(n_pos, (data.len() * chains_pos) as f64 * samples as f64);
    let tol = 5.0 * ebm.beta() as f64 * (TAU * (1.0 / n_pos + 1.0 / n_neg)).sqrt();
    let norm = gw.iter().chain(&gb).map(|g| g * g).sum::<f64>().sqrt();
    let err = grad
        .weights
        .iter()
        .chain(&grad.biases)
        .zip(gw.iter().chain(&gb))
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    eprintln!(
        "grad {:?} {:?}\nexact {gw:?} {gb:?}\ntol {tol} rel {}",
        grad.weights,
        grad.biases,
        err / norm
    );
    for (e, (a, b)) in grad.weights.iter().zip(&gw).enumerate() {
        assert!(
            (a - b).abs() < tol,
            "weight {e}: {a} vs exact {b} (tol {tol})"
        );
    }
    for (i, (a, b)) in grad.biases.iter().zip(&gb).enumerate() {
        assert!(
            (a - b).abs() < tol,
            "bias {i}: {a} vs exact {b} (tol {tol})"
        );
    }
    // Relative error of the whole gradient, bounded by √7 per-component tolerances.
    assert!(
        err / norm < 7f64.sqrt() * tol / norm,
        "relative error {}",
        err / norm
    );
}

#[test]
fn kl_grad_matches_exact_on_four_spin_chain() {
    check_grad(300, 32, 128);
}

#[test]
#[ignore = "long: 10× the draws, tolerance 3× tighter"]
fn kl_grad_matches_exact_on_four_spin_chain_long() {
    check_grad(3000, 64, 256);
}

#[test]
fn kl_grad_with_conditioning_matches_exact() {
    let ebm = chain4();
    let data_nodes = vec![3u32];
    let cond = vec![0u32];
    let data = vec![vec![1.0], vec![-1.0], vec![1.0]];
    let c = vec![vec![1.0], vec![-1.0], vec![-1.0]];
    let schedule = SamplingSchedule::new(50, 300, 3);
    let mut spec =
        IsingTrainingSpec::new(&ebm, data_nodes.clone(), cond.clone(), schedule, schedule).unwrap();
    spec.positive = options(32, 21);
    spec.negative = options(32, 22);
    let grad = estimate_kl_grad(&ebm, &spec, &data, &c).unwrap();
    let (gw, gb) = exact_grad(&ebm, &data_nodes, &data, &cond, &c);
    let tol = 5.0
        * ebm.beta() as f64
        * (TAU * (1.0 / grad.positive.draws as f64 + 1.0 / grad.negative.draws as f64)).sqrt();
    for (a, b) in grad
        .weights
        .iter()
        .chain(&grad.biases)
        .zip(gw.iter().chain(&gb))
    {
        assert!((a - b).abs() < tol, "{a} vs exact {b} (tol {tol})");
    }
}

#[test]
fn fully_observed_positive_phase_uses_data_directly() {
    let ebm = chain4();
    let data = vec![vec![1.0, 1.0, -1.0, 1.0], vec![-1.0, 1.0, 1.0, 1.0]];
    let schedule = SamplingSchedule::new(10, 10, 1);
    let mut spec =
        IsingTrainingSpec::new(&ebm, vec![0, 1, 2, 3], vec![], schedule, schedule).unwrap();
    spec.negative = options(16, 3);
    let grad = estimate_kl_grad(&ebm, &spec, &data, &[]).unwrap();
    assert_eq!(grad.positive.draws, 2);
    assert_eq!(grad.positive.node_means, vec![0.0, 1.0, 0.0, 1.0]);
    assert_eq!(grad.positive.edge_means, vec![0.0, 0.0, 0.0]);
}

#[test]
fn estimate_moments_matches_enumeration() {
    // 3 × 3 open square lattice with mixed couplings and fields.
    let edges = lattice::square(3, false);
    let m = edges.len();
    let weights: Vec<f32> = (0..m).map(|e| 0.4 * ((e % 3) as f32 - 0.8)).collect();
    let biases: Vec<f32> = (0..9).map(|i| 0.15 * (i as f32 - 4.0)).collect();
    let ebm = IsingEBM::new(edges.clone(), biases, weights, 0.9).unwrap();
    let nodes: Vec<u32> = (0..9).collect();
    let schedule = SamplingSchedule::new(100, 400, 3);
    let est = estimate_moments(&ebm, &nodes, &edges, &schedule, &options(128, 5)).unwrap();
    let (m1, m2) = exact_moments(&ebm, &[], &[]);
    let tol = 5.0 * (TAU / est.draws as f64).sqrt();
    for (a, b) in est.node_means.iter().zip(&m1) {
        assert!((a - b).abs() < tol, "mean {a} vs exact {b} (tol {tol})");
    }
    for (a, b) in est.edge_means.iter().zip(&m2) {
        assert!((a - b).abs() < tol, "pair {a} vs exact {b} (tol {tol})");
    }
}

#[test]
fn hinton_init_follows_documented_probabilities() {
    let ebm = IsingEBM::new(vec![], vec![0.7, -0.3, 0.0], vec![], 1.5).unwrap();
    let chains = 40_000;
    for (rule, scale) in [(HintonRule::Thrml, 1.0), (HintonRule::Exact, 2.0)] {
        let states = hinton_init(&ebm, &[0, 1, 2], chains, rule, 9).unwrap();
        assert_eq!(states.len(), chains);
        for (k, &b) in ebm.biases().iter().enumerate() {
            let p = 1.0 / (1.0 + (-(scale * 1.5 * b as f64)).exp());
            let freq = states.iter().filter(|s| s[k] == 1.0).count() as f64 / chains as f64;
            let tol = 5.0 * (p * (1.0 - p) / chains as f64).sqrt();
            assert!((freq - p).abs() < tol, "{rule:?} node {k}: {freq} vs {p}");
        }
    }
    // The Exact rule is the true marginal of an uncoupled spin: σ(2βb) from enumeration.
    let (m1, _) = exact_moments(&ebm, &[], &[]);
    let p_exact = (1.0 + m1[0]) / 2.0;
    assert!((p_exact - 1.0 / (1.0 + (-(2.0 * 1.5 * 0.7f64)).exp())).abs() < 1e-6);
}

#[test]
fn training_with_adam_lowers_exact_nll() {
    // Fully visible 4-spin chain: positive phase from data, negative phase sampled.
    let mut ebm = IsingEBM::new(
        vec![(0, 1), (1, 2), (2, 3)],
        vec![0.0; 4],
        vec![0.0; 3],
        1.0,
    )
    .unwrap();
    let nodes = vec![0u32, 1, 2, 3];
    let data = vec![
        vec![1.0, 1.0, 1.0, 1.0],
        vec![1.0, 1.0, 1.0, -1.0],
        vec![-1.0, -1.0, -1.0, -1.0],
        vec![1.0, 1.0, -1.0, -1.0],
    ];
    let schedule = SamplingSchedule::new(20, 100, 2);
    let mut spec = IsingTrainingSpec::new(&ebm, nodes.clone(), vec![], schedule, schedule).unwrap();
    spec.negative = options(64, 100);
    let mut opt = IsingOptimizer::new(Method::adam(), LrSchedule::Constant(0.05)).unwrap();
    let before = exact_nll(&ebm, &nodes, &data, &[], &[]);
    // One estimator for the run: compiled once, persistent negative chains.
    let mut estimator = KlGradEstimator::new(&ebm, &spec).unwrap();
    for _ in 0..30 {
        let grad = estimator.estimate(&ebm, &data, &[]).unwrap();
        opt.step(&mut ebm, &grad).unwrap();
    }
    let after = exact_nll(&ebm, &nodes, &data, &[], &[]);
    assert!(after < before - 0.1, "NLL {before} → {after}");
}

#[test]
fn the_backend_does_not_change_the_moments() {
    use blockgibbs_runtime::BackendChoice;
    let ebm = chain4();
    let schedule = SamplingSchedule::new(5, 5, 1);
    let moments = |backend| {
        let opts = SamplingOptions {
            backend,
            ..options(8, 1)
        };
        estimate_moments(&ebm, &[0, 1], &[(0, 1)], &schedule, &opts).unwrap()
    };
    let reference = moments(BackendChoice::Reference);
    assert_eq!(reference.draws, 40);
    assert_eq!(moments(BackendChoice::Jit), reference);
    assert_eq!(moments(BackendChoice::Auto), reference);
}

#[test]
fn potts_sampling_matches_enumeration() {
    use blockgibbs_models::PottsEBM;
    use blockgibbs_runtime::{BackendChoice, SampleCollector, Sampler, SamplerOptions};
    use std::sync::Arc;
    // Three sites in a triangle, q = 3, with fields favouring different states.
    let q = 3u32;
    let biases = vec![0.5, 0.0, -0.3, 0.0, 0.4, 0.0, -0.2, 0.1, 0.3];
    let potts = PottsEBM::new(
        3,
        q,
        vec![(0, 1), (1, 2), (0, 2)],
        biases,
        vec![0.8, -0.5, 0.6],
        0.9,
    )
    .unwrap();
    // Exact marginals P(c_i = k).
    let mut exact = vec![0.0f64; 9];
    let mut z = 0.0;
    for idx in 0..27u32 {
        let c = [(idx % 3) as f32, (idx / 3 % 3) as f32, (idx / 9) as f32];
        let w = (-potts.energy(&c).unwrap()).exp();
        z += w;
        for i in 0..3 {
            exact[i * 3 + c[i] as usize] += w;
        }
    }
    let model = Arc::new(potts.to_model().unwrap());
    let chains = 256;
    let mut sampler = Sampler::builder(model)
        .backend(BackendChoice::Reference)
        .options(SamplerOptions {
            chains,
            seed: 3,
            threads: 1,
            beta: potts.beta(),
        })
        .build()
        .unwrap();
    let mut collector = SampleCollector::new((0..3).map(blockgibbs_ir::NodeId).collect());
    let samples = 200;
    sampler
        .run(
            &SamplingSchedule::new(50, samples, 3),
            &mut [&mut collector],
        )
        .unwrap();
    let draws = (chains as u64 * samples) as f64;
    let mut freq = [0.0f64; 9];
    for row in collector.data.chunks(3) {
        for i in 0..3 {
            freq[i * 3 + row[i] as usize] += 1.0 / draws;
        }
    }
    for (f, e) in freq.iter().zip(&exact) {
        let p = e / z;
        let tol = 5.0 * (TAU * p * (1.0 - p) / draws).sqrt();
        assert!((f - p).abs() < tol, "{f} vs exact {p} (tol {tol})");
    }
}
