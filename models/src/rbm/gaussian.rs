//! Gaussian–Bernoulli restricted Boltzmann machines with paysage's parametrisation, and their
//! exact partition function (issue 4, "Models I").
//!
//! **Energy.** With visible `v ∈ ℝ^{n_v}`, hidden `h ∈ {0,1}^{n_h}`, per-visible-unit location
//! `u_i` (`loc`) and variance `s_i = σ_i² = exp(log_var_i)`:
//!
//! ```text
//! E(v, h) = Σ_i ½ (v_i − u_i)² / s_i − Σ_j b_j h_j − Σ_ij (v_i / s_i) W_ij h_j
//! ```
//!
//! so the hidden units see the *rescaled* visible `v_i / s_i` (paysage's `rescale`), and
//! `Z = Σ_h ∫ dv e^{−E(v,h)}` with Lebesgue measure on `v` (so `log Z` includes the Gaussian
//! normalisers `½ ln(2π s_i)`, and [`GaussianRbm::exact_average_log_likelihood`] is a log
//! *density*).
//!
//! **Conditionals.** Completing the square in `v_i`,
//! `−½(v_i − u_i)²/s_i + v_i r_i/s_i = −½(v_i − u_i − r_i)²/s_i + (2 u_i r_i + r_i²)/(2 s_i)`
//! with `r = W h`, so `p(v | h) = N(u + W h, diag(s))` and
//! `p(h_j = 1 | v) = σ(b_j + Σ_i v_i W_ij / s_i)`.
//!
//! **Free energies.** Integrating `v` out in closed form,
//! `F(h) = −bᵀh − Σ_i [(u_i r_i + ½ r_i²)/s_i + ½ ln(2π s_i)]`; summing `h` out,
//! `F(v) = Σ_i ½(v_i − u_i)²/s_i − Σ_j softplus(b_j + Σ_i v_i W_ij / s_i)`. Both satisfy
//! `Z = Σ_h e^{−F(h)} = ∫ dv e^{−F(v)}`. [`GaussianRbm::exact_log_partition`] enumerates the
//! `2^{n_h}` hidden states (`n_h ≤` [`super::MAX_EXACT_UNITS`]).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use thiserror::Error;

use super::{
    MAX_EXACT_UNITS, RbmError, check_finite, check_len, log_sum_exp, sigmoid, softplus,
    weight_count,
};

/// Largest accepted `|log_var_i|`: variances stay within `e^{±80}`, so squares and ratios of
/// them (up to `e^{320}`) remain finite in `f64`.
pub const MAX_ABS_LOG_VAR: f32 = 80.0;

/// `ln(2π)`.
const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Everything that can be wrong with a Gaussian–Bernoulli RBM's parameters or data.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum GaussianRbmError {
    /// Shape, finiteness, data-shape or exact-evaluation-size errors shared with
    /// [`super::BinaryRbm`]; each names its field.
    #[error(transparent)]
    Rbm(#[from] RbmError),
    /// A log-variance outside `[−MAX_ABS_LOG_VAR, MAX_ABS_LOG_VAR]`.
    #[error("`log_var`[{index}] is {value}; |log_var| must be at most {limit}")]
    LogVarOutOfRange {
        /// Visible unit at fault.
        index: usize,
        /// The offending value.
        value: f32,
        /// [`MAX_ABS_LOG_VAR`].
        limit: f32,
    },
}

/// Gradient of a scalar with respect to a [`GaussianRbm`]'s parameters, laid out like it.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianRbmGradient {
    /// `[n_visible × n_hidden]`, row-major like [`GaussianRbm::weights`].
    pub weights: Vec<f64>,
    /// With respect to the visible locations `u` (`loc`).
    pub loc: Vec<f64>,
    /// With respect to the visible log-variances `log_var`.
    pub log_var: Vec<f64>,
    /// With respect to the hidden bias `b`.
    pub hidden_bias: Vec<f64>,
}

impl GaussianRbmGradient {
    pub(crate) fn zeros(n_visible: usize, n_hidden: usize) -> Self {
        GaussianRbmGradient {
            weights: vec![0.0; n_visible * n_hidden],
            loc: vec![0.0; n_visible],
            log_var: vec![0.0; n_visible],
            hidden_bias: vec![0.0; n_hidden],
        }
    }
}

