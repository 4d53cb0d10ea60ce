//! The CD-k / PCD / driven-PCD gradient estimator of [`super::train`].
//!
//! **Sampler choice.** The Gibbs sweeps are implemented directly in Rust with one seeded
//! ChaCha8 stream per estimator (chains updated in order), as in [`super::ais`], not through
//! the blockgibbs runtime: the parameters change after every optimiser step, and rebuilding
//! and compiling a [`blockgibbs_ir::Model`] per step would cost more than the sweeps. The
//! conditionals are the exact ones of the RBM (`σ(b + Wᵀv)`, `σ(a + Wh)`), computed in `f64`;
//! results are deterministic for a given seed.
//!
//! Driven PCD draws its inverse temperatures from a second ChaCha8 stream (stream 1 of the
//! same seed), so the Gibbs uniforms are those of plain PCD with the same seed: as
//! `beta_std → 0` the driven chains follow plain PCD's draw for draw.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::driven::BetaProcess;
use super::train::{
    GradientEstimate, Penalty, PhaseStats, RbmGradient, Sampling, TrainError, positive_phase,
    to_f64,
};
use super::{BinaryRbm, RbmError, sigmoid};

/// CD-k / PCD gradient estimator. Holds the ChaCha8 streams and, for PCD, the persistent
/// fantasy particles (`chains × n_visible`, row-major) and, for driven PCD, their inverse
/// temperatures.
#[derive(Debug, Clone)]
pub struct GradientEstimator {
    sampling: Sampling,
    penalty: Penalty,
    rng: ChaCha8Rng,
    beta_rng: ChaCha8Rng,
    fantasy: Vec<f32>,
    betas: Option<BetaProcess>,
}

impl GradientEstimator {
    /// A validated estimator seeded with `seed`.
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
        })
    }

    /// The sampling method.
    pub fn sampling(&self) -> Sampling {
        self.sampling
    }

    /// The persistent fantasy particles (`chains × n_visible`, row-major); empty before the
    /// first PCD estimate and always for CD.
    pub fn fantasy_particles(&self) -> &[f32] {
        &self.fantasy
    }

    /// The driven chains' current inverse temperatures (those of their last sweep), one per
    /// chain; empty before the first driven-PCD estimate and for CD and plain PCD.
    pub fn chain_betas(&self) -> &[f64] {
        self.betas.as_ref().map_or(&[], |b| b.betas())
    }

    /// Forgets the persistent fantasy particles (and driven temperatures); the next PCD
    /// estimate starts new chains from uniform bits (needed after changing the machine's
    /// number of visible units).
    pub fn reset_chains(&mut self) {
        self.fantasy.clear();
        self.betas = None;
    }

    /// Estimates the gradient of the mean negative log-likelihood of the binary `batch`
    /// (flat, `n_visible` columns) plus the penalty. PCD advances its persistent chains.
    pub fn estimate(
        &mut self,
        rbm: &BinaryRbm,
        batch: &[f32],
    ) -> Result<GradientEstimate, TrainError> {
        let positive = positive_phase(rbm, batch)?;
        let nv = rbm.n_visible();
        let (k, mut chains) = match self.sampling {
            Sampling::Cd { k } => (k, batch.to_vec()),
            Sampling::Pcd { k, chains } | Sampling::DrivenPcd { k, chains, .. } => {
                self.prepare_chains(chains, nv)?;
                (k, std::mem::take(&mut self.fantasy))
            }
        };
        let negative = self.advance(rbm, &mut chains, k);
        if self.sampling.persistent_chains().is_some() {
            // Put the chains back even if a sweep failed, so an error loses no state.
            self.fantasy = chains;
        }
        let negative = negative?;
        let gradient = RbmGradient::from_phases(&positive, &negative, &self.penalty, rbm.weights());
        Ok(GradientEstimate {
            gradient,
            positive,
            negative,
        })
    }

    /// Initialises the persistent chains (and driven temperatures) on first use, or checks
    /// that the existing ones fit a machine of `nv` visible units.
    fn prepare_chains(&mut self, chains: usize, nv: usize) -> Result<(), TrainError> {
        if self.fantasy.is_empty() {
            self.fantasy = (0..chains * nv)
                .map(|_| if self.rng.random::<bool>() { 1.0 } else { 0.0 })
                .collect();
            if let Sampling::DrivenPcd { driven, .. } = self.sampling {
                self.betas = Some(BetaProcess::new(driven, chains, &mut self.beta_rng)?);
            }
        } else if self.fantasy.len() != chains * nv {
            return Err(RbmError::ShapeMismatch {
                field: "fantasy particles",
                expected: chains * nv,
                found: self.fantasy.len(),
            }
            .into());
        }
        Ok(())
    }

    /// Runs `k` sweeps on every chain (each chain's sweeps at its own driven `β`, if any)
    /// and returns the negative phase from the final states.
    fn advance(
        &mut self,
        rbm: &BinaryRbm,
        chains: &mut [f32],
        k: usize,
    ) -> Result<PhaseStats, TrainError> {
        let nv = rbm.n_visible();
        let n_chains = chains.len() / nv;
        let mut negative = PhaseStats::zeros(nv, rbm.n_hidden());
        let mut h = vec![0.0f32; rbm.n_hidden()];
        for (c, v) in chains.chunks_exact_mut(nv).enumerate() {
            for _ in 0..k {
                let beta = match self.betas.as_mut() {
                    Some(process) => process.step_chain(c, &mut self.beta_rng)?,
                    None => 1.0,
                };
                gibbs_sweep(rbm, v, &mut h, beta, &mut self.rng);
            }
            negative.add(&to_f64(v), &rbm.hidden_probs(v)?, 1.0);
        }
        negative.scale(1.0 / n_chains as f64);
        Ok(negative)
    }
}

/// One block-Gibbs sweep `v → h → v` in place at inverse temperature `beta` (`h` is scratch
/// of length `n_hidden`). `beta = 1` samples the machine itself (`1 · x` is exactly `x`).
fn gibbs_sweep(rbm: &BinaryRbm, v: &mut [f32], h: &mut [f32], beta: f64, rng: &mut ChaCha8Rng) {
    for (hj, x) in h.iter_mut().zip(rbm.hidden_field(v)) {
        *hj = bernoulli(rng, sigmoid(beta * x));
    }
    for (i, vi) in v.iter_mut().enumerate() {
        let x = rbm.visible_bias()[i] as f64 + super::dot(rbm.row(i), h);
        *vi = bernoulli(rng, sigmoid(beta * x));
    }
}

fn bernoulli(rng: &mut ChaCha8Rng, p: f64) -> f32 {
    if rng.random::<f64>() < p { 1.0 } else { 0.0 }
}
