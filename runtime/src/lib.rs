//! blockgibbs-runtime: runs compiled programs over many chains.
//!
//! A [`Sampler`] (made by [`Sampler::builder`]) owns the chain state (chains in fixed 16-lane chunks, chains innermost), a
//! backend and a thread pool; [`Sampler::run`] executes a [`SamplingSchedule`] and feeds
//! [`Observer`]s: [`SampleCollector`], [`Moments`], [`EnergyObserver`] and
//! [`ScalarObservables`] (streaming batch-means mean, standard error and ESS). Observers can
//! also stay attached ([`Sampler::attach`], [`Sampler::step`]), schedules run in resumable
//! pieces ([`Sampler::start_schedule`], [`Sampler::advance`]), and the whole run checkpoints
//! to one safetensors file and resumes on any backend and thread count ([`checkpoint`]).

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
pub use builder::{BackendChoice, SamplerBuilder, jit_supported};
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
