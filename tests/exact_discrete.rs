//! Sampled distributions of small discrete models against exact enumeration (THRML-style:
//! max |p̂ − p| / max p below a threshold derived from the sample size).
//!
//! Thresholds: [`common::threshold`] with z = [`Z`] and an autocorrelation inflation that is
//! not guessed but computed: the largest integrated autocorrelation time, at the observation
//! stride, of the indicator of any of the 64 most probable states under the *exact* transition
//! operator of one sweep of the sampler's own block schedule ([`common::Kernel`], built from
//! `Model::energy`). That kernel's stationary distribution is also checked to equal the
//! enumeration to 1e-10, which proves the schedule is a valid Gibbs sampler for the model.
//! The statistic is a maximum over states; the threshold uses p_max(1 − p_max), which bounds
//! every state's p(1 − p) when p_max ≤ ½ (asserted), so each state is held to ≥ Z standard
//! errors.
mod common;

use blockgibbs::families;
use blockgibbs::lattice;
use blockgibbs::prelude::*;
use common::{Kernel, superblocks_of};
use std::collections::HashMap;
use std::sync::Arc;

/// Standard errors allowed for the worst state.
const Z: f64 = 5.0;

/// The kernel's exact τ for the model under the sampler's schedule, after checking that the
/// kernel's stationary distribution over `nodes` is `exact`.
fn exact_tau(
    sampler: &Sampler,
    fixed: &[(NodeId, f32)],
    nodes: &[NodeId],
    exact: &HashMap<Vec<i32>, f64>,
    stride: u64,
) -> f64 {
    let model = sampler.model();
    let beta = sampler.beta(0).unwrap() as f64;
    let kernel = Kernel::new(model, &superblocks_of(sampler.program()), fixed, beta);
    let pi = kernel.stationary();
    let diff = common::max_abs_diff(&kernel.distribution(&pi, nodes), exact);
    assert!(diff < 1e-10, "sweep kernel vs enumeration: {diff}");
    let pmax = exact.values().cloned().fold(0.0, f64::max);
    assert!(
        pmax <= 0.5,
        "threshold argument needs p_max ≤ ½, got {pmax}"
    );
    kernel.max_state_tau(&pi, stride as usize, 64)
}

/// Samples every free node `nodes` of `model` at inverse temperature `beta` and compares
/// with its enumeration.
#[allow(clippy::too_many_arguments)]
fn sample_and_compare(
    label: &str,
    model: &Arc<Model>,
    nodes: &[NodeId],
    beta: f32,
    chains: usize,
    seed: u64,
    schedule: SamplingSchedule,
) -> (f64, f64) {
    let options = SamplerOptions {
        chains,
        seed,
        threads: 0,
        beta,
    };
    let mut sampler = common::make_sampler(model.clone(), options);
    let exact = common::enumerate(model, nodes, &[], beta as f64);
    let tau = exact_tau(&sampler, &[], nodes, &exact, schedule.steps_per_sample);
    let mut samples = SampleCollector::new(nodes.to_vec());
    sampler.run(&schedule, &mut [&mut samples]).unwrap();
    let emp = common::histogram(&samples);
    let draws = chains * schedule.samples as usize;
    common::assert_distribution(label, &exact, &emp, draws, tau, Z)
}

#[test]
fn five_spin_chain_with_three_body_factor_and_per_chain_clamps() {
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 5).unwrap();
    let k = b.group("k", NodeKind::Spin, 2).unwrap();
    let ids = s.ids();
    let (k0, k1) = (k.node(0), k.node(1));
    let w = common::random_weights(11, 0.5, 11);
    b.pair_coupling("chain", &ids[..4], &ids[1..], &w[0..4]);
    b.linear_bias("h", &ids, &w[4..9]);
    // Instances (s0, s2, s4) and (s1, s3, k0): a 3-body factor reaching a clamped node.
    b.factor(
        Factor::new("three_body")
            .product([ids[0], ids[1]])
            .product([ids[2], ids[3]])
            .product([ids[4], k0])
            .weights(&w[9..11]),
    );
    b.pair_coupling("to_clamped", &[k1, k0], &[ids[2], ids[0]], &[0.6, -0.5]);
    b.clamp(k0, 1.0).clamp(k1, -1.0);
    let model = Arc::new(b.build().unwrap());

    // 40 chains (not a multiple of the 16-lane chunk): chain c gets clamp set c % 4.
    let chains = 40;
    let sets = [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)];
    let mut sampler = common::sampler(&model, chains, 3);
    for c in 0..chains {
        let (v0, v1) = sets[c % 4];
        sampler.set_clamped(k0, c, v0).unwrap();
        sampler.set_clamped(k1, c, v1).unwrap();
    }
    let schedule = SamplingSchedule::new(100, 8000, 2);
    let exacts: Vec<_> = sets
        .iter()
        .map(|&(v0, v1)| common::enumerate(&model, &ids, &[(k0, v0), (k1, v1)], 1.0))
        .collect();
    let taus: Vec<f64> = sets
        .iter()
        .zip(&exacts)
        .map(|(&(v0, v1), ex)| exact_tau(&sampler, &[(k0, v0), (k1, v1)], &ids, ex, 2))
        .collect();
    let mut samples = SampleCollector::new(ids.clone());
    sampler.run(&schedule, &mut [&mut samples]).unwrap();
    for (g, exact) in exacts.iter().enumerate() {
        let (emp, draws) = common::histogram_chains(&samples, |c| c % 4 == g);
        let label = format!("clamp set {:?}", sets[g]);
        let (_, thr) = common::assert_distribution(&label, exact, &emp, draws, taus[g], Z);
        // Power: every other clamp set's distribution is rejected by the same threshold.
        for (h, other) in exacts.iter().enumerate().filter(|&(h, _)| h != g) {
            let wrong = common::max_relative_error(other, &emp);
            assert!(wrong > thr, "group {g} is not told apart from group {h}");
        }
    }
}

