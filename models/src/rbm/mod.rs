//! Binary restricted Boltzmann machines and their evaluation (issue 4, "Evaluation").
//!
//! - [`BinaryRbm`]: validated parameters (weights `W`, visible bias `a`, hidden bias `b`),
//!   conversion to a blockgibbs [`Model`], free energies of either layer, conditional means.
//! - [`exact`]: exact `log Z` and average log-likelihood when the smaller layer has at most
//!   [`MAX_EXACT_UNITS`] units.
//! - [`ais`]: annealed importance sampling estimate of `log Z` for larger machines.
//! - [`train`]: CD-k / PCD gradients, penalties, hinton / Glorot initialisation, [`fit`];
//!   the sampler itself is [`estimator::GradientEstimator`], the layered machines' estimator
//!   on the RBM as a two-layer [`crate::machine::BoltzmannMachine`], and [`driven`] (the
//!   machine module's) gives PCD's fantasy particles driven inverse temperatures (paysage's
//!   `DrivenSequentialMC`).
//! - [`gaussian`]: Gaussian–Bernoulli RBMs ([`GaussianRbm`]) with exact `log Z`;
//!   [`gaussian_tap`]: their mean-field / TAP2 free energies.
//! - [`BinaryRbm::pseudo_log_likelihood`], [`BinaryRbm::stochastic_pseudo_log_likelihood`] and
//!   [`BinaryRbm::reconstruction_error`].
//!
//! Convention: the log-density (= −energy) of a joint state is `aᵀv + bᵀh + vᵀWh` with
//! `v ∈ {0,1}^n_visible`, `h ∈ {0,1}^n_hidden`. Data sets are flat row-major `f32` slices
//! with `n_visible` columns, one example per row. All sums are accumulated in `f64`.

pub mod ais;
pub mod estimator;
pub mod exact;
pub mod gaussian;
pub mod gaussian_tap;
pub mod tap;
pub mod train;

use blockgibbs_ir::{Model, ModelBuilder, ModelError, NodeKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use thiserror::Error;

pub use crate::machine::driven::{self, BetaProcess, DrivenBeta};
pub use ais::{AisOptions, AisResult, BetaSchedule, ais_log_partition};
pub use exact::{
    MAX_EXACT_UNITS, average_log_likelihood, average_log_likelihood_with, log_partition,
};
pub use gaussian::{GaussianRbm, GaussianRbmError, GaussianRbmGradient};
pub use tap::{TapError, TapGradient, TapOptions, TapOrder, TapResult};
pub use train::{
    EpochReport, GradientEstimate, GradientEstimator, Penalty, PhaseStats, RbmGradient, Sampling,
    TrainError, TrainOptions, exact_gradient, exact_model_stats, fit, glorot_init, hinton_init,
    positive_phase,
};

/// Everything that can be wrong with RBM parameters, data or evaluation settings. Each
/// variant names the field at fault.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RbmError {
    /// A layer with no units.
    #[error("`{field}` must be at least 1")]
    EmptyLayer {
        /// The layer size at fault (`n_visible` or `n_hidden`).
        field: &'static str,
    },
    /// A parameter or option vector of the wrong length.
    #[error("`{field}` has {found} entries, expected {expected}")]
    ShapeMismatch {
        /// The field at fault.
        field: &'static str,
        /// Required length.
        expected: usize,
        /// Given length.
        found: usize,
    },
    /// A NaN or infinite value.
    #[error("`{field}`[{index}] is {value}; values must be finite")]
    NonFinite {
        /// The field at fault.
        field: &'static str,
        /// Flat index of the entry.
        index: usize,
        /// The offending value.
        value: f32,
    },
    /// A layer product `n_visible × n_hidden` that overflows `usize`.
    #[error("n_visible = {n_visible} × n_hidden = {n_hidden} weights overflow usize")]
    TooLarge {
        /// Visible units asked for.
        n_visible: usize,
        /// Hidden units asked for.
        n_hidden: usize,
    },
    /// A data set whose length is not a multiple of `n_visible`.
    #[error("`data` has {len} values, not a multiple of n_visible = {n_visible}")]
    DataShape {
        /// Number of values given.
        len: usize,
        /// Columns per example.
        n_visible: usize,
    },
    /// A data set with no examples.
    #[error("`data` holds no examples")]
    EmptyData,
    /// A data value that is not 0 or 1 where binary data is required.
    #[error("`data` row {row}, column {col} is {value}; binary data must be 0 or 1")]
    NotBinary {
        /// Example index.
        row: usize,
        /// Visible unit index.
        col: usize,
        /// The offending value.
        value: f32,
    },
    /// Exact evaluation was asked for a machine whose smaller layer is too large.
    #[error("exact log Z enumerates the smaller layer: it has {units} units, the limit is {limit}")]
    TooLargeForExact {
        /// Units in the smaller layer.
        units: usize,
        /// The limit ([`MAX_EXACT_UNITS`]).
        limit: usize,
    },
    /// An invalid annealed-importance-sampling setting.
    #[error("AIS option `{field}`: {reason}")]
    InvalidAis {
        /// The option at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Building the blockgibbs model failed.
    #[error("building the factor graph: {0}")]
    Model(#[from] ModelError),
}

pub use crate::numeric::{log_sum_exp, sigmoid, softplus};

fn check_finite(field: &'static str, xs: &[f32]) -> Result<(), RbmError> {
    match xs.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(RbmError::NonFinite {
            field,
            index,
            value: xs[index],
        }),
        None => Ok(()),
    }
}

fn weight_count(n_visible: usize, n_hidden: usize) -> Result<usize, RbmError> {
    n_visible.checked_mul(n_hidden).ok_or(RbmError::TooLarge {
        n_visible,
        n_hidden,
    })
}

fn check_len(field: &'static str, xs: &[f32], expected: usize) -> Result<(), RbmError> {
    if xs.len() == expected {
        Ok(())
    } else {
        Err(RbmError::ShapeMismatch {
            field,
            expected,
            found: xs.len(),
        })
    }
}

/// A binary {0,1} restricted Boltzmann machine with log-density `aᵀv + bᵀh + vᵀWh`.
/// Fields are private so that every instance is validated (shapes match, values finite).
///
/// ```
/// use blockgibbs_models::rbm::{BinaryRbm, average_log_likelihood, log_partition};
/// let rbm = BinaryRbm::random(6, 4, 0.5, 0.1, 0).unwrap();
/// let log_z = log_partition(&rbm).unwrap(); // enumerates the 4 hidden units
/// let ll = average_log_likelihood(&rbm, &[1.0, 0.0, 1.0, 0.0, 1.0, 1.0]).unwrap();
/// assert!(log_z > 0.0 && ll < 0.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryRbm {
    n_visible: usize,
    n_hidden: usize,
    weights: Vec<f32>,
    visible_bias: Vec<f32>,
    hidden_bias: Vec<f32>,
}

