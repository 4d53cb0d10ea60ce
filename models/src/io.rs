//! Saving and loading models as [safetensors](https://github.com/huggingface/safetensors)
//! files: parameters as tensors, configuration in the header's `__metadata__` map.
//!
//! # File layout
//!
//! A safetensors file is an 8-byte little-endian `u64` header length `N`, then `N` bytes of
//! UTF-8 JSON (the header), then the raw tensor data. The header maps each tensor name to
//! `{"dtype", "shape", "data_offsets"}` and holds a `"__metadata__"` object whose values
//! are all strings. Tensors are little-endian and row-major (C order). Any safetensors
//! reader opens these files, e.g. in Python
//!
//! ```text
//! from safetensors.numpy import load_file      # tensors as numpy arrays
//! from safetensors import safe_open
//! w = load_file("rbm.safetensors")["weights"]   # float32, shape (n_visible, n_hidden)
//! with safe_open("rbm.safetensors", "np") as f:
//!     meta = f.metadata()                       # {"kind": "binary_rbm", ...}
//! ```
//!
//! # Metadata keys (all values are strings)
//!
//! | key              | value                                                     |
//! |------------------|-----------------------------------------------------------|
//! | `format`         | `"blockgibbs"`                                            |
//! | `format_version` | `"1"` (the only version this crate reads: [`FORMAT_VERSION`]) |
//! | `kind`           | `"ising_ebm"`, `"potts_ebm"`, `"binary_rbm"`, `"gaussian_rbm"` ([`gaussian_rbm`]), `"boltzmann_machine"` ([`machine`]), `"gmm_prior"` or `"gmm_prior_supervised"` ([`gmm_prior`]), `"factor_analysis"` or `"ppca"` ([`lgm`]), `"hmog"` ([`hmog`]), `"gaussian_mixture"` ([`mixture`]) |
//!
//! and per kind (integers in decimal, β as the shortest decimal that parses back to the same
//! `f32`, so `np.float32(meta["beta"])` is exact):
//!
//! | kind         | keys                                   |
//! |--------------|----------------------------------------|
//! | `ising_ebm`  | `n_nodes`, `n_edges`, `beta`           |
//! | `potts_ebm`  | `n_nodes`, `n_edges`, `q`, `beta`      |
//! | `binary_rbm` | `n_visible`, `n_hidden`                |
//! | `boltzmann_machine` | `n_layers`, `layer_kinds`, `layer_sizes` (see [`machine`]) |
//!
//! Other metadata keys are ignored on load. Files are deterministic: metadata keys are written
//! sorted and tensors in the order of the table below, so equal models give identical bytes.
//!
//! # Tensors
//!
//! With `n = n_nodes`, `m = n_edges`:
//!
//! | kind         | tensor         | dtype | shape                   | meaning                        |
//! |--------------|----------------|-------|-------------------------|--------------------------------|
//! | `ising_ebm`  | `edges`        | `I64` | `[m, 2]`                | edge `e` joins `edges[e, 0]`, `edges[e, 1]` |
//! | `ising_ebm`  | `biases`       | `F32` | `[n]`                   | fields `b_i`                   |
//! | `ising_ebm`  | `weights`      | `F32` | `[m]`                   | couplings `J_e`                |
//! | `potts_ebm`  | `edges`        | `I64` | `[m, 2]`                | as above                       |
//! | `potts_ebm`  | `biases`       | `F32` | `[n, q]`                | `θ_i[c]`                       |
//! | `potts_ebm`  | `weights`      | `F32` | `[m]`                   | couplings `J_e`                |
//! | `binary_rbm` | `weights`      | `F32` | `[n_visible, n_hidden]` | `W[i, j]`                      |
//! | `binary_rbm` | `visible_bias` | `F32` | `[n_visible]`           | `a_i`                          |
//! | `binary_rbm` | `hidden_bias`  | `F32` | `[n_hidden]`            | `b_j`                          |
//!
//! The tensors of `gaussian_rbm` and `boltzmann_machine` files (`layer{l}.bias`,
//! `layer{l}.loc`, `layer{l}.log_var`, `weights{l}`) are listed in [`gaussian_rbm`] and
//! [`machine`]; those of `gaussian_mixture` files (`F64` `weights`, `means`, `covariances`)
//! in [`mixture`].
//!
//! A file must hold exactly these tensors. Loading checks every dtype and shape against the
//! metadata, rejects NaN and infinities, and then builds the model through its own validating
//! constructor, so a loaded model is always well formed. Errors ([`ModelIoError`]) name the
//! tensor or key at fault. The format carries no checksum: truncation and a damaged header
//! are detected, but a changed byte inside tensor data reads as a different value.
//!
//! Writes are atomic: the bytes go to a temporary file in the target's directory, which is
//! flushed to disk and then renamed over the target, so a reader never sees a partial file.
//! The saved file gets the permissions a plain `File::create` would give it (`0o666` less the
//! umask), or keeps those of the file it replaces (see [`write_atomic`]).
//!
//! ```
//! use blockgibbs_models::BinaryRbm;
//! use blockgibbs_models::io::ModelIo;
//! let rbm = BinaryRbm::random(6, 4, 0.5, 0.1, 0).unwrap();
//! let bytes = rbm.to_safetensors();
//! assert_eq!(BinaryRbm::from_safetensors(&bytes).unwrap(), rbm);
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::str::FromStr;

