//! The builder DSL: groups of nodes, factors (general and convenience forms), clamps and
//! optional hand-given blocks, validated by [`ModelBuilder::build`].

use crate::blocks::BlockSpec;
use crate::error::ModelError;
use crate::factor::{Factor, Power};
use crate::model::{Model, node_name};
use crate::node::{NodeGroup, NodeId, NodeKind};

/// Collects a model description; [`ModelBuilder::build`] validates it into a [`Model`].
///
/// ```
/// use blockgibbs_ir::{ModelBuilder, NodeKind};
/// let mut b = ModelBuilder::new();
/// let s = b.group("s", NodeKind::Spin, 3).unwrap();
/// b.pair_coupling("j", &[s.node(0), s.node(1)], &[s.node(1), s.node(2)], &[1.0, 1.0]);
/// b.linear_bias("h", &s.ids(), &[0.1, 0.0, -0.1]);
/// let model = b.build().unwrap();
/// assert_eq!(model.node_count(), 3);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ModelBuilder {
    groups: Vec<NodeGroup>,
    kinds: Vec<NodeKind>,
    factors: Vec<Factor>,
    clamps: Vec<(NodeId, f32)>,
    blocks: Option<BlockSpec>,
    errors: Vec<ModelError>,
}

impl ModelBuilder {
    /// An empty builder.
    pub fn new() -> ModelBuilder {
        ModelBuilder::default()
    }

    /// Adds a named group of `len` nodes of one kind.
    pub fn group(
        &mut self,
        name: &str,
        kind: NodeKind,
        len: usize,
    ) -> Result<NodeGroup, ModelError> {
        if self.groups.iter().any(|g| g.name == name) {
            return Err(ModelError::DuplicateGroup(name.to_string()));
        }
        if let NodeKind::Categorical(k) = kind
            && k < 2
        {
            return Err(ModelError::TooFewCategories {
                group: name.to_string(),
                k,
            });
        }
        let first = self.kinds.len();
        let total = first
            .checked_add(len)
            .filter(|&t| t < u32::MAX as usize)
            .ok_or_else(|| ModelError::TooLarge {
                what: format!("group `{name}` takes the node count past 2^32"),
            })?;
        let group = NodeGroup {
            name: name.to_string(),
            kind,
            first: NodeId(first as u32),
            len: len as u32,
        };
        self.kinds.resize(total, kind);
        self.groups.push(group.clone());
        Ok(group)
    }

    /// Adds a factor of the general form; it is validated by [`ModelBuilder::build`].
    pub fn factor(&mut self, factor: Factor) -> &mut Self {
        self.factors.push(factor);
        self
    }

    /// Bias `Σ h_i v_i` on spin or binary nodes.
    pub fn linear_bias(&mut self, name: &str, nodes: &[NodeId], h: &[f32]) -> &mut Self {
        self.factor(Factor::new(name).product(nodes).weights(h))
    }

    /// Bias `Σ θ_i[c_i]` on categorical nodes; `theta` is `[nodes, K]` row-major.
    pub fn categorical_bias(&mut self, name: &str, nodes: &[NodeId], theta: &[f32]) -> &mut Self {
        self.factor(Factor::new(name).categorical(nodes).weights(theta))
    }

    /// Pairwise coupling `Σ J_i a_i b_i` of spin or binary nodes (Ising couplings, RBM
    /// weights).
    pub fn pair_coupling(
        &mut self,
        name: &str,
        a: &[NodeId],
        b: &[NodeId],
        j: &[f32],
    ) -> &mut Self {
        self.factor(Factor::new(name).product(a).product(b).weights(j))
    }

    /// Potts coupling `Σ J_i δ(a_i, b_i)` of categorical nodes with equal K.
    /// Nodes of the wrong kind are reported by [`ModelBuilder::build`].
    pub fn potts_coupling(
        &mut self,
        name: &str,
        a: &[NodeId],
        b: &[NodeId],
        j: &[f32],
    ) -> &mut Self {
        let k = a.first().and_then(|n| match self.kinds.get(n.index()) {
            Some(NodeKind::Categorical(k)) => Some(*k as usize),
            _ => None,
        });
        let Some(k) = k else {
            // Let validation report the wrong kind with a one-category placeholder tensor.
            return self.factor(Factor::new(name).categorical(a).categorical(b).weights(j));
        };
        let mut w = vec![0.0f32; j.len() * k * k];
        for (i, &ji) in j.iter().enumerate() {
            for c in 0..k {
                w[i * k * k + c * k + c] = ji;
            }
        }
        self.factor(Factor::new(name).categorical(a).categorical(b).weights(w))
    }

    /// Gaussian linear term `Σ h_i x_i`.
    pub fn gaussian_linear(&mut self, name: &str, nodes: &[NodeId], h: &[f32]) -> &mut Self {
        self.factor(Factor::new(name).gaussian(nodes, Power::One).weights(h))
    }

