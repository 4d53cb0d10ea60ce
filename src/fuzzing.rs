//! The bodies of the cargo-fuzz targets in `fuzz/` (see `FUZZING.md`), shared with the test
//! `tests/fuzz_corpus.rs` that replays their corpora, so that the two cannot drift apart.
//!
//! Each target takes arbitrary bytes and returns `Ok` when they load, or the error's text
//! when they are refused; the property fuzzed is that nothing else happens (no panic, abort,
//! allocation beyond the fuzzer's memory limit, or hang). [`seeds`] makes the valid inputs
//! the corpora start from.

use crate::data::DataFile;
use crate::model_file::graph::GraphSpec;
use crate::model_file::{ModelFile, ModelSpec, tensor};
use blockgibbs_ir::NodeId;
use blockgibbs_runtime::checkpoint::{KIND_ENERGY, KIND_MOMENTS, KIND_SAMPLES, KIND_SCALARS};
use blockgibbs_runtime::{
    BackendChoice, EnergyObserver, Moments, SampleCollector, Sampler, SamplingSchedule,
    ScalarObservables,
};
use std::path::{Path, PathBuf};

/// The fuzz targets, by name (the names of `fuzz/fuzz_targets/*.rs` and of the corpus
/// directories).
pub const TARGETS: [&str; 4] = ["model_file", "npy", "safetensors_model", "checkpoint"];

/// Runs the body of the target `name` on `data`.
pub fn run(name: &str, data: &[u8]) -> Result<(), String> {
    match name {
        "model_file" => model_file(data),
        "npy" => npy(data),
        "safetensors_model" => safetensors_model(data),
        "checkpoint" => checkpoint(data),
        _ => panic!("no fuzz target `{name}`"),
    }
}

/// Directory that relative `.npy` names in fuzzed model files resolve against: the
/// examples, so that `graph_npy.toml` finds its weights.
fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Largest model the `model_file` target builds, in nodes and weights. Building allocates in
/// proportion to the declared size by design (up to the documented limits such as
/// [`tensor::MAX_WEIGHTS`], gigabytes); larger files are only parsed and schema-checked,
/// which keeps every run within the fuzzer's memory and time limits.
pub const FUZZ_BUILD_LIMIT: usize = 1 << 16;

/// `a · b · …` when it stays within [`FUZZ_BUILD_LIMIT`].
fn small(factors: &[usize]) -> bool {
    factors
        .iter()
        .try_fold(1usize, |acc, &f| acc.checked_mul(f))
        .is_some_and(|n| n <= FUZZ_BUILD_LIMIT)
}

/// Whether the model a file declares is small enough for the `model_file` target to build.
fn buildable(spec: &ModelSpec) -> bool {
    match spec {
        ModelSpec::Ising2d(s) => small(&[s.l, s.l, 4]),
        ModelSpec::Ising3d(s) => small(&[s.l, s.l, s.l, 6]),
        ModelSpec::Potts2d(s) => small(&[s.l, s.l, 4, s.q as usize, s.q as usize]),
        ModelSpec::Ea2d(s) => small(&[s.l, s.l, 4]),
        ModelSpec::Ea3d(s) => small(&[s.l, s.l, s.l, 6]),
        ModelSpec::Sk(s) => small(&[s.n, s.n]),
        ModelSpec::Rbm(s) => small(&[s.n_visible + 1, s.n_hidden + 1]),
        ModelSpec::GaussianGrid(s) => small(&[s.l, s.l, 4]),
        ModelSpec::Graph(g) => graph_buildable(g),
    }
}

