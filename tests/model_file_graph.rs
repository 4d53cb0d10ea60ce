//! The `graph` family of model files: typed errors for every kind of invalid graph input,
//! energies against hand computation, hand-given block rules and `.npy` inputs.

mod model_file_support;

use blockgibbs::model_file::{ModelFile, ModelFileError};
use blockgibbs::prelude::*;
use model_file_support::*;

#[test]
fn graph_errors_are_typed() {
    let factor = |body: &str| graph(&format!("[[model.factors]]\nname = \"f\"\n{body}"));
    match check(&factor("products = [{ group = \"t\" }]\nweights = 1")) {
        Err(ModelFileError::UnknownGroup {
            key,
            group,
            defined,
        }) => {
            assert_eq!(key, "model.factors[1].products[0].group");
            assert_eq!(group, "t");
            assert!(defined.contains("`s`"));
        }
        other => panic!("{other:?}"),
    }
    match check(&factor(
        "products = [{ group = \"s\", index = [0, 2] }]\nweights = 1",
    )) {
        Err(ModelFileError::IndexOutOfRange {
            key, index, size, ..
        }) => {
            assert_eq!(key, "model.factors[1].products[0].index");
            assert_eq!((index, size), (2, 2));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        check(&factor(
            "products = [{ group = \"s\", index = [-1] }]\nweights = 1"
        )),
        Err(ModelFileError::IndexOutOfRange { index: -1, .. })
    ));
    // Shape mismatches: a flat list of the wrong length, nested lists of the wrong shape.
    assert!(matches!(
        model_error(&factor(
            "categorical = [{ group = \"c\" }]\nweights = [1, 2, 3]"
        )),
        ModelError::WeightShapeMismatch {
            expected: 6,
            found: 3,
            ..
        }
    ));
    match check(&factor(
        "categorical = [{ group = \"c\" }]\nweights = [[1, 2], [3, 4], [5, 6]]",
    )) {
        Err(ModelFileError::ShapeMismatch {
            key,
            expected,
            found,
        }) => {
            assert_eq!(key, "model.factors[1].weights");
            assert_eq!((expected, found), (vec![2, 3], vec![3, 2]));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        model_error(&factor(
            "products = [{ group = \"s\" }, { group = \"s\", index = [0] }]\nweights = 1"
        )),
        ModelError::RoleLengthMismatch { .. }
    ));
    assert!(matches!(
        model_error(&factor("products = [{ group = \"x\" }]\nweights = 1")),
        ModelError::RoleKindMismatch { .. }
    ));
    assert!(matches!(
        model_error(&factor(
            "products = [{ group = \"s\" }]\nweights = [0.5, nan]"
        )),
        ModelError::NonFiniteWeight { index: 1, .. }
    ));
    assert!(matches!(
        model_error(&factor(
            "products = [{ group = \"s\" }]\nweights = [0.5, inf]"
        )),
        ModelError::NonFiniteWeight { .. }
    ));
    match check(&factor(
        "gaussian = [{ group = \"x\", power = 3 }]\nweights = 1",
    )) {
        Err(ModelFileError::InvalidValue { key, message }) => {
            assert_eq!(key, "model.factors[1].gaussian[0].power");
            assert!(message.contains("power 3"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        model_error(&factor(
            "products = [{ group = \"s\", index = [0] }, { group = \"s\", index = [0] }]\nweights = 1"
        )),
        ModelError::RepeatedNode { .. }
    ));
    match check(&factor("products = [{ group = \"s\" }]")) {
        Err(ModelFileError::MissingKey { key }) => assert_eq!(key, "model.factors[1].weights"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        check(&factor(
            "products = [{ group = \"s\" }]\nweights = 1\nweights_npy = \"w.npy\""
        )),
        Err(ModelFileError::InvalidValue { .. })
    ));
    assert!(matches!(
        check(&factor(
            "products = [{ group = \"s\" }]\nweights = [[1], [2, 3]]"
        )),
        Err(ModelFileError::InvalidValue { .. })
    ));
    assert!(matches!(
        check(&factor(
            "products = [{ group = \"s\" }]\nweights = \"heavy\""
        )),
        Err(ModelFileError::InvalidValue { .. })
    ));
    assert!(matches!(
        model_error(&factor("weights = 1")),
        ModelError::EmptyFactor { .. }
    ));
}

#[test]
fn graph_node_errors_are_typed() {
    // Non-positive Gaussian precision (found when compiling).
    let text = graph("").replace("weights = [-0.5]", "weights = [0.5]");
    assert!(matches!(
        compile_error(&text),
        CompileError::NonPositivePrecision { .. }
    ));
    // K out of range.
    assert!(matches!(
        model_error(&graph("").replace("k = 3", "k = 1")),
        ModelError::TooFewCategories { k: 1, .. }
    ));
    match check(&graph("").replace("k = 3\n", "")) {
        Err(ModelFileError::MissingKey { key }) => assert_eq!(key, "model.groups[1].k"),
        other => panic!("{other:?}"),
    }
    match check(&graph("").replace("size = 1", "size = 1\nk = 2")) {
        Err(ModelFileError::InvalidValue { key, .. }) => assert_eq!(key, "model.groups[2].k"),
        other => panic!("{other:?}"),
    }
    match check(&graph("").replace("kind = \"spin\"", "kind = \"ising\"")) {
        Err(ModelFileError::InvalidValue { key, .. }) => assert_eq!(key, "model.groups[0].kind"),
        other => panic!("{other:?}"),
    }
    // Clamps: a category out of range, a spin value that is not ±1, mismatched lengths.
    let clamp = |c: &str| graph("").replace("k = 3\n", &format!("k = 3\nclamped = {c}\n"));
    assert!(matches!(
        model_error(&clamp("{ index = [0], values = [3] }")),
        ModelError::InvalidClampValue { .. }
    ));
    assert!(matches!(
        check(&clamp("{ index = [0, 1], values = [1, 2, 0] }")),
        Err(ModelFileError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        check(&clamp("{ index = [2], values = 1 }")),
        Err(ModelFileError::IndexOutOfRange { .. })
    ));
    // Duplicate group names.
    let dup = graph("[[model.groups]]\nname = \"s\"\nkind = \"binary\"\nsize = 1");
    assert!(matches!(model_error(&dup), ModelError::DuplicateGroup(_)));
    // An unknown output group.
    match check(&graph("[output]\nnodes = [{ group = \"y\" }]")) {
        Err(ModelFileError::UnknownGroup { key, .. }) => assert_eq!(key, "output.nodes[0].group"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn hand_given_block_errors_are_typed() {
    let base = SMALL_GRAPH;
    let blocks = |b: &str| format!("{base}{b}");
    // s0 and s1 share factor `j`.
    let interacting = blocks(
        "[[model.blocks]]\nnodes = [{ group = \"s\", index = [0, 1] }]\n\
         [[model.blocks]]\nnodes = [{ group = \"s\", index = [2] }]",
    );
    assert!(matches!(
        compile_error(&interacting),
        CompileError::InteractingNodesInBlock { .. }
    ));
    let missing = blocks("[[model.blocks]]\nnodes = [{ group = \"s\", index = [0, 2] }]");
    assert!(matches!(
        model_error(&missing),
        ModelError::NodeWithoutBlock { .. }
    ));
    let both = blocks(
        "[[model.blocks]]\nnodes = [{ group = \"s\" }]\n\
         [[model.superblocks]]\nblocks = [{ nodes = [{ group = \"s\" }] }]",
    );
    assert!(matches!(
        check(&both),
        Err(ModelFileError::InvalidValue { .. })
    ));
    let bad_rule =
        blocks("[[model.blocks]]\nnodes = [{ group = \"s\", index = [0, 2] }]\nupdate = \"gibbs\"");
    match check(&bad_rule) {
        Err(ModelFileError::InvalidValue { key, .. }) => assert_eq!(key, "model.blocks[0].update"),
        other => panic!("{other:?}"),
    }
    // Mean-field is not defined for categorical nodes: the sampler refuses it.
    let text = graph(
        "[[model.blocks]]\nnodes = [{ group = \"c\" }]\nupdate = \"mean\"\n[[model.blocks]]\nnodes = [{ group = \"s\" }]\n[[model.blocks]]\nnodes = [{ group = \"x\" }]",
    );
    let err = check(&text).unwrap_err();
    assert!(
        matches!(
            err.runtime_error(),
            Some(RuntimeError::UnsupportedRule { .. })
        ),
        "{err:?}"
    );
}

#[test]
fn graph_energy_matches_hand_computation() {
    let text = r#"
[model]
family = "graph"
[[model.groups]]
name = "s"
kind = "spin"
size = 2
[[model.groups]]
name = "b"
kind = "binary"
size = 1
[[model.groups]]
name = "c"
kind = "categorical"
k = 3
size = 1
[[model.groups]]
name = "x"
kind = "gaussian"
size = 1
[[model.factors]]
name = "pair"
products = [{ group = "s", index = [0] }, { group = "s", index = [1] }]
weights = 0.5
[[model.factors]]
name = "bias"
products = [{ group = "b" }]
weights = [-0.7]
[[model.factors]]
name = "cbias"
categorical = [{ group = "c" }]
weights = [0.1, 0.2, 0.3]
[[model.factors]]
name = "cspin"
categorical = [{ group = "c" }]
products = [{ group = "s", index = [0] }]
weights = [[1, 2, 3]]
[[model.factors]]
name = "prec"
gaussian = [{ group = "x", power = 2 }]
weights = -0.5
[[model.factors]]
name = "lin"
gaussian = [{ group = "x" }]
weights = 0.25
[[model.factors]]
name = "gated"
categorical = [{ group = "c" }]
gaussian = [{ group = "x", power = 1 }]
weights = [[0.1, 0.2, 0.3]]
[[model.factors]]
name = "bx"
products = [{ group = "b" }]
gaussian = [{ group = "x" }]
weights = 2
"#;
    let built = parse(text).unwrap().build().unwrap();
    let model = &built.model;
    assert_eq!(model.node_count(), 5);
    assert_eq!(model.kind(NodeId(3)), NodeKind::Categorical(3));
    // State s = (+1, −1), b = 1, c = 2, x = 1.5. Log-density terms:
    // 0.5·(1·−1) − 0.7·1 + 0.3 + 3·1 − 0.5·1.5² + 0.25·1.5 + 0.3·1.5 + 2·1·1.5 = 4.8
    let state = [1.0, -1.0, 1.0, 2.0, 1.5];
    assert!(
        (model.energy(&state) + 4.8).abs() < 1e-6,
        "{}",
        model.energy(&state)
    );
    // c = 0, s = (−1, −1), b = 0, x = −1:
    // 0.5 + 0 + 0.1 + 1·(−1) − 0.5 − 0.25 − 0.1 + 0 = −1.25
    let state = [-1.0, -1.0, 0.0, 0.0, -1.0];
    assert!((model.energy(&state) - 1.25).abs() < 1e-6);
}

#[test]
fn block_rules_from_the_file_are_applied() {
    // examples/graph_blocks.toml updates its Gaussian chain by mean-field iteration, which
    // converges to the exact mean Λ⁻¹h: x0 = −x3 = 1/1.9, x1 = −x2 = 0.2/1.9.
    let file = ModelFile::load(
        examples_dir().join("graph_blocks.toml"),
        &["schedule.warmup=200".into(), "schedule.samples=1".into()],
    )
    .unwrap();
    let (mut sampler, built) = file.sampler(1).unwrap();
    assert_eq!(built.rules.len(), 4);
    assert_eq!(built.rules[1], UpdateRule::Mean);
    sampler.run(&file.schedule.sampling(), &mut []).unwrap();
    let x = built.model.group("x").unwrap().ids();
    let want = [1.0 / 1.9, 0.2 / 1.9, -0.2 / 1.9, -1.0 / 1.9];
    for chain in 0..sampler.chains() {
        for (n, w) in x.iter().zip(want) {
            let v = sampler.value(*n, chain).unwrap() as f64;
            assert!((v - w).abs() < 1e-5, "chain {chain}: {v} vs {w}");
        }
    }
}

#[test]
fn npy_weights_and_indices_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let npy = |name: &str, shape: &[u64], data: &[f32]| {
        blockgibbs::output::write_npy_f32(&dir.path().join(name), shape, data).unwrap();
    };
    npy("w.npy", &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    npy("flat.npy", &[6], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    npy("wrong.npy", &[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    npy("nan.npy", &[2, 3], &[1.0, 2.0, f32::NAN, 4.0, 5.0, 6.0]);
    std::fs::write(dir.path().join("text.npy"), "not numpy").unwrap();
    let text = |file: &str| {
        graph(&format!(
            "[[model.factors]]\nname = \"f\"\ncategorical = [{{ group = \"c\" }}]\nweights_npy = \"{file}\""
        ))
    };
    let load = |file: &str| ModelFile::parse(&text(file), "<t>", dir.path().into(), &[]);
    for ok in ["w.npy", "flat.npy"] {
        let built = load(ok).unwrap().build().unwrap();
        assert_eq!(
            built.model.factors()[1].weights,
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
    }
    assert!(matches!(
        load("wrong.npy").unwrap().build(),
        Err(ModelFileError::ShapeMismatch { .. })
    ));
    let err = load("nan.npy").unwrap().build().unwrap_err();
    assert!(
        matches!(
            err.model_error(),
            Some(ModelError::NonFiniteWeight { index: 2, .. })
        ),
        "{err:?}"
    );
    assert!(matches!(
        load("text.npy").unwrap().build(),
        Err(ModelFileError::Npy { .. })
    ));
    assert!(matches!(
        load("missing.npy").unwrap().build(),
        Err(ModelFileError::Io { .. })
    ));

    // Node indices from an integer array.
    let mut bytes = Vec::new();
    {
        use npyz::WriterBuilder;
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[2])
            .writer(&mut bytes)
            .begin_nd()
            .unwrap();
        w.extend([1i64, 0]).unwrap();
        w.finish().unwrap();
    }
    std::fs::write(dir.path().join("idx.npy"), bytes).unwrap();
    let text = graph(
        "[[model.factors]]\nname = \"f\"\nproducts = [{ group = \"s\", index_npy = \"idx.npy\" }]\nweights = [0.5, 0.25]",
    );
    let built = ModelFile::parse(&text, "<t>", dir.path().into(), &[])
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        built.model.factors()[1].products[0],
        vec![NodeId(1), NodeId(0)]
    );
    // A float array is not an index array.
    let text = text.replace("idx.npy", "flat.npy");
    assert!(matches!(
        ModelFile::parse(&text, "<t>", dir.path().into(), &[])
            .unwrap()
            .build(),
        Err(ModelFileError::Npy { .. })
    ));

    // The committed example: shape [6, 3, 3].
    let file = ModelFile::load(examples_dir().join("graph_npy.toml"), &[]).unwrap();
    let built = file.build().unwrap();
    assert_eq!(built.model.factors()[0].weights.len(), 54);
}
