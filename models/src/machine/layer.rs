//! Layers of units of one kind and the per-layer arithmetic every machine operation uses:
//! energies, interaction statistics, conditionals and closed-form sums over a layer.

use std::fmt;

use super::{MachineError, check_finite, check_len};
use crate::rbm::{log_sum_exp, sigmoid, softplus};

/// `|log_var|` above this is rejected: `1/σ²` must stay a normal `f32` in the lowered
/// factors (e³⁰ ≈ 10¹³).
pub const MAX_ABS_LOG_VAR: f32 = 30.0;

/// The kind of every unit of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitKind {
    /// x ∈ {0, 1}, bias `b`.
    Binary,
    /// x ∈ {−1, +1}, bias `b`.
    Spin,
    /// x ∈ ℝ with mean `loc` and variance `exp(log_var)`.
    Gaussian,
    /// x ∈ {0, …, K−1} (one-hot in interactions), one bias per category.
    Categorical(usize),
}

impl UnitKind {
    /// Whether `value` is a state of a unit of this kind.
    pub fn admits(self, value: f32) -> bool {
        match self {
            UnitKind::Binary => value == 0.0 || value == 1.0,
            UnitKind::Spin => value == 1.0 || value == -1.0,
            UnitKind::Gaussian => value.is_finite(),
            UnitKind::Categorical(k) => {
                value >= 0.0 && value.fract() == 0.0 && (value as usize) < k
            }
        }
    }

    /// Entries of the interaction statistic per unit: K for categorical units, else 1.
    pub fn width(self) -> usize {
        match self {
            UnitKind::Categorical(k) => k,
            _ => 1,
        }
    }

    /// Whether the unit takes finitely many states.
    pub fn is_discrete(self) -> bool {
        self != UnitKind::Gaussian
    }
}

impl fmt::Display for UnitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnitKind::Binary => write!(f, "binary"),
            UnitKind::Spin => write!(f, "spin"),
            UnitKind::Gaussian => write!(f, "gaussian"),
            UnitKind::Categorical(k) => write!(f, "categorical({k})"),
        }
    }
}

/// The distribution of a layer given the states (or means) of its neighbours; units are
/// independent given the neighbours.
#[derive(Debug, Clone, PartialEq)]
pub enum Conditional {
    /// `P(x_i = 1)`.
    Binary(Vec<f64>),
    /// `P(x_i = +1)`.
    Spin(Vec<f64>),
    /// `x_i ~ N(mean_i, var_i)`.
    Gaussian {
        /// Conditional means `loc + f`.
        mean: Vec<f64>,
        /// Conditional variances `σ²`.
        var: Vec<f64>,
    },
    /// `P(x_i = c)` at `i · K + c`.
    Categorical {
        /// Categories per unit.
        k: usize,
        /// Probabilities, `[n × K]` row-major.
        probs: Vec<f64>,
    },
}

impl Conditional {
    /// `E[x_i]` per unit — what the runtime's `Mean` rule sets — or `None` for categorical
    /// units, whose state is a category rather than a number.
    pub fn means(&self) -> Option<Vec<f64>> {
        match self {
            Conditional::Binary(p) => Some(p.clone()),
            Conditional::Spin(p) => Some(p.iter().map(|p| 2.0 * p - 1.0).collect()),
            Conditional::Gaussian { mean, .. } => Some(mean.clone()),
            Conditional::Categorical { .. } => None,
        }
    }
}

/// `n` units of one kind with their parameters. Fields are private so that every layer is
/// validated: shapes match, values are finite, `|log_var| ≤ MAX_ABS_LOG_VAR`, K ≥ 2.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    kind: UnitKind,
    n: usize,
    /// Binary/spin: `b` (n); categorical: `θ` (`[n × K]`); Gaussian: `loc` (n).
    bias: Vec<f32>,
    /// Gaussian only (n); empty otherwise.
    log_var: Vec<f32>,
}

