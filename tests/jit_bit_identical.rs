//! The JIT backend against the reference backend: for the same seed, every model, every node
//! kind and every update rule, the chain states are bit-identical.

use blockgibbs::compiler::compile;
use blockgibbs::prelude::*;
use std::sync::Arc;

fn samplers(model: &Arc<Model>, chains: usize, seed: u64) -> (Sampler, Sampler) {
    let (_, program) = compile(model).unwrap();
    let program = Arc::new(program);
    let opts = SamplerOptions {
        chains,
        seed,
        threads: 2,
        beta: 1.0,
    };
    // One lowering, both backends.
    let make = |backend| {
        Sampler::builder(model.clone())
            .program(program.clone())
            .backend(backend)
            .options(opts)
            .build()
            .unwrap()
    };
    let mut a = make(BackendChoice::Reference);
    let mut b = make(BackendChoice::Jit);
    assert_eq!(b.backend_name(), "jit");
    for c in 0..chains {
        let beta = 0.3 + 0.05 * c as f32;
        a.set_beta(c, beta).unwrap();
        b.set_beta(c, beta).unwrap();
    }
    (a, b)
}

fn assert_identical(a: &Sampler, b: &Sampler, what: &str) {
    for c in 0..a.chains() {
        let (x, y) = (a.chain_state(c).unwrap(), b.chain_state(c).unwrap());
        let xb: Vec<u32> = x.iter().map(|v| v.to_bits()).collect();
        let yb: Vec<u32> = y.iter().map(|v| v.to_bits()).collect();
        assert_eq!(
            xb, yb,
            "{what}: chain {c} differs\nreference {x:?}\njit       {y:?}"
        );
    }
}

/// Checks `chains` chains (the lane kernels) and a single chain (the one-chain kernels, which
/// put four heads in the lanes of a vector).
fn check(model: Model, rules: &[UpdateRule], chains: usize) {
    let model = Arc::new(model);
    for (&rule, chains) in rules.iter().flat_map(|r| [(r, chains), (r, 1)]) {
        let (mut a, mut b) = samplers(&model, chains, 11);
        a.set_rule_all(rule).unwrap();
        b.set_rule_all(rule).unwrap();
        for step in 0..5 {
            a.sweep(4).unwrap();
            b.sweep(4).unwrap();
            let what = format!("{rule:?}, {chains} chains, after {} sweeps", 4 * (step + 1));
            assert_identical(&a, &b, &what);
        }
    }
}

const ALL: [UpdateRule; 3] = [UpdateRule::Sample, UpdateRule::Mean, UpdateRule::Mode];

fn weights(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let x = blockgibbs::compiler::random::philox4x32([i as u32, seed, 0, 0], [1, 2])[0];
            (x as f32 / u32::MAX as f32) * 2.0 - 1.0
        })
        .collect()
}

#[test]
fn spins_with_three_body_factor_biases_and_clamps() {
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 7).unwrap();
    let i = s.ids();
    b.pair_coupling("j", &i[..6], &i[1..], &weights(6, 1));
    b.factor(
        Factor::new("three")
            .product(&i[..3])
            .product(&i[2..5])
            .product(&i[4..7])
            .weights(weights(3, 2)),
    );
    b.linear_bias("h", &i, &weights(7, 3));
    b.clamp(i[0], 1.0).clamp(i[6], -1.0);
    check(b.build().unwrap(), &ALL, 37);
}

#[test]
fn binary_units() {
    let mut b = ModelBuilder::new();
    let v = b.group("v", NodeKind::Binary, 6).unwrap();
    let h = b.group("h", NodeKind::Binary, 3).unwrap();
    let (mut a, mut c) = (Vec::new(), Vec::new());
    for x in 0..6 {
        for y in 0..3 {
            a.push(v.node(x));
            c.push(h.node(y));
        }
    }
    b.pair_coupling("w", &a, &c, &weights(18, 4));
    b.linear_bias("a", &v.ids(), &weights(6, 5));
    check(b.build().unwrap(), &ALL, 20);
}

