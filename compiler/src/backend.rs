//! What every backend implements, and the errors a kernel can report.

use blockgibbs_ir::{NodeKind, Program, UpdateRule};
use std::ops::Range;
use std::sync::Arc;
use thiserror::Error;

/// Where a kernel runs: a state buffer of `lanes` chains (`state[slot · lanes + lane]`) whose
/// lane 0 is global chain `first_chain`, during sweep `sweep`.
#[derive(Clone, Copy, Debug)]
pub struct LaneContext<'a> {
    /// Lanes in the buffer (a multiple of 4).
    pub lanes: usize,
    /// Real chains in the buffer (`≤ lanes`): lanes from `chains` on are padding, whose
    /// values a backend may update or leave as they are (they are never observed).
    pub chains: usize,
    /// Global index of the buffer's first chain (addresses the random numbers).
    pub first_chain: u32,
    /// Inverse temperature of each lane.
    pub betas: &'a [f32],
    /// Philox key derived from the seed.
    pub key: [u32; 2],
    /// Global sweep number (addresses the random numbers).
    pub sweep: u64,
    /// The live weights, laid out as [`Program::weights`] (which holds the weights the
    /// program was compiled with): kernels read them at every call, so changing them changes
    /// the next sweep without recompiling.
    pub weights: &'a [f32],
    /// Per block, whether the kernels a backend specialised on the compiled weights (see
    /// [`Backend::specialisations`]) hold for `weights`; where not, the backend runs its
    /// general kernels.
    pub specialised: &'a [bool],
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

/// A chunk's state buffer: `slots × lanes` values, `state[slot · lanes + lane]`.
///
/// A raw view, so that several threads can update disjoint heads of one block in the same
/// buffer (see [`Backend::update_heads`]).
#[derive(Clone, Copy, Debug)]
pub struct StatePtr {
    /// First value of the buffer.
    pub ptr: *mut f32,
    /// Number of values.
    pub len: usize,
}

impl StatePtr {
    /// A view of a buffer that will only be read through it.
    pub fn read_only(values: &[f32]) -> StatePtr {
        StatePtr {
            ptr: values.as_ptr().cast_mut(),
            len: values.len(),
        }
    }
}

// SAFETY: a `StatePtr` is only an address; the contract of `Backend::update_heads` says who
// may write through it and when.
unsafe impl Send for StatePtr {}
// SAFETY: as above.
unsafe impl Sync for StatePtr {}

/// A compiled program that can update one block of a chain buffer.
pub trait Backend: Send + Sync {
    /// Short name (`reference`, `jit`).
    fn name(&self) -> &'static str;

    /// The program this backend executes.
    fn program(&self) -> &Arc<Program>;

    /// Per block, whether the kernels this backend specialised on the program's compiled
    /// weights (for example weights folded into constants because every term shared them)
    /// still compute the conditionals of `weights`. A backend that specialises nothing on
    /// weight values answers `true` everywhere (the default).
    fn specialisations(&self, weights: &[f32]) -> Vec<bool> {
        let _ = weights;
        vec![true; self.program().blocks.len()]
    }

    /// Updates heads `heads` (indices within the block) of `block` in every lane of `state`
    /// under `rule`, reading tails from `snapshot` when given (Jacobi superblocks) and from
    /// `state` otherwise. Heads are processed in increasing order and the first failure
    /// (lowest head, then lowest lane) is reported.
    ///
    /// # Safety
    ///
    /// `state` (and `snapshot`, if given) must be valid for `program().slot_count() ·
    /// ctx.lanes` values, with `ctx.lanes` a multiple of 4, `ctx.betas` holding that many
    /// values, `ctx.weights` as long as `program().weights` and `ctx.specialised` holding one
    /// flag per block. During the call nothing may access `state` except other calls of this method
    /// for the same block and rule whose head ranges are disjoint from `heads` (they write only
    /// their own heads and, blocks never holding interacting nodes, never read them), and
    /// nothing may write `snapshot`.
    unsafe fn update_heads(
        &self,
        block: usize,
        rule: UpdateRule,
        heads: Range<u32>,
        state: StatePtr,
        snapshot: Option<StatePtr>,
        ctx: &LaneContext,
    ) -> Result<(), KernelError>;

    /// Updates every head of `block` in `state` (see [`Backend::update_heads`]).
    fn update_block(
        &self,
        block: usize,
        rule: UpdateRule,
        state: &mut [f32],
        snapshot: Option<&[f32]>,
        ctx: &LaneContext,
    ) -> Result<(), KernelError> {
        let needed = self.program().slot_count() * ctx.lanes;
        let program = self.program();
        assert!(
            ctx.lanes.is_multiple_of(4)
                && ctx.betas.len() >= ctx.lanes
                && ctx.weights.len() == program.weights.len()
                && ctx.specialised.len() == program.blocks.len(),
            "bad lane context"
        );
        assert!(
            state.len() >= needed && snapshot.is_none_or(|s| s.len() >= needed),
            "buffer too short"
        );
        let len = self.program().blocks[block].len;
        let state = StatePtr {
            ptr: state.as_mut_ptr(),
            len: state.len(),
        };
        // SAFETY: the exclusive borrow of `state` and the shared borrow of `snapshot` cover
        // the whole call, and their lengths were checked above.
        unsafe {
            self.update_heads(
                block,
                rule,
                0..len,
                state,
                snapshot.map(StatePtr::read_only),
                ctx,
            )
        }
    }
}
