//! Training of [`BinaryRbm`]s by contrastive divergence (CD-k) and persistent contrastive
//! divergence (PCD), with L2 / L1 penalties, hinton and Glorot initialisation and a
//! mini-batch [`fit`] loop on top of [`Optimizer`] (issue 4, "Training").
//!
//! An RBM trains as the two-layer [`BoltzmannMachine`] it converts to, bit for bit: the
//! phase statistics are [`machine::positive_phase`] and [`machine::exact_model_stats`], the
//! estimator is [`crate::machine::MachineGradientEstimator`] (wrapped by
//! [`GradientEstimator`], which adds the [`Penalty`]), and [`Sampling`], [`Penalty`] and
//! [`DrivenBeta`] are the machine module's. This module keeps the RBM's parameter layout
//! (`[W, a, b]`, [`PhaseStats`]) and its errors ([`TrainError`]).
//!
//! **Gradient.** [`GradientEstimator::estimate`] returns the gradient of the mean *negative*
//! log-likelihood of a batch, so optimisers descend it:
//! `∂(−mean log p)/∂W = E_model[v hᵀ] − E_data[v hᵀ]` (likewise `v` for `a`, `h` for `b`).
//! The positive phase is Rao–Blackwellised: `E[h | v]` replaces sampled hiddens. The negative
//! phase runs `k` block-Gibbs sweeps `v → h → v` and is Rao–Blackwellised in its last layer:
//! its statistics use the final visible samples `v⁻` and `E[h | v⁻]`.
//!
//! **Chains.** CD-k starts one chain at every example of the batch. PCD keeps
//! [`Sampling::Pcd::chains`] persistent fantasy particles across calls, initialised with
//! independent uniform bits on first use; [`Sampling::DrivenPcd`] also gives each of them a
//! driven inverse temperature ([`super::driven`]).
//!
//! **Penalties.** [`Penalty`] adds `l2 · W + l1 · sign(W)` (with `sign(0) = 0`) to the weight
//! gradient, i.e. the gradient of `l2/2 ‖W‖² + l1 ‖W‖₁`; biases are not penalised.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};
use thiserror::Error;

pub use super::estimator::GradientEstimator;
use super::{BinaryRbm, MAX_EXACT_UNITS, RbmError};
use crate::ising::IsingError;
use crate::machine::{self, BoltzmannMachine, MachineGradient};
pub use crate::machine::{DrivenBeta, Penalty, Sampling};
use crate::optim::{LrSchedule, Method, Minibatches, Optimizer};
use blockgibbs_runtime::BackendChoice;

