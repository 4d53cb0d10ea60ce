//! blockgibbs: a block-Gibbs sampling compiler and runtime for factor graphs.
//!
//! Describe a model with [`prelude::ModelBuilder`] (or a TOML model file),
//! compile it, and run it over many chains with a [`prelude::Sampler`] under a
//! [`prelude::SamplingSchedule`]:
//!
//! ```
//! use blockgibbs::prelude::*;
//! use std::sync::Arc;
//!
//! let mut b = ModelBuilder::new();
//! let s = b.group("s", NodeKind::Spin, 4).unwrap();
//! let ids = s.ids();
//! b.pair_coupling("j", &ids[..3], &ids[1..], &[0.5; 3]);
//! let model = Arc::new(b.build().unwrap());
//! let mut sampler = Sampler::builder(model.clone()).chains(8).seed(1).build().unwrap();
//! let mut moments = Moments::new(ids.clone(), vec![(ids[0], ids[1])]);
//! sampler.run(&SamplingSchedule::new(100, 200, 1), &mut [&mut moments]).unwrap();
//! assert!(moments.pair_means()[0] > 0.2); // tanh(0.5) ≈ 0.46
//! ```

pub mod backend;
pub mod cli;
pub mod data;
pub mod families;
#[doc(hidden)]
pub mod fuzzing;
pub mod model_file;
pub mod output;

pub use blockgibbs_compiler as compiler;
pub use blockgibbs_ir as ir;
pub use blockgibbs_models as models;
pub use blockgibbs_models::lattice;
pub use blockgibbs_runtime as runtime;

/// Everything a typical user needs, in one import.
pub mod prelude {
    pub use blockgibbs_compiler::{BlockSchedule, CompileError, compile};
    pub use blockgibbs_ir::{
        BlockSpec, Factor, Model, ModelBuilder, ModelError, NodeGroup, NodeId, NodeKind, Power,
        UpdateRule,
    };
    pub use blockgibbs_runtime::{
        BackendChoice, Chains, EnergyObserver, Estimate, Moments, Observer, RuntimeError,
        SampleCollector, Sampler, SamplerOptions, SamplingSchedule, ScalarObservables, StateView,
    };

    pub use crate::model_file::{BuiltModel, ModelFile, ModelFileError};
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
