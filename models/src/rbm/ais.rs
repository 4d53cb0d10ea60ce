//! Annealed importance sampling (AIS) estimate of `log Z` for a [`BinaryRbm`]
//! (Neal 2001; Salakhutdinov & Murray 2008).
//!
//! **Path.** The base distribution is an RBM with `W = 0` and biases `a₀`, `b₀` (by default
//! the machine's own `a`, `b`; a data-derived visible base bias can be given instead). Its
//! units are independent, so it is sampled exactly and
//! `log Z₀ = Σ_i softplus(a₀ᵢ) + Σ_j softplus(b₀ⱼ)`. The intermediate distributions are the
//! geometric mixtures `p_k ∝ p₀^{1−β_k} p₁^{β_k}`, which are again RBMs with weights
//! `β_k W`, visible bias `(1−β_k) a₀ + β_k a` and hidden bias `(1−β_k) b₀ + β_k b`. With the
//! default base this is exactly "scale only the weights by `β_k`".
//!
//! **Transitions.** One block-Gibbs sweep `v → h → v` of the intermediate RBM. It is
//! implemented directly in Rust rather than through the blockgibbs [`Sampler`] because the
//! runtime's per-chain β scales *every* coefficient (biases too), which is not the AIS path
//! above; building and compiling one model per β_k would be correct but needlessly slow.
//! The direct transition is exact (the model's exact conditionals, in `f64`).
//!
//! **Randomness.** Run `r` uses its own ChaCha8 stream (`seed`, stream `r`), so results do
//! not depend on the number of rayon threads.
//!
//! **Weights.** `log w = Σ_k [log p*_k(v_{k−1}) − log p*_{k−1}(v_{k−1})]` with the hidden
//! layer summed out analytically (`p*` is the unnormalised visible marginal); then
//! `log Ẑ = log Z₀ + log mean exp(log w)`, with the delta-method standard error
//! `sd(w) / (√M · mean(w))` and the effective sample size `(Σw)² / Σw²`.
//!
//! [`Sampler`]: blockgibbs_runtime::Sampler

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::{BinaryRbm, RbmError, sigmoid, softplus};

/// The ladder of inverse temperatures `0 = β_0 < … < β_K = 1`.
#[derive(Debug, Clone, PartialEq)]
pub enum BetaSchedule {
    /// `β_k = k / steps`, `k = 0..=steps`.
    Linear {
        /// Number of annealing steps `K` (≥ 1).
        steps: usize,
    },
    /// `β_0 = 0`, then `steps` values geometrically spaced from `min_beta` to 1.
    Geometric {
        /// Number of non-zero β values (≥ 1).
        steps: usize,
        /// First non-zero β, in `(0, 1]`.
        min_beta: f64,
    },
    /// An explicit ladder: finite, non-decreasing, starting at 0 and ending at 1.
    Custom(Vec<f64>),
}

impl BetaSchedule {
    /// The validated ladder `β_0 = 0, …, β_K = 1`.
    pub fn betas(&self) -> Result<Vec<f64>, RbmError> {
        let invalid = |reason: String| RbmError::InvalidAis {
            field: "schedule",
            reason,
        };
        match self {
            BetaSchedule::Linear { steps } => {
                if *steps == 0 {
                    return Err(invalid("linear schedule needs steps ≥ 1".into()));
                }
                Ok((0..=*steps).map(|k| k as f64 / *steps as f64).collect())
            }
            BetaSchedule::Geometric { steps, min_beta } => {
                if *steps == 0 {
                    return Err(invalid("geometric schedule needs steps ≥ 1".into()));
                }
                if !(*min_beta > 0.0 && *min_beta <= 1.0) {
                    return Err(invalid(format!("min_beta = {min_beta} must be in (0, 1]")));
                }
                let mut b = vec![0.0];
                if *steps == 1 {
                    b.push(1.0);
                } else {
                    let ratio = min_beta.ln() / (*steps as f64 - 1.0);
                    b.extend((0..*steps).map(|k| (ratio * (*steps - 1 - k) as f64).exp()));
                    if let Some(last) = b.last_mut() {
                        *last = 1.0;
                    }
                }
                Ok(b)
            }
            BetaSchedule::Custom(b) => {
                if b.len() < 2 {
                    return Err(invalid(format!("{} values; need at least 2", b.len())));
                }
                if b[0] != 0.0 || b[b.len() - 1] != 1.0 {
                    return Err(invalid("the ladder must start at 0 and end at 1".into()));
                }
                if let Some(k) = (1..b.len()).find(|&k| !b[k].is_finite() || b[k] < b[k - 1]) {
                    return Err(invalid(format!(
                        "β[{k}] = {} is not finite or decreases",
                        b[k]
                    )));
                }
                Ok(b.clone())
            }
        }
    }
}