impl Layer {
    /// A validated layer of `n` units. `bias` holds `b` (binary, spin; `n` entries), `θ`
    /// (categorical; `[n × K]` row-major) or `loc` (Gaussian; `n`); `log_var` has `n` entries
    /// for Gaussian layers and must be empty otherwise.
    pub fn new(
        kind: UnitKind,
        n: usize,
        bias: Vec<f32>,
        log_var: Vec<f32>,
    ) -> Result<Layer, MachineError> {
        if n == 0 {
            return Err(MachineError::EmptyLayer {
                field: "layer".into(),
            });
        }
        if let UnitKind::Categorical(k) = kind
            && k < 2
        {
            return Err(MachineError::TooFewCategories {
                field: "layer".into(),
                k,
            });
        }
        let bias_name = if kind == UnitKind::Gaussian {
            "loc"
        } else {
            "bias"
        };
        let dim = n
            .checked_mul(kind.width())
            .ok_or_else(|| MachineError::InvalidOption {
                field: "n",
                reason: format!("{n} units × {} overflows usize", kind.width()),
            })?;
        check_len(|| bias_name.into(), &bias, dim)?;
        check_finite(|| bias_name.into(), &bias)?;
        let n_log_var = if kind == UnitKind::Gaussian { n } else { 0 };
        check_len(|| "log_var".into(), &log_var, n_log_var)?;
        check_finite(|| "log_var".into(), &log_var)?;
        if let Some(index) = log_var.iter().position(|s| s.abs() > MAX_ABS_LOG_VAR) {
            return Err(MachineError::OutOfRange {
                field: "log_var".into(),
                index,
                value: log_var[index],
                reason: format!("|log_var| must be at most {MAX_ABS_LOG_VAR}"),
            });
        }
        Ok(Layer {
            kind,
            n,
            bias,
            log_var,
        })
    }

    /// Binary {0,1} units with biases `b` (one per unit).
    pub fn binary(bias: Vec<f32>) -> Result<Layer, MachineError> {
        Layer::new(UnitKind::Binary, bias.len(), bias, Vec::new())
    }

    /// Spin {−1,+1} units with biases `b` (one per unit).
    pub fn spin(bias: Vec<f32>) -> Result<Layer, MachineError> {
        Layer::new(UnitKind::Spin, bias.len(), bias, Vec::new())
    }

    /// Gaussian units with means `loc` and log-variances `log_var` (one each per unit).
    pub fn gaussian(loc: Vec<f32>, log_var: Vec<f32>) -> Result<Layer, MachineError> {
        Layer::new(UnitKind::Gaussian, loc.len(), loc, log_var)
    }

    /// Categorical units with `k` categories; `bias` is `θ`, `[n × K]` row-major.
    pub fn categorical(k: usize, bias: Vec<f32>) -> Result<Layer, MachineError> {
        if k < 2 {
            return Err(MachineError::TooFewCategories {
                field: "layer".into(),
                k,
            });
        }
        if !bias.len().is_multiple_of(k) {
            return Err(MachineError::ShapeMismatch {
                field: "bias".into(),
                expected: bias.len().div_ceil(k) * k,
                found: bias.len(),
            });
        }
        Layer::new(UnitKind::Categorical(k), bias.len() / k, bias, Vec::new())
    }

    /// A layer of `n` units with zero biases (and unit variances for Gaussian units).
    pub fn zeros(kind: UnitKind, n: usize) -> Result<Layer, MachineError> {
        let dim = n
            .checked_mul(kind.width())
            .ok_or_else(|| MachineError::InvalidOption {
                field: "n",
                reason: format!("{n} units × {} overflows usize", kind.width()),
            })?;
        let log_var = if kind == UnitKind::Gaussian {
            vec![0.0; n]
        } else {
            Vec::new()
        };
        Layer::new(kind, n, vec![0.0; dim], log_var)
    }

