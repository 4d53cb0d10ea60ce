//! Save/load of hierarchical mixtures: bit-exact round trips of every variant, deterministic
//! bytes, reading through `AnyModel`, and typed errors for damaged or invalid files.

use blockgibbs_models::expfam::CovarianceType;
use blockgibbs_models::hmog::{Hmog, HmogVariant};
use blockgibbs_models::io::{AnyModel, KIND_HMOG, ModelIo, ModelIoError};
use blockgibbs_models::samples::Samples;

mod io_support;
use io_support::{edited, tensor};

fn model(variant: HmogVariant, obs: CovarianceType) -> Hmog {
    let data = Samples::new(
        (0..30 * 4)
            .map(|i| ((i * 17 + 3) % 13) as f64 / 3.0)
            .collect(),
        4,
    )
    .unwrap();
    Hmog::initialize(variant, obs, 2, 3, &data, 5).unwrap()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn every_variant_round_trips_bit_for_bit() {
    for variant in [
        HmogVariant::Analytic,
        HmogVariant::Symmetric {
            components: CovarianceType::Diagonal,
        },
        HmogVariant::Differentiable {
            posterior: CovarianceType::Isotropic,
        },
    ] {
        for obs in [
            CovarianceType::Diagonal,
            CovarianceType::Full,
            CovarianceType::Isotropic,
        ] {
            let h = model(variant, obs);
            let bytes = h.to_safetensors();
            let back = Hmog::from_safetensors(&bytes).unwrap();
            assert_eq!(bits(&back.params()), bits(&h.params()));
            assert_eq!(back, h);
            assert_eq!(
                back.to_safetensors(),
                bytes,
                "re-saving gives the same bytes"
            );
            match AnyModel::from_safetensors(&bytes).unwrap() {
                AnyModel::Hmog(m) => assert_eq!(m, h),
                other => panic!("read as {}", other.kind()),
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hmog.safetensors");
    let h = model(HmogVariant::Analytic, CovarianceType::Diagonal);
    h.save(&path).unwrap();
    assert_eq!(AnyModel::load(&path).unwrap().kind(), KIND_HMOG);
}

#[test]
fn damaged_files_are_typed_errors() {
    let bytes = model(HmogVariant::Analytic, CovarianceType::Diagonal).to_safetensors();
    let bad_variant = edited(&bytes, |_, meta| {
        meta.insert("variant".into(), "wavy".into());
    });
    assert!(matches!(
        Hmog::from_safetensors(&bad_variant),
        Err(ModelIoError::InvalidValue { .. })
    ));
    let nan = edited(&bytes, |tensors, _| {
        tensor(tensors, "interaction").3[..8].copy_from_slice(&f64::NAN.to_le_bytes());
    });
    assert!(matches!(
        Hmog::from_safetensors(&nan),
        Err(ModelIoError::NonFinite { .. })
    ));
    let wrong_shape = edited(&bytes, |_, meta| {
        meta.insert("latent_dim".into(), "3".into());
    });
    assert!(matches!(
        Hmog::from_safetensors(&wrong_shape),
        Err(ModelIoError::WrongShape { .. })
    ));
    // A latent bias whose precision is negative: not a normalisable model.
    let improper = edited(&bytes, |tensors, _| {
        let t = tensor(tensors, "latent_bias");
        for chunk in t.3.chunks_exact_mut(8).skip(2) {
            chunk.copy_from_slice(&5.0f64.to_le_bytes());
        }
    });
    assert!(matches!(
        Hmog::from_safetensors(&improper),
        Err(ModelIoError::InvalidValue { .. })
    ));
}
