//! The MAP priors of multiDGD's mixture: the softball prior on the component means, a Gaussian
//! prior on the log-variances, and a symmetric Dirichlet prior on the weights. Each has an
//! exactly normalised closed-form log density and its gradient.

use std::f64::consts::PI;

use rand::Rng;
use rand_distr::StandardNormal;

use super::error::{DgdError, at_least_one, positive};
use super::special::{ln_fermi_dirac, ln_gamma, sigmoid, softplus};

/// A mollified uniform distribution on the ball of radius `r` in `d` dimensions:
/// `p(z) = 1 / (Z (1 + exp(s (|z|/r − 1))))`, nearly flat inside the ball and decaying like
/// `e^{−s|z|/r}` outside; the hardness `s` sets how sharp the edge is (the density at the edge
/// is half the density at the centre when `s` is large).
///
/// The normaliser is exact: in polar coordinates and with `t = sρ/r`,
/// `Z = S_{d−1} ∫_0^∞ ρ^{d−1} dρ / (1 + e^{s(ρ/r−1)}) = S_{d−1} (r/s)^d Γ(d) F_d(s)` where
/// `S_{d−1} = 2π^{d/2}/Γ(d/2)` and `F_d(s) = −Li_d(−e^s)` is the complete Fermi–Dirac integral.
/// As `s → ∞`, `Γ(d) F_d(s) → s^d / d` and `Z` tends to the ball's volume `π^{d/2} r^d / Γ(1 + d/2)`,
/// multiDGD's constant (which is therefore off at finite hardness; see [the module
/// docs](super)).
#[derive(Clone, Debug, PartialEq)]
pub struct SoftballPrior {
    dim: usize,
    radius: f64,
    hardness: f64,
    ln_norm: f64,
}

impl SoftballPrior {
    /// The prior in `dim ≥ 1` dimensions with `radius > 0` and `hardness > 0` (multiDGD's
    /// `sharpness`).
    pub fn new(dim: usize, radius: f64, hardness: f64) -> Result<SoftballPrior, DgdError> {
        at_least_one("dim", dim)?;
        positive("softball_radius", radius)?;
        positive("softball_hardness", hardness)?;
        let d = dim as f64;
        let ln_sphere = std::f64::consts::LN_2 + 0.5 * d * PI.ln() - ln_gamma(0.5 * d);
        let ln_norm =
            ln_sphere + d * (radius / hardness).ln() + ln_gamma(d) + ln_fermi_dirac(dim, hardness);
        Ok(SoftballPrior {
            dim,
            radius,
            hardness,
            ln_norm,
        })
    }

    /// Dimension of the space.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Radius `r` of the ball.
    pub fn radius(&self) -> f64 {
        self.radius
    }

    /// Hardness `s` of the edge.
    pub fn hardness(&self) -> f64 {
        self.hardness
    }

    /// `ln Z`, the log normaliser.
    pub fn log_normalizer(&self) -> f64 {
        self.ln_norm
    }

    /// `ln` of the hard ball's volume, `(d/2) ln π + d ln r − ln Γ(1 + d/2)`: the `s → ∞` limit of
    /// [`SoftballPrior::log_normalizer`] and the constant multiDGD uses at every hardness.
    pub fn log_ball_volume(&self) -> f64 {
        let d = self.dim as f64;
        0.5 * d * PI.ln() + d * self.radius.ln() - ln_gamma(1.0 + 0.5 * d)
    }

    /// `log p(z)` for one point (`z.len() == dim`; not checked here: the mixture checks shapes).
    pub fn log_prob(&self, z: &[f64]) -> f64 {
        -self.ln_norm - softplus(self.hardness * (norm(z) / self.radius - 1.0))
    }

    /// Adds `scale · ∇ log p(z)` to `grad`. The gradient is
    /// `−(s/r) σ(s(|z|/r − 1)) z/|z|`, and 0 at `z = 0` (the density is symmetric there).
    pub fn add_grad_log_prob(&self, z: &[f64], scale: f64, grad: &mut [f64]) {
        let n = norm(z);
        if n == 0.0 {
            return;
        }
        let factor = -scale * self.hardness / self.radius
            * sigmoid(self.hardness * (n / self.radius - 1.0))
            / n;
        for (g, zi) in grad.iter_mut().zip(z) {
            *g += factor * zi;
        }
    }

    /// `n` points uniform in the hard ball of radius `r` (row-major `n × dim`): multiDGD's
    /// "approximate sample", which initialises the means. It is not a draw from the softball
    /// density (which has tails outside the ball).
    pub fn sample_uniform_ball<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Vec<f64> {
        let mut out = Vec::with_capacity(n * self.dim);
        for _ in 0..n {
            let start = out.len();
            out.extend((0..self.dim).map(|_| rng.sample::<f64, _>(StandardNormal)));
            let direction = norm(&out[start..]);
            // u^{1/d} makes the radius's density ∝ ρ^{d−1}, i.e. uniform in volume.
            let length = self.radius * rng.random::<f64>().powf(1.0 / self.dim as f64);
            let scale = if direction > 0.0 {
                length / direction
            } else {
                0.0
            };
            out[start..].iter_mut().for_each(|v| *v *= scale);
        }
        out
    }
}

