//! blockgibbs-compiler: from a validated model to executable block kernels.
//!
//! 1. [`colouring`]: the interaction graph and its colouring.
//! 2. [`schedule`]: blocks and superblocks, automatic or hand-given (validated).
//! 3. [`lower()`]: per-block interaction tables ([`blockgibbs_ir::Program`]).
//! 4. Backends implementing [`Backend`]: [`ReferenceBackend`] is the specification.
//!
//! [`approx`] and [`random`] hold the arithmetic every backend must share bit for bit.

pub mod approx;
mod backend;
pub mod colouring;
mod error;
mod lower;
pub mod random;
mod reference;
pub mod schedule;

pub use backend::{Backend, KernelError, LaneContext, StatePtr};
pub use colouring::{ColouringMethod, InteractionGraph};
pub use error::CompileError;
pub use lower::{check_static_precisions, lower};
pub use reference::ReferenceBackend;
pub use schedule::BlockSchedule;

use blockgibbs_ir::{Model, Program};

/// Colours (or validates the hand-given blocks of) `model` and lowers it.
pub fn compile(model: &Model) -> Result<(BlockSchedule, Program), CompileError> {
    let schedule = BlockSchedule::for_model(model)?;
    let program = lower(model, &schedule)?;
    Ok((schedule, program))
}
