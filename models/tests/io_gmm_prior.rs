//! Save/load of multiDGD-style mixture priors: bit-exact round trips of every covariance type
//! and of the supervised mixture, deterministic bytes, the documented layout read back by the
//! safetensors crate, and typed errors for damaged, mismatched or invalid files.

use blockgibbs_models::dgd::{
    CovarianceType, DirichletPrior, GaussianMixturePrior, GmmPriorConfig, LogVariancePrior,
    SoftballPrior, SupervisedGaussianMixturePrior,
};
use blockgibbs_models::io::{
    AnyModel, KIND_GMM_PRIOR, KIND_GMM_PRIOR_SUPERVISED, ModelIo, ModelIoError,
};
use safetensors::tensor::{Dtype, SafeTensors};

mod io_support;
use io_support::{edited, tensor};

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn assert_identical(a: &GaussianMixturePrior, b: &GaussianMixturePrior) {
    assert_eq!(a.covariance_type(), b.covariance_type());
    assert_eq!(bits(a.means()), bits(b.means()));
    assert_eq!(bits(a.log_var()), bits(b.log_var()));
    assert_eq!(bits(a.weight_logits()), bits(b.weight_logits()));
    assert_eq!(a.mean_prior(), b.mean_prior());
    assert_eq!(a.log_var_prior(), b.log_var_prior());
    assert_eq!(a.weight_prior(), b.weight_prior());
    assert_eq!(a, b);
}

/// A mixture with awkward but valid values: non-terminating decimals, signed zeros, tiny and
/// huge magnitudes.
fn awkward(covariance: CovarianceType) -> GaussianMixturePrior {
    let (k, d) = (3, 2);
    let log_var = match covariance {
        CovarianceType::Diagonal => vec![0.1 + 0.2, -0.0, 1e-300, -7.5, 3.3, 1.0 / 3.0],
        CovarianceType::Isotropic => vec![-0.0, 0.1 + 0.2, -1e-17],
        _ => vec![],
    };
    GaussianMixturePrior::from_parts(
        covariance,
        SoftballPrior::new(d, 0.1 + 0.2, 1.0 / 7.0).unwrap(),
        (covariance != CovarianceType::Fixed)
            .then(|| LogVariancePrior::from_sd_moments(0.3, 0.11).unwrap()),
        DirichletPrior::new(k, 2.0 / 3.0).unwrap(),
        vec![1e-310, -0.0, 5e300, -1.25, std::f64::consts::PI, 0.7],
        log_var,
        vec![-0.0, 1e-12, 42.0],
    )
    .unwrap()
}

const TYPES: [CovarianceType; 3] = [
    CovarianceType::Diagonal,
    CovarianceType::Isotropic,
    CovarianceType::Fixed,
];

#[test]
fn round_trip_is_bit_exact_and_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    for cov in TYPES {
        for model in [awkward(cov), {
            let mut c = GmmPriorConfig::new(4, 3);
            c.covariance = cov;
            GaussianMixturePrior::new(&c, 17).unwrap()
        }] {
            let path = dir.path().join("prior.safetensors");
            model.save(&path).unwrap();
            let loaded = GaussianMixturePrior::load(&path).unwrap();
            assert_identical(&model, &loaded);
            assert_eq!(loaded.to_safetensors(), std::fs::read(&path).unwrap());
            match AnyModel::load(&path).unwrap() {
                AnyModel::GmmPrior(m) => assert_identical(&model, &m),
                other => panic!("read as {}", other.kind()),
            }
        }
    }
    let supervised =
        SupervisedGaussianMixturePrior::from_mixture(3, 1, awkward(CovarianceType::Isotropic))
            .unwrap();
    let path = dir.path().join("supervised.safetensors");
    supervised.save(&path).unwrap();
    let loaded = SupervisedGaussianMixturePrior::load(&path).unwrap();
    assert_identical(supervised.mixture(), loaded.mixture());
    assert_eq!((loaded.n_class(), loaded.per_class()), (3, 1));
    assert_eq!(loaded.to_safetensors(), std::fs::read(&path).unwrap());
    assert_eq!(
        AnyModel::load(&path).unwrap(),
        AnyModel::SupervisedGmmPrior(supervised)
    );
}

