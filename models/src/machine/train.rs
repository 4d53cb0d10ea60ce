//! Training of Boltzmann machines of any depth (Salakhutdinov & Hinton, "Deep Boltzmann
//! machines", 2009): mean-field positive phase, PCD negative phase on the blockgibbs runtime,
//! a mini-batch [`fit_deep`] loop with optional layerwise [`pretrain`]ing first.
//!
//! **Gradient.** [`DeepGradientEstimator::estimate`] returns an estimate of the gradient of
//! the mean *negative* log-likelihood `E_model[∂(−E)/∂θ] − E_data[∂(−E)/∂θ]` (so optimisers
//! descend it) for every parameter: binary/spin biases, categorical biases, Gaussian `loc`
//! and `log_var`, weights. The data term uses the mean-field posterior of each row
//! ([`mean_field_positive_phase`]; exact for two layers). The model term advances
//! persistent fantasy particles `k` block-Gibbs sweeps of the whole machine on the runtime
//! (`markov_chain` mode, reference backend) and Rao–Blackwellises them
//! ([`chain_statistics`]: odd layers replaced by their conditional expectations given the
//! even ones). Strictly this is the gradient of the variational bound `mean ELBO − ln Z`
//! for deep machines, as in the paper.
//!
//! **Penalties.** [`Penalty`] adds `l2 · W + l1 · sign(W)` to the weight gradients (not to
//! biases or variances), as every machine estimator does.