/// A Gaussian–Bernoulli RBM (module documentation for the energy). Fields are private so that
/// every instance is validated.
///
/// ```
/// use blockgibbs_models::rbm::gaussian::GaussianRbm;
/// let rbm = GaussianRbm::random(3, 4, 0.3, 0.5, 7).unwrap();
/// let log_z = rbm.exact_log_partition().unwrap(); // enumerates the 4 hidden units
/// let ll = rbm.exact_average_log_likelihood(&[0.1, -0.4, 1.2]).unwrap();
/// assert!(log_z.is_finite() && ll.is_finite());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianRbm {
    n_visible: usize,
    n_hidden: usize,
    weights: Vec<f32>,
    loc: Vec<f32>,
    log_var: Vec<f32>,
    hidden_bias: Vec<f32>,
}

impl GaussianRbm {
    /// A validated machine. `weights` is `[n_visible × n_hidden]` row-major (`W[i][j]` at
    /// `i * n_hidden + j`); `loc` and `log_var` have `n_visible` entries, `hidden_bias`
    /// `n_hidden`. All values must be finite and `|log_var_i| ≤` [`MAX_ABS_LOG_VAR`].
    pub fn new(
        n_visible: usize,
        n_hidden: usize,
        weights: Vec<f32>,
        loc: Vec<f32>,
        log_var: Vec<f32>,
        hidden_bias: Vec<f32>,
    ) -> Result<GaussianRbm, GaussianRbmError> {
        if n_visible == 0 {
            return Err(RbmError::EmptyLayer { field: "n_visible" }.into());
        }
        if n_hidden == 0 {
            return Err(RbmError::EmptyLayer { field: "n_hidden" }.into());
        }
        let n_weights = weight_count(n_visible, n_hidden)?;
        check_len("weights", &weights, n_weights)?;
        check_len("loc", &loc, n_visible)?;
        check_len("log_var", &log_var, n_visible)?;
        check_len("hidden_bias", &hidden_bias, n_hidden)?;
        check_finite("weights", &weights)?;
        check_finite("loc", &loc)?;
        check_finite("log_var", &log_var)?;
        check_finite("hidden_bias", &hidden_bias)?;
        if let Some(index) = log_var.iter().position(|x| x.abs() > MAX_ABS_LOG_VAR) {
            return Err(GaussianRbmError::LogVarOutOfRange {
                index,
                value: log_var[index],
                limit: MAX_ABS_LOG_VAR,
            });
        }
        Ok(GaussianRbm {
            n_visible,
            n_hidden,
            weights,
            loc,
            log_var,
            hidden_bias,
        })
    }

    /// A machine with `W_ij ~ N(0, weight_std²)` and `loc_i`, `log_var_i`, `b_j ~
    /// N(0, bias_std²)`, all from one ChaCha8 stream seeded with `seed` (for tests and
    /// examples). Errors if a drawn `log_var` leaves the accepted range.
    pub fn random(
        n_visible: usize,
        n_hidden: usize,
        weight_std: f32,
        bias_std: f32,
        seed: u64,
    ) -> Result<GaussianRbm, GaussianRbmError> {
        check_finite("weight_std", &[weight_std])?;
        check_finite("bias_std", &[bias_std])?;
        let n = weight_count(n_visible, n_hidden)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut normal = |std: f32| -> f32 {
            // Box–Muller from two uniforms; u1 ∈ (0, 1] keeps the logarithm finite.
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = rng.random::<f64>();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            (z * std as f64) as f32
        };
        let weights = (0..n).map(|_| normal(weight_std)).collect();
        let loc = (0..n_visible).map(|_| normal(bias_std)).collect();
        let log_var = (0..n_visible).map(|_| normal(bias_std)).collect();
        let hidden_bias = (0..n_hidden).map(|_| normal(bias_std)).collect();
        GaussianRbm::new(n_visible, n_hidden, weights, loc, log_var, hidden_bias)
    }

    /// Number of visible (Gaussian) units.
    pub fn n_visible(&self) -> usize {
        self.n_visible
    }

    /// Number of hidden (binary) units.
    pub fn n_hidden(&self) -> usize {
        self.n_hidden
    }

    /// Weights `[n_visible × n_hidden]`, row-major.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// Visible locations `u`.
    pub fn loc(&self) -> &[f32] {
        &self.loc
    }

    /// Visible log-variances `ln σ²`.
    pub fn log_var(&self) -> &[f32] {
        &self.log_var
    }

    /// Hidden bias `b`.
    pub fn hidden_bias(&self) -> &[f32] {
        &self.hidden_bias
    }

