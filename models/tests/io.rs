//! Save/load of every model kind as safetensors: exact round trips with random parameters,
//! typed errors for damaged or mismatched files, atomic writes, and the on-disk layout
//! checked against the public safetensors specification (and, when `python3` is present,
//! read back by a standard-library-only Python parser).

use std::path::Path;

use blockgibbs_models::io::{AnyModel, FORMAT_VERSION, ModelIo, ModelIoError, read_kind};
use blockgibbs_models::ising::{IsingEBM, IsingError, PottsEBM};
use blockgibbs_models::rbm::BinaryRbm;
use safetensors::tensor::Dtype;

mod io_support;
use io_support::*;

#[test]
fn ising_round_trip_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 0..5 {
        let model = random_ising(seed, 3 + seed as usize);
        let path = dir.path().join(format!("ising{seed}.safetensors"));
        model.save(&path).unwrap();
        let loaded = IsingEBM::load(&path).unwrap();
        assert_ising_identical(&model, &loaded);
        // Saving the loaded model reproduces the file byte for byte.
        assert_eq!(loaded.to_safetensors(), std::fs::read(&path).unwrap());
    }
    // Awkward β values survive exactly.
    for beta in [
        0.1f32,
        1e-30,
        3.3e38,
        f32::MIN_POSITIVE,
        1.0 - f32::EPSILON / 2.0,
    ] {
        let model = IsingEBM::new(vec![(0, 1)], vec![0.3, -0.7], vec![1.1], beta).unwrap();
        let back = IsingEBM::from_safetensors(&model.to_safetensors()).unwrap();
        assert_ising_identical(&model, &back);
    }
}

#[test]
fn ising_without_edges_round_trips() {
    let model = IsingEBM::new(vec![], vec![0.25, -1.5, 3.0], vec![], 0.5).unwrap();
    let back = IsingEBM::from_safetensors(&model.to_safetensors()).unwrap();
    assert_ising_identical(&model, &back);
}

#[test]
fn potts_round_trip_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    for (seed, q) in [(1u64, 2u32), (2, 3), (3, 5)] {
        let model = random_potts(seed, q, 4);
        let path = dir.path().join("potts.safetensors");
        model.save(&path).unwrap();
        let loaded = PottsEBM::load(&path).unwrap();
        assert_eq!(loaded.q(), q);
        assert_eq!(loaded.node_count(), model.node_count());
        assert_eq!(loaded.edges(), model.edges());
        assert_eq!(bits(loaded.biases()), bits(model.biases()));
        assert_eq!(bits(loaded.weights()), bits(model.weights()));
        assert_eq!(loaded.beta().to_bits(), model.beta().to_bits());
    }
}

#[test]
fn rbm_round_trip_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    for (seed, nv, nh) in [(7u64, 1usize, 1usize), (8, 64, 16), (9, 5, 33)] {
        let model = random_rbm(seed, nv, nh);
        let path = dir.path().join("rbm.safetensors");
        model.save(&path).unwrap();
        let loaded = BinaryRbm::load(&path).unwrap();
        assert_eq!((loaded.n_visible(), loaded.n_hidden()), (nv, nh));
        assert_eq!(bits(loaded.weights()), bits(model.weights()));
        assert_eq!(bits(loaded.visible_bias()), bits(model.visible_bias()));
        assert_eq!(bits(loaded.hidden_bias()), bits(model.hidden_bias()));
    }
}

#[test]
fn any_model_dispatches_on_kind() {
    let dir = tempfile::tempdir().unwrap();
    let models = [
        AnyModel::Ising(random_ising(1, 3)),
        AnyModel::Potts(random_potts(2, 3, 3)),
        AnyModel::Rbm(random_rbm(3, 4, 3)),
    ];
    for (k, model) in models.iter().enumerate() {
        let path = dir.path().join(format!("m{k}.safetensors"));
        model.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(read_kind(&bytes).unwrap(), model.kind());
        let loaded = AnyModel::load(&path).unwrap();
        assert_eq!(&loaded, model);
    }
}

// ---------------------------------------------------------------------------------------
// Damaged and mismatched files.

#[test]
fn files_written_by_the_safetensors_crate_load() {
    // `implode` writes with `safetensors::serialize` (its own tensor order and metadata
    // order), as another tool would.
    let model = random_potts(5, 4, 3);
    let bytes = edited(&model.to_safetensors(), |_, _| {});
    assert_eq!(PottsEBM::from_safetensors(&bytes).unwrap(), model);
    let rbm = random_rbm(6, 7, 2);
    let bytes = edited(&rbm.to_safetensors(), |_, m| {
        m.insert("note".into(), "extra metadata keys are ignored".into());
    });
    assert_eq!(BinaryRbm::from_safetensors(&bytes).unwrap(), rbm);
}

