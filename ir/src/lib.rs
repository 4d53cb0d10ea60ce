//! blockgibbs-ir: what a model *is*, independent of how it is compiled or run.
//!
//! - [`NodeKind`], [`NodeId`], [`NodeGroup`]: nodes and their kinds.
//! - [`Factor`]: the one general factor form `W[i, c…] · Π s · Π b · Π x^p`.
//! - [`ModelBuilder`] → [`Model`]: the builder DSL and the validated model, with exact
//!   [`Model::energy`].
//! - [`BlockSpec`], [`UpdateRule`]: hand-given blocks and per-block update rules.
//! - [`Program`]: the lowered per-block interaction tables that every backend executes.
//! - [`memory`]: estimates of model, program and chain memory from sizes, checked against a
//!   [`MemoryLimit`] before anything large is allocated.

mod blocks;
mod builder;
mod error;
mod factor;
pub mod memory;
mod model;
mod node;
mod program;

pub use blocks::{BlockSpec, UpdateRule};
pub use builder::ModelBuilder;
pub use error::ModelError;
pub use factor::{Factor, FactorId, GaussianRole, Power};
pub use memory::{MemoryError, MemoryLimit};
pub use model::Model;
pub use node::{NodeGroup, NodeId, NodeKind};
pub use program::{BlockProgram, HeadRole, InteractionGroup, Program, SuperblockProgram};