impl BinaryRbm {
    /// A validated RBM. `weights` is `[n_visible × n_hidden]` row-major (`W[i][j]` at
    /// `i * n_hidden + j`); `visible_bias` has `n_visible` entries, `hidden_bias` `n_hidden`.
    pub fn new(
        n_visible: usize,
        n_hidden: usize,
        weights: Vec<f32>,
        visible_bias: Vec<f32>,
        hidden_bias: Vec<f32>,
    ) -> Result<BinaryRbm, RbmError> {
        if n_visible == 0 {
            return Err(RbmError::EmptyLayer { field: "n_visible" });
        }
        if n_hidden == 0 {
            return Err(RbmError::EmptyLayer { field: "n_hidden" });
        }
        let n_weights = weight_count(n_visible, n_hidden)?;
        check_len("weights", &weights, n_weights)?;
        check_len("visible_bias", &visible_bias, n_visible)?;
        check_len("hidden_bias", &hidden_bias, n_hidden)?;
        check_finite("weights", &weights)?;
        check_finite("visible_bias", &visible_bias)?;
        check_finite("hidden_bias", &hidden_bias)?;
        Ok(BinaryRbm {
            n_visible,
            n_hidden,
            weights,
            visible_bias,
            hidden_bias,
        })
    }

    /// An RBM with all parameters zero (the uniform distribution).
    pub fn zeros(n_visible: usize, n_hidden: usize) -> Result<BinaryRbm, RbmError> {
        let n = weight_count(n_visible, n_hidden)?;
        BinaryRbm::new(
            n_visible,
            n_hidden,
            vec![0.0; n],
            vec![0.0; n_visible],
            vec![0.0; n_hidden],
        )
    }

    /// An RBM with weights `W_ij ~ N(0, weight_std²)` drawn from a ChaCha8 stream seeded
    /// with `seed`, and biases `a_i, b_j ~ N(0, bias_std²)` from the same stream.
    pub fn random(
        n_visible: usize,
        n_hidden: usize,
        weight_std: f32,
        bias_std: f32,
        seed: u64,
    ) -> Result<BinaryRbm, RbmError> {
        check_finite("weight_std", &[weight_std])?;
        check_finite("bias_std", &[bias_std])?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut normal = |std: f32| -> f32 {
            // Box–Muller; avoids depending on a distribution type for one helper.
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = rng.random::<f64>();
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            (z * std as f64) as f32
        };
        let n = weight_count(n_visible, n_hidden)?;
        let weights = (0..n).map(|_| normal(weight_std)).collect();
        let a = (0..n_visible).map(|_| normal(bias_std)).collect();
        let b = (0..n_hidden).map(|_| normal(bias_std)).collect();
        BinaryRbm::new(n_visible, n_hidden, weights, a, b)
    }