use safetensors::tensor::{Dtype, SafeTensors};

use crate::dgd::{GaussianMixturePrior, SupervisedGaussianMixturePrior};
use crate::ising::{IsingEBM, PottsEBM};
use crate::lgm::{FactorAnalysis, Ppca};
use crate::machine::BoltzmannMachine;
use crate::mixture::GaussianMixture;
use crate::rbm::BinaryRbm;
use crate::rbm::gaussian::GaussianRbm;

mod any;
mod atomic;
mod error;
mod f64_tensors;
pub mod gaussian_rbm;
pub mod gmm_prior;
pub mod hmog;
pub mod lgm;
pub mod machine;
pub mod mixture;

pub use any::{AnyModel, read_kind};
use atomic::read_file;
pub use atomic::{TempFile, temp_file_beside, write_atomic};
pub use error::ModelIoError;
pub use gaussian_rbm::KIND_GAUSSIAN_RBM;
pub use gmm_prior::{KIND_GMM_PRIOR, KIND_GMM_PRIOR_SUPERVISED};
pub use hmog::KIND_HMOG;
pub use lgm::{KIND_FACTOR_ANALYSIS, KIND_PPCA};
pub use machine::KIND_MACHINE;
pub use mixture::KIND_MIXTURE;

/// Version of the file layout written by this module; the only one it reads.
pub const FORMAT_VERSION: u32 = 1;
/// Value of the `format` metadata key.
pub const FORMAT_NAME: &str = "blockgibbs";
/// `kind` of an [`IsingEBM`] file.
pub const KIND_ISING: &str = "ising_ebm";
/// `kind` of a [`PottsEBM`] file.
pub const KIND_POTTS: &str = "potts_ebm";
/// `kind` of a [`BinaryRbm`] file.
pub const KIND_RBM: &str = "binary_rbm";
/// Every `kind` this crate reads.
pub const KNOWN_KINDS: [&str; 11] = [
    KIND_ISING,
    KIND_POTTS,
    KIND_RBM,
    KIND_GAUSSIAN_RBM,
    KIND_MACHINE,
    KIND_GMM_PRIOR,
    KIND_GMM_PRIOR_SUPERVISED,
    KIND_HMOG,
    KIND_FACTOR_ANALYSIS,
    KIND_PPCA,
    KIND_MIXTURE,
];

/// A model that saves to and loads from the safetensors layout documented in [this
/// module](self).
pub trait ModelIo: Sized {
    /// The `kind` metadata value of this model type.
    const KIND: &'static str;

    /// The whole file as bytes.
    fn to_safetensors(&self) -> Vec<u8>;

    /// Parses and validates a whole file held in memory.
    fn from_safetensors(bytes: &[u8]) -> Result<Self, ModelIoError>;

    /// Writes the model to `path` atomically (temporary file in the same directory, then
    /// rename).
    fn save(&self, path: impl AsRef<Path>) -> Result<(), ModelIoError> {
        write_atomic(path.as_ref(), &self.to_safetensors())
    }

