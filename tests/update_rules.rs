//! The Mean and Mode update rules against closed forms: mean-field fixed points, conditional
//! argmaxes (with the documented tie-breaking), Gauss–Seidel for Gaussian means, and the
//! typed refusal of Mean for categorical nodes.
mod common;

use blockgibbs::prelude::*;
use std::sync::Arc;

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn mean_rule_reaches_the_mean_field_fixed_point() {
    // Two spins: m0 = tanh(β(h0 + J m1)), m1 = tanh(β(h1 + J m0)); two binaries:
    // q0 = σ(β(a0 + W q1)), q1 = σ(β(a1 + W q0)). β|J| < 1 and β|W|/4 < 1 make both maps
    // contractions, so the fixed point is unique whatever the initial state.
    let (h, j) = ([0.3f32, -0.2], 0.6f32);
    let (a, w) = ([-0.4f32, 0.7], 1.5f32);
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 2).unwrap();
    let q = b.group("q", NodeKind::Binary, 2).unwrap();
    b.linear_bias("h", &s.ids(), &h);
    b.pair_coupling("j", &[s.node(0)], &[s.node(1)], &[j]);
    b.linear_bias("a", &q.ids(), &a);
    b.pair_coupling("w", &[q.node(0)], &[q.node(1)], &[w]);
    let model = Arc::new(b.build().unwrap());
    let betas = [0.5f32, 1.0, 1.5];
    let mut sampler = common::sampler(&model, betas.len(), 1);
    sampler.set_betas(&betas).unwrap();
    sampler.set_rule_all(UpdateRule::Mean).unwrap();
    sampler.sweep(300).unwrap();
    let mut worst = 0.0f64;
    for (chain, &beta) in betas.iter().enumerate() {
        let (beta, h, j, a, w) = (
            beta as f64,
            h.map(f64::from),
            j as f64,
            a.map(f64::from),
            w as f64,
        );
        let (mut m, mut p) = ([0.0f64; 2], [0.5f64; 2]);
        for _ in 0..10_000 {
            m[0] = (beta * (h[0] + j * m[1])).tanh();
            m[1] = (beta * (h[1] + j * m[0])).tanh();
            p[0] = sigmoid(beta * (a[0] + w * p[1]));
            p[1] = sigmoid(beta * (a[1] + w * p[0]));
        }
        let got = sampler.chain_state(chain).unwrap();
        for (node, exact) in [
            (s.node(0), m[0]),
            (s.node(1), m[1]),
            (q.node(0), p[0]),
            (q.node(1), p[1]),
        ] {
            let err = (got[node.index()] as f64 - exact).abs();
            worst = worst.max(err);
            assert!(
                err < 1e-5,
                "β={beta} {node:?}: {} vs {exact}",
                got[node.index()]
            );
        }
        // The engine's state satisfies the fixed-point equations themselves.
        let v = |n: NodeId| got[n.index()] as f64;
        assert!((v(s.node(0)) - (beta * (h[0] + j * v(s.node(1)))).tanh()).abs() < 1e-5);
        assert!((v(q.node(1)) - sigmoid(beta * (a[1] + w * v(q.node(0))))).abs() < 1e-5);
    }
    println!("mean-field fixed point: worst |m − m*| = {worst:.2e} (tolerance 1e-5)");
}

