//! The one general factor form that every model is made of.
//!
//! A factor adds to the log-density (= −energy) a sum over its instances `i`:
//! `W[i, c_1..c_N] · Π s_j · Π b_j · Π x_k^{p_k}`. Categorical nodes index the weight tensor,
//! spin and binary nodes multiply by their value, Gaussian nodes by their value to the power 1
//! or 2.

use crate::node::NodeId;

/// Power of a Gaussian node in a factor term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Power {
    /// Linear term `x`.
    One,
    /// Quadratic term `x²`.
    Two,
}

impl Power {
    /// The power as an integer (1 or 2).
    pub fn get(self) -> u8 {
        match self {
            Power::One => 1,
            Power::Two => 2,
        }
    }

    /// Converts 1 or 2 to a power; anything else is `None`.
    pub fn from_u8(p: u8) -> Option<Power> {
        match p {
            1 => Some(Power::One),
            2 => Some(Power::Two),
            _ => None,
        }
    }
}

/// A role of Gaussian nodes in a factor: one node per instance, raised to `power`.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianRole {
    /// One node per instance.
    pub nodes: Vec<NodeId>,
    /// Power of every node of this role.
    pub power: Power,
}

/// Index of a factor in its model: its position in [`crate::Model::factors`], in insertion
/// order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FactorId(pub u32);

impl FactorId {
    /// The factor's position in the model's factor list.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A batched factor: `instances` copies of one interaction shape, sharing a weight layout.
///
/// Each role is a list with one node per instance. The weight tensor has shape
/// `[instances, K_1, …, K_N]` (row-major) for the `N` categorical roles.
#[derive(Clone, Debug, PartialEq)]
pub struct Factor {
    /// Name used in error messages.
    pub name: String,
    /// Categorical roles, in weight-tensor axis order.
    pub categorical: Vec<Vec<NodeId>>,
    /// Spin and binary roles (each multiplies by the node's value).
    pub products: Vec<Vec<NodeId>>,
    /// Gaussian roles.
    pub gaussian: Vec<GaussianRole>,
    /// Row-major weights of shape `[instances, K_1, …, K_N]`.
    pub weights: Vec<f32>,
}

impl Factor {
    /// Starts a factor with no roles and no weights.
    pub fn new(name: impl Into<String>) -> Factor {
        Factor {
            name: name.into(),
            categorical: Vec::new(),
            products: Vec::new(),
            gaussian: Vec::new(),
            weights: Vec::new(),
        }
    }

    /// Adds a categorical role (the next axis of the weight tensor).
    pub fn categorical(mut self, nodes: impl Into<Vec<NodeId>>) -> Factor {
        self.categorical.push(nodes.into());
        self
    }

    /// Adds a spin or binary role.
    pub fn product(mut self, nodes: impl Into<Vec<NodeId>>) -> Factor {
        self.products.push(nodes.into());
        self
    }

    /// Adds a Gaussian role with the given power.
    pub fn gaussian(mut self, nodes: impl Into<Vec<NodeId>>, power: Power) -> Factor {
        self.gaussian.push(GaussianRole {
            nodes: nodes.into(),
            power,
        });
        self
    }

    /// Sets the weights (row-major `[instances, K_1, …]`).
    pub fn weights(mut self, weights: impl Into<Vec<f32>>) -> Factor {
        self.weights = weights.into();
        self
    }

    /// Number of instances (the length of the first role), 0 for a factor with no roles.
    pub fn instances(&self) -> usize {
        self.roles().next().map_or(0, |(_, nodes)| nodes.len())
    }

    /// Shape of the weight tensor, `[instances, K_1, …, K_N]`, given the node kinds of a
    /// validated model.
    pub fn weight_shape(&self, kinds: &[crate::NodeKind]) -> Vec<usize> {
        let mut shape = vec![self.instances()];
        shape.extend(
            self.categorical
                .iter()
                .map(|r| match r.first().map(|n| kinds[n.index()]) {
                    Some(crate::NodeKind::Categorical(k)) => k as usize,
                    _ => 1,
                }),
        );
        shape
    }

    /// Number of roles (nodes per instance).
    pub fn arity(&self) -> usize {
        self.categorical.len() + self.products.len() + self.gaussian.len()
    }

    /// All roles with a description (`categorical[0]`, `product[1]`, `gaussian[0]`), in the
    /// canonical order: categorical, product, Gaussian.
    pub fn roles(&self) -> impl Iterator<Item = (String, &[NodeId])> {
        let c = self
            .categorical
            .iter()
            .enumerate()
            .map(|(j, n)| (format!("categorical[{j}]"), n.as_slice()));
        let p = self
            .products
            .iter()
            .enumerate()
            .map(|(j, n)| (format!("product[{j}]"), n.as_slice()));
        let g = self
            .gaussian
            .iter()
            .enumerate()
            .map(|(j, r)| (format!("gaussian[{j}]"), r.nodes.as_slice()));
        c.chain(p).chain(g)
    }

    /// The nodes of instance `i`, in canonical role order.
    pub fn instance_nodes(&self, i: usize) -> impl Iterator<Item = NodeId> + '_ {
        self.categorical
            .iter()
            .map(move |r| r[i])
            .chain(self.products.iter().map(move |r| r[i]))
            .chain(self.gaussian.iter().map(move |r| r.nodes[i]))
    }
}