    /// Reads and validates the model stored at `path`.
    fn load(path: impl AsRef<Path>) -> Result<Self, ModelIoError> {
        Self::from_safetensors(&read_file(path.as_ref())?)
    }
}

impl ModelIo for IsingEBM {
    const KIND: &'static str = KIND_ISING;

    fn to_safetensors(&self) -> Vec<u8> {
        let n = self.node_count();
        let biases = f32_entry("biases", vec![n], self.biases());
        spin_to_safetensors(
            Self::KIND,
            n,
            None,
            self.edges(),
            biases,
            self.weights(),
            self.beta(),
        )
    }

    fn from_safetensors(bytes: &[u8]) -> Result<Self, ModelIoError> {
        let p = spin_from_safetensors(bytes, Self::KIND)?;
        Ok(IsingEBM::new(p.edges, p.biases, p.weights, p.beta)?)
    }
}

impl ModelIo for PottsEBM {
    const KIND: &'static str = KIND_POTTS;

    fn to_safetensors(&self) -> Vec<u8> {
        let (n, q) = (self.node_count(), self.q());
        let biases = f32_entry("biases", vec![n, q as usize], self.biases());
        spin_to_safetensors(
            Self::KIND,
            n,
            Some(q),
            self.edges(),
            biases,
            self.weights(),
            self.beta(),
        )
    }

    fn from_safetensors(bytes: &[u8]) -> Result<Self, ModelIoError> {
        let p = spin_from_safetensors(bytes, Self::KIND)?;
        Ok(PottsEBM::new(
            p.n,
            p.q.unwrap_or(0),
            p.edges,
            p.biases,
            p.weights,
            p.beta,
        )?)
    }
}

impl ModelIo for BinaryRbm {
    const KIND: &'static str = KIND_RBM;

    fn to_safetensors(&self) -> Vec<u8> {
        let (nv, nh) = (self.n_visible(), self.n_hidden());
        let meta = metadata(
            Self::KIND,
            [("n_visible", nv.to_string()), ("n_hidden", nh.to_string())],
        );
        let tensors = vec![
            f32_entry("weights", vec![nv, nh], self.weights()),
            f32_entry("visible_bias", vec![nv], self.visible_bias()),
            f32_entry("hidden_bias", vec![nh], self.hidden_bias()),
        ];
        encode(tensors, meta)
    }

    fn from_safetensors(bytes: &[u8]) -> Result<Self, ModelIoError> {
        let file = parse(bytes)?;
        check_header(&file, Some(Self::KIND))?;
        check_names(
            &file,
            Self::KIND,
            &["weights", "visible_bias", "hidden_bias"],
        )?;
        let nv: usize = meta_parse(&file, "n_visible")?;
        let nh: usize = meta_parse(&file, "n_hidden")?;
        let weights = read_f32(&file, "weights", &[nv, nh])?;
        let visible = read_f32(&file, "visible_bias", &[nv])?;
        let hidden = read_f32(&file, "hidden_bias", &[nh])?;
        Ok(BinaryRbm::new(nv, nh, weights, visible, hidden)?)
    }
}

/// The file of a spin model (Ising when `q` is `None`, else Potts); `biases` is its entry.
fn spin_to_safetensors(
    kind: &str,
    n: usize,
    q: Option<u32>,
    edges: &[(u32, u32)],
    biases: Entry<'static>,
    weights: &[f32],
    beta: f32,
) -> Vec<u8> {
    let m = edges.len();
    let mut meta = metadata(
        kind,
        [("n_nodes", n.to_string()), ("n_edges", m.to_string())],
    );
    meta.insert("beta".into(), beta.to_string());
    if let Some(q) = q {
        meta.insert("q".into(), q.to_string());
    }
    let flat = edges
        .iter()
        .flat_map(|&(i, j)| [i64::from(i), i64::from(j)]);
    let edge_bytes = flat.flat_map(i64::to_le_bytes).collect();
    let tensors = vec![
        ("edges", Dtype::I64, vec![m, 2], edge_bytes),
        biases,
        f32_entry("weights", vec![m], weights),
    ];
    encode(tensors, meta)
}

