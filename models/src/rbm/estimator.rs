//! The CD-k / PCD / driven-PCD gradient estimator of [`super::train`].
//!
//! **Sampler choice.** The Gibbs sweeps are implemented directly in Rust with one seeded
//! ChaCha8 stream per estimator (chains updated in order), as in [`super::ais`], not through
//! the blockgibbs runtime: the parameters change after every optimiser step, and rebuilding
//! and compiling a [`blockgibbs_ir::Model`] per step would cost more than the sweeps. The
//! sweeps draw like the runtime's binary kernels (f32 fields, `u + u·e < 1` with the shared
//! approximate exp; see `gibbs_sweep`); the Rao–Blackwellised statistics use the exact
//! conditionals in `f64`. Results are deterministic for a given seed.
//!
//! Driven PCD draws its inverse temperatures from a second ChaCha8 stream (stream 1 of the
//! same seed), so the Gibbs uniforms are those of plain PCD with the same seed: as
//! `beta_std → 0` the driven chains follow plain PCD's draw for draw.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::driven::BetaProcess;
use super::train::{
    GradientEstimate, Penalty, PhaseStats, RbmGradient, Sampling, TrainError, positive_phase,
};
use super::{BinaryRbm, RbmError};

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
        let mut scratch = SweepScratch::new(rbm);
        for (c, v) in chains.chunks_exact_mut(nv).enumerate() {
            for _ in 0..k {
                let beta = match self.betas.as_mut() {
                    Some(process) => process.step_chain(c, &mut self.beta_rng)?,
                    None => 1.0,
                };
                gibbs_sweep(rbm, v, beta as f32, &mut self.rng, &mut scratch);
            }
            // Rao–Blackwellised: E[h | v⁻] instead of the sampled h, exact in f64.
            for (x, &vi) in scratch.v64.iter_mut().zip(v.iter()) {
                *x = vi as f64;
            }
            for (p, &b) in scratch.probs.iter_mut().zip(rbm.hidden_bias()) {
                *p = b as f64;
            }
            for (i, &vi) in v.iter().enumerate() {
                if vi != 0.0 {
                    for (p, &w) in scratch.probs.iter_mut().zip(rbm.row(i)) {
                        *p += w as f64;
                    }
                }
            }
            for p in scratch.probs.iter_mut() {
                *p = super::sigmoid(*p);
            }
            negative.add(&scratch.v64, &scratch.probs, 1.0);
        }
        negative.scale(1.0 / n_chains as f64);
        Ok(negative)
    }
}

/// Buffers of one chain's sweep and statistics, allocated once per estimate.
struct SweepScratch {
    /// Hidden field `b + Wᵀv`.
    field: Vec<f32>,
    /// Hidden state.
    h: Vec<f32>,
    /// Visible field `a + Wh`.
    field_v: Vec<f32>,
    /// `Wᵀ` (`[n_hidden × n_visible]`), so that the visible field adds rows too.
    wt: Vec<f32>,
    /// Exponentials and random words of one layer's draws.
    e: Vec<f32>,
    words: Vec<u32>,
    /// The visible state in f64, and `P(h = 1 | v)`, for the statistics.
    v64: Vec<f64>,
    probs: Vec<f64>,
}

impl SweepScratch {
    fn new(rbm: &BinaryRbm) -> SweepScratch {
        let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
        let mut wt = vec![0.0; nv * nh];
        for i in 0..nv {
            for (j, &w) in rbm.row(i).iter().enumerate() {
                wt[j * nv + i] = w;
            }
        }
        SweepScratch {
            field: vec![0.0; nh],
            h: vec![0.0; nh],
            field_v: vec![0.0; nv],
            wt,
            e: vec![0.0; nv.max(nh)],
            words: vec![0; nv.max(nh)],
            v64: vec![0.0; nv],
            probs: vec![0.0; nh],
        }
    }
}

/// `field = bias + Σ_{r : x_r ≠ 0} rows[r]` for a binary `x` (rows of length `field.len()`).
fn add_rows(field: &mut [f32], bias: &[f32], rows: &[f32], x: &[f32]) {
    field.copy_from_slice(bias);
    let n = field.len();
    for (r, &xr) in x.iter().enumerate() {
        if xr != 0.0 {
            for (f, &w) in field.iter_mut().zip(&rows[r * n..(r + 1) * n]) {
                *f += w;
            }
        }
    }
}

/// One block-Gibbs sweep `v → h → v` of a binary state `v` in place at inverse temperature
/// `beta` (`beta = 1` samples the machine itself).
///
/// The draws are those of the runtime's spin/binary kernels: f32 fields, a 24-bit uniform
/// `u` and `x = 1` iff `u + u·e < 1` with `e = exp(−βγ)` from the shared
/// [`blockgibbs_compiler::approx::exp`] (relative error < 5e-7) — exactly `u < σ(βγ)` up to
/// that error, with no division and no libm call, so the loops vectorise. Binary states make
/// the fields sums of weights, accumulated in f32 (a 64 × 16 layer is far from f32's
/// precision limits; the statistics themselves are accumulated in f64).
fn gibbs_sweep(
    rbm: &BinaryRbm,
    v: &mut [f32],
    beta: f32,
    rng: &mut ChaCha8Rng,
    scratch: &mut SweepScratch,
) {
    let SweepScratch {
        field,
        h,
        field_v,
        wt,
        e,
        words,
        ..
    } = scratch;
    add_rows(field, rbm.hidden_bias(), rbm.weights(), v);
    draw_layer(h, field, beta, rng, e, words);
    add_rows(field_v, rbm.visible_bias(), wt, h);
    draw_layer(v, field_v, beta, rng, e, words);
}

/// `x_j = 1` with probability `σ(β·field_j)`, else 0, for every unit of a layer: the
/// exponentials and the random words are computed a layer at a time, so both loops vectorise.
fn draw_layer(
    x: &mut [f32],
    field: &[f32],
    beta: f32,
    rng: &mut ChaCha8Rng,
    e: &mut [f32],
    words: &mut [u32],
) {
    let n = x.len();
    let (e, words) = (&mut e[..n], &mut words[..n]);
    for (ej, &f) in e.iter_mut().zip(field) {
        *ej = blockgibbs_compiler::approx::exp(-(beta * f));
    }
    rng.fill(words);
    for ((xj, &ej), &w) in x.iter_mut().zip(e.iter()).zip(words.iter()) {
        let u = blockgibbs_compiler::random::uniform(w);
        *xj = if u + u * ej < 1.0 { 1.0 } else { 0.0 };
    }
}
