//! A validated model: node groups, factors, clamped nodes and optional hand-given blocks.

use crate::blocks::BlockSpec;
use crate::factor::{Factor, Power};
use crate::node::{NodeGroup, NodeId, NodeKind};

/// A validated factor-graph model. Made by [`crate::ModelBuilder::build`]; every factor's
/// roles, kinds and weights have been checked, so lowering and sampling can trust it.
#[derive(Clone, Debug)]
pub struct Model {
    pub(crate) groups: Vec<NodeGroup>,
    pub(crate) kinds: Vec<NodeKind>,
    pub(crate) factors: Vec<Factor>,
    pub(crate) clamped: Vec<Option<f32>>,
    pub(crate) blocks: Option<BlockSpec>,
}

impl Model {
    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.kinds.len()
    }

    /// Kind of every node, indexed by [`NodeId`].
    pub fn kinds(&self) -> &[NodeKind] {
        &self.kinds
    }

    /// Kind of one node.
    pub fn kind(&self, node: NodeId) -> NodeKind {
        self.kinds[node.index()]
    }

    /// The node groups, in creation order.
    pub fn groups(&self) -> &[NodeGroup] {
        &self.groups
    }

    /// The group with this name.
    pub fn group(&self, name: &str) -> Option<&NodeGroup> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The factors, in insertion order.
    pub fn factors(&self) -> &[Factor] {
        &self.factors
    }

    /// The default clamped value of each node (`None` for free nodes).
    pub fn clamped(&self) -> &[Option<f32>] {
        &self.clamped
    }

    /// Whether a node is clamped.
    pub fn is_clamped(&self, node: NodeId) -> bool {
        self.clamped[node.index()].is_some()
    }

    /// Hand-given blocks, if any.
    pub fn block_spec(&self) -> Option<&BlockSpec> {
        self.blocks.as_ref()
    }

    /// Human-readable name of a node: `group[index]`.
    pub fn node_name(&self, node: NodeId) -> String {
        node_name(&self.groups, node)
    }

    /// Energy of a state (`−Σ` of all factor terms; no inverse temperature), in f64.
    /// `value(node)` returns the node's value: ±1, 0/1, a category index or a real number.
    pub fn energy_with(&self, value: impl Fn(NodeId) -> f32) -> f64 {
        -self
            .factors
            .iter()
            .map(|f| factor_log_density(f, &self.kinds, &value))
            .sum::<f64>()
    }

    /// Energy of a state given as a slice indexed by [`NodeId`].
    pub fn energy(&self, state: &[f32]) -> f64 {
        self.energy_with(|n| state[n.index()])
    }
}

/// `group[index]` for a node, or `#id` if it is in no group.
pub(crate) fn node_name(groups: &[NodeGroup], node: NodeId) -> String {
    groups
        .iter()
        .find(|g| node.0 >= g.first.0 && node.0 < g.first.0 + g.len)
        .map_or_else(
            || format!("#{}", node.0),
            |g| format!("{}[{}]", g.name, node.0 - g.first.0),
        )
}

/// Σ over instances of `W[i, c…] · Π s · Π b · Π x^p`, in f64.
fn factor_log_density(f: &Factor, kinds: &[NodeKind], value: &impl Fn(NodeId) -> f32) -> f64 {
    let dims: Vec<usize> = f
        .categorical
        .iter()
        .map(|r| match r.first().map(|n| kinds[n.index()]) {
            Some(NodeKind::Categorical(k)) => k as usize,
            _ => 1,
        })
        .collect();
    let per_instance: usize = dims.iter().product();
    let mut total = 0.0f64;
    for i in 0..f.instances() {
        let mut idx = 0usize;
        for (role, &k) in f.categorical.iter().zip(&dims) {
            idx = idx * k + value(role[i]) as usize;
        }
        let mut term = f.weights[i * per_instance + idx] as f64;
        for role in &f.products {
            term *= value(role[i]) as f64;
        }
        for role in &f.gaussian {
            let x = value(role.nodes[i]) as f64;
            term *= match role.power {
                Power::One => x,
                Power::Two => x * x,
            };
        }
        total += term;
    }
    total
}