/// Settings of [`ais_log_partition`].
#[derive(Debug, Clone, PartialEq)]
pub struct AisOptions {
    /// Number of independent AIS runs `M` (≥ 2, for the standard error).
    pub runs: usize,
    /// The β ladder.
    pub schedule: BetaSchedule,
    /// Seed of the ChaCha8 streams (run `r` uses stream `r`).
    pub seed: u64,
    /// Visible bias `a₀` of the base RBM; `None` uses the machine's `a`. A common choice is
    /// the logit of the (smoothed) data marginals.
    pub base_visible_bias: Option<Vec<f32>>,
    /// Hidden bias `b₀` of the base RBM; `None` uses the machine's `b`.
    pub base_hidden_bias: Option<Vec<f32>>,
}

impl Default for AisOptions {
    /// 100 runs, 1,000 linear steps, seed 0, the machine's own biases as base.
    fn default() -> Self {
        AisOptions {
            runs: 100,
            schedule: BetaSchedule::Linear { steps: 1000 },
            seed: 0,
            base_visible_bias: None,
            base_hidden_bias: None,
        }
    }
}

/// The AIS estimate and its diagnostics.
#[derive(Debug, Clone, PartialEq)]
pub struct AisResult {
    /// The estimate `log Ẑ = log Z₀ + log mean exp(log w)`.
    pub log_z: f64,
    /// Delta-method standard error of `log Ẑ`: `sd(w) / (√M · mean(w))`.
    pub std_err: f64,
    /// Effective sample size of the importance weights, `(Σw)² / Σw²`, in `[1, M]`.
    pub ess: f64,
    /// Exact `log Z₀` of the base distribution.
    pub log_z_base: f64,
    /// The log importance weight of every run, in run order.
    pub log_weights: Vec<f64>,
}

/// Estimates `log Z` of `rbm` by annealed importance sampling (see the module docs for the
/// path, the transition and the error estimate).
pub fn ais_log_partition(rbm: &BinaryRbm, options: &AisOptions) -> Result<AisResult, RbmError> {
    if options.runs < 2 {
        return Err(RbmError::InvalidAis {
            field: "runs",
            reason: format!("{} runs; need at least 2", options.runs),
        });
    }
    let betas = options.schedule.betas()?;
    let base_a = base_bias(
        "base_visible_bias",
        options.base_visible_bias.as_deref(),
        rbm.visible_bias(),
    )?;
    let base_b = base_bias(
        "base_hidden_bias",
        options.base_hidden_bias.as_deref(),
        rbm.hidden_bias(),
    )?;
    let log_z_base = base_a.iter().map(|&x| softplus(x)).sum::<f64>()
        + base_b.iter().map(|&x| softplus(x)).sum::<f64>();
    let path = Path {
        rbm,
        a0: base_a,
        b0: base_b,
        a1: rbm.visible_bias().iter().map(|&x| x as f64).collect(),
        b1: rbm.hidden_bias().iter().map(|&x| x as f64).collect(),
    };
    let log_weights: Vec<f64> = (0..options.runs)
        .into_par_iter()
        .map(|r| {
            let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
            rng.set_stream(r as u64);
            path.run(&betas, &mut rng)
        })
        .collect();
    let (log_mean, std_err, ess) = weight_stats(&log_weights);
    Ok(AisResult {
        log_z: log_z_base + log_mean,
        std_err,
        ess,
        log_z_base,
        log_weights,
    })
}

