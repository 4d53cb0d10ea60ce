//! THRML parity of `estimate_kl_grad`: gradients for chosen `bias_nodes` / `weight_edges`
//! (exactly the matching entries of the full gradient under the same seeds), a persistent
//! negative phase (k calls of T sweeps end bit for bit where one call of kT sweeps ends; its
//! moments match exact enumeration on a 4-spin chain, 5 standard errors with the
//! autocorrelation allowance `TAU`), and typed errors.

use blockgibbs_models::{
    GradTargets, IsingEBM, IsingError, IsingTrainingSpec, PersistentChains, estimate_kl_grad,
    estimate_kl_grad_targeted,
};
use blockgibbs_runtime::SamplingSchedule;

mod ising_support;
use ising_support::{chain4, options};

/// Allowance for autocorrelation between successive draws of one chain (τ_int ≤ 2), as in
/// `ising_training.rs` for the same model.
const TAU: f64 = 2.0;

fn spec(
    ebm: &IsingEBM,
    data_nodes: Vec<u32>,
    cond: Vec<u32>,
    s: SamplingSchedule,
) -> IsingTrainingSpec {
    let mut spec = IsingTrainingSpec::new(ebm, data_nodes, cond, s, s).unwrap();
    spec.positive = options(8, 11);
    spec.negative = options(16, 12);
    spec
}