#[test]
fn the_layout_is_the_documented_one() {
    for cov in TYPES {
        let model = awkward(cov);
        let bytes = model.to_safetensors();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let meta = header.metadata().clone().unwrap();
        assert_eq!(meta["kind"], KIND_GMM_PRIOR);
        assert_eq!(meta["n_components"], "3");
        assert_eq!(meta["dim"], "2");
        assert_eq!(meta["covariance_type"], cov.name());
        assert_eq!(meta["softball_radius"].parse::<f64>().unwrap(), 0.1 + 0.2);
        assert_eq!(meta["softball_hardness"].parse::<f64>().unwrap(), 1.0 / 7.0);
        assert_eq!(meta["dirichlet_alpha"].parse::<f64>().unwrap(), 2.0 / 3.0);
        let means = st.tensor("means").unwrap();
        assert_eq!(
            (means.dtype(), means.shape()),
            (Dtype::F64, &[3usize, 2][..])
        );
        let first = f64::from_le_bytes(means.data()[..8].try_into().unwrap());
        assert_eq!(first.to_bits(), 1e-310f64.to_bits());
        let logits = st.tensor("weight_logits").unwrap();
        assert_eq!(
            (logits.dtype(), logits.shape()),
            (Dtype::F64, &[3usize][..])
        );
        match cov {
            CovarianceType::Fixed => {
                assert!(st.tensor("log_var").is_err());
                assert!(!meta.contains_key("log_var_prior_loc"));
            }
            _ => {
                let lv = st.tensor("log_var").unwrap();
                let shape: &[usize] = if cov == CovarianceType::Diagonal {
                    &[3, 2]
                } else {
                    &[3]
                };
                assert_eq!((lv.dtype(), lv.shape()), (Dtype::F64, shape));
                let prior = model.log_var_prior().unwrap();
                assert_eq!(
                    meta["log_var_prior_loc"].parse::<f64>().unwrap(),
                    prior.loc()
                );
                assert_eq!(
                    meta["log_var_prior_scale"].parse::<f64>().unwrap(),
                    prior.scale()
                );
            }
        }
    }
    let supervised =
        SupervisedGaussianMixturePrior::from_mixture(1, 3, awkward(CovarianceType::Fixed)).unwrap();
    let bytes = supervised.to_safetensors();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!(meta["kind"], KIND_GMM_PRIOR_SUPERVISED);
    assert_eq!(
        (meta["n_class"].as_str(), meta["per_class"].as_str()),
        ("1", "3")
    );
}

fn invalid_key(e: ModelIoError) -> String {
    match e {
        ModelIoError::InvalidValue { key, .. } => key,
        other => panic!("expected InvalidValue, got {other:?}"),
    }
}

#[test]
fn damaged_or_invalid_files_are_typed_errors() {
    let bytes = awkward(CovarianceType::Diagonal).to_safetensors();
    let load = |b: Vec<u8>| GaussianMixturePrior::from_safetensors(&b).unwrap_err();
    let meta = |key: &'static str, value: &'static str| {
        edited(&bytes, move |_, m| {
            m.insert(key.into(), value.into());
        })
    };
    for (key, value) in [
        ("softball_radius", "-1.0"),
        ("softball_radius", "NaN"),
        ("softball_hardness", "0"),
        ("dirichlet_alpha", "0.0"),
        ("log_var_prior_scale", "-2"),
        ("log_var_prior_loc", "inf"),
        ("covariance_type", "full"),
        ("covariance_type", "banana"),
        ("dim", "x"),
    ] {
        assert_eq!(invalid_key(load(meta(key, value))), key, "{key} = {value}");
    }
    // Zero components: the tensors' shapes no longer match before the constructor is reached.
    assert!(matches!(
        load(meta("n_components", "0")),
        ModelIoError::WrongShape { .. } | ModelIoError::InvalidValue { .. }
    ));
    assert!(matches!(
        load(meta("dim", "3")),
        ModelIoError::WrongShape { name, .. } if name == "means"
    ));
    assert!(matches!(
        load(edited(&bytes, |_, m| {
            m.remove("log_var_prior_scale");
        })),
        ModelIoError::MissingKey { key } if key == "log_var_prior_scale"
    ));
    // A NaN parameter, named with its flat index.
    let nan = edited(&bytes, |t, _| {
        tensor(t, "weight_logits").3[8..16].copy_from_slice(&f64::NAN.to_le_bytes());
    });
    assert!(matches!(
        load(nan),
        ModelIoError::NonFinite { name, index: 1, .. } if name == "weight_logits"
    ));
    // Wrong dtype, a missing tensor, a tensor too many.
    let f32_means = edited(&bytes, |t, _| {
        let entry = tensor(t, "means");
        entry.1 = Dtype::F32;
        entry.3.truncate(entry.3.len() / 2);
    });
    assert!(matches!(load(f32_means), ModelIoError::WrongDtype { name, .. } if name == "means"));
    let no_log_var = edited(&bytes, |t, _| t.retain(|e| e.0 != "log_var"));
    assert!(matches!(load(no_log_var), ModelIoError::MissingTensor { name } if name == "log_var"));
    assert!(matches!(
        load(meta("covariance_type", "fixed")),
        ModelIoError::UnexpectedTensor { name, .. } if name == "log_var"
    ));
    // Kinds are not interchangeable.
    assert!(matches!(
        SupervisedGaussianMixturePrior::from_safetensors(&bytes),
        Err(ModelIoError::WrongKind { .. })
    ));
    let supervised =
        SupervisedGaussianMixturePrior::from_mixture(3, 1, awkward(CovarianceType::Diagonal))
            .unwrap()
            .to_safetensors();
    let bad_classes = edited(&supervised, |_, m| {
        m.insert("n_class".into(), "2".into());
    });
    assert_eq!(
        invalid_key(SupervisedGaussianMixturePrior::from_safetensors(&bad_classes).unwrap_err()),
        "n_components"
    );
    assert!(matches!(
        GaussianMixturePrior::from_safetensors(&bytes[..bytes.len() - 3]),
        Err(ModelIoError::Corrupt { .. })
    ));
}
