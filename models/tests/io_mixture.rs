//! Save/load of Gaussian mixtures: bit-exact round trips for every covariance type, the
//! documented layout read back by the safetensors crate, and typed errors for damaged,
//! mismatched or invalid files.

use blockgibbs_models::expfam::CovarianceType;
use blockgibbs_models::io::{AnyModel, KIND_MIXTURE, ModelIo, ModelIoError};
use blockgibbs_models::mixture::{GaussianMixture, GaussianMixtureOptions, MixtureError};
use safetensors::tensor::{Dtype, SafeTensors};

mod io_support;
use io_support::{Tensors, edited, tensor};

mod mixture_support;
use mixture_support::{TYPES, truth};

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn assert_identical(a: &GaussianMixture, b: &GaussianMixture) {
    assert_eq!(a.covariance_type(), b.covariance_type());
    assert_eq!(bits(a.weights()), bits(b.weights()));
    assert_eq!(bits(a.means()), bits(b.means()));
    assert_eq!(bits(a.covariances()), bits(b.covariances()));
    assert_eq!(bits(a.precisions_cholesky()), bits(b.precisions_cholesky()));
    assert_eq!(a, b);
}

fn set_f64(tensors: &mut Tensors, name: &str, index: usize, value: f64) {
    tensor(tensors, name).3[8 * index..8 * index + 8].copy_from_slice(&value.to_le_bytes());
}

/// A fitted mixture of each type (parameters with full 53-bit mantissas).
fn fitted(ty: CovarianceType) -> GaussianMixture {
    let (x, _) = truth(ty, 3.0).sample(300, 7).unwrap();
    let o = GaussianMixtureOptions {
        covariance_type: ty,
        ..GaussianMixtureOptions::new(3)
    };
    GaussianMixture::fit(&x, &o).unwrap().model
}

#[test]
fn round_trip_is_bit_exact_and_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    for ty in TYPES {
        for model in [fitted(ty), truth(ty, 1e-300)] {
            let path = dir.path().join("gm.safetensors");
            model.save(&path).unwrap();
            let loaded = GaussianMixture::load(&path).unwrap();
            assert_identical(&model, &loaded);
            assert_eq!(loaded.to_safetensors(), std::fs::read(&path).unwrap());
            match AnyModel::load(&path).unwrap() {
                AnyModel::Mixture(m) => assert_identical(&model, &m),
                other => panic!("{}", other.kind()),
            }
        }
    }
    // Extreme but valid values survive exactly.
    let model = GaussianMixture::new(
        CovarianceType::Diagonal,
        vec![0.0, 1.0],
        vec![-0.0, 1e-310, f64::MAX, -1.5e300],
        vec![f64::MIN_POSITIVE * 1e10, 3.3e200, 1.0, 0.1],
    )
    .unwrap();
    assert_identical(
        &model,
        &GaussianMixture::from_safetensors(&model.to_safetensors()).unwrap(),
    );
}

#[test]
fn layout_matches_the_documentation() {
    for ty in TYPES {
        let model = fitted(ty);
        let bytes = model.to_safetensors();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let meta = header.metadata().clone().unwrap();
        assert_eq!(meta["kind"], KIND_MIXTURE);
        assert_eq!(meta["format"], "blockgibbs");
        assert_eq!(meta["covariance_type"], ty.name());
        assert_eq!(
            (meta["n_components"].as_str(), meta["n_features"].as_str()),
            ("3", "3")
        );
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let cov_shape = match ty {
            CovarianceType::Full => Some(vec![3, 3, 3]),
            CovarianceType::Diagonal => Some(vec![3, 3]),
            CovarianceType::Isotropic => Some(vec![3]),
            CovarianceType::Fixed => None,
        };
        let mut expected = vec![
            ("weights", vec![3], model.weights()),
            ("means", vec![3, 3], model.means()),
        ];
        if let Some(shape) = cov_shape {
            expected.push(("covariances", shape, model.covariances()));
        }
        assert_eq!(st.names().len(), expected.len(), "{ty}");
        for (name, shape, values) in expected {
            let t = st.tensor(name).unwrap();
            assert_eq!(
                (t.dtype(), t.shape()),
                (Dtype::F64, &shape[..]),
                "{ty} {name}"
            );
            let read: Vec<f64> = t
                .data()
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect();
            assert_eq!(bits(&read), bits(values), "{ty} {name}");
        }
    }
}

