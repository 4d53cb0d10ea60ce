//! Naive mean-field and second-order TAP (Thouless–Anderson–Palmer) free energies of a
//! [`BinaryRbm`] (Plefka expansion; Gabrié, Tramel & Krzakala 2015, "Training restricted
//! Boltzmann machines via the Thouless–Anderson–Palmer free energy"; paysage's `tap`).
//!
//! **Gibbs free energy.** For magnetisations `m_v ∈ (0,1)^{n_v}`, `m_h ∈ (0,1)^{n_h}` and
//! `s_k = m_k − m_k²` (the Bernoulli variances),
//!
//! ```text
//! Γ(m) = Σ_k [m_k ln m_k + (1 − m_k) ln(1 − m_k)]      (minus the entropy, both layers)
//!        − aᵀm_v − bᵀm_h − m_vᵀ W m_h                  (first order: naive mean field)
//!        − ½ Σ_ij W_ij² s_i s_j                        (second-order TAP correction)
//! ```
//!
//! **Sign convention.** `Γ` approximates `−log Z` at its minimum: `log Z ≈ −min_m Γ(m)`.
//! At first order `−min Γ` is the mean-field lower bound on `log Z`; with `W = 0` both orders
//! are exact (`m = σ(a), σ(b)`). See [`TapOrder`].
//!
//! **Stationarity.** `∂Γ/∂m_i = logit(m_i) − a_i − (W m_h)_i + c_i (m_i − ½)` with
//! `c_i = Σ_j W_ij² s_j` (TAP2 only; `c = 0` for mean field), and symmetrically for hidden
//! units with `c_j = Σ_i W_ij² s_i`. So the TAP2 fixed point equations are
//! `m_i = σ(a_i + (W m_h)_i − (m_i − ½) c_i)` and `m_j = σ(b_j + (Wᵀ m_v)_j − (m_j − ½) c_j)`.
//!
//! **Minimisation.** [`minimize_self_consistent`] alternates layer updates (hidden, then
//! visible; Gauss–Seidel by layer). Given the other layer, `Γ` is separable and strictly
//! convex in each unit of the updated layer (the TAP2 term `½ c_i (m_i² − m_i)` has
//! `c_i ≥ 0`), so each unit's fixed point equation, which has `m_i` on both sides, is solved
//! exactly by a safeguarded Newton iteration in logit space. The damped update
//! `m ← (1 − λ) m + λ m*` is then a convex combination of the old layer and the layer's exact
//! minimiser, so `Γ` never increases. [`minimize_gradient_descent`] takes steps
//! `x ← x − η ∂Γ/∂x` in logit space `x = logit(m)`, halving the step (backtracking) until `Γ`
//! strictly decreases, so it is monotone too. Both record the `Γ` trajectory.
//!
//! **Gradient for training.** At the minimiser `m*`, the envelope theorem gives the gradient
//! of `log Z_TAP = −Γ(m*)` as the partial derivatives of `−Γ` at fixed `m*`:
//! `∂/∂W_ij = m_i m_j + W_ij s_i s_j` (TAP2), `∂/∂a = m_v`, `∂/∂b = m_h` ([`tap_gradient`]).
//! The gradient of the mean log-likelihood is then approximately data term − TAP term
//! ([`tap_log_likelihood_gradient`]); the mean negative log-likelihood's is its negative.
//!
//! Internally magnetisations are held as logits, so units saturated beyond `f64` resolution
//! of `m` stay well defined. All arithmetic is `f64`.

use thiserror::Error;

use super::{BinaryRbm, RbmError, log_sum_exp, sigmoid, softplus};

/// Order of the Plefka expansion of the Gibbs free energy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapOrder {
    /// First order: naive mean field (`−min Γ` is a lower bound on `log Z`).
    MeanField,
    /// Second order: TAP, with the Onsager correction `−½ Σ W_ij² s_i s_j`.
    Tap2,
}