    /// Number of visible units.
    pub fn n_visible(&self) -> usize {
        self.n_visible
    }

    /// Number of hidden units.
    pub fn n_hidden(&self) -> usize {
        self.n_hidden
    }

    /// Weights `[n_visible × n_hidden]`, row-major.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// Visible bias `a`.
    pub fn visible_bias(&self) -> &[f32] {
        &self.visible_bias
    }

    /// Hidden bias `b`.
    pub fn hidden_bias(&self) -> &[f32] {
        &self.hidden_bias
    }

    /// The blockgibbs factor graph of this RBM: groups `"visible"` and `"hidden"` of
    /// [`NodeKind::Binary`] nodes, a dense `"weights"` pair coupling and the
    /// `"visible_bias"` / `"hidden_bias"` linear biases, so that
    /// `Model::energy = −(aᵀv + bᵀh + vᵀWh)`.
    pub fn to_model(&self) -> Result<Model, RbmError> {
        let mut b = ModelBuilder::new();
        let v = b.group("visible", NodeKind::Binary, self.n_visible)?;
        let h = b.group("hidden", NodeKind::Binary, self.n_hidden)?;
        let mut left = Vec::with_capacity(self.weights.len());
        let mut right = Vec::with_capacity(self.weights.len());
        for i in 0..self.n_visible {
            for j in 0..self.n_hidden {
                left.push(v.node(i));
                right.push(h.node(j));
            }
        }
        b.pair_coupling("weights", &left, &right, &self.weights);
        b.linear_bias("visible_bias", &v.ids(), &self.visible_bias);
        b.linear_bias("hidden_bias", &h.ids(), &self.hidden_bias);
        Ok(b.build()?)
    }

    /// Energy `−(aᵀv + bᵀh + vᵀWh)` of a joint state, in `f64`.
    pub fn energy(&self, v: &[f32], h: &[f32]) -> Result<f64, RbmError> {
        check_len("v", v, self.n_visible)?;
        check_len("h", h, self.n_hidden)?;
        let mut s = dot(&self.visible_bias, v) + dot(&self.hidden_bias, h);
        for (i, &vi) in v.iter().enumerate() {
            if vi != 0.0 {
                s += vi as f64 * dot(self.row(i), h);
            }
        }
        Ok(-s)
    }

    /// Free energy of a visible vector, `F(v) = −aᵀv − Σ_j softplus(b_j + (Wᵀv)_j)`, so that
    /// `p(v) = e^{−F(v)} / Z`. Accepts any finite `v` (not only {0,1}).
    pub fn free_energy_visible(&self, v: &[f32]) -> Result<f64, RbmError> {
        check_len("v", v, self.n_visible)?;
        check_finite("v", v)?;
        Ok(self.free_energy_visible_unchecked(v))
    }

    /// Free energy of a hidden vector, `F(h) = −bᵀh − Σ_i softplus(a_i + (Wh)_i)`.
    pub fn free_energy_hidden(&self, h: &[f32]) -> Result<f64, RbmError> {
        check_len("h", h, self.n_hidden)?;
        check_finite("h", h)?;
        let mut f = -dot(&self.hidden_bias, h);
        for i in 0..self.n_visible {
            f -= softplus(self.visible_bias[i] as f64 + dot(self.row(i), h));
        }
        Ok(f)
    }

    /// `P(h_j = 1 | v) = σ(b_j + (Wᵀv)_j)` for every hidden unit.
    pub fn hidden_probs(&self, v: &[f32]) -> Result<Vec<f64>, RbmError> {
        check_len("v", v, self.n_visible)?;
        check_finite("v", v)?;
        Ok(self.hidden_field(v).into_iter().map(sigmoid).collect())
    }

    /// `P(v_i = 1 | h) = σ(a_i + (Wh)_i)` for every visible unit (`h` may be real-valued,
    /// e.g. hidden means).
    pub fn visible_probs(&self, h: &[f32]) -> Result<Vec<f64>, RbmError> {
        check_len("h", h, self.n_hidden)?;
        check_finite("h", h)?;
        Ok((0..self.n_visible)
            .map(|i| sigmoid(self.visible_bias[i] as f64 + dot(self.row(i), h)))
            .collect())
    }