    /// Gaussian self-precision `−½ Σ λ_i x_i²` (λ > 0 for a proper density).
    pub fn gaussian_precision(
        &mut self,
        name: &str,
        nodes: &[NodeId],
        precision: &[f32],
    ) -> &mut Self {
        let w: Vec<f32> = precision.iter().map(|&l| -0.5 * l).collect();
        self.factor(Factor::new(name).gaussian(nodes, Power::Two).weights(w))
    }

    /// Gaussian coupling `Σ w_i x_i y_i` (a precision-matrix entry of −w_i).
    pub fn gaussian_coupling(
        &mut self,
        name: &str,
        x: &[NodeId],
        y: &[NodeId],
        w: &[f32],
    ) -> &mut Self {
        self.factor(
            Factor::new(name)
                .gaussian(x, Power::One)
                .gaussian(y, Power::One)
                .weights(w),
        )
    }

    /// Coupling `Σ w_i x_i v_i` of Gaussian nodes to spin or binary nodes.
    pub fn gaussian_discrete_coupling(
        &mut self,
        name: &str,
        x: &[NodeId],
        v: &[NodeId],
        w: &[f32],
    ) -> &mut Self {
        self.factor(
            Factor::new(name)
                .product(v)
                .gaussian(x, Power::One)
                .weights(w),
        )
    }

    /// Categorical-gated mean term `Σ W_i[c_i] x_i`; `w` is `[nodes, K]` row-major.
    pub fn gated_gaussian_mean(
        &mut self,
        name: &str,
        c: &[NodeId],
        x: &[NodeId],
        w: &[f32],
    ) -> &mut Self {
        self.factor(
            Factor::new(name)
                .categorical(c)
                .gaussian(x, Power::One)
                .weights(w),
        )
    }

    /// Categorical-gated precision `−½ Σ λ_i[c_i] x_i²`; `precision` is `[nodes, K]`.
    pub fn gated_gaussian_precision(
        &mut self,
        name: &str,
        c: &[NodeId],
        x: &[NodeId],
        precision: &[f32],
    ) -> &mut Self {
        let w: Vec<f32> = precision.iter().map(|&l| -0.5 * l).collect();
        self.factor(
            Factor::new(name)
                .categorical(c)
                .gaussian(x, Power::Two)
                .weights(w),
        )
    }

    /// Clamps a node to a default value; the runtime may set other values per chain.
    pub fn clamp(&mut self, node: NodeId, value: f32) -> &mut Self {
        self.clamps.push((node, value));
        self
    }

    /// Gives the blocks by hand instead of letting the compiler colour the graph.
    pub fn blocks(&mut self, spec: BlockSpec) -> &mut Self {
        self.blocks = Some(spec);
        self
    }

    /// Records an error found while assembling the model elsewhere (e.g. a model file), so
    /// that [`ModelBuilder::build`] reports it.
    pub fn defer_error(&mut self, error: ModelError) -> &mut Self {
        self.errors.push(error);
        self
    }

    /// Validates everything and returns the model, or the first error found.
    pub fn build(self) -> Result<Model, ModelError> {
        if let Some(e) = self.errors.into_iter().next() {
            return Err(e);
        }
        for f in &self.factors {
            validate_factor(f, &self.groups, &self.kinds)?;
        }
        let mut clamped = vec![None; self.kinds.len()];
        for &(node, value) in &self.clamps {
            let kind = *self
                .kinds
                .get(node.index())
                .ok_or_else(|| ModelError::UnknownNode {
                    context: "clamp".into(),
                    id: node.0,
                    count: self.kinds.len(),
                })?;
            if !kind.admits(value) {
                return Err(ModelError::InvalidClampValue {
                    node: node_name(&self.groups, node),
                    value,
                    kind: kind.to_string(),
                });
            }
            if let Some(first) = clamped[node.index()]
                && first != value
            {
                return Err(ModelError::ConflictingClamp {
                    node: node_name(&self.groups, node),
                    first,
                    second: value,
                });
            }
            clamped[node.index()] = Some(value);
        }
        if let Some(spec) = &self.blocks {
            validate_block_membership(spec, &self.groups, &self.kinds, &clamped)?;
        }
        Ok(Model {
            groups: self.groups,
            kinds: self.kinds,
            factors: self.factors,
            clamped,
            blocks: self.blocks,
        })
    }
}

