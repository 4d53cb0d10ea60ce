//! THRML's `estimate_kl_grad`: the two-phase Monte Carlo gradient of KL(data ‖ model), for
//! all parameters ([`estimate_kl_grad`]) or, as THRML's signature has it, for chosen
//! `bias_nodes` and `weight_edges` with a negative phase that starts from given chains and
//! hands its final chains back ([`estimate_kl_grad_targeted`]).
//!
//! **Persistence.** THRML passes `init_state_negative` in; here the negative phase also
//! returns its final state *and* the sweep counter that addresses the runtime's random
//! numbers ([`PersistentChains`]). Resuming from them with the same seed continues the very
//! stream one longer run would draw, so k calls of T sweeps end where one call of kT sweeps
//! ends, bit for bit — a persistent-contrastive-divergence negative phase that does not
//! depend on how it was cut into calls.

use std::collections::HashSet;

use super::{IsingMoments, IsingTrainingSpec, KlGradEstimator, check_distinct, check_rows};
use crate::ising::{IsingEBM, IsingError, check_edge_nodes, check_nodes, invalid};

/// What [`estimate_kl_grad`] and [`estimate_kl_grad_targeted`] return: the gradients and
/// both phases' moments, for all nodes (biases, in node order) and all edges of the model
/// (weights, in edge order), or for the requested [`GradTargets`] in request order.
#[derive(Clone, Debug, PartialEq)]
pub struct KlGrad {
    /// ∂KL/∂J_e = −β(⟨s_i s_j⟩₊ − ⟨s_i s_j⟩₋), one per (requested) edge.
    pub weights: Vec<f64>,
    /// ∂KL/∂b_i = −β(⟨s_i⟩₊ − ⟨s_i⟩₋), one per (requested) node.
    pub biases: Vec<f64>,
    /// Positive-phase moments.
    pub positive: IsingMoments,
    /// Negative-phase moments.
    pub negative: IsingMoments,
}

/// THRML's `bias_nodes` and `weight_edges`: the parameters whose gradients are wanted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GradTargets {
    /// Nodes whose bias gradient is estimated (distinct, in range).
    pub bias_nodes: Vec<u32>,
    /// Edges `(i, j)` of the model whose coupling gradient is estimated, in either
    /// orientation (distinct as unordered pairs).
    pub weight_edges: Vec<(u32, u32)>,
}

impl GradTargets {
    /// Every node and every edge of `ebm`, in the model's order.
    pub fn all(ebm: &IsingEBM) -> GradTargets {
        GradTargets {
            bias_nodes: (0..ebm.node_count() as u32).collect(),
            weight_edges: ebm.edges().to_vec(),
        }
    }

    /// Checks the targets against `ebm`: nodes in range and listed once; edges in range,
    /// edges of the model, and listed once. Errors name `bias_nodes[k]` / `weight_edges[k]`.
    pub fn validate(&self, ebm: &IsingEBM) -> Result<(), IsingError> {
        let n = ebm.node_count();
        check_nodes("bias_nodes", n, &self.bias_nodes)?;
        check_distinct("bias_nodes", n, &self.bias_nodes)?;
        check_edge_nodes("weight_edges", n, &self.weight_edges)?;
        let unordered = |(a, b): (u32, u32)| (a.min(b), a.max(b));
        let model: HashSet<(u32, u32)> = ebm.edges().iter().map(|&e| unordered(e)).collect();
        let mut seen = HashSet::with_capacity(self.weight_edges.len());
        for (k, &(a, b)) in self.weight_edges.iter().enumerate() {
            let field = format!("weight_edges[{k}]");
            if !model.contains(&unordered((a, b))) {
                return Err(invalid(
                    &field,
                    format!("({a}, {b}) is not an edge of the model"),
                ));
            }
            if !seen.insert(unordered((a, b))) {
                return Err(invalid(&field, format!("edge ({a}, {b}) is listed twice")));
            }
        }
        Ok(())
    }
}

/// Chains carried from one negative phase to the next: every chain's values of all nodes
/// (indexed by node, ±1) and the sweeps done so far. Values of clamped (conditioning) nodes
/// are overwritten by each call's conditioning values.
#[derive(Clone, Debug, PartialEq)]
pub struct PersistentChains {
    /// `states[c][i]`: node `i` of chain `c`. Chain order is the sampler's: with
    /// conditioning, the chains of example 0 first, then those of example 1, …
    pub states: Vec<Vec<f32>>,
    /// The runtime's sweep counter after these states (it addresses the random numbers).
    pub sweeps_done: u64,
}

