//! A validated model: node groups, factors, clamped nodes and optional hand-given blocks.

use crate::blocks::BlockSpec;
use crate::error::ModelError;
use crate::factor::{Factor, FactorId, Power};
use crate::node::{NodeGroup, NodeId, NodeKind};
use std::ops::Range;

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

    /// A factor by id.
    pub fn factor(&self, id: FactorId) -> Result<&Factor, ModelError> {
        self.factors
            .get(id.index())
            .ok_or(ModelError::UnknownFactor {
                id: id.0,
                count: self.factors.len(),
            })
    }

    /// The id of the first factor named `name`.
    pub fn factor_id(&self, name: &str) -> Option<FactorId> {
        self.factors
            .iter()
            .position(|f| f.name == name)
            .map(|i| FactorId(i as u32))
    }

    /// Where the weights of `factor` (all of them, or those of one `instance`) sit in the
    /// concatenation of every factor's weights in factor order — the layout of
    /// [`crate::Program::weights`] — and the shape they have there (`[instances, K_1, …]`, or
    /// `[1, K_1, …]` for one instance).
    pub fn weight_range(
        &self,
        factor: FactorId,
        instance: Option<usize>,
    ) -> Result<(Range<usize>, Vec<usize>), ModelError> {
        let f = self.factor(factor)?;
        let start: usize = self.factors[..factor.index()]
            .iter()
            .map(|f| f.weights.len())
            .sum();
        let mut shape = f.weight_shape(&self.kinds);
        let per_instance: usize = shape[1..].iter().product();
        let local = match instance {
            None => 0..f.weights.len(),
            Some(i) if i < f.instances() => {
                shape[0] = 1;
                i * per_instance..(i + 1) * per_instance
            }
            Some(i) => {
                return Err(ModelError::InstanceOutOfRange {
                    factor: f.name.clone(),
                    instance: i,
                    instances: f.instances(),
                });
            }
        };
        Ok((start + local.start..start + local.end, shape))
    }

    /// [`Model::weight_range`], after checking that `weights` fits there: the right number
    /// of entries, all finite. The model is not changed.
    pub fn check_weights(
        &self,
        factor: FactorId,
        instance: Option<usize>,
        weights: &[f32],
    ) -> Result<Range<usize>, ModelError> {
        let (range, shape) = self.weight_range(factor, instance)?;
        let name = || self.factors[factor.index()].name.clone();
        if weights.len() != range.len() {
            return Err(ModelError::WeightShapeMismatch {
                factor: name(),
                expected: range.len(),
                found: weights.len(),
                shape,
            });
        }
        if let Some((index, &value)) = weights.iter().enumerate().find(|(_, w)| !w.is_finite()) {
            let first = instance.map_or(0, |i| i * range.len());
            return Err(ModelError::NonFiniteWeight {
                factor: name(),
                index: first + index,
                value,
            });
        }
        Ok(range)
    }

    /// Replaces the weights of `factor` (all of them, or those of one `instance`), checked as
    /// by [`Model::check_weights`]; on error the model is unchanged.
    pub fn set_weights(
        &mut self,
        factor: FactorId,
        instance: Option<usize>,
        weights: &[f32],
    ) -> Result<(), ModelError> {
        let global = self.check_weights(factor, instance, weights)?;
        let start: usize = self.factors[..factor.index()]
            .iter()
            .map(|f| f.weights.len())
            .sum();
        self.factors[factor.index()].weights[global.start - start..global.end - start]
            .copy_from_slice(weights);
        Ok(())
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
