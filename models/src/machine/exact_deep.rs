//! Exact log-likelihoods and gradients of machines of any depth, by enumerating the layers
//! of one parity and summing the other parity out in closed form.
//!
//! Layers of one parity are conditionally independent given the other parity, so with the
//! even (or odd) layers fixed the free energy [`BoltzmannMachine::free_energy`] sums the rest
//! out exactly, and every gradient statistic's expectation given the fixed layers is exact
//! (see [`super::meanfield`]). Enumeration needs every enumerated layer discrete and at most
//! [`MAX_EXACT_STATES`] joint states of the enumerated layers.

use super::gradient::{MAX_EXACT_STATES, MachineGradient, MachineGradientEstimate};
use super::meanfield::{check_rows, rao_blackwell_moments};
use super::stats::ProductStats;
use super::{BoltzmannMachine, MachineError};
use crate::rbm::log_sum_exp;

/// One configuration of the enumerated layers (empty vectors for the summed-out ones) and
/// its log-weight `−F`.
type Weighted = (Vec<Vec<f32>>, f64);

/// Joint states of the layers of `parity` (layer 0 fixed to `visible` when given, which needs
/// `parity == 0`), or the error naming the count that is too large.
fn enumerate_parity(
    machine: &BoltzmannMachine,
    parity: usize,
    visible: Option<&[f32]>,
) -> Result<Vec<Weighted>, MachineError> {
    let layers = machine.layers();
    let first = if visible.is_some() { 2 } else { parity };
    let enumerated: Vec<usize> = (first..layers.len()).step_by(2).collect();
    let mut total: usize = 1;
    for &l in &enumerated {
        total = layers[l]
            .state_count()
            .and_then(|c| total.checked_mul(c))
            .filter(|&t| t <= MAX_EXACT_STATES)
            .ok_or(MachineError::TooLargeForExact {
                states: layers[l]
                    .state_count()
                    .map_or(usize::MAX, |c| c.saturating_mul(total)),
                limit: MAX_EXACT_STATES,
            })?;
    }
    let mut out = Vec::with_capacity(total);
    for mut index in 0..total {
        let mut states = vec![Vec::new(); layers.len()];
        if let Some(v) = visible {
            states[0] = v.to_vec();
        }
        for &l in &enumerated {
            let count = layers[l].state_count().unwrap_or(1);
            states[l] = layers[l].state(index % count);
            index /= count;
        }
        let fixed = as_options(&states, parity);
        let log_w = -machine.free_energy(&fixed)?;
        out.push((states, log_w));
    }
    Ok(out)
}

/// The layers of `parity` as `Some`, the others `None`.
fn as_options(states: &[Vec<f32>], parity: usize) -> Vec<Option<&[f32]>> {
    states
        .iter()
        .enumerate()
        .map(|(l, s)| (l % 2 == parity).then_some(s.as_slice()))
        .collect()
}

/// The enumeration of the whole model over the cheaper feasible parity, and that parity.
fn enumerate_model(machine: &BoltzmannMachine) -> Result<(Vec<Weighted>, usize), MachineError> {
    match (
        enumerate_parity(machine, 0, None),
        enumerate_parity(machine, 1, None),
    ) {
        (Ok(a), Ok(b)) if b.len() < a.len() => Ok((b, 1)),
        (Ok(a), _) => Ok((a, 0)),
        (Err(_), Ok(b)) => Ok((b, 1)),
        (Err(e), Err(_)) => Err(e),
    }
}

fn log_z_of(states: &[Weighted]) -> f64 {
    log_sum_exp(&states.iter().map(|(_, w)| *w).collect::<Vec<_>>())
}

/// `ln Z` of a machine of any depth whose even or odd layers are all discrete with at most
/// [`MAX_EXACT_STATES`] joint states.
pub fn deep_log_partition(machine: &BoltzmannMachine) -> Result<f64, MachineError> {
    Ok(log_z_of(&enumerate_model(machine)?.0))
}

/// Exact mean log-likelihood `mean ln p(v)` of `data` (flat, `n_0` columns) under a machine
/// of any depth; needs the even hidden layers discrete (they are enumerated for each row,
/// the odd layers summed out) and `ln Z` computable as in [`deep_log_partition`].
pub fn deep_average_log_likelihood(
    machine: &BoltzmannMachine,
    data: &[f32],
) -> Result<f64, MachineError> {
    let rows = check_rows(machine, data)?;
    let log_z = deep_log_partition(machine)?;
    let mut total = 0.0;
    for v in data.chunks_exact(machine.layers()[0].len()) {
        total += log_z_of(&enumerate_parity(machine, 0, Some(v))?);
    }
    Ok(total / rows as f64 - log_z)
}

/// Adds the expected statistics of the weighted configurations, normalised, times `weight`.
fn add_weighted(
    stats: &mut ProductStats<'_>,
    machine: &BoltzmannMachine,
    states: &[Weighted],
    parity: usize,
    weight: f64,
) {
    let log_z = log_z_of(states);
    for (s, log_w) in states {
        let m = rao_blackwell_moments(machine, &as_options(s, parity));
        stats.add(&m, weight * (log_w - log_z).exp());
    }
}

/// Exact model statistics `E_model[∂(−E)/∂θ]` of a machine of any depth.
pub fn deep_exact_model_stats(machine: &BoltzmannMachine) -> Result<MachineGradient, MachineError> {
    let (states, parity) = enumerate_model(machine)?;
    let mut stats = ProductStats::new(machine);
    add_weighted(&mut stats, machine, &states, parity, 1.0);
    Ok(stats.finish())
}

/// Exact data statistics: the mean over rows of `E_{p(h|v)}[∂(−E)/∂θ]` under the true
/// posterior (which [`super::mean_field_positive_phase`] approximates).
pub fn deep_exact_positive_phase(
    machine: &BoltzmannMachine,
    data: &[f32],
) -> Result<MachineGradient, MachineError> {
    let rows = check_rows(machine, data)?;
    let mut stats = ProductStats::new(machine);
    for v in data.chunks_exact(machine.layers()[0].len()) {
        let states = enumerate_parity(machine, 0, Some(v))?;
        add_weighted(&mut stats, machine, &states, 0, 1.0 / rows as f64);
    }
    Ok(stats.finish())
}

/// The exact gradient of the mean negative log-likelihood of `data` under a machine of any
/// depth, from [`deep_exact_positive_phase`] and [`deep_exact_model_stats`]; equals
/// [`super::exact_gradient`] for two-layer machines.
pub fn deep_exact_gradient(
    machine: &BoltzmannMachine,
    data: &[f32],
) -> Result<MachineGradientEstimate, MachineError> {
    let positive = deep_exact_positive_phase(machine, data)?;
    let negative = deep_exact_model_stats(machine)?;
    Ok(MachineGradientEstimate {
        gradient: MachineGradient::difference(&negative, &positive),
        positive,
        negative,
    })
}