/// Five K = 3 categoricals with a 3-body tensor factor (instances (c0,c1,c2), (c1,c2,c3),
/// (c2,c3,c4) of a [3, 3, 3, 3] weight tensor) and random biases.
fn five_categoricals() -> (Arc<Model>, Vec<NodeId>) {
    let mut b = ModelBuilder::new();
    let ids = b.group("c", NodeKind::Categorical(3), 5).unwrap().ids();
    b.factor(
        Factor::new("triple")
            .categorical(&ids[0..3])
            .categorical(&ids[1..4])
            .categorical(&ids[2..5])
            .weights(common::random_weights(3 * 27, 1.0, 21)),
    );
    b.categorical_bias("bias", &ids, &common::random_weights(15, 1.0, 22));
    (Arc::new(b.build().unwrap()), ids)
}

#[test]
fn five_categoricals_with_three_body_tensor() {
    let (model, ids) = five_categoricals();
    let schedule = SamplingSchedule::new(100, 5000, 2);
    sample_and_compare(
        "5 categoricals, 3-body, β = 0.7",
        &model,
        &ids,
        0.7,
        64,
        5,
        schedule,
    );
}

#[test]
fn mixed_spin_categorical_model_with_several_free_blocks() {
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 3).unwrap();
    let c = b.group("c", NodeKind::Categorical(3), 3).unwrap();
    let (sv, cv) = (s.ids(), c.ids());
    let w = common::random_weights(12 + 9 + 9 + 2 + 3, 1.0, 31);
    // Categorical × spin: W[i, c_i] · s_i.
    b.factor(
        Factor::new("cat_spin")
            .categorical([cv[0], cv[1], cv[2], cv[0]])
            .product([sv[0], sv[1], sv[2], sv[2]])
            .weights(&w[0..12]),
    );
    // Categorical × categorical × spin: W[c0, c1] · s1.
    b.factor(
        Factor::new("cat_cat_spin")
            .categorical([cv[0]])
            .categorical([cv[1]])
            .product([sv[1]])
            .weights(&w[12..21]),
    );
    b.categorical_bias("theta", &cv, &w[21..30]);
    b.pair_coupling("j", &sv[..2], &sv[1..], &w[30..32]);
    b.linear_bias("h", &sv, &w[32..35]);
    let model = Arc::new(b.build().unwrap());
    let (schedule, program) = compile(&model).unwrap();
    assert!(program.blocks.len() >= 3, "{:?}", schedule.superblocks);
    assert!(program.superblocks.iter().any(|sb| sb.blocks.len() == 2));
    let nodes: Vec<NodeId> = sv.iter().chain(&cv).copied().collect();
    sample_and_compare(
        "mixed spin + categorical, β = 1.3",
        &model,
        &nodes,
        1.3,
        64,
        9,
        SamplingSchedule::new(100, 5000, 2),
    );
}

