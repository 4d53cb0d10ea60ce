//! The error type of [`crate::io`].

use std::path::PathBuf;

use thiserror::Error;

use crate::ising::IsingError;
use crate::lgm::LgmError;
use crate::machine::MachineError;
use crate::mixture::MixtureError;
use crate::rbm::RbmError;
use crate::rbm::gaussian::GaussianRbmError;

/// Everything that can go wrong saving or loading a model. Each variant names the file,
/// tensor or metadata key at fault.
#[derive(Debug, Error)]
pub enum ModelIoError {
    /// Reading, writing or renaming a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file at fault: the target, the temporary file, or the directory the
        /// temporary file could not be created in.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The bytes are not a valid safetensors file (truncated, bad header, bad offsets).
    #[error("corrupt or truncated safetensors file: {reason}")]
    Corrupt {
        /// What the safetensors parser reported.
        reason: String,
    },
    /// The header has no `__metadata__` map, or it lacks a required key.
    #[error("metadata key `{key}` is missing")]
    MissingKey {
        /// The key.
        key: String,
    },
    /// A metadata value that does not parse or is out of range.
    #[error("metadata key `{key}` = {value:?}: {reason}")]
    InvalidValue {
        /// The key.
        key: String,
        /// Its value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A `kind` this crate does not know.
    #[error("unknown model kind {kind:?} (known: {})", crate::io::KNOWN_KINDS.join(", "))]
    UnknownKind {
        /// The kind found.
        kind: String,
    },
    /// The file holds a different (known) kind of model than the one asked for.
    #[error("file holds a {found:?} model, expected {expected:?}")]
    WrongKind {
        /// The kind asked for.
        expected: &'static str,
        /// The kind in the file.
        found: String,
    },
    /// A `format_version` other than [`FORMAT_VERSION`](crate::io::FORMAT_VERSION).
    #[error("format_version {found:?} is not supported (this build reads version {supported})")]
    UnsupportedVersion {
        /// The version found.
        found: String,
        /// The version this build reads.
        supported: u32,
    },
    /// A required tensor is absent.
    #[error("tensor `{name}` is missing")]
    MissingTensor {
        /// The tensor.
        name: String,
    },
    /// A tensor this kind of model does not have.
    #[error("unexpected tensor `{name}` in a {kind} file")]
    UnexpectedTensor {
        /// The tensor.
        name: String,
        /// The model kind.
        kind: &'static str,
    },
    /// A tensor of the wrong element type.
    #[error("tensor `{name}` has dtype {found}, expected {expected}")]
    WrongDtype {
        /// The tensor.
        name: String,
        /// The required dtype.
        expected: String,
        /// The dtype found.
        found: String,
    },
    /// A tensor whose shape disagrees with the metadata.
    #[error("tensor `{name}` has shape {found:?}, expected {expected:?}")]
    WrongShape {
        /// The tensor.
        name: String,
        /// The required shape.
        expected: Vec<usize>,
        /// The shape found.
        found: Vec<usize>,
    },
    /// A NaN or infinite parameter.
    #[error("tensor `{name}`[{index}] is {value}; parameters must be finite")]
    NonFinite {
        /// The tensor.
        name: String,
        /// Flat (row-major) index of the entry.
        index: usize,
        /// The value.
        value: f32,
    },
    /// An edge endpoint that is negative or does not fit in `u32`.
    #[error("tensor `{name}`[{index}] = {value} is not a valid node index")]
    BadIndex {
        /// The tensor.
        name: String,
        /// Flat (row-major) index of the entry.
        index: usize,
        /// The value.
        value: i64,
    },
    /// The spin model's constructor rejected the loaded parameters (boxed: `IsingError` is
    /// large).
    #[error("invalid model: {0}")]
    Ising(Box<IsingError>),
    /// The RBM's constructor rejected the loaded parameters (boxed: `RbmError` is large).
    #[error("invalid model: {0}")]
    Rbm(Box<RbmError>),
    /// The Gaussian–Bernoulli RBM's constructor rejected the loaded parameters (boxed like
    /// [`ModelIoError::Rbm`]).
    #[error("invalid model: {0}")]
    GaussianRbm(Box<GaussianRbmError>),
    /// A factor analysis or PPCA constructor rejected the loaded parameters (the inner
    /// error names the field).
    #[error("invalid model: {0}")]
    Lgm(Box<LgmError>),
    /// A Boltzmann machine's validating constructors rejected the loaded parameters.
    #[error("invalid model at `{at}`: {source}")]
    Machine {
        /// The tensor or metadata key at fault, e.g. `layer1.log_var`, `weights0` or
        /// `layer_sizes`.
        at: String,
        /// The constructor's error (boxed: `MachineError` is large).
        source: Box<MachineError>,
    },
    /// A Gaussian mixture's validating constructor rejected the loaded parameters (boxed
    /// like [`ModelIoError::Rbm`]).
    #[error("invalid model: {0}")]
    Mixture(Box<MixtureError>),
}

impl From<LgmError> for ModelIoError {
    fn from(e: LgmError) -> Self {
        ModelIoError::Lgm(Box::new(e))
    }
}

impl From<IsingError> for ModelIoError {
    fn from(e: IsingError) -> Self {
        ModelIoError::Ising(Box::new(e))
    }
}

impl From<RbmError> for ModelIoError {
    fn from(e: RbmError) -> Self {
        ModelIoError::Rbm(Box::new(e))
    }
}

impl From<GaussianRbmError> for ModelIoError {
    fn from(e: GaussianRbmError) -> Self {
        ModelIoError::GaussianRbm(Box::new(e))
    }
}

impl From<MixtureError> for ModelIoError {
    fn from(e: MixtureError) -> Self {
        ModelIoError::Mixture(Box::new(e))
    }
}
