//! Save/load of factor analysis and PPCA: bit-exact round trips of fitted models,
//! deterministic bytes, the documented layout, and typed errors for damaged, mismatched or
//! invalid files.

use blockgibbs_models::io::{AnyModel, KIND_FACTOR_ANALYSIS, KIND_PPCA, ModelIo, ModelIoError};
use blockgibbs_models::lgm::{FactorAnalysis, FitOptions, LgmError, NoiseType, Ppca};
use safetensors::tensor::{Dtype, SafeTensors};

mod io_support;
mod lgm_support;
use io_support::{Tensors, edited, tensor};

fn set_f64(tensors: &mut Tensors, name: &str, index: usize, value: f64) {
    tensor(tensors, name).3[8 * index..8 * index + 8].copy_from_slice(&value.to_le_bytes());
}

fn f64s(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()).to_bits())
        .collect()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn fitted_fa(seed: u64, d: usize, k: usize) -> FactorAnalysis {
    let truth = lgm_support::random_model(seed, d, k, NoiseType::Diagonal);
    let x = truth.sample(200, seed).unwrap();
    FactorAnalysis::fit(&x, k, &FitOptions::default())
        .unwrap()
        .0
}

fn fitted_ppca(seed: u64, d: usize, k: usize) -> Ppca {
    let truth = lgm_support::random_model(seed, d, k, NoiseType::Isotropic);
    let x = truth.sample(200, seed).unwrap();
    Ppca::fit(&x, k, &FitOptions::default()).unwrap().0
}

#[test]
fn round_trips_are_bit_exact_and_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    for (seed, d, k) in [(1u64, 2usize, 1usize), (2, 9, 4), (3, 30, 29)] {
        let fa = fitted_fa(seed, d, k);
        let path = dir.path().join("fa.safetensors");
        fa.save(&path).unwrap();
        let loaded = FactorAnalysis::load(&path).unwrap();
        assert_eq!(bits(loaded.mean()), bits(fa.mean()));
        assert_eq!(bits(loaded.loadings()), bits(fa.loadings()));
        assert_eq!(bits(loaded.noise_variance()), bits(fa.noise_variance()));
        assert_eq!(loaded, fa);
        assert_eq!(loaded.to_safetensors(), std::fs::read(&path).unwrap());

        let ppca = fitted_ppca(seed, d, k);
        let path = dir.path().join("ppca.safetensors");
        ppca.save(&path).unwrap();
        let loaded = Ppca::load(&path).unwrap();
        assert_eq!(
            loaded.noise_variance().to_bits(),
            ppca.noise_variance().to_bits()
        );
        assert_eq!(bits(loaded.loadings()), bits(ppca.loadings()));
        assert_eq!(loaded, ppca);
        let any = AnyModel::load(&path).unwrap();
        assert_eq!(any.kind(), KIND_PPCA);
        assert_eq!(any, AnyModel::Ppca(ppca));
    }
    // Extreme but valid values survive exactly.
    let fa = FactorAnalysis::new(
        vec![-0.0, 1e308, f64::MIN_POSITIVE],
        vec![5e-324, -1.5e300, 0.1],
        1,
        vec![f64::MIN_POSITIVE, 1e300, 1.0],
    )
    .unwrap();
    assert_eq!(
        FactorAnalysis::from_safetensors(&fa.to_safetensors()).unwrap(),
        fa
    );
}

#[test]
fn layout_matches_the_documentation() {
    let fa = fitted_fa(4, 5, 2);
    let bytes = fa.to_safetensors();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!(meta["kind"], KIND_FACTOR_ANALYSIS);
    assert_eq!(meta["format"], "blockgibbs");
    assert_eq!(
        (meta["n_features"].as_str(), meta["n_components"].as_str()),
        ("5", "2")
    );
    let st = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.names().len(), 3);
    for (name, shape, values) in [
        ("mean", vec![5], fa.mean().to_vec()),
        ("components", vec![2, 5], fa.components()),
        ("noise_variance", vec![5], fa.noise_variance().to_vec()),
    ] {
        let t = st.tensor(name).unwrap();
        assert_eq!((t.dtype(), t.shape()), (Dtype::F64, &shape[..]), "{name}");
        assert_eq!(f64s(t.data()), bits(&values), "{name}");
    }
    // components is Aᵀ: entry [j, i] is the loading of feature i on factor j.
    let c = fa.components();
    assert_eq!(c[5 + 3], fa.loadings()[3 * 2 + 1]);
    let ppca = fitted_ppca(5, 4, 1);
    let st_bytes = ppca.to_safetensors();
    let st = SafeTensors::deserialize(&st_bytes).unwrap();
    let t = st.tensor("noise_variance").unwrap();
    assert_eq!(t.shape(), &[1]);
    assert_eq!(f64s(t.data()), vec![ppca.noise_variance().to_bits()]);
}

