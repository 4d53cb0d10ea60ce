//! Numeric arrays of model files: inline weights (a number, a flat list or nested lists) and
//! `.npy` files (weights and node indices).

use super::error::ModelFileError;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Largest weight tensor a model file may ask for (entries); guards against a scalar
/// broadcast over an absurd shape.
pub const MAX_WEIGHTS: usize = 1 << 30;

/// An inline array of numbers: a scalar, or an array of (nested) arrays.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged, expecting = "a number or a (nested) array of numbers")]
pub enum Tensor {
    /// One number, broadcast to the whole required shape.
    Scalar(f64),
    /// An array; nested arrays must be rectangular.
    Array(Vec<Tensor>),
}

/// Row-major data with its shape (an empty shape for a scalar).
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    /// Row-major values.
    pub data: Vec<f32>,
    /// Shape; empty for a scalar.
    pub shape: Vec<usize>,
}

impl Tensor {
    /// Flattens to row-major order, checking that nested arrays are rectangular.
    pub fn to_dense(&self, key: &str) -> Result<Dense, ModelFileError> {
        let mut shape = Vec::new();
        let mut probe = self;
        while let Tensor::Array(items) = probe {
            shape.push(items.len());
            match items.first() {
                Some(first) => probe = first,
                None => break,
            }
        }
        // No preallocation: the shape is read from the first entries only, so its product can
        // be far larger than the data (a ragged array) and is checked while flattening.
        let mut data = Vec::new();
        self.flatten_into(&shape, key, &mut data)?;
        Ok(Dense { data, shape })
    }

    fn flatten_into(
        &self,
        shape: &[usize],
        key: &str,
        out: &mut Vec<f32>,
    ) -> Result<(), ModelFileError> {
        match (self, shape.split_first()) {
            (Tensor::Scalar(v), None) => {
                let x = f64_to_f32(*v).map_err(|message| ModelFileError::InvalidValue {
                    key: key.to_string(),
                    message,
                })?;
                out.push(x);
                Ok(())
            }
            (Tensor::Array(items), Some((&len, rest))) if items.len() == len => items
                .iter()
                .try_for_each(|t| t.flatten_into(rest, key, out)),
            _ => Err(ModelFileError::InvalidValue {
                key: key.to_string(),
                message: format!(
                    "nested arrays must be rectangular (shape {shape:?} from the first entries)"
                ),
            }),
        }
    }
}

impl Dense {
    /// Fits the data to a factor whose weight tensor has shape `expected`: a scalar is
    /// broadcast, a flat list is passed on as is (its length is checked by model
    /// validation), and a multi-dimensional array must have exactly the expected shape.
    pub fn fit(self, expected: Option<&[usize]>, key: &str) -> Result<Vec<f32>, ModelFileError> {
        match (self.shape.len(), expected) {
            (0, Some(shape)) => {
                let n = checked_len(shape, key)?;
                Ok(vec![self.data[0]; n])
            }
            (0, None) => Ok(self.data),
            (1, _) | (_, None) => Ok(self.data),
            (_, Some(shape)) if shape == self.shape.as_slice() => Ok(self.data),
            (_, Some(shape)) => Err(ModelFileError::ShapeMismatch {
                key: key.to_string(),
                expected: shape.to_vec(),
                found: self.shape,
            }),
        }
    }
}

/// Number of entries of `shape`, or an error when it overflows or exceeds [`MAX_WEIGHTS`].
pub fn checked_len(shape: &[usize], key: &str) -> Result<usize, ModelFileError> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_WEIGHTS)
        .ok_or_else(|| ModelFileError::InvalidValue {
            key: key.to_string(),
            message: format!(
                "weight tensor of shape {shape:?} is too large (at most {MAX_WEIGHTS} entries)"
            ),
        })
}

/// Resolves `file` against the model file's directory.
pub fn resolve(base_dir: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base_dir.join(p)
    }
}

/// Reads the whole file, reserving its size fallibly: a file larger than memory is an error
/// naming it and the bytes, not an abort.
fn read_file(key: &str, path: &Path) -> Result<Vec<u8>, ModelFileError> {
    use std::io::Read;
    let io = |source| ModelFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut bytes = Vec::new();
    reserve(&mut bytes, len, key, path)?;
    file.read_to_end(&mut bytes).map_err(io)?;
    Ok(bytes)
}

/// Reserves room for `count` more elements, or reports that they cannot be allocated.
fn reserve<T>(v: &mut Vec<T>, count: u64, key: &str, path: &Path) -> Result<(), ModelFileError> {
    let bytes = count.saturating_mul(std::mem::size_of::<T>() as u64);
    usize::try_from(count)
        .ok()
        .and_then(|n| v.try_reserve_exact(n).ok())
        .ok_or_else(|| npy_error(key, path, format!("cannot allocate {bytes} bytes")))
}

/// The checked header and data of a `.npy` file, C-ordered unless one-dimensional.
fn open_npy<'a>(
    key: &str,
    path: &Path,
    bytes: &'a [u8],
) -> Result<crate::data::npy::CheckedNpy<'a>, ModelFileError> {
    let npy = crate::data::npy::check_npy(bytes).map_err(|e| npy_error(key, path, e))?;
    if npy.header.shape().len() > 1 && npy.header.order() == npyz::Order::Fortran {
        return Err(npy_error(
            key,
            path,
            "Fortran-ordered arrays are not supported; save a C-ordered array \
             (np.ascontiguousarray)",
        ));
    }
    Ok(npy)
}

