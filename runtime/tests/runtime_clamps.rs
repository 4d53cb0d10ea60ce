//! Clamps set at run time against models built with the clamp (bit for bit where the slot
//! layout coincides), per-chain clamps, release, whole-state buffers, reseeding and bad
//! input.

mod support;

use blockgibbs_ir::{BlockSpec, Model, ModelBuilder, NodeId, NodeKind};
use blockgibbs_runtime::{BackendChoice, Chains, RuntimeError};
use std::sync::Arc;
use support::*;

/// A 4×4 open Ising grid with a field, blocked by hand into the two checkerboard colours; the
/// last node of the second block is `last`. With `clamp`, that node is clamped in the model
/// instead (and listed in no block), which keeps every other node in the same slot.
fn grid(clamp: Option<f32>) -> (Model, NodeId) {
    let l = 4;
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, l * l).unwrap();
    let (mut a, mut c) = (Vec::new(), Vec::new());
    for y in 0..l {
        for x in 0..l {
            if x + 1 < l {
                a.push(s.node(y * l + x));
                c.push(s.node(y * l + x + 1));
            }
            if y + 1 < l {
                a.push(s.node(y * l + x));
                c.push(s.node((y + 1) * l + x));
            }
        }
    }
    let j: Vec<f32> = (0..a.len()).map(|i| 0.3 + (i % 4) as f32 * 0.1).collect();
    b.pair_coupling("j", &a, &c, &j);
    let h: Vec<f32> = (0..l * l).map(|i| (i % 3) as f32 * 0.1 - 0.1).collect();
    b.linear_bias("h", &s.ids(), &h);
    let even: Vec<NodeId> = (0..l * l)
        .filter(|i| (i / l + i % l) % 2 == 0)
        .map(|i| s.node(i))
        .collect();
    let mut odd: Vec<NodeId> = (0..l * l)
        .filter(|i| (i / l + i % l) % 2 == 1)
        .map(|i| s.node(i))
        .collect();
    let last = *odd.last().unwrap();
    if let Some(v) = clamp {
        odd.pop();
        b.clamp(last, v);
    }
    b.blocks(BlockSpec::sequential(vec![even, odd]));
    (b.build().unwrap(), last)
}

#[test]
fn a_runtime_clamp_equals_the_model_built_with_it() {
    let (free, last) = grid(None);
    let (clamped, _) = grid(Some(-1.0));
    let (free, clamped) = (Arc::new(free), Arc::new(clamped));
    for backend in backends() {
        for (chains, threads) in [(20, 2), (1, 1)] {
            let mut a = sampler(&free, backend, chains, threads, 4);
            let mut b = sampler(&clamped, backend, chains, threads, 4);
            assert_eq!(
                a.program().slot_of,
                b.program().slot_of,
                "the test needs the layouts to coincide"
            );
            a.clamp(last, -1.0, Chains::All).unwrap();
            for _ in 0..4 {
                a.sweep(5).unwrap();
                b.sweep(5).unwrap();
                assert_eq!(
                    state_bits(&a),
                    state_bits(&b),
                    "{backend:?}, {chains} chains"
                );
            }
            assert!(a.is_held(last, 0).unwrap());
        }
    }
}

#[test]
fn per_chain_clamps_and_release() {
    let (free, last) = grid(None);
    let (clamped, _) = grid(Some(1.0));
    let (free, clamped) = (Arc::new(free), Arc::new(clamped));
    let nodes = free.node_count();
    for backend in backends() {
        let mut a = sampler(&free, backend, 6, 1, 8);
        let mut unclamped = sampler(&free, backend, 6, 1, 8);
        let mut all_clamped = sampler(&clamped, backend, 6, 1, 8);
        // Chain 3 follows the clamped model, the others the free one.
        a.clamp(last, 1.0, Chains::One(3)).unwrap();
        unclamped.set_value(last, 3, 1.0).unwrap();
        a.sweep(9).unwrap();
        unclamped.sweep(9).unwrap();
        all_clamped.sweep(9).unwrap();
        let (sa, su, sc) = (
            state_bits(&a),
            state_bits(&unclamped),
            state_bits(&all_clamped),
        );
        for c in 0..6 {
            let row = c * nodes..(c + 1) * nodes;
            let expected = if c == 3 {
                &sc[row.clone()]
            } else {
                &su[row.clone()]
            };
            assert_eq!(&sa[row], expected, "{backend:?}, chain {c}");
        }
        assert!(a.is_held(last, 3).unwrap() && !a.is_held(last, 2).unwrap());
        assert_eq!(a.runtime_clamps().len(), 1);
        // Released, the node is sampled again: the run continues as a free sampler started
        // from the same state would.
        a.release(last, Chains::All).unwrap();
        assert!(a.runtime_clamps().is_empty());
        let mut fresh = sampler(&free, backend, 6, 1, 8);
        fresh.write_states(&states(&a)).unwrap();
        fresh.set_sweeps_done(a.sweeps_done());
        a.sweep(6).unwrap();
        fresh.sweep(6).unwrap();
        assert_eq!(state_bits(&a), state_bits(&fresh));
    }
}

#[test]
fn clamping_a_group_of_nodes_holds_them_all() {
    let model = Arc::new(rbm(6, 4));
    let v: Vec<NodeId> = model.group("v").unwrap().ids();
    let data = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
    for backend in backends() {
        let mut s = sampler(&model, backend, 5, 1, 2);
        s.clamp_nodes(&v, &data, Chains::All).unwrap();
        for _ in 0..5 {
            s.sweep(3).unwrap();
            for c in 0..5 {
                let got: Vec<f32> = v.iter().map(|&n| s.value(n, c).unwrap()).collect();
                assert_eq!(got, data);
            }
        }
        // Writing a state changes a held node's value, which it then keeps.
        let mut buf = states(&s);
        buf[0] = 0.0;
        s.write_states(&buf).unwrap();
        s.sweep(2).unwrap();
        assert_eq!(s.value(v[0], 0).unwrap(), 0.0);
        assert_eq!(s.value(v[0], 1).unwrap(), 1.0);
    }
}