#[test]
fn damaged_and_invalid_files_give_typed_errors() {
    let fa = fitted_fa(6, 4, 2);
    let bytes = fa.to_safetensors();
    assert_eq!(
        FactorAnalysis::from_safetensors(&edited(&bytes, |_, _| {})).unwrap(),
        fa
    );
    let load = |b: Vec<u8>| FactorAnalysis::from_safetensors(&b).unwrap_err();
    match load(edited(&bytes, |t, _| t.retain(|t| t.0 != "components"))) {
        ModelIoError::MissingTensor { name } => assert_eq!(name, "components"),
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |t, _| {
        t.push(("prior".into(), Dtype::F64, vec![1], vec![0; 8]))
    })) {
        ModelIoError::UnexpectedTensor { name, kind } => {
            assert_eq!((name.as_str(), kind), ("prior", KIND_FACTOR_ANALYSIS))
        }
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |_, m| {
        m.insert("n_components".into(), "3".into());
    })) {
        ModelIoError::WrongShape {
            name,
            expected,
            found,
        } => {
            assert_eq!(
                (name.as_str(), expected, found),
                ("components", vec![3, 4], vec![2, 4])
            )
        }
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |t, _| {
        let m = tensor(t, "mean");
        m.1 = Dtype::F32;
        m.2 = vec![8];
    })) {
        ModelIoError::WrongDtype { name, .. } => assert_eq!(name, "mean"),
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |t, _| set_f64(t, "components", 5, f64::NAN))) {
        ModelIoError::NonFinite { name, index: 5, .. } => assert_eq!(name, "components"),
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |t, _| {
        set_f64(t, "mean", 0, f64::NEG_INFINITY)
    })) {
        ModelIoError::NonFinite {
            name,
            index: 0,
            value,
        } => {
            assert_eq!((name.as_str(), value), ("mean", f32::NEG_INFINITY))
        }
        e => panic!("{e:?}"),
    }
    // Finite but invalid: the constructor's typed error.
    match load(edited(&bytes, |t, _| set_f64(t, "noise_variance", 3, -0.5))) {
        ModelIoError::Lgm(e) => {
            assert_eq!(
                *e,
                LgmError::NonPositiveNoise {
                    index: 3,
                    value: -0.5
                }
            )
        }
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |t, m| {
        m.insert("n_components".into(), "0".into());
        let c = tensor(t, "components");
        (c.2, c.3) = (vec![0, 4], vec![]);
    })) {
        ModelIoError::Lgm(e) => {
            assert_eq!(
                *e,
                LgmError::LatentDim {
                    latent_dim: 0,
                    observable_dim: 4
                }
            )
        }
        e => panic!("{e:?}"),
    }
    match load(edited(&bytes, |_, m| {
        m.insert("n_features".into(), "four".into());
    })) {
        ModelIoError::InvalidValue { key, .. } => assert_eq!(key, "n_features"),
        e => panic!("{e:?}"),
    }
    match load(bytes[..bytes.len() - 1].to_vec()) {
        ModelIoError::Corrupt { .. } => {}
        e => panic!("{e:?}"),
    }
}

#[test]
fn kinds_are_kept_apart() {
    let fa = fitted_fa(7, 4, 1).to_safetensors();
    let ppca = fitted_ppca(7, 4, 1).to_safetensors();
    match Ppca::from_safetensors(&fa).unwrap_err() {
        ModelIoError::WrongKind { expected, found } => {
            assert_eq!(
                (expected, found.as_str()),
                (KIND_PPCA, KIND_FACTOR_ANALYSIS)
            )
        }
        e => panic!("{e:?}"),
    }
    match FactorAnalysis::from_safetensors(&ppca).unwrap_err() {
        ModelIoError::WrongKind { expected, found } => {
            assert_eq!(
                (expected, found.as_str()),
                (KIND_FACTOR_ANALYSIS, KIND_PPCA)
            )
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(
        AnyModel::from_safetensors(&fa).unwrap().kind(),
        KIND_FACTOR_ANALYSIS
    );
    // A PPCA file whose noise tensor has d entries is refused by shape.
    let wide = edited(&ppca, |t, _| {
        let n = tensor(t, "noise_variance");
        (n.2, n.3) = (vec![4], 1.0f64.to_le_bytes().repeat(4));
    });
    match Ppca::from_safetensors(&wide).unwrap_err() {
        ModelIoError::WrongShape { name, .. } => assert_eq!(name, "noise_variance"),
        e => panic!("{e:?}"),
    }
}