/// The Euclidean norm.
pub(crate) fn norm(z: &[f64]) -> f64 {
    z.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// A Gaussian prior `N(loc, scale²)` on each log-variance `v = ln σ²` of the mixture.
///
/// multiDGD's constructor takes it as `(m, s)`, the intended mean and spread of the standard
/// deviation σ = `e^{v/2}`. A Gaussian `v` makes σ log-normal with
/// `ln σ ~ N(loc/2, scale²/4)`, so `E[σ] = e^{loc/2 + scale²/8}` and
/// `Var[σ] = E[σ]² (e^{scale²/4} − 1)`. Asking for `E[σ] = m` and `SD[σ] = s` exactly gives
/// `τ² = ln(1 + s²/m²)`, `scale = 2τ`, `loc = 2 ln m − τ²` ([`LogVariancePrior::from_sd_moments`];
/// [`LogVariancePrior::sd_moments`] inverts it).
#[derive(Clone, Debug, PartialEq)]
pub struct LogVariancePrior {
    loc: f64,
    scale: f64,
}

impl LogVariancePrior {
    /// `N(loc, scale²)` on the log-variance; `loc` finite, `scale > 0`.
    pub fn new(loc: f64, scale: f64) -> Result<LogVariancePrior, DgdError> {
        if !loc.is_finite() {
            return Err(DgdError::InvalidParameter {
                field: "log_var_prior_loc",
                value: loc,
                reason: "must be finite",
            });
        }
        positive("log_var_prior_scale", scale)?;
        Ok(LogVariancePrior { loc, scale })
    }

    /// The prior under which σ = `e^{v/2}` has mean `sd_mean` and standard deviation `sd_sd`
    /// (both positive): multiDGD's `sd_init`, converted exactly (see the type's docs).
    pub fn from_sd_moments(sd_mean: f64, sd_sd: f64) -> Result<LogVariancePrior, DgdError> {
        positive("sd_mean", sd_mean)?;
        positive("sd_sd", sd_sd)?;
        let tau2 = (sd_sd / sd_mean).powi(2).ln_1p();
        LogVariancePrior::new(2.0 * sd_mean.ln() - tau2, 2.0 * tau2.sqrt())
    }

    /// Mean of the log-variance.
    pub fn loc(&self) -> f64 {
        self.loc
    }

    /// Standard deviation of the log-variance.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// `(E[σ], SD[σ])` under this prior: the inverse of [`LogVariancePrior::from_sd_moments`].
    pub fn sd_moments(&self) -> (f64, f64) {
        let q = self.scale * self.scale / 4.0;
        let mean = (self.loc / 2.0 + q / 2.0).exp();
        (mean, mean * q.exp_m1().sqrt())
    }

    /// `log N(v; loc, scale²)`.
    pub fn log_prob(&self, v: f64) -> f64 {
        let u = (v - self.loc) / self.scale;
        -0.5 * (2.0 * PI).ln() - self.scale.ln() - 0.5 * u * u
    }

    /// `d/dv log N(v; loc, scale²) = −(v − loc)/scale²`.
    pub fn grad_log_prob(&self, v: f64) -> f64 {
        -(v - self.loc) / (self.scale * self.scale)
    }
}

/// A symmetric Dirichlet prior `Dir(α, …, α)` on the `K` mixture weights:
/// `log p(π) = ln Γ(Kα) − K ln Γ(α) + (α − 1) Σ_k ln π_k`, a density on the simplex with respect
/// to the Lebesgue measure of `(π_1, …, π_{K−1})`. The weights are `softmax(a)` of free logits;
/// the density is that of π evaluated at `softmax(a)`, as in multiDGD (no Jacobian of the
/// softmax: the MAP point is the mode of π's density).
#[derive(Clone, Debug, PartialEq)]
pub struct DirichletPrior {
    n_components: usize,
    alpha: f64,
    ln_norm: f64,
}

impl DirichletPrior {
    /// `Dir(α)` on `n_components ≥ 1` weights, `α > 0`.
    pub fn new(n_components: usize, alpha: f64) -> Result<DirichletPrior, DgdError> {
        at_least_one("n_components", n_components)?;
        positive("dirichlet_alpha", alpha)?;
        let k = n_components as f64;
        Ok(DirichletPrior {
            n_components,
            alpha,
            ln_norm: ln_gamma(k * alpha) - k * ln_gamma(alpha),
        })
    }

    /// The concentration α.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Number of weights `K`.
    pub fn n_components(&self) -> usize {
        self.n_components
    }

    /// `log p(π)` from the log-weights `ln π_k` (taking logs of the weights themselves would
    /// lose tiny weights to underflow).
    pub fn log_prob_from_log_weights(&self, log_weights: &[f64]) -> f64 {
        if self.alpha == 1.0 {
            return self.ln_norm;
        }
        self.ln_norm + (self.alpha - 1.0) * log_weights.iter().sum::<f64>()
    }

    /// `log p(π)` for weights on the simplex (`weights.len() == K`, positive, summing to 1;
    /// not checked).
    pub fn log_prob(&self, weights: &[f64]) -> f64 {
        let logs: Vec<f64> = weights.iter().map(|w| w.ln()).collect();
        self.log_prob_from_log_weights(&logs)
    }

    /// Adds `scale · ∂ log p(softmax(a)) / ∂a_j = scale (α − 1)(1 − K π_j)` to `grad`.
    pub fn add_grad_logits(&self, weights: &[f64], scale: f64, grad: &mut [f64]) {
        let k = self.n_components as f64;
        for (g, w) in grad.iter_mut().zip(weights) {
            *g += scale * (self.alpha - 1.0) * (1.0 - k * w);
        }
    }
}
