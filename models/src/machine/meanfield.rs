//! Statistics of machines of any depth: the variational mean-field posterior of the hidden
//! layers given a visible vector (the positive phase of Salakhutdinov–Hinton DBM learning),
//! its evidence lower bound, and the Rao–Blackwellised statistics of sampled chains (the
//! negative phase).
//!
//! **Product-form statistics.** Every statistic `∂(−E)/∂θ` listed in [`super::gradient`] is a
//! sum of products of functions of single layers (a Gaussian `log_var` statistic uses the
//! field from *both* neighbours in a deep machine). So its expectation under any distribution
//! that makes the layers independent is computed exactly from per-layer moments
//! (`E[φ(x)]`, `E[x]`, `E[(x − loc)²]`). Two such distributions are used:
//!
//! - the mean-field `q(h | v) = Π_l q_l(x_l)` with the visible layer fixed to the data;
//! - the conditional of the odd layers given the even ones, which is exactly a product
//!   (layers of one parity do not interact), so the Rao–Blackwellised statistic of a chain
//!   state — its even layers kept, its odd layers replaced by their conditional expectations —
//!   is an unbiased estimate of the model statistics with smaller variance.
//!
//! **Mean field (a Rust loop, not the runtime).** The fixed point is computed in `f64` in
//! Rust rather than through the runtime's `mean_field_iteration` mode: the runtime holds one
//! category per categorical unit, so it cannot carry the softmax probabilities that a
//! categorical layer's mean-field factor needs, and the loop stays deterministic and cheap
//! on the small per-example problems. Each `q_l` is the layer's conditional given the
//! expected statistics `E_q[φ]` of its neighbours (Bernoulli / ±1 means for binary and spin
//! units, softmax probabilities for categorical units, `N(loc + f, σ²)` for Gaussian units,
//! whose conditional mean `loc + f` enters its neighbours' fields as `(loc + f)/σ²`; this
//! Gaussian is the exact optimum, the energy being quadratic in `x` with curvature `1/σ²`).
//! The initial `q` is one bottom-up pass (each hidden layer given the one below only); a
//! sweep then updates the odd layers, then the even hidden layers (the runtime's order;
//! `machine_meanfield.rs` checks both reach the same fixed point). Layers of one parity are not coupled, so a sweep is block coordinate ascent
//! on the ELBO: each update maximises it exactly over `q_l`, and the ELBO never decreases.
//! With two layers the first `q_1` is already the exact posterior `p(h | v)`. The fixed
//! point need not be unique when the weights are strong; the deterministic start picks one.

use super::boltzmann::bilinear;
use super::gradient::MachineGradient;
use super::layer::{Layer, LayerMoments, UnitKind};
use super::stats::ProductStats;
use super::{BoltzmannMachine, MachineError};

/// Settings of the mean-field fixed-point iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanFieldOptions {
    /// Sweeps at most (≥ 1).
    pub max_iterations: usize,
    /// Stop once no expected statistic `E_q[φ]` moves by more than this in a sweep (≥ 0).
    pub tolerance: f64,
}

impl Default for MeanFieldOptions {
    /// 50 sweeps at most, tolerance 1e-6.
    fn default() -> Self {
        MeanFieldOptions {
            max_iterations: 50,
            tolerance: 1e-6,
        }
    }
}

impl MeanFieldOptions {
    pub(crate) fn validate(&self) -> Result<(), MachineError> {
        if self.max_iterations == 0 {
            return Err(MachineError::InvalidOption {
                field: "mean_field.max_iterations",
                reason: "at least one sweep is needed".into(),
            });
        }
        if !(self.tolerance >= 0.0 && self.tolerance.is_finite()) {
            return Err(MachineError::InvalidOption {
                field: "mean_field.tolerance",
                reason: format!("{} must be finite and ≥ 0", self.tolerance),
            });
        }
        Ok(())
    }
}

/// The mean-field posterior of the hidden layers given one visible vector.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanFieldPosterior {
    /// Per layer: `E_q[x]` per unit for binary, spin and Gaussian layers, the probabilities
    /// `q(x_i = c)` (`[n × K]`) for categorical ones; layer 0 holds the data itself.
    pub means: Vec<Vec<f64>>,
    /// The evidence lower bound `E_q[−E(v, h)] + H(q)` on `ln Σ_h exp(−E(v, h))`, i.e.
    /// `ln p(v) ≥ elbo − ln Z`.
    pub elbo: f64,
    /// Sweeps run.
    pub iterations: usize,
    /// Whether the tolerance was met within `max_iterations`.
    pub converged: bool,
}