use blockgibbs_runtime::{BackendChoice, SamplerOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::gradient::MachineGradient;
use super::meanfield::{MeanFieldOptions, chain_statistics, check_rows, mean_field_positive_phase};
use super::pretrain::{PretrainOptions, pretrain};
use super::{BoltzmannMachine, MachineError, MachineSampler, Penalty, SamplingMode};
use crate::optim::{LrSchedule, Method, Minibatches, Optimizer};

fn invalid(field: &'static str, reason: impl Into<String>) -> MachineError {
    MachineError::InvalidOption {
        field,
        reason: reason.into(),
    }
}

/// A gradient estimate of a machine of any depth with both phases.
#[derive(Debug, Clone, PartialEq)]
pub struct DeepGradientEstimate {
    /// `negative − positive`, plus the penalty gradient on the weights.
    pub gradient: MachineGradient,
    /// Mean-field data statistics.
    pub positive: MachineGradient,
    /// Rao–Blackwellised statistics of the persistent chains.
    pub negative: MachineGradient,
    /// Mean over the batch of the mean-field ELBO (a lower bound on `ln Σ_h exp(−E(v, h))`).
    pub mean_elbo: f64,
}

/// PCD gradient estimator for machines of any depth (see the [module](self)). The runtime
/// sampler holding the persistent chains is made at the first estimate and kept: later
/// estimates give it the current parameters ([`MachineSampler::set_machine`]) and a fresh
/// seed from the estimator's ChaCha8 stream, so nothing is compiled again and results are
/// deterministic for a seed. By default it runs on the best backend
/// ([`DeepGradientEstimator::backend`] picks another).
pub struct DeepGradientEstimator {
    k: usize,
    chains: usize,
    mean_field: MeanFieldOptions,
    penalty: Penalty,
    rng: ChaCha8Rng,
    fantasy: Vec<Vec<f32>>,
    backend: BackendChoice,
    threads: usize,
    sampler: Option<MachineSampler>,
}

impl std::fmt::Debug for DeepGradientEstimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeepGradientEstimator")
            .field("k", &self.k)
            .field("chains", &self.chains)
            .field("mean_field", &self.mean_field)
            .field("penalty", &self.penalty)
            .field("fantasy", &self.fantasy)
            .field("backend", &self.backend)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl DeepGradientEstimator {
    /// A validated estimator: `k ≥ 1` Gibbs sweeps per estimate, `chains ≥ 1` persistent
    /// chains, valid mean-field options and penalty; seeded with `seed`.
    pub fn new(
        k: usize,
        chains: usize,
        mean_field: MeanFieldOptions,
        penalty: Penalty,
        seed: u64,
    ) -> Result<DeepGradientEstimator, MachineError> {
        if k == 0 {
            return Err(invalid("k", "at least one Gibbs sweep is needed"));
        }
        if chains == 0 {
            return Err(invalid("chains", "PCD needs at least one chain"));
        }
        mean_field.validate()?;
        penalty.validate()?;
        Ok(DeepGradientEstimator {
            k,
            chains,
            mean_field,
            penalty,
            rng: ChaCha8Rng::seed_from_u64(seed),
            fantasy: Vec::new(),
            backend: BackendChoice::default(),
            threads: 1,
            sampler: None,
        })
    }

    /// The negative phase's sampler, once the first estimate has made it.
    pub fn sampler(&self) -> Option<&MachineSampler> {
        self.sampler.as_ref()
    }

    /// The estimator with its negative phase on `backend` (every backend gives the same
    /// estimates bit for bit; the default picks the JIT where it runs).
    pub fn backend(mut self, backend: BackendChoice) -> DeepGradientEstimator {
        self.backend = backend;
        self
    }

    /// The estimator with its negative phase on `threads` threads (default 1; 0 is one per
    /// core). Estimates do not depend on it.
    pub fn threads(mut self, threads: usize) -> DeepGradientEstimator {
        self.threads = threads;
        self
    }

    /// The persistent chains' layers (`chains × n_l` each); empty before the first estimate
    /// (the runtime then starts from its own seeded random state).
    pub fn fantasy_particles(&self) -> &[Vec<f32>] {
        &self.fantasy
    }

    /// Forgets the persistent chains (needed after changing the machine's shape).
    pub fn reset_chains(&mut self) {
        self.fantasy.clear();
        self.sampler = None;
    }

    /// Advances the persistent chains `k` sweeps under `machine` and returns their
    /// Rao–Blackwellised statistics: the negative phase alone.
    pub fn negative_phase(
        &mut self,
        machine: &BoltzmannMachine,
    ) -> Result<MachineGradient, MachineError> {
        let options = SamplerOptions {
            chains: self.chains,
            seed: self.rng.random(),
            threads: self.threads,
            beta: 1.0,
        };
        let sampler = MachineSampler::reuse(&mut self.sampler, machine, options, self.backend)?;
        sampler.run(SamplingMode::MarkovChain, self.k as u64)?;
        let layers = sampler.all_layer_values()?;
        let stats = chain_statistics(machine, &layers)?;
        self.fantasy = layers;
        Ok(stats)
    }

    /// Estimates the gradient of the mean negative log-likelihood of `batch` (flat, `n_0`
    /// columns) plus the penalty, advancing the persistent chains.
    pub fn estimate(
        &mut self,
        machine: &BoltzmannMachine,
        batch: &[f32],
    ) -> Result<DeepGradientEstimate, MachineError> {
        let phase = mean_field_positive_phase(machine, batch, &self.mean_field)?;
        let negative = self.negative_phase(machine)?;
        let mut gradient = MachineGradient::difference(&negative, &phase.stats);
        for (g, w) in gradient.weights.iter_mut().zip(machine.weights()) {
            self.penalty.apply(w, g);
        }
        Ok(DeepGradientEstimate {
            gradient,
            positive: phase.stats,
            negative,
            mean_elbo: phase.mean_elbo,
        })
    }
}

/// Settings of [`fit_deep`].
#[derive(Debug, Clone, PartialEq)]
pub struct DeepTrainOptions {
    /// Gibbs sweeps of the persistent chains per mini-batch (≥ 1).
    pub k: usize,
    /// Number of persistent chains (≥ 1).
    pub chains: usize,
    /// The positive phase's mean-field iteration.
    pub mean_field: MeanFieldOptions,
    /// Weight penalties.
    pub penalty: Penalty,
    /// Update rule (SGD, momentum, Adam).
    pub method: Method,
    /// Learning-rate schedule (indexed by optimiser step, i.e. mini-batch).
    pub lr: LrSchedule,
    /// Passes over the data (≥ 1).
    pub epochs: usize,
    /// Examples per mini-batch (≥ 1; the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Seed of the shuffling stream and (via stream 1) of the estimator.
    pub seed: u64,
    /// If given, [`pretrain`] layerwise with these options first, then fine-tune jointly.
    pub pretrain: Option<PretrainOptions>,
    /// The kernels of the negative phase (results are the same bit for bit on every one).
    pub backend: BackendChoice,
    /// Threads of the negative phase's sampler (0: one per core); results do not depend on it.
    pub threads: usize,
}

impl Default for DeepTrainOptions {
    /// PCD-1 with 100 chains, default mean field, no penalty, SGD at 0.01, 10 epochs of
    /// batches of 100, seed 0, no pretraining, the best backend on one thread.
    fn default() -> Self {
        DeepTrainOptions {
            k: 1,
            chains: 100,
            mean_field: MeanFieldOptions::default(),
            penalty: Penalty::default(),
            method: Method::Sgd,
            lr: LrSchedule::Constant(0.01),
            epochs: 10,
            batch_size: 100,
            seed: 0,
            pretrain: None,
            backend: BackendChoice::default(),
            threads: 1,
        }
    }
}

/// What [`fit_deep`] reports after each epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct DeepEpochReport {
    /// Epoch number, starting at 1.
    pub epoch: usize,
    /// Optimiser steps taken so far (fine-tuning only).
    pub steps: u64,
    /// Mean over the epoch's batches of the Euclidean norm of the gradient estimate.
    pub mean_grad_norm: f64,
    /// Mean over the epoch's batches of their mean-field ELBO, taken before each step.
    pub mean_elbo: f64,
}