#[test]
fn mode_rule_reaches_the_known_conditional_argmax() {
    // s is clamped per chain. Given s:
    //   c (K=4): θ = [0, .5, .2, .1] + s·[0, −1, 1, 0] + b·[.5, −.5, .7, −.2]
    //            → argmax 2 for s = +1 and 1 for s = −1, whatever b is;
    //   u (spin): γ = 0.3 − 0.8 s → u = −s;
    //   b (binary): γ = [.5, −.5, .7, −.2][c] → b = 1 for c = 2, 0 for c = 1;
    //   x (Gaussian): x | c ~ N(m[c]/λ, 1/λ) → x = m[c]/λ.
    // x feeds back into c's θ through m[k]·x; with m small and λ = 4 that is at most 0.09
    // at a fixed point, below every margin of c's argmax above (≥ 0.5), so the fixed point
    // is unique and reached once x has been updated (the initial x is random).
    let mut bld = ModelBuilder::new();
    let s = bld.group("s", NodeKind::Spin, 1).unwrap().node(0);
    let c = bld.group("c", NodeKind::Categorical(4), 1).unwrap().node(0);
    let u = bld.group("u", NodeKind::Spin, 1).unwrap().node(0);
    let bn = bld.group("b", NodeKind::Binary, 1).unwrap().node(0);
    let x = bld.group("x", NodeKind::Gaussian, 1).unwrap().node(0);
    bld.categorical_bias("theta", &[c], &[0.0, 0.5, 0.2, 0.1]);
    bld.factor(
        Factor::new("cs")
            .categorical([c])
            .product([s])
            .weights([0.0, -1.0, 1.0, 0.0]),
    );
    bld.factor(
        Factor::new("cb")
            .categorical([c])
            .product([bn])
            .weights([0.5, -0.5, 0.7, -0.2]),
    );
    bld.linear_bias("hu", &[u], &[0.3]);
    bld.pair_coupling("us", &[u], &[s], &[-0.8]);
    let gate = [0.2f32, -0.4, 0.6, 0.1];
    bld.gated_gaussian_mean("xm", &[c], &[x], &gate);
    bld.gaussian_precision("xp", &[x], &[4.0]);
    bld.clamp(s, 1.0);
    let model = Arc::new(bld.build().unwrap());
    let chains = 21;
    let mut sampler = common::sampler(&model, chains, 2);
    for ch in 0..chains {
        sampler
            .set_clamped(s, ch, if ch.is_multiple_of(2) { 1.0 } else { -1.0 })
            .unwrap();
        sampler.set_beta(ch, 0.25 + 0.1 * ch as f32).unwrap(); // the argmax ignores β
    }
    sampler.set_rule_all(UpdateRule::Mode).unwrap();
    sampler.sweep(10).unwrap();
    for ch in 0..chains {
        let plus = ch.is_multiple_of(2);
        let want_c = if plus { 2.0 } else { 1.0 };
        let st = sampler.chain_state(ch).unwrap();
        assert_eq!(st[c.index()], want_c, "chain {ch}: c");
        assert_eq!(
            st[u.index()],
            if plus { -1.0 } else { 1.0 },
            "chain {ch}: u"
        );
        assert_eq!(
            st[bn.index()],
            if plus { 1.0 } else { 0.0 },
            "chain {ch}: b"
        );
        let want_x = gate[want_c as usize] / 4.0;
        assert!(
            (st[x.index()] - want_x).abs() < 1e-6,
            "chain {ch}: x {}",
            st[x.index()]
        );
    }
    // A further sweep changes nothing: it is a fixed point.
    let before: Vec<_> = (0..chains)
        .map(|ch| sampler.chain_state(ch).unwrap())
        .collect();
    sampler.sweep(1).unwrap();
    let after: Vec<_> = (0..chains)
        .map(|ch| sampler.chain_state(ch).unwrap())
        .collect();
    assert_eq!(before, after);
}

#[test]
fn mode_rule_breaks_ties_as_documented() {
    // γ = 0: spins go to +1 and binaries to 1 (the larger value); equal θ: the first category.
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 1).unwrap().node(0);
    let q = b.group("q", NodeKind::Binary, 1).unwrap().node(0);
    let c = b.group("c", NodeKind::Categorical(3), 1).unwrap().node(0);
    b.linear_bias("zero", &[s, q], &[0.0, 0.0]);
    b.categorical_bias("theta", &[c], &[0.1, 0.4, 0.4]);
    let model = Arc::new(b.build().unwrap());
    let mut sampler = common::sampler(&model, 5, 3);
    sampler.set_betas(&[1.0, 0.7, 2.5, 0.1, 3.0]).unwrap();
    sampler.set_rule_all(UpdateRule::Mode).unwrap();
    sampler.sweep(2).unwrap();
    for ch in 0..5 {
        assert_eq!(sampler.value(s, ch).unwrap(), 1.0);
        assert_eq!(sampler.value(q, ch).unwrap(), 1.0);
        assert_eq!(sampler.value(c, ch).unwrap(), 1.0);
    }
}

