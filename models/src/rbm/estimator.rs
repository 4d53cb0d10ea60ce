//! The CD-k / PCD / driven-PCD gradient estimator of [`super::train`], and the phase
//! statistics it and the exact gradient share.
//!
//! **Sampler.** The Gibbs sweeps run on the blockgibbs runtime, through the same
//! [`MachineSampler`] as every layered machine (the RBM as a two-layer
//! [`BoltzmannMachine`], sweeps `h | v` then `v | h`), on the backend of
//! [`GradientEstimator::backend`]. The sampler is made at the first estimate and kept: later
//! estimates give it the new parameters ([`MachineSampler::set_machine`], no compilation)
//! and a fresh seed from the estimator's ChaCha8 stream, so results are deterministic for a
//! seed and the same on every backend and thread count. PCD's fantasy particles are the
//! sampler's chains (started from its own seeded uniform bits).
//!
//! Driven PCD sets every chain's inverse temperature before each sweep
//! ([`blockgibbs_runtime::Sampler::set_betas`]; β scales the whole field, biases included,
//! which is the driven conditional `σ(β · field)`); the temperatures come from a second
//! ChaCha8 stream (stream 1 of the same seed), advanced sweep by sweep in chain order.
//!
//! **Statistics.** `E[v hᵀ]` of a set of rows is `Vᵀ diag(w) H` for weights `w` — faer's
//! gemm ([`crate::linalg::matmul`]) in `f64`, as are the hidden fields `V W` the conditional
//! expectations `E[h | v]` come from.

use faer::{Accum, Mat, MatMut, MatRef};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::BinaryRbm;
use super::driven::BetaProcess;
use super::train::{GradientEstimate, Penalty, PhaseStats, RbmGradient, Sampling, TrainError};
use crate::linalg::matmul;
use crate::machine::{BoltzmannMachine, MachineSampler, SamplingMode};
use crate::numeric::sigmoid;
use blockgibbs_runtime::{BackendChoice, SamplerOptions};

/// CD-k / PCD gradient estimator. Holds the ChaCha8 streams, the runtime sampler (for PCD
/// its chains are the persistent fantasy particles) and, for driven PCD, the chains'
/// inverse temperatures.
pub struct GradientEstimator {
    sampling: Sampling,
    penalty: Penalty,
    rng: ChaCha8Rng,
    beta_rng: ChaCha8Rng,
    fantasy: Vec<f32>,
    betas: Option<BetaProcess>,
    backend: BackendChoice,
    threads: usize,
    sampler: Option<MachineSampler>,
}