    /// Visible variances `σ_i² = exp(log_var_i)` in `f64`; also the variances of `p(v | h)`.
    pub fn variances(&self) -> Vec<f64> {
        self.log_var.iter().map(|&l| (l as f64).exp()).collect()
    }

    /// Row `i` of `W`.
    pub(crate) fn row(&self, i: usize) -> &[f32] {
        &self.weights[i * self.n_hidden..(i + 1) * self.n_hidden]
    }

    /// Energy `E(v, h)` of a joint state (module documentation), in `f64`.
    pub fn energy(&self, v: &[f32], h: &[f32]) -> Result<f64, GaussianRbmError> {
        check_len("v", v, self.n_visible)?;
        check_len("h", h, self.n_hidden)?;
        check_finite("v", v)?;
        check_finite("h", h)?;
        let s = self.variances();
        let mut e = -h
            .iter()
            .zip(&self.hidden_bias)
            .map(|(&h, &b)| h as f64 * b as f64)
            .sum::<f64>();
        for i in 0..self.n_visible {
            let (vi, ui) = (v[i] as f64, self.loc[i] as f64);
            let wh: f64 = self
                .row(i)
                .iter()
                .zip(h)
                .map(|(&w, &h)| w as f64 * h as f64)
                .sum();
            e += 0.5 * (vi - ui).powi(2) / s[i] - vi * wh / s[i];
        }
        Ok(e)
    }

    /// Hidden field `b + Wᵀ(v / s)`, in `f64`.
    fn hidden_field(&self, v: &[f32], s: &[f64]) -> Vec<f64> {
        let mut x: Vec<f64> = self.hidden_bias.iter().map(|&b| b as f64).collect();
        for i in 0..self.n_visible {
            let scaled = v[i] as f64 / s[i];
            for (xj, &w) in x.iter_mut().zip(self.row(i)) {
                *xj += scaled * w as f64;
            }
        }
        x
    }

    /// `P(h_j = 1 | v) = σ(b_j + Σ_i v_i W_ij / σ_i²)` for every hidden unit.
    pub fn hidden_probs(&self, v: &[f32]) -> Result<Vec<f64>, GaussianRbmError> {
        check_len("v", v, self.n_visible)?;
        check_finite("v", v)?;
        let s = self.variances();
        Ok(self.hidden_field(v, &s).into_iter().map(sigmoid).collect())
    }

    /// Mean `u + W h` of `p(v | h) = N(u + W h, diag(σ²))` (`h` may be real-valued, e.g.
    /// hidden means); the variances are [`GaussianRbm::variances`].
    pub fn visible_mean(&self, h: &[f32]) -> Result<Vec<f64>, GaussianRbmError> {
        check_len("h", h, self.n_hidden)?;
        check_finite("h", h)?;
        Ok((0..self.n_visible)
            .map(|i| {
                let wh: f64 = self
                    .row(i)
                    .iter()
                    .zip(h)
                    .map(|(&w, &h)| w as f64 * h as f64)
                    .sum();
                self.loc[i] as f64 + wh
            })
            .collect())
    }

    /// Free energy of a visible vector, `F(v) = Σ_i ½(v_i − u_i)²/σ_i² − Σ_j softplus(b_j +
    /// Σ_i v_i W_ij/σ_i²)`, so that the density is `p(v) = e^{−F(v)} / Z`.
    pub fn free_energy_visible(&self, v: &[f32]) -> Result<f64, GaussianRbmError> {
        check_len("v", v, self.n_visible)?;
        check_finite("v", v)?;
        Ok(self.free_energy_visible_unchecked(v, &self.variances()))
    }

    fn free_energy_visible_unchecked(&self, v: &[f32], s: &[f64]) -> f64 {
        let quad: f64 = (0..self.n_visible)
            .map(|i| 0.5 * (v[i] as f64 - self.loc[i] as f64).powi(2) / s[i])
            .sum();
        quad - self
            .hidden_field(v, s)
            .into_iter()
            .map(softplus)
            .sum::<f64>()
    }

    /// Free energy of a hidden vector with `v` integrated out in closed form,
    /// `F(h) = −bᵀh − Σ_i [(u_i r_i + ½ r_i²)/σ_i² + ½ ln(2π σ_i²)]`, `r = W h`, so that
    /// `P(h) = e^{−F(h)} / Z`. Accepts any finite `h`.
    pub fn free_energy_hidden(&self, h: &[f32]) -> Result<f64, GaussianRbmError> {
        check_len("h", h, self.n_hidden)?;
        check_finite("h", h)?;
        let h: Vec<f64> = h.iter().map(|&x| x as f64).collect();
        let r = self.weight_times(&h);
        Ok(-self.hidden_log_weight(&h, &r))
    }

