//! Ising and Potts energy-based models with THRML's semantics.
//!
//! An [`IsingEBM`] holds spins s_i ∈ {−1, +1} on any graph, with biases b_i, couplings J_e on
//! edges e = (i, j) and an inverse temperature β, and the energy of THRML's `IsingEBM`:
//!
//! E(s) = −β (Σ_i b_i s_i + Σ_e J_e s_i s_j),  p(s) ∝ exp(−E(s)).
//!
//! [`IsingEBM::to_model`] turns it into a blockgibbs [`Model`] whose factors carry b and J
//! without β; the sampler's per-chain β (set to [`IsingEBM::beta`] by the training code)
//! multiplies them, so the sampled distribution is exactly p above.

mod checks;
mod family;

pub use checks::IsingError;
pub(crate) use checks::{
    check_beta, check_edge_nodes, check_edges, check_finite, check_len, check_nodes, check_side,
    invalid,
};

use crate::lattice;
use blockgibbs_ir::{Model, ModelBuilder, NodeId, NodeKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Name of the node group of the spins in models made by [`IsingEBM::to_model`].
pub const SPIN_GROUP: &str = "spin";

/// Distribution of random couplings of disordered models (Edwards–Anderson, SK).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disorder {
    /// J ~ N(0, 1) (times the model's scale).
    Gaussian,
    /// J = ±1 with equal probability (times the model's scale).
    PlusMinus,
}

/// `n` couplings from `disorder` times `scale`, drawn with ChaCha8 seeded by `seed`.
pub fn draw_couplings(n: usize, disorder: Disorder, scale: f32, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| match disorder {
            Disorder::Gaussian => {
                let x: f32 = StandardNormal.sample(&mut rng);
                scale * x
            }
            Disorder::PlusMinus => {
                if rng.random::<bool>() {
                    scale
                } else {
                    -scale
                }
            }
        })
        .collect()
}

/// THRML's `IsingEBM`: spins on any graph with energy −β(Σ b_i s_i + Σ J_ij s_i s_j).
///
/// Nodes are numbered `0..n`; `edges[e] = (i, j)` carries `weights[e]`. Every field is
/// validated on construction and on every update, so a value of this type is always a
/// well-formed model.
#[derive(Clone, Debug, PartialEq)]
pub struct IsingEBM {
    n: usize,
    edges: Vec<(u32, u32)>,
    biases: Vec<f32>,
    weights: Vec<f32>,
    beta: f32,
}

impl IsingEBM {
    /// A model on `biases.len()` nodes. Errors name the field at fault: an edge endpoint out
    /// of range or a self-loop (`edges`), a length mismatch or non-finite value (`weights`,
    /// `biases`), or β ≤ 0 (`beta`).
    pub fn new(
        edges: Vec<(u32, u32)>,
        biases: Vec<f32>,
        weights: Vec<f32>,
        beta: f32,
    ) -> Result<IsingEBM, IsingError> {
        let n = biases.len();
        if n == 0 {
            return Err(invalid("biases", "the model needs at least one node"));
        }
        if n >= u32::MAX as usize {
            return Err(invalid("biases", "more than 2^32 nodes"));
        }
        check_edges("edges", n, &edges)?;
        check_len("weights", edges.len(), weights.len())?;
        check_finite("biases", &biases)?;
        check_finite("weights", &weights)?;
        check_beta(beta)?;
        Ok(IsingEBM {
            n,
            edges,
            biases,
            weights,
            beta,
        })
    }

    /// Uniform coupling `j` on every edge and uniform field `h` on every node of an `n`-node
    /// graph.
    pub fn uniform(
        n: usize,
        edges: Vec<(u32, u32)>,
        j: f32,
        h: f32,
        beta: f32,
    ) -> Result<IsingEBM, IsingError> {
        let m = edges.len();
        IsingEBM::new(edges, vec![h; n], vec![j; m], beta)
    }

