//! Save/load of Gaussian–Bernoulli RBMs: bit-exact round trips, deterministic bytes, the
//! documented layout read back by the safetensors crate, and typed errors for damaged,
//! mismatched or invalid files.

use blockgibbs_models::io::gaussian_rbm::KIND_GAUSSIAN_RBM;
use blockgibbs_models::io::{AnyModel, FORMAT_VERSION, ModelIo, ModelIoError};
use blockgibbs_models::rbm::gaussian::{GaussianRbm, GaussianRbmError, MAX_ABS_LOG_VAR};
use blockgibbs_models::rbm::{BinaryRbm, RbmError};
use safetensors::tensor::{Dtype, SafeTensors};

mod io_support;
use io_support::{edited, set_f32};

fn bits(xs: &[f32]) -> Vec<u32> {
    xs.iter().map(|x| x.to_bits()).collect()
}

fn assert_identical(a: &GaussianRbm, b: &GaussianRbm) {
    assert_eq!((a.n_visible(), a.n_hidden()), (b.n_visible(), b.n_hidden()));
    assert_eq!(bits(a.weights()), bits(b.weights()));
    assert_eq!(bits(a.loc()), bits(b.loc()));
    assert_eq!(bits(a.log_var()), bits(b.log_var()));
    assert_eq!(bits(a.hidden_bias()), bits(b.hidden_bias()));
}

#[test]
fn round_trip_is_bit_exact_and_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    for (seed, nv, nh) in [(1u64, 1usize, 1usize), (2, 30, 7), (3, 4, 41)] {
        let model = GaussianRbm::random(nv, nh, 0.7, 1.3, seed).unwrap();
        let path = dir.path().join("g.safetensors");
        model.save(&path).unwrap();
        let loaded = GaussianRbm::load(&path).unwrap();
        assert_identical(&model, &loaded);
        assert_eq!(loaded.to_safetensors(), std::fs::read(&path).unwrap());
    }
    // Extreme but valid values survive exactly.
    let w = vec![f32::MIN_POSITIVE, -3.3e38, 1e-45, 0.1];
    let l = vec![MAX_ABS_LOG_VAR, -MAX_ABS_LOG_VAR];
    let model = GaussianRbm::new(2, 2, w, vec![-0.0, 7.0], l, vec![1.0, -1.0]).unwrap();
    assert_identical(
        &model,
        &GaussianRbm::from_safetensors(&model.to_safetensors()).unwrap(),
    );
}

#[test]
fn layout_matches_the_documentation() {
    let model = GaussianRbm::random(3, 2, 0.5, 0.5, 4).unwrap();
    let bytes = model.to_safetensors();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!(meta["kind"], KIND_GAUSSIAN_RBM);
    assert_eq!(meta["format"], "blockgibbs");
    assert_eq!(meta["format_version"], FORMAT_VERSION.to_string());
    assert_eq!(
        (meta["n_visible"].as_str(), meta["n_hidden"].as_str()),
        ("3", "2")
    );
    let st = SafeTensors::deserialize(&bytes).unwrap();
    for (name, shape, values) in [
        ("weights", vec![3, 2], model.weights()),
        ("loc", vec![3], model.loc()),
        ("log_var", vec![3], model.log_var()),
        ("hidden_bias", vec![2], model.hidden_bias()),
    ] {
        let t = st.tensor(name).unwrap();
        assert_eq!((t.dtype(), t.shape()), (Dtype::F32, &shape[..]), "{name}");
        let read: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(bits(&read), bits(values), "{name}");
    }
    assert_eq!(st.names().len(), 4);
}

