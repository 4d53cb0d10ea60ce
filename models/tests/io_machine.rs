//! Save/load of layered Boltzmann machines: bit-exact round trips for every unit kind (also
//! through `AnyModel`), the documented layout read back by hand and by Python, and typed
//! errors naming the tensor or key at fault for every kind of malformed file.

use std::collections::HashMap;

use blockgibbs_models::io::machine::{KIND_MACHINE, kind_label, parse_kind_label};
use blockgibbs_models::io::{AnyModel, ModelIo, ModelIoError};
use blockgibbs_models::machine::{BoltzmannMachine, Layer, MachineError, UnitKind};
use blockgibbs_models::rbm::BinaryRbm;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::Dtype;

mod io_support;
use io_support::{Tensors, edited, python_json, set_f32, tensor};

fn bits(xs: &[f32]) -> Vec<u32> {
    xs.iter().map(|x| x.to_bits()).collect()
}

/// Values over a wide range, both zeros and subnormals included, so that any lossy
/// conversion would show.
fn wide_values(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|k| match k % 6 {
            0 => 0.0,
            1 => -0.0,
            2 => f32::MIN_POSITIVE / 3.0 * rng.random::<f32>(),
            3 => rng.random_range(-1e30..1e30),
            _ => rng.random_range(-3.0..3.0),
        })
        .collect()
}