/// The checked parameters of a spin model file (`q` is `Some` for Potts).
struct SpinParts {
    n: usize,
    q: Option<u32>,
    edges: Vec<(u32, u32)>,
    biases: Vec<f32>,
    weights: Vec<f32>,
    beta: f32,
}

fn spin_from_safetensors(bytes: &[u8], kind: &'static str) -> Result<SpinParts, ModelIoError> {
    let file = parse(bytes)?;
    check_header(&file, Some(kind))?;
    check_names(&file, kind, &["edges", "biases", "weights"])?;
    let n: usize = meta_parse(&file, "n_nodes")?;
    let m: usize = meta_parse(&file, "n_edges")?;
    let q: Option<u32> = match kind {
        KIND_POTTS => Some(meta_parse(&file, "q")?),
        _ => None,
    };
    let beta = meta_parse(&file, "beta")?;
    let edges = read_edges(&file, m)?;
    let bias_shape = match q {
        Some(q) => vec![n, q as usize],
        None => vec![n],
    };
    let biases = read_f32(&file, "biases", &bias_shape)?;
    let weights = read_f32(&file, "weights", &[m])?;
    Ok(SpinParts {
        n,
        q,
        edges,
        biases,
        weights,
        beta,
    })
}

fn metadata<const K: usize>(kind: &str, pairs: [(&str, String); K]) -> BTreeMap<String, String> {
    let mut meta: BTreeMap<String, String> =
        pairs.into_iter().map(|(k, v)| (k.into(), v)).collect();
    meta.insert("format".into(), FORMAT_NAME.into());
    meta.insert("format_version".into(), FORMAT_VERSION.to_string());
    meta.insert("kind".into(), kind.into());
    meta
}

fn f32_entry<'a>(name: &'a str, shape: Vec<usize>, values: &[f32]) -> Entry<'a> {
    let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    (name, Dtype::F32, shape, bytes)
}

type Entry<'a> = (&'a str, Dtype, Vec<usize>, Vec<u8>);

/// Builds the file by hand rather than with `safetensors::serialize`, whose header order
/// follows a `HashMap` and so differs from run to run: here metadata keys are sorted and
/// tensors laid out in the given order, so equal models give byte-identical files.
fn encode(tensors: Vec<Entry<'_>>, meta: BTreeMap<String, String>) -> Vec<u8> {
    // `serde_json::Value` renders infallibly and escapes strings as JSON requires.
    let meta: serde_json::Map<_, _> = meta.into_iter().map(|(k, v)| (k, v.into())).collect();
    let mut header = format!("{{\"__metadata__\":{}", serde_json::Value::Object(meta));
    let mut offset = 0usize;
    for (name, dtype, shape, data) in &tensors {
        let end = offset + data.len();
        header.push_str(&format!(
            ",{}:{{\"dtype\":\"{dtype}\",\"shape\":{},\"data_offsets\":[{offset},{end}]}}",
            serde_json::Value::from(*name),
            serde_json::Value::from(shape.clone()),
        ));
        offset = end;
    }
    header.push('}');
    // The spec pads the header with spaces so that the data starts 8-byte aligned.
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for (_, _, _, data) in &tensors {
        out.extend_from_slice(data);
    }
    out
}

/// A parsed file: the tensors and the `__metadata__` map.
struct Parsed<'a> {
    tensors: SafeTensors<'a>,
    meta: HashMap<String, String>,
}

fn parse(bytes: &[u8]) -> Result<Parsed<'_>, ModelIoError> {
    let corrupt = |e: safetensors::SafeTensorError| ModelIoError::Corrupt {
        reason: e.to_string(),
    };
    // `SafeTensors` does not expose the `__metadata__` map; `read_metadata` does.
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(corrupt)?;
    let tensors = SafeTensors::deserialize(bytes).map_err(corrupt)?;
    let meta = header.metadata().clone().unwrap_or_default();
    Ok(Parsed { tensors, meta })
}

fn meta_str<'a>(file: &'a Parsed<'_>, key: &str) -> Result<&'a str, ModelIoError> {
    file.meta
        .get(key)
        .map(String::as_str)
        .ok_or_else(|| ModelIoError::MissingKey { key: key.into() })
}

