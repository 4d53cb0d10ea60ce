//! What an observer saves into a checkpoint: a kind name, a little JSON and named tensors.
//! Large accumulators (recorded samples, energies) go in tensors so that they stay exact and
//! compact; the JSON holds counts and names.

use serde_json::Value;
use std::collections::BTreeMap;
use thiserror::Error;

/// The element type and values of one saved tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    /// `F32` in the file.
    F32(Vec<f32>),
    /// `F64` in the file.
    F64(Vec<f64>),
    /// `U32` in the file (node ids, small counts).
    U32(Vec<u32>),
    /// `U64` in the file (counters).
    U64(Vec<u64>),
}

impl TensorData {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            TensorData::F32(v) => v.len(),
            TensorData::F64(v) => v.len(),
            TensorData::U32(v) => v.len(),
            TensorData::U64(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The safetensors dtype name (`F32`, `F64`, `U32`, `U64`).
    pub fn dtype_name(&self) -> &'static str {
        match self {
            TensorData::F32(_) => "F32",
            TensorData::F64(_) => "F64",
            TensorData::U32(_) => "U32",
            TensorData::U64(_) => "U64",
        }
    }
}

/// One saved tensor: row-major values of `shape`.
#[derive(Clone, Debug, PartialEq)]
pub struct StateTensor {
    /// Shape (row-major).
    pub shape: Vec<usize>,
    /// Values.
    pub data: TensorData,
}

/// The saved accumulators of one observer (see [`crate::Observer::save_state`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ObserverState {
    /// What kind of observer wrote it (`sample_collector`, `moments`, `energy`,
    /// `scalar_observables`, or a name of the caller's own); checked on restore.
    pub kind: String,
    /// Small values (counts, names) as a JSON object.
    pub meta: Value,
    /// Named tensors.
    pub tensors: BTreeMap<String, StateTensor>,
}

/// Why an observer's saved state cannot be restored into an observer.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum ObserverStateError {
    /// The observer does not implement saving and restoring.
    #[error(
        "this observer cannot be checkpointed (it does not implement save_state/restore_state)"
    )]
    Unsupported,
    /// The state was written by another kind of observer.
    #[error("the saved state is of a `{found}` observer, not `{expected}`")]
    WrongKind {
        /// This observer's kind.
        expected: String,
        /// The saved kind.
        found: String,
    },
    /// A tensor or metadata field is missing.
    #[error("the saved state lacks `{what}`")]
    Missing {
        /// Its name.
        what: String,
    },
    /// A saved value does not fit the observer it is restored into (other nodes, other
    /// observables) or is inconsistent with the rest of the state.
    #[error("`{what}`: {reason}")]
    Invalid {
        /// The tensor or field.
        what: String,
        /// What is wrong.
        reason: String,
    },
}

impl ObserverState {
    /// An empty state of `kind`.
    pub fn new(kind: &str) -> ObserverState {
        ObserverState {
            kind: kind.to_string(),
            meta: Value::Object(Default::default()),
            tensors: BTreeMap::new(),
        }
    }

    /// Errors unless the state was saved by an observer of `kind`.
    pub fn expect_kind(&self, kind: &str) -> Result<(), ObserverStateError> {
        if self.kind == kind {
            Ok(())
        } else {
            Err(ObserverStateError::WrongKind {
                expected: kind.to_string(),
                found: self.kind.clone(),
            })
        }
    }

    /// Sets a metadata field.
    pub fn set_meta(&mut self, key: &str, value: impl Into<Value>) {
        if let Value::Object(map) = &mut self.meta {
            map.insert(key.to_string(), value.into());
        }
    }

    /// Adds a tensor.
    pub fn put(&mut self, name: &str, shape: Vec<usize>, data: TensorData) {
        self.tensors
            .insert(name.to_string(), StateTensor { shape, data });
    }

    /// A metadata field as an unsigned integer.
    pub fn meta_u64(&self, key: &str) -> Result<u64, ObserverStateError> {
        match self.meta.get(key) {
            None => Err(missing(key)),
            Some(v) => v
                .as_u64()
                .ok_or_else(|| invalid(key, "not an unsigned integer")),
        }
    }

    /// A metadata field as a list of strings.
    pub fn meta_strings(&self, key: &str) -> Result<Vec<String>, ObserverStateError> {
        let list = self.meta.get(key).ok_or_else(|| missing(key))?;
        list.as_array()
            .and_then(|a| a.iter().map(|v| v.as_str().map(String::from)).collect())
            .ok_or_else(|| invalid(key, "not a list of strings"))
    }

    fn tensor(&self, name: &str) -> Result<&StateTensor, ObserverStateError> {
        self.tensors.get(name).ok_or_else(|| missing(name))
    }

    /// The values of an `F32` tensor, which must hold `len` of them.
    pub fn f32s(&self, name: &str, len: usize) -> Result<&[f32], ObserverStateError> {
        match &self.tensor(name)?.data {
            TensorData::F32(v) => check_len(name, v, len),
            other => Err(wrong_dtype(name, "F32", other)),
        }
    }

    /// The values of an `F64` tensor, which must hold `len` of them (`None`: any number).
    pub fn f64s(&self, name: &str, len: Option<usize>) -> Result<&[f64], ObserverStateError> {
        match &self.tensor(name)?.data {
            TensorData::F64(v) => match len {
                Some(len) => check_len(name, v, len),
                None => Ok(v),
            },
            other => Err(wrong_dtype(name, "F64", other)),
        }
    }

    /// The values of a `U32` tensor (any number of them).
    pub fn u32s(&self, name: &str) -> Result<&[u32], ObserverStateError> {
        match &self.tensor(name)?.data {
            TensorData::U32(v) => Ok(v),
            other => Err(wrong_dtype(name, "U32", other)),
        }
    }

    /// The values of a `U64` tensor, which must hold `len` of them (`None`: any number).
    pub fn u64s(&self, name: &str, len: Option<usize>) -> Result<&[u64], ObserverStateError> {
        match &self.tensor(name)?.data {
            TensorData::U64(v) => match len {
                Some(len) => check_len(name, v, len),
                None => Ok(v),
            },
            other => Err(wrong_dtype(name, "U64", other)),
        }
    }
}

fn check_len<'a, T>(name: &str, v: &'a [T], len: usize) -> Result<&'a [T], ObserverStateError> {
    if v.len() == len {
        Ok(v)
    } else {
        Err(invalid(
            name,
            &format!("holds {} values, expected {len}", v.len()),
        ))
    }
}

fn wrong_dtype(name: &str, expected: &str, found: &TensorData) -> ObserverStateError {
    invalid(
        name,
        &format!("is {}, expected {expected}", found.dtype_name()),
    )
}

pub(crate) fn missing(what: &str) -> ObserverStateError {
    ObserverStateError::Missing {
        what: what.to_string(),
    }
}

pub(crate) fn invalid(what: &str, reason: &str) -> ObserverStateError {
    ObserverStateError::Invalid {
        what: what.to_string(),
        reason: reason.to_string(),
    }
}