/// Per-epoch callback of [`fit_deep`]: the report and the machine after that epoch.
pub type DeepEpochCallback<'a> = &'a mut dyn FnMut(&DeepEpochReport, &BoltzmannMachine);

fn optimizer_error(e: impl std::fmt::Display) -> MachineError {
    invalid("method/lr", e.to_string())
}

/// Trains `machine` in place on `data` (flat layer-0 states): optionally [`pretrain`]s it
/// first, then each epoch shuffles the rows (ChaCha8 seeded with `options.seed`), splits
/// them into mini-batches and takes one [`Optimizer`] step per batch on
/// [`BoltzmannMachine::flat_params`] (kept in `f64` between steps) along the
/// [`DeepGradientEstimator`] estimate. `callback`, if given, runs after every epoch.
/// Returns every epoch's report. On error `machine` holds the parameters of the last
/// completed step. Deterministic for a seed.
///
/// ```
/// use blockgibbs_models::machine::{
///     BoltzmannMachine, DeepTrainOptions, Layer, UnitKind, deep_average_log_likelihood, fit_deep,
/// };
/// use blockgibbs_models::optim::{LrSchedule, Method};
/// let data = [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0].repeat(20); // 40 rows of 4 units
/// let layers = [4, 3, 2].map(|n| Layer::zeros(UnitKind::Binary, n).unwrap()).to_vec();
/// let mut dbm = BoltzmannMachine::random(layers, 0.1, 1).unwrap();
/// let before = deep_average_log_likelihood(&dbm, &data).unwrap(); // ≈ 4 ln ½ ≈ −2.77
/// let options = DeepTrainOptions {
///     k: 2,
///     chains: 50,
///     method: Method::adam(),
///     lr: LrSchedule::Constant(0.05),
///     epochs: 20,
///     batch_size: 10,
///     ..DeepTrainOptions::default()
/// };
/// let reports = fit_deep(&mut dbm, &data, &options, None).unwrap();
/// assert_eq!(reports.len(), 20);
/// let after = deep_average_log_likelihood(&dbm, &data).unwrap();
/// assert!(after > before + 1.0, "{before} → {after}");
/// ```
pub fn fit_deep(
    machine: &mut BoltzmannMachine,
    data: &[f32],
    options: &DeepTrainOptions,
    mut callback: Option<DeepEpochCallback<'_>>,
) -> Result<Vec<DeepEpochReport>, MachineError> {
    let n0 = machine.layers()[0].len();
    check_rows(machine, data)?;
    if options.epochs == 0 {
        return Err(invalid("epochs", "at least one epoch is needed"));
    }
    if options.batch_size == 0 {
        return Err(invalid("batch_size", "must be at least 1"));
    }
    let mut optimizer = Optimizer::new(options.method, options.lr).map_err(optimizer_error)?;
    let mut seeds = ChaCha8Rng::seed_from_u64(options.seed);
    seeds.set_stream(1);
    let mut estimator = DeepGradientEstimator::new(
        options.k,
        options.chains,
        options.mean_field,
        options.penalty,
        seeds.random(),
    )?
    .backend(options.backend)
    .threads(options.threads);
    if let Some(p) = &options.pretrain {
        *machine = pretrain(machine, data, p)?;
    }
    let mut shuffle_rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut params = machine.flat_params();
    let mut batches = Minibatches::new(data, n0, options.batch_size);
    let mut reports = Vec::with_capacity(options.epochs);
    for epoch in 1..=options.epochs {
        let (mut norm_sum, mut elbo_sum) = (0.0, 0.0);
        let n_batches = batches.epoch(&mut shuffle_rng, |batch| {
            let est = estimator.estimate(machine, batch)?;
            let grad = est.gradient.flatten();
            norm_sum += grad.iter().map(|g| g * g).sum::<f64>().sqrt();
            elbo_sum += est.mean_elbo;
            let mut next = params.clone();
            optimizer.step(&mut next, &grad).map_err(optimizer_error)?;
            *machine = machine.with_flat_params(&next)?;
            params = next;
            Ok::<(), MachineError>(())
        })?;
        let report = DeepEpochReport {
            epoch,
            steps: optimizer.steps(),
            mean_grad_norm: norm_sum / n_batches as f64,
            mean_elbo: elbo_sum / n_batches as f64,
        };
        if let Some(cb) = callback.as_mut() {
            cb(&report, machine);
        }
        reports.push(report);
    }
    Ok(reports)
}