    /// `W h` in `f64`.
    fn weight_times(&self, h: &[f64]) -> Vec<f64> {
        (0..self.n_visible)
            .map(|i| self.row(i).iter().zip(h).map(|(&w, &h)| w as f64 * h).sum())
            .collect()
    }

    /// `−F(h)` given `r = W h`.
    fn hidden_log_weight(&self, h: &[f64], r: &[f64]) -> f64 {
        let mut x: f64 = h
            .iter()
            .zip(&self.hidden_bias)
            .map(|(h, &b)| h * b as f64)
            .sum();
        for ((&u, &l), &r) in self.loc.iter().zip(&self.log_var).zip(r) {
            let (u, l) = (u as f64, l as f64);
            x += (u * r + 0.5 * r * r) * (-l).exp() + 0.5 * (LN_2PI + l);
        }
        x
    }

    /// Validates a flat real-valued data set (`n_visible` columns, finite) and returns its
    /// number of rows.
    pub(crate) fn check_data(&self, data: &[f32]) -> Result<usize, GaussianRbmError> {
        if !data.len().is_multiple_of(self.n_visible) {
            return Err(RbmError::DataShape {
                len: data.len(),
                n_visible: self.n_visible,
            }
            .into());
        }
        if data.is_empty() {
            return Err(RbmError::EmptyData.into());
        }
        check_finite("data", data)?;
        Ok(data.len() / self.n_visible)
    }

    fn check_exact_size(&self) -> Result<(), GaussianRbmError> {
        if self.n_hidden > MAX_EXACT_UNITS {
            return Err(RbmError::TooLargeForExact {
                units: self.n_hidden,
                limit: MAX_EXACT_UNITS,
            }
            .into());
        }
        Ok(())
    }

    /// Exact `log Z = log Σ_h e^{−F(h)}`, enumerating the `2^{n_hidden}` hidden states
    /// (Gray-code order, `O(n_visible)` per state, parallel chunks that each start from
    /// scratch). Errors with [`RbmError::TooLargeForExact`] if `n_hidden >`
    /// [`MAX_EXACT_UNITS`].
    pub fn exact_log_partition(&self) -> Result<f64, GaussianRbmError> {
        self.check_exact_size()?;
        let per_chunk: Vec<f64> = self
            .hidden_chunks()
            .map(|(start, len)| {
                let mut logs = Vec::with_capacity(len as usize);
                self.walk_hidden(start, len, |h, r| logs.push(self.hidden_log_weight(h, r)));
                log_sum_exp(&logs)
            })
            .collect();
        Ok(log_sum_exp(&per_chunk))
    }

    /// Exact gradient of `log Z` with respect to every parameter, `E_{P(h)}[−∂F(h)/∂θ]`, by
    /// enumerating the hidden states (same limit as [`GaussianRbm::exact_log_partition`]).
    /// These are the model moments that the TAP gradient approximates.
    pub fn exact_log_partition_gradient(&self) -> Result<GaussianRbmGradient, GaussianRbmError> {
        let log_z = self.exact_log_partition()?;
        let (nv, nh) = (self.n_visible, self.n_hidden);
        let inv_s: Vec<f64> = self.variances().iter().map(|s| 1.0 / s).collect();
        let parts: Vec<GaussianRbmGradient> = self
            .hidden_chunks()
            .map(|(start, len)| {
                let mut g = GaussianRbmGradient::zeros(nv, nh);
                self.walk_hidden(start, len, |h, r| {
                    let p = (self.hidden_log_weight(h, r) - log_z).exp();
                    for i in 0..nv {
                        let u = self.loc[i] as f64;
                        g.loc[i] += p * r[i] * inv_s[i];
                        g.log_var[i] += p * (0.5 - (u * r[i] + 0.5 * r[i] * r[i]) * inv_s[i]);
                        let mean_scaled = (u + r[i]) * inv_s[i];
                        let row = &mut g.weights[i * nh..(i + 1) * nh];
                        for (gw, &hj) in row.iter_mut().zip(h) {
                            *gw += p * hj * mean_scaled;
                        }
                    }
                    for (gb, &hj) in g.hidden_bias.iter_mut().zip(h) {
                        *gb += p * hj;
                    }
                });
                g
            })
            .collect();
        let mut total = GaussianRbmGradient::zeros(nv, nh);
        for g in parts {
            for (dst, src) in [
                (&mut total.weights, g.weights),
                (&mut total.loc, g.loc),
                (&mut total.log_var, g.log_var),
                (&mut total.hidden_bias, g.hidden_bias),
            ] {
                for (d, x) in dst.iter_mut().zip(src) {
                    *d += x;
                }
            }
        }
        Ok(total)
    }

