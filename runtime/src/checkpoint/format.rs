//! The bytes of a checkpoint: a safetensors file whose `__metadata__` holds the format name,
//! its version and one JSON document (`run`), and whose tensors hold everything large. The
//! layout is documented in `docs/checkpoint.md`; this module only reads and writes it, and
//! checks every tensor's dtype and shape before converting it (so allocations never exceed
//! what the file holds).

use super::CheckpointError;
use super::state::{StateTensor, TensorData};
use crate::cursor::ScheduleCursor;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Value of the `format` metadata key of every checkpoint.
pub const FORMAT_NAME: &str = "blockgibbs-checkpoint";
/// The version written, and the only one read.
pub const FORMAT_VERSION: u32 = 1;

/// The `run` JSON document.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RunMeta {
    pub nodes: u64,
    pub chains: u64,
    pub padding_lanes: u64,
    pub seed: u64,
    pub sweeps_done: u64,
    pub steps_observed: u64,
    pub groups: Vec<GroupMeta>,
    pub factors: Vec<FactorMeta>,
    pub hand_blocks: bool,
    pub rules: Vec<String>,
    pub schedule: Option<ScheduleCursor>,
    pub observers: Vec<ObserverMeta>,
    pub app: Option<Value>,
}

/// One node group.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct GroupMeta {
    pub name: String,
    /// `spin`, `binary`, `categorical` or `gaussian`.
    pub kind: String,
    /// K of a categorical group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<u32>,
    pub len: u64,
}

/// The roles of one factor (its nodes and weights are tensors).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct FactorMeta {
    pub name: String,
    pub categorical: u64,
    pub products: u64,
    pub gaussian_powers: Vec<u8>,
}

/// One attached observer: its kind, its small values and the names of its tensors
/// (stored as `observers.{index}.{name}`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ObserverMeta {
    pub kind: String,
    pub meta: Value,
    pub tensors: Vec<String>,
}

/// Collects tensors as little-endian bytes, then serialises the file.
#[derive(Default)]
pub(crate) struct Writer {
    tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
}

fn bytes_of<T: Copy, const N: usize>(values: &[T], to_le: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * N);
    for &v in values {
        out.extend_from_slice(&to_le(v));
    }
    out
}

impl Writer {
    pub fn f32(&mut self, name: &str, shape: Vec<usize>, values: &[f32]) {
        let b = bytes_of(values, f32::to_le_bytes);
        self.tensors.push((name.into(), Dtype::F32, shape, b));
    }

    pub fn u32(&mut self, name: &str, shape: Vec<usize>, values: &[u32]) {
        let b = bytes_of(values, u32::to_le_bytes);
        self.tensors.push((name.into(), Dtype::U32, shape, b));
    }

    pub fn data(&mut self, name: &str, t: &StateTensor) {
        let (dtype, b) = match &t.data {
            TensorData::F32(v) => (Dtype::F32, bytes_of(v, f32::to_le_bytes)),
            TensorData::F64(v) => (Dtype::F64, bytes_of(v, f64::to_le_bytes)),
            TensorData::U32(v) => (Dtype::U32, bytes_of(v, u32::to_le_bytes)),
            TensorData::U64(v) => (Dtype::U64, bytes_of(v, u64::to_le_bytes)),
        };
        self.tensors.push((name.into(), dtype, t.shape.clone(), b));
    }

    /// The whole file: `run` as the JSON metadata beside the format name and version.
    pub fn finish(self, path: &Path, run: &RunMeta) -> Result<Vec<u8>, CheckpointError> {
        let fail = |reason: String| CheckpointError::Write {
            path: path.to_path_buf(),
            reason,
        };
        let json = serde_json::to_string(run).map_err(|e| fail(e.to_string()))?;
        let metadata = HashMap::from([
            ("format".to_string(), FORMAT_NAME.to_string()),
            ("format_version".to_string(), FORMAT_VERSION.to_string()),
            ("run".to_string(), json),
        ]);
        let mut views = Vec::with_capacity(self.tensors.len());
        for (name, dtype, shape, bytes) in &self.tensors {
            let view = TensorView::new(*dtype, shape.clone(), bytes)
                .map_err(|e| fail(format!("tensor `{name}`: {e}")))?;
            views.push((name.as_str(), view));
        }
        safetensors::serialize(views, Some(metadata)).map_err(|e| fail(e.to_string()))
    }
}

/// A parsed checkpoint file: its tensors and its `run` document.
pub(crate) struct Reader<'a> {
    path: PathBuf,
    tensors: SafeTensors<'a>,
    pub run: RunMeta,
}

