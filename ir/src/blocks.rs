//! Hand-given blocks and the per-block update rules.

use crate::node::NodeId;

/// How a block's nodes are updated from their conditional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum UpdateRule {
    /// Draw from the conditional (Gibbs sampling).
    #[default]
    Sample,
    /// Set to the conditional expectation (mean-field iteration). Not defined for categorical
    /// nodes, whose state is a single category.
    Mean,
    /// Set to the conditional's most probable value (ties go to the larger value, or the
    /// first category).
    Mode,
}

/// Blocks given by hand: superblocks of blocks of nodes.
///
/// Blocks in one superblock are updated from the same pre-sweep state (Jacobi); superblocks
/// follow one another (Gauss–Seidel), as in THRML.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BlockSpec {
    /// `superblocks[s][b]` is the node list of block `b` of superblock `s`.
    pub superblocks: Vec<Vec<Vec<NodeId>>>,
}

impl BlockSpec {
    /// One superblock per block: plain sequential block Gibbs.
    pub fn sequential(blocks: Vec<Vec<NodeId>>) -> BlockSpec {
        BlockSpec {
            superblocks: blocks.into_iter().map(|b| vec![b]).collect(),
        }
    }

    /// Number of blocks over all superblocks.
    pub fn block_count(&self) -> usize {
        self.superblocks.iter().map(Vec::len).sum()
    }
}
