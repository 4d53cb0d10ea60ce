//! Layered Boltzmann machines of mixed unit kinds (issue 4, "Models I"; paysage parity).
//!
//! - [`Layer`]: `n` units of one [`UnitKind`] — binary {0,1}, spin {−1,+1}, Gaussian (mean
//!   `loc`, `log_var`) or one-hot categorical with K categories — and their parameters.
//! - [`BoltzmannMachine`]: a stack of ≥ 2 layers with one weight matrix between consecutive
//!   layers (an RBM has 2 layers, a deep machine more): energy, conditionals, free energies,
//!   and [`BoltzmannMachine::to_model`], the lowering to a blockgibbs [`blockgibbs_ir::Model`].
//! - [`MachineSampler`]: paysage's sampling modes (`markov_chain`, `mean_field_iteration`,
//!   `deterministic_iteration`, `reconstruction`) on the runtime [`blockgibbs_runtime::Sampler`],
//!   with any layer clamped.
//! - [`gradient`]: CD-k / PCD gradient estimates for two-layer machines of any unit kinds and
//!   the exact gradient by enumeration of a discrete layer.
//! - [`mod@pretrain`]: Salakhutdinov–Hinton layerwise pretraining of deep machines, with the
//!   doubled inputs applied in both directions.
//! - [`meanfield`], [`exact_deep`], [`train`]: machines of any depth — the mean-field
//!   positive phase and its ELBO, Rao–Blackwellised chain statistics, exact likelihoods and
//!   gradients by enumeration, and PCD training ([`fit_deep`]) with optional pretraining.
//! - `TryFrom` conversions between two-layer machines and the `rbm` module's
//!   [`crate::BinaryRbm`] and [`crate::rbm::gaussian::GaussianRbm`] (parameters copied bit for
//!   bit), so those RBMs can use the runtime paths above on any backend.
//!
//! **Energy** (paysage's conventions). Each layer maps its state to an interaction statistic
//! `φ(x)`: `x` for binary and spin units, `x / σ²` for Gaussian units (the visible rescaling of
//! paysage), the one-hot vector of the category for categorical units (K entries per unit).
//! With `W_l` the `[dim_l × dim_{l+1}]` weights between layers `l` and `l + 1`,
//!
//! `E(x) = Σ_l E_l(x_l) − Σ_l φ(x_l)ᵀ W_l φ(x_{l+1})`,
//!
//! where `E_l` is `−bᵀx` (binary, spin), `Σ θ_i[c_i]` negated (categorical) or
//! `Σ ½ (x_i − loc_i)² / σ_i²` (Gaussian, `σ_i² = exp(log_var_i)`). So a Gaussian unit given its
//! neighbours is `N(loc + f, σ²)` with `f` the field `Σ W φ(neighbour)`, a binary unit is
//! `σ(b + f)`, a spin is `+1` with probability `σ(2(b + f))` and a categorical unit is
//! `softmax(θ + f)`. Layer states are `f32` slices of `n` values: categorical units hold the
//! category index, as in the runtime.

mod boltzmann;
mod convert;
pub mod driven;
mod estimation;
pub mod exact_deep;
pub mod gradient;
mod layer;
pub mod meanfield;
pub mod pretrain;
mod sampler;
mod stats;
pub mod train;

pub use boltzmann::BoltzmannMachine;
pub use driven::{BetaProcess, DrivenBeta};
pub use estimation::{Penalty, Sampling};
pub use exact_deep::{
    deep_average_log_likelihood, deep_exact_gradient, deep_exact_model_stats,
    deep_exact_positive_phase, deep_log_partition,
};
pub use gradient::{
    MachineGradient, MachineGradientEstimate, MachineGradientEstimator, average_log_likelihood,
    exact_gradient, exact_model_stats, log_partition, positive_phase,
};
pub use layer::{Conditional, Layer, UnitKind};
pub use meanfield::{
    MeanFieldOptions, MeanFieldPhase, MeanFieldPosterior, chain_statistics,
    mean_field_positive_phase, mean_field_posterior,
};
pub use pretrain::{Doubling, PretrainOptions, PretrainingRbm, pretrain};
pub use sampler::{MachineSampler, SamplingMode};
pub use train::{
    DeepEpochCallback, DeepEpochReport, DeepGradientEstimate, DeepGradientEstimator,
    DeepTrainOptions, fit_deep,
};

use blockgibbs_ir::ModelError;
use blockgibbs_runtime::RuntimeError;
use thiserror::Error;