/// Mean-field statistics of a data set: the approximate positive phase.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanFieldPhase {
    /// Mean over the rows of `E_q[∂(−E)/∂θ]`, in the layout of [`MachineGradient`].
    pub stats: MachineGradient,
    /// Mean over the rows of [`MeanFieldPosterior::elbo`].
    pub mean_elbo: f64,
    /// The most sweeps any row needed.
    pub max_iterations_used: usize,
    /// Whether every row met the tolerance.
    pub all_converged: bool,
}

/// Checks a flat data set of layer-0 states and returns its number of rows.
pub(crate) fn check_rows(machine: &BoltzmannMachine, data: &[f32]) -> Result<usize, MachineError> {
    let layer = &machine.layers()[0];
    let n = layer.len();
    if data.is_empty() || !data.len().is_multiple_of(n) {
        return Err(MachineError::DataShape {
            len: data.len(),
            units: n,
        });
    }
    for (r, row) in data.chunks_exact(n).enumerate() {
        layer.check_state(|| format!("data row {r}"), row)?;
    }
    Ok(data.len() / n)
}

/// Moments of every layer with the layers in `states` that are `Some` fixed and each `None`
/// layer at its conditional given its (fixed) neighbours. `None` layers must not be adjacent.
pub(crate) fn rao_blackwell_moments(
    machine: &BoltzmannMachine,
    states: &[Option<&[f32]>],
) -> Vec<LayerMoments> {
    let layers = machine.layers();
    let fixed: Vec<Option<LayerMoments>> = states
        .iter()
        .zip(layers)
        .map(|(s, layer)| s.map(|x| layer.moments_of(x)))
        .collect();
    (0..layers.len())
        .map(|l| match &fixed[l] {
            Some(m) => m.clone(),
            None => {
                let below = if l > 0 {
                    fixed[l - 1].as_ref().map(|m| m.phi.as_slice())
                } else {
                    None
                };
                let above = fixed
                    .get(l + 1)
                    .and_then(|m| m.as_ref().map(|m| m.phi.as_slice()));
                layers[l].moments_given(&machine.field(l, below, above))
            }
        })
        .collect()
}

/// The mean-field fixed point for visible row `v` (already validated).
fn mean_field_moments(
    machine: &BoltzmannMachine,
    v: &[f32],
    options: &MeanFieldOptions,
) -> (Vec<LayerMoments>, usize, bool) {
    let layers = machine.layers();
    let mut m = vec![layers[0].moments_of(v)];
    for l in 1..layers.len() {
        let f = machine.field(l, Some(&m[l - 1].phi), None);
        m.push(layers[l].moments_given(&f));
    }
    let update = |m: &mut Vec<LayerMoments>, l: usize| -> f64 {
        let above = m.get(l + 1).map(|n| n.phi.as_slice());
        let f = machine.field(l, Some(&m[l - 1].phi), above);
        let next = layers[l].moments_given(&f);
        let change = next
            .phi
            .iter()
            .zip(&m[l].phi)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        m[l] = next;
        change
    };
    for sweep in 1..=options.max_iterations {
        let mut change: f64 = 0.0;
        for l in (1..layers.len())
            .step_by(2)
            .chain((2..layers.len()).step_by(2))
        {
            change = change.max(update(&mut m, l));
        }
        if change <= options.tolerance {
            return (m, sweep, true);
        }
    }
    (m, options.max_iterations, false)
}

/// `E_q[E_l(x)]`, the expected self energy of a layer.
fn expected_self_energy(layer: &Layer, m: &LayerMoments) -> f64 {
    let b = layer.bias();
    match layer.kind() {
        UnitKind::Binary | UnitKind::Spin => {
            -m.x.iter().zip(b).map(|(x, &b)| x * b as f64).sum::<f64>()
        }
        UnitKind::Categorical(_) => -m.phi.iter().zip(b).map(|(p, &t)| p * t as f64).sum::<f64>(),
        UnitKind::Gaussian => (0..layer.len())
            .map(|i| 0.5 * m.sq_dev[i] * layer.inv_var(i))
            .sum(),
    }
}

/// `−p ln p`, 0 at p = 0.
fn neg_p_log_p(p: f64) -> f64 {
    if p > 0.0 { -p * p.ln() } else { 0.0 }
}

/// The entropy of a layer's mean-field factor.
fn entropy(layer: &Layer, m: &LayerMoments) -> f64 {
    let bernoulli = |p: f64| neg_p_log_p(p) + neg_p_log_p(1.0 - p);
    match layer.kind() {
        UnitKind::Binary => m.x.iter().map(|&p| bernoulli(p)).sum(),
        UnitKind::Spin => m.x.iter().map(|&s| bernoulli(0.5 * (1.0 + s))).sum(),
        UnitKind::Categorical(_) => m.phi.iter().map(|&p| neg_p_log_p(p)).sum(),
        UnitKind::Gaussian => (0..layer.len())
            .map(|i| {
                0.5 * (2.0 * std::f64::consts::PI * std::f64::consts::E / layer.inv_var(i)).ln()
            })
            .sum(),
    }
}