/// What can go wrong when estimating gradients or training.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TrainError {
    /// Bad data or parameters (shape, non-binary, non-finite, …).
    #[error(transparent)]
    Rbm(#[from] RbmError),
    /// The optimiser rejected its settings or a step (e.g. a NaN learning rate); boxed.
    #[error("optimiser: {0}")]
    Optimizer(Box<IsingError>),
    /// The runtime sampler rejected a call (boxed).
    #[error("sampling: {0}")]
    Sampler(Box<crate::machine::MachineError>),
    /// An invalid training or sampling option.
    #[error("training option `{field}`: {reason}")]
    InvalidOption {
        /// The option at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl From<IsingError> for TrainError {
    fn from(e: IsingError) -> Self {
        TrainError::Optimizer(Box::new(e))
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> TrainError {
    TrainError::InvalidOption {
        field,
        reason: reason.into(),
    }
}

/// Sufficient statistics of one phase: `E[v hᵀ]` (row-major `n_visible × n_hidden`),
/// `E[v]` and `E[h]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseStats {
    /// `E[v_i h_j]` at `i * n_hidden + j`.
    pub vh: Vec<f64>,
    /// `E[v_i]`.
    pub v: Vec<f64>,
    /// `E[h_j]`.
    pub h: Vec<f64>,
}

/// A gradient of the mean negative log-likelihood (plus penalties), split by parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct RbmGradient {
    /// `∂/∂W`, row-major like [`BinaryRbm::weights`].
    pub weights: Vec<f64>,
    /// `∂/∂a`.
    pub visible_bias: Vec<f64>,
    /// `∂/∂b`.
    pub hidden_bias: Vec<f64>,
}

impl PhaseStats {
    /// The statistics of a binary two-layer machine in the RBM's layout: `E[v hᵀ]` is its
    /// one weight matrix's, `E[v]` and `E[h]` its two layers' bias statistics.
    pub(super) fn of_machine(stats: MachineGradient) -> PhaseStats {
        let mut bias = stats.bias.into_iter();
        PhaseStats {
            v: bias.next().unwrap_or_default(),
            h: bias.next().unwrap_or_default(),
            vh: stats.weights.into_iter().next().unwrap_or_default(),
        }
    }
}

impl RbmGradient {
    /// `negative − positive`, then the penalty at `weights`.
    pub(super) fn from_phases(
        positive: &PhaseStats,
        negative: &PhaseStats,
        penalty: &Penalty,
        weights: &[f32],
    ) -> RbmGradient {
        let diff = |n: &[f64], p: &[f64]| n.iter().zip(p).map(|(n, p)| n - p).collect();
        let mut g = RbmGradient {
            weights: diff(&negative.vh, &positive.vh),
            visible_bias: diff(&negative.v, &positive.v),
            hidden_bias: diff(&negative.h, &positive.h),
        };
        penalty.apply(weights, &mut g.weights);
        g
    }

    /// The gradient as one vector `[W, a, b]`, the layout [`fit`] hands to [`Optimizer`].
    pub fn flatten(&self) -> Vec<f64> {
        let mut out = self.weights.clone();
        out.extend_from_slice(&self.visible_bias);
        out.extend_from_slice(&self.hidden_bias);
        out
    }
}

/// A gradient estimate together with both phases' statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientEstimate {
    /// `negative − positive` plus the penalty gradient.
    pub gradient: RbmGradient,
    /// Data statistics with `E[h | v]` (Rao–Blackwellised).
    pub positive: PhaseStats,
    /// Model statistics from the chains' final `v⁻` and `E[h | v⁻]`.
    pub negative: PhaseStats,
}

/// The positive phase of a binary batch: means over examples of `v E[h|v]ᵀ`, `v`, `E[h|v]`
/// (the two-layer machine's [`machine::positive_phase`]).
pub fn positive_phase(rbm: &BinaryRbm, batch: &[f32]) -> Result<PhaseStats, TrainError> {
    rbm.check_data(batch, true)?;
    let machine = BoltzmannMachine::try_from(rbm)?;
    Ok(PhaseStats::of_machine(machine::positive_phase(
        &machine, batch,
    )?))
}

/// Exact model statistics `E_model[v hᵀ]`, `E[v]`, `E[h]` by enumerating the smaller layer
/// (the visible one on a tie) and summing the other analytically (the two-layer machine's
/// [`machine::exact_model_stats`]); errors with [`RbmError::TooLargeForExact`] beyond
/// [`MAX_EXACT_UNITS`] units.
pub fn exact_model_stats(rbm: &BinaryRbm) -> Result<PhaseStats, TrainError> {
    let small = rbm.n_visible().min(rbm.n_hidden());
    if small > MAX_EXACT_UNITS {
        return Err(RbmError::TooLargeForExact {
            units: small,
            limit: MAX_EXACT_UNITS,
        }
        .into());
    }
    let machine = BoltzmannMachine::try_from(rbm)?;
    Ok(PhaseStats::of_machine(machine::exact_model_stats(
        &machine,
    )?))
}

/// The exact gradient of the mean negative log-likelihood of binary `data` plus `penalty`,
/// from [`positive_phase`] and [`exact_model_stats`].
pub fn exact_gradient(
    rbm: &BinaryRbm,
    data: &[f32],
    penalty: &Penalty,
) -> Result<GradientEstimate, TrainError> {
    penalty.validate()?;
    let positive = positive_phase(rbm, data)?;
    let negative = exact_model_stats(rbm)?;
    let gradient = RbmGradient::from_phases(&positive, &negative, penalty, rbm.weights());
    Ok(GradientEstimate {
        gradient,
        positive,
        negative,
    })
}

