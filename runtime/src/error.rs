//! The typed error of the runtime.

use blockgibbs_compiler::CompileError;
use blockgibbs_ir::{MemoryError, ModelError, NodeKind, UpdateRule};
use thiserror::Error;

/// Everything that can go wrong while configuring or running a sampler; each variant names
/// the node, chain, block or setting at fault.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RuntimeError {
    /// The model (or a weight update) failed the IR's validation.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model (or a weight update) failed compilation: blocks, precisions, size.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// A Gaussian node's conditional precision became non-positive in some state.
    #[error(
        "Gaussian node {node}, chain {chain}: conditional precision {precision} is not positive"
    )]
    NonPositivePrecision {
        /// The node at fault.
        node: String,
        /// The chain.
        chain: usize,
        /// The precision found (β included).
        precision: f32,
    },
    /// An update produced a non-finite value (a diverging model).
    #[error(
        "node {node}, chain {chain}: the update produced {value}; the model diverges (is its precision matrix positive definite?)"
    )]
    NonFinite {
        /// The node at fault.
        node: String,
        /// The chain.
        chain: usize,
        /// The value.
        value: f32,
    },
    /// An update rule the block's node kind does not support.
    #[error("block {block}: update rule {rule:?} is not defined for {kind} nodes")]
    UnsupportedRule {
        /// The block.
        block: usize,
        /// Its kind.
        kind: NodeKind,
        /// The rule.
        rule: UpdateRule,
    },
    /// A chain index past the number of chains.
    #[error("chain {chain} out of range (the sampler has {chains} chains)")]
    ChainOutOfRange {
        /// The chain asked for.
        chain: usize,
        /// Number of chains.
        chains: usize,
    },
    /// A block index past the number of blocks.
    #[error("block {block} out of range (the program has {blocks} blocks)")]
    BlockOutOfRange {
        /// The block asked for.
        block: usize,
        /// Number of blocks.
        blocks: usize,
    },
    /// A node id the model does not hold.
    #[error("unknown node id {id}")]
    UnknownNode {
        /// The id.
        id: u32,
    },
    /// A value outside a node's support.
    #[error("node {node}: {value} is not a valid {kind} value")]
    InvalidValue {
        /// The node.
        node: String,
        /// The value.
        value: f32,
        /// Its kind.
        kind: String,
    },
    /// Setting a clamped value on a free node.
    #[error(
        "node {node} is not clamped; declare it clamped in the model to set its value per chain"
    )]
    NotClamped {
        /// The node.
        node: String,
    },
    /// A non-positive or non-finite inverse temperature.
    #[error("chain {chain}: inverse temperature {beta} must be positive and finite")]
    InvalidBeta {
        /// The chain.
        chain: usize,
        /// The value.
        beta: f32,
    },
    /// A node value outside the node's support, in a state buffer.
    #[error("node {node}, chain {chain}: {value} is not a valid {kind} value")]
    InvalidValueInChain {
        /// The node.
        node: String,
        /// The chain (row of the buffer).
        chain: usize,
        /// The value.
        value: f32,
        /// Its kind.
        kind: String,
    },
    /// A buffer or list of the wrong length.
    #[error("{what}: expected {expected} values, found {found}")]
    LengthMismatch {
        /// What was passed.
        what: &'static str,
        /// Required length.
        expected: usize,
        /// Given length.
        found: usize,
    },
    /// Releasing a node that the model itself clamps.
    #[error("node {node} is clamped in the model; only nodes clamped at run time can be released")]
    ClampedInModel {
        /// The node.
        node: String,
    },
    /// A backend name that is not `auto`, `reference` or `jit`.
    #[error("unknown backend `{0}` (use auto, reference or jit)")]
    UnknownBackend(String),
    /// A program given to the builder that was not lowered from its model.
    #[error("the program given was not lowered from this model (nodes, kinds or weights differ)")]
    ProgramMismatch,
    /// A sampler with no chains.
    #[error("a sampler needs at least one chain")]
    NoChains,
    /// The program or the chains would need more memory than the limit
    /// ([`crate::SamplerBuilder::max_memory`]); nothing was allocated.
    #[error(transparent)]
    Memory(#[from] MemoryError),
    /// More worker threads than [`crate::max_threads`] allows.
    #[error(
        "threads: {threads} worker threads are more than the limit of {max} (4 per core, at least 1024)"
    )]
    TooManyThreads {
        /// The count asked for.
        threads: usize,
        /// The limit.
        max: usize,
    },
    /// The thread pool could not be built.
    #[error("thread pool: {0}")]
    ThreadPool(String),
}