#[test]
fn damaged_and_mismatched_files_give_typed_errors() {
    let model = fitted(CovarianceType::Full);
    let bytes = model.to_safetensors();
    // A file written by the safetensors crate itself (other header order) still loads.
    assert_identical(
        &model,
        &GaussianMixture::from_safetensors(&edited(&bytes, |_, _| {})).unwrap(),
    );
    let load = |b: Vec<u8>| GaussianMixture::from_safetensors(&b).unwrap_err();
    match load(edited(&bytes, |t, _| t.retain(|t| t.0 != "covariances"))) {
        ModelIoError::MissingTensor { name } => assert_eq!(name, "covariances"),
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |_, m| {
        m.insert("covariance_type".into(), "fixed".into());
    })) {
        ModelIoError::UnexpectedTensor { name, kind } => {
            assert_eq!((name.as_str(), kind), ("covariances", KIND_MIXTURE))
        }
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |_, m| {
        m.insert("covariance_type".into(), "diag".into());
    })) {
        ModelIoError::WrongShape {
            name,
            expected,
            found,
        } => {
            assert_eq!(
                (name.as_str(), expected, found),
                ("covariances", vec![3, 3], vec![3, 3, 3])
            )
        }
        e => panic!("{e:?}"),
    }
    for bad in ["tied", "isotropic", ""] {
        match load(edited(&bytes, |_, m| {
            m.insert("covariance_type".into(), bad.into());
        })) {
            ModelIoError::InvalidValue { key, .. } => assert_eq!(key, "covariance_type"),
            e => panic!("{e:?}"),
        }
    }
    match load(edited(&bytes, |_, m| {
        m.remove("covariance_type");
    })) {
        ModelIoError::MissingKey { key } => assert_eq!(key, "covariance_type"),
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |_, m| {
        m.insert("n_components".into(), "0".into());
    })) {
        ModelIoError::InvalidValue { key, .. } => assert_eq!(key, "n_components"),
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |t, _| set_f64(t, "means", 4, f64::NAN))) {
        ModelIoError::NonFinite { name, index: 4, .. } => assert_eq!(name, "means"),
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |t, _| {
        let w = tensor(t, "weights");
        w.1 = Dtype::F32;
        w.3.truncate(12);
    })) {
        ModelIoError::WrongDtype { name, .. } => assert_eq!(name, "weights"),
        e => panic!("{e:?}"),
    }
    // Finite but invalid: the constructor's typed error, naming the component.
    match load(edited(&bytes, |t, _| {
        // Component 2, entry (1, 1) of its covariance: not positive definite.
        set_f64(t, "covariances", 18 + 4, -1.0)
    })) {
        ModelIoError::Mixture(e) => assert!(
            matches!(
                *e,
                MixtureError::NotPositiveDefinite {
                    field: "covariances",
                    component: 2,
                    ..
                }
            ),
            "{e:?}"
        ),
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |t, _| set_f64(t, "weights", 0, 0.9))) {
        ModelIoError::Mixture(e) => {
            assert!(matches!(
                *e,
                MixtureError::NotProbability {
                    field: "weights",
                    ..
                }
            ))
        }
        e => panic!("{e:?}"),
    }
    match load(bytes[..bytes.len() - 5].to_vec()) {
        ModelIoError::Corrupt { .. } => {}
        e => panic!("{e:?}"),
    }
    // Another kind's loader refuses it by name.
    match blockgibbs_models::BinaryRbm::from_safetensors(&bytes).unwrap_err() {
        ModelIoError::WrongKind { expected, found } => {
            assert_eq!((expected, found.as_str()), ("binary_rbm", KIND_MIXTURE))
        }
        e => panic!("{e:?}"),
    }
}