/// A graph is buildable when its nodes and every factor's weight tensor (instances times
/// the categories of its categorical roles) are small.
fn graph_buildable(g: &GraphSpec) -> bool {
    let total = g
        .groups
        .iter()
        .try_fold(0usize, |acc, gr| acc.checked_add(gr.size));
    if !total.is_some_and(|n| small(&[n])) {
        return false;
    }
    let group = |name: &str| g.groups.iter().find(|gr| gr.name == name);
    let size_of = |name: &str, index: Option<&Vec<i64>>| match index {
        Some(i) => i.len(),
        None => group(name).map_or(0, |gr| gr.size),
    };
    g.factors.iter().all(|f| {
        let instances = f
            .categorical
            .iter()
            .chain(&f.products)
            .map(|r| size_of(&r.group, r.index.as_ref()))
            .chain(
                f.gaussian
                    .iter()
                    .map(|r| size_of(&r.group, r.index.as_ref())),
            )
            .max()
            .unwrap_or(1);
        let mut shape = vec![instances.max(1)];
        shape.extend(f.categorical.iter().map(|r| {
            group(&r.group)
                .and_then(|gr| gr.k)
                .map_or(1, |k| k as usize)
        }));
        small(&shape)
    })
}

/// The model-file parser with `--set` overrides: the input is the file's text, then the
/// overrides, each after a NUL byte. A file that parses and is small enough
/// ([`FUZZ_BUILD_LIMIT`]) is also built and compiled, as `blockgibbs sample` would.
pub fn model_file(data: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
    let mut parts = text.split('\0');
    let doc = parts.next().unwrap_or_default();
    let overrides: Vec<String> = parts.map(str::to_string).collect();
    let file = ModelFile::parse(doc, "fuzz.toml", examples_dir(), &overrides)
        .map_err(|e| e.to_string())?;
    if !buildable(&file.model) {
        return Ok(());
    }
    let built = file.build().map_err(|e| e.to_string())?;
    built.compile().map_err(|e| e.to_string())?;
    Ok(())
}

/// The `.npy` readers: the data matrices of `fit` and `score`, and the weights and node
/// indices of model files. `Ok` when any of them accepts the bytes.
pub fn npy(data: &[u8]) -> Result<(), String> {
    let path = Path::new("fuzz.npy");
    let matrix = DataFile::parse(path, data)
        .map(drop)
        .map_err(|e| e.to_string());
    let weights = tensor::parse_npy_f32("weights_npy", path, data)
        .map(drop)
        .map_err(|e| e.to_string());
    let indices = tensor::parse_npy_indices("index_npy", path, data)
        .map(drop)
        .map_err(|e| e.to_string());
    matrix.or(weights).or(indices)
}

