//! The `[model]` tables of the built-in families: their keys, defaults and constructors.
//!
//! Every key of a family table other than `family` is a field here; serde rejects unknown
//! keys. The models are built by [`crate::families`].

use super::ModelFileError;
use crate::families::{self, Disorder};
use blockgibbs_ir::{MemoryLimit, Model};
use serde::Deserialize;

/// Largest number of RBM weights (visible × hidden) a model file may ask for.
pub const MAX_RBM_WEIGHTS: usize = 1 << 28;

pub(crate) fn one() -> f32 {
    1.0
}

fn yes() -> bool {
    true
}

fn small_weight() -> f32 {
    0.1
}

/// `ising2d` and `ising3d`: H = −J Σ⟨ij⟩ s_i s_j − h Σ s_i on an L×L (L³) lattice.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IsingSpec {
    /// Lattice side.
    #[serde(rename = "L")]
    pub l: usize,
    /// Coupling (default 1).
    #[serde(rename = "J", default = "one")]
    pub j: f32,
    /// Uniform field (default 0).
    #[serde(default)]
    pub h: f32,
    /// Inverse temperature (default 1).
    #[serde(default = "one")]
    pub beta: f32,
    /// Toroidal boundaries (default true).
    #[serde(default = "yes")]
    pub periodic: bool,
}

/// `potts2d`: H = −J Σ⟨ij⟩ δ(σ_i, σ_j) with q states on an L×L lattice.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PottsSpec {
    /// Number of states.
    pub q: u32,
    /// Lattice side.
    #[serde(rename = "L")]
    pub l: usize,
    /// Coupling (default 1).
    #[serde(rename = "J", default = "one")]
    pub j: f32,
    /// Inverse temperature (default 1).
    #[serde(default = "one")]
    pub beta: f32,
    /// Toroidal boundaries (default true).
    #[serde(default = "yes")]
    pub periodic: bool,
}

/// Distribution of the random couplings of `ea2d` / `ea3d`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DisorderName {
    /// J ~ N(0, 1).
    #[default]
    Gaussian,
    /// J = ±1.
    Pm,
}

/// `ea2d` / `ea3d`: Edwards–Anderson spin glass with nearest-neighbour random couplings.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EaSpec {
    /// Lattice side.
    #[serde(rename = "L")]
    pub l: usize,
    /// Coupling distribution: `"gaussian"` (default) or `"pm"` (±1).
    #[serde(default)]
    pub disorder: DisorderName,
    /// Seed of the couplings (default 0; any u64, see [`super::seed`]).
    #[serde(default, deserialize_with = "super::seed::deserialize")]
    pub disorder_seed: u64,
    /// Uniform field (default 0).
    #[serde(default)]
    pub h: f32,
    /// Inverse temperature (default 1).
    #[serde(default = "one")]
    pub beta: f32,
    /// Toroidal boundaries (default true).
    #[serde(default = "yes")]
    pub periodic: bool,
}

/// `sk`: Sherrington–Kirkpatrick, J_ij ~ N(0, J²/N) over all pairs.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkSpec {
    /// Number of spins.
    #[serde(rename = "N")]
    pub n: usize,
    /// Coupling scale (default 1).
    #[serde(rename = "J", default = "one")]
    pub j: f32,
    /// Uniform field (default 0).
    #[serde(default)]
    pub h: f32,
    /// Seed of the couplings (default 0; any u64, see [`super::seed`]).
    #[serde(default, deserialize_with = "super::seed::deserialize")]
    pub disorder_seed: u64,
    /// Inverse temperature (default 1).
    #[serde(default = "one")]
    pub beta: f32,
}