impl std::fmt::Debug for GradientEstimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GradientEstimator")
            .field("sampling", &self.sampling)
            .field("penalty", &self.penalty)
            .field("betas", &self.betas)
            .field("backend", &self.backend)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl GradientEstimator {
    /// A validated estimator seeded with `seed`, on the best backend and one thread.
    pub fn new(
        sampling: Sampling,
        penalty: Penalty,
        seed: u64,
    ) -> Result<GradientEstimator, TrainError> {
        sampling.validate()?;
        penalty.validate()?;
        let mut beta_rng = ChaCha8Rng::seed_from_u64(seed);
        beta_rng.set_stream(1);
        Ok(GradientEstimator {
            sampling,
            penalty,
            rng: ChaCha8Rng::seed_from_u64(seed),
            beta_rng,
            fantasy: Vec::new(),
            betas: None,
            backend: BackendChoice::default(),
            threads: 1,
            sampler: None,
        })
    }

    /// The estimator with its sweeps on `backend` (every backend gives the same estimates
    /// bit for bit).
    pub fn backend(mut self, backend: BackendChoice) -> GradientEstimator {
        self.backend = backend;
        self
    }

    /// The estimator with its sweeps on `threads` threads (default 1; 0 is one per core);
    /// estimates do not depend on it.
    pub fn threads(mut self, threads: usize) -> GradientEstimator {
        self.threads = threads;
        self
    }

    /// The sampling method.
    pub fn sampling(&self) -> Sampling {
        self.sampling
    }

    /// The runtime sampler, once the first estimate has made it.
    pub fn sampler(&self) -> Option<&MachineSampler> {
        self.sampler.as_ref()
    }

    /// The persistent fantasy particles (`chains × n_visible`, row-major) after the last
    /// estimate; empty before the first PCD estimate and always for CD.
    pub fn fantasy_particles(&self) -> &[f32] {
        &self.fantasy
    }

    /// The driven chains' current inverse temperatures (those of their last sweep), one per
    /// chain; empty before the first driven-PCD estimate and for CD and plain PCD.
    pub fn chain_betas(&self) -> &[f64] {
        self.betas.as_ref().map_or(&[], |b| b.betas())
    }

    /// Forgets the persistent fantasy particles (and driven temperatures) and the sampler;
    /// the next estimate starts new chains (needed after changing the machine's shape).
    pub fn reset_chains(&mut self) {
        self.fantasy.clear();
        self.betas = None;
        self.sampler = None;
    }

    /// Estimates the gradient of the mean negative log-likelihood of the binary `batch`
    /// (flat, `n_visible` columns) plus the penalty. PCD advances its persistent chains.
    pub fn estimate(
        &mut self,
        rbm: &BinaryRbm,
        batch: &[f32],
    ) -> Result<GradientEstimate, TrainError> {
        rbm.check_data(batch, true)?;
        // Both phases multiply by the same weights: convert them to f64 once.
        let weights = weights_f64(rbm);
        let positive = rows_stats_with(rbm, weights.as_ref(), batch);
        let (k, chains) = match self.sampling {
            Sampling::Cd { k } => (k, batch.len() / rbm.n_visible()),
            Sampling::Pcd { k, chains } | Sampling::DrivenPcd { k, chains, .. } => (k, chains),
        };
        if let (Sampling::DrivenPcd { driven, .. }, None) = (self.sampling, &self.betas) {
            self.betas = Some(BetaProcess::new(driven, chains, &mut self.beta_rng)?);
        }
        let machine = BoltzmannMachine::try_from(rbm)?;
        let options = SamplerOptions {
            chains,
            seed: self.rng.random(),
            threads: self.threads,
            beta: 1.0,
        };
        let sampler = MachineSampler::reuse(&mut self.sampler, &machine, options, self.backend)?;
        match (self.sampling, self.betas.as_mut()) {
            (Sampling::Cd { .. }, _) => {
                sampler.set_layer(0, batch)?;
                sampler.run(SamplingMode::MarkovChain, k as u64)?;
            }
            (_, Some(process)) => {
                let mut betas = vec![0.0f32; chains];
                for _ in 0..k {
                    for (c, b) in betas.iter_mut().enumerate() {
                        *b = process.step_chain(c, &mut self.beta_rng)? as f32;
                    }
                    sampler.sampler_mut().set_betas(&betas).map_err(|e| {
                        TrainError::InvalidOption {
                            field: "beta_std",
                            reason: format!("a driven inverse temperature: {e}"),
                        }
                    })?;
                    sampler.run(SamplingMode::MarkovChain, 1)?;
                }
            }
            (_, None) => sampler.run(SamplingMode::MarkovChain, k as u64)?,
        }
        let v = sampler.layer_values(0)?;
        let negative = rows_stats_with(rbm, weights.as_ref(), &v);
        if self.sampling.persistent_chains().is_some() {
            self.fantasy = v;
        }
        let gradient = RbmGradient::from_phases(&positive, &negative, &self.penalty, rbm.weights());
        Ok(GradientEstimate {
            gradient,
            positive,
            negative,
        })
    }
}

/// `rbm`'s weights as an `f64` matrix `[n_visible × n_hidden]`.
fn weights_f64(rbm: &BinaryRbm) -> Mat<f64> {
    let (w, nh) = (rbm.weights(), rbm.n_hidden());
    Mat::from_fn(rbm.n_visible(), nh, |i, j| w[i * nh + j] as f64)
}

