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
//! **Transitions.** One block-Gibbs sweep `h | v` then `v | h` of the intermediate RBM, on
//! the blockgibbs runtime: the runs are the chains of one [`MachineSampler`], made once, whose
//! parameters are set to the intermediate RBM's before each sweep
//! ([`MachineSampler::set_machine`]; the runtime's per-chain β would scale the biases too,
//! which is not this path). The first sweep, at `β_0 = 0` where `W = 0`, draws the base
//! exactly. Results depend on the seed only (not on the backend or the thread count).
//!
//! **Weights.** `log w = Σ_k [log p*_k(v_{k−1}) − log p*_{k−1}(v_{k−1})]` with the hidden
//! layer summed out analytically (`p*` is the unnormalised visible marginal); then
//! `log Ẑ = log Z₀ + log mean exp(log w)`, with the delta-method standard error
//! `sd(w) / (√M · mean(w))` and the effective sample size `(Σw)² / Σw²`.

use blockgibbs_runtime::{BackendChoice, SamplerOptions};
use faer::{Accum, Mat, MatRef};

use super::{BinaryRbm, RbmError, softplus};
use crate::linalg::matmul;
use crate::machine::{BoltzmannMachine, Layer, MachineError, MachineSampler, SamplingMode};

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
    /// Seed of the sampler.
    pub seed: u64,
    /// The kernels of the sweeps (the same results bit for bit on every one).
    pub backend: BackendChoice,
    /// Threads of the sampler (0: one per core); results do not depend on it.
    pub threads: usize,
    /// Visible bias `a₀` of the base RBM; `None` uses the machine's `a`. A common choice is
    /// the logit of the (smoothed) data marginals.
    pub base_visible_bias: Option<Vec<f32>>,
    /// Hidden bias `b₀` of the base RBM; `None` uses the machine's `b`.
    pub base_hidden_bias: Option<Vec<f32>>,
}

impl Default for AisOptions {
    /// 100 runs, 1,000 linear steps, seed 0, the best backend on every core, the machine's
    /// own biases as base.
    fn default() -> Self {
        AisOptions {
            runs: 100,
            schedule: BetaSchedule::Linear { steps: 1000 },
            seed: 0,
            backend: BackendChoice::default(),
            threads: 0,
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
    let log_weights = path
        .run(&betas, options)
        .map_err(|e| RbmError::InvalidAis {
            field: "sampler",
            reason: e.to_string(),
        })?;
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
    /// The intermediate RBM at `beta`: weights `β W`, biases `(1 − β)·base + β·own`.
    fn machine(&self, beta: f64) -> Result<BoltzmannMachine, MachineError> {
        let mix = |base: &[f64], own: &[f64]| -> Vec<f32> {
            base.iter()
                .zip(own)
                .map(|(&b0, &b1)| ((1.0 - beta) * b0 + beta * b1) as f32)
                .collect()
        };
        let w = self
            .rbm
            .weights()
            .iter()
            .map(|&w| (beta * w as f64) as f32)
            .collect();
        let layers = vec![
            Layer::binary(mix(&self.a0, &self.a1))?,
            Layer::binary(mix(&self.b0, &self.b1))?,
        ];
        BoltzmannMachine::new(layers, vec![w])
    }

    /// Every run's log importance weight; the runs are the sampler's chains.
    fn run(&self, betas: &[f64], options: &AisOptions) -> Result<Vec<f64>, MachineError> {
        let (nv, nh) = (self.rbm.n_visible(), self.rbm.n_hidden());
        let runs = options.runs;
        let sampler_options = SamplerOptions {
            chains: runs,
            seed: options.seed,
            threads: options.threads,
            beta: 1.0,
        };
        let mut sampler = MachineSampler::new(
            &self.machine(betas[0])?,
            &[],
            sampler_options,
            options.backend,
        )?;
        // At β_0 = 0 the layers are independent: one sweep draws the base exactly.
        sampler.run(SamplingMode::MarkovChain, 1)?;
        let w: Vec<f64> = self.rbm.weights().iter().map(|&x| x as f64).collect();
        let w = MatRef::from_row_major_slice(&w, nv, nh);
        let mut log_w = vec![0.0; runs];
        let mut wv = Mat::zeros(runs, nh);
        for k in 1..betas.len() {
            let values = sampler.layer_values(0)?;
            let v = Mat::from_fn(runs, nv, |r, i| values[r * nv + i] as f64);
            matmul(wv.as_mut(), Accum::Replace, v.as_ref(), w, 1.0);
            for (r, lw) in log_w.iter_mut().enumerate() {
                let row = &values[r * nv..(r + 1) * nv];
                let wv_r: Vec<f64> = (0..nh).map(|j| wv[(r, j)]).collect();
                *lw += self.log_marginal(row, &wv_r, betas[k])
                    - self.log_marginal(row, &wv_r, betas[k - 1]);
            }
            if k + 1 == betas.len() {
                break;
            }
            sampler.set_machine(&self.machine(betas[k])?)?;
            sampler.run(SamplingMode::MarkovChain, 1)?;
        }
        Ok(log_w)
    }

    /// Unnormalised log visible marginal of the intermediate RBM at `beta`, given `Wᵀv`.
    fn log_marginal(&self, v: &[f32], wv: &[f64], beta: f64) -> f64 {
        let lin: f64 = v
            .iter()
            .zip(self.a0.iter().zip(&self.a1))
            .map(|(&vi, (&a0, &a1))| vi as f64 * ((1.0 - beta) * a0 + beta * a1))
            .sum();
        let hid: f64 = wv
            .iter()
            .zip(self.b0.iter().zip(&self.b1))
            .map(|(&x, (&b0, &b1))| softplus((1.0 - beta) * b0 + beta * (b1 + x)))
            .sum();
        lin + hid
    }
}