/// A machine of the given layers with wide-ranging parameters (log-variances within the
/// allowed ±30, including both limits).
fn machine(spec: &[(UnitKind, usize)], seed: u64) -> BoltzmannMachine {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let layers: Vec<Layer> = spec
        .iter()
        .map(|&(kind, n)| {
            let bias = wide_values(&mut rng, n * kind.width());
            let log_var = match kind {
                UnitKind::Gaussian => (0..n)
                    .map(|i| match i % 3 {
                        0 => 30.0,
                        1 => -30.0,
                        _ => rng.random_range(-30.0..30.0),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Layer::new(kind, n, bias, log_var).unwrap()
        })
        .collect();
    let weights = layers
        .windows(2)
        .map(|p| wide_values(&mut rng, p[0].dim() * p[1].dim()))
        .collect();
    BoltzmannMachine::new(layers, weights).unwrap()
}

const TWO: [(UnitKind, usize); 2] = [(UnitKind::Categorical(3), 4), (UnitKind::Gaussian, 5)];
const FOUR: [(UnitKind, usize); 4] = [
    (UnitKind::Gaussian, 3),
    (UnitKind::Binary, 4),
    (UnitKind::Categorical(4), 2),
    (UnitKind::Spin, 5),
];

fn assert_identical(a: &BoltzmannMachine, b: &BoltzmannMachine) {
    assert_eq!(a.n_layers(), b.n_layers());
    for (la, lb) in a.layers().iter().zip(b.layers()) {
        assert_eq!((la.kind(), la.len()), (lb.kind(), lb.len()));
        assert_eq!(bits(la.bias()), bits(lb.bias()));
        assert_eq!(bits(la.log_var()), bits(lb.log_var()));
    }
    assert_eq!(a.weights().len(), b.weights().len());
    for (wa, wb) in a.weights().iter().zip(b.weights()) {
        assert_eq!(bits(wa), bits(wb));
    }
}

#[test]
fn round_trip_is_bit_exact_for_every_unit_kind() {
    let dir = tempfile::tempdir().unwrap();
    let specs: [&[(UnitKind, usize)]; 3] =
        [&TWO, &FOUR, &[(UnitKind::Spin, 1), (UnitKind::Binary, 1)]];
    for (seed, spec) in specs.into_iter().enumerate() {
        let model = machine(spec, seed as u64);
        let path = dir.path().join("m.safetensors");
        model.save(&path).unwrap();
        let loaded = BoltzmannMachine::load(&path).unwrap();
        assert_identical(&model, &loaded);
        // Deterministic bytes: the loaded machine writes the very same file.
        let file = std::fs::read(&path).unwrap();
        assert_eq!(loaded.to_safetensors(), file);

        let any = AnyModel::load(&path).unwrap();
        assert_eq!(any.kind(), KIND_MACHINE);
        match &any {
            AnyModel::Machine(m) => assert_identical(&model, m),
            other => panic!("{other:?}"),
        }
        let again = dir.path().join("any.safetensors");
        any.save(&again).unwrap();
        assert_eq!(std::fs::read(&again).unwrap(), file);
    }
}

#[test]
fn kind_labels_round_trip() {
    for kind in [
        UnitKind::Binary,
        UnitKind::Spin,
        UnitKind::Gaussian,
        UnitKind::Categorical(2),
        UnitKind::Categorical(1000),
    ] {
        assert_eq!(parse_kind_label(&kind_label(kind)), Some(kind));
    }
    for bad in [
        "",
        "Binary",
        "categorical",
        "categorical:",
        "categorical:+3",
        "categorical:-1",
    ] {
        assert_eq!(parse_kind_label(bad), None, "{bad:?}");
    }
}

/// The header of a file as JSON, and its data section.
fn header_and_data(bytes: &[u8]) -> (serde_json::Map<String, serde_json::Value>, &[u8]) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    (header.as_object().unwrap().clone(), &bytes[8 + n..])
}

/// The documented tensors of the `FOUR` machine, in file order.
fn four_layout(m: &BoltzmannMachine) -> Vec<(&'static str, Vec<usize>, &[f32])> {
    let [l0, l1, l2, l3] = m.layers() else {
        panic!("four layers")
    };
    let w = m.weights();
    vec![
        ("layer0.loc", vec![3], l0.bias()),
        ("layer0.log_var", vec![3], l0.log_var()),
        ("layer1.bias", vec![4], l1.bias()),
        ("layer2.bias", vec![2, 4], l2.bias()),
        ("layer3.bias", vec![5], l3.bias()),
        ("weights0", vec![3, 4], &w[0]),
        ("weights1", vec![4, 8], &w[1]),
        ("weights2", vec![8, 5], &w[2]),
    ]
}

#[test]
fn layout_matches_the_documentation() {
    let model = machine(&FOUR, 7);
    let bytes = model.to_safetensors();
    let (header, data) = header_and_data(&bytes);
    let meta = header["__metadata__"].as_object().unwrap();
    let expect_meta = [
        ("format", "blockgibbs"),
        ("format_version", "1"),
        ("kind", "boltzmann_machine"),
        ("n_layers", "4"),
        ("layer_kinds", "gaussian,binary,categorical:4,spin"),
        ("layer_sizes", "3,4,2,5"),
    ];
    assert_eq!(meta.len(), expect_meta.len());
    for (key, value) in expect_meta {
        assert_eq!(meta[key], value, "{key}");
    }
    let layout = four_layout(&model);
    assert_eq!(header.len(), layout.len() + 1);
    let mut offset = 0;
    for (name, shape, values) in layout {
        let info = &header[name];
        assert_eq!(info["dtype"], "F32", "{name}");
        let got: Vec<usize> = serde_json::from_value(info["shape"].clone()).unwrap();
        assert_eq!(got, shape, "{name}");
        // Tensors are laid out in the documented order, back to back.
        let [start, end]: [usize; 2] =
            serde_json::from_value(info["data_offsets"].clone()).unwrap();
        assert_eq!((start, end), (offset, offset + 4 * values.len()), "{name}");
        let read: Vec<u32> = data[start..end]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(read, bits(values), "{name}");
        offset = end;
    }
    assert_eq!(offset, data.len());
}

/// An outside reader: Python with only the standard library parses the file, derives every
/// tensor's shape from the metadata by the documented rule and checks it against the header,
/// and prints the tensors. Skipped when `python3` is absent.
#[test]
fn python_reads_the_file_by_the_documented_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("machine.safetensors");
    let model = machine(&FOUR, 8);
    model.save(&path).unwrap();
    let script = r#"
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n].decode("utf-8"))
data = raw[8 + n:]
meta = header.pop("__metadata__")
L = int(meta["n_layers"])
kinds = meta["layer_kinds"].split(",")
sizes = [int(s) for s in meta["layer_sizes"].split(",")]
assert len(kinds) == L and len(sizes) == L
expected, dims = {}, []
for l, (kind, size) in enumerate(zip(kinds, sizes)):
    if kind == "gaussian":
        expected["layer%d.loc" % l] = [size]
        expected["layer%d.log_var" % l] = [size]
        dims.append(size)
    elif kind.startswith("categorical:"):
        k = int(kind.split(":")[1])
        expected["layer%d.bias" % l] = [size, k]
        dims.append(size * k)
    else:
        assert kind in ("binary", "spin"), kind
        expected["layer%d.bias" % l] = [size]
        dims.append(size)
