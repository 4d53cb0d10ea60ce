//! Model files: every example builds and samples, `--set` overrides, and typed errors
//! naming the key for schema and parameter mistakes. The graph family is tested in
//! `model_file_graph.rs`.

mod model_file_support;

use blockgibbs::families::{self, Disorder};
use blockgibbs::model_file::{ModelFile, ModelFileError, ModelSpec, overrides};
use blockgibbs::prelude::*;
use model_file_support::*;

#[test]
fn every_example_parses_builds_and_samples() {
    let mut seen = 0;
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        seen += 1;
        let sets = [
            "schedule.warmup=2".to_string(),
            "schedule.samples=3".to_string(),
            "schedule.chains=4".to_string(),
        ];
        let file =
            ModelFile::load(&path, &sets).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (mut sampler, built) = file
            .sampler(1)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut obs = ScalarObservables::standard(&built.model);
        let mut samples = SampleCollector::new(built.output_nodes.clone());
        sampler
            .run(&file.schedule.sampling(), &mut [&mut obs, &mut samples])
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let e = obs.estimate("energy_per_node").unwrap();
        assert!(e.mean.is_finite(), "{}", path.display());
        assert_eq!(e.observations, 3);
        assert_eq!(samples.shape(), [3, 4, built.output_nodes.len()]);
    }
    // One example per family, plus the hand-given-blocks and .npy graph variants.
    assert!(seen >= 11, "only {seen} examples");
}

#[test]
fn examples_cover_every_family() {
    let mut families: Vec<&str> = std::fs::read_dir(examples_dir())
        .unwrap()
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "toml").then_some(path)
        })
        .map(|p| ModelFile::load(&p, &[]).unwrap().family())
        .collect();
    families.sort_unstable();
    families.dedup();
    let mut all = blockgibbs::model_file::FAMILIES.to_vec();
    all.sort_unstable();
    assert_eq!(families, all);
}

#[test]
fn family_parameters_and_defaults_reach_the_constructors() {
    let file = parse(
        "[model]\nfamily = \"ea2d\"\nL = 6\ndisorder = \"pm\"\ndisorder_seed = 5\nperiodic = false",
    )
    .unwrap();
    let built = file.build().unwrap();
    let direct = families::edwards_anderson(2, 6, Disorder::PlusMinus, 5, 0.0, false).unwrap();
    assert_eq!(built.model.factors(), direct.factors());
    assert_eq!(built.beta, 1.0);
    assert_eq!(file.schedule.chains, 16);
    assert_eq!(file.schedule.steps_per_sample, 1);

    let file = parse("[model]\nfamily = \"potts2d\"\nq = 4\nL = 4\nbeta = 0.7").unwrap();
    let ModelSpec::Potts2d(p) = &file.model else {
        panic!("wrong family")
    };
    assert_eq!((p.q, p.l, p.j, p.periodic), (4, 4, 1.0, true));
    assert_eq!(file.sampler_options(3).beta, 0.7);
    assert_eq!(file.sampler_options(3).threads, 3);
}

#[test]
fn overrides_set_nested_keys_with_inferred_types() {
    let base = "[model]\nfamily = \"ising2d\"\nL = 4\n";
    let file = parse_with(
        base,
        &[
            "model.L=8",
            "model.beta=0.25",
            "model.periodic=false",
            "model.J = -1",
            "schedule.chains=64",
            "schedule.seed=9",
        ],
    )
    .unwrap();
    let ModelSpec::Ising2d(s) = &file.model else {
        panic!("wrong family")
    };
    assert_eq!((s.l, s.beta, s.periodic, s.j), (8, 0.25, false, -1.0));
    assert_eq!((file.schedule.chains, file.schedule.seed), (64, 9));

    // A bare word is a string; so is a quoted one.
    let file = parse_with(base, &["model.family=ising3d"]).unwrap();
    assert_eq!(file.family(), "ising3d");
    let file = parse_with(base, &["model.family=\"ea2d\"", "model.disorder=pm"]).unwrap();
    assert_eq!(file.family(), "ea2d");

    // Arrays, inline tables, new tables and array indices.
    let file = parse_with(
        SMALL_GRAPH,
        &[
            "model.factors.0.weights=[1.5, -2]",
            "output.nodes=[{ group = \"s\", index = [2, 0] }]",
        ],
    )
    .unwrap();
    let built = file.build().unwrap();
    assert_eq!(built.model.factors()[0].weights, vec![1.5, -2.0]);
    assert_eq!(built.output_nodes, vec![NodeId(2), NodeId(0)]);

    assert_eq!(overrides::parse_value("12"), toml::Value::Integer(12));
    assert_eq!(overrides::parse_value("1e-3"), toml::Value::Float(1e-3));
    assert_eq!(overrides::parse_value("true"), toml::Value::Boolean(true));
    assert_eq!(
        overrides::parse_value("a b"),
        toml::Value::String("a b".into())
    );
}