fn to_f64(xs: &[f32]) -> Vec<f64> {
    xs.iter().map(|&x| x as f64).collect()
}

/// Data marginals are clipped to `[HINTON_CLIP, 1 − HINTON_CLIP]` before the logit in
/// [`hinton_init`], so constant columns give a finite bias (±6.9).
pub const HINTON_CLIP: f64 = 1e-3;

/// Hinton's initialisation ("A practical guide to training RBMs", §8): `W_ij ~ N(0, 0.01²)`
/// (ChaCha8 seeded with `seed`), visible bias `a_i = log(p_i / (1 − p_i))` with `p_i` the
/// mean of column `i` of the binary `data` (clipped by [`HINTON_CLIP`]), hidden bias 0.
pub fn hinton_init(
    n_visible: usize,
    n_hidden: usize,
    data: &[f32],
    seed: u64,
) -> Result<BinaryRbm, TrainError> {
    let zeros = BinaryRbm::zeros(n_visible, n_hidden)?;
    let rows = zeros.check_data(data, true)?;
    let mut p = vec![0.0f64; n_visible];
    for v in data.chunks_exact(n_visible) {
        for (pi, &x) in p.iter_mut().zip(v) {
            *pi += x as f64;
        }
    }
    let a = p
        .iter()
        .map(|&s| {
            let m = (s / rows as f64).clamp(HINTON_CLIP, 1.0 - HINTON_CLIP);
            (m / (1.0 - m)).ln() as f32
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(0.0f64, 0.01).map_err(|e| invalid("weight_std", e.to_string()))?;
    let w = (0..n_visible * n_hidden)
        .map(|_| normal.sample(&mut rng) as f32)
        .collect();
    Ok(BinaryRbm::new(
        n_visible,
        n_hidden,
        w,
        a,
        vec![0.0; n_hidden],
    )?)
}

/// Glorot (Xavier) uniform initialisation: `W_ij ~ U(−r, r)` with `r = √(6 / (n_v + n_h))`
/// (ChaCha8 seeded with `seed`), both biases 0.
pub fn glorot_init(n_visible: usize, n_hidden: usize, seed: u64) -> Result<BinaryRbm, TrainError> {
    BinaryRbm::zeros(n_visible, n_hidden)?; // validates the sizes
    let r = (6.0 / (n_visible + n_hidden) as f64).sqrt();
    let uniform = Uniform::new(-r, r).map_err(|e| invalid("glorot range", e.to_string()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w = (0..n_visible * n_hidden)
        .map(|_| uniform.sample(&mut rng) as f32)
        .collect();
    Ok(BinaryRbm::new(
        n_visible,
        n_hidden,
        w,
        vec![0.0; n_visible],
        vec![0.0; n_hidden],
    )?)
}

/// Settings of [`fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// CD-k or PCD.
    pub sampling: Sampling,
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
    /// Seed of the shuffling stream and (via stream 1) of the Gibbs sampler.
    pub seed: u64,
    /// The kernels of the Gibbs sweeps (one thread; results are the same bit for bit on
    /// every backend).
    pub backend: BackendChoice,
}

impl Default for TrainOptions {
    /// PCD-1 with 100 chains, no penalty, SGD at 0.05, 10 epochs of batches of 100, seed 0,
    /// the best backend.
    fn default() -> Self {
        TrainOptions {
            sampling: Sampling::Pcd { k: 1, chains: 100 },
            penalty: Penalty::default(),
            method: Method::Sgd,
            lr: LrSchedule::Constant(0.05),
            epochs: 10,
            batch_size: 100,
            seed: 0,
            backend: BackendChoice::default(),
        }
    }
}

/// What [`fit`] reports after each epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochReport {
    /// Epoch number, starting at 1.
    pub epoch: usize,
    /// Optimiser steps taken so far.
    pub steps: u64,
    /// Mean over the epoch's batches of the Euclidean norm of the gradient estimate.
    pub mean_grad_norm: f64,
}

/// Per-epoch callback of [`fit`]: the report and the machine after that epoch.
pub type EpochCallback<'a> = &'a mut dyn FnMut(&EpochReport, &BinaryRbm);

/// Trains `rbm` in place on binary `data` (flat, `n_visible` columns): each epoch shuffles
/// the examples (ChaCha8 seeded with `options.seed`), splits them into mini-batches, and
/// takes one [`Optimizer`] step per batch on the parameter vector `[W, a, b]` (kept in `f64`
/// between steps) along the [`GradientEstimator`] estimate. `callback`, if given, is called
/// after every epoch (e.g. to record the exact log-likelihood). Returns every epoch's
/// report. On error `rbm` holds the parameters of the last completed step.
///
/// ```
/// use blockgibbs_models::optim::{LrSchedule, Method};
/// use blockgibbs_models::rbm::{Sampling, TrainOptions, average_log_likelihood, fit, hinton_init};
/// let data = [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0].repeat(20); // 40 rows of 4 units
/// let mut rbm = hinton_init(4, 2, &data, 0).unwrap();
/// let before = average_log_likelihood(&rbm, &data).unwrap(); // 4 ln ½ ≈ −2.77
/// let options = TrainOptions {
///     sampling: Sampling::Pcd { k: 1, chains: 20 },
///     method: Method::adam(),
///     lr: LrSchedule::Constant(0.05),
///     epochs: 30,
///     batch_size: 10,
///     ..TrainOptions::default()
/// };
/// let mut curve = Vec::new();
/// let mut record = |_: &_, m: &_| curve.push(average_log_likelihood(m, &data).unwrap());
/// fit(&mut rbm, &data, &options, Some(&mut record)).unwrap();
/// assert_eq!(curve.len(), 30);
/// assert!(curve[29] > before + 1.0, "{before} → {}", curve[29]);
/// ```
pub fn fit(
    rbm: &mut BinaryRbm,
    data: &[f32],
    options: &TrainOptions,
    mut callback: Option<EpochCallback<'_>>,
) -> Result<Vec<EpochReport>, TrainError> {
    let nv = rbm.n_visible();
    rbm.check_data(data, true)?;
    if options.epochs == 0 {
        return Err(invalid("epochs", "at least one epoch is needed"));
    }
    if options.batch_size == 0 {
        return Err(invalid("batch_size", "must be at least 1"));
    }
    let mut optimizer = Optimizer::new(options.method, options.lr)?;
    let mut sampler_seed = ChaCha8Rng::seed_from_u64(options.seed);
    sampler_seed.set_stream(1);
    let mut estimator =
        GradientEstimator::new(options.sampling, options.penalty, sampler_seed.random())?
            .backend(options.backend);
    let mut shuffle_rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut params = to_f64(&[rbm.weights(), rbm.visible_bias(), rbm.hidden_bias()].concat());
    let (n_w, nh) = (rbm.weights().len(), rbm.n_hidden());
    let mut batches = Minibatches::new(data, nv, options.batch_size);
    let mut reports = Vec::with_capacity(options.epochs);
    for epoch in 1..=options.epochs {
        let mut norm_sum = 0.0;
        let n_batches = batches.epoch(&mut shuffle_rng, |batch| {
            let grad = estimator.estimate(rbm, batch)?.gradient.flatten();
            norm_sum += grad.iter().map(|g| g * g).sum::<f64>().sqrt();
            let mut next = params.clone();
            optimizer.step(&mut next, &grad)?;
            let f = |xs: &[f64]| xs.iter().map(|&x| x as f32).collect::<Vec<f32>>();
            *rbm = BinaryRbm::new(
                nv,
                nh,
                f(&next[..n_w]),
                f(&next[n_w..n_w + nv]),
                f(&next[n_w + nv..]),
            )?;
            params = next;
            Ok::<(), TrainError>(())
        })?;
        let report = EpochReport {
            epoch,
            steps: optimizer.steps(),
            mean_grad_norm: norm_sum / n_batches as f64,
        };
        if let Some(cb) = callback.as_mut() {
            cb(&report, rbm);
        }
        reports.push(report);
    }
    Ok(reports)
}
