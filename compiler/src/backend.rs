//! What every backend implements, and the errors a kernel can report.

use blockgibbs_ir::{NodeKind, Program, UpdateRule};
use std::sync::Arc;
use thiserror::Error;

/// Where a kernel runs: a state buffer of `lanes` chains (`state[slot · lanes + lane]`) whose
/// lane 0 is global chain `first_chain`, during sweep `sweep`.
#[derive(Clone, Copy, Debug)]
pub struct LaneContext<'a> {
    /// Chains in the buffer.
    pub lanes: usize,
    /// Global index of the buffer's first chain (addresses the random numbers).
    pub first_chain: u32,
    /// Inverse temperature of each lane.
    pub betas: &'a [f32],
    /// Philox key derived from the seed.
    pub key: [u32; 2],
    /// Global sweep number (addresses the random numbers).
    pub sweep: u64,
}

/// A failure inside a kernel, located by slot and lane; the runtime names node and chain.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum KernelError {
    /// A Gaussian head whose conditional precision is not positive.
    #[error("slot {slot}, lane {lane}: conditional precision {precision} is not positive")]
    NonPositivePrecision {
        /// Slot of the head.
        slot: u32,
        /// Lane of the chain.
        lane: usize,
        /// The precision computed (β included).
        precision: f32,
    },
    /// A new value that is not finite.
    #[error("slot {slot}, lane {lane}: new value {value} is not finite")]
    NonFinite {
        /// Slot of the head.
        slot: u32,
        /// Lane of the chain.
        lane: usize,
        /// The value computed.
        value: f32,
    },
    /// An update rule that the node kind does not support.
    #[error("update rule {rule:?} is not defined for {kind} nodes")]
    UnsupportedRule {
        /// The node kind.
        kind: NodeKind,
        /// The rule.
        rule: UpdateRule,
    },
}

/// A compiled program that can update one block of a chain buffer.
pub trait Backend: Send + Sync {
    /// Short name (`reference`, `jit`).
    fn name(&self) -> &'static str;

    /// The program this backend executes.
    fn program(&self) -> &Arc<Program>;

    /// Updates every head of `block` in every lane of `state` under `rule`, reading tails
    /// from `snapshot` when given (Jacobi superblocks) and from `state` otherwise.
    fn update_block(
        &self,
        block: usize,
        rule: UpdateRule,
        state: &mut [f32],
        snapshot: Option<&[f32]>,
        ctx: &LaneContext,
    ) -> Result<(), KernelError>;
}