fn validate_factor(f: &Factor, groups: &[NodeGroup], kinds: &[NodeKind]) -> Result<(), ModelError> {
    let name = || f.name.clone();
    if f.arity() == 0 {
        return Err(ModelError::EmptyFactor { factor: name() });
    }
    let instances = f.instances();
    for (role, nodes) in f.roles() {
        if nodes.len() != instances {
            return Err(ModelError::RoleLengthMismatch {
                factor: name(),
                role,
                expected: instances,
                found: nodes.len(),
            });
        }
        for &n in nodes {
            if n.index() >= kinds.len() {
                return Err(ModelError::UnknownNode {
                    context: format!("factor `{}` role {role}", f.name),
                    id: n.0,
                    count: kinds.len(),
                });
            }
        }
    }
    let mismatch = |role: String, n: NodeId, expected: &str| ModelError::RoleKindMismatch {
        factor: name(),
        role,
        node: node_name(groups, n),
        expected: expected.to_string(),
        found: kinds[n.index()].to_string(),
    };
    let mut shape = vec![instances];
    for (j, role) in f.categorical.iter().enumerate() {
        let mut k_role = None;
        for &n in role {
            let NodeKind::Categorical(k) = kinds[n.index()] else {
                return Err(mismatch(format!("categorical[{j}]"), n, "categorical"));
            };
            match k_role {
                None => k_role = Some(k),
                Some(k0) if k0 != k => {
                    return Err(mismatch(
                        format!("categorical[{j}]"),
                        n,
                        &format!("categorical({k0})"),
                    ));
                }
                _ => {}
            }
        }
        shape.push(k_role.unwrap_or(1) as usize);
    }
    for (j, role) in f.products.iter().enumerate() {
        if let Some(&n) = role.iter().find(|n| !kinds[n.index()].is_multiplicative()) {
            return Err(mismatch(format!("product[{j}]"), n, "spin or binary"));
        }
    }
    for (j, role) in f.gaussian.iter().enumerate() {
        if let Some(&n) = role
            .nodes
            .iter()
            .find(|n| kinds[n.index()] != NodeKind::Gaussian)
        {
            return Err(mismatch(format!("gaussian[{j}]"), n, "gaussian"));
        }
    }
    let expected: usize = shape.iter().product();
    if f.weights.len() != expected {
        return Err(ModelError::WeightShapeMismatch {
            factor: name(),
            expected,
            found: f.weights.len(),
            shape,
        });
    }
    if let Some((index, &value)) = f.weights.iter().enumerate().find(|(_, w)| !w.is_finite()) {
        return Err(ModelError::NonFiniteWeight {
            factor: name(),
            index,
            value,
        });
    }
    if f.arity() > 1 {
        let mut seen = Vec::with_capacity(f.arity());
        for i in 0..instances {
            seen.clear();
            seen.extend(f.instance_nodes(i));
            seen.sort_unstable();
            if let Some(w) = seen.windows(2).find(|w| w[0] == w[1]) {
                return Err(ModelError::RepeatedNode {
                    factor: name(),
                    instance: i,
                    node: node_name(groups, w[0]),
                });
            }
        }
    }
    Ok(())
}

/// Checks that hand-given blocks cover every free node exactly once, hold no clamped node and
/// one kind each. Interactions inside a block are checked by the compiler, which owns the
/// interaction graph.
fn validate_block_membership(
    spec: &BlockSpec,
    groups: &[NodeGroup],
    kinds: &[NodeKind],
    clamped: &[Option<f32>],
) -> Result<(), ModelError> {
    let mut owner = vec![usize::MAX; kinds.len()];
    for (b, block) in spec.superblocks.iter().flatten().enumerate() {
        let Some(&first) = block.first() else {
            return Err(ModelError::EmptyBlock { block: b });
        };
        for &n in block {
            if n.index() >= kinds.len() {
                return Err(ModelError::UnknownNode {
                    context: format!("block {b}"),
                    id: n.0,
                    count: kinds.len(),
                });
            }
            if clamped[n.index()].is_some() {
                return Err(ModelError::ClampedNodeInBlock {
                    node: node_name(groups, n),
                    block: b,
                });
            }
            match owner[n.index()] {
                usize::MAX => {}
                first if first == b => {
                    return Err(ModelError::NodeTwiceInBlock {
                        node: node_name(groups, n),
                        block: b,
                    });
                }
                first => {
                    return Err(ModelError::NodeInTwoBlocks {
                        node: node_name(groups, n),
                        first,
                        second: b,
                    });
                }
            }
            owner[n.index()] = b;
            if kinds[n.index()] != kinds[first.index()] {
                return Err(ModelError::MixedKindBlock {
                    block: b,
                    a: node_name(groups, first),
                    kind_a: kinds[first.index()].to_string(),
                    b: node_name(groups, n),
                    kind_b: kinds[n.index()].to_string(),
                });
            }
        }
    }
    if let Some(n) = (0..kinds.len()).find(|&n| owner[n] == usize::MAX && clamped[n].is_none()) {
        return Err(ModelError::NodeWithoutBlock {
            node: node_name(groups, NodeId(n as u32)),
        });
    }
    Ok(())
}
