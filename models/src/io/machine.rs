//! Save/load of a layered [`BoltzmannMachine`] in the safetensors layout of [this module's
//! parent](super).
//!
//! | metadata key  | value                                                                  |
//! |---------------|------------------------------------------------------------------------|
//! | `kind`        | `"boltzmann_machine"` ([`KIND_MACHINE`])                               |
//! | `n_layers`    | number of layers `L`, decimal                                          |
//! | `layer_kinds` | `L` comma-separated unit kinds, visible layer first: `binary`, `spin`, `gaussian` or `categorical:K` (K decimal), e.g. `"binary,gaussian,categorical:3"` |
//! | `layer_sizes` | `L` comma-separated unit counts `n_l`, decimal, e.g. `"6,4,2"`          |
//!
//! plus `format` and `format_version` as for every kind. With `d_l = n_l · K_l` for a
//! categorical layer and `d_l = n_l` otherwise, the tensors (all `F32`, in this order: the
//! layers' tensors by layer, then the weights) are
//!
//! | tensor          | layer kind            | shape              | meaning                              |
//! |-----------------|-----------------------|--------------------|--------------------------------------|
//! | `layer{l}.bias` | `binary`, `spin`      | `[n_l]`            | biases `b_i`                         |
//! | `layer{l}.bias` | `categorical:K`       | `[n_l, K]`         | `θ_i[c]`                             |
//! | `layer{l}.loc`  | `gaussian`            | `[n_l]`            | means `loc_i`                        |
//! | `layer{l}.log_var` | `gaussian`         | `[n_l]`            | log-variances `ln σ_i²`              |
//! | `weights{l}`    | for `l < L − 1`       | `[d_l, d_{l+1}]`   | `W_l` between layers `l` and `l + 1`; row `i·K + c` is category `c` of unit `i` of a categorical layer (columns likewise) |
//!
//! e.g. `layer0.bias`, `layer1.loc`, `layer1.log_var`, `weights0`. This is the machine's own
//! row-major layout ([`BoltzmannMachine::weights`], [`crate::machine::Layer::bias`]), so in
//! NumPy `load_file(p)["weights0"]` is `W_0` and `v @ W_0` the field into layer 1.
//!
//! Loading checks the metadata (the two lists must have `n_layers` entries), every tensor's
//! presence, dtype, shape and finiteness, and then builds each layer with
//! [`crate::machine::Layer::new`] and the machine with [`BoltzmannMachine::new`], so a loaded
//! machine is always valid. Their rejections come back as [`ModelIoError::Machine`] with the
//! tensor or key at fault (e.g. `layer2.log_var` out of range, `layer_kinds` for K < 2,
//! `n_layers` for fewer than two layers). [`super::AnyModel`] reads the kind as
//! `AnyModel::Machine`.

use super::{
    ModelIo, ModelIoError, bad_value, check_header, check_names, encode, f32_entry, meta_parse,
    meta_str, parse, read_f32,
};
use crate::machine::{BoltzmannMachine, Layer, MachineError, UnitKind};

/// `kind` of a [`BoltzmannMachine`] file.
pub const KIND_MACHINE: &str = "boltzmann_machine";

/// The `layer_kinds` entry of a unit kind.
pub fn kind_label(kind: UnitKind) -> String {
    match kind {
        UnitKind::Binary => "binary".into(),
        UnitKind::Spin => "spin".into(),
        UnitKind::Gaussian => "gaussian".into(),
        UnitKind::Categorical(k) => format!("categorical:{k}"),
    }
}

/// The unit kind of a `layer_kinds` entry, or `None` if it is not one.
pub fn parse_kind_label(label: &str) -> Option<UnitKind> {
    match label {
        "binary" => Some(UnitKind::Binary),
        "spin" => Some(UnitKind::Spin),
        "gaussian" => Some(UnitKind::Gaussian),
        _ => {
            let k = label.strip_prefix("categorical:")?;
            // `usize::from_str` accepts a leading `+`; one spelling per K keeps files canonical.
            if k.starts_with('+') {
                return None;
            }
            k.parse().ok().map(UnitKind::Categorical)
        }
    }
}

/// Names of the tensors of layer `l` of kind `kind`, in file order.
fn layer_tensors(l: usize, kind: UnitKind) -> Vec<String> {
    match kind {
        UnitKind::Gaussian => vec![format!("layer{l}.loc"), format!("layer{l}.log_var")],
        _ => vec![format!("layer{l}.bias")],
    }
}

impl ModelIo for BoltzmannMachine {
    const KIND: &'static str = KIND_MACHINE;

    fn to_safetensors(&self) -> Vec<u8> {
        let layers = self.layers();
        let join =
            |f: &dyn Fn(&Layer) -> String| layers.iter().map(f).collect::<Vec<_>>().join(",");
        let meta = super::metadata(
            Self::KIND,
            [
                ("n_layers", layers.len().to_string()),
                ("layer_kinds", join(&|l| kind_label(l.kind()))),
                ("layer_sizes", join(&|l| l.len().to_string())),
            ],
        );
        // Entries borrow their names from `names`, built first so that it outlives them.
        let names: Vec<Vec<String>> = layers
            .iter()
            .enumerate()
            .map(|(l, layer)| layer_tensors(l, layer.kind()))
            .collect();
        let weight_names: Vec<String> = (0..self.weights().len())
            .map(|l| format!("weights{l}"))
            .collect();
        let mut tensors = Vec::with_capacity(2 * layers.len());
        for (layer, names) in layers.iter().zip(&names) {
            let (n, k) = (layer.len(), layer.kind());
            let bias_shape = match k {
                UnitKind::Categorical(k) => vec![n, k],
                _ => vec![n],
            };
            tensors.push(f32_entry(&names[0], bias_shape, layer.bias()));
            if k == UnitKind::Gaussian {
                tensors.push(f32_entry(&names[1], vec![n], layer.log_var()));
            }
        }
        for (l, w) in self.weights().iter().enumerate() {
            let shape = vec![layers[l].dim(), layers[l + 1].dim()];
            tensors.push(f32_entry(&weight_names[l], shape, w));
        }
        encode(tensors, meta)
    }

