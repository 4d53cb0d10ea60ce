//! The CD-k / PCD / driven-PCD gradient estimator of [`super::train`]: the layered
//! machines' [`MachineGradientEstimator`] run on the RBM as a two-layer
//! [`BoltzmannMachine`] (sweeps `h | v` then `v | h`), its statistics read in the RBM's
//! layout ([`PhaseStats`]) and the [`Penalty`] added. One compiled sampler serves a whole
//! run (see [`MachineGradientEstimator`]); PCD's fantasy particles are its chains, started
//! from the runtime's seeded uniform bits.

use super::BinaryRbm;
use super::train::{GradientEstimate, PhaseStats, RbmGradient, TrainError};
use crate::machine::{
    BoltzmannMachine, MachineError, MachineGradientEstimator, MachineSampler, Penalty, Sampling,
};
use blockgibbs_runtime::BackendChoice;

/// CD-k / PCD gradient estimator of [`BinaryRbm`]s: the two-layer machine estimator and a
/// weight penalty.
#[derive(Debug)]
pub struct GradientEstimator {
    machine: MachineGradientEstimator,
    penalty: Penalty,
}

impl GradientEstimator {
    /// A validated estimator seeded with `seed`, on the best backend and one thread.
    pub fn new(
        sampling: Sampling,
        penalty: Penalty,
        seed: u64,
    ) -> Result<GradientEstimator, TrainError> {
        let machine = MachineGradientEstimator::new(sampling, seed)?;
        penalty.validate()?;
        Ok(GradientEstimator { machine, penalty })
    }

    /// The estimator with its sweeps on `backend` (every backend gives the same estimates
    /// bit for bit).
    pub fn backend(mut self, backend: BackendChoice) -> GradientEstimator {
        self.machine = self.machine.backend(backend);
        self
    }

    /// The estimator with its sweeps on `threads` threads (default 1; 0 is one per core);
    /// estimates do not depend on it.
    pub fn threads(mut self, threads: usize) -> GradientEstimator {
        self.machine = self.machine.threads(threads);
        self
    }

    /// The sampling method.
    pub fn sampling(&self) -> Sampling {
        self.machine.sampling()
    }

    /// The runtime sampler, once the first estimate has made it.
    pub fn sampler(&self) -> Option<&MachineSampler> {
        self.machine.sampler()
    }

    /// The persistent fantasy particles (`chains × n_visible`, row-major) after the last
    /// estimate; empty before the first PCD estimate and always for CD.
    pub fn fantasy_particles(&self) -> &[f32] {
        self.machine
            .fantasy_particles()
            .first()
            .map_or(&[], Vec::as_slice)
    }

    /// The driven chains' current inverse temperatures (those of their last sweep), one per
    /// chain; empty before the first driven-PCD estimate and for CD and plain PCD.
    pub fn chain_betas(&self) -> &[f64] {
        self.machine.chain_betas()
    }

    /// Forgets the persistent fantasy particles (and driven temperatures) and the sampler;
    /// the next estimate starts new chains (needed after changing the machine's shape).
    pub fn reset_chains(&mut self) {
        self.machine.reset_chains();
    }

    /// Estimates the gradient of the mean negative log-likelihood of the binary `batch`
    /// (flat, `n_visible` columns) plus the penalty. PCD advances its persistent chains.
    pub fn estimate(
        &mut self,
        rbm: &BinaryRbm,
        batch: &[f32],
    ) -> Result<GradientEstimate, TrainError> {
        rbm.check_data(batch, true)?;
        let machine = BoltzmannMachine::try_from(rbm)?;
        let estimate = self.machine.estimate(&machine, batch)?;
        let positive = PhaseStats::of_machine(estimate.positive);
        let negative = PhaseStats::of_machine(estimate.negative);
        let gradient = RbmGradient::from_phases(&positive, &negative, &self.penalty, rbm.weights());
        Ok(GradientEstimate {
            gradient,
            positive,
            negative,
        })
    }
}

impl From<MachineError> for TrainError {
    /// Option errors keep their field (the RBM's options are the machine's); anything else
    /// is the sampler's.
    fn from(e: MachineError) -> Self {
        match e {
            MachineError::InvalidOption { field, reason } => {
                TrainError::InvalidOption { field, reason }
            }
            other => TrainError::Sampler(Box::new(other)),
        }
    }
}