/// `rbm`: binary restricted Boltzmann machine with random weights.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RbmSpec {
    /// Visible units.
    pub n_visible: usize,
    /// Hidden units.
    pub n_hidden: usize,
    /// Standard deviation of the weights (default 0.1).
    #[serde(default = "small_weight")]
    pub weight_std: f32,
    /// Bias of every visible unit (default 0).
    #[serde(default)]
    pub visible_bias: f32,
    /// Bias of every hidden unit (default 0).
    #[serde(default)]
    pub hidden_bias: f32,
    /// Seed of the weights (default 0; any u64, see [`super::seed`]).
    #[serde(default, deserialize_with = "super::seed::deserialize")]
    pub disorder_seed: u64,
    /// Inverse temperature (default 1).
    #[serde(default = "one")]
    pub beta: f32,
}

/// `gaussian_grid`: Gaussian MRF on an L×L grid, Λ = precision·I − coupling·A.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaussianGridSpec {
    /// Grid side.
    #[serde(rename = "L")]
    pub l: usize,
    /// Diagonal precision (> 4|coupling|).
    pub precision: f32,
    /// Nearest-neighbour coupling (default 0).
    #[serde(default)]
    pub coupling: f32,
    /// Linear term (default 0).
    #[serde(default)]
    pub h: f32,
    /// Inverse temperature (default 1).
    #[serde(default = "one")]
    pub beta: f32,
    /// Toroidal boundaries (default true).
    #[serde(default = "yes")]
    pub periodic: bool,
}

impl IsingSpec {
    /// The 2D (`dim = 2`) or 3D model, refused if larger than `limit`.
    pub fn build(&self, dim: u32, limit: MemoryLimit) -> Result<Model, ModelFileError> {
        if dim == 3 {
            families::ising3d_within(limit, self.l, self.j, self.h, self.periodic)
        } else {
            families::ising2d_within(limit, self.l, self.j, self.h, self.periodic)
        }
    }
}

impl PottsSpec {
    /// The model, refused if larger than `limit`.
    pub fn build(&self, limit: MemoryLimit) -> Result<Model, ModelFileError> {
        families::potts2d_within(limit, self.q, self.l, self.j, self.periodic)
    }
}

impl EaSpec {
    /// The model in `dim` dimensions, refused if larger than `limit`.
    pub fn build(&self, dim: u32, limit: MemoryLimit) -> Result<Model, ModelFileError> {
        let disorder = match self.disorder {
            DisorderName::Gaussian => Disorder::Gaussian,
            DisorderName::Pm => Disorder::PlusMinus,
        };
        families::edwards_anderson_within(
            limit,
            dim,
            self.l,
            disorder,
            self.disorder_seed,
            self.h,
            self.periodic,
        )
    }
}

impl SkSpec {
    /// The model, refused if larger than `limit`.
    pub fn build(&self, limit: MemoryLimit) -> Result<Model, ModelFileError> {
        families::sk_within(limit, self.n, self.j, self.h, self.disorder_seed)
    }
}

impl RbmSpec {
    /// The model, refused if larger than `limit`.
    pub fn build(&self, limit: MemoryLimit) -> Result<Model, ModelFileError> {
        if self
            .n_visible
            .checked_mul(self.n_hidden)
            .is_none_or(|w| w > MAX_RBM_WEIGHTS)
        {
            return Err(ModelFileError::InvalidValue {
                key: "model.n_hidden".into(),
                message: format!(
                    "{} × {} weights exceed the limit of {MAX_RBM_WEIGHTS}",
                    self.n_visible, self.n_hidden
                ),
            });
        }
        families::rbm_within(
            limit,
            self.n_visible,
            self.n_hidden,
            self.weight_std,
            (self.visible_bias, self.hidden_bias),
            self.disorder_seed,
        )
    }
}

impl GaussianGridSpec {
    /// The model, refused if larger than `limit`.
    pub fn build(&self, limit: MemoryLimit) -> Result<Model, ModelFileError> {
        families::gaussian_grid_within(
            limit,
            self.l,
            self.precision,
            self.coupling,
            self.h,
            self.periodic,
        )
    }
}