/// A 3×3 grid with kinds
/// ```text
/// S B C
/// B S S
/// C S B
/// ```
/// random pair couplings (spin/binary × spin/binary), categorical × product couplings and
/// random biases. Returns the model and the node of each grid site.
fn heterogeneous_grid(
    scale: f32,
    blocks: impl Fn(&[NodeId]) -> BlockSpec,
) -> (Arc<Model>, Vec<NodeId>) {
    let layout = "SBCBSSCSB".as_bytes();
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 4).unwrap();
    let bn = b.group("b", NodeKind::Binary, 3).unwrap();
    let c = b.group("c", NodeKind::Categorical(3), 2).unwrap();
    let (mut si, mut bi, mut ci) = (0, 0, 0);
    let site: Vec<NodeId> = layout
        .iter()
        .map(|&k| match k {
            b'S' => (s.node(si), si += 1).0,
            b'B' => (bn.node(bi), bi += 1).0,
            _ => (c.node(ci), ci += 1).0,
        })
        .collect();
    let w = common::random_weights(64, scale, 41);
    let mut wi = w.iter().copied();
    let mut next = |n: usize| (&mut wi).take(n).collect::<Vec<f32>>();
    for (a, z) in lattice::square(3, false) {
        let (a, z) = (site[a as usize], site[z as usize]);
        let cat = |n: NodeId| matches!(model_kind(layout, &site, n), b'C');
        match (cat(a), cat(z)) {
            (false, false) => b.pair_coupling("pair", &[a], &[z], &next(1)),
            (true, false) => b.factor(
                Factor::new("cat_v")
                    .categorical([a])
                    .product([z])
                    .weights(next(3)),
            ),
            (false, true) => b.factor(
                Factor::new("cat_v")
                    .categorical([z])
                    .product([a])
                    .weights(next(3)),
            ),
            (true, true) => unreachable!("the categoricals are not adjacent"),
        };
    }
    let v: Vec<NodeId> = s.ids().into_iter().chain(bn.ids()).collect();
    b.linear_bias("h", &v, &next(7));
    b.categorical_bias("theta", &c.ids(), &next(6));
    b.blocks(blocks(&site));
    (Arc::new(b.build().unwrap()), site)
}

fn model_kind(layout: &[u8], site: &[NodeId], n: NodeId) -> u8 {
    layout[site.iter().position(|&x| x == n).unwrap()]
}

#[test]
fn categorical_with_more_than_64_categories() {
    // K = 70 takes the heap path of the categorical sampler; a lone node is drawn afresh
    // at every sweep (τ = 1, checked by the kernel).
    let mut b = ModelBuilder::new();
    let c = b.group("c", NodeKind::Categorical(70), 1).unwrap();
    let theta: Vec<f32> = common::random_weights(70, 2.0, 51);
    b.categorical_bias("theta", &c.ids(), &theta);
    let model = Arc::new(b.build().unwrap());
    let schedule = SamplingSchedule::new(1, 4000, 1);
    sample_and_compare("K = 70", &model, &c.ids(), 1.0, 64, 53, schedule);
}

/// The grid under superblocks that follow THRML's rule. Superblock 0: the black sites
/// (x + y even) as three blocks of different kinds, none interacting with another block of
/// the superblock; superblock 1: the white sites as two blocks. Under this rule "updated from
/// the same pre-sweep state" equals sequential updates, so the Boltzmann law is exact.
fn grid_with_sound_superblocks() -> (Arc<Model>, Vec<NodeId>) {
    let (model, site) = heterogeneous_grid(1.0, |n| BlockSpec {
        superblocks: vec![
            vec![vec![n[0], n[4]], vec![n[2], n[6]], vec![n[8]]],
            vec![vec![n[1], n[3]], vec![n[5], n[7]]],
        ],
    });
    let (_, program) = compile(&model).unwrap();
    assert_eq!(program.superblocks.len(), 2);
    assert_eq!(program.superblocks[0].blocks.len(), 3);
    assert!(program.superblocks.iter().all(|sb| !sb.needs_snapshot));
    (model, site)
}

#[test]
fn heterogeneous_grid_with_hand_given_superblocks() {
    let (model, site) = grid_with_sound_superblocks();
    let schedule = SamplingSchedule::new(100, 5000, 2);
    sample_and_compare(
        "3x3 grid, superblocks",
        &model,
        &site,
        1.0,
        64,
        13,
        schedule,
    );
}