    /// Average reconstruction error of a data set: for each example, one mean-field pass
    /// `μ_h = E[h | v]`, `μ_v = E[v | h = μ_h]`, then `‖v − μ_v‖²` summed over units; the
    /// result is the mean over examples. Data may be real-valued (finite).
    pub fn reconstruction_error(&self, data: &[f32]) -> Result<f64, RbmError> {
        let rows = self.check_data(data, false)?;
        let mut total = 0.0;
        for v in data.chunks_exact(self.n_visible) {
            let mh: Vec<f64> = self.hidden_field(v).into_iter().map(sigmoid).collect();
            for (i, &vi) in v.iter().enumerate() {
                let wh: f64 = self
                    .row(i)
                    .iter()
                    .zip(&mh)
                    .map(|(&w, &m)| w as f64 * m)
                    .sum();
                let mv = sigmoid(self.visible_bias[i] as f64 + wh);
                total += (vi as f64 - mv).powi(2);
            }
        }
        Ok(total / rows as f64)
    }

    /// Exact pseudo-log-likelihood of binary data: for each example the sum over visible
    /// units of `log P(v_i | v_{−i}) = −softplus(F(v) − F(v^{(i)}))` (`v^{(i)}` is `v` with
    /// unit `i` flipped), averaged over examples. This is the quantity that scikit-learn's
    /// `BernoulliRBM.score_samples` estimates from one random unit per example.
    pub fn pseudo_log_likelihood(&self, data: &[f32]) -> Result<f64, RbmError> {
        let rows = self.check_data(data, true)?;
        let mut total = 0.0;
        for v in data.chunks_exact(self.n_visible) {
            let field = self.hidden_field(v);
            for i in 0..self.n_visible {
                total += self.log_conditional_flip(v, &field, i);
            }
        }
        Ok(total / rows as f64)
    }

    /// Stochastic pseudo-log-likelihood, as scikit-learn's `score_samples`: for each example
    /// one visible unit `i` drawn uniformly (ChaCha8 seeded with `seed`), scored as
    /// `n_visible · log P(v_i | v_{−i})`; the result is the mean over examples (an unbiased
    /// estimate of [`BinaryRbm::pseudo_log_likelihood`]).
    pub fn stochastic_pseudo_log_likelihood(
        &self,
        data: &[f32],
        seed: u64,
    ) -> Result<f64, RbmError> {
        let rows = self.check_data(data, true)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut total = 0.0;
        for v in data.chunks_exact(self.n_visible) {
            let i = rng.random_range(0..self.n_visible);
            let field = self.hidden_field(v);
            total += self.n_visible as f64 * self.log_conditional_flip(v, &field, i);
        }
        Ok(total / rows as f64)
    }

    /// `log P(v_i | v_{−i})` given the hidden field `b + Wᵀv` of `v`.
    fn log_conditional_flip(&self, v: &[f32], field: &[f64], i: usize) -> f64 {
        let sign = if v[i] != 0.0 { -1.0 } else { 1.0 };
        let row = self.row(i);
        // F(v) − F(v^{(i)}) = a_i·sign + Σ_j [softplus(x_j + sign·W_ij) − softplus(x_j)].
        let mut delta = sign * self.visible_bias[i] as f64;
        for (x, &w) in field.iter().zip(row) {
            delta += softplus(x + sign * w as f64) - softplus(*x);
        }
        -softplus(delta)
    }

    /// Validates a flat data set and returns its number of rows.
    pub(crate) fn check_data(&self, data: &[f32], binary: bool) -> Result<usize, RbmError> {
        if !data.len().is_multiple_of(self.n_visible) {
            return Err(RbmError::DataShape {
                len: data.len(),
                n_visible: self.n_visible,
            });
        }
        if data.is_empty() {
            return Err(RbmError::EmptyData);
        }
        for (k, &x) in data.iter().enumerate() {
            if binary && x != 0.0 && x != 1.0 {
                return Err(RbmError::NotBinary {
                    row: k / self.n_visible,
                    col: k % self.n_visible,
                    value: x,
                });
            }
            if !x.is_finite() {
                return Err(RbmError::NonFinite {
                    field: "data",
                    index: k,
                    value: x,
                });
            }
        }
        Ok(data.len() / self.n_visible)
    }

    /// Row `i` of `W` (the weights of visible unit `i`).
    pub(crate) fn row(&self, i: usize) -> &[f32] {
        &self.weights[i * self.n_hidden..(i + 1) * self.n_hidden]
    }

    /// Hidden field `b + Wᵀv`, in `f64`.
    pub(crate) fn hidden_field(&self, v: &[f32]) -> Vec<f64> {
        let mut x: Vec<f64> = self.hidden_bias.iter().map(|&b| b as f64).collect();
        for (i, &vi) in v.iter().enumerate() {
            if vi != 0.0 {
                for (xj, &w) in x.iter_mut().zip(self.row(i)) {
                    *xj += vi as f64 * w as f64;
                }
            }
        }
        x
    }

    pub(crate) fn free_energy_visible_unchecked(&self, v: &[f32]) -> f64 {
        -dot(&self.visible_bias, v) - self.hidden_field(v).into_iter().map(softplus).sum::<f64>()
    }
}

/// `Σ a_i b_i` in `f64`.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}
