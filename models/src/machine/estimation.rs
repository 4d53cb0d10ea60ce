//! How a gradient estimator samples its negative phase ([`Sampling`]: CD-k, PCD, driven PCD)
//! and penalises the weights ([`Penalty`]); shared by every estimator of a layered machine
//! (two-layer, deep, pretraining) and by the `rbm` module's, which runs on them.

use super::MachineError;
use super::driven::DrivenBeta;

fn invalid(field: &'static str, reason: impl Into<String>) -> MachineError {
    MachineError::InvalidOption {
        field,
        reason: reason.into(),
    }
}

/// How the negative phase is sampled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    /// Contrastive divergence: one chain per batch example, started at it, `k` sweeps.
    Cd {
        /// Gibbs sweeps per estimate (≥ 1).
        k: usize,
    },
    /// Persistent contrastive divergence: `chains` fantasy particles carried across calls,
    /// advanced `k` sweeps per estimate.
    Pcd {
        /// Gibbs sweeps per estimate (≥ 1).
        k: usize,
        /// Number of persistent chains (≥ 1).
        chains: usize,
    },
    /// PCD with driven fantasy particles (paysage's `DrivenSequentialMC`): every chain has
    /// its own inverse temperature `β`, advanced by one step of the autoregressive Gamma
    /// process of [`DrivenBeta`] before each of its sweeps, which then samples every layer
    /// from its conditional with the whole field (biases included) scaled by `β`. The
    /// negative-phase statistics use the final visible layer and the expectations of
    /// layer 1 given it at `β = 1`, as paysage's gradient state does.
    DrivenPcd {
        /// Gibbs sweeps per estimate (≥ 1).
        k: usize,
        /// Number of persistent chains (≥ 1).
        chains: usize,
        /// The inverse-temperature process.
        driven: DrivenBeta,
    },
}

impl Sampling {
    /// Checks `k ≥ 1`, `chains ≥ 1` and the driven process; errors name `k`, `chains`,
    /// `beta_momentum` or `beta_std`.
    pub fn validate(&self) -> Result<(), MachineError> {
        let (k, chains) = match *self {
            Sampling::Cd { k } => (k, 1),
            Sampling::Pcd { k, chains } => (k, chains),
            Sampling::DrivenPcd { k, chains, driven } => {
                driven.validate()?;
                (k, chains)
            }
        };
        if k == 0 {
            return Err(invalid("k", "at least one Gibbs sweep is needed"));
        }
        if chains == 0 {
            return Err(invalid("chains", "PCD needs at least one chain"));
        }
        Ok(())
    }

    /// Gibbs sweeps per estimate.
    pub fn sweeps(&self) -> usize {
        match *self {
            Sampling::Cd { k } | Sampling::Pcd { k, .. } | Sampling::DrivenPcd { k, .. } => k,
        }
    }

    /// The number of persistent chains, `None` for CD.
    pub fn persistent_chains(&self) -> Option<usize> {
        match *self {
            Sampling::Cd { .. } => None,
            Sampling::Pcd { chains, .. } | Sampling::DrivenPcd { chains, .. } => Some(chains),
        }
    }
}

/// L2 (weight decay) and L1 penalties on the weights; both ≥ 0 and finite.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Penalty {
    /// Coefficient `λ₂` of `λ₂/2 ‖W‖²` (adds `λ₂ W` to the gradient).
    pub l2: f64,
    /// Coefficient `λ₁` of `λ₁ ‖W‖₁` (adds `λ₁ sign(W)` to the gradient).
    pub l1: f64,
}

impl Penalty {
    /// Checks both coefficients; errors name `penalty.l2` or `penalty.l1`.
    pub fn validate(&self) -> Result<(), MachineError> {
        for (field, x) in [("penalty.l2", self.l2), ("penalty.l1", self.l1)] {
            if !(x >= 0.0 && x.is_finite()) {
                return Err(invalid(field, format!("{x} must be finite and ≥ 0")));
            }
        }
        Ok(())
    }

    /// Adds the penalty's gradient at `weights`, `l2 · w + l1 · sign(w)` with `sign(0) = 0`,
    /// to `grad` (same length).
    pub fn apply(&self, weights: &[f32], grad: &mut [f64]) {
        for (g, &w) in grad.iter_mut().zip(weights) {
            let w = w as f64;
            let sign = if w == 0.0 { 0.0 } else { w.signum() };
            *g += self.l2 * w + self.l1 * sign;
        }
    }
}