#[test]
fn bad_clamps_and_states_are_typed_errors_that_change_nothing() {
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 3).unwrap();
    let c = b.group("c", NodeKind::Categorical(3), 2).unwrap();
    b.pair_coupling("j", &[s.node(0)], &[s.node(1)], &[0.5]);
    b.clamp(s.node(2), 1.0);
    b.factor(
        blockgibbs_ir::Factor::new("cc")
            .categorical(vec![c.node(0)])
            .categorical(vec![c.node(1)])
            .weights(vec![0.1; 9]),
    );
    let model = Arc::new(b.build().unwrap());
    let mut x = sampler(&model, BackendChoice::Reference, 4, 1, 0);
    let before = state_bits(&x);
    let bad = [
        x.clamp(s.node(0), 0.5, Chains::All).unwrap_err(),
        x.clamp(c.node(1), 3.0, Chains::One(1)).unwrap_err(),
        x.clamp(s.node(0), 1.0, Chains::One(4)).unwrap_err(),
        x.clamp_nodes(&[s.node(0), s.node(1)], &[1.0], Chains::All)
            .unwrap_err(),
        // The first value is fine, the second is not: nothing is clamped.
        x.clamp_nodes(&[s.node(0), c.node(0)], &[1.0, f32::NAN], Chains::All)
            .unwrap_err(),
        x.release(s.node(2), Chains::All).unwrap_err(),
        x.clamp(NodeId(77), 1.0, Chains::All).unwrap_err(),
    ];
    assert!(
        matches!(&bad[0], RuntimeError::InvalidValue { node, .. } if node == "s[0]"),
        "{}",
        bad[0]
    );
    assert!(
        matches!(&bad[1], RuntimeError::InvalidValue { node, value, .. } if node == "c[1]" && *value == 3.0)
    );
    assert!(matches!(
        &bad[2],
        RuntimeError::ChainOutOfRange {
            chain: 4,
            chains: 4
        }
    ));
    assert!(matches!(
        &bad[3],
        RuntimeError::LengthMismatch {
            expected: 2,
            found: 1,
            ..
        }
    ));
    assert!(matches!(&bad[4], RuntimeError::InvalidValue { node, .. } if node == "c[0]"));
    assert!(matches!(&bad[5], RuntimeError::ClampedInModel { node } if node == "s[2]"));
    assert!(matches!(&bad[6], RuntimeError::UnknownNode { id: 77 }));
    assert_eq!(state_bits(&x), before);
    assert!(x.runtime_clamps().is_empty());

    // State buffers: wrong length, and a bad value named by node and chain.
    let mut buf = states(&x);
    assert!(matches!(
        x.read_states(&mut buf[1..]),
        Err(RuntimeError::LengthMismatch { .. })
    ));
    buf[2 * 5 + 3] = 2.5;
    assert!(matches!(
        x.write_states(&buf),
        Err(RuntimeError::InvalidValueInChain { ref node, chain: 2, .. }) if node == "c[0]"
    ));
    assert_eq!(state_bits(&x), before);
    // A model-clamped node takes a value written to it, and the clamp stays.
    x.clamp(s.node(2), -1.0, Chains::One(0)).unwrap();
    x.sweep(2).unwrap();
    assert_eq!(x.value(s.node(2), 0).unwrap(), -1.0);
    assert_eq!(x.value(s.node(2), 1).unwrap(), 1.0);
}

#[test]
fn reseeding_equals_a_sampler_seeded_so_from_the_same_state() {
    let model = Arc::new(ising(6, 0.35, 0.05));
    for backend in backends() {
        let mut a = sampler(&model, backend, 9, 2, 1);
        a.sweep(4).unwrap();
        a.reseed(99);
        assert_eq!(a.seed(), 99);
        let mut b = sampler(&model, backend, 9, 2, 99);
        b.write_states(&states(&a)).unwrap();
        b.set_sweeps_done(4);
        a.sweep(5).unwrap();
        b.sweep(5).unwrap();
        assert_eq!(state_bits(&a), state_bits(&b));
        // A different seed gives different draws.
        let mut c = sampler(&model, backend, 9, 2, 1);
        c.sweep(9).unwrap();
        assert_ne!(state_bits(&a), state_bits(&c));
    }
}

#[test]
fn the_builder_checks_a_given_program_and_names_unknown_backends() {
    let model = Arc::new(ising(4, 0.2, 0.0));
    let other = Arc::new(rbm(3, 2));
    let (_, program) = blockgibbs_compiler::compile(&other).unwrap();
    let err = blockgibbs_runtime::Sampler::builder(model.clone())
        .program(Arc::new(program))
        .build()
        .err()
        .unwrap();
    assert_eq!(err, RuntimeError::ProgramMismatch);
    let (_, own) = blockgibbs_compiler::compile(&model).unwrap();
    let s = blockgibbs_runtime::Sampler::builder(model.clone())
        .program(Arc::new(own))
        .chains(3)
        .build()
        .unwrap();
    assert_eq!(s.chains(), 3);
    assert!(matches!(
        "cuda".parse::<BackendChoice>(),
        Err(RuntimeError::UnknownBackend(ref b)) if b == "cuda"
    ));
    assert_eq!("jit".parse::<BackendChoice>().unwrap(), BackendChoice::Jit);
}