for l in range(L - 1):
    expected["weights%d" % l] = [dims[l], dims[l + 1]]
assert {k: v["shape"] for k, v in header.items()} == expected, (header, expected)
out = {}
for name, info in header.items():
    assert info["dtype"] == "F32", info
    s, e = info["data_offsets"]
    out[name] = list(struct.unpack("<%df" % ((e - s) // 4), data[s:e]))
print(json.dumps(out))
"#;
    let Some(parsed) = python_json(script, &path) else {
        return;
    };
    let layout = four_layout(&model);
    assert_eq!(parsed.as_object().unwrap().len(), layout.len());
    for (name, _, want) in layout {
        // f32 → Python float (f64) is exact and `repr` round-trips, so compare bits.
        let values: Vec<f64> = serde_json::from_value(parsed[name].clone()).unwrap();
        let back: Vec<u32> = values.iter().map(|&v| (v as f32).to_bits()).collect();
        assert_eq!(back, bits(want), "{name}");
    }
}

fn set_meta(
    key: &'static str,
    value: &'static str,
) -> impl FnOnce(&mut Tensors, &mut HashMap<String, String>) {
    move |_, m| {
        m.insert(key.into(), value.into());
    }
}

fn load(bytes: Vec<u8>) -> ModelIoError {
    BoltzmannMachine::from_safetensors(&bytes).unwrap_err()
}

fn assert_invalid_value(e: ModelIoError, want_key: &str) {
    match e {
        ModelIoError::InvalidValue { key, .. } => assert_eq!(key, want_key),
        e => panic!("expected InvalidValue at {want_key}, got {e:?}"),
    }
}

fn assert_machine_error(e: ModelIoError, want_at: &str, want: MachineError) {
    match e {
        ModelIoError::Machine { at, source } => {
            assert_eq!((at.as_str(), *source), (want_at, want));
        }
        e => panic!("expected Machine error at {want_at}, got {e:?}"),
    }
}

#[test]
fn missing_extra_and_misshapen_tensors_are_named() {
    let model = machine(&FOUR, 9);
    let bytes = model.to_safetensors();
    // A file written by the safetensors crate itself (other header order) still loads.
    assert_identical(
        &model,
        &BoltzmannMachine::from_safetensors(&edited(&bytes, |_, _| {})).unwrap(),
    );
    match load(edited(&bytes, |t, _| t.retain(|t| t.0 != "layer0.log_var"))) {
        ModelIoError::MissingTensor { name } => assert_eq!(name, "layer0.log_var"),
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |t, _| t.retain(|t| t.0 != "weights2"))) {
        ModelIoError::MissingTensor { name } => assert_eq!(name, "weights2"),
        e => panic!("{e:?}"),
    }
    // A Gaussian layer's tensors under a binary layer's name.
    match load(edited(&bytes, |t, _| {
        t.push(("layer0.bias".into(), Dtype::F32, vec![3], vec![0; 12]))
    })) {
        ModelIoError::UnexpectedTensor { name, kind } => {
            assert_eq!((name.as_str(), kind), ("layer0.bias", KIND_MACHINE));
        }
        e => panic!("{e:?}"),
    }
    // A categorical bias flattened to [n·K] instead of [n, K].
    match load(edited(&bytes, |t, _| tensor(t, "layer2.bias").2 = vec![8])) {
        ModelIoError::WrongShape {
            name,
            expected,
            found,
        } => assert_eq!(
            (name.as_str(), expected, found),
            ("layer2.bias", vec![2, 4], vec![8])
        ),
        e => panic!("{e:?}"),
    }
    // Weights transposed.
    match load(edited(&bytes, |t, _| tensor(t, "weights1").2 = vec![8, 4])) {
        ModelIoError::WrongShape {
            name,
            expected,
            found,
        } => assert_eq!(
            (name.as_str(), expected, found),
            ("weights1", vec![4, 8], vec![8, 4])
        ),
        e => panic!("{e:?}"),
    }
    // A size in the metadata that disagrees with the tensors.
    match load(edited(&bytes, set_meta("layer_sizes", "3,4,2,6"))) {
        ModelIoError::WrongShape { name, .. } => assert_eq!(name, "layer3.bias"),
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |t, _| {
        let w = tensor(t, "weights0");
        w.1 = Dtype::I32;
    })) {
        ModelIoError::WrongDtype { name, .. } => assert_eq!(name, "weights0"),
        e => panic!("{e:?}"),
    }
}