impl<'a> Reader<'a> {
    /// Parses the safetensors container and checks the format name and version before
    /// reading the `run` document.
    pub fn new(path: &Path, bytes: &'a [u8]) -> Result<Reader<'a>, CheckpointError> {
        let path = path.to_path_buf();
        let tensors =
            SafeTensors::deserialize(bytes).map_err(|e| CheckpointError::NotSafetensors {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let (_, header) =
            SafeTensors::read_metadata(bytes).map_err(|e| CheckpointError::NotSafetensors {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let meta = header.metadata().clone().unwrap_or_default();
        match meta.get("format") {
            Some(f) if f == FORMAT_NAME => {}
            other => {
                return Err(CheckpointError::NotACheckpoint {
                    path,
                    found: other.cloned(),
                });
            }
        }
        let version = meta.get("format_version").cloned().unwrap_or_default();
        if version.parse::<u32>() != Ok(FORMAT_VERSION) {
            return Err(CheckpointError::UnsupportedVersion {
                path,
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let text = meta.get("run").ok_or_else(|| CheckpointError::Corrupt {
            path: path.clone(),
            what: "run".into(),
            reason: "the metadata key is missing".into(),
        })?;
        let run = serde_json::from_str(text).map_err(|e| CheckpointError::Corrupt {
            path: path.clone(),
            what: "run".into(),
            reason: e.to_string(),
        })?;
        Ok(Reader { path, tensors, run })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn corrupt(&self, what: &str, reason: impl Into<String>) -> CheckpointError {
        CheckpointError::Corrupt {
            path: self.path.clone(),
            what: what.to_string(),
            reason: reason.into(),
        }
    }

    fn view(&self, name: &str) -> Result<TensorView<'a>, CheckpointError> {
        self.tensors
            .tensor(name)
            .map_err(|_| self.corrupt(name, "the tensor is missing"))
    }

    /// The shape of tensor `name`.
    pub fn shape(&self, name: &str) -> Result<Vec<usize>, CheckpointError> {
        Ok(self.view(name)?.shape().to_vec())
    }

    fn checked(
        &self,
        name: &str,
        dtype: Dtype,
        shape: Option<&[usize]>,
    ) -> Result<TensorView<'a>, CheckpointError> {
        let v = self.view(name)?;
        if v.dtype() != dtype {
            return Err(self.corrupt(name, format!("dtype {:?}, expected {dtype:?}", v.dtype())));
        }
        if let Some(shape) = shape
            && v.shape() != shape
        {
            return Err(self.corrupt(name, format!("shape {:?}, expected {shape:?}", v.shape())));
        }
        Ok(v)
    }

    /// The values of an `F32` tensor of exactly `shape`.
    pub fn f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, CheckpointError> {
        let v = self.checked(name, Dtype::F32, Some(shape))?;
        Ok(decode(v.data(), f32::from_le_bytes))
    }

    /// The values of a `U32` tensor of exactly `shape`.
    pub fn u32(&self, name: &str, shape: &[usize]) -> Result<Vec<u32>, CheckpointError> {
        let v = self.checked(name, Dtype::U32, Some(shape))?;
        Ok(decode(v.data(), u32::from_le_bytes))
    }

    /// Any tensor of a dtype observers use (`F32`, `F64`, `U32`, `U64`).
    pub fn state_tensor(&self, name: &str) -> Result<StateTensor, CheckpointError> {
        let v = self.view(name)?;
        let data = match v.dtype() {
            Dtype::F32 => TensorData::F32(decode(v.data(), f32::from_le_bytes)),
            Dtype::F64 => TensorData::F64(decode(v.data(), f64::from_le_bytes)),
            Dtype::U32 => TensorData::U32(decode(v.data(), u32::from_le_bytes)),
            Dtype::U64 => TensorData::U64(decode(v.data(), u64::from_le_bytes)),
            other => {
                return Err(
                    self.corrupt(name, format!("dtype {other:?} is not F32, F64, U32 or U64"))
                );
            }
        };
        Ok(StateTensor {
            shape: v.shape().to_vec(),
            data,
        })
    }
}

fn decode<T, const N: usize>(bytes: &[u8], from_le: impl Fn([u8; N]) -> T) -> Vec<T> {
    bytes
        .chunks_exact(N)
        .map(|c| {
            let mut a = [0u8; N];
            a.copy_from_slice(c);
            from_le(a)
        })
        .collect()
}