fn bad_value(key: &str, value: &str, reason: impl ToString) -> ModelIoError {
    ModelIoError::InvalidValue {
        key: key.into(),
        value: value.into(),
        reason: reason.to_string(),
    }
}

fn meta_parse<T: FromStr>(file: &Parsed<'_>, key: &str) -> Result<T, ModelIoError>
where
    T::Err: std::fmt::Display,
{
    let text = meta_str(file, key)?;
    text.parse().map_err(|e| bad_value(key, text, e))
}

/// Checks `format`, `format_version` and `kind`; returns the kind.
fn check_header(
    file: &Parsed<'_>,
    expected: Option<&'static str>,
) -> Result<&'static str, ModelIoError> {
    let format = meta_str(file, "format")?;
    if format != FORMAT_NAME {
        return Err(bad_value(
            "format",
            format,
            format!("expected {FORMAT_NAME:?}"),
        ));
    }
    let version = meta_str(file, "format_version")?;
    if version.parse::<u32>().ok() != Some(FORMAT_VERSION) {
        return Err(ModelIoError::UnsupportedVersion {
            found: version.into(),
            supported: FORMAT_VERSION,
        });
    }
    let found = meta_str(file, "kind")?;
    let kind = KNOWN_KINDS
        .into_iter()
        .find(|k| *k == found)
        .ok_or_else(|| ModelIoError::UnknownKind { kind: found.into() })?;
    match expected {
        Some(e) if e != kind => Err(ModelIoError::WrongKind {
            expected: e,
            found: kind.into(),
        }),
        _ => Ok(kind),
    }
}

/// Every tensor in `names` is present and no other.
fn check_names(file: &Parsed<'_>, kind: &'static str, names: &[&str]) -> Result<(), ModelIoError> {
    if let Some(name) = names.iter().find(|n| file.tensors.tensor(n).is_err()) {
        return Err(ModelIoError::MissingTensor {
            name: (*name).into(),
        });
    }
    let mut extra: Vec<&str> = file
        .tensors
        .names()
        .into_iter()
        .filter(|n| !names.contains(n))
        .collect();
    extra.sort_unstable();
    match extra.first() {
        Some(name) => Err(ModelIoError::UnexpectedTensor {
            name: (*name).into(),
            kind,
        }),
        None => Ok(()),
    }
}

/// The raw little-endian data of `name` after checking its dtype and shape.
fn tensor_data<'a>(
    file: &Parsed<'a>,
    name: &str,
    dtype: Dtype,
    shape: &[usize],
) -> Result<&'a [u8], ModelIoError> {
    let view = file
        .tensors
        .tensor(name)
        .map_err(|_| ModelIoError::MissingTensor { name: name.into() })?;
    if view.dtype() != dtype {
        return Err(ModelIoError::WrongDtype {
            name: name.into(),
            expected: dtype.to_string(),
            found: view.dtype().to_string(),
        });
    }
    if view.shape() != shape {
        return Err(ModelIoError::WrongShape {
            name: name.into(),
            expected: shape.to_vec(),
            found: view.shape().to_vec(),
        });
    }
    Ok(view.data())
}

fn read_f32(file: &Parsed<'_>, name: &str, shape: &[usize]) -> Result<Vec<f32>, ModelIoError> {
    let data = tensor_data(file, name, Dtype::F32, shape)?;
    let values: Vec<f32> = data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(ModelIoError::NonFinite {
            name: name.into(),
            index,
            value: values[index],
        });
    }
    Ok(values)
}

fn read_edges(file: &Parsed<'_>, m: usize) -> Result<Vec<(u32, u32)>, ModelIoError> {
    let data = tensor_data(file, "edges", Dtype::I64, &[m, 2])?;
    let mut flat = Vec::with_capacity(2 * m);
    for (index, c) in data.chunks_exact(8).enumerate() {
        let value = i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let node = u32::try_from(value).map_err(|_| ModelIoError::BadIndex {
            name: "edges".into(),
            index,
            value,
        })?;
        flat.push(node);
    }
    Ok(flat.chunks_exact(2).map(|p| (p[0], p[1])).collect())
}