#[test]
fn interacting_blocks_in_one_superblock_follow_the_jacobi_kernel() {
    // Superblock 0 holds the black spins {0, 4} and the white spins {5, 7}, which interact
    // (4–5, 4–7): both are drawn from the pre-superblock state (snapshot path). Such a
    // synchronous update does NOT leave the Boltzmann distribution invariant, so the exact
    // answer is the stationary distribution of the Jacobi sweep kernel, computed by the
    // test; a backend that ignored the snapshot would sample the Boltzmann distribution and
    // fail the second assertion.
    let (model, site) = heterogeneous_grid(1.6, |n| BlockSpec {
        superblocks: vec![
            vec![vec![n[0], n[4]], vec![n[5], n[7]], vec![n[1], n[3]]],
            vec![vec![n[2], n[6]], vec![n[8]]],
        ],
    });
    let mut sampler = common::sampler(&model, 64, 17);
    let program = sampler.program().clone();
    assert!(program.superblocks[0].needs_snapshot);
    assert!(!program.superblocks[1].needs_snapshot);
    let kernel = Kernel::new(&model, &superblocks_of(&program), &[], 1.0);
    let pi = kernel.stationary();
    let jacobi = kernel.distribution(&pi, &site);
    let boltzmann = common::enumerate(&model, &site, &[], 1.0);
    let tau = kernel.max_state_tau(&pi, 2, 64);
    let schedule = SamplingSchedule::new(100, 5000, 2);
    let mut samples = SampleCollector::new(site.clone());
    sampler.run(&schedule, &mut [&mut samples]).unwrap();
    let emp = common::histogram(&samples);
    let draws = 64 * 5000;
    let (_, thr) = common::assert_distribution("Jacobi superblock", &jacobi, &emp, draws, tau, Z);
    let vs_boltzmann = common::max_relative_error(&boltzmann, &emp);
    println!(
        "Jacobi vs Boltzmann exact: {:.4}; sample vs Boltzmann {vs_boltzmann:.4}",
        common::max_relative_error(&boltzmann, &jacobi)
    );
    // Power: the two exact answers differ by more than twice the threshold, so a backend
    // ignoring the snapshot would fail the first assertion; the sample is far from Boltzmann.
    assert!(common::max_relative_error(&boltzmann, &jacobi) > 2.0 * thr);
    assert!(vs_boltzmann > thr, "snapshot path not distinguishable");
}

#[test]
fn binary_units_of_a_small_rbm() {
    let model = Arc::new(families::rbm(4, 3, 1.0, 0.3, -0.4, 7).unwrap());
    let (v, h) = (
        model.group("visible").unwrap().ids(),
        model.group("hidden").unwrap().ids(),
    );
    let all: Vec<NodeId> = v.iter().chain(&h).copied().collect();
    // The oracle itself against the closed form p(v) ∝ exp(a·v) Π_j (1 + exp(c_j + W_j·v)).
    let w = &model
        .factors()
        .iter()
        .find(|f| f.name == "weights")
        .unwrap()
        .weights;
    let joint = common::enumerate(&model, &all, &[], 1.0);
    let mut marginal: HashMap<Vec<i32>, f64> = HashMap::new();
    for (k, p) in &joint {
        *marginal.entry(k[..4].to_vec()).or_insert(0.0) += p;
    }
    let closed: Vec<(Vec<i32>, f64)> = (0..16)
        .map(|bits| {
            let vs: Vec<i32> = (0..4).map(|i| (bits >> i) & 1).collect();
            let a: f64 = vs.iter().map(|&x| 0.3f32 as f64 * x as f64).sum();
            let prod: f64 = (0..3)
                .map(|j| {
                    let act: f64 = (0..4).map(|i| w[i * 3 + j] as f64 * vs[i] as f64).sum();
                    1.0 + (-0.4f32 as f64 + act).exp()
                })
                .product();
            (vs, a.exp() * prod)
        })
        .collect();
    let z: f64 = closed.iter().map(|(_, p)| p).sum();
    for (vs, p) in &closed {
        assert!(
            (marginal[vs] - p / z).abs() < 1e-12,
            "{vs:?} {} {}",
            marginal[vs],
            p / z
        );
    }
    sample_and_compare(
        "RBM 4x3 binary",
        &model,
        &all,
        1.0,
        64,
        19,
        SamplingSchedule::new(100, 5000, 2),
    );
}