    /// The unit kind.
    pub fn kind(&self) -> UnitKind {
        self.kind
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Always false: layers have at least one unit.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Length of the interaction statistic `φ(x)`: `n · K` for categorical layers, else `n`.
    pub fn dim(&self) -> usize {
        self.n * self.kind.width()
    }

    /// `b`, `θ` (`[n × K]`) or, for Gaussian layers, `loc`.
    pub fn bias(&self) -> &[f32] {
        &self.bias
    }

    /// Log-variances of a Gaussian layer; empty for other kinds.
    pub fn log_var(&self) -> &[f32] {
        &self.log_var
    }

    /// The layer with new parameters of the same shape, validated.
    pub fn with_params(&self, bias: Vec<f32>, log_var: Vec<f32>) -> Result<Layer, MachineError> {
        Layer::new(self.kind, self.n, bias, log_var)
    }

    /// `1/σ_i²` (1 for non-Gaussian units), in `f64`.
    pub(crate) fn inv_var(&self, i: usize) -> f64 {
        if self.kind == UnitKind::Gaussian {
            (-(self.log_var[i] as f64)).exp()
        } else {
            1.0
        }
    }

    /// Checks that `x` is a state of this layer (`n` legal values); `field` names it.
    pub(crate) fn check_state(
        &self,
        field: impl Fn() -> String,
        x: &[f32],
    ) -> Result<(), MachineError> {
        check_len(&field, x, self.n)?;
        match x.iter().position(|&v| !self.kind.admits(v)) {
            Some(index) => Err(MachineError::InvalidState {
                field: field(),
                index,
                value: x[index],
                kind: self.kind,
            }),
            None => Ok(()),
        }
    }

    /// The layer's own energy `E_l(x)` (no interactions), in `f64`.
    pub(crate) fn self_energy(&self, x: &[f32]) -> f64 {
        match self.kind {
            UnitKind::Binary | UnitKind::Spin => -x
                .iter()
                .zip(&self.bias)
                .map(|(&x, &b)| x as f64 * b as f64)
                .sum::<f64>(),
            UnitKind::Categorical(k) => -x
                .iter()
                .enumerate()
                .map(|(i, &c)| self.bias[i * k + c as usize] as f64)
                .sum::<f64>(),
            UnitKind::Gaussian => x
                .iter()
                .enumerate()
                .map(|(i, &x)| 0.5 * (x as f64 - self.bias[i] as f64).powi(2) * self.inv_var(i))
                .sum(),
        }
    }

    /// The interaction statistic `φ(x)` (`dim` entries).
    pub(crate) fn phi(&self, x: &[f32]) -> Vec<f64> {
        match self.kind {
            UnitKind::Binary | UnitKind::Spin => x.iter().map(|&x| x as f64).collect(),
            UnitKind::Gaussian => x
                .iter()
                .enumerate()
                .map(|(i, &x)| x as f64 * self.inv_var(i))
                .collect(),
            UnitKind::Categorical(k) => {
                let mut out = vec![0.0; self.n * k];
                for (i, &c) in x.iter().enumerate() {
                    out[i * k + c as usize] = 1.0;
                }
                out
            }
        }
    }

    /// The conditional of the layer given the field `f = Σ W φ(neighbour)` (`dim` entries).
    pub(crate) fn conditional(&self, field: &[f64]) -> Conditional {
        let t = |i: usize| self.bias[i] as f64 + field[i];
        match self.kind {
            UnitKind::Binary => Conditional::Binary((0..self.n).map(|i| sigmoid(t(i))).collect()),
            UnitKind::Spin => Conditional::Spin((0..self.n).map(|i| sigmoid(2.0 * t(i))).collect()),
            UnitKind::Gaussian => Conditional::Gaussian {
                mean: (0..self.n).map(t).collect(),
                var: (0..self.n).map(|i| 1.0 / self.inv_var(i)).collect(),
            },
            UnitKind::Categorical(k) => {
                let mut probs = Vec::with_capacity(self.n * k);
                for i in 0..self.n {
                    let logits: Vec<f64> = (i * k..(i + 1) * k).map(t).collect();
                    let lse = log_sum_exp(&logits);
                    probs.extend(logits.iter().map(|l| (l - lse).exp()));
                }
                Conditional::Categorical { k, probs }
            }
        }
    }

    /// `ln Σ_x exp(−E_l(x) + φ(x)·f)` over the layer's states (an integral for Gaussian
    /// units), the closed form behind every free energy.
    pub(crate) fn log_partition(&self, field: &[f64]) -> f64 {
        let t = |i: usize| self.bias[i] as f64 + field[i];
        match self.kind {
            UnitKind::Binary => (0..self.n).map(|i| softplus(t(i))).sum(),
            UnitKind::Spin => (0..self.n)
                .map(|i| {
                    let a = t(i).abs();
                    a + (-2.0 * a).exp().ln_1p()
                })
                .sum(),
            UnitKind::Categorical(k) => (0..self.n)
                .map(|i| log_sum_exp(&(i * k..(i + 1) * k).map(t).collect::<Vec<_>>()))
                .sum(),
            UnitKind::Gaussian => (0..self.n)
                .map(|i| {
                    // ∫ exp(−½(x−loc)²/σ² + x f/σ²) dx with x = loc + y.
                    let (loc, f, iv) = (self.bias[i] as f64, field[i], self.inv_var(i));
                    (loc * f + 0.5 * f * f) * iv + 0.5 * (2.0 * std::f64::consts::PI / iv).ln()
                })
                .sum(),
        }
    }

    /// Expected statistics of the layer under its conditional given `field`.
    pub(crate) fn moments_given(&self, field: &[f64]) -> LayerMoments {
        let n = self.n;
        match self.conditional(field) {
            Conditional::Binary(p) => LayerMoments::scalar(p.clone(), p),
            Conditional::Spin(p) => {
                let m: Vec<f64> = p.iter().map(|p| 2.0 * p - 1.0).collect();
                LayerMoments::scalar(m.clone(), m)
            }
            Conditional::Categorical { probs, .. } => LayerMoments {
                phi: probs,
                x: Vec::new(),
                sq_dev: Vec::new(),
            },
            Conditional::Gaussian { mean, var } => LayerMoments {
                phi: (0..n).map(|i| mean[i] * self.inv_var(i)).collect(),
                sq_dev: (0..n)
                    .map(|i| var[i] + (mean[i] - self.bias[i] as f64).powi(2))
                    .collect(),
                x: mean,
            },
        }
    }

    /// The statistics of a fixed state (no expectation taken).
    pub(crate) fn moments_of(&self, x: &[f32]) -> LayerMoments {
        let xs: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        match self.kind {
            UnitKind::Categorical(_) => LayerMoments {
                phi: self.phi(x),
                x: Vec::new(),
                sq_dev: Vec::new(),
            },
            UnitKind::Gaussian => LayerMoments {
                phi: self.phi(x),
                sq_dev: (0..self.n)
                    .map(|i| (xs[i] - self.bias[i] as f64).powi(2))
                    .collect(),
                x: xs,
            },
            _ => LayerMoments::scalar(xs.clone(), xs),
        }
    }

    /// Number of states of a discrete layer (`None` for Gaussian layers or on overflow).
    pub(crate) fn state_count(&self) -> Option<usize> {
        let per_unit = match self.kind {
            UnitKind::Gaussian => return None,
            UnitKind::Categorical(k) => k,
            _ => 2,
        };
        per_unit.checked_pow(u32::try_from(self.n).ok()?)
    }

    /// The `index`-th state of a discrete layer, unit 0 varying fastest.
    pub(crate) fn state(&self, mut index: usize) -> Vec<f32> {
        let base = self.kind.width().max(2);
        (0..self.n)
            .map(|_| {
                let digit = index % base;
                index /= base;
                match self.kind {
                    UnitKind::Spin => 2.0 * digit as f32 - 1.0,
                    _ => digit as f32,
                }
            })
            .collect()
    }
}

/// Expected statistics of one layer: `E[φ(x)]`, `E[x]` (scalar kinds) and `E[(x − loc)²]`
/// (Gaussian layers); exact values for a fixed state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LayerMoments {
    pub phi: Vec<f64>,
    pub x: Vec<f64>,
    pub sq_dev: Vec<f64>,
}

impl LayerMoments {
    fn scalar(phi: Vec<f64>, x: Vec<f64>) -> LayerMoments {
        LayerMoments {
            phi,
            x,
            sq_dev: Vec::new(),
        }
    }
}