fn npy_error(key: &str, path: &Path, reason: impl ToString) -> ModelFileError {
    ModelFileError::Npy {
        key: key.to_string(),
        file: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Decodes every element of `npy` as `T` and converts it with `convert` (which may refuse
/// the element at an index) into a vector reserved fallibly.
fn decode<T: npyz::Deserialize, U>(
    key: &str,
    path: &Path,
    npy: crate::data::npy::CheckedNpy<'_>,
    mut convert: impl FnMut(usize, T) -> Result<U, String>,
) -> Result<Vec<U>, ModelFileError> {
    let mut out = Vec::new();
    reserve(&mut out, npy.count, key, path)?;
    let file = npyz::NpyFile::with_header(npy.header, npy.data);
    let data = file.data::<T>().map_err(|e| npy_error(key, path, e))?;
    for (i, v) in data.enumerate() {
        let v = v.map_err(|e| npy_error(key, path, e))?;
        out.push(convert(i, v).map_err(|e| npy_error(key, path, e))?);
    }
    Ok(out)
}

/// An f64 as f32, refusing a finite value beyond f32's range (it would become infinite).
pub fn f64_to_f32(v: f64) -> Result<f32, String> {
    let x = v as f32;
    if v.is_finite() && x.is_infinite() {
        return Err(format!(
            "{v} overflows f32 (the largest finite f32 is {:e})",
            f32::MAX
        ));
    }
    Ok(x)
}

/// Reads a float32 or float64 array from a `.npy` file as f32. Integer arrays are refused:
/// weights are real numbers, and an int64 could not become an f32 exactly anyway; save them
/// with `np.asarray(w, dtype=np.float32)`.
pub fn read_npy_f32(key: &str, path: &Path) -> Result<Dense, ModelFileError> {
    parse_npy_f32(key, path, &read_file(key, path)?)
}

/// [`read_npy_f32`] of a file's bytes held in memory; `path` names the file in errors.
pub fn parse_npy_f32(key: &str, path: &Path, bytes: &[u8]) -> Result<Dense, ModelFileError> {
    let npy = open_npy(key, path, bytes)?;
    let shape = npy.header.shape().iter().map(|&d| d as usize).collect();
    let dtype = npy.header.dtype();
    let data = match &dtype {
        npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Float => match t.size_field() {
            4 => decode::<f32, f32>(key, path, npy, |_, v| Ok(v))?,
            8 => decode::<f64, f32>(key, path, npy, |i, v| {
                f64_to_f32(v).map_err(|e| format!("element {i}: {e}"))
            })?,
            _ => return Err(unsupported(key, path, &dtype)),
        },
        _ => return Err(unsupported(key, path, &dtype)),
    };
    Ok(Dense { data, shape })
}

fn unsupported(key: &str, path: &Path, dtype: &npyz::DType) -> ModelFileError {
    npy_error(
        key,
        path,
        format!(
            "dtype {} is not supported for weights (use float32 or float64)",
            dtype.descr()
        ),
    )
}

/// Reads a one-dimensional integer array (node indices) from a `.npy` file.
pub fn read_npy_indices(key: &str, path: &Path) -> Result<Vec<i64>, ModelFileError> {
    parse_npy_indices(key, path, &read_file(key, path)?)
}

/// [`read_npy_indices`] of a file's bytes held in memory; `path` names the file in errors.
pub fn parse_npy_indices(key: &str, path: &Path, bytes: &[u8]) -> Result<Vec<i64>, ModelFileError> {
    let npy = open_npy(key, path, bytes)?;
    let shape: Vec<usize> = npy.header.shape().iter().map(|&d| d as usize).collect();
    if shape.len() != 1 {
        return Err(ModelFileError::ShapeMismatch {
            key: key.to_string(),
            expected: vec![npy.count as usize],
            found: shape,
        });
    }
    let dtype = npy.header.dtype();
    let ok = |_, v| Ok(v);
    match &dtype {
        npyz::DType::Plain(t) => match (t.type_char(), t.size_field()) {
            (npyz::TypeChar::Int, 8) => decode::<i64, i64>(key, path, npy, ok),
            (npyz::TypeChar::Int, 4) => decode::<i32, i64>(key, path, npy, |_, v| Ok(v.into())),
            (npyz::TypeChar::Uint, 4) => decode::<u32, i64>(key, path, npy, |_, v| Ok(v.into())),
            _ => Err(unsupported_indices(key, path, &dtype)),
        },
        _ => Err(unsupported_indices(key, path, &dtype)),
    }
}

fn unsupported_indices(key: &str, path: &Path, dtype: &npyz::DType) -> ModelFileError {
    npy_error(
        key,
        path,
        format!(
            "dtype {} is not supported for indices (use int64 or int32)",
            dtype.descr()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_arrays_flatten_row_major() {
        let t: Tensor = toml::from_str::<toml::Table>("w = [[1, 2, 3], [4.5, 5, 6]]").unwrap()["w"]
            .clone()
            .try_into()
            .unwrap();
        let d = t.to_dense("w").unwrap();
        assert_eq!(d.shape, vec![2, 3]);
        assert_eq!(d.data, vec![1.0, 2.0, 3.0, 4.5, 5.0, 6.0]);
        assert!(d.clone().fit(Some(&[2, 3]), "w").is_ok());
        assert!(matches!(
            d.fit(Some(&[3, 2]), "w"),
            Err(ModelFileError::ShapeMismatch { .. })
        ));
        let ragged: Tensor = toml::from_str::<toml::Table>("w = [[1, 2], [3]]").unwrap()["w"]
            .clone()
            .try_into()
            .unwrap();
        assert!(ragged.to_dense("w").is_err());
    }

    #[test]
    fn scalars_broadcast() {
        let d = Tensor::Scalar(0.5).to_dense("w").unwrap();
        assert_eq!(d.fit(Some(&[2, 3]), "w").unwrap(), vec![0.5; 6]);
    }
}