impl PersistentChains {
    /// Checks `chains` rows of `n` spin values.
    pub(crate) fn check(&self, n: usize, chains: usize) -> Result<(), IsingError> {
        if self.states.len() != chains {
            return Err(IsingError::LengthMismatch {
                field: "negative_init.states".into(),
                expected: chains,
                found: self.states.len(),
            });
        }
        check_rows("negative_init.states", n, &self.states)
    }
}

/// What [`estimate_kl_grad_targeted`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct KlGradEstimate {
    /// The gradients and moments of the requested targets.
    pub grad: KlGrad,
    /// The negative phase's final chains, to pass as `negative_init` to the next call.
    pub negative_chains: PersistentChains,
}

/// THRML's `estimate_kl_grad`: the gradient of KL(data ‖ model) (the mean negative
/// log-likelihood of `data` up to a constant) with respect to every coupling and bias of
/// `ebm`, with the sign convention of the [module docs](super).
///
/// `data[k]` holds the values (±1) of `spec.data_nodes` in example k; `conditioning[k]`
/// those of `spec.conditioning_nodes` (pass `&[]` when there are none).
///
/// One estimate of a fresh [`KlGradEstimator`]; a training loop should keep one estimator
/// instead, which compiles the model once.
pub fn estimate_kl_grad(
    ebm: &IsingEBM,
    spec: &IsingTrainingSpec,
    data: &[Vec<f32>],
    conditioning: &[Vec<f32>],
) -> Result<KlGrad, IsingError> {
    KlGradEstimator::new(ebm, spec)?.estimate(ebm, data, conditioning)
}

/// [`estimate_kl_grad`] with THRML's full argument list: gradients only for
/// `targets.bias_nodes` and `targets.weight_edges` (in their order), and a persistent
/// negative phase that starts from `negative_init` (its values and sweep counter; the
/// spec's `negative.init` is then ignored) or, if `None`, from `spec.negative.init`, and
/// returns its final chains. Pass the same `spec.negative.seed` and chain count (and
/// number of conditioning examples) from call to call.
///
/// With the same seeds the gradients are exactly the corresponding entries of
/// [`estimate_kl_grad`]'s: which moments are observed does not change any draw. Calls
/// chained through `negative_chains` give exactly the estimates of one
/// [`KlGradEstimator`] (this function is one estimate of a fresh one).
pub fn estimate_kl_grad_targeted(
    ebm: &IsingEBM,
    spec: &IsingTrainingSpec,
    targets: &GradTargets,
    data: &[Vec<f32>],
    conditioning: &[Vec<f32>],
    negative_init: Option<&PersistentChains>,
) -> Result<KlGradEstimate, IsingError> {
    let mut estimator = KlGradEstimator::targeted(ebm, spec, targets)?;
    if let Some(chains) = negative_init {
        estimator.resume_from(chains.clone());
    }
    let grad = estimator.estimate(ebm, data, conditioning)?;
    Ok(KlGradEstimate {
        grad,
        negative_chains: estimator.negative_chains()?,
    })
}

/// Moments of fully observed examples: `rows[k][c]` is the value of `columns[c]`.
pub(crate) fn moments_from_data(
    n: usize,
    nodes: &[u32],
    edges: &[(u32, u32)],
    columns: &[u32],
    rows: &[Vec<f32>],
) -> IsingMoments {
    let mut state = vec![0.0f64; n];
    let mut node_sum = vec![0.0f64; nodes.len()];
    let mut edge_sum = vec![0.0f64; edges.len()];
    for row in rows {
        for (&c, &v) in columns.iter().zip(row) {
            state[c as usize] = v as f64;
        }
        for (s, &i) in node_sum.iter_mut().zip(nodes) {
            *s += state[i as usize];
        }
        for (s, &(a, b)) in edge_sum.iter_mut().zip(edges) {
            *s += state[a as usize] * state[b as usize];
        }
    }
    let count = rows.len() as f64;
    IsingMoments {
        node_means: node_sum.iter().map(|s| s / count).collect(),
        edge_means: edge_sum.iter().map(|s| s / count).collect(),
        draws: rows.len() as u64,
    }
}
