//! The typed error of compilation: what the compiler finds wrong with a valid model — its
//! hand-given blocks, its precisions, its size — naming the block, node or limit at fault.

use thiserror::Error;

/// Why a validated model cannot be compiled (or a weight update cannot be accepted).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CompileError {
    /// Two interacting nodes placed in one hand-given block.
    #[error(
        "block {block}: nodes {a} and {b} interact (they share factor `{factor}`) and cannot be updated together"
    )]
    InteractingNodesInBlock {
        /// Index of the block.
        block: usize,
        /// First node.
        a: String,
        /// Second node.
        b: String,
        /// A factor they share.
        factor: String,
    },
    /// A Gaussian node whose conditional precision is constant and not positive.
    #[error(
        "Gaussian node {node}: conditional precision {precision} is not positive (add a quadratic term with a negative weight, i.e. a positive precision)"
    )]
    NonPositivePrecision {
        /// The node at fault.
        node: String,
        /// The precision found (−2 η2).
        precision: f64,
    },
    /// The model exceeds an index range of the lowered program.
    #[error("model too large: {what}")]
    TooLarge {
        /// What overflowed.
        what: String,
    },
}
