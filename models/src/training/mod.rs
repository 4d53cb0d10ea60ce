//! THRML's Ising training API: [`estimate_moments`], [`IsingTrainingSpec`] and
//! [`estimate_kl_grad`] (all parameters, fresh chains) or [`estimate_kl_grad_targeted`]
//! (THRML's `bias_nodes` / `weight_edges` subsets and a persistent negative phase, in
//! [`kl`]); for training loops, [`KlGradEstimator`], which compiles the model once and
//! changes its weights between steps (the free functions are one estimate of a fresh one).
//!
//! Sign convention (THRML's): [`estimate_kl_grad`] returns the gradient of
//! KL(data ‖ model) = const − E_data[log p(v)], i.e. of the average negative log-likelihood
//! of the data (marginal over the free nodes), with respect to the couplings J and biases b:
//!
//! ∂/∂J_ij = −β (⟨s_i s_j⟩₊ − ⟨s_i s_j⟩₋),  ∂/∂b_i = −β (⟨s_i⟩₊ − ⟨s_i⟩₋),
//!
//! where ⟨·⟩₊ is the positive phase (data nodes clamped to each example, averaged over the
//! data) and ⟨·⟩₋ the negative phase (the model, with only conditioning nodes clamped). A
//! descent step `θ ← θ − η ∂` therefore increases the likelihood.

mod estimator;
pub mod kl;
mod phase;

pub use estimator::KlGradEstimator;
pub use kl::{
    GradTargets, KlGrad, KlGradEstimate, PersistentChains, estimate_kl_grad,
    estimate_kl_grad_targeted,
};

use crate::ising::{HintonRule, IsingEBM, IsingError, check_edge_nodes, check_nodes, invalid};
use blockgibbs_ir::Model;
use blockgibbs_runtime::{BackendChoice, RuntimeError, Sampler, SamplingSchedule};
use phase::{Observed, PhaseSampler, Start, free_model};
use std::sync::Arc;

/// How the free nodes of every chain start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InitMode {
    /// The sampler's own uniformly random initial state.
    #[default]
    Uniform,
    /// Independent spins from [`hinton_init`] with the given rule.
    Hinton(HintonRule),
}

/// How one sampling phase is run: chain count, seed, threads, initial state and backend.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SamplingOptions {
    /// Chains (in a phase with clamped data: chains per data example).
    pub chains: usize,
    /// Seed of the sampler and of the initial state.
    pub seed: u64,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// Initial state of the free nodes.
    pub init: InitMode,
    /// The kernels that run the chains (the JIT where it can run, by default; every backend
    /// gives the same results bit for bit).
    pub backend: BackendChoice,
}

impl Default for SamplingOptions {
    fn default() -> Self {
        SamplingOptions {
            chains: 16,
            seed: 0,
            threads: 0,
            init: InitMode::Uniform,
            backend: BackendChoice::default(),
        }
    }
}

impl SamplingOptions {
    /// A sampler of `model` with these chains, seed, threads and backend, every chain at
    /// inverse temperature `beta` (`init` is the caller's to apply).
    pub fn sampler(&self, model: Arc<Model>, beta: f32) -> Result<Sampler, RuntimeError> {
        Sampler::builder(model)
            .backend(self.backend)
            .chains(self.chains)
            .seed(self.seed)
            .threads(self.threads)
            .beta(beta)
            .build()
    }
}

/// First and second moments estimated by sampling (or computed from data).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IsingMoments {
    /// ⟨s_i⟩ for each requested node, in request order.
    pub node_means: Vec<f64>,
    /// ⟨s_i s_j⟩ for each requested edge, in request order.
    pub edge_means: Vec<f64>,
    /// Number of (observation, chain) draws averaged (data examples when computed directly).
    pub draws: u64,
}

/// THRML's `estimate_moments`: ⟨s_i⟩ for `nodes` and ⟨s_i s_j⟩ for `edges` under the model
/// (no clamping), from `options.chains` chains run with `schedule` at β = `ebm.beta()`.
pub fn estimate_moments(
    ebm: &IsingEBM,
    nodes: &[u32],
    edges: &[(u32, u32)],
    schedule: &SamplingSchedule,
    options: &SamplingOptions,
) -> Result<IsingMoments, IsingError> {
    estimate_moments_clamped(ebm, nodes, edges, schedule, options, &[], &[])
}