#[test]
fn q2_potts_is_ising_with_half_the_coupling() {
    let jp = 0.8f32;
    let potts = Arc::new(families::potts2d(2, 3, jp, false).unwrap());
    let ising = families::ising2d(3, jp / 2.0, 0.0, false).unwrap();
    let (cs, ss) = (potts.groups()[0].ids(), ising.groups()[0].ids());
    // Energies agree up to the constant −J_P · (edges) / 2 on all 512 states.
    let shift = -(jp as f64) * 12.0 / 2.0;
    for bits in 0..512u32 {
        let c: Vec<f32> = (0..9).map(|i| ((bits >> i) & 1) as f32).collect();
        let s: Vec<f32> = c.iter().map(|&c| 2.0 * c - 1.0).collect();
        let d = potts.energy(&c) - ising.energy(&s) - shift;
        assert!(d.abs() < 1e-9, "state {bits:09b}: energies differ by {d}");
    }
    // Sample the Potts model, map σ ↦ 2σ − 1, compare with the Ising enumeration.
    let exact = common::enumerate(&ising, &ss, &[], 1.0);
    let potts_exact: HashMap<Vec<i32>, f64> = common::enumerate(&potts, &cs, &[], 1.0)
        .into_iter()
        .map(|(k, p)| (k.iter().map(|c| 2 * c - 1).collect(), p))
        .collect();
    assert!(common::max_abs_diff(&exact, &potts_exact) < 1e-12);
    let schedule = SamplingSchedule::new(100, 5000, 2);
    let mut sampler = common::sampler(&potts, 64, 23);
    let tau = exact_tau(
        &sampler,
        &[],
        &cs,
        &common::enumerate(&potts, &cs, &[], 1.0),
        2,
    );
    let mut samples = SampleCollector::new(cs.clone());
    sampler.run(&schedule, &mut [&mut samples]).unwrap();
    let emp: HashMap<Vec<i32>, f64> = common::histogram(&samples)
        .into_iter()
        .map(|(k, p)| (k.iter().map(|c| 2 * c - 1).collect(), p))
        .collect();
    common::assert_distribution("q=2 Potts as Ising", &exact, &emp, 64 * 5000, tau, Z);
}

/// Exact ⟨H⟩/N and ⟨|m|⟩ of the L = 4 periodic Ising model (J = 1, h = 0) by enumerating
/// all 2^16 states with the test's own bit arithmetic.
fn ising4_exact(beta: f64) -> (f64, f64) {
    let edges = lattice::square(4, true);
    let (mut z, mut e_sum, mut m_sum) = (0.0, 0.0, 0.0);
    for bits in 0..(1u32 << 16) {
        let s = |i: u32| if (bits >> i) & 1 == 1 { 1.0 } else { -1.0 };
        let e: f64 = -edges.iter().map(|&(a, b)| s(a) * s(b)).sum::<f64>();
        let m: f64 = (0..16).map(s).sum::<f64>() / 16.0;
        let w = (-beta * e).exp();
        z += w;
        e_sum += w * e;
        m_sum += w * m.abs();
    }
    (e_sum / z / 16.0, m_sum / z)
}

fn ising4_against_enumeration(beta: f32, seed: u64, samples: u64) {
    let (e_exact, m_exact) = ising4_exact(beta as f64);
    let model = Arc::new(families::ising2d(4, 1.0, 0.0, true).unwrap());
    let mut sampler = common::make_sampler(
        model.clone(),
        SamplerOptions {
            chains: 64,
            seed,
            threads: 0,
            beta,
        },
    );
    let mut obs = ScalarObservables::standard(&model);
    sampler
        .run(&SamplingSchedule::new(500, samples, 1), &mut [&mut obs])
        .unwrap();
    for (name, exact) in [("energy_per_node", e_exact), ("abs_magnetization", m_exact)] {
        let est = obs.estimate(name).unwrap();
        let se = est
            .stderr
            .expect("a standard error after 20000 observations");
        println!(
            "β={beta} {name}: {:.5} ± {se:.5} vs exact {exact:.5} ({:.2} stderr)",
            est.mean,
            (est.mean - exact) / se
        );
        assert!(se > 0.0 && se < 2e-3, "stderr {se} is not informative");
        assert!(
            (est.mean - exact).abs() < 4.0 * se,
            "{name} off by > 4 stderr"
        );
    }
}

#[test]
fn ising_4x4_periodic_matches_exact_enumeration_at_beta_0_40() {
    ising4_against_enumeration(0.40, 29, 20_000);
}

#[test]
fn ising_4x4_periodic_matches_exact_enumeration_at_beta_0_44() {
    ising4_against_enumeration(0.44, 31, 20_000);
}

/// The same checks with 10–20 times the draws (thresholds shrink accordingly): run with
/// `cargo test --test exact_discrete -- --ignored`.
#[test]
#[ignore = "long: high-precision variants (about 90 s)"]
fn high_precision_variants() {
    for (beta, seed) in [(0.4, 62), (0.44, 63)] {
        ising4_against_enumeration(beta, seed, 200_000);
    }
    let long = SamplingSchedule::new(100, 100_000, 2);
    let (model, site) = grid_with_sound_superblocks();
    sample_and_compare("3x3 grid (long)", &model, &site, 1.0, 64, 65, long);
    let (model, ids) = five_categoricals();
    sample_and_compare("5 categoricals (long)", &model, &ids, 0.7, 64, 66, long);
}