#[test]
fn damaged_and_mismatched_files_give_typed_errors() {
    let model = GaussianRbm::random(3, 2, 0.5, 0.5, 5).unwrap();
    let bytes = model.to_safetensors();
    // A file written by the safetensors crate itself (other header order) still loads.
    assert_identical(
        &model,
        &GaussianRbm::from_safetensors(&edited(&bytes, |_, _| {})).unwrap(),
    );
    let load = |b: Vec<u8>| GaussianRbm::from_safetensors(&b).unwrap_err();
    match load(edited(&bytes, |t, _| t.retain(|t| t.0 != "log_var"))) {
        ModelIoError::MissingTensor { name } => assert_eq!(name, "log_var"),
        e => panic!("{e:?}"),
    }
    let extra = edited(&bytes, |t, _| {
        t.push(("visible_bias".into(), Dtype::F32, vec![3], vec![0; 12]))
    });
    match load(extra) {
        ModelIoError::UnexpectedTensor { name, kind } => {
            assert_eq!((name.as_str(), kind), ("visible_bias", KIND_GAUSSIAN_RBM));
        }
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |_, m| {
        m.insert("n_hidden".into(), "3".into());
    })) {
        ModelIoError::WrongShape {
            name,
            expected,
            found,
        } => {
            assert_eq!(
                (name.as_str(), expected, found),
                ("weights", vec![3, 3], vec![3, 2])
            );
        }
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |t, _| set_f32(t, "loc", 2, f32::NAN))) {
        ModelIoError::NonFinite { name, index: 2, .. } => assert_eq!(name, "loc"),
        e => panic!("{e:?}"),
    }
    // Finite but out of the constructor's range: the constructor's typed error.
    match load(edited(&bytes, |t, _| set_f32(t, "log_var", 1, 200.0))) {
        ModelIoError::GaussianRbm(e) => assert_eq!(
            *e,
            GaussianRbmError::LogVarOutOfRange {
                index: 1,
                value: 200.0,
                limit: MAX_ABS_LOG_VAR
            }
        ),
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |t, m| {
        m.insert("n_hidden".into(), "0".into());
        let w = t.iter_mut().find(|t| t.0 == "weights").unwrap();
        (w.2, w.3) = (vec![3, 0], vec![]);
        let b = t.iter_mut().find(|t| t.0 == "hidden_bias").unwrap();
        (b.2, b.3) = (vec![0], vec![]);
    })) {
        ModelIoError::GaussianRbm(e) => {
            assert_eq!(
                *e,
                GaussianRbmError::Rbm(RbmError::EmptyLayer { field: "n_hidden" })
            );
        }
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |_, m| {
        m.insert("format_version".into(), "2".into());
    })) {
        ModelIoError::UnsupportedVersion { found, .. } => assert_eq!(found, "2"),
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |_, m| {
        m.remove("kind");
    })) {
        ModelIoError::MissingKey { key } => assert_eq!(key, "kind"),
        e => panic!("{e:?}"),
    }
    match load(bytes[..bytes.len() - 3].to_vec()) {
        ModelIoError::Corrupt { .. } => {}
        e => panic!("{e:?}"),
    }
}

#[test]
fn kinds_are_kept_apart() {
    let binary = BinaryRbm::random(3, 2, 0.5, 0.5, 1)
        .unwrap()
        .to_safetensors();
    match GaussianRbm::from_safetensors(&binary).unwrap_err() {
        ModelIoError::WrongKind { expected, found } => {
            assert_eq!(
                (expected, found.as_str()),
                (KIND_GAUSSIAN_RBM, "binary_rbm")
            );
        }
        e => panic!("{e:?}"),
    }
    // The binary loader refuses it by name; the any-kind loader reads it.
    let model = GaussianRbm::random(3, 2, 0.5, 0.5, 1).unwrap();
    let gaussian = model.to_safetensors();
    match BinaryRbm::from_safetensors(&gaussian).unwrap_err() {
        ModelIoError::WrongKind { expected, found } => {
            assert_eq!(
                (expected, found.as_str()),
                ("binary_rbm", KIND_GAUSSIAN_RBM)
            );
        }
        e => panic!("{e:?}"),
    }
    let any = AnyModel::from_safetensors(&gaussian).unwrap();
    assert_eq!(any.kind(), KIND_GAUSSIAN_RBM);
    assert_eq!(any, AnyModel::GaussianRbm(model));
}
