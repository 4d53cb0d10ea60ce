//! The typed error of model files: every variant names the key (as a dotted path such as
//! `model.factors[2].weights`) or the file at fault.

use blockgibbs_compiler::CompileError;
use blockgibbs_ir::{MemoryError, ModelError};
use blockgibbs_runtime::RuntimeError;
use std::path::PathBuf;
use thiserror::Error;

/// Everything that can be wrong with a model file, its `--set` overrides or the model it
/// describes.
#[derive(Debug, Error)]
pub enum ModelFileError {
    /// The model file (or a file it refers to) could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid TOML.
    #[error("{file}: invalid TOML: {source}")]
    Syntax {
        /// The file (or `<string>`).
        file: String,
        /// The parser's error, with line and column.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A `--set KEY=VALUE` argument that cannot be applied.
    #[error("invalid override `{arg}`: {reason}")]
    InvalidOverride {
        /// The argument as given.
        arg: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A key the schema does not know (often a misspelling).
    #[error("unknown key `{key}`; expected {expected}")]
    UnknownKey {
        /// The key, as a dotted path.
        key: String,
        /// The keys allowed at that place.
        expected: String,
    },
    /// A required key that is absent.
    #[error("missing key `{key}`")]
    MissingKey {
        /// The key, as a dotted path.
        key: String,
    },
    /// A value of the wrong type or out of its domain.
    #[error("`{key}`: {message}")]
    InvalidValue {
        /// The key, as a dotted path.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A `model.family` that does not exist.
    #[error("unknown model family `{family}`; known families: {known}")]
    UnknownFamily {
        /// The family given.
        family: String,
        /// The families that exist.
        known: String,
    },
    /// A node reference naming a group the graph does not define.
    #[error("`{key}`: unknown node group `{group}`; defined groups: {defined}")]
    UnknownGroup {
        /// Where the group was named.
        key: String,
        /// The name given.
        group: String,
        /// The groups that exist.
        defined: String,
    },
    /// A node index outside its group.
    #[error("`{key}`: index {index} is out of range for group `{group}` of {size} nodes")]
    IndexOutOfRange {
        /// Where the index was given.
        key: String,
        /// The group.
        group: String,
        /// The index given.
        index: i64,
        /// Number of nodes in the group.
        size: usize,
    },
    /// An array (weights, clamped values) whose shape does not fit.
    #[error("`{key}`: shape {found:?} does not match the expected shape {expected:?}")]
    ShapeMismatch {
        /// The array's key.
        key: String,
        /// The shape required.
        expected: Vec<usize>,
        /// The shape given.
        found: Vec<usize>,
    },
    /// A `.npy` file that cannot be used.
    #[error("`{key}`: cannot use {}: {reason}", file.display())]
    Npy {
        /// The key that names the file.
        key: String,
        /// The file, resolved against the model file's directory.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The model would need more memory than the limit (estimated from its sizes before
    /// anything was allocated); names the key that made it large.
    #[error(transparent)]
    Memory(Box<MemoryError>),
    /// The model itself is invalid (the IR's validation). Boxed, like
    /// [`ModelFileError::Runtime`], to keep the error small.
    #[error(transparent)]
    Model(Box<ModelError>),
    /// The model cannot be compiled (hand-given blocks, precisions, size).
    #[error(transparent)]
    Compile(Box<CompileError>),
    /// The sampler could not be set up.
    #[error(transparent)]
    Runtime(Box<RuntimeError>),
}

impl From<ModelError> for ModelFileError {
    fn from(e: ModelError) -> ModelFileError {
        ModelFileError::Model(Box::new(e))
    }
}

impl From<MemoryError> for ModelFileError {
    fn from(e: MemoryError) -> ModelFileError {
        ModelFileError::Memory(Box::new(e))
    }
}

impl From<CompileError> for ModelFileError {
    fn from(e: CompileError) -> ModelFileError {
        ModelFileError::Compile(Box::new(e))
    }
}

impl From<RuntimeError> for ModelFileError {
    fn from(e: RuntimeError) -> ModelFileError {
        match e {
            RuntimeError::Model(m) => ModelFileError::Model(Box::new(m)),
            RuntimeError::Compile(c) => ModelFileError::Compile(Box::new(c)),
            other => ModelFileError::Runtime(Box::new(other)),
        }
    }
}

impl ModelFileError {
    /// The [`ModelError`] inside, if this is a model error.
    pub fn model_error(&self) -> Option<&ModelError> {
        match self {
            ModelFileError::Model(e) => Some(e),
            ModelFileError::Runtime(r) => match r.as_ref() {
                RuntimeError::Model(e) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }

    /// The [`CompileError`] inside, if this is a compile error.
    pub fn compile_error(&self) -> Option<&CompileError> {
        match self {
            ModelFileError::Compile(e) => Some(e),
            _ => None,
        }
    }

    /// The [`RuntimeError`] inside, if this is a runtime error.
    pub fn runtime_error(&self) -> Option<&RuntimeError> {
        match self {
            ModelFileError::Runtime(e) => Some(e),
            _ => None,
        }
    }
}

/// Joins a dotted prefix and a relative path (`model` + `L` → `model.L`,
/// `model` + `[0]` → `model[0]`).
pub(crate) fn join_key(prefix: &str, rest: &str) -> String {
    match (prefix.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (_, true) => prefix.to_string(),
        _ if rest.starts_with('[') => format!("{prefix}{rest}"),
        _ => format!("{prefix}.{rest}"),
    }
}

/// Turns a serde error at `path` (below `prefix`) into the matching typed variant. serde's
/// own messages for unknown and missing fields are stable (`unknown field `x`, expected …`,
/// `missing field `x``), so they are recognised here and turned into [`UnknownKey`] and
/// [`MissingKey`] naming the full key.
///
/// [`UnknownKey`]: ModelFileError::UnknownKey
/// [`MissingKey`]: ModelFileError::MissingKey
pub(crate) fn classify(
    prefix: &str,
    error: serde_path_to_error::Error<toml::de::Error>,
) -> ModelFileError {
    let path = error.path().to_string();
    let at = join_key(prefix, if path == "." { "" } else { &path });
    let message = error.inner().message().to_string();
    let quoted = |rest: &str| -> Option<(String, String)> {
        let rest = rest.strip_prefix('`')?;
        let end = rest.find('`')?;
        Some((rest[..end].to_string(), rest[end + 1..].to_string()))
    };
    if let Some((field, tail)) = message.strip_prefix("unknown field ").and_then(quoted) {
        let expected = tail
            .trim_start_matches(',')
            .trim()
            .trim_start_matches("expected ")
            .to_string();
        let expected = if expected.contains("there are no fields") || expected.is_empty() {
            "no keys here".to_string()
        } else {
            expected
        };
        return ModelFileError::UnknownKey {
            key: with_field(at, &field),
            expected,
        };
    }
    if let Some((field, _)) = message.strip_prefix("missing field ").and_then(quoted) {
        return ModelFileError::MissingKey {
            key: with_field(at, &field),
        };
    }
    ModelFileError::InvalidValue { key: at, message }
}

/// `at` with `field` appended, unless the path already ends with it (serde_path_to_error
/// records an unknown key as the last segment of the path).
fn with_field(at: String, field: &str) -> String {
    if at == field || at.ends_with(&format!(".{field}")) {
        at
    } else {
        join_key(&at, field)
    }
}