#[test]
fn gaussian_mean_rule_is_gauss_seidel_converging_to_the_solution() {
    let (model, lambda, h) = common::gaussian_mrf(6, 201);
    let ids = model.groups()[0].ids();
    let exact = common::mat_vec(&common::invert(&lambda), &h);
    let model = Arc::new(model);
    let mut sampler = common::sampler(&model, 3, 4);
    sampler.set_betas(&[1.0, 0.3, 2.0]).unwrap(); // β scales η1 and η2 alike: no effect
    sampler.set_rule_all(UpdateRule::Mean).unwrap();
    let order: Vec<usize> = common::superblocks_of(sampler.program())
        .concat()
        .concat()
        .iter()
        .map(|n| n.index())
        .collect();
    // One sweep is exactly one Gauss–Seidel step in the program's update order.
    let x0: Vec<f64> = sampler
        .chain_state(0)
        .unwrap()
        .iter()
        .map(|&v| v as f64)
        .collect();
    let mut gs = x0.clone();
    for &i in &order {
        let off: f64 = (0..6)
            .filter(|&j| j != i)
            .map(|j| lambda[i][j] * gs[j])
            .sum();
        gs[i] = (h[i] - off) / lambda[i][i];
    }
    sampler.sweep(1).unwrap();
    let x1 = sampler.chain_state(0).unwrap();
    for i in 0..6 {
        assert!(
            (x1[i] as f64 - gs[i]).abs() < 1e-5,
            "GS step, node {i}: {} vs {}",
            x1[i],
            gs[i]
        );
    }
    sampler.sweep(200).unwrap();
    let scale = exact.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    for ch in 0..3 {
        for (i, &n) in ids.iter().enumerate() {
            let got = sampler.value(n, ch).unwrap() as f64;
            assert!(
                (got - exact[i]).abs() < 1e-5 * scale.max(1.0),
                "chain {ch} x{i}: {got} vs {}",
                exact[i]
            );
        }
    }
    // Mode is the same point for a Gaussian.
    sampler.set_rule_all(UpdateRule::Mode).unwrap();
    let before = sampler.chain_state(1).unwrap();
    sampler.sweep(1).unwrap();
    let after = sampler.chain_state(1).unwrap();
    for i in 0..6 {
        assert!((before[i] - after[i]).abs() < 1e-6);
    }
}

#[test]
fn mean_rule_is_refused_for_categorical_blocks() {
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 1).unwrap().node(0);
    let c = b.group("c", NodeKind::Categorical(3), 1).unwrap().node(0);
    b.factor(
        Factor::new("cs")
            .categorical([c])
            .product([s])
            .weights([0.1, 0.2, 0.3]),
    );
    let model = Arc::new(b.build().unwrap());
    let mut sampler = common::sampler(&model, 4, 5);
    let program = sampler.program().clone();
    let cat = program
        .blocks
        .iter()
        .position(|b| b.kind == NodeKind::Categorical(3))
        .unwrap();
    let spin = 1 - cat;
    assert_eq!(
        sampler.set_rule(cat, UpdateRule::Mean),
        Err(RuntimeError::UnsupportedRule {
            block: cat,
            kind: NodeKind::Categorical(3),
            rule: UpdateRule::Mean
        })
    );
    assert!(matches!(
        sampler.set_rule_all(UpdateRule::Mean),
        Err(RuntimeError::UnsupportedRule { block, .. }) if block == cat
    ));
    assert_eq!(
        sampler.rules()[cat],
        UpdateRule::Sample,
        "a refused rule is not applied"
    );
    // Sample and Mode are fine for the categorical block, Mean for the spin block.
    sampler.set_rule(cat, UpdateRule::Mode).unwrap();
    sampler.set_rule(spin, UpdateRule::Mean).unwrap();
    sampler.sweep(3).unwrap();
    assert_eq!(
        sampler.set_rule(7, UpdateRule::Sample),
        Err(RuntimeError::BlockOutOfRange {
            block: 7,
            blocks: 2
        })
    );
}