fn base_bias(
    field: &'static str,
    given: Option<&[f32]>,
    own: &[f32],
) -> Result<Vec<f64>, RbmError> {
    let b = given.unwrap_or(own);
    if b.len() != own.len() {
        return Err(RbmError::ShapeMismatch {
            field,
            expected: own.len(),
            found: b.len(),
        });
    }
    if let Some(index) = b.iter().position(|x| !x.is_finite()) {
        return Err(RbmError::NonFinite {
            field,
            index,
            value: b[index],
        });
    }
    Ok(b.iter().map(|&x| x as f64).collect())
}

/// `(log mean exp(l), delta-method s.e. of log mean w, effective sample size)`.
fn weight_stats(log_w: &[f64]) -> (f64, f64, f64) {
    let m = log_w.len() as f64;
    let max = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = log_w.iter().map(|&l| (l - max).exp()).collect();
    let sum: f64 = w.iter().sum();
    let sum_sq: f64 = w.iter().map(|x| x * x).sum();
    let mean = sum / m;
    let var = w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (m - 1.0);
    let std_err = var.sqrt() / (m.sqrt() * mean);
    (max + mean.ln(), std_err, sum * sum / sum_sq)
}

/// The geometric path between the base RBM `(0, a₀, b₀)` and the target `(W, a, b)`.
struct Path<'a> {
    rbm: &'a BinaryRbm,
    a0: Vec<f64>,
    b0: Vec<f64>,
    a1: Vec<f64>,
    b1: Vec<f64>,
}

impl Path<'_> {
    /// One AIS run; returns its log importance weight.
    fn run(&self, betas: &[f64], rng: &mut ChaCha8Rng) -> f64 {
        let (nv, nh) = (self.rbm.n_visible(), self.rbm.n_hidden());
        let w = self.rbm.weights();
        // Exact sample of the base: independent units.
        let mut v: Vec<f64> = self
            .a0
            .iter()
            .map(|&a| bernoulli(rng, sigmoid(a)))
            .collect();
        let mut h = vec![0.0; nh];
        let mut wv = vec![0.0; nh];
        let mut log_w = 0.0;
        for k in 1..betas.len() {
            self.weights_times_v(&v, &mut wv);
            log_w +=
                self.log_marginal(&v, &wv, betas[k]) - self.log_marginal(&v, &wv, betas[k - 1]);
            if k + 1 == betas.len() {
                break;
            }
            // Gibbs sweep v → h → v of the intermediate RBM at β_k.
            let beta = betas[k];
            for j in 0..nh {
                let field = (1.0 - beta) * self.b0[j] + beta * (self.b1[j] + wv[j]);
                h[j] = bernoulli(rng, sigmoid(field));
            }
            for i in 0..nv {
                let row = &w[i * nh..(i + 1) * nh];
                let wh: f64 = row.iter().zip(&h).map(|(&wij, &hj)| wij as f64 * hj).sum();
                let field = (1.0 - beta) * self.a0[i] + beta * (self.a1[i] + wh);
                v[i] = bernoulli(rng, sigmoid(field));
            }
        }
        log_w
    }

    /// `wv = Wᵀv`.
    fn weights_times_v(&self, v: &[f64], wv: &mut [f64]) {
        let nh = self.rbm.n_hidden();
        let w = self.rbm.weights();
        wv.iter_mut().for_each(|x| *x = 0.0);
        for (i, &vi) in v.iter().enumerate() {
            if vi != 0.0 {
                for (x, &wij) in wv.iter_mut().zip(&w[i * nh..(i + 1) * nh]) {
                    *x += wij as f64;
                }
            }
        }
    }

    /// Unnormalised log visible marginal of the intermediate RBM at `beta`, given `Wᵀv`.
    fn log_marginal(&self, v: &[f64], wv: &[f64], beta: f64) -> f64 {
        let lin: f64 = v
            .iter()
            .zip(self.a0.iter().zip(&self.a1))
            .map(|(&vi, (&a0, &a1))| vi * ((1.0 - beta) * a0 + beta * a1))
            .sum();
        let hid: f64 = wv
            .iter()
            .zip(self.b0.iter().zip(&self.b1))
            .map(|(&x, (&b0, &b1))| softplus((1.0 - beta) * b0 + beta * (b1 + x)))
            .sum();
        lin + hid
    }
}

fn bernoulli(rng: &mut ChaCha8Rng, p: f64) -> f64 {
    if rng.random::<f64>() < p { 1.0 } else { 0.0 }
}
