//! Every invalid input gives its typed error, naming what is at fault. (Bad TOML keys are
//! tested with the model files.)
mod common;

use blockgibbs::prelude::*;
use std::sync::Arc;

/// A builder with groups s (3 spins), q (2 binaries), c (2 categoricals, K = 3), x (2 Gaussians).
fn base() -> (ModelBuilder, [NodeGroup; 4]) {
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 3).unwrap();
    let q = b.group("q", NodeKind::Binary, 2).unwrap();
    let c = b.group("c", NodeKind::Categorical(3), 2).unwrap();
    let x = b.group("x", NodeKind::Gaussian, 2).unwrap();
    (b, [s, q, c, x])
}

fn build_with(f: impl FnOnce(&mut ModelBuilder, &[NodeGroup; 4])) -> Result<Model, ModelError> {
    let (mut b, g) = base();
    b.gaussian_precision("xp", &g[3].ids(), &[1.0, 1.0]);
    f(&mut b, &g);
    b.build()
}

#[test]
fn unknown_nodes() {
    let e = build_with(|b, g| {
        b.pair_coupling("j", &[g[0].node(0)], &[NodeId(99)], &[1.0]);
    });
    assert_eq!(
        e.unwrap_err(),
        ModelError::UnknownNode {
            context: "factor `j` role product[1]".into(),
            id: 99,
            count: 9
        }
    );
    let e = build_with(|b, _| {
        b.clamp(NodeId(9), 1.0);
    });
    assert_eq!(
        e.unwrap_err(),
        ModelError::UnknownNode {
            context: "clamp".into(),
            id: 9,
            count: 9
        }
    );
    let model = Arc::new(build_with(|_, _| {}).unwrap());
    let mut sampler = common::sampler(&model, 3, 1);
    assert_eq!(
        sampler.value(NodeId(9), 0),
        Err(RuntimeError::UnknownNode { id: 9 })
    );
    assert_eq!(
        sampler.set_value(NodeId(40), 0, 1.0),
        Err(RuntimeError::UnknownNode { id: 40 })
    );
    assert_eq!(
        sampler.set_clamped(NodeId(40), 0, 1.0),
        Err(RuntimeError::UnknownNode { id: 40 })
    );
}

#[test]
fn shape_mismatches() {
    // Roles listing different numbers of instances.
    let e = build_with(|b, g| {
        b.pair_coupling("j", &g[0].ids(), &g[0].ids()[..2], &[1.0; 3]);
    });
    assert_eq!(
        e.unwrap_err(),
        ModelError::RoleLengthMismatch {
            factor: "j".into(),
            role: "product[1]".into(),
            expected: 3,
            found: 2
        }
    );
    // Weights not of shape [instances, K…]: 2 instances × 3 × 3 = 18 entries expected.
    let e = build_with(|b, g| {
        b.factor(
            Factor::new("cc")
                .categorical([g[2].node(0), g[2].node(1)])
                .categorical([g[2].node(1), g[2].node(0)])
                .weights([0.0; 17]),
        );
    });
    assert_eq!(
        e.unwrap_err(),
        ModelError::WeightShapeMismatch {
            factor: "cc".into(),
            expected: 18,
            found: 17,
            shape: vec![2, 3, 3]
        }
    );
    let e = build_with(|b, g| {
        b.linear_bias("h", &g[0].ids(), &[0.1, 0.2]);
    });
    assert!(matches!(
        e,
        Err(ModelError::WeightShapeMismatch {
            expected: 3,
            found: 2,
            ..
        })
    ));
    // A factor without roles.
    let e = build_with(|b, _| {
        b.factor(Factor::new("empty").weights([1.0]));
    });
    assert_eq!(
        e.unwrap_err(),
        ModelError::EmptyFactor {
            factor: "empty".into()
        }
    );
}