/// Everything that can be wrong with a machine, its inputs or its sampling and training
/// settings. Each variant names the field, layer or option at fault.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MachineError {
    /// A layer with no units.
    #[error("`{field}` has no units; a layer needs at least 1")]
    EmptyLayer {
        /// The layer at fault, e.g. `layers[1]`.
        field: String,
    },
    /// A categorical layer with fewer than two categories.
    #[error("`{field}` has K = {k} categories; at least 2 are needed")]
    TooFewCategories {
        /// The layer at fault.
        field: String,
        /// The number of categories given.
        k: usize,
    },
    /// A machine with fewer than two layers.
    #[error("a Boltzmann machine needs at least 2 layers, got {found}")]
    TooFewLayers {
        /// Number of layers given.
        found: usize,
    },
    /// A vector of the wrong length.
    #[error("`{field}` has {found} entries, expected {expected}")]
    ShapeMismatch {
        /// The field at fault, e.g. `weights[0]` or `layers[1].bias`.
        field: String,
        /// Required length.
        expected: usize,
        /// Given length.
        found: usize,
    },
    /// A NaN or infinite value.
    #[error("`{field}`[{index}] is {value}; values must be finite")]
    NonFinite {
        /// The field at fault.
        field: String,
        /// Flat index of the entry.
        index: usize,
        /// The offending value.
        value: f32,
    },
    /// A finite value outside the range a parameter may take.
    #[error("`{field}`[{index}] is {value}; {reason}")]
    OutOfRange {
        /// The field at fault.
        field: String,
        /// Flat index of the entry.
        index: usize,
        /// The offending value.
        value: f32,
        /// The allowed range.
        reason: String,
    },
    /// A state value that a unit of this kind cannot take.
    #[error("`{field}`[{index}] is {value}, not a state of a {kind} unit")]
    InvalidState {
        /// The layer state or data set at fault.
        field: String,
        /// Flat index of the entry.
        index: usize,
        /// The offending value.
        value: f32,
        /// The unit kind.
        kind: UnitKind,
    },
    /// A layer index past the last layer.
    #[error("layer {layer} does not exist; the machine has {layers} layers")]
    LayerOutOfRange {
        /// The index asked for.
        layer: usize,
        /// Number of layers.
        layers: usize,
    },
    /// Two adjacent layers asked to be summed out together: no closed form.
    #[error(
        "layers {a} and {b} are adjacent; a free energy sums out only non-adjacent layers in closed form"
    )]
    AdjacentMarginalised {
        /// Lower layer.
        a: usize,
        /// Upper layer.
        b: usize,
    },
    /// A layer given a value through a [`MachineSampler`] in a way its clamping forbids.
    #[error("layer {layer}: {reason}")]
    Clamping {
        /// The layer at fault.
        layer: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// An operation defined only for two-layer machines (RBMs).
    #[error("{what} needs a two-layer machine; this one has {layers} layers")]
    NotTwoLayers {
        /// The operation.
        what: &'static str,
        /// Number of layers of the machine.
        layers: usize,
    },
    /// Exact evaluation needs a discrete layer small enough to enumerate.
    #[error(
        "exact evaluation enumerates a discrete layer; the smallest has {states} states, the limit is {limit}"
    )]
    TooLargeForExact {
        /// States of the smallest discrete layer (`usize::MAX` if none is discrete).
        states: usize,
        /// The limit ([`gradient::MAX_EXACT_STATES`]).
        limit: usize,
    },
    /// A data set whose length is not a multiple of the visible layer's size, or empty.
    #[error("`data` has {len} values, not a positive multiple of {units} units")]
    DataShape {
        /// Number of values given.
        len: usize,
        /// Units per example.
        units: usize,
    },
    /// An invalid training or sampling option.
    #[error("option `{field}`: {reason}")]
    InvalidOption {
        /// The option at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Building the factor graph failed.
    #[error("building the factor graph: {0}")]
    Model(#[from] ModelError),
    /// The runtime rejected a call (e.g. the mean rule on a categorical layer).
    #[error("runtime: {0}")]
    Runtime(#[from] RuntimeError),
}

/// Checks that every entry of `xs` is finite.
pub(crate) fn check_finite(field: impl Fn() -> String, xs: &[f32]) -> Result<(), MachineError> {
    match xs.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(MachineError::NonFinite {
            field: field(),
            index,
            value: xs[index],
        }),
        None => Ok(()),
    }
}

/// Checks the length of `xs`.
pub(crate) fn check_len(
    field: impl Fn() -> String,
    xs: &[f32],
    expected: usize,
) -> Result<(), MachineError> {
    if xs.len() == expected {
        Ok(())
    } else {
        Err(MachineError::ShapeMismatch {
            field: field(),
            expected,
            found: xs.len(),
        })
    }
}