#[test]
fn bad_metadata_is_named() {
    let bytes = machine(&FOUR, 10).to_safetensors();
    for kinds in [
        "gaussian,binary,softmax:4,spin",
        "gaussian,binary,categorical:x,spin",
        "gaussian,binary,categorical:+4,spin",
        "gaussian,,categorical:4,spin",
    ] {
        let e = load(edited(&bytes, move |_, m| {
            m.insert("layer_kinds".into(), kinds.into());
        }));
        assert_invalid_value(e, "layer_kinds");
    }
    // Layer counts that disagree: lists longer or shorter than `n_layers`.
    assert_invalid_value(
        load(edited(&bytes, set_meta("n_layers", "3"))),
        "layer_kinds",
    );
    assert_invalid_value(
        load(edited(&bytes, set_meta("n_layers", "5"))),
        "layer_kinds",
    );
    assert_invalid_value(
        load(edited(&bytes, set_meta("layer_sizes", "3,4,2"))),
        "layer_sizes",
    );
    assert_invalid_value(
        load(edited(&bytes, set_meta("layer_sizes", "3,4,two,5"))),
        "layer_sizes",
    );
    assert_invalid_value(
        load(edited(&bytes, set_meta("n_layers", "four"))),
        "n_layers",
    );
    // Consistent metadata for three layers, tensors for four.
    match load(edited(&bytes, |_, m| {
        m.insert("n_layers".into(), "3".into());
        m.insert("layer_kinds".into(), "gaussian,binary,categorical:4".into());
        m.insert("layer_sizes".into(), "3,4,2".into());
    })) {
        ModelIoError::UnexpectedTensor { name, .. } => assert_eq!(name, "layer3.bias"),
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |_, m| {
        m.remove("layer_sizes");
    })) {
        ModelIoError::MissingKey { key } => assert_eq!(key, "layer_sizes"),
        e => panic!("{e:?}"),
    }
    // n · K overflows: refused before any allocation, naming the sizes.
    let huge = edited(&bytes, |_, m| {
        m.insert(
            "layer_kinds".into(),
            format!("gaussian,binary,categorical:{},spin", usize::MAX),
        );
    });
    assert_invalid_value(load(huge), "layer_sizes");
}