#[test]
fn categories_out_of_range() {
    let mut b = ModelBuilder::new();
    for k in [0, 1] {
        assert_eq!(
            b.group("bad", NodeKind::Categorical(k), 2).unwrap_err(),
            ModelError::TooFewCategories {
                group: "bad".into(),
                k
            }
        );
    }
    assert_eq!(b.group("ok", NodeKind::Categorical(2), 1).unwrap().len(), 1);
    assert_eq!(
        b.group("ok", NodeKind::Spin, 1).unwrap_err(),
        ModelError::DuplicateGroup("ok".into())
    );
    // A category outside 0..K in set_value, and other values outside a node's support.
    let model = Arc::new(build_with(|_, _| {}).unwrap());
    let mut sampler = common::sampler(&model, 3, 1);
    let c0 = model.group("c").unwrap().node(0);
    for v in [3.0, -1.0, 1.5, f32::NAN] {
        assert!(matches!(
            sampler.set_value(c0, 1, v),
            Err(RuntimeError::InvalidValue { ref node, ref kind, .. }) if node == "c[0]" && kind == "categorical(3)"
        ));
    }
    sampler.set_value(c0, 1, 2.0).unwrap();
    assert_eq!(sampler.value(c0, 1).unwrap(), 2.0);
    let s0 = model.group("s").unwrap().node(0);
    assert!(matches!(
        sampler.set_value(s0, 0, 0.0),
        Err(RuntimeError::InvalidValue { .. })
    ));
    let q0 = model.group("q").unwrap().node(0);
    assert!(matches!(
        sampler.set_value(q0, 0, -1.0),
        Err(RuntimeError::InvalidValue { .. })
    ));
    let x0 = model.group("x").unwrap().node(0);
    assert!(matches!(
        sampler.set_value(x0, 0, f32::INFINITY),
        Err(RuntimeError::InvalidValue { .. })
    ));
}

