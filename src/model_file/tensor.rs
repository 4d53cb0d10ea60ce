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
                out.push(*v as f32);
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

fn read_bytes(path: &Path) -> Result<Vec<u8>, ModelFileError> {
    std::fs::read(path).map_err(|source| ModelFileError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn open_npy<'a>(
    key: &str,
    path: &Path,
    bytes: &'a [u8],
) -> Result<npyz::NpyFile<&'a [u8]>, ModelFileError> {
    // npyz allocates the announced header length before reading it, and multiplies the
    // header's dimensions unchecked (a panic with overflow checks on).
    if let Some(reason) = crate::data::npy_guard::truncated_header(bytes) {
        return Err(npy_error(key, path, reason));
    }
    if let Some(shape) = crate::data::npy::shape_overflowing_u64(bytes) {
        return Err(npy_error(
            key,
            path,
            format!("shape ({shape}) is too large"),
        ));
    }
    let npy = npyz::NpyFile::new(bytes).map_err(|e| npy_error(key, path, e))?;
    if npy.shape().len() > 1 && npy.order() == npyz::Order::Fortran {
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

fn shape_of(npy: &npyz::NpyFile<&[u8]>) -> Vec<usize> {
    npy.shape().iter().map(|&d| d as usize).collect()
}

/// Reads a float (f32 or f64) or integer array from a `.npy` file as f32.
pub fn read_npy_f32(key: &str, path: &Path) -> Result<Dense, ModelFileError> {
    parse_npy_f32(key, path, &read_bytes(path)?)
}

/// [`read_npy_f32`] of a file's bytes held in memory; `path` names the file in errors.
pub fn parse_npy_f32(key: &str, path: &Path, bytes: &[u8]) -> Result<Dense, ModelFileError> {
    let npy = open_npy(key, path, bytes)?;
    let shape = shape_of(&npy);
    let dtype = npy.dtype().descr();
    let err = |e: std::io::Error| npy_error(key, path, e);
    let data: Vec<f32> = match npy.try_data::<f32>() {
        Ok(r) => r.collect::<Result<_, _>>().map_err(err)?,
        Err(npy) => match npy.try_data::<f64>() {
            Ok(r) => r
                .map(|v| v.map(|v| v as f32))
                .collect::<Result<_, _>>()
                .map_err(err)?,
            Err(npy) => match npy.try_data::<i64>() {
                Ok(r) => r
                    .map(|v| v.map(|v| v as f32))
                    .collect::<Result<_, _>>()
                    .map_err(err)?,
                Err(npy) => match npy.try_data::<i32>() {
                    Ok(r) => r
                        .map(|v| v.map(|v| v as f32))
                        .collect::<Result<_, _>>()
                        .map_err(err)?,
                    Err(_) => {
                        return Err(npy_error(
                            key,
                            path,
                            format!("dtype {dtype} is not supported (use float32 or float64)"),
                        ));
                    }
                },
            },
        },
    };
    Ok(Dense { data, shape })
}

/// Reads a one-dimensional integer array (node indices) from a `.npy` file.
pub fn read_npy_indices(key: &str, path: &Path) -> Result<Vec<i64>, ModelFileError> {
    parse_npy_indices(key, path, &read_bytes(path)?)
}

/// [`read_npy_indices`] of a file's bytes held in memory; `path` names the file in errors.
pub fn parse_npy_indices(key: &str, path: &Path, bytes: &[u8]) -> Result<Vec<i64>, ModelFileError> {
    let npy = open_npy(key, path, bytes)?;
    let shape = shape_of(&npy);
    if shape.len() != 1 {
        return Err(ModelFileError::ShapeMismatch {
            key: key.to_string(),
            expected: vec![npy.len() as usize],
            found: shape,
        });
    }
    let dtype = npy.dtype().descr();
    let err = |e: std::io::Error| npy_error(key, path, e);
    let data: Vec<i64> = match npy.try_data::<i64>() {
        Ok(r) => r.collect::<Result<_, _>>().map_err(err)?,
        Err(npy) => match npy.try_data::<i32>() {
            Ok(r) => r
                .map(|v| v.map(i64::from))
                .collect::<Result<_, _>>()
                .map_err(err)?,
            Err(npy) => match npy.try_data::<u32>() {
                Ok(r) => r
                    .map(|v| v.map(i64::from))
                    .collect::<Result<_, _>>()
                    .map_err(err)?,
                Err(_) => {
                    return Err(npy_error(
                        key,
                        path,
                        format!("dtype {dtype} is not supported for indices (use int64 or int32)"),
                    ));
                }
            },
        },
    };
    Ok(data)
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