    /// Ferromagnet on an `l × l` square lattice (open or periodic boundaries).
    pub fn square(l: usize, periodic: bool, j: f32, h: f32, beta: f32) -> Result<Self, IsingError> {
        check_side(l)?;
        IsingEBM::uniform(l * l, lattice::square(l, periodic), j, h, beta)
    }

    /// Ferromagnet on an `l × l × l` cubic lattice.
    pub fn cubic(l: usize, periodic: bool, j: f32, h: f32, beta: f32) -> Result<Self, IsingError> {
        if l > 1024 {
            return Err(invalid("l", format!("cubic side {l} exceeds 1024")));
        }
        check_side(l)?;
        IsingEBM::uniform(l * l * l, lattice::cubic(l, periodic), j, h, beta)
    }

    /// Ising model on an `l × l` triangular lattice.
    pub fn triangular(
        l: usize,
        periodic: bool,
        j: f32,
        h: f32,
        beta: f32,
    ) -> Result<Self, IsingError> {
        check_side(l)?;
        IsingEBM::uniform(l * l, lattice::triangular(l, periodic), j, h, beta)
    }

    /// Edwards–Anderson spin glass in `dim` = 2 or 3 dimensions: nearest-neighbour couplings
    /// drawn from `disorder` with `seed`, no field.
    pub fn edwards_anderson(
        dim: u32,
        l: usize,
        periodic: bool,
        disorder: Disorder,
        seed: u64,
        beta: f32,
    ) -> Result<Self, IsingError> {
        check_side(l)?;
        let (n, edges) = match dim {
            2 => (l * l, lattice::square(l, periodic)),
            3 if l <= 1024 => (l * l * l, lattice::cubic(l, periodic)),
            3 => return Err(invalid("l", format!("cubic side {l} exceeds 1024"))),
            _ => return Err(invalid("dim", format!("{dim} must be 2 or 3"))),
        };
        let weights = draw_couplings(edges.len(), disorder, 1.0, seed);
        IsingEBM::new(edges, vec![0.0; n], weights, beta)
    }

    /// Sherrington–Kirkpatrick model: every pair coupled with J_ij ~ N(0, j²/n), no field.
    pub fn sk(n: usize, j: f32, seed: u64, beta: f32) -> Result<Self, IsingError> {
        if !(2..=20_000).contains(&n) {
            return Err(invalid("n", format!("{n} must be in 2..=20000 (dense)")));
        }
        check_finite("j", &[j])?;
        let edges: Vec<(u32, u32)> = (0..n as u32)
            .flat_map(|a| (a + 1..n as u32).map(move |b| (a, b)))
            .collect();
        let weights = draw_couplings(edges.len(), Disorder::Gaussian, j / (n as f32).sqrt(), seed);
        IsingEBM::new(edges, vec![0.0; n], weights, beta)
    }

    /// Number of spins.
    pub fn node_count(&self) -> usize {
        self.n
    }

    /// The edges `(i, j)`.
    pub fn edges(&self) -> &[(u32, u32)] {
        &self.edges
    }

    /// The biases b_i.
    pub fn biases(&self) -> &[f32] {
        &self.biases
    }

    /// The couplings J_e, one per edge.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// The inverse temperature β.
    pub fn beta(&self) -> f32 {
        self.beta
    }

    /// Replaces the biases (same length, finite).
    pub fn set_biases(&mut self, biases: &[f32]) -> Result<(), IsingError> {
        check_len("biases", self.n, biases.len())?;
        check_finite("biases", biases)?;
        self.biases.copy_from_slice(biases);
        Ok(())
    }

    /// Replaces the couplings (one per edge, finite).
    pub fn set_weights(&mut self, weights: &[f32]) -> Result<(), IsingError> {
        check_len("weights", self.edges.len(), weights.len())?;
        check_finite("weights", weights)?;
        self.weights.copy_from_slice(weights);
        Ok(())
    }

    /// Replaces β (positive and finite).
    pub fn set_beta(&mut self, beta: f32) -> Result<(), IsingError> {
        check_beta(beta)?;
        self.beta = beta;
        Ok(())
    }