/// Mean statistics of binary visible `rows` (flat, `n_visible` columns) with the hidden
/// layer Rao–Blackwellised: `E[v E[h|v]ᵀ]`, `E[v]`, `E[h|v]` over the rows.
pub(super) fn rows_stats(rbm: &BinaryRbm, rows: &[f32]) -> PhaseStats {
    rows_stats_with(rbm, weights_f64(rbm).as_ref(), rows)
}

/// [`rows_stats`] with `rbm`'s weights already converted ([`weights_f64`]).
fn rows_stats_with(rbm: &BinaryRbm, weights: MatRef<'_, f64>, rows: &[f32]) -> PhaseStats {
    let nv = rbm.n_visible();
    let n = rows.len() / nv;
    let v = Mat::from_fn(n, nv, |r, i| rows[r * nv + i] as f64);
    let h = hidden_probs_with(rbm, weights, v.as_ref());
    weighted_stats(v.as_ref(), h.as_ref(), &vec![1.0 / n as f64; n])
}

/// `Σ_r w_r (v_r h_rᵀ, v_r, h_r)` for the rows of `v` (`[rows × n_visible]`) and `h`
/// (`[rows × n_hidden]`): the outer products as one gemm `Vᵀ diag(w) H`.
pub(super) fn weighted_stats(v: MatRef<'_, f64>, h: MatRef<'_, f64>, w: &[f64]) -> PhaseStats {
    let (nv, nh) = (v.ncols(), h.ncols());
    let wh = Mat::from_fn(h.nrows(), nh, |r, j| w[r] * h[(r, j)]);
    // The product lands in the row-major layout `PhaseStats::vh` keeps, with no copy.
    let mut vh = vec![0.0; nv * nh];
    matmul(
        MatMut::from_row_major_slice_mut(&mut vh, nv, nh),
        Accum::Replace,
        v.transpose(),
        wh.as_ref(),
        1.0,
    );
    let column_sums = |m: MatRef<'_, f64>, weighted: bool| -> Vec<f64> {
        (0..m.ncols())
            .map(|j| {
                (0..m.nrows())
                    .map(|r| {
                        if weighted {
                            w[r] * m[(r, j)]
                        } else {
                            m[(r, j)]
                        }
                    })
                    .sum()
            })
            .collect()
    };
    PhaseStats {
        vh,
        v: column_sums(v, true),
        h: column_sums(wh.as_ref(), false),
    }
}

/// The hidden probabilities `σ(b + Wᵀv)` of every row of `v` (`[rows × n_visible]`).
pub(super) fn hidden_probs_rows(rbm: &BinaryRbm, v: MatRef<'_, f64>) -> Mat<f64> {
    hidden_probs_with(rbm, weights_f64(rbm).as_ref(), v)
}

/// [`hidden_probs_rows`] with `rbm`'s weights already converted ([`weights_f64`]).
fn hidden_probs_with(rbm: &BinaryRbm, weights: MatRef<'_, f64>, v: MatRef<'_, f64>) -> Mat<f64> {
    let mut h = Mat::zeros(v.nrows(), rbm.n_hidden());
    matmul(h.as_mut(), Accum::Replace, v, weights, 1.0);
    for j in 0..rbm.n_hidden() {
        let b = rbm.hidden_bias()[j] as f64;
        for r in 0..v.nrows() {
            h[(r, j)] = sigmoid(h[(r, j)] + b);
        }
    }
    h
}

/// The visible probabilities `σ(a + Wh)` of every row of `h` (`[rows × n_hidden]`).
pub(super) fn visible_probs_rows(rbm: &BinaryRbm, h: MatRef<'_, f64>) -> Mat<f64> {
    let mut v = Mat::zeros(h.nrows(), rbm.n_visible());
    let w = weights_f64(rbm);
    matmul(v.as_mut(), Accum::Replace, h, w.transpose(), 1.0);
    for i in 0..rbm.n_visible() {
        let a = rbm.visible_bias()[i] as f64;
        for r in 0..h.nrows() {
            v[(r, i)] = sigmoid(v[(r, i)] + a);
        }
    }
    v
}

impl From<crate::machine::MachineError> for TrainError {
    fn from(e: crate::machine::MachineError) -> Self {
        TrainError::Sampler(Box::new(e))
    }
}
