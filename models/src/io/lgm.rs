//! Save/load of [`FactorAnalysis`] and [`Ppca`] in the safetensors layout of [this module's
//! parent](super).
//!
//! | metadata key   | value                                                        |
//! |----------------|--------------------------------------------------------------|
//! | `kind`         | `"factor_analysis"` ([`KIND_FACTOR_ANALYSIS`]) or `"ppca"` ([`KIND_PPCA`]) |
//! | `n_features`   | `d`, decimal                                                 |
//! | `n_components` | `k`, decimal (`1 ≤ k < d`)                                    |
//!
//! plus `format` and `format_version` as for every kind, and the tensors (all `F64`, so
//! that a fitted model round-trips bit for bit; in this order):
//!
//! | tensor           | shape                                   | meaning                     |
//! |------------------|-----------------------------------------|-----------------------------|
//! | `mean`           | `[d]`                                   | `μ` (scikit-learn's `mean_`) |
//! | `components`     | `[k, d]`                                | `Aᵀ` (scikit-learn's `components_`) |
//! | `noise_variance` | `[d]` (`factor_analysis`), `[1]` (`ppca`) | `ψ` (`noise_variance_`), or `σ²` |
//!
//! The latent prior is the standard normal (both front-ends are whitened). A scikit-learn
//! `FactorAnalysis` is written by storing its three attributes as float64 under these names
//! (`scripts/sklearn_fa.py` does). Loading runs the same checks as the other kinds and then
//! [`FactorAnalysis::new`] or [`Ppca::new`], so non-positive noise or a bad `n_components`
//! is a [`ModelIoError::Lgm`] naming the field; [`super::AnyModel`] reads both kinds.

use super::f64_tensors::{f64_entry, read_f64};
use super::{ModelIo, ModelIoError, check_header, check_names, encode, meta_parse, parse};
use crate::lgm::{FactorAnalysis, Ppca};

/// `kind` of a [`FactorAnalysis`] file.
pub const KIND_FACTOR_ANALYSIS: &str = "factor_analysis";
/// `kind` of a [`Ppca`] file.
pub const KIND_PPCA: &str = "ppca";

/// Tensor names, in file order.
const TENSORS: [&str; 3] = ["mean", "components", "noise_variance"];

/// The file of either kind; `noise` is the `noise_variance` tensor's values.
fn to_bytes(kind: &str, mean: &[f64], components: &[f64], k: usize, noise: &[f64]) -> Vec<u8> {
    let d = mean.len();
    let meta = super::metadata(
        kind,
        [
            ("n_features", d.to_string()),
            ("n_components", k.to_string()),
        ],
    );
    let tensors = vec![
        f64_entry(TENSORS[0], vec![d], mean),
        f64_entry(TENSORS[1], vec![k, d], components),
        f64_entry(TENSORS[2], vec![noise.len()], noise),
    ];
    encode(tensors, meta)
}

/// The checked tensors `(mean, components, k, noise)` of a file of `kind`.
type Parts = (Vec<f64>, Vec<f64>, usize, Vec<f64>);

fn from_bytes(bytes: &[u8], kind: &'static str) -> Result<Parts, ModelIoError> {
    let file = parse(bytes)?;
    check_header(&file, Some(kind))?;
    check_names(&file, kind, &TENSORS)?;
    let d: usize = meta_parse(&file, "n_features")?;
    let k: usize = meta_parse(&file, "n_components")?;
    let noise_len = if kind == KIND_PPCA { 1 } else { d };
    let mean = read_f64(&file, TENSORS[0], &[d])?;
    let components = read_f64(&file, TENSORS[1], &[k, d])?;
    let noise = read_f64(&file, TENSORS[2], &[noise_len])?;
    Ok((mean, components, k, noise))
}

impl ModelIo for FactorAnalysis {
    const KIND: &'static str = KIND_FACTOR_ANALYSIS;

    fn to_safetensors(&self) -> Vec<u8> {
        let (mean, k) = (self.mean(), self.n_components());
        to_bytes(
            Self::KIND,
            mean,
            &self.components(),
            k,
            self.noise_variance(),
        )
    }

    fn from_safetensors(bytes: &[u8]) -> Result<Self, ModelIoError> {
        let (mean, components, k, noise) = from_bytes(bytes, Self::KIND)?;
        Ok(FactorAnalysis::new(mean, components, k, noise)?)
    }
}

impl ModelIo for Ppca {
    const KIND: &'static str = KIND_PPCA;

    fn to_safetensors(&self) -> Vec<u8> {
        let (mean, k) = (self.mean(), self.n_components());
        to_bytes(
            Self::KIND,
            mean,
            &self.components(),
            k,
            &[self.noise_variance()],
        )
    }

    fn from_safetensors(bytes: &[u8]) -> Result<Self, ModelIoError> {
        let (mean, components, k, noise) = from_bytes(bytes, Self::KIND)?;
        Ok(Ppca::new(mean, components, k, noise[0])?)
    }
}