#[test]
fn overrides_fail_with_typed_errors() {
    let base = "[model]\nfamily = \"ising2d\"\nL = 4\n";
    match parse_with(base, &["model.Lx=8"]) {
        Err(ModelFileError::UnknownKey { key, expected }) => {
            assert_eq!(key, "model.Lx");
            assert!(expected.contains("`L`"), "{expected}");
        }
        other => panic!("{other:?}"),
    }
    match parse_with(base, &["schedule.chain=8"]) {
        Err(ModelFileError::UnknownKey { key, .. }) => assert_eq!(key, "schedule.chain"),
        other => panic!("{other:?}"),
    }
    for bad in ["model.L", "model..L=3", "model.L.x=1", "=3"] {
        assert!(
            matches!(
                parse_with(base, &[bad]),
                Err(ModelFileError::InvalidOverride { .. })
            ),
            "{bad}"
        );
    }
    for bad in ["model.factors.3.weights=1", "model.factors.x=1"] {
        assert!(
            matches!(
                parse_with(SMALL_GRAPH, &[bad]),
                Err(ModelFileError::InvalidOverride { .. })
            ),
            "{bad}"
        );
    }
    match parse_with(base, &["model.L=big"]) {
        Err(ModelFileError::InvalidValue { key, .. }) => assert_eq!(key, "model.L"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn schema_errors_name_the_key() {
    let cases: &[(&str, &str)] = &[
        ("[model]\nfamily = \"ising2d\"\nL = 4\nJx = 1", "model.Jx"),
        ("[model]\nfamily = \"ising2d\"\nL = 4\n[outptu]\n", "outptu"),
        (
            "[model]\nfamily = \"ising2d\"\nL = 4\n[output]\nnode = []",
            "output.node",
        ),
    ];
    for (text, want) in cases {
        match parse(text) {
            Err(ModelFileError::UnknownKey { key, .. }) => assert_eq!(&key, want),
            other => panic!("{text}: {other:?}"),
        }
    }
    let deep = SMALL_GRAPH.replace("products =", "product =");
    match parse(&deep) {
        Err(ModelFileError::UnknownKey { key, .. }) => assert_eq!(key, "model.factors[0].product"),
        other => panic!("{other:?}"),
    }
    let deeper = SMALL_GRAPH.replace("group = \"s\", index = [1, 2]", "grop = \"s\"");
    match parse(&deeper) {
        Err(ModelFileError::UnknownKey { key, .. }) => {
            assert_eq!(key, "model.factors[0].products[1].grop")
        }
        other => panic!("{other:?}"),
    }
    match parse("[model]\nfamily = \"ising2d\"") {
        Err(ModelFileError::MissingKey { key }) => assert_eq!(key, "model.L"),
        other => panic!("{other:?}"),
    }
    match parse("[model]\nL = 4") {
        Err(ModelFileError::MissingKey { key }) => assert_eq!(key, "model.family"),
        other => panic!("{other:?}"),
    }
    match parse("[schedule]\nchains = 4") {
        Err(ModelFileError::MissingKey { key }) => assert_eq!(key, "model"),
        other => panic!("{other:?}"),
    }
    match parse("[model]\nfamily = \"ising2d\"\nL = -4") {
        Err(ModelFileError::InvalidValue { key, .. }) => assert_eq!(key, "model.L"),
        other => panic!("{other:?}"),
    }
    match parse("[model]\nfamily = \"ea2d\"\nL = 4\ndisorder = \"cauchy\"") {
        Err(ModelFileError::InvalidValue { key, .. }) => assert_eq!(key, "model.disorder"),
        other => panic!("{other:?}"),
    }
    match parse("[model]\nfamily = \"ising4d\"\nL = 4") {
        Err(ModelFileError::UnknownFamily { family, known }) => {
            assert_eq!(family, "ising4d");
            assert!(known.contains("graph"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse("[model\nfamily = 1"),
        Err(ModelFileError::Syntax { .. })
    ));
    assert!(matches!(
        ModelFile::load("/no/such/model.toml", &[]),
        Err(ModelFileError::Io { .. })
    ));
}

#[test]
fn parameter_errors_name_their_key() {
    let field = |text: &str| match check(text) {
        Err(ModelFileError::InvalidValue { key, .. }) => key,
        other => panic!("{other:?}"),
    };
    assert_eq!(field("[model]\nfamily = \"ising2d\"\nL = 1"), "model.L");
    assert_eq!(
        field("[model]\nfamily = \"ising2d\"\nL = 4\nbeta = 0"),
        "model.beta"
    );
    assert_eq!(
        field("[model]\nfamily = \"ising2d\"\nL = 4\n[schedule]\nchains = 0"),
        "schedule.chains"
    );
    assert_eq!(
        field("[model]\nfamily = \"gaussian_grid\"\nL = 4\nprecision = 1\ncoupling = 0.5"),
        "model.coupling"
    );
    assert_eq!(
        field("[model]\nfamily = \"rbm\"\nn_visible = 100000\nn_hidden = 100000"),
        "model.n_hidden"
    );
}