#[test]
fn non_finite_weights() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let e = build_with(|b, g| {
            b.linear_bias("h", &g[0].ids(), &[0.1, bad, 0.3]);
        });
        match e.unwrap_err() {
            ModelError::NonFiniteWeight {
                factor,
                index,
                value,
            } => {
                assert_eq!((factor.as_str(), index), ("h", 1));
                assert!(value.is_nan() == bad.is_nan() && (bad.is_nan() || value == bad));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn non_positive_precision_is_caught_at_compile_time() {
    // No quadratic term at all, a negative precision, and precisions summing to zero.
    type AddTerms = fn(&mut ModelBuilder, NodeId);
    let cases: [(&str, AddTerms); 3] = [
        ("none", |b, x| {
            b.gaussian_linear("h", &[x], &[1.0]);
        }),
        ("negative", |b, x| {
            b.gaussian_precision("p", &[x], &[-2.0]);
        }),
        ("zero sum", |b, x| {
            b.gaussian_precision("p", &[x], &[1.0]);
            b.gaussian_precision("m", &[x], &[-1.0]);
        }),
    ];
    for (label, add) in cases {
        let mut b = ModelBuilder::new();
        let x = b.group("x", NodeKind::Gaussian, 2).unwrap();
        b.gaussian_precision("ok", &[x.node(0)], &[1.0]);
        add(&mut b, x.node(1));
        let model = Arc::new(b.build().unwrap());
        let e = compile(&model).unwrap_err();
        assert!(
            matches!(e, CompileError::NonPositivePrecision { ref node, precision } if node == "x[1]" && precision <= 0.0),
            "{label}: {e:?}"
        );
        assert!(matches!(
            Sampler::builder(model)
                .backend(BackendChoice::Reference)
                .options(SamplerOptions::default())
                .build(),
            Err(RuntimeError::Compile(
                CompileError::NonPositivePrecision { .. }
            ))
        ));
    }
}

#[test]
fn non_positive_precision_is_caught_at_run_time_naming_node_and_chain() {
    // x's precision is gated by a clamped c: λ = [1, −1, 2][c]. Only chain 21 (second chunk)
    // sets c = 1; the sweep must fail naming x[0] and chain 21, never produce NaN.
    let mut b = ModelBuilder::new();
    let c = b.group("c", NodeKind::Categorical(3), 1).unwrap().node(0);
    let x = b.group("x", NodeKind::Gaussian, 1).unwrap().node(0);
    b.gated_gaussian_precision("gp", &[c], &[x], &[1.0, -1.0, 2.0]);
    b.clamp(c, 0.0);
    let model = Arc::new(b.build().unwrap());
    compile(&model).unwrap(); // depends on c: checked at every update instead
    let mut sampler = common::sampler(&model, 37, 3);
    sampler.sweep(3).unwrap();
    sampler.set_clamped(c, 21, 1.0).unwrap();
    sampler.set_beta(21, 0.5).unwrap();
    assert_eq!(
        sampler.sweep(1),
        Err(RuntimeError::NonPositivePrecision {
            node: "x[0]".into(),
            chain: 21,
            precision: -0.5
        })
    );
    // Spin-gated: λ = 1 − 2·0.75·s is negative for s = +1.
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 1).unwrap().node(0);
    let x = b.group("x", NodeKind::Gaussian, 1).unwrap().node(0);
    b.gaussian_precision("p", &[x], &[1.0]);
    b.factor(
        Factor::new("sx")
            .product([s])
            .gaussian([x], Power::Two)
            .weights([0.75]),
    );
    b.clamp(s, -1.0);
    let model = Arc::new(b.build().unwrap());
    let mut sampler = common::sampler(&model, 5, 3);
    sampler.sweep(2).unwrap();
    sampler.set_clamped(s, 4, 1.0).unwrap();
    let e = sampler.sweep(1).unwrap_err();
    assert!(
        matches!(e, RuntimeError::NonPositivePrecision { ref node, chain: 4, .. } if node == "x[0]"),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("x[0]") && e.to_string().contains("chain 4"),
        "{e}"
    );
}

#[test]
fn interacting_nodes_in_one_block() {
    let e = build_with(|b, g| {
        b.pair_coupling("j", &[g[0].node(0)], &[g[0].node(2)], &[1.0]);
        b.blocks(BlockSpec::sequential(vec![
            g[0].ids(),
            g[1].ids(),
            g[2].ids(),
            g[3].ids(),
        ]));
    });
    let e = compile(&e.unwrap()).unwrap_err();
    assert_eq!(
        e,
        CompileError::InteractingNodesInBlock {
            block: 0,
            a: "s[0]".into(),
            b: "s[2]".into(),
            factor: "j".into()
        }
    );
}

#[test]
fn wrong_kind_in_a_role() {
    let kind_err = |e: Result<Model, ModelError>| match e.unwrap_err() {
        ModelError::RoleKindMismatch {
            role,
            node,
            expected,
            found,
            ..
        } => (role, node, expected, found),
        other => panic!("{other:?}"),
    };
    let s = |a: &str, b: &str, c: &str, d: &str| {
        (a.to_string(), b.to_string(), c.to_string(), d.to_string())
    };
    assert_eq!(
        kind_err(build_with(|b, g| {
            b.linear_bias("h", &[g[0].node(0), g[2].node(0)], &[0.1, 0.2]);
        })),
        s("product[0]", "c[0]", "spin or binary", "categorical(3)")
    );
    assert_eq!(
        kind_err(build_with(|b, g| {
            b.categorical_bias("t", &[g[0].node(1)], &[0.0]);
        })),
        s("categorical[0]", "s[1]", "categorical", "spin")
    );
    assert_eq!(
        kind_err(build_with(|b, g| {
            b.gaussian_linear("l", &[g[1].node(0)], &[1.0]);
        })),
        s("gaussian[0]", "q[0]", "gaussian", "binary")
    );
    assert_eq!(
        kind_err(build_with(|b, g| {
            b.potts_coupling("p", &[g[0].node(0)], &[g[0].node(1)], &[1.0]);
        })),
        s("categorical[0]", "s[0]", "categorical", "spin")
    );
    // Different K in one categorical role.
    let e = {
        let (mut b, g) = base();
        let d = b.group("d", NodeKind::Categorical(4), 1).unwrap();
        b.categorical_bias("t", &[g[2].node(0), d.node(0)], &[0.0; 6]);
        b.build()
    };
    assert_eq!(
        kind_err(e),
        s("categorical[0]", "d[0]", "categorical(3)", "categorical(4)")
    );
}

#[test]
fn repeated_node_in_an_instance() {
    let e = build_with(|b, g| {
        b.pair_coupling(
            "j",
            &g[0].ids()[..2],
            &[g[0].node(2), g[0].node(1)],
            &[1.0, 1.0],
        );
    });
    assert_eq!(
        e.unwrap_err(),
        ModelError::RepeatedNode {
            factor: "j".into(),
            instance: 1,
            node: "s[1]".into()
        }
    );
    let e = build_with(|b, g| {
        b.gaussian_coupling("xx", &[g[3].node(0)], &[g[3].node(0)], &[0.1]);
    });
    assert!(
        matches!(e, Err(ModelError::RepeatedNode { instance: 0, ref node, .. }) if node == "x[0]")
    );
}

#[test]
fn invalid_clamp_values() {
    let names = ["s", "q", "c", "x"];
    for (gi, bad) in [
        (0, 0.5),
        (0, 0.0),
        (1, -1.0),
        (1, 0.5),
        (2, 3.0),
        (2, 0.5),
        (3, f32::NAN),
        (3, f32::INFINITY),
    ] {
        let e = build_with(|b, g| {
            b.clamp(g[gi].node(0), bad);
        })
        .unwrap_err();
        assert!(
            matches!(e, ModelError::InvalidClampValue { ref node, .. } if *node == format!("{}[0]", names[gi])),
            "{e:?}"
        );
    }
    // Per chain: a bad value, and a free node.
    let model = Arc::new(
        build_with(|b, g| {
            b.clamp(g[0].node(0), 1.0);
        })
        .unwrap(),
    );
    let mut sampler = common::sampler(&model, 4, 1);
    let (s0, s1) = (
        model.group("s").unwrap().node(0),
        model.group("s").unwrap().node(1),
    );
    assert!(matches!(
        sampler.set_clamped(s0, 2, 0.0),
        Err(RuntimeError::InvalidValue { .. })
    ));
    assert_eq!(
        sampler.set_clamped(s1, 2, 1.0),
        Err(RuntimeError::NotClamped {
            node: "s[1]".into()
        })
    );
    sampler.set_clamped(s0, 2, -1.0).unwrap();
    sampler.sweep(3).unwrap();
    assert_eq!(
        sampler.value(s0, 2).unwrap(),
        -1.0,
        "clamped nodes are never updated"
    );
    assert_eq!(sampler.value(s0, 1).unwrap(), 1.0);
}

#[test]
fn invalid_beta() {
    let model = Arc::new(build_with(|_, _| {}).unwrap());
    for beta in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let opts = SamplerOptions {
            chains: 2,
            beta,
            ..Default::default()
        };
        assert!(matches!(
            Sampler::builder(model.clone())
                .backend(BackendChoice::Reference)
                .options(opts)
                .build(),
            Err(RuntimeError::InvalidBeta { chain: 0, .. })
        ));
        let mut sampler = common::sampler(&model, 3, 1);
        assert!(matches!(
            sampler.set_beta(2, beta),
            Err(RuntimeError::InvalidBeta { chain: 2, .. })
        ));
        assert_eq!(sampler.beta(2).unwrap(), 1.0);
    }
    let opts = SamplerOptions {
        chains: 0,
        ..Default::default()
    };
    assert!(matches!(
        Sampler::builder(model)
            .backend(BackendChoice::Reference)
            .options(opts)
            .build(),
        Err(RuntimeError::NoChains)
    ));
}