    /// Energy −β(Σ b_i s_i + Σ J_ij s_i s_j) of a state of ±1 values, in f64.
    pub fn energy(&self, state: &[f32]) -> Result<f64, IsingError> {
        check_len("state", self.n, state.len())?;
        if let Some(i) = state.iter().position(|&s| s != 1.0 && s != -1.0) {
            return Err(invalid(&format!("state[{i}]"), "spins must be ±1"));
        }
        Ok(self.energy_unchecked(state))
    }

    pub(crate) fn energy_unchecked(&self, s: &[f32]) -> f64 {
        let field: f64 = self
            .biases
            .iter()
            .zip(s)
            .map(|(&b, &x)| b as f64 * x as f64)
            .sum();
        let coupling: f64 = self
            .edges
            .iter()
            .zip(&self.weights)
            .map(|(&(a, b), &w)| w as f64 * s[a as usize] as f64 * s[b as usize] as f64)
            .sum();
        -(self.beta as f64) * (field + coupling)
    }

    /// The blockgibbs model of the spins (group [`SPIN_GROUP`], node `i` = `NodeId(i)`),
    /// with factors `bias` (Σ b_i s_i) and `coupling` (Σ J_e s_i s_j) and no β: run it with
    /// sampler β = [`IsingEBM::beta`]. Nodes in `clamped` are clamped (default value +1;
    /// set per chain with `Sampler::set_clamped`).
    pub fn to_model(&self, clamped: &[u32]) -> Result<Model, IsingError> {
        let mut b = ModelBuilder::new();
        let s = b.group(SPIN_GROUP, NodeKind::Spin, self.n)?;
        b.linear_bias("bias", &s.ids(), &self.biases);
        if !self.edges.is_empty() {
            let (a, c) = lattice::endpoints(&s, &self.edges);
            b.pair_coupling("coupling", &a, &c, &self.weights);
        }
        for (index, &node) in clamped.iter().enumerate() {
            if node as usize >= self.n {
                return Err(IsingError::IndexOutOfRange {
                    field: "clamped".into(),
                    index,
                    node,
                    nodes: self.n,
                });
            }
            b.clamp(NodeId(node), 1.0);
        }
        Ok(b.build()?)
    }
}

/// Which probability [`hinton_init`] uses for P(s_i = +1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HintonRule {
    /// σ(β b_i), as THRML's `hinton_init` (the default, for parity). This is *not* the
    /// marginal of an isolated spin: with energy −β b s that marginal is σ(2β b).
    #[default]
    Thrml,
    /// σ(2β b_i): the exact distribution of spin i when all its couplings are zero.
    Exact,
}

/// THRML's `hinton_init`: independent initial spins for `chains` chains over `nodes`, with
/// P(s_i = +1) given by `rule` (σ(β b_i) by default, see [`HintonRule`]). Returns
/// `states[chain][k]`, the value of `nodes[k]`, deterministic in `seed`.
pub fn hinton_init(
    ebm: &IsingEBM,
    nodes: &[u32],
    chains: usize,
    rule: HintonRule,
    seed: u64,
) -> Result<Vec<Vec<f32>>, IsingError> {
    check_nodes("nodes", ebm.node_count(), nodes)?;
    let scale = match rule {
        HintonRule::Thrml => 1.0,
        HintonRule::Exact => 2.0,
    };
    let p: Vec<f64> = nodes
        .iter()
        .map(|&i| sigmoid(scale * ebm.beta as f64 * ebm.biases[i as usize] as f64))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Ok((0..chains)
        .map(|_| {
            p.iter()
                .map(|&p| if rng.random::<f64>() < p { 1.0 } else { -1.0 })
                .collect()
        })
        .collect())
}

pub use crate::numeric::sigmoid;