/// [`estimate_moments`] with `clamped` nodes held at given values: `values[g]` (one value
/// per clamped node) is the clamping of group g, and each group gets `options.chains`
/// chains; the moments average over all groups equally. With no clamped nodes, pass empty
/// slices.
pub fn estimate_moments_clamped(
    ebm: &IsingEBM,
    nodes: &[u32],
    edges: &[(u32, u32)],
    schedule: &SamplingSchedule,
    options: &SamplingOptions,
    clamped: &[u32],
    values: &[Vec<f32>],
) -> Result<IsingMoments, IsingError> {
    let n = ebm.node_count();
    check_nodes("nodes", n, nodes)?;
    check_edge_nodes("edges", n, edges)?;
    check_nodes("clamped", n, clamped)?;
    check_distinct("clamped", n, clamped)?;
    if schedule.samples == 0 {
        return Err(invalid("schedule.samples", "must be at least 1"));
    }
    if options.chains == 0 {
        return Err(invalid("chains", "must be at least 1"));
    }
    check_rows("values", clamped.len(), values)?;
    if !clamped.is_empty() && values.is_empty() {
        return Err(invalid(
            "values",
            "clamped nodes need at least one row of values",
        ));
    }
    let mut sampler = PhaseSampler::new(free_model(ebm)?, None, options, values.len(), clamped)?;
    let observed = Observed::new(nodes, edges);
    sampler.sample(ebm, Start::Restart, values, schedule, &observed)
}

/// Checks that every row has `width` entries, all ±1.
pub(crate) fn check_rows(field: &str, width: usize, rows: &[Vec<f32>]) -> Result<(), IsingError> {
    for (r, row) in rows.iter().enumerate() {
        if row.len() != width {
            return Err(IsingError::LengthMismatch {
                field: format!("{field}[{r}]"),
                expected: width,
                found: row.len(),
            });
        }
        if let Some(k) = row.iter().position(|&v| v != 1.0 && v != -1.0) {
            return Err(invalid(
                &format!("{field}[{r}][{k}]"),
                format!("{} is not a spin value (±1)", row[k]),
            ));
        }
    }
    Ok(())
}

pub(crate) fn check_distinct(field: &str, n: usize, nodes: &[u32]) -> Result<(), IsingError> {
    let mut seen = vec![false; n];
    for (index, &i) in nodes.iter().enumerate() {
        if std::mem::replace(&mut seen[i as usize], true) {
            return Err(invalid(
                &format!("{field}[{index}]"),
                format!("node {i} is listed twice (or in two roles)"),
            ));
        }
    }
    Ok(())
}

/// THRML's `IsingTrainingSpec`: which nodes are data, which are conditioning inputs, and
/// how the two phases of [`estimate_kl_grad`] sample.
///
/// Positive phase: data and conditioning nodes clamped to each example, `positive.chains`
/// chains per example, run with `schedule_positive` (skipped, with moments computed from the
/// data directly, when no node is left free). Negative phase: conditioning nodes clamped to
/// each example (`negative.chains` chains per example) or, without conditioning nodes,
/// `negative.chains` free chains, run with `schedule_negative`.
#[derive(Clone, Debug)]
pub struct IsingTrainingSpec {
    /// Nodes observed in the data (columns of the data rows, in this order).
    pub data_nodes: Vec<u32>,
    /// Nodes clamped in both phases to per-example inputs (may be empty).
    pub conditioning_nodes: Vec<u32>,
    /// Schedule of the positive (clamped) phase.
    pub schedule_positive: SamplingSchedule,
    /// Schedule of the negative (model) phase.
    pub schedule_negative: SamplingSchedule,
    /// Sampling options of the positive phase (chains per example).
    pub positive: SamplingOptions,
    /// Sampling options of the negative phase.
    pub negative: SamplingOptions,
}

impl IsingTrainingSpec {
    /// A spec with default sampling options; checks that data and conditioning nodes are in
    /// range of `ebm` and distinct.
    pub fn new(
        ebm: &IsingEBM,
        data_nodes: Vec<u32>,
        conditioning_nodes: Vec<u32>,
        schedule_positive: SamplingSchedule,
        schedule_negative: SamplingSchedule,
    ) -> Result<IsingTrainingSpec, IsingError> {
        let spec = IsingTrainingSpec {
            data_nodes,
            conditioning_nodes,
            schedule_positive,
            schedule_negative,
            positive: SamplingOptions::default(),
            negative: SamplingOptions {
                seed: 1,
                ..SamplingOptions::default()
            },
        };
        spec.validate(ebm)?;
        Ok(spec)
    }

    /// Checks the spec against a model.
    pub fn validate(&self, ebm: &IsingEBM) -> Result<(), IsingError> {
        let n = ebm.node_count();
        check_nodes("data_nodes", n, &self.data_nodes)?;
        check_nodes("conditioning_nodes", n, &self.conditioning_nodes)?;
        let all: Vec<u32> = self.clamped_positive();
        check_distinct("data_nodes+conditioning_nodes", n, &all)?;
        if self.data_nodes.is_empty() {
            return Err(invalid(
                "data_nodes",
                "training needs at least one data node",
            ));
        }
        Ok(())
    }

    pub(crate) fn clamped_positive(&self) -> Vec<u32> {
        let mut all = self.data_nodes.clone();
        all.extend_from_slice(&self.conditioning_nodes);
        all
    }
}