    /// Gradient of the mean data log-density term `−mean_v F(v)` over real-valued `data`
    /// (`n_visible` columns), the positive phase of training: with
    /// `p = σ(b + Wᵀ(v/s))`, the means of `v_i p_j/s_i` (weights), `(v_i − u_i)/s_i` (loc),
    /// `(v_i − u_i)²/(2 s_i) − (v_i/s_i)(W p)_i` (log_var) and `p_j` (hidden bias).
    pub fn data_gradient(&self, data: &[f32]) -> Result<GaussianRbmGradient, GaussianRbmError> {
        let rows = self.check_data(data)?;
        let (nv, nh) = (self.n_visible, self.n_hidden);
        let s = self.variances();
        let scale = 1.0 / rows as f64;
        let mut g = GaussianRbmGradient::zeros(nv, nh);
        for v in data.chunks_exact(nv) {
            let ph: Vec<f64> = self.hidden_field(v, &s).into_iter().map(sigmoid).collect();
            for (i, &vi) in v.iter().enumerate() {
                let (vs, d) = (vi as f64 / s[i], vi as f64 - self.loc[i] as f64);
                let mut wp = 0.0;
                let row = &mut g.weights[i * nh..(i + 1) * nh];
                for ((gw, &w), &p) in row.iter_mut().zip(self.row(i)).zip(&ph) {
                    *gw += scale * vs * p;
                    wp += w as f64 * p;
                }
                g.loc[i] += scale * d / s[i];
                g.log_var[i] += scale * (d * d / (2.0 * s[i]) - vs * wp);
            }
            for (gb, p) in g.hidden_bias.iter_mut().zip(&ph) {
                *gb += scale * p;
            }
        }
        Ok(g)
    }

    /// Exact average log-density of real-valued data, `−mean F(v) − log Z`.
    pub fn exact_average_log_likelihood(&self, data: &[f32]) -> Result<f64, GaussianRbmError> {
        self.check_data(data)?;
        let log_z = self.exact_log_partition()?;
        self.average_log_likelihood_with(data, log_z)
    }

    /// Average log-density of data given a (possibly approximate, e.g. TAP) `log Z`.
    pub fn average_log_likelihood_with(
        &self,
        data: &[f32],
        log_z: f64,
    ) -> Result<f64, GaussianRbmError> {
        let rows = self.check_data(data)?;
        if !log_z.is_finite() {
            return Err(RbmError::NonFinite {
                field: "log_z",
                index: 0,
                value: log_z as f32,
            }
            .into());
        }
        let s = self.variances();
        // Summed in row order so that the result does not depend on rayon's scheduling.
        let free: Vec<f64> = data
            .par_chunks_exact(self.n_visible)
            .map(|v| self.free_energy_visible_unchecked(v, &s))
            .collect();
        Ok(-free.iter().sum::<f64>() / rows as f64 - log_z)
    }

    /// `(start, length)` of the parallel chunks of the hidden enumeration.
    fn hidden_chunks(&self) -> impl ParallelIterator<Item = (u64, u64)> {
        let total = 1u64 << self.n_hidden;
        let chunk = 1u64 << self.n_hidden.min(12);
        (0..total / chunk)
            .into_par_iter()
            .map(move |c| (c * chunk, chunk))
    }

    /// Calls `visit(h, W h)` for the Gray codes of indices `start..start + len`.
    fn walk_hidden(&self, start: u64, len: u64, mut visit: impl FnMut(&[f64], &[f64])) {
        let nh = self.n_hidden;
        let gray = start ^ (start >> 1);
        let mut h: Vec<f64> = (0..nh).map(|j| ((gray >> j) & 1) as f64).collect();
        let mut r = self.weight_times(&h);
        for idx in start..start + len {
            visit(&h, &r);
            let next = idx + 1;
            if next < start + len {
                // Gray code: the next state flips the bit at the trailing zeros of `next`.
                let j = next.trailing_zeros() as usize;
                let sign = if h[j] == 1.0 { -1.0 } else { 1.0 };
                h[j] = 1.0 - h[j];
                for (i, ri) in r.iter_mut().enumerate() {
                    *ri += sign * self.weights[i * nh + j] as f64;
                }
            }
        }
    }
}
