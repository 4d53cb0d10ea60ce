//! Driven inverse temperatures for fantasy particles: paysage's `DrivenSequentialMC`.
//!
//! Every persistent chain carries its own inverse temperature `β`, which follows the
//! autoregressive Gamma process ARG(1) of Gouriéroux and Jasiak (2006): with momentum
//! `ρ ∈ [0, 1)` and standard deviation `s > 0`, shape `ν = 1/s²` and scale `c = (1 − ρ) s²`,
//!
//! ```text
//! z_t     ~ Poisson(ρ β_t / c)
//! β_{t+1} ~ Gamma(shape ν + z_t, scale c)
//! ```
//!
//! (Gouriéroux–Jasiak's `δ = ν`, `c = c` and Poisson intensity `β_GJ = ρ / c`, whose
//! autoregressive coefficient is `β_GJ · c = ρ`.) The conditional mean is linear,
//! `E[β_{t+1} | β_t] = c ν + ρ β_t = (1 − ρ) + ρ β_t`, so the lag-`h` autocorrelation is `ρʰ`,
//! and the stationary law is `Gamma(ν, c / (1 − ρ)) = Gamma(1/s², s²)`: mean 1, standard
//! deviation `s`. These are paysage's `AutoregressiveGammaSampler` conventions
//! (`beta_momentum = ρ`, `beta_std = s`, `nu = 1/var`, `c = (1 − phi)·var`, `β₀` drawn from
//! the stationary law, one update before every Monte Carlo step).
//!
//! Why: chains that occasionally heat up (`β < 1`) cross energy barriers that trap plain
//! PCD's fantasy particles, while the mean temperature stays that of the model.

use rand::Rng;
use rand_distr::{Distribution, Gamma, Poisson};

use super::MachineError;

/// Largest mean Poisson intensity `ρ / ((1 − ρ) s²)` accepted: far enough below rand_distr's
/// `Poisson::MAX_LAMBDA` (1.8·10¹⁹) that no plausible `β` (it would have to exceed 10⁴ times
/// its mean while its standard deviation is below 10⁻⁷) reaches the limit.
pub const MAX_MEAN_INTENSITY: f64 = 1e15;

/// Parameters of the driven inverse-temperature process (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrivenBeta {
    /// Autoregressive coefficient `ρ ∈ [0, 1)`: the lag-1 autocorrelation of each chain's `β`.
    pub beta_momentum: f64,
    /// Stationary standard deviation `s > 0` of `β` (whose stationary mean is 1).
    pub beta_std: f64,
}

impl Default for DrivenBeta {
    /// paysage's defaults: `beta_momentum = 0.9`, `beta_std = 0.6`.
    fn default() -> Self {
        DrivenBeta {
            beta_momentum: 0.9,
            beta_std: 0.6,
        }
    }
}

impl DrivenBeta {
    /// Checks `ρ ∈ [0, 1)`, `s` finite and `> 0`, and the Poisson intensity bound
    /// [`MAX_MEAN_INTENSITY`]; errors name `beta_momentum` or `beta_std`.
    pub fn validate(&self) -> Result<(), MachineError> {
        let (rho, s) = (self.beta_momentum, self.beta_std);
        if !(0.0..1.0).contains(&rho) {
            return Err(MachineError::InvalidOption {
                field: "beta_momentum",
                reason: format!("{rho} must lie in [0, 1)"),
            });
        }
        if !(s > 0.0 && s.is_finite()) {
            return Err(MachineError::InvalidOption {
                field: "beta_std",
                reason: format!("{s} must be finite and > 0"),
            });
        }
        let intensity = rho / ((1.0 - rho) * s * s);
        let usable = intensity.is_finite() && intensity <= MAX_MEAN_INTENSITY;
        if !usable || !self.shape().is_finite() {
            return Err(MachineError::InvalidOption {
                field: "beta_std",
                reason: format!(
                    "{s} is too small for beta_momentum = {rho}: the Poisson intensity \
                     ρ/((1−ρ)s²) = {intensity:e} exceeds {MAX_MEAN_INTENSITY:e}"
                ),
            });
        }
        Ok(())
    }

    /// Gamma shape `ν = 1/s²`.
    pub fn shape(&self) -> f64 {
        1.0 / (self.beta_std * self.beta_std)
    }

    /// Gamma scale `c = (1 − ρ) s²` of each transition.
    pub fn scale(&self) -> f64 {
        (1.0 - self.beta_momentum) * self.beta_std * self.beta_std
    }
}

/// The inverse temperatures of a set of chains, each an independent ARG(1) process.
#[derive(Debug, Clone, PartialEq)]
pub struct BetaProcess {
    params: DrivenBeta,
    betas: Vec<f64>,
}

impl BetaProcess {
    /// `chains` inverse temperatures drawn independently from the stationary law
    /// `Gamma(1/s², s²)`, so that the process is stationary from the start.
    pub fn new<R: Rng + ?Sized>(
        params: DrivenBeta,
        chains: usize,
        rng: &mut R,
    ) -> Result<BetaProcess, MachineError> {
        params.validate()?;
        let var = params.beta_std * params.beta_std;
        let stationary = gamma(params.shape(), var)?;
        let betas = (0..chains).map(|_| stationary.sample(rng)).collect();
        Ok(BetaProcess { params, betas })
    }

    /// The parameters.
    pub fn params(&self) -> DrivenBeta {
        self.params
    }

    /// The current inverse temperatures, one per chain.
    pub fn betas(&self) -> &[f64] {
        &self.betas
    }

    /// Advances the `β` of chain `chain` by one ARG(1) transition and returns the new value.
    /// Chains are independent, so advancing them in any interleaving gives the same law.
    pub fn step_chain<R: Rng + ?Sized>(
        &mut self,
        chain: usize,
        rng: &mut R,
    ) -> Result<f64, MachineError> {
        let (nu, c, rho) = (
            self.params.shape(),
            self.params.scale(),
            self.params.beta_momentum,
        );
        let beta = self.betas[chain];
        let intensity = rho * beta / c;
        // rand_distr rejects a zero intensity; Poisson(0) is the point mass at 0.
        let z = if intensity > 0.0 {
            Poisson::new(intensity)
                .map_err(|e| MachineError::InvalidOption {
                    field: "beta_std",
                    reason: format!("Poisson intensity {intensity:e} at β = {beta}: {e}"),
                })?
                .sample(rng)
        } else {
            0.0
        };
        let next = gamma(nu + z, c)?.sample(rng);
        self.betas[chain] = next;
        Ok(next)
    }

    /// Advances every chain by one transition, in chain order.
    pub fn step<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Result<(), MachineError> {
        for chain in 0..self.betas.len() {
            self.step_chain(chain, rng)?;
        }
        Ok(())
    }
}

fn gamma(shape: f64, scale: f64) -> Result<Gamma<f64>, MachineError> {
    Gamma::new(shape, scale).map_err(|e| MachineError::InvalidOption {
        field: "beta_std",
        reason: format!("Gamma(shape {shape}, scale {scale}): {e}"),
    })
}