#[test]
fn missing_tensor_is_named() {
    let bytes = random_rbm(1, 4, 3).to_safetensors();
    let bad = edited(&bytes, |t, _| t.retain(|x| x.0 != "hidden_bias"));
    match BinaryRbm::from_safetensors(&bad) {
        Err(ModelIoError::MissingTensor { name }) => assert_eq!(name, "hidden_bias"),
        other => panic!("{other:?}"),
    }
    let bytes = random_ising(1, 3).to_safetensors();
    let bad = edited(&bytes, |t, _| t.retain(|x| x.0 != "edges"));
    match IsingEBM::from_safetensors(&bad) {
        Err(ModelIoError::MissingTensor { name }) => assert_eq!(name, "edges"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn extra_tensor_is_rejected() {
    let bytes = random_rbm(1, 4, 3).to_safetensors();
    let bad = edited(&bytes, |t, _| {
        t.push(("zzz".into(), Dtype::F32, vec![1], vec![0; 4]));
    });
    match BinaryRbm::from_safetensors(&bad) {
        Err(ModelIoError::UnexpectedTensor { name, .. }) => assert_eq!(name, "zzz"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn wrong_kind_unknown_kind_and_version() {
    let ising = random_ising(1, 3).to_safetensors();
    match BinaryRbm::from_safetensors(&ising) {
        Err(ModelIoError::WrongKind { expected, found }) => {
            assert_eq!((expected, found.as_str()), ("binary_rbm", "ising_ebm"));
        }
        other => panic!("{other:?}"),
    }
    let unknown = edited(&ising, |_, m| {
        m.insert("kind".into(), "deep_belief_net".into());
    });
    for result in [
        IsingEBM::from_safetensors(&unknown).map(|_| ()),
        AnyModel::from_safetensors(&unknown).map(|_| ()),
    ] {
        match result {
            Err(ModelIoError::UnknownKind { kind }) => assert_eq!(kind, "deep_belief_net"),
            other => panic!("{other:?}"),
        }
    }
    let future = edited(&ising, |_, m| {
        m.insert("format_version".into(), (FORMAT_VERSION + 1).to_string());
    });
    assert!(matches!(
        IsingEBM::from_safetensors(&future),
        Err(ModelIoError::UnsupportedVersion { .. })
    ));
    let foreign = edited(&ising, |_, m| {
        m.remove("format");
    });
    match IsingEBM::from_safetensors(&foreign) {
        Err(ModelIoError::MissingKey { key }) => assert_eq!(key, "format"),
        other => panic!("{other:?}"),
    }
    let no_beta = edited(&ising, |_, m| {
        m.remove("beta");
    });
    match IsingEBM::from_safetensors(&no_beta) {
        Err(ModelIoError::MissingKey { key }) => assert_eq!(key, "beta"),
        other => panic!("{other:?}"),
    }
    let bad_beta = edited(&ising, |_, m| {
        m.insert("beta".into(), "hot".into());
    });
    match IsingEBM::from_safetensors(&bad_beta) {
        Err(ModelIoError::InvalidValue { key, .. }) => assert_eq!(key, "beta"),
        other => panic!("{other:?}"),
    }
    // A parseable but invalid β goes through the model's own validation.
    let neg_beta = edited(&ising, |_, m| {
        m.insert("beta".into(), "-1".into());
    });
    assert!(matches!(
        IsingEBM::from_safetensors(&neg_beta),
        Err(ModelIoError::Ising(e)) if matches!(*e, IsingError::InvalidBeta { .. })
    ));
}

#[test]
fn wrong_shape_and_dtype_are_named() {
    let bytes = random_rbm(2, 4, 3).to_safetensors();
    // Transposed weights: same byte count, wrong shape.
    let bad = edited(&bytes, |t, _| tensor(t, "weights").2 = vec![3, 4]);
    match BinaryRbm::from_safetensors(&bad) {
        Err(ModelIoError::WrongShape {
            name,
            expected,
            found,
        }) => {
            assert_eq!(name, "weights");
            assert_eq!((expected, found), (vec![4, 3], vec![3, 4]));
        }
        other => panic!("{other:?}"),
    }
    // Metadata disagreeing with the tensors.
    let bad = edited(&bytes, |_, m| {
        m.insert("n_visible".into(), "5".into());
    });
    assert!(matches!(
        BinaryRbm::from_safetensors(&bad),
        Err(ModelIoError::WrongShape { .. })
    ));
    // f64 biases instead of f32.
    let bad = edited(&bytes, |t, _| {
        let b = tensor(t, "visible_bias");
        let wide: Vec<u8> =
            b.3.chunks_exact(4)
                .flat_map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap())).to_le_bytes())
                .collect();
        b.1 = Dtype::F64;
        b.3 = wide;
    });
    match BinaryRbm::from_safetensors(&bad) {
        Err(ModelIoError::WrongDtype {
            name,
            expected,
            found,
        }) => {
            assert_eq!(name, "visible_bias");
            assert_eq!((expected.as_str(), found.as_str()), ("F32", "F64"));
        }
        other => panic!("{other:?}"),
    }
    let potts = random_potts(4, 3, 3).to_safetensors();
    let bad = edited(&potts, |t, _| tensor(t, "biases").2 = vec![27]);
    match PottsEBM::from_safetensors(&bad) {
        Err(ModelIoError::WrongShape { name, .. }) => assert_eq!(name, "biases"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn nan_and_bad_edges_are_rejected() {
    let bytes = random_ising(3, 3).to_safetensors();
    let bad = edited(&bytes, |t, _| {
        tensor(t, "weights").3[8..12].copy_from_slice(&f32::NAN.to_le_bytes())
    });
    match IsingEBM::from_safetensors(&bad) {
        Err(ModelIoError::NonFinite { name, index, .. }) => {
            assert_eq!((name.as_str(), index), ("weights", 2));
        }
        other => panic!("{other:?}"),
    }
    let bad = edited(&bytes, |t, _| {
        tensor(t, "edges").3[8..16].copy_from_slice(&(-1i64).to_le_bytes())
    });
    match IsingEBM::from_safetensors(&bad) {
        Err(ModelIoError::BadIndex { name, index, value }) => {
            assert_eq!((name.as_str(), index, value), ("edges", 1, -1));
        }
        other => panic!("{other:?}"),
    }
    // In u32 range but past the node count: the model's own validation names `edges`.
    let bad = edited(&bytes, |t, _| {
        tensor(t, "edges").3[0..8].copy_from_slice(&9i64.to_le_bytes())
    });
    match IsingEBM::from_safetensors(&bad) {
        Err(ModelIoError::Ising(e)) => match *e {
            IsingError::IndexOutOfRange { field, .. } => assert_eq!(field, "edges"),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    let rbm = random_rbm(5, 3, 2).to_safetensors();
    let bad = edited(&rbm, |t, _| {
        tensor(t, "hidden_bias").3[4..8].copy_from_slice(&f32::INFINITY.to_le_bytes())
    });
    match BinaryRbm::from_safetensors(&bad) {
        Err(ModelIoError::NonFinite { name, index, .. }) => {
            assert_eq!((name.as_str(), index), ("hidden_bias", 1));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncated_and_corrupt_bytes_give_corrupt() {
    let bytes = random_potts(6, 3, 3).to_safetensors();
    for len in [0, 3, 8, 20, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            matches!(
                PottsEBM::from_safetensors(&bytes[..len]),
                Err(ModelIoError::Corrupt { .. })
            ),
            "prefix of {len} bytes"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        PottsEBM::from_safetensors(&longer),
        Err(ModelIoError::Corrupt { .. })
    ));
    // A damaged header: break the JSON's opening brace, then the length prefix.
    let mut bad = bytes.clone();
    bad[8] = b'#';
    assert!(matches!(
        PottsEBM::from_safetensors(&bad),
        Err(ModelIoError::Corrupt { .. })
    ));
    let mut bad = bytes.clone();
    bad[0] ^= 0x40;
    assert!(matches!(
        AnyModel::from_safetensors(&bad),
        Err(ModelIoError::Corrupt { .. })
    ));
    assert!(matches!(
        read_kind(b"not a safetensors file at all"),
        Err(ModelIoError::Corrupt { .. })
    ));
    // Every single-byte change inside the header is either detected or harmless; none panics.
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    for k in 0..8 + header_len {
        let mut bad = bytes.clone();
        bad[k] = bad[k].wrapping_add(17);
        let _ = AnyModel::from_safetensors(&bad);
    }
}

#[test]
fn loading_a_missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.safetensors");
    match BinaryRbm::load(&path) {
        Err(ModelIoError::Io { path: p, .. }) => assert_eq!(p, path),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Atomic writes.

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn save_leaves_no_temporary_files_and_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let first = random_rbm(1, 3, 2);
    first.save(&path).unwrap();
    assert_eq!(listing(dir.path()), ["model.safetensors"]);
    let second = random_rbm(2, 6, 5);
    second.save(&path).unwrap();
    assert_eq!(listing(dir.path()), ["model.safetensors"]);
    assert_eq!(BinaryRbm::load(&path).unwrap(), second);
}

#[test]
fn save_into_missing_directory_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no_such_dir").join("model.safetensors");
    let err = random_ising(1, 3).save(&path).unwrap_err();
    assert!(matches!(err, ModelIoError::Io { .. }), "{err:?}");
    assert!(!path.exists());
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn failed_rename_removes_the_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    // The target is a non-empty directory, so the final rename fails.
    let target = dir.path().join("occupied");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), b"x").unwrap();
    let err = random_potts(1, 2, 2).save(&target).unwrap_err();
    match err {
        ModelIoError::Io { path, .. } => assert_eq!(path, target),
        other => panic!("{other:?}"),
    }
    assert_eq!(listing(dir.path()), ["occupied"]);
    assert_eq!(listing(&target), ["keep"]);
}

// ---------------------------------------------------------------------------------------
// The layout seen by other tools.

#[test]
fn header_follows_the_safetensors_spec() {
    let model = random_ising(4, 3);
    let bytes = model.to_safetensors();
    // 8-byte little-endian header length, then that much UTF-8 JSON, then the data.
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value =
        serde_json::from_str(std::str::from_utf8(&bytes[8..8 + n]).unwrap()).unwrap();
    let data = &bytes[8 + n..];
    let obj = header.as_object().unwrap();
    let meta = obj["__metadata__"].as_object().unwrap();
    assert!(
        meta.values().all(|v| v.is_string()),
        "metadata values are strings"
    );
    assert_eq!(meta["format"], "blockgibbs");
    assert_eq!(meta["format_version"], "1");
    assert_eq!(meta["kind"], "ising_ebm");
    assert_eq!(meta["n_nodes"], "9");
    assert_eq!(meta["n_edges"], model.edges().len().to_string());
    let beta: f32 = meta["beta"].as_str().unwrap().parse().unwrap();
    assert_eq!(beta.to_bits(), model.beta().to_bits());
    let m = model.edges().len();
    let expect = [
        ("edges", "I64", vec![m, 2]),
        ("biases", "F32", vec![9]),
        ("weights", "F32", vec![m]),
    ];
    assert_eq!(obj.len(), expect.len() + 1);
    let mut covered = 0;
    for (name, dtype, shape) in expect {
        let info = &obj[name];
        assert_eq!(info["dtype"], dtype, "{name}");
        let got: Vec<usize> = serde_json::from_value(info["shape"].clone()).unwrap();
        assert_eq!(got, shape, "{name}");
        let [start, end]: [usize; 2] =
            serde_json::from_value(info["data_offsets"].clone()).unwrap();
        covered += end - start;
        let raw = &data[start..end];
        match name {
            "edges" => {
                let flat: Vec<u32> = model.edges().iter().flat_map(|&(i, j)| [i, j]).collect();
                let read: Vec<u32> = raw
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as u32)
                    .collect();
                assert_eq!(read, flat);
            }
            _ => {
                let read: Vec<u32> = raw
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                    .collect();
                let want = if name == "biases" {
                    model.biases()
                } else {
                    model.weights()
                };
                assert_eq!(read, bits(want));
            }
        }
    }
    assert_eq!(covered, data.len(), "tensors tile the data section");
}

/// Reads an RBM file with a Python parser that uses only the standard library (struct and
/// json), as a stand-in for `safetensors.numpy.load_file`. Skipped when `python3` is absent.
#[test]
fn python_reads_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rbm.safetensors");
    let rbm = random_rbm(11, 5, 3);
    rbm.save(&path).unwrap();
    let script = r#"
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n].decode("utf-8"))
data = raw[8 + n:]
meta = header.pop("__metadata__")
out = {"meta": meta}
for name, info in header.items():
    assert info["dtype"] == "F32", info
    s, e = info["data_offsets"]
    count = (e - s) // 4
    out[name] = {"shape": info["shape"], "values": list(struct.unpack("<%df" % count, data[s:e]))}
print(json.dumps(out))
"#;
    let Some(parsed) = python_json(script, &path) else {
        return;
    };
    assert_eq!(parsed["meta"]["kind"], "binary_rbm");
    assert_eq!(parsed["meta"]["n_visible"], "5");
    assert_eq!(parsed["meta"]["n_hidden"], "3");
    for (name, shape, want) in [
        ("weights", vec![5, 3], rbm.weights()),
        ("visible_bias", vec![5], rbm.visible_bias()),
        ("hidden_bias", vec![3], rbm.hidden_bias()),
    ] {
        let got_shape: Vec<usize> = serde_json::from_value(parsed[name]["shape"].clone()).unwrap();
        assert_eq!(got_shape, shape, "{name}");
        // Python floats are f64; f32 → f64 is exact and `repr` round-trips, so compare bits.
        let values: Vec<f64> = serde_json::from_value(parsed[name]["values"].clone()).unwrap();
        let back: Vec<u32> = values.iter().map(|&v| (v as f32).to_bits()).collect();
        assert_eq!(back, bits(want), "{name}");
    }
}