#[test]
fn chain_out_of_range() {
    let model = Arc::new(
        build_with(|b, g| {
            b.clamp(g[0].node(0), 1.0);
        })
        .unwrap(),
    );
    let mut sampler = common::sampler(&model, 37, 1);
    let (s0, s1) = (
        model.group("s").unwrap().node(0),
        model.group("s").unwrap().node(1),
    );
    let oor = Err(RuntimeError::ChainOutOfRange {
        chain: 37,
        chains: 37,
    });
    assert_eq!(sampler.value(s1, 37), oor.clone().map(|()| 0.0));
    assert_eq!(sampler.set_value(s1, 37, 1.0), oor);
    assert_eq!(sampler.set_clamped(s0, 37, 1.0), oor);
    assert_eq!(sampler.set_beta(37, 1.0), oor);
    assert_eq!(sampler.beta(37), oor.clone().map(|()| 0.0));
    assert_eq!(sampler.energy(37), oor.clone().map(|()| 0.0));
    assert_eq!(sampler.chain_state(37), oor.clone().map(|()| vec![]));
    assert!(sampler.value(s1, 36).is_ok());
    assert!(matches!(
        sampler.set_betas(&[1.0; 36]),
        Err(RuntimeError::ChainOutOfRange { .. })
    ));
}

#[test]
fn padding_lanes_do_not_fail_a_valid_per_chain_setup() {
    // The model's default clamp (s = +1) gives x a negative precision 1 − 2·0.75; every real
    // chain is set to the valid s = −1. With 5 chains the chunk has 3 padding lanes, which
    // must not carry the invalid default into the sweep.
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 1).unwrap().node(0);
    let x = b.group("x", NodeKind::Gaussian, 1).unwrap().node(0);
    b.gaussian_precision("p", &[x], &[1.0]);
    b.factor(
        Factor::new("sx")
            .product([s])
            .gaussian([x], Power::Two)
            .weights([0.75]),
    );
    b.clamp(s, 1.0);
    let model = Arc::new(b.build().unwrap());
    let mut sampler = common::sampler(&model, 5, 3);
    for ch in 0..5 {
        sampler.set_clamped(s, ch, -1.0).unwrap();
    }
    sampler.sweep(3).unwrap();
}