#[test]
fn categorical_three_body_and_mixed_heads() {
    let mut b = ModelBuilder::new();
    let c = b.group("c", NodeKind::Categorical(3), 5).unwrap();
    let s = b.group("s", NodeKind::Spin, 2).unwrap();
    let i = c.ids();
    b.factor(
        Factor::new("cat3")
            .categorical(&i[..3])
            .categorical(&i[1..4])
            .categorical(&i[2..5])
            .weights(weights(3 * 27, 6)),
    );
    b.categorical_bias("theta", &i, &weights(15, 7));
    b.factor(
        Factor::new("mixed")
            .categorical(vec![i[0], i[4]])
            .product(s.ids())
            .weights(weights(6, 8)),
    );
    check(
        b.build().unwrap(),
        &[UpdateRule::Sample, UpdateRule::Mode],
        13,
    );
}

#[test]
fn gaussians_with_couplings_gates_and_discrete_neighbours() {
    let mut b = ModelBuilder::new();
    let x = b.group("x", NodeKind::Gaussian, 4).unwrap();
    let c = b.group("c", NodeKind::Categorical(3), 2).unwrap();
    let v = b.group("v", NodeKind::Binary, 2).unwrap();
    let xi = x.ids();
    b.gaussian_precision("lambda", &xi, &[2.0, 3.0, 2.5, 4.0]);
    b.gaussian_coupling("xx", &xi[..3], &xi[1..], &[0.3, -0.4, 0.2]);
    b.gaussian_linear("h", &xi, &[0.5, -1.0, 0.0, 0.3]);
    b.gated_gaussian_mean("mu", &c.ids(), &xi[..2], &weights(6, 9));
    b.gated_gaussian_precision("prec", &c.ids(), &xi[2..], &[0.5, 1.0, 1.5, 0.2, 0.4, 0.6]);
    b.gaussian_discrete_coupling("xv", &xi[2..], &v.ids(), &[0.7, -0.6]);
    b.categorical_bias("theta", &c.ids(), &weights(6, 10));
    let model = b.build().unwrap();
    check(model.clone(), &[UpdateRule::Sample, UpdateRule::Mode], 9);
    // Mean on the continuous and binary blocks only (categorical Mean is undefined).
    let model = Arc::new(model);
    let (mut a, mut bj) = samplers(&model, 9, 3);
    for (blk, block) in a.program().blocks.clone().iter().enumerate() {
        if !matches!(block.kind, NodeKind::Categorical(_)) {
            a.set_rule(blk, UpdateRule::Mean).unwrap();
            bj.set_rule(blk, UpdateRule::Mean).unwrap();
        }
    }
    a.sweep(10).unwrap();
    bj.sweep(10).unwrap();
    assert_identical(&a, &bj, "Mean on Gaussian/binary blocks");
}

#[test]
fn lattices_over_several_chunks() {
    let ising = blockgibbs::families::edwards_anderson(
        2,
        8,
        blockgibbs::families::Disorder::Gaussian,
        3,
        0.1,
        true,
    );
    check(ising.unwrap(), &[UpdateRule::Sample], 37);
    check(
        blockgibbs::families::potts2d(3, 6, 1.0, true).unwrap(),
        &[UpdateRule::Sample],
        21,
    );
}