/// A q-state Potts model on any graph: categorical nodes c_i ∈ {0..q−1} with energy
/// `−β(Σ_i θ_i[c_i] + Σ_e J_e δ(c_i, c_j))`.
#[derive(Clone, Debug, PartialEq)]
pub struct PottsEBM {
    n: usize,
    q: u32,
    edges: Vec<(u32, u32)>,
    /// `[n, q]` row-major.
    biases: Vec<f32>,
    weights: Vec<f32>,
    beta: f32,
}

impl PottsEBM {
    /// A Potts model on `n` nodes with `q ≥ 2` states; `biases` is `[n, q]` row-major.
    pub fn new(
        n: usize,
        q: u32,
        edges: Vec<(u32, u32)>,
        biases: Vec<f32>,
        weights: Vec<f32>,
        beta: f32,
    ) -> Result<PottsEBM, IsingError> {
        if n == 0 || n >= u32::MAX as usize {
            return Err(invalid("n", format!("{n} must be in 1..2^32")));
        }
        if q < 2 {
            return Err(invalid("q", format!("{q} must be at least 2")));
        }
        check_edges("edges", n, &edges)?;
        check_len("weights", edges.len(), weights.len())?;
        check_len("biases", n.saturating_mul(q as usize), biases.len())?;
        check_finite("biases", &biases)?;
        check_finite("weights", &weights)?;
        check_beta(beta)?;
        Ok(PottsEBM {
            n,
            q,
            edges,
            biases,
            weights,
            beta,
        })
    }

    /// Ferromagnetic Potts model on an `l × l` square lattice with coupling `j`, no field.
    pub fn square(q: u32, l: usize, periodic: bool, j: f32, beta: f32) -> Result<Self, IsingError> {
        check_side(l)?;
        let edges = lattice::square(l, periodic);
        let m = edges.len();
        PottsEBM::new(
            l * l,
            q,
            edges,
            vec![0.0; l * l * q as usize],
            vec![j; m],
            beta,
        )
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.n
    }

    /// Number of states q.
    pub fn q(&self) -> u32 {
        self.q
    }

    /// The edges.
    pub fn edges(&self) -> &[(u32, u32)] {
        &self.edges
    }

    /// The couplings J_e.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// The biases θ, `[n, q]` row-major.
    pub fn biases(&self) -> &[f32] {
        &self.biases
    }

    /// The inverse temperature β.
    pub fn beta(&self) -> f32 {
        self.beta
    }

    /// Energy `−β(Σ θ_i[c_i] + Σ J_e δ(c_i, c_j))` of a state of category indices.
    pub fn energy(&self, state: &[f32]) -> Result<f64, IsingError> {
        check_len("state", self.n, state.len())?;
        let kind = NodeKind::Categorical(self.q);
        if let Some(i) = state.iter().position(|&c| !kind.admits(c)) {
            return Err(invalid(
                &format!("state[{i}]"),
                format!("must be a category in 0..{}", self.q),
            ));
        }
        let q = self.q as usize;
        let field: f64 = (0..self.n)
            .map(|i| self.biases[i * q + state[i] as usize] as f64)
            .sum();
        let coupling: f64 = self
            .edges
            .iter()
            .zip(&self.weights)
            .filter(|((a, b), _)| state[*a as usize] == state[*b as usize])
            .map(|(_, &w)| w as f64)
            .sum();
        Ok(-(self.beta as f64) * (field + coupling))
    }

    /// The blockgibbs model (group `site` of categorical nodes, node `i` = `NodeId(i)`),
    /// without β: run it with sampler β = [`PottsEBM::beta`].
    pub fn to_model(&self) -> Result<Model, IsingError> {
        let mut b = ModelBuilder::new();
        let s = b.group("site", NodeKind::Categorical(self.q), self.n)?;
        if self.biases.iter().any(|&x| x != 0.0) {
            b.categorical_bias("bias", &s.ids(), &self.biases);
        }
        if !self.edges.is_empty() {
            let (a, c) = lattice::endpoints(&s, &self.edges);
            b.potts_coupling("coupling", &a, &c, &self.weights);
        }
        Ok(b.build()?)
    }
}
