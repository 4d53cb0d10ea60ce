//! The typed error of model construction and validation (the compiler's own findings are
//! `blockgibbs_compiler::CompileError`).

use thiserror::Error;

/// Everything that can be wrong with a model description. Every variant names the node,
/// factor, block or field at fault, so that a message alone tells a user what to fix.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ModelError {
    /// A group name was used twice.
    #[error("node group `{0}` is defined twice")]
    DuplicateGroup(String),
    /// A categorical group was declared with fewer than two categories.
    #[error("categorical group `{group}` has K = {k}; K must be at least 2")]
    TooFewCategories {
        /// The group at fault.
        group: String,
        /// The K given.
        k: u32,
    },
    /// A node id that the model does not hold.
    #[error("{context}: unknown node id {id} (the model has {count} nodes)")]
    UnknownNode {
        /// Where the id was used (factor, block or clamp).
        context: String,
        /// The offending id.
        id: u32,
        /// Number of nodes in the model.
        count: usize,
    },
    /// A factor with no node roles.
    #[error("factor `{factor}` has no nodes")]
    EmptyFactor {
        /// The factor at fault.
        factor: String,
    },
    /// The roles of a factor list different numbers of instances.
    #[error(
        "factor `{factor}`: role {role} lists {found} nodes, but the factor has {expected} instances"
    )]
    RoleLengthMismatch {
        /// The factor at fault.
        factor: String,
        /// Role description, e.g. `categorical[0]`.
        role: String,
        /// Instances implied by the first role.
        expected: usize,
        /// Nodes in this role.
        found: usize,
    },
    /// A node of the wrong kind in a factor role.
    #[error("factor `{factor}`: role {role} needs {expected} nodes, but {node} is {found}")]
    RoleKindMismatch {
        /// The factor at fault.
        factor: String,
        /// Role description.
        role: String,
        /// The node at fault.
        node: String,
        /// What the role accepts.
        expected: String,
        /// The node's kind.
        found: String,
    },
    /// A weight tensor whose length does not match the factor's shape.
    #[error(
        "factor `{factor}`: weights have {found} entries, expected {expected} (shape {shape:?})"
    )]
    WeightShapeMismatch {
        /// The factor at fault.
        factor: String,
        /// Required number of entries.
        expected: usize,
        /// Given number of entries.
        found: usize,
        /// Required shape `[instances, K1, …]`.
        shape: Vec<usize>,
    },
    /// A factor id the model does not hold.
    #[error("unknown factor id {id} (the model has {count} factors)")]
    UnknownFactor {
        /// The id.
        id: u32,
        /// Number of factors in the model.
        count: usize,
    },
    /// An instance index past a factor's instances.
    #[error("factor `{factor}`: instance {instance} out of range (it has {instances})")]
    InstanceOutOfRange {
        /// The factor.
        factor: String,
        /// The instance asked for.
        instance: usize,
        /// Its number of instances.
        instances: usize,
    },
    /// A NaN or infinite weight.
    #[error("factor `{factor}`: weight {index} is {value} (weights must be finite)")]
    NonFiniteWeight {
        /// The factor at fault.
        factor: String,
        /// Flat index of the weight.
        index: usize,
        /// The value.
        value: f32,
    },
    /// The same node twice in one factor instance.
    #[error(
        "factor `{factor}`: node {node} appears twice in instance {instance} (use a power of 2 for x², s·s = 1 is a constant)"
    )]
    RepeatedNode {
        /// The factor at fault.
        factor: String,
        /// Instance index.
        instance: usize,
        /// The node.
        node: String,
    },
    /// A clamped value outside the node's support.
    #[error("clamped node {node}: value {value} is not a valid {kind} value")]
    InvalidClampValue {
        /// The node at fault.
        node: String,
        /// The value given.
        value: f32,
        /// The node's kind.
        kind: String,
    },
    /// A block mixing node kinds.
    #[error(
        "block {block}: nodes {a} ({kind_a}) and {b} ({kind_b}) have different kinds; a block holds one kind"
    )]
    MixedKindBlock {
        /// Index of the block.
        block: usize,
        /// First node.
        a: String,
        /// Its kind.
        kind_a: String,
        /// Second node.
        b: String,
        /// Its kind.
        kind_b: String,
    },
    /// A node listed in two blocks.
    #[error("node {node} is listed in block {first} and again in block {second}")]
    NodeInTwoBlocks {
        /// The node at fault.
        node: String,
        /// The first block listing it.
        first: usize,
        /// The block listing it again.
        second: usize,
    },
    /// A node listed twice in one block.
    #[error("node {node} is listed twice in block {block}")]
    NodeTwiceInBlock {
        /// The node at fault.
        node: String,
        /// The block.
        block: usize,
    },
    /// One node clamped twice to different values.
    #[error("node {node} is clamped twice, to {first} and to {second}")]
    ConflictingClamp {
        /// The node at fault.
        node: String,
        /// The first value.
        first: f32,
        /// The second value.
        second: f32,
    },
    /// A free node that no hand-given block updates.
    #[error(
        "free node {node} is in no block (hand-given blocks must cover every node that is not clamped)"
    )]
    NodeWithoutBlock {
        /// The node at fault.
        node: String,
    },
    /// A clamped node listed in a block.
    #[error("clamped node {node} is listed in block {block}; clamped nodes are never updated")]
    ClampedNodeInBlock {
        /// The node at fault.
        node: String,
        /// Index of the block.
        block: usize,
    },
    /// A hand-given block with no nodes.
    #[error("block {block} is empty")]
    EmptyBlock {
        /// Index of the block.
        block: usize,
    },
    /// The model exceeds the 2^32 index range of nodes.
    #[error("model too large: {what}")]
    TooLarge {
        /// What overflowed.
        what: String,
    },
}
