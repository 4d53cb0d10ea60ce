//! blockgibbs-runtime: runs compiled programs over many chains.
//!
//! A [`Sampler`] (made by [`Sampler::builder`]) owns the chain state (chains in fixed
//! 16-lane chunks, chains innermost), the live weights, a backend and a thread pool;
//! [`Sampler::run`] executes a [`SamplingSchedule`] and feeds [`Observer`]s:
//! [`SampleCollector`], [`Moments`], [`EnergyObserver`] and [`ScalarObservables`]
//! (streaming batch-means mean, standard error and ESS). Observers can also stay attached
//! ([`Sampler::attach`], [`Sampler::step`]), schedules run in resumable pieces
//! ([`Sampler::start_schedule`], [`Sampler::advance`]), and the whole run checkpoints to one
//! safetensors file and resumes on any backend and thread count ([`checkpoint`]).
//!
//! Embedded in a simulator, the sampler is stepped between the simulator's own steps, and
//! weights, clamps, β and whole states change between sweeps without recompiling:
//!
//! ```
//! use blockgibbs_ir::{ModelBuilder, NodeKind};
//! use blockgibbs_runtime::{BackendChoice, Chains, Sampler};
//! use std::sync::Arc;
//!
//! // A ring of 8 spins; spin 0 is a boundary the simulator drives.
//! let mut b = ModelBuilder::new();
//! let s = b.group("s", NodeKind::Spin, 8).unwrap();
//! let next: Vec<_> = (0..8).map(|i| s.node((i + 1) % 8)).collect();
//! b.pair_coupling("j", &s.ids(), &next, &[0.8; 8]);
//! let model = Arc::new(b.build().unwrap());
//! let j = model.factor_id("j").unwrap();
//! let mut sampler = Sampler::builder(model)
//!     .backend(BackendChoice::Auto)
//!     .chains(32)
//!     .seed(1)
//!     .build()
//!     .unwrap();
//! let mut states = vec![0.0f32; 32 * 8];
//! for phase in 0..4 {
//!     let boundary = if phase % 2 == 0 { 1.0 } else { -1.0 };
//!     sampler.clamp(s.node(0), boundary, Chains::All).unwrap();
//!     sampler.set_weights(j, &[0.8 + 0.1 * phase as f32; 8]).unwrap();
//!     sampler.sweep(20).unwrap();
//!     sampler.read_states(&mut states).unwrap();
//!     assert!(states.chunks(8).all(|chain| chain[0] == boundary));
//! }
//! // A NaN coupling is refused, naming the factor; the old weights stay.
//! assert!(sampler.set_weights(j, &[f32::NAN; 8]).is_err());
//! ```

pub mod atomic_file;
mod attached;
mod builder;
pub mod checkpoint;
mod clamps;
mod cursor;
mod error;
mod observers;
mod parameters;
mod sampler;
mod schedule;
pub mod state;
pub mod stats;
mod sweep;

pub use attached::ObserverHandle;
pub use builder::{BackendChoice, SamplerBuilder, jit_supported, max_threads};
pub use checkpoint::{
    CheckpointError, ObserverState, ObserverStateError, ResumeBuilder, StateTensor, TensorData,
};
pub use clamps::{Chains, RuntimeClamps};
pub use cursor::{RunStatus, ScheduleCursor};
pub use error::RuntimeError;
pub use observers::{
    ChainScalar, EnergyObserver, Moments, Observer, SampleCollector, ScalarObservables, StateView,
};
pub use sampler::{Sampler, SamplerOptions};
pub use schedule::SamplingSchedule;
pub use stats::{BatchMeans, Estimate};
pub use sweep::SPLIT_MIN_HEADS;
