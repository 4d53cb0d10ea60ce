//! Node kinds, node identifiers and named node groups.

use std::fmt;

/// The kind of a node: which values it takes and which conditional it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// s ∈ {−1, +1}; conditional P(s = +1) = σ(2γ).
    Spin,
    /// b ∈ {0, 1}; conditional P(b = 1) = σ(γ).
    Binary,
    /// c ∈ {0, …, K−1} with K ≥ 2; conditional softmax(θ).
    Categorical(u32),
    /// x ∈ ℝ; conditional N(η1/λ, 1/λ) with λ = −2η2.
    Gaussian,
}

impl NodeKind {
    /// Whether `value` is a legal state of a node of this kind.
    pub fn admits(self, value: f32) -> bool {
        match self {
            NodeKind::Spin => value == 1.0 || value == -1.0,
            NodeKind::Binary => value == 0.0 || value == 1.0,
            NodeKind::Categorical(k) => value >= 0.0 && value < k as f32 && value.fract() == 0.0,
            NodeKind::Gaussian => value.is_finite(),
        }
    }

    /// Whether the node is discrete and multiplies factor terms by its value (spin or binary).
    pub fn is_multiplicative(self) -> bool {
        matches!(self, NodeKind::Spin | NodeKind::Binary)
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeKind::Spin => write!(f, "spin"),
            NodeKind::Binary => write!(f, "binary"),
            NodeKind::Categorical(k) => write!(f, "categorical({k})"),
            NodeKind::Gaussian => write!(f, "gaussian"),
        }
    }
}

/// Index of a node in its model; nodes are numbered densely from 0 in creation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The node's position in the model's node list.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A named run of consecutive nodes of one kind, created together by the builder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeGroup {
    /// Name used in error messages and model files, e.g. `"spins"`.
    pub name: String,
    /// Kind shared by every node in the group.
    pub kind: NodeKind,
    /// Id of the group's first node.
    pub first: NodeId,
    /// Number of nodes in the group.
    pub len: u32,
}

impl NodeGroup {
    /// The id of the group's `i`-th node. Panics if `i` is out of range (a programming error
    /// in the caller, not bad input: model files go through [`NodeGroup::get`]).
    pub fn node(&self, i: usize) -> NodeId {
        self.get(i).unwrap_or_else(|| {
            panic!(
                "node {i} out of range for group `{}` of {} nodes",
                self.name, self.len
            )
        })
    }

    /// The id of the group's `i`-th node, or `None` when out of range.
    pub fn get(&self, i: usize) -> Option<NodeId> {
        (i < self.len as usize).then(|| NodeId(self.first.0 + i as u32))
    }

    /// All node ids of the group, in order.
    pub fn ids(&self) -> Vec<NodeId> {
        (0..self.len).map(|i| NodeId(self.first.0 + i)).collect()
    }

    /// Number of nodes in the group.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the group has no nodes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