/// Every safetensors model loader, through [`AnyModel`](blockgibbs_models::AnyModel) (which
/// dispatches on the file's `kind` to each model's own loader).
pub fn safetensors_model(data: &[u8]) -> Result<(), String> {
    blockgibbs_models::io::read_kind(data).map_err(|e| e.to_string())?;
    blockgibbs_models::AnyModel::from_safetensors(data)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Resuming a checkpoint on the reference backend, then restoring each saved observer
/// state into a fresh observer of its kind (as `blockgibbs resume` does).
pub fn checkpoint(data: &[u8]) -> Result<(), String> {
    let mut sampler = Sampler::resume("fuzz.ckpt")
        .backend(BackendChoice::Reference)
        .threads(1)
        .open_bytes(data)
        .map_err(|e| e.to_string())?;
    let model = sampler.model().clone();
    let nodes: Vec<NodeId> = (0..model.node_count() as u32).map(NodeId).collect();
    let kinds: Vec<String> = sampler
        .saved_observers()
        .iter()
        .map(|s| s.kind.clone())
        .collect();
    for kind in kinds {
        let restored = match kind.as_str() {
            KIND_SCALARS => sampler
                .attach_restored(ScalarObservables::standard(&model))
                .map(drop),
            KIND_MOMENTS => sampler
                .attach_restored(Moments::new(nodes.clone(), Vec::new()))
                .map(drop),
            KIND_SAMPLES => sampler
                .attach_restored(SampleCollector::new(nodes.clone()))
                .map(drop),
            KIND_ENERGY => sampler.attach_restored(EnergyObserver::default()).map(drop),
            other => return Err(format!("no observer of kind `{other}` to restore")),
        };
        restored.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Valid inputs of every target, `(target, name, bytes)`: the corpora's seeds, which the
/// replay test also checks load.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    out.extend(model_file_seeds());
    out.extend(npy_seeds().into_iter().map(|(n, b)| ("npy", n, b)));
    out.extend(
        model_seeds()
            .into_iter()
            .map(|(n, b)| ("safetensors_model", n, b)),
    );
    out.extend(
        checkpoint_seeds()
            .into_iter()
            .map(|(n, b)| ("checkpoint", n, b)),
    );
    out
}

/// The example model files, small enough to build, some with overrides.
fn model_file_seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("the examples directory")
        .map(|e| e.expect("an examples entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for path in names {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let mut text = std::fs::read_to_string(&path).expect("an example model file");
        // The lattice families at a buildable size, through the override path.
        for (key, value) in [
            ("L", "4"),
            ("n", "8"),
            ("n_visible", "6"),
            ("n_hidden", "3"),
        ] {
            if text.contains(&format!("\n{key} = ")) {
                text.push_str(&format!("\0model.{key}={value}"));
            }
        }
        text.push_str("\0schedule.chains=2");
        out.push(("model_file", name, text.into_bytes()));
    }
    out
}

fn npy_seeds() -> Vec<(String, Vec<u8>)> {
    use npyz::{DType, Order, WriterBuilder};
    fn write<T: npyz::Serialize + Copy>(
        descr: &str,
        shape: &[u64],
        order: Order,
        values: &[T],
    ) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut w = npyz::WriteOptions::new()
            .dtype(DType::Plain(descr.parse().expect("a dtype")))
            .shape(shape)
            .order(order)
            .writer(&mut bytes)
            .begin_nd()
            .expect("an npy header");
        w.extend(values.iter().copied()).expect("npy data");
        w.finish().expect("an npy file");
        bytes
    }
    let weights =
        std::fs::read(examples_dir().join("graph_npy_weights.npy")).expect("the example weights");
    vec![
        ("graph_npy_weights".into(), weights),
        (
            "f8_2x3".into(),
            write::<f64>("<f8", &[2, 3], Order::C, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        ),
        (
            "f4_fortran".into(),
            write::<f32>(">f4", &[2, 2], Order::Fortran, &[1.0, 2.0, 3.0, 4.0]),
        ),
        (
            "i8_indices".into(),
            write::<i64>("<i8", &[4], Order::C, &[0, 1, 2, 3]),
        ),
        (
            "u1_bool".into(),
            write::<bool>("|b1", &[3], Order::C, &[true, false, true]),
        ),
    ]
}

/// One small file of every model kind.
fn model_seeds() -> Vec<(String, Vec<u8>)> {
    use blockgibbs_models::dgd::{
        GaussianMixturePrior, GmmPriorConfig, SupervisedGaussianMixturePrior,
    };
    use blockgibbs_models::expfam::CovarianceType;
    use blockgibbs_models::hmog::{Hmog, HmogVariant};
    use blockgibbs_models::io::ModelIo;
    use blockgibbs_models::lgm::{FactorAnalysis, Ppca};
    use blockgibbs_models::mixture::GaussianMixture;
    use blockgibbs_models::rbm::gaussian::GaussianRbm;
    use blockgibbs_models::samples::Samples;
    use blockgibbs_models::{BinaryRbm, BoltzmannMachine, IsingEBM, Layer, PottsEBM, UnitKind};
    let ising = IsingEBM::new(
        vec![(0, 1), (1, 2)],
        vec![0.1, -0.2, 0.3],
        vec![0.5, -1.0],
        1.0,
    )
    .expect("an Ising model");
    let potts = PottsEBM::new(3, 3, vec![(0, 1)], vec![0.1; 9], vec![0.7], 0.5).expect("Potts");
    let rbm = BinaryRbm::random(4, 3, 0.5, 0.1, 0).expect("an RBM");
    let grbm = GaussianRbm::random(3, 2, 0.5, 0.5, 1).expect("a Gaussian RBM");
    let layers = vec![
        Layer::new(UnitKind::Gaussian, 2, vec![0.1, 0.2], vec![0.0, 0.5]).expect("a layer"),
        Layer::new(UnitKind::Categorical(3), 1, vec![0.0, 0.1, 0.2], vec![]).expect("a layer"),
        Layer::new(UnitKind::Spin, 2, vec![0.3, -0.3], vec![]).expect("a layer"),
    ];
    let machine = BoltzmannMachine::random(layers, 0.3, 2).expect("a machine");
    let prior = GaussianMixturePrior::new(&GmmPriorConfig::new(2, 3), 3).expect("a GMM prior");
    let supervised =
        SupervisedGaussianMixturePrior::from_mixture(2, 1, prior.clone()).expect("supervised");
    let data = Samples::new(
        (0..30 * 4)
            .map(|i| ((i * 17 + 3) % 13) as f64 / 3.0)
            .collect(),
        4,
    )
    .expect("samples");
    let hmog = Hmog::initialize(
        HmogVariant::Analytic,
        CovarianceType::Diagonal,
        2,
        2,
        &data,
        5,
    )
    .expect("an HMoG");
    let fa = FactorAnalysis::new(vec![0.0, 1.0], vec![0.5, -0.5], 1, vec![1.0, 2.0])
        .expect("factor analysis");
    let ppca = Ppca::new(vec![0.0, 1.0], vec![0.5, -0.5], 1, 0.5).expect("PPCA");
    let mixture = GaussianMixture::new(
        CovarianceType::Diagonal,
        vec![0.4, 0.6],
        vec![0.0, 1.0, 2.0, 3.0],
        vec![1.0, 0.5, 2.0, 1.5],
    )
    .expect("a Gaussian mixture");
    vec![
        ("ising".into(), ising.to_safetensors()),
        ("potts".into(), potts.to_safetensors()),
        ("binary_rbm".into(), rbm.to_safetensors()),
        ("gaussian_rbm".into(), grbm.to_safetensors()),
        ("machine".into(), machine.to_safetensors()),
        ("gmm_prior".into(), prior.to_safetensors()),
        ("gmm_prior_supervised".into(), supervised.to_safetensors()),
        ("hmog".into(), hmog.to_safetensors()),
        ("factor_analysis".into(), fa.to_safetensors()),
        ("ppca".into(), ppca.to_safetensors()),
        ("gaussian_mixture".into(), mixture.to_safetensors()),
    ]
}

/// Checkpoints of the example graphs (every node kind; hand-given blocks with update
/// rules) mid-schedule, with every observer kind attached.
fn checkpoint_seeds() -> Vec<(String, Vec<u8>)> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    ["graph", "graph_blocks"]
        .into_iter()
        .map(|name| {
            let file = ModelFile::load(examples_dir().join(format!("{name}.toml")), &[])
                .expect("an example model file");
            let built = file.build().expect("an example model");
            let mut sampler = Sampler::builder(built.model.clone())
                .backend(BackendChoice::Reference)
                .chains(3)
                .threads(1)
                .seed(7)
                .build()
                .expect("a sampler");
            built.configure(&mut sampler).expect("the file's rules");
            // The observers the `checkpoint` target restores: over every node, no pairs.
            let nodes: Vec<NodeId> = (0..built.model.node_count() as u32).map(NodeId).collect();
            sampler.attach(ScalarObservables::standard(&built.model));
            sampler.attach(Moments::new(nodes.clone(), Vec::new()));
            sampler.attach(SampleCollector::new(nodes));
            sampler.attach(EnergyObserver::default());
            sampler.set_app_metadata(Some(serde_json::json!({ "seed": name })));
            sampler.start_schedule(SamplingSchedule::new(2, 4, 1));
            sampler
                .advance(4, &mut [], &|| false, &mut |_, _| {})
                .expect("sweeps");
            let path = dir.path().join(format!("{name}.ckpt"));
            sampler.checkpoint(&path).expect("a checkpoint");
            (
                name.to_string(),
                std::fs::read(&path).expect("the checkpoint"),
            )
        })
        .collect()
}