    fn from_safetensors(bytes: &[u8]) -> Result<Self, ModelIoError> {
        let file = parse(bytes)?;
        check_header(&file, Some(Self::KIND))?;
        let n_layers: usize = meta_parse(&file, "n_layers")?;
        let kinds = meta_list(&file, "layer_kinds", n_layers, |s| {
            parse_kind_label(s).ok_or("not binary, spin, gaussian or categorical:K")
        })?;
        let sizes = meta_list(&file, "layer_sizes", n_layers, |s| {
            s.parse::<usize>().map_err(|_| "not a unit count")
        })?;
        let mut names: Vec<String> = Vec::new();
        for (l, &kind) in kinds.iter().enumerate() {
            names.extend(layer_tensors(l, kind));
        }
        names.extend((0..n_layers.saturating_sub(1)).map(|l| format!("weights{l}")));
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        check_names(&file, Self::KIND, &name_refs)?;

        let mut dims = Vec::with_capacity(n_layers);
        let mut layers = Vec::with_capacity(n_layers);
        for (l, (&kind, &n)) in kinds.iter().zip(&sizes).enumerate() {
            let dim = n.checked_mul(kind.width()).ok_or_else(|| {
                let sizes = meta_str(&file, "layer_sizes").unwrap_or_default();
                bad_value("layer_sizes", sizes, format!("layer {l} is too large"))
            })?;
            dims.push(dim);
            let (bias, log_var) = match kind {
                UnitKind::Gaussian => (
                    read_f32(&file, &format!("layer{l}.loc"), &[n])?,
                    read_f32(&file, &format!("layer{l}.log_var"), &[n])?,
                ),
                UnitKind::Categorical(k) => (
                    read_f32(&file, &format!("layer{l}.bias"), &[n, k])?,
                    Vec::new(),
                ),
                _ => (
                    read_f32(&file, &format!("layer{l}.bias"), &[n])?,
                    Vec::new(),
                ),
            };
            let layer = Layer::new(kind, n, bias, log_var).map_err(|e| layer_error(l, e))?;
            layers.push(layer);
        }
        let mut weights = Vec::with_capacity(n_layers.saturating_sub(1));
        for l in 0..n_layers.saturating_sub(1) {
            weights.push(read_f32(
                &file,
                &format!("weights{l}"),
                &[dims[l], dims[l + 1]],
            )?);
        }
        BoltzmannMachine::new(layers, weights).map_err(machine_error)
    }
}

/// The comma-separated list under `key`, which must have `len` entries, each parsed by
/// `item`.
fn meta_list<T>(
    file: &super::Parsed<'_>,
    key: &str,
    len: usize,
    item: impl Fn(&str) -> Result<T, &'static str>,
) -> Result<Vec<T>, ModelIoError> {
    let text = meta_str(file, key)?;
    let entries: Vec<&str> = if text.is_empty() {
        Vec::new()
    } else {
        text.split(',').collect()
    };
    if entries.len() != len {
        let reason = format!("{} entries, but n_layers is {len}", entries.len());
        return Err(bad_value(key, text, reason));
    }
    entries
        .iter()
        .enumerate()
        .map(|(i, s)| {
            item(s).map_err(|why| bad_value(key, text, format!("entry {i} {s:?}: {why}")))
        })
        .collect()
}

/// `Layer::new`'s rejection of layer `l`, located at the file's tensor or key.
fn layer_error(l: usize, e: MachineError) -> ModelIoError {
    let at = match &e {
        MachineError::EmptyLayer { .. } | MachineError::InvalidOption { .. } => {
            "layer_sizes".to_string()
        }
        MachineError::TooFewCategories { .. } => "layer_kinds".to_string(),
        MachineError::ShapeMismatch { field, .. }
        | MachineError::NonFinite { field, .. }
        | MachineError::OutOfRange { field, .. } => format!("layer{l}.{field}"),
        _ => format!("layer{l}"),
    };
    ModelIoError::Machine {
        at,
        source: Box::new(e),
    }
}

/// `BoltzmannMachine::new`'s rejection, located at the file's tensor or key.
fn machine_error(e: MachineError) -> ModelIoError {
    let at = match &e {
        MachineError::TooFewLayers { .. } => "n_layers".to_string(),
        MachineError::InvalidOption { .. } => "layer_sizes".to_string(),
        // The machine names a weight matrix `weights[l]`; the file calls it `weights{l}`.
        MachineError::ShapeMismatch { field, .. } | MachineError::NonFinite { field, .. } => field
            .strip_prefix("weights[")
            .and_then(|rest| rest.strip_suffix(']'))
            .map_or_else(|| field.clone(), |l| format!("weights{l}")),
        _ => "weights".to_string(),
    };
    ModelIoError::Machine {
        at,
        source: Box::new(e),
    }
}