/// `E_q[−E] + H(q_hidden)` for moments `m` with layer 0 fixed.
fn elbo(machine: &BoltzmannMachine, m: &[LayerMoments]) -> f64 {
    let layers = machine.layers();
    let mut total = 0.0;
    for (l, layer) in layers.iter().enumerate() {
        total -= expected_self_energy(layer, &m[l]);
        if l > 0 {
            total += entropy(layer, &m[l]);
        }
    }
    for (l, w) in machine.weights().iter().enumerate() {
        total += bilinear(w, &m[l].phi, &m[l + 1].phi);
    }
    total
}

/// The mean-field posterior of the hidden layers given the visible state `v` (`n_0`
/// values), iterated to the fixed point described on the [module](self).
pub fn mean_field_posterior(
    machine: &BoltzmannMachine,
    v: &[f32],
    options: &MeanFieldOptions,
) -> Result<MeanFieldPosterior, MachineError> {
    options.validate()?;
    machine.layers()[0].check_state(|| "v".into(), v)?;
    let (m, iterations, converged) = mean_field_moments(machine, v, options);
    let means = machine
        .layers()
        .iter()
        .zip(&m)
        .map(|(layer, m)| match layer.kind() {
            UnitKind::Categorical(_) => m.phi.clone(),
            _ => m.x.clone(),
        })
        .collect();
    Ok(MeanFieldPosterior {
        means,
        elbo: elbo(machine, &m),
        iterations,
        converged,
    })
}

/// The positive phase of DBM learning for a data set (flat, `n_0` columns): the mean over
/// rows of the statistics under each row's mean-field posterior. For a two-layer machine
/// this is exact and equals [`super::positive_phase`].
pub fn mean_field_positive_phase(
    machine: &BoltzmannMachine,
    data: &[f32],
    options: &MeanFieldOptions,
) -> Result<MeanFieldPhase, MachineError> {
    options.validate()?;
    let rows = check_rows(machine, data)?;
    let mut stats = ProductStats::new(machine);
    let (mut elbo_sum, mut max_it, mut all_converged) = (0.0, 0, true);
    let weight = 1.0 / rows as f64;
    for v in data.chunks_exact(machine.layers()[0].len()) {
        let (m, it, converged) = mean_field_moments(machine, v, options);
        stats.add(&m, weight);
        elbo_sum += elbo(machine, &m);
        max_it = max_it.max(it);
        all_converged &= converged;
    }
    Ok(MeanFieldPhase {
        stats: stats.finish(),
        mean_elbo: elbo_sum * weight,
        max_iterations_used: max_it,
        all_converged,
    })
}

/// Rao–Blackwellised model statistics of chain states: `layers[l]` holds layer `l` of every
/// chain (`chains × n_l`, row-major). The even layers are kept and the odd ones replaced by
/// their conditional expectations given them, so the odd entries are not read and may be
/// empty. Returns the mean over chains.
pub fn chain_statistics(
    machine: &BoltzmannMachine,
    layers: &[Vec<f32>],
) -> Result<MachineGradient, MachineError> {
    let ls = machine.layers();
    if layers.len() != ls.len() {
        return Err(MachineError::ShapeMismatch {
            field: "layers".into(),
            expected: ls.len(),
            found: layers.len(),
        });
    }
    let chains = layers[0].len() / ls[0].len();
    if chains == 0 {
        return Err(MachineError::DataShape {
            len: layers[0].len(),
            units: ls[0].len(),
        });
    }
    for l in (0..ls.len()).step_by(2) {
        let expected = chains * ls[l].len();
        if layers[l].len() != expected {
            return Err(MachineError::ShapeMismatch {
                field: format!("layers[{l}]"),
                expected,
                found: layers[l].len(),
            });
        }
        for (c, row) in layers[l].chunks_exact(ls[l].len()).enumerate() {
            ls[l].check_state(|| format!("layers[{l}] chain {c}"), row)?;
        }
    }
    let mut stats = ProductStats::new(machine);
    for c in 0..chains {
        let states: Vec<Option<&[f32]>> = (0..ls.len())
            .map(|l| (l % 2 == 0).then(|| &layers[l][c * ls[l].len()..(c + 1) * ls[l].len()]))
            .collect();
        let m = rao_blackwell_moments(machine, &states);
        stats.add(&m, 1.0 / chains as f64);
    }
    Ok(stats.finish())
}