/// Exact ⟨s_i⟩ and ⟨s_a s_b⟩ (the model's edges) by enumerating all 2^n states.
fn exact_moments(ebm: &IsingEBM) -> (Vec<f64>, Vec<f64>) {
    let n = ebm.node_count();
    let (mut z, mut m1, mut m2) = (0.0, vec![0.0; n], vec![0.0; ebm.edges().len()]);
    for bits in 0..1u32 << n {
        let s: Vec<f32> = (0..n)
            .map(|i| if bits >> i & 1 == 1 { 1.0 } else { -1.0 })
            .collect();
        let w = (-ebm.energy(&s).unwrap()).exp();
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

#[test]
fn subset_gradient_equals_matching_entries_of_full_gradient() {
    let ebm = chain4();
    let schedule = SamplingSchedule::new(20, 30, 2);
    let data = vec![vec![1.0, 1.0], vec![1.0, -1.0], vec![-1.0, -1.0]];
    let cond = vec![vec![1.0], vec![-1.0], vec![-1.0]];
    let targets = GradTargets {
        bias_nodes: vec![3, 0],
        weight_edges: vec![(2, 1), (2, 3)], // model edges 1 (reversed) and 2
    };
    let (node_at, edge_at) = ([3usize, 0], [1usize, 2]);
    // Sampled positive phase; conditioned (negative phase clamped per example); fully
    // observed (positive phase from the data).
    let cases = [
        (
            spec(&ebm, vec![0, 3], vec![], schedule),
            data.clone(),
            vec![],
        ),
        (
            spec(&ebm, vec![0, 3], vec![1], schedule),
            data.clone(),
            cond,
        ),
        (
            spec(&ebm, vec![0, 1, 2, 3], vec![], schedule),
            vec![vec![1.0, -1.0, 1.0, 1.0], vec![-1.0, -1.0, 1.0, 1.0]],
            vec![],
        ),
    ];
    for (case, (spec, data, cond)) in cases.iter().enumerate() {
        let full = estimate_kl_grad(&ebm, spec, data, cond).unwrap();
        let part = estimate_kl_grad_targeted(&ebm, spec, &targets, data, cond, None).unwrap();
        let g = &part.grad;
        assert_eq!(g.biases.len(), 2);
        assert_eq!(g.weights.len(), 2);
        for (k, &i) in node_at.iter().enumerate() {
            assert_eq!(g.biases[k], full.biases[i], "case {case} bias {i}");
            assert_eq!(g.positive.node_means[k], full.positive.node_means[i]);
            assert_eq!(g.negative.node_means[k], full.negative.node_means[i]);
        }
        for (k, &e) in edge_at.iter().enumerate() {
            assert_eq!(g.weights[k], full.weights[e], "case {case} edge {e}");
            assert_eq!(g.negative.edge_means[k], full.negative.edge_means[e]);
        }
        assert_eq!(g.negative.draws, full.negative.draws);
        // Every target: the same numbers as the full estimate.
        let all = estimate_kl_grad_targeted(&ebm, spec, &GradTargets::all(&ebm), data, cond, None)
            .unwrap();
        assert_eq!(all.grad, full, "case {case}");
        assert_eq!(all.negative_chains.sweeps_done, schedule.total_sweeps());
    }
}

#[test]
fn persistent_negative_phase_continues_bit_for_bit() {
    let ebm = chain4();
    let per_call = SamplingSchedule::new(5, 4, 3); // 5 + 3·3 = 14 sweeps
    let twice = SamplingSchedule::new(2 * per_call.total_sweeps(), 1, 1);
    let data = vec![vec![1.0], vec![-1.0]];
    let cond = vec![vec![1.0], vec![-1.0]];
    for conditioning in [vec![], vec![2u32]] {
        let c: &[Vec<f32>] = if conditioning.is_empty() { &[] } else { &cond };
        let split = spec(&ebm, vec![0], conditioning.clone(), per_call);
        let targets = GradTargets::all(&ebm);
        let first = estimate_kl_grad_targeted(&ebm, &split, &targets, &data, c, None).unwrap();
        assert_eq!(first.negative_chains.sweeps_done, 14);
        let second = estimate_kl_grad_targeted(
            &ebm,
            &split,
            &targets,
            &data,
            c,
            Some(&first.negative_chains),
        )
        .unwrap();
        let long = spec(&ebm, vec![0], conditioning.clone(), twice);
        let once = estimate_kl_grad_targeted(&ebm, &long, &targets, &data, c, None).unwrap();
        assert_eq!(second.negative_chains, once.negative_chains);
        assert_eq!(once.negative_chains.sweeps_done, 28);
        assert_ne!(first.negative_chains.states, second.negative_chains.states);
        let chains = 16 * c.len().max(1);
        assert_eq!(second.negative_chains.states.len(), chains);
    }
}

#[test]
fn persistent_negative_moments_match_enumeration() {
    let ebm = chain4();
    let (m1, m2) = exact_moments(&ebm);
    let data = vec![vec![1.0], vec![-1.0]];
    let burn_in = spec(&ebm, vec![0], vec![], SamplingSchedule::new(100, 1, 1));
    let mut s = spec(&ebm, vec![0], vec![], SamplingSchedule::new(2, 100, 2));
    s.negative = options(64, 12);
    let mut b = burn_in.clone();
    b.negative = options(64, 12);
    let targets = GradTargets::all(&ebm);
    let mut chains = estimate_kl_grad_targeted(&ebm, &b, &targets, &data, &[], None)
        .unwrap()
        .negative_chains;
    let calls = 10;
    let (mut sum1, mut sum2, mut draws) = (vec![0.0; 4], vec![0.0; 3], 0u64);
    for _ in 0..calls {
        let out = estimate_kl_grad_targeted(&ebm, &s, &targets, &data, &[], Some(&chains)).unwrap();
        let neg = &out.grad.negative;
        for (acc, m) in sum1.iter_mut().zip(&neg.node_means) {
            *acc += m * neg.draws as f64;
        }
        for (acc, m) in sum2.iter_mut().zip(&neg.edge_means) {
            *acc += m * neg.draws as f64;
        }
        draws += neg.draws;
        chains = out.negative_chains;
    }
    assert_eq!(draws, calls * 100 * 64);
    assert_eq!(chains.sweeps_done, 100 + calls * (2 + 99 * 2));
    let tol = 5.0 * (TAU / draws as f64).sqrt();
    for (sum, exact) in sum1.iter().chain(&sum2).zip(m1.iter().chain(&m2)) {
        let got = sum / draws as f64;
        println!("{got:.4} vs exact {exact:.4} (tol {tol:.4})");
        assert!(
            (got - exact).abs() < tol,
            "{got} vs exact {exact} (tol {tol})"
        );
    }
}

#[test]
fn bad_targets_and_chains_are_typed_errors() {
    let ebm = chain4();
    let s = spec(&ebm, vec![0], vec![], SamplingSchedule::new(2, 2, 1));
    let data = vec![vec![1.0]];
    let run = |targets: &GradTargets, init: Option<&PersistentChains>| {
        estimate_kl_grad_targeted(&ebm, &s, targets, &data, &[], init).unwrap_err()
    };
    let t = |bias_nodes: Vec<u32>, weight_edges: Vec<(u32, u32)>| GradTargets {
        bias_nodes,
        weight_edges,
    };
    let field_is = |e: IsingError, want: &str| match e {
        IsingError::IndexOutOfRange { field, .. }
        | IsingError::InvalidParameter { field, .. }
        | IsingError::LengthMismatch { field, .. } => field == want,
        _ => false,
    };
    assert!(matches!(
        run(&t(vec![0, 4], vec![]), None),
        IsingError::IndexOutOfRange { ref field, index: 1, node: 4, nodes: 4 } if field == "bias_nodes"
    ));
    assert!(field_is(
        run(&t(vec![2, 1, 2], vec![]), None),
        "bias_nodes[2]"
    ));
    assert!(matches!(
        run(&t(vec![], vec![(0, 1), (9, 2)]), None),
        IsingError::IndexOutOfRange { ref field, index: 1, node: 9, .. } if field == "weight_edges"
    ));
    assert!(field_is(
        run(&t(vec![], vec![(0, 2)]), None),
        "weight_edges[0]"
    ));
    assert!(field_is(
        run(&t(vec![], vec![(1, 1)]), None),
        "weight_edges[0]"
    ));
    assert!(field_is(
        run(&t(vec![], vec![(1, 2), (0, 1), (2, 1)]), None),
        "weight_edges[2]"
    ));
    // Persistent chains of the wrong shape or with non-spin values.
    let all = GradTargets::all(&ebm);
    let good = estimate_kl_grad_targeted(&ebm, &s, &all, &data, &[], None)
        .unwrap()
        .negative_chains;
    let mut fewer = good.clone();
    fewer.states.pop();
    assert!(field_is(run(&all, Some(&fewer)), "negative_init.states"));
    let mut short = good.clone();
    short.states[3].pop();
    assert!(field_is(run(&all, Some(&short)), "negative_init.states[3]"));
    let mut not_spin = good.clone();
    not_spin.states[0][2] = 0.0;
    assert!(field_is(
        run(&all, Some(&not_spin)),
        "negative_init.states[0][2]"
    ));
}