/// Everything that can be wrong with a TAP computation's input. Each variant names the field.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TapError {
    /// A magnetisation vector of the wrong length.
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
        /// Index of the entry.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A magnetisation not strictly inside `(0, 1)`.
    #[error("`{field}`[{index}] is {value}; magnetisations must lie in (0, 1)")]
    OutOfRange {
        /// The field at fault.
        field: &'static str,
        /// Index of the entry.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// An invalid minimisation option.
    #[error("TAP option `{field}`: {reason}")]
    InvalidOption {
        /// The option at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Invalid data (shape, binary values) or RBM parameters.
    #[error(transparent)]
    Rbm(#[from] RbmError),
}

/// Settings of the two minimisers. Only the fields relevant to the chosen minimiser are used
/// (`damping` by [`minimize_self_consistent`], `step_size` by [`minimize_gradient_descent`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TapOptions {
    /// Mean field or TAP2 (default TAP2).
    pub order: TapOrder,
    /// Maximum number of sweeps / gradient steps (default 1000).
    pub max_iters: usize,
    /// Convergence threshold, `≥ 0` (default `1e-10`): the largest change of a magnetisation
    /// in one sweep (self-consistent) or the largest `|∂Γ/∂x|` in logit space (gradient
    /// descent).
    pub tolerance: f64,
    /// Damping `λ ∈ (0, 1]` of the self-consistent update `m ← (1 − λ) m + λ m*`
    /// (default 0.5; 1 means undamped).
    pub damping: f64,
    /// Initial step size `η > 0` of each gradient step in logit space (default 1.0); halved
    /// until `Γ` decreases sufficiently (Armijo).
    pub step_size: f64,
}

impl Default for TapOptions {
    fn default() -> Self {
        TapOptions {
            order: TapOrder::Tap2,
            max_iters: 1000,
            tolerance: 1e-10,
            damping: 0.5,
            step_size: 1.0,
        }
    }
}

impl TapOptions {
    pub(super) fn validate(&self) -> Result<(), TapError> {
        let (t, d, e) = (self.tolerance, self.damping, self.step_size);
        for (field, value, ok, want) in [
            ("tolerance", t, t >= 0.0 && t.is_finite(), "finite and ≥ 0"),
            ("damping", d, d > 0.0 && d <= 1.0, "in (0, 1]"),
            ("step_size", e, e > 0.0 && e.is_finite(), "finite and > 0"),
        ] {
            if !ok {
                let reason = format!("{value} must be {want}");
                return Err(TapError::InvalidOption { field, reason });
            }
        }
        Ok(())
    }
}

/// Outcome of a minimisation of `Γ`.
#[derive(Debug, Clone, PartialEq)]
pub struct TapResult {
    /// The order that was minimised.
    pub order: TapOrder,
    /// Minimising visible magnetisations `m_v`.
    pub m_visible: Vec<f64>,
    /// Minimising hidden magnetisations `m_h`.
    pub m_hidden: Vec<f64>,
    /// `Γ(m)` at the returned magnetisations (≈ `−log Z`).
    pub gamma: f64,
    /// Sweeps (self-consistent) or accepted gradient steps performed.
    pub iterations: usize,
    /// Whether the convergence criterion was met within `max_iters` (gradient descent also
    /// counts as converged when no step, however small, decreases `Γ`).
    pub converged: bool,
    /// `Γ` at the start followed by `Γ` after each iteration (`iterations + 1` entries);
    /// non-increasing.
    pub trajectory: Vec<f64>,
}

impl TapResult {
    /// The TAP (or mean-field) estimate `log Z ≈ −Γ(m*)`.
    pub fn log_z(&self) -> f64 {
        -self.gamma
    }
}

/// Gradient of a scalar with respect to the RBM's parameters, laid out like [`BinaryRbm`].
#[derive(Debug, Clone, PartialEq)]
pub struct TapGradient {
    /// `[n_visible × n_hidden]`, row-major like [`BinaryRbm::weights`].
    pub weights: Vec<f64>,
    /// With respect to the visible bias `a`.
    pub visible_bias: Vec<f64>,
    /// With respect to the hidden bias `b`.
    pub hidden_bias: Vec<f64>,
}

/// Parameters in `f64`; `w`/`w2` are `W`/`W∘W` row-major `[n_v × n_h]`, `wt`/`w2t` their
/// transposes.
struct Params {
    nv: usize,
    nh: usize,
    w: Vec<f64>,
    w2: Vec<f64>,
    wt: Vec<f64>,
    w2t: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
}

impl Params {
    fn new(rbm: &BinaryRbm) -> Params {
        let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
        let w: Vec<f64> = rbm.weights().iter().map(|&x| x as f64).collect();
        let wt: Vec<f64> = (0..nh * nv).map(|k| w[(k % nv) * nh + k / nv]).collect();
        let sq = |v: &[f64]| v.iter().map(|x| x * x).collect();
        let f64s = |v: &[f32]| v.iter().map(|&x| x as f64).collect();
        Params {
            nv,
            nh,
            w2: sq(&w),
            w2t: sq(&wt),
            w,
            wt,
            a: f64s(rbm.visible_bias()),
            b: f64s(rbm.hidden_bias()),
        }
    }

    /// Field `f = bias + W·m` and TAP2 coefficient `c = W²·s` (zero for mean field) of every
    /// unit of one layer given the other layer `other` (`hidden` picks the hidden layer).
    fn fields(&self, hidden: bool, other: &Layer, tap2: bool) -> (Vec<f64>, Vec<f64>) {
        let (mat, mat2, bias, n_in) = if hidden {
            (&self.wt, &self.w2t, &self.b, self.nv)
        } else {
            (&self.w, &self.w2, &self.a, self.nh)
        };
        let s = other.var();
        let rows = mat.chunks_exact(n_in).zip(mat2.chunks_exact(n_in));
        rows.zip(bias)
            .map(|((row, row2), &b)| {
                let f = b + row.iter().zip(&other.m).map(|(w, m)| w * m).sum::<f64>();
                let c = if tap2 {
                    row2.iter().zip(&s).map(|(w, s)| w * s).sum()
                } else {
                    0.0
                };
                (f, c)
            })
            .unzip()
    }
}

/// A layer's state held as logits, with `m = σ(x)` and `q = 1 − m = σ(−x)` kept accurate.
#[derive(Clone)]
struct Layer {
    x: Vec<f64>,
    m: Vec<f64>,
    q: Vec<f64>,
}

impl Layer {
    fn from_logits(x: Vec<f64>) -> Layer {
        let m = x.iter().map(|&x| sigmoid(x)).collect();
        let q = x.iter().map(|&x| sigmoid(-x)).collect();
        Layer { x, m, q }
    }

    fn from_probs(m: &[f64]) -> Layer {
        Layer::from_logits(m.iter().map(|&m| m.ln() - (1.0 - m).ln()).collect())
    }

    fn var(&self) -> Vec<f64> {
        self.m.iter().zip(&self.q).map(|(m, q)| m * q).collect()
    }

    /// `Σ [m ln m + (1 − m) ln(1 − m)] = Σ [m x − softplus(x)]`.
    fn neg_entropy(&self) -> f64 {
        self.x
            .iter()
            .zip(&self.m)
            .map(|(&x, &m)| m * x - softplus(x))
            .sum()
    }

    /// Damped move `m ← (1 − λ) m + λ m*` towards `target`, computed in log space on `m`
    /// and `1 − m` (`ln m = −softplus(−x)`) so that saturated units never underflow to 0 or 1.
    fn damp_towards(&mut self, target: &Layer, lambda: f64) {
        if lambda >= 1.0 {
            *self = target.clone();
            return;
        }
        let (keep, take) = ((1.0 - lambda).ln(), lambda.ln());
        for (x, &t) in self.x.iter_mut().zip(&target.x) {
            let ln_m = log_sum_exp(&[keep - softplus(-*x), take - softplus(-t)]);
            let ln_q = log_sum_exp(&[keep - softplus(*x), take - softplus(t)]);
            *x = ln_m - ln_q;
        }
        *self = Layer::from_logits(std::mem::take(&mut self.x));
    }
}

/// Armijo constant of the backtracking line search in [`minimize_gradient_descent`].
const ARMIJO: f64 = 1e-4;

/// Largest change of one logit in one gradient step: a trust region that keeps a large step
/// from throwing units into saturation, where logit-space gradients vanish (`∝ m(1 − m)`).
pub const MAX_LOGIT_STEP: f64 = 4.0;

fn gamma_of(p: &Params, v: &Layer, h: &Layer, order: TapOrder) -> f64 {
    // With f = a + W m_h and c = W² s_h: Γ = −S − bᵀm_h − Σ_i m_i f_i − ½ Σ_i s_i c_i.
    let (f, c) = p.fields(false, h, order == TapOrder::Tap2);
    let sv = v.var();
    let mut g = v.neg_entropy() + h.neg_entropy();
    g -= p.b.iter().zip(&h.m).map(|(b, m)| b * m).sum::<f64>();
    g -= v.m.iter().zip(&f).map(|(m, f)| m * f).sum::<f64>();
    g - 0.5 * sv.iter().zip(&c).map(|(s, c)| s * c).sum::<f64>()
}

/// `∂Γ/∂m` of both layers at `(v, h)`.
fn gamma_grad_m(p: &Params, v: &Layer, h: &Layer, order: TapOrder) -> (Vec<f64>, Vec<f64>) {
    let tap2 = order == TapOrder::Tap2;
    let (fv, cv) = p.fields(false, h, tap2);
    let (fh, ch) = p.fields(true, v, tap2);
    let grad = |l: &Layer, f: &[f64], c: &[f64]| -> Vec<f64> {
        (0..l.x.len())
            .map(|k| l.x[k] - f[k] + c[k] * (l.m[k] - 0.5))
            .collect()
    };
    (grad(v, &fv, &cv), grad(h, &fh, &ch))
}

/// Solves `x = f − c (σ(x) − ½)` (`c ≥ 0`) for `x`: the exact minimiser of one unit's convex
/// share of `Γ`. The root lies in `[f − c/2, f + c/2]`; Newton steps that leave the bracket
/// are replaced by bisection.
pub(super) fn solve_unit(f: f64, c: f64) -> f64 {
    if c == 0.0 {
        return f;
    }
    let (mut lo, mut hi) = (f - 0.5 * c, f + 0.5 * c);
    let mut x = f - c * (sigmoid(f) - 0.5);
    for _ in 0..100 {
        let (m, q) = (sigmoid(x), sigmoid(-x));
        let g = x - f + c * (m - 0.5);
        let newton = x - g / (1.0 + c * m * q);
        if (newton - x).abs() <= 1e-15 * (1.0 + x.abs()) {
            return newton;
        }
        (lo, hi) = if g > 0.0 { (lo, x) } else { (x, hi) };
        let inside = newton > lo && newton < hi;
        x = if inside { newton } else { 0.5 * (lo + hi) };
        if hi - lo <= 1e-15 * (1.0 + x.abs()) {
            return x;
        }
    }
    x
}

/// Checks the length of `m` and that every entry lies in `(0, 1)` (or `[0, 1]` if `closed`).
fn check_m(field: &'static str, m: &[f64], n: usize, closed: bool) -> Result<(), TapError> {
    if m.len() != n {
        let found = m.len();
        return Err(TapError::ShapeMismatch {
            field,
            expected: n,
            found,
        });
    }
    let inside = |x: f64| (x > 0.0 && x < 1.0) || (closed && (x == 0.0 || x == 1.0));
    match m.iter().position(|&x| !inside(x)) {
        Some(index) if m[index].is_finite() => Err(TapError::OutOfRange {
            field,
            index,
            value: m[index],
        }),
        Some(index) => Err(TapError::NonFinite {
            field,
            index,
            value: m[index],
        }),
        None => Ok(()),
    }
}

/// Validated starting layers: the given magnetisations, or by default the `W = 0`
/// solution `m_v = σ(a)`, `m_h = σ(b)`.
fn start_layers(p: &Params, start: Option<(&[f64], &[f64])>) -> Result<(Layer, Layer), TapError> {
    match start {
        Some((mv, mh)) => {
            check_m("m_visible", mv, p.nv, false)?;
            check_m("m_hidden", mh, p.nh, false)?;
            Ok((Layer::from_probs(mv), Layer::from_probs(mh)))
        }
        None => Ok((
            Layer::from_logits(p.a.clone()),
            Layer::from_logits(p.b.clone()),
        )),
    }
}

/// The Gibbs free energy `Γ(m)` of the module documentation (mean field or TAP2) at
/// magnetisations `m_visible`, `m_hidden` strictly inside `(0, 1)`.
pub fn gibbs_free_energy(
    rbm: &BinaryRbm,
    m_visible: &[f64],
    m_hidden: &[f64],
    order: TapOrder,
) -> Result<f64, TapError> {
    let p = Params::new(rbm);
    let (v, h) = start_layers(&p, Some((m_visible, m_hidden)))?;
    Ok(gamma_of(&p, &v, &h, order))
}

/// The gradient `(∂Γ/∂m_v, ∂Γ/∂m_h)` at magnetisations strictly inside `(0, 1)`; it
/// vanishes at the fixed points of the module documentation.
pub fn gibbs_free_energy_gradient(
    rbm: &BinaryRbm,
    m_visible: &[f64],
    m_hidden: &[f64],
    order: TapOrder,
) -> Result<(Vec<f64>, Vec<f64>), TapError> {
    let p = Params::new(rbm);
    let (v, h) = start_layers(&p, Some((m_visible, m_hidden)))?;
    Ok(gamma_grad_m(&p, &v, &h, order))
}

fn finish(order: TapOrder, v: Layer, h: Layer, trajectory: Vec<f64>, converged: bool) -> TapResult {
    TapResult {
        order,
        m_visible: v.m,
        m_hidden: h.m,
        gamma: *trajectory.last().unwrap_or(&f64::NAN),
        iterations: trajectory.len() - 1,
        converged,
        trajectory,
    }
}

/// Minimises `Γ` by damped self-consistent iteration, alternating exact layer updates
/// (hidden given visible, then visible given hidden) with damping `options.damping`, from
/// `start = (m_v, m_h)` or by default from `(σ(a), σ(b))`. `Γ` never increases (module
/// documentation). Stops when no magnetisation moves by more than `options.tolerance` in a
/// sweep, or after `options.max_iters` sweeps.
pub fn minimize_self_consistent(
    rbm: &BinaryRbm,
    start: Option<(&[f64], &[f64])>,
    options: &TapOptions,
) -> Result<TapResult, TapError> {
    options.validate()?;
    let p = Params::new(rbm);
    let (mut v, mut h) = start_layers(&p, start)?;
    let tap2 = options.order == TapOrder::Tap2;
    let mut trajectory = vec![gamma_of(&p, &v, &h, options.order)];
    let mut converged = false;
    for _ in 0..options.max_iters {
        // Hidden layer given the visible one, then visible given hidden; each is the exact
        // minimiser of its layer's convex share of Γ, damped.
        let mut delta: f64 = 0.0;
        for hidden in [true, false] {
            let (layer, other) = if hidden { (&mut h, &v) } else { (&mut v, &h) };
            let (f, c) = p.fields(hidden, other, tap2);
            let x = f.iter().zip(&c).map(|(&f, &c)| solve_unit(f, c)).collect();
            let old = layer.m.clone();
            layer.damp_towards(&Layer::from_logits(x), options.damping);
            let moved = old.iter().zip(&layer.m).map(|(a, b)| (a - b).abs());
            delta = moved.fold(delta, f64::max);
        }
        trajectory.push(gamma_of(&p, &v, &h, options.order));
        if delta <= options.tolerance {
            converged = true;
            break;
        }
    }
    Ok(finish(options.order, v, h, trajectory, converged))
}

/// Minimises `Γ` by gradient descent in logit space `x = logit(m)`: each iteration tries
/// `x − η ∂Γ/∂x` with `η = options.step_size` (each logit's move clipped to
/// ±[`MAX_LOGIT_STEP`]), halving `η` (up to 60 times) until `Γ` strictly decreases by at
/// least `10⁻⁴` times the predicted decrease (Armijo), so `Γ` never increases. Starts from `start = (m_v, m_h)` or by default
/// from `(σ(a), σ(b))`. Stops when `max |∂Γ/∂x| ≤ options.tolerance`, when no step decreases
/// `Γ` (converged to floating-point precision: `Γ` is then within rounding of its minimum,
/// although `|∂Γ/∂x|` may only be about `√(ε |Γ|)`), or after `options.max_iters` iterations.
pub fn minimize_gradient_descent(
    rbm: &BinaryRbm,
    start: Option<(&[f64], &[f64])>,
    options: &TapOptions,
) -> Result<TapResult, TapError> {
    options.validate()?;
    let p = Params::new(rbm);
    let (mut v, mut h) = start_layers(&p, start)?;
    let mut current = gamma_of(&p, &v, &h, options.order);
    let mut trajectory = vec![current];
    let mut converged = false;
    for _ in 0..options.max_iters {
        let (gv, gh) = gamma_grad_m(&p, &v, &h, options.order);
        // Chain rule: ∂Γ/∂x = ∂Γ/∂m · m(1 − m).
        let gxv: Vec<f64> = gv.iter().zip(v.var()).map(|(g, s)| g * s).collect();
        let gxh: Vec<f64> = gh.iter().zip(h.var()).map(|(g, s)| g * s).collect();
        let gmax = gxv.iter().chain(&gxh).fold(0.0f64, |a, g| a.max(g.abs()));
        if gmax <= options.tolerance {
            converged = true;
            break;
        }
        let mut eta = options.step_size;
        let mut accepted = None;
        for _ in 0..60 {
            // Each logit moves by Δx = −η ∂Γ/∂x clipped to ±MAX_LOGIT_STEP; slope = ∇Γ·Δx < 0.
            let mut slope = 0.0;
            let mut step = |l: &Layer, g: &[f64]| {
                let x = l.x.iter().zip(g).map(|(x, g)| {
                    let d = (-eta * g).clamp(-MAX_LOGIT_STEP, MAX_LOGIT_STEP);
                    slope += g * d;
                    x + d
                });
                Layer::from_logits(x.collect())
            };
            let (nv, nh) = (step(&v, &gxv), step(&h, &gxh));
            let g = gamma_of(&p, &nv, &nh, options.order);
            // Armijo sufficient decrease (which implies a strict decrease).
            if g < current && g <= current + ARMIJO * slope {
                accepted = Some((nv, nh, g));
                break;
            }
            eta *= 0.5;
        }
        let Some((nv, nh, g)) = accepted else {
            converged = true;
            break;
        };
        (v, h, current) = (nv, nh, g);
        trajectory.push(g);
    }
    Ok(finish(options.order, v, h, trajectory, converged))
}

/// Gradient of `log Z_TAP = −Γ(m*)` with respect to the RBM's parameters at the minimiser
/// `result` (envelope theorem: the partial derivatives of `−Γ` at fixed `m*`):
/// `∂/∂W_ij = m_i m_j (+ W_ij s_i s_j for TAP2)`, `∂/∂a = m_v`, `∂/∂b = m_h`. These are the
/// TAP estimates of the model moments `⟨v_i h_j⟩`, `⟨v⟩`, `⟨h⟩`. The result's shapes must
/// match `rbm`.
pub fn tap_gradient(rbm: &BinaryRbm, result: &TapResult) -> Result<TapGradient, TapError> {
    let p = Params::new(rbm);
    check_m("m_visible", &result.m_visible, p.nv, true)?;
    check_m("m_hidden", &result.m_hidden, p.nh, true)?;
    let (mv, mh) = (&result.m_visible, &result.m_hidden);
    let sv: Vec<f64> = mv.iter().map(|m| m * (1.0 - m)).collect();
    let sh: Vec<f64> = mh.iter().map(|m| m * (1.0 - m)).collect();
    let tap2 = if result.order == TapOrder::Tap2 {
        1.0
    } else {
        0.0
    };
    let weights = (0..p.nv * p.nh)
        .map(|k| {
            let (i, j) = (k / p.nh, k % p.nh);
            mv[i] * mh[j] + tap2 * p.w[k] * sv[i] * sh[j]
        })
        .collect();
    Ok(TapGradient {
        weights,
        visible_bias: mv.clone(),
        hidden_bias: mh.clone(),
    })
}

/// Gradient of the mean data log-density `−mean_v F(v)` (binary data, `n_visible` columns):
/// `⟨v_i σ(b + Wᵀv)_j⟩`, `⟨v⟩`, `⟨σ(b + Wᵀv)⟩` over the examples.
pub fn data_gradient(rbm: &BinaryRbm, data: &[f32]) -> Result<TapGradient, TapError> {
    let rows = rbm.check_data(data, true)?;
    let (nv, nh, scale) = (rbm.n_visible(), rbm.n_hidden(), 1.0 / rows as f64);
    let mut g = TapGradient {
        weights: vec![0.0; nv * nh],
        visible_bias: vec![0.0; nv],
        hidden_bias: vec![0.0; nh],
    };
    for v in data.chunks_exact(nv) {
        let ph: Vec<f64> = rbm.hidden_field(v).into_iter().map(sigmoid).collect();
        let outer = (0..nv * nh).map(|k| v[k / nh] as f64 * ph[k % nh]);
        add_scaled(&mut g.weights, outer, scale);
        add_scaled(&mut g.visible_bias, v.iter().map(|&x| x as f64), scale);
        add_scaled(&mut g.hidden_bias, ph.iter().copied(), scale);
    }
    Ok(g)
}

/// `dst += scale · src`, elementwise.
fn add_scaled(dst: &mut [f64], src: impl Iterator<Item = f64>, scale: f64) {
    for (d, x) in dst.iter_mut().zip(src) {
        *d += scale * x;
    }
}

/// TAP approximation of the gradient of the mean log-likelihood of binary `data`:
/// [`data_gradient`] − [`tap_gradient`] (ascend it to train; the mean negative
/// log-likelihood's gradient is its negative). `result` should minimise `Γ` for `rbm`.
pub fn tap_log_likelihood_gradient(
    rbm: &BinaryRbm,
    data: &[f32],
    result: &TapResult,
) -> Result<TapGradient, TapError> {
    let mut g = data_gradient(rbm, data)?;
    let t = tap_gradient(rbm, result)?;
    add_scaled(&mut g.weights, t.weights.into_iter(), -1.0);
    add_scaled(&mut g.visible_bias, t.visible_bias.into_iter(), -1.0);
    add_scaled(&mut g.hidden_bias, t.hidden_bias.into_iter(), -1.0);
    Ok(g)
}