#[test]
fn gaussian_errors_agree() {
    let mut b = ModelBuilder::new();
    let x = b.group("x", NodeKind::Gaussian, 1).unwrap();
    let s = b.group("s", NodeKind::Spin, 1).unwrap();
    // Precision 2 − 3·(1 − s)/2·… : with W = −½ (base) and +¾·s on x², λ = 1 − 1.5 s,
    // which is −0.5 when s = +1 and 2.5 when s = −1.
    b.gaussian_precision("base", &x.ids(), &[1.0]);
    b.factor(
        Factor::new("gate")
            .product(s.ids())
            .gaussian(x.ids(), Power::Two)
            .weights(vec![0.75]),
    );
    b.clamp(s.node(0), -1.0);
    let model = Arc::new(b.build().unwrap());
    let (mut a, mut bj) = samplers(&model, 8, 5);
    for sampler in [&mut a, &mut bj] {
        sampler.set_clamped(s.node(0), 5, 1.0).unwrap();
        sampler.set_clamped(s.node(0), 6, 1.0).unwrap();
    }
    let ea = a.sweep(1).unwrap_err();
    let eb = bj.sweep(1).unwrap_err();
    assert_eq!(ea, eb);
    assert!(
        matches!(&ea, RuntimeError::NonPositivePrecision { node, chain: 5, .. } if node == "x[0]"),
        "{ea}"
    );
    // One chain: the one-chain kernel finds the failure, the lane kernel locates it.
    let (mut a, mut bj) = samplers(&model, 1, 5);
    for sampler in [&mut a, &mut bj] {
        sampler.set_clamped(s.node(0), 0, 1.0).unwrap();
    }
    let ea = a.sweep(1).unwrap_err();
    assert_eq!(ea, bj.sweep(1).unwrap_err());
    assert!(
        matches!(&ea, RuntimeError::NonPositivePrecision { node, chain: 0, .. } if node == "x[0]"),
        "{ea}"
    );
}

#[test]
fn dense_layers_walk_affine_tables() {
    // Degrees 12 and 20 exceed the unrolling limit, so the dense-layer (affine) path runs.
    let rbm = blockgibbs::families::rbm(20, 12, 0.5, 0.1, -0.2, 4).unwrap();
    check(rbm, &ALL, 19);
    let sk = blockgibbs::families::sk(12, 1.0, 0.1, 2).unwrap();
    check(sk, &ALL, 8);
}

#[test]
fn few_chains_on_a_big_graph_split_heads_across_threads() {
    // Blocks of 8192 heads: above the splitting threshold, so one or two chunks are swept
    // with each block's heads spread over the threads.
    let model = Arc::new(
        blockgibbs::families::edwards_anderson(
            2,
            128,
            blockgibbs::families::Disorder::Gaussian,
            9,
            0.2,
            true,
        )
        .unwrap(),
    );
    assert!(model.node_count() / 2 >= blockgibbs::runtime::SPLIT_MIN_HEADS as usize);
    for chains in [1, 5] {
        let mut states = Vec::new();
        for (choice, threads) in [
            (BackendChoice::Reference, 1),
            (BackendChoice::Reference, 2),
            (BackendChoice::Jit, 1),
            (BackendChoice::Jit, 3),
        ] {
            let opts = SamplerOptions {
                chains,
                seed: 4,
                threads,
                beta: 0.6,
            };
            let mut s = Sampler::builder(model.clone())
                .backend(choice)
                .options(opts)
                .build()
                .unwrap();
            assert!(s.fallback().is_none());
            s.sweep(3).unwrap();
            let bits: Vec<Vec<u32>> = (0..chains)
                .map(|c| {
                    s.chain_state(c)
                        .unwrap()
                        .iter()
                        .map(|v| v.to_bits())
                        .collect()
                })
                .collect();
            states.push(((choice, threads), bits));
        }
        for (what, bits) in &states[1..] {
            assert!(
                bits == &states[0].1,
                "{what:?} differs from the single-threaded reference ({chains} chains)"
            );
        }
    }
}

#[test]
fn irregular_graph_with_a_hub_uses_the_generic_term_loop() {
    // A hub joined to every node plus random chords: degrees vary and the tail steps differ
    // between heads, so neither unrolling nor the affine walk applies.
    let n = 40;
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, n).unwrap();
    let (mut a, mut c) = (Vec::new(), Vec::new());
    for i in 1..n {
        a.push(s.node(0));
        c.push(s.node(i));
    }
    for k in 0..60u32 {
        let w = blockgibbs::compiler::random::philox4x32([k, 77, 0, 0], [5, 6]);
        let (i, j) = (1 + w[0] as usize % (n - 1), 1 + w[1] as usize % (n - 1));
        if i != j {
            a.push(s.node(i));
            c.push(s.node(j));
        }
    }
    let m = a.len();
    b.pair_coupling("j", &a, &c, &weights(m, 12));
    b.linear_bias("h", &s.ids(), &weights(n, 13));
    check(b.build().unwrap(), &ALL, 21);
}
