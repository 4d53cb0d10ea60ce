//! The lowered program: what every backend executes.
//!
//! Nodes live in *slots*: the heads of each block occupy consecutive slots (block 0 first),
//! clamped nodes come last. For every block, each interaction group holds the terms of one
//! shape (head role, tail roles, weight strides) in CSR form over the block's heads, so a hub
//! node costs only its own terms and never pads the rest of the block.

use crate::factor::Power;
use crate::node::{NodeId, NodeKind};

/// What statistic of the head node a group's terms multiply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HeadRole {
    /// The head is a spin or binary node: terms add to γ.
    Product,
    /// The head is categorical: term weights for category `k` sit at `base + k · stride`
    /// (plus tail offsets) and add to θ_k.
    Categorical {
        /// Weight stride of the head's axis.
        stride: u32,
    },
    /// The head is Gaussian with this power: terms add to η1 (power 1) or η2 (power 2).
    Gaussian {
        /// The head's power in these terms.
        power: Power,
    },
}

/// The terms of one shape for the heads of one block.
///
/// Term `t` of head `h` (for `t` in `offsets[h]..offsets[h+1]`) contributes
/// `weights[weight_base[t] + Σ_j cat_strides[j] · c_j (+ k · head stride)] · (Π v · Π x^p)`,
/// with tail slots `tails[t·arity ..]` in the order categorical, product, Gaussian. The tail
/// values are multiplied left to right (x² as x·x), then the weight multiplies that product,
/// and terms are added in group order, then term order; both backends use exactly this order.
#[derive(Clone, Debug, PartialEq)]
pub struct InteractionGroup {
    /// The head's role in every term of this group.
    pub head: HeadRole,
    /// Weight stride of each categorical tail.
    pub cat_strides: Vec<u32>,
    /// Number of spin/binary tails.
    pub product_tails: u32,
    /// Power of each Gaussian tail.
    pub gaussian_powers: Vec<Power>,
    /// CSR offsets into the term arrays, one more than the block has heads.
    pub offsets: Vec<u32>,
    /// Weight offset of every term (instance base).
    pub weight_base: Vec<u32>,
    /// Tail slots, `arity()` per term.
    pub tails: Vec<u32>,
}

impl InteractionGroup {
    /// Number of tail nodes per term.
    pub fn arity(&self) -> usize {
        self.cat_strides.len() + self.product_tails as usize + self.gaussian_powers.len()
    }

    /// Number of terms over all heads.
    pub fn term_count(&self) -> usize {
        self.weight_base.len()
    }

    /// Bytes held by the group's tables.
    pub fn memory_bytes(&self) -> usize {
        4 * (self.offsets.len()
            + self.weight_base.len()
            + self.tails.len()
            + self.cat_strides.len())
    }
}

/// One block: consecutive head slots of one kind and their interaction groups.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockProgram {
    /// Kind of every head.
    pub kind: NodeKind,
    /// Slot of the first head.
    pub first_slot: u32,
    /// Number of heads.
    pub len: u32,
    /// The groups, in accumulation order.
    pub groups: Vec<InteractionGroup>,
}

impl BlockProgram {
    /// Slots of the heads.
    pub fn head_slots(&self) -> std::ops::Range<u32> {
        self.first_slot..self.first_slot + self.len
    }
}

/// Blocks updated from the same pre-sweep state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuperblockProgram {
    /// Indices into [`Program::blocks`].
    pub blocks: std::ops::Range<usize>,
    /// Whether some block of the superblock reads a head of another of its blocks, so the
    /// backend must read from a snapshot taken before the superblock.
    pub needs_snapshot: bool,
}

/// The lowered program of a model.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// Node held by every slot.
    pub node_of_slot: Vec<NodeId>,
    /// Slot of every node, indexed by [`NodeId`].
    pub slot_of: Vec<u32>,
    /// Kind of every slot.
    pub kind_of_slot: Vec<NodeKind>,
    /// Default value of every clamped slot (`None` for free slots).
    pub clamped_of_slot: Vec<Option<f32>>,
    /// All factor weights, concatenated.
    pub weights: Vec<f32>,
    /// The blocks, in update order.
    pub blocks: Vec<BlockProgram>,
    /// The superblocks, in update order.
    pub superblocks: Vec<SuperblockProgram>,
}

impl Program {
    /// Number of slots (= nodes).
    pub fn slot_count(&self) -> usize {
        self.node_of_slot.len()
    }

    /// Number of free (updated) nodes.
    pub fn free_count(&self) -> usize {
        self.blocks.iter().map(|b| b.len as usize).sum()
    }

    /// Bytes held by the program's tables (weights included).
    pub fn memory_bytes(&self) -> usize {
        let groups: usize = self
            .blocks
            .iter()
            .flat_map(|b| &b.groups)
            .map(InteractionGroup::memory_bytes)
            .sum();
        groups
            + 4 * self.weights.len()
            + 4 * 2 * self.node_of_slot.len()
            + 12 * self.kind_of_slot.len()
    }
}
