//! Exact partition function and log-likelihood of a [`BinaryRbm`] whose smaller layer has at
//! most [`MAX_EXACT_UNITS`] units.
//!
//! The larger layer is summed out analytically (each of its units contributes a softplus
//! of its field), and the `2^n` states of the smaller layer are enumerated in Gray-code
//! order so that moving to the next state updates the fields by one weight row (`O(n_large)`
//! per state). The state space is split into chunks that rayon evaluates in parallel; each
//! chunk recomputes its starting fields from scratch (no drift across chunks) and keeps a
//! streaming log-sum-exp in `f64`.

use rayon::prelude::*;

use super::{BinaryRbm, RbmError, softplus};

/// Largest smaller-layer size that [`log_partition`] enumerates (`2^20` states).
pub const MAX_EXACT_UNITS: usize = 20;

/// States per parallel chunk of the enumeration.
const CHUNK_BITS: usize = 12;

/// Exact `log Z` of the RBM, `Z = Σ_{v,h} exp(aᵀv + bᵀh + vᵀWh)`.
///
/// Enumerates the smaller layer (the hidden one on a tie); returns
/// [`RbmError::TooLargeForExact`] if it has more than [`MAX_EXACT_UNITS`] units.
pub fn log_partition(rbm: &BinaryRbm) -> Result<f64, RbmError> {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    let small = nv.min(nh);
    if small > MAX_EXACT_UNITS {
        return Err(RbmError::TooLargeForExact {
            units: small,
            limit: MAX_EXACT_UNITS,
        });
    }
    // rows[k] = couplings of enumerated unit k to every summed-out unit.
    let (enum_bias, sum_bias, rows): (Vec<f64>, Vec<f64>, Vec<Vec<f64>>) = if nh <= nv {
        let rows = (0..nh)
            .map(|j| (0..nv).map(|i| rbm.weights()[i * nh + j] as f64).collect())
            .collect();
        (to_f64(rbm.hidden_bias()), to_f64(rbm.visible_bias()), rows)
    } else {
        let rows = (0..nv)
            .map(|i| rbm.row(i).iter().map(|&w| w as f64).collect())
            .collect();
        (to_f64(rbm.visible_bias()), to_f64(rbm.hidden_bias()), rows)
    };
    Ok(enumerate_log_sum(&enum_bias, &sum_bias, &rows))
}

/// Average exact log-likelihood of binary data, `−mean F(v) − log Z`, with `log Z` from
/// [`log_partition`].
pub fn average_log_likelihood(rbm: &BinaryRbm, data: &[f32]) -> Result<f64, RbmError> {
    rbm.check_data(data, true)?;
    let log_z = log_partition(rbm)?;
    average_log_likelihood_with(rbm, data, log_z)
}

/// Average log-likelihood of binary data given a (possibly estimated) `log Z`, e.g. the
/// [`super::AisResult::log_z`] of a machine too large for [`log_partition`].
pub fn average_log_likelihood_with(
    rbm: &BinaryRbm,
    data: &[f32],
    log_z: f64,
) -> Result<f64, RbmError> {
    let rows = rbm.check_data(data, true)?;
    if !log_z.is_finite() {
        return Err(RbmError::NonFinite {
            field: "log_z",
            index: 0,
            value: log_z as f32,
        });
    }
    // Collected, then summed in row order: a parallel `sum` would reduce in an order that
    // depends on work stealing and change the last bits from run to run.
    let free: Vec<f64> = data
        .par_chunks_exact(rbm.n_visible())
        .map(|v| rbm.free_energy_visible_unchecked(v))
        .collect();
    let sum_f: f64 = free.iter().sum();
    Ok(-sum_f / rows as f64 - log_z)
}

fn to_f64(xs: &[f32]) -> Vec<f64> {
    xs.iter().map(|&x| x as f64).collect()
}

/// `log Σ_{e ∈ {0,1}^n} exp(enum_biasᵀe + Σ_s softplus(sum_bias_s + Σ_k e_k rows[k][s]))`.
fn enumerate_log_sum(enum_bias: &[f64], sum_bias: &[f64], rows: &[Vec<f64>]) -> f64 {
    let n = enum_bias.len();
    let total: u64 = 1u64 << n;
    let chunk_bits = CHUNK_BITS.min(n);
    let chunk: u64 = 1u64 << chunk_bits;
    let n_chunks = total / chunk;
    let partial: Vec<(f64, f64)> = (0..n_chunks)
        .into_par_iter()
        .map(|c| {
            let start = c * chunk;
            let mut gray = start ^ (start >> 1);
            let mut field = sum_bias.to_vec();
            let mut linear = 0.0;
            for (k, row) in rows.iter().enumerate() {
                if gray >> k & 1 == 1 {
                    linear += enum_bias[k];
                    for (f, w) in field.iter_mut().zip(row) {
                        *f += w;
                    }
                }
            }
            let mut acc = StreamingLse::default();
            for idx in start..start + chunk {
                acc.push(linear + field.iter().map(|&x| softplus(x)).sum::<f64>());
                let next = idx + 1;
                if next < start + chunk {
                    let k = next.trailing_zeros() as usize;
                    let sign = if gray >> k & 1 == 1 { -1.0 } else { 1.0 };
                    gray ^= 1 << k;
                    linear += sign * enum_bias[k];
                    for (f, w) in field.iter_mut().zip(&rows[k]) {
                        *f += sign * w;
                    }
                }
            }
            (acc.max, acc.sum)
        })
        .collect();
    let mut acc = StreamingLse::default();
    for (m, s) in partial {
        acc.merge(m, s);
    }
    acc.value()
}

/// Running `log Σ eˣ` as `max + ln(sum of e^{x − max})`.
#[derive(Debug, Clone, Copy)]
struct StreamingLse {
    max: f64,
    sum: f64,
}

impl Default for StreamingLse {
    fn default() -> Self {
        StreamingLse {
            max: f64::NEG_INFINITY,
            sum: 0.0,
        }
    }
}

impl StreamingLse {
    fn push(&mut self, x: f64) {
        self.merge(x, 1.0);
    }

    /// Adds `sum · e^{max}`.
    fn merge(&mut self, max: f64, sum: f64) {
        if max == f64::NEG_INFINITY {
            return;
        }
        if max > self.max {
            self.sum = self.sum * (self.max - max).exp() + sum;
            self.max = max;
        } else {
            self.sum += sum * (max - self.max).exp();
        }
    }

    fn value(&self) -> f64 {
        self.max + self.sum.ln()
    }
}
