//! `F64` tensors and exact real metadata, for the kinds whose parameters are `f64` (the
//! Models II families): parameters round-trip bit for bit.

use safetensors::tensor::Dtype;

use super::{Entry, ModelIoError, Parsed, tensor_data};

/// The shortest decimal that parses back to the same `f64` (Rust's `{:?}`), which Python's
/// `float()` also parses exactly.
pub(super) fn real(x: f64) -> String {
    format!("{x:?}")
}

/// An `F64` tensor entry, little-endian.
pub(super) fn f64_entry<'a>(name: &'a str, shape: Vec<usize>, values: &[f64]) -> Entry<'a> {
    let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    (name, Dtype::F64, shape, bytes)
}

/// The values of `F64` tensor `name` of shape `shape`, all finite.
pub(super) fn read_f64(
    file: &Parsed<'_>,
    name: &str,
    shape: &[usize],
) -> Result<Vec<f64>, ModelIoError> {
    let data = tensor_data(file, name, Dtype::F64, shape)?;
    let values: Vec<f64> = data
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect();
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(ModelIoError::NonFinite {
            name: name.into(),
            index,
            // Only NaN and infinities get here, which `f32` represents exactly.
            value: values[index] as f32,
        });
    }
    Ok(values)
}