#[test]
fn non_finite_values_are_named() {
    let bytes = machine(&FOUR, 11).to_safetensors();
    for (name, index, value) in [
        ("layer2.bias", 5, f32::NAN),
        ("layer0.log_var", 1, f32::NAN),
        ("layer0.loc", 0, f32::INFINITY),
        ("weights2", 39, f32::NEG_INFINITY),
    ] {
        match load(edited(&bytes, |t, _| set_f32(t, name, index, value))) {
            ModelIoError::NonFinite {
                name: n, index: i, ..
            } => assert_eq!((n.as_str(), i), (name, index)),
            e => panic!("{name}: {e:?}"),
        }
    }
}

#[test]
fn constructor_rejections_name_the_tensor_or_key() {
    let bytes = machine(&FOUR, 12).to_safetensors();
    assert_machine_error(
        load(edited(&bytes, |t, _| set_f32(t, "layer0.log_var", 2, 31.0))),
        "layer0.log_var",
        MachineError::OutOfRange {
            field: "log_var".into(),
            index: 2,
            value: 31.0,
            reason: "|log_var| must be at most 30".into(),
        },
    );
    // K = 1: a one-category layer, shaped consistently, is refused by the layer itself.
    let one_category = edited(&bytes, |t, m| {
        m.insert(
            "layer_kinds".into(),
            "gaussian,binary,categorical:1,spin".into(),
        );
        let b = tensor(t, "layer2.bias");
        (b.2, b.3) = (vec![2, 1], vec![0; 8]);
        let w = tensor(t, "weights1");
        (w.2, w.3) = (vec![4, 2], vec![0; 32]);
        let w = tensor(t, "weights2");
        (w.2, w.3) = (vec![2, 5], vec![0; 40]);
    });
    assert_machine_error(
        load(one_category),
        "layer_kinds",
        MachineError::TooFewCategories {
            field: "layer".into(),
            k: 1,
        },
    );
    // An empty layer.
    let empty = edited(&bytes, |t, m| {
        m.insert("layer_sizes".into(), "3,0,2,5".into());
        let b = tensor(t, "layer1.bias");
        (b.2, b.3) = (vec![0], vec![]);
        let w = tensor(t, "weights0");
        (w.2, w.3) = (vec![3, 0], vec![]);
        let w = tensor(t, "weights1");
        (w.2, w.3) = (vec![0, 8], vec![]);
    });
    assert_machine_error(
        load(empty),
        "layer_sizes",
        MachineError::EmptyLayer {
            field: "layer".into(),
        },
    );
    // A one-layer file is well formed but not a machine.
    let one_layer = edited(&bytes, |t, m| {
        m.insert("n_layers".into(), "1".into());
        m.insert("layer_kinds".into(), "spin".into());
        m.insert("layer_sizes".into(), "5".into());
        t.retain(|t| t.0 == "layer3.bias");
        t[0].0 = "layer0.bias".into();
    });
    assert_machine_error(
        load(one_layer),
        "n_layers",
        MachineError::TooFewLayers { found: 1 },
    );
}

#[test]
fn kinds_are_kept_apart() {
    let model = machine(&TWO, 13);
    let bytes = model.to_safetensors();
    match BinaryRbm::from_safetensors(&bytes).unwrap_err() {
        ModelIoError::WrongKind { expected, found } => {
            assert_eq!((expected, found.as_str()), ("binary_rbm", KIND_MACHINE));
        }
        e => panic!("{e:?}"),
    }
    let rbm = BinaryRbm::random(3, 2, 0.5, 0.5, 1)
        .unwrap()
        .to_safetensors();
    match BoltzmannMachine::from_safetensors(&rbm).unwrap_err() {
        ModelIoError::WrongKind { expected, found } => {
            assert_eq!((expected, found.as_str()), (KIND_MACHINE, "binary_rbm"));
        }
        e => panic!("{e:?}"),
    }
    let e = AnyModel::from_safetensors(&edited(&bytes, set_meta("kind", "deep_machine")));
    let message = e.unwrap_err().to_string();
    assert!(message.contains("\"deep_machine\""), "{message}");
    assert!(message.contains(KIND_MACHINE), "{message}");
}
