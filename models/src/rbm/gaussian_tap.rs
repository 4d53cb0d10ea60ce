//! Naive mean-field and second-order TAP free energies of a [`GaussianRbm`] (Gaussian visible,
//! binary hidden; Tramel, Gabrié, Manoel, Caltagirone & Krzakala 2018, "Deterministic and
//! generalized framework for unsupervised learning with restricted Boltzmann machines";
//! paysage's `GaussianLayer` TAP methods). Same options ([`TapOptions`]) and orders
//! ([`TapOrder`]) as the binary machine in [`super::tap`].
//!
//! **Magnetisations.** A Gaussian unit is constrained by its first two cumulants, mean `μ_i`
//! and variance `c_i > 0`; a hidden unit by `m_j ∈ (0, 1)`. With `s_i = σ_i²`, `ṽ_i = v_i/s_i`
//! and `U = Σ_ij W_ij ṽ_i h_j`, the energy is `E = E₀ − βU` at `β = 1`.
//!
//! **Derivation (Plefka).** Let `Γ(β) = max_λ [Σ_a λ_a M_a − log ∫ e^{−E₀ + βU + Σ_a λ_a φ_a}]`
//! with statistics `φ = (v_i, v_i², h_j)` held at `M = (μ_i, c_i + μ_i², m_j)`. At `β = 0` the
//! tilted measure is a product of `N(μ_i, c_i)` and `Bernoulli(m_j)` (every Gaussian is
//! reachable since the tilt has `v` and `v²`), so
//! `Γ₀ = E_q[E₀] − H(q) = Σ_i [((μ_i − u_i)² + c_i)/(2 s_i) − ½ ln(2πe c_i)] +
//! Σ_j [m_j ln m_j + (1 − m_j) ln(1 − m_j) − b_j m_j]`.
//! By the envelope theorem `dΓ/dβ = −⟨U⟩_β`, which at `β = 0` is `−Σ_ij W_ij (μ_i/s_i) m_j`.
//! Differentiating again, with `dλ/dβ` fixed by keeping `⟨φ⟩` constant,
//! `d²Γ/dβ² = −[Var U − Cov(U, φ) Cov(φ)⁻¹ Cov(φ, U)]`: minus the variance of the part of
//! `U` orthogonal to the span of the constrained statistics. Writing `δx = x − ⟨x⟩`,
//! `δU = Σ_ij W_ij [δṽ_i δh_j + (μ_i/s_i) δh_j + m_j δṽ_i]`; the last two terms lie in that
//! span and the products `δṽ_i δh_j` are orthogonal to it and to each other (independent,
//! zero-mean factors), so the residual variance is `Σ_ij W_ij² Var(ṽ_i) Var(h_j)` with
//! `Var(ṽ_i) = c_i/s_i²`. Taylor to second order at `β = 1`:
//!
//! ```text
//! Γ(μ, c, m) = Γ₀ − Σ_ij W_ij (μ_i/s_i) m_j − ½ Σ_ij W_ij² (c_i/s_i²) m_j(1 − m_j)
//! ```
//!
//! (mean field drops the last term). This matches paysage's conventions: the visible layer
//! couples through rescaled units and the variance is "doubly rescaled" (`c/s²`). The third
//! Plefka term of a bipartite model is `∝ Σ_ij W_ij³ κ₃(ṽ_i) κ₃(h_j)` (no triangles), and a
//! Gaussian has `κ₃ = 0`, so the TAP2 error in `log Z` is `O(W⁴)`, one order better than the
//! binary machine's `O(W³)`; mean field's is `O(W²)`, leading term `½ Σ_ij W_ij² m_j(1 − m_j)/s_i`.
//!
//! **Stationarity.** With `F_i = Σ_j W_ij m_j`, `A_i = Σ_j W_ij² m_j(1 − m_j)` (TAP2; 0 for
//! mean field), `f_j = b_j + Σ_i W_ij μ_i/s_i`, `C_j = Σ_i W_ij² c_i/s_i²` (TAP2; 0 for MF):
//! `∂Γ/∂μ_i = (μ_i − u_i − F_i)/s_i`, `∂Γ/∂c_i = ½ [1/s_i − 1/c_i − A_i/s_i²]`,
//! `∂Γ/∂m_j = logit m_j − f_j + C_j (m_j − ½)`. So `μ_i = u_i + F_i`,
//! `c_i = s_i²/(s_i − A_i) ≈ s_i + A_i` (the hidden units' contribution to the visible
//! variance) and `m_j = σ(f_j − C_j (m_j − ½))`.
//!
//! **Boundedness.** In `c_i`, TAP2's `Γ` is `c_i (s_i − A_i)/(2 s_i²) − ½ ln c_i`: unbounded
//! below when `A_i ≥ s_i`. Since `m(1 − m) ≤ ¼`, `¼ Σ_j W_ij² < s_i` for every `i` makes `Γ`
//! bounded below on the whole domain; the TAP2 minimisers require it
//! ([`GaussianTapError::Unbounded`]). The exact `Z` is always finite; this is a limit of the
//! expansion, not of the machine.
//!
//! **Minimisation.** Given the hidden layer, `Γ` is separable and convex in each `(μ_i, c_i)`
//! and the visible update above is its exact minimiser; given the visible layer, each hidden
//! unit's share is convex (`C_j ≥ 0`) and [`super::tap`]'s Newton solver finds its exact
//! minimiser. [`minimize_self_consistent`] alternates the two, damped
//! (`θ ← (1 − λ) θ + λ θ*`, a convex combination, so `Γ` never increases).
//! [`minimize_gradient_descent`] steps in `(μ, ln c, logit m)` preconditioned by `s_i` on `μ`,
//! with an Armijo backtracking line search, so `Γ` never increases either.
//!
//! **Gradient.** By the envelope theorem, `∂ log Z_TAP/∂θ = −∂Γ/∂θ` at the minimiser
//! ([`tap_gradient`]): `∂/∂W_ij = μ_i m_j/s_i + W_ij (c_i/s_i²) m_j(1 − m_j)`,
//! `∂/∂b_j = m_j`, `∂/∂u_i = (μ_i − u_i)/s_i`,
//! `∂/∂log_var_i = ((μ_i − u_i)² + c_i)/(2 s_i) − μ_i F_i/s_i − c_i A_i/s_i²`.

use thiserror::Error;

use super::gaussian::{GaussianRbm, GaussianRbmError, GaussianRbmGradient};
use super::tap::{MAX_LOGIT_STEP, TapError, TapOptions, TapOrder, solve_unit};
use super::{log_sum_exp, sigmoid, softplus};

/// `ln(2πe)`.
const LN_2PI_E: f64 = 2.837_877_066_409_345_5;

/// Armijo constant of the backtracking line search.
const ARMIJO: f64 = 1e-4;

/// Everything that can go wrong in a Gaussian TAP computation; each variant names its field.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum GaussianTapError {
    /// Invalid options, or magnetisation vectors of the wrong length, non-finite, or (hidden)
    /// outside `(0, 1)`.
    #[error(transparent)]
    Tap(#[from] TapError),
    /// A visible variance magnetisation that is not `> 0`.
    #[error("`visible_var`[{index}] is {value}; variances must be > 0")]
    NonPositiveVariance {
        /// Visible unit at fault.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// TAP2's `Γ` is unbounded below for this machine (module documentation).
    #[error(
        "TAP2 Gibbs free energy is unbounded below: `weights` row {unit} has \
         ¼ Σ_j W² = {quarter_weight_sq} ≥ σ² = {variance}"
    )]
    Unbounded {
        /// Visible unit at fault.
        unit: usize,
        /// `¼ Σ_j W_ij²`.
        quarter_weight_sq: f64,
        /// `σ_i²`.
        variance: f64,
    },
    /// Invalid data.
    #[error(transparent)]
    Rbm(#[from] GaussianRbmError),
}

/// Outcome of a minimisation of `Γ`.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianTapResult {
    /// The order that was minimised.
    pub order: TapOrder,
    /// Visible means `μ`.
    pub visible_mean: Vec<f64>,
    /// Visible variances `c`.
    pub visible_var: Vec<f64>,
    /// Hidden magnetisations `m_h`.
    pub m_hidden: Vec<f64>,
    /// `Γ` at the returned magnetisations (≈ `−log Z`).
    pub gamma: f64,
    /// Sweeps (self-consistent) or accepted gradient steps performed.
    pub iterations: usize,
    /// Whether the convergence criterion was met (gradient descent also counts as converged
    /// when no step, however small, decreases `Γ`).
    pub converged: bool,
    /// `Γ` at the start and after each iteration (`iterations + 1` entries); non-increasing.
    pub trajectory: Vec<f64>,
}

impl GaussianTapResult {
    /// The TAP (or mean-field) estimate `log Z ≈ −Γ(μ*, c*, m*)`.
    pub fn log_z(&self) -> f64 {
        -self.gamma
    }
}

/// Parameters in `f64`; `w`, `w2` are `W`, `W∘W` row-major `[n_v × n_h]`.
struct Params {
    nv: usize,
    nh: usize,
    w: Vec<f64>,
    w2: Vec<f64>,
    u: Vec<f64>,
    s: Vec<f64>,
    b: Vec<f64>,
}

/// Magnetisations; the hidden layer is held as logits `x` with `m = σ(x)`, `q = 1 − m =
/// σ(−x)` so that saturated units stay accurate.
#[derive(Clone)]
struct State {
    mean: Vec<f64>,
    var: Vec<f64>,
    x: Vec<f64>,
    m: Vec<f64>,
    q: Vec<f64>,
}

impl State {
    fn new(mean: Vec<f64>, var: Vec<f64>, x: Vec<f64>) -> State {
        let m = x.iter().map(|&x| sigmoid(x)).collect();
        let q = x.iter().map(|&x| sigmoid(-x)).collect();
        State { mean, var, x, m, q }
    }

    fn hidden_var(&self) -> Vec<f64> {
        self.m.iter().zip(&self.q).map(|(m, q)| m * q).collect()
    }
}

impl Params {
    fn new(rbm: &GaussianRbm) -> Params {
        let f64s = |v: &[f32]| -> Vec<f64> { v.iter().map(|&x| x as f64).collect() };
        let w = f64s(rbm.weights());
        Params {
            nv: rbm.n_visible(),
            nh: rbm.n_hidden(),
            w2: w.iter().map(|w| w * w).collect(),
            w,
            u: f64s(rbm.loc()),
            s: rbm.variances(),
            b: f64s(rbm.hidden_bias()),
        }
    }

    /// `(F, A)` of every visible unit: `F = W m`, `A = W² (m(1 − m))` (zero for mean field).
    fn visible_fields(&self, st: &State, tap2: bool) -> (Vec<f64>, Vec<f64>) {
        let sh = st.hidden_var();
        let rows = self
            .w
            .chunks_exact(self.nh)
            .zip(self.w2.chunks_exact(self.nh));
        rows.map(|(row, row2)| {
            let f = row.iter().zip(&st.m).map(|(w, m)| w * m).sum::<f64>();
            let a = if tap2 {
                row2.iter().zip(&sh).map(|(w, s)| w * s).sum()
            } else {
                0.0
            };
            (f, a)
        })
        .unzip()
    }

    /// `(f, C)` of every hidden unit: `f = b + Wᵀ(μ/s)`, `C = (W²)ᵀ(c/s²)` (zero for MF).
    fn hidden_fields(&self, st: &State, tap2: bool) -> (Vec<f64>, Vec<f64>) {
        let mut f = self.b.clone();
        let mut c = vec![0.0; self.nh];
        for i in 0..self.nv {
            let (mu, cv) = (st.mean[i] / self.s[i], st.var[i] / (self.s[i] * self.s[i]));
            let k = i * self.nh;
            for j in 0..self.nh {
                f[j] += self.w[k + j] * mu;
                if tap2 {
                    c[j] += self.w2[k + j] * cv;
                }
            }
        }
        (f, c)
    }

    fn gamma(&self, st: &State, order: TapOrder) -> f64 {
        let (f, a) = self.visible_fields(st, order == TapOrder::Tap2);
        let mut g = 0.0;
        for i in 0..self.nv {
            let (mu, c, s) = (st.mean[i], st.var[i], self.s[i]);
            g += ((mu - self.u[i]).powi(2) + c) / (2.0 * s) - 0.5 * (LN_2PI_E + c.ln());
            g -= mu * f[i] / s + 0.5 * c * a[i] / (s * s);
        }
        for j in 0..self.nh {
            g += st.m[j] * st.x[j] - softplus(st.x[j]) - self.b[j] * st.m[j];
        }
        g
    }

    /// `(∂Γ/∂μ, ∂Γ/∂c, ∂Γ/∂m)`.
    fn gradient(&self, st: &State, order: TapOrder) -> [Vec<f64>; 3] {
        let tap2 = order == TapOrder::Tap2;
        let (fv, a) = self.visible_fields(st, tap2);
        let (fh, ch) = self.hidden_fields(st, tap2);
        let s = &self.s;
        let d_mean = (0..self.nv)
            .map(|i| (st.mean[i] - self.u[i] - fv[i]) / s[i])
            .collect();
        let d_var = (0..self.nv)
            .map(|i| 0.5 * (1.0 / s[i] - 1.0 / st.var[i] - a[i] / (s[i] * s[i])))
            .collect();
        let d_m = (0..self.nh)
            .map(|j| st.x[j] - fh[j] + ch[j] * (st.m[j] - 0.5))
            .collect();
        [d_mean, d_var, d_m]
    }

    /// Errors unless TAP2's `Γ` is bounded below: `¼ Σ_j W_ij² < s_i` (a relative margin of
    /// 10⁻⁹ absorbs rounding of `m(1 − m) ≤ ¼`).
    fn check_bounded(&self, order: TapOrder) -> Result<(), GaussianTapError> {
        if order == TapOrder::MeanField {
            return Ok(());
        }
        for (unit, row2) in self.w2.chunks_exact(self.nh).enumerate() {
            let quarter_weight_sq = 0.25 * row2.iter().sum::<f64>();
            let variance = self.s[unit];
            if quarter_weight_sq >= variance * (1.0 - 1e-9) {
                return Err(GaussianTapError::Unbounded {
                    unit,
                    quarter_weight_sq,
                    variance,
                });
            }
        }
        Ok(())
    }

    /// Validated start, or by default the `W = 0` solution `μ = u`, `c = s`, `m = σ(b)`.
    fn start(&self, start: Option<Start<'_>>) -> Result<State, GaussianTapError> {
        let Some((mean, var, m)) = start else {
            return Ok(State::new(self.u.clone(), self.s.clone(), self.b.clone()));
        };
        check_vec("visible_mean", mean, self.nv)?;
        check_vec("visible_var", var, self.nv)?;
        check_vec("m_hidden", m, self.nh)?;
        if let Some(index) = var.iter().position(|&c| c <= 0.0) {
            let value = var[index];
            return Err(GaussianTapError::NonPositiveVariance { index, value });
        }
        if let Some(index) = m.iter().position(|&m| m <= 0.0 || m >= 1.0) {
            let field = "m_hidden";
            let value = m[index];
            return Err(TapError::OutOfRange {
                field,
                index,
                value,
            }
            .into());
        }
        let x = m.iter().map(|&m| m.ln() - (1.0 - m).ln()).collect();
        Ok(State::new(mean.to_vec(), var.to_vec(), x))
    }
}

/// A starting point `(visible_mean, visible_var, m_hidden)`.
pub type Start<'a> = (&'a [f64], &'a [f64], &'a [f64]);

fn check_vec(field: &'static str, xs: &[f64], n: usize) -> Result<(), TapError> {
    if xs.len() != n {
        let found = xs.len();
        return Err(TapError::ShapeMismatch {
            field,
            expected: n,
            found,
        });
    }
    match xs.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(TapError::NonFinite {
            field,
            index,
            value: xs[index],
        }),
        None => Ok(()),
    }
}

/// The Gibbs free energy `Γ(μ, c, m)` of the module documentation (mean field or TAP2) at
/// visible means `visible_mean`, variances `visible_var > 0` and hidden magnetisations
/// `m_hidden ∈ (0, 1)`.
pub fn gibbs_free_energy(
    rbm: &GaussianRbm,
    visible_mean: &[f64],
    visible_var: &[f64],
    m_hidden: &[f64],
    order: TapOrder,
) -> Result<f64, GaussianTapError> {
    let p = Params::new(rbm);
    let st = p.start(Some((visible_mean, visible_var, m_hidden)))?;
    Ok(p.gamma(&st, order))
}

/// The gradient `[∂Γ/∂μ, ∂Γ/∂c, ∂Γ/∂m_h]` at a point (same checks as
/// [`gibbs_free_energy`]); it vanishes at the fixed points of the module documentation.
pub fn gibbs_free_energy_gradient(
    rbm: &GaussianRbm,
    visible_mean: &[f64],
    visible_var: &[f64],
    m_hidden: &[f64],
    order: TapOrder,
) -> Result<[Vec<f64>; 3], GaussianTapError> {
    let p = Params::new(rbm);
    let st = p.start(Some((visible_mean, visible_var, m_hidden)))?;
    Ok(p.gradient(&st, order))
}

fn finish(order: TapOrder, st: State, trajectory: Vec<f64>, converged: bool) -> GaussianTapResult {
    GaussianTapResult {
        order,
        visible_mean: st.mean,
        visible_var: st.var,
        m_hidden: st.m,
        gamma: *trajectory.last().unwrap_or(&f64::NAN),
        iterations: trajectory.len() - 1,
        converged,
        trajectory,
    }
}

/// Damped move of a logit towards `target` in probability space, `m ← (1 − λ) m + λ m*`,
/// computed on `ln m` and `ln(1 − m)` so that saturated units never round to 0 or 1.
fn damp_logit(x: f64, target: f64, lambda: f64) -> f64 {
    if lambda >= 1.0 {
        return target;
    }
    let (keep, take) = ((1.0 - lambda).ln(), lambda.ln());
    let ln_m = log_sum_exp(&[keep - softplus(-x), take - softplus(-target)]);
    let ln_q = log_sum_exp(&[keep - softplus(x), take - softplus(target)]);
    ln_m - ln_q
}

/// Minimises `Γ` by damped self-consistent iteration (module documentation): each sweep sets
/// the visible layer to its exact minimiser given the hidden one, then the hidden layer given
/// the visible one, each damped by `options.damping`. Starts from `start` or from the `W = 0`
/// solution. Stops when no `|Δμ_i|/σ_i`, `|Δc_i|/c_i` or `|Δm_j|` exceeds
/// `options.tolerance` in a sweep, or after `options.max_iters` sweeps. `Γ` never increases.
pub fn minimize_self_consistent(
    rbm: &GaussianRbm,
    start: Option<Start<'_>>,
    options: &TapOptions,
) -> Result<GaussianTapResult, GaussianTapError> {
    options.validate()?;
    let p = Params::new(rbm);
    p.check_bounded(options.order)?;
    let mut st = p.start(start)?;
    let (tap2, lambda) = (options.order == TapOrder::Tap2, options.damping);
    let mut trajectory = vec![p.gamma(&st, options.order)];
    let mut converged = false;
    for _ in 0..options.max_iters {
        let mut delta: f64 = 0.0;
        let (f, a) = p.visible_fields(&st, tap2);
        for i in 0..p.nv {
            let s = p.s[i];
            let mean = p.u[i] + f[i];
            // s − a > 0 by check_bounded; the floor only guards rounding.
            let var = s * s / (s - a[i]).max(1e-300);
            let new_mean = (1.0 - lambda) * st.mean[i] + lambda * mean;
            let new_var = (1.0 - lambda) * st.var[i] + lambda * var;
            delta = delta
                .max((new_mean - st.mean[i]).abs() / s.sqrt())
                .max((new_var - st.var[i]).abs() / new_var);
            (st.mean[i], st.var[i]) = (new_mean, new_var);
        }
        let (f, c) = p.hidden_fields(&st, tap2);
        let x: Vec<f64> = (0..p.nh)
            .map(|j| damp_logit(st.x[j], solve_unit(f[j], c[j]), lambda))
            .collect();
        let next = State::new(std::mem::take(&mut st.mean), std::mem::take(&mut st.var), x);
        let moved = next.m.iter().zip(&st.m).map(|(a, b)| (a - b).abs());
        delta = moved.fold(delta, f64::max);
        st = next;
        trajectory.push(p.gamma(&st, options.order));
        if delta <= options.tolerance {
            converged = true;
            break;
        }
    }
    Ok(finish(options.order, st, trajectory, converged))
}

/// Minimises `Γ` by gradient descent in `(μ, ln c, logit m)`, the `μ` step preconditioned by
/// `σ_i²`: each iteration tries `θ − η P ∇Γ` with `η = options.step_size`, each coordinate's
/// move clipped to ±[`MAX_LOGIT_STEP`] (`±MAX_LOGIT_STEP·σ_i` for `μ_i`), halving `η` (up to
/// 60 times) until `Γ` decreases by at least `10⁻⁴` times the predicted decrease (Armijo).
/// Stops when every scaled gradient component (`σ_i ∂Γ/∂μ_i`, `∂Γ/∂ln c_i`, `∂Γ/∂logit m_j`)
/// is within `options.tolerance`, when no step decreases `Γ`, or after `options.max_iters`.
pub fn minimize_gradient_descent(
    rbm: &GaussianRbm,
    start: Option<Start<'_>>,
    options: &TapOptions,
) -> Result<GaussianTapResult, GaussianTapError> {
    options.validate()?;
    let p = Params::new(rbm);
    p.check_bounded(options.order)?;
    let mut st = p.start(start)?;
    let mut current = p.gamma(&st, options.order);
    let mut trajectory = vec![current];
    let mut converged = false;
    for _ in 0..options.max_iters {
        let [d_mean, d_var, d_m] = p.gradient(&st, options.order);
        // Gradients in the stepping coordinates: ∂/∂ln c = c ∂/∂c, ∂/∂x = m(1 − m) ∂/∂m.
        let g_lnc: Vec<f64> = d_var.iter().zip(&st.var).map(|(g, c)| g * c).collect();
        let g_x: Vec<f64> = d_m
            .iter()
            .zip(st.hidden_var())
            .map(|(g, v)| g * v)
            .collect();
        let scaled_mean = d_mean.iter().zip(&p.s).map(|(g, s)| g * s.sqrt());
        let gmax = scaled_mean
            .chain(g_lnc.iter().copied())
            .chain(g_x.iter().copied())
            .fold(0.0f64, |a, g| a.max(g.abs()));
        if gmax <= options.tolerance {
            converged = true;
            break;
        }
        let mut eta = options.step_size;
        let mut accepted = None;
        for _ in 0..60 {
            let mut slope = 0.0;
            let mut step = |g: f64, precondition: f64, limit: f64| {
                let d = (-eta * precondition * g).clamp(-limit, limit);
                slope += g * d;
                d
            };
            let mean = (0..p.nv)
                .map(|i| st.mean[i] + step(d_mean[i], p.s[i], MAX_LOGIT_STEP * p.s[i].sqrt()))
                .collect();
            let var = (0..p.nv)
                .map(|i| st.var[i] * step(g_lnc[i], 1.0, MAX_LOGIT_STEP).exp())
                .collect();
            let x = (0..p.nh)
                .map(|j| st.x[j] + step(g_x[j], 1.0, MAX_LOGIT_STEP))
                .collect();
            let trial = State::new(mean, var, x);
            let g = p.gamma(&trial, options.order);
            if g < current && g <= current + ARMIJO * slope {
                accepted = Some((trial, g));
                break;
            }
            eta *= 0.5;
        }
        let Some((trial, g)) = accepted else {
            converged = true;
            break;
        };
        (st, current) = (trial, g);
        trajectory.push(g);
    }
    Ok(finish(options.order, st, trajectory, converged))
}

/// Gradient of `log Z_TAP = −Γ(μ*, c*, m*)` with respect to the machine's parameters at the
/// minimiser `result` (module documentation; envelope theorem). These are the TAP estimates
/// of the model moments, to be compared with [`GaussianRbm::exact_log_partition_gradient`].
pub fn tap_gradient(
    rbm: &GaussianRbm,
    result: &GaussianTapResult,
) -> Result<GaussianRbmGradient, GaussianTapError> {
    let p = Params::new(rbm);
    let m = &result.m_hidden;
    check_vec("visible_mean", &result.visible_mean, p.nv)?;
    check_vec("visible_var", &result.visible_var, p.nv)?;
    check_vec("m_hidden", m, p.nh)?;
    let tap2 = if result.order == TapOrder::Tap2 {
        1.0
    } else {
        0.0
    };
    let sh: Vec<f64> = m.iter().map(|m| m * (1.0 - m)).collect();
    let mut g = GaussianRbmGradient::zeros(p.nv, p.nh);
    for i in 0..p.nv {
        let (mu, c, s, u) = (
            result.visible_mean[i],
            result.visible_var[i],
            p.s[i],
            p.u[i],
        );
        let (mut f, mut a) = (0.0, 0.0);
        for j in 0..p.nh {
            let k = i * p.nh + j;
            g.weights[k] = mu * m[j] / s + tap2 * p.w[k] * c * sh[j] / (s * s);
            f += p.w[k] * m[j];
            a += tap2 * p.w2[k] * sh[j];
        }
        g.loc[i] = (mu - u) / s;
        g.log_var[i] = ((mu - u).powi(2) + c) / (2.0 * s) - mu * f / s - c * a / (s * s);
    }
    g.hidden_bias.clone_from(m);
    Ok(g)
}

/// TAP approximation of the gradient of the mean log-likelihood of `data`:
/// [`GaussianRbm::data_gradient`] − [`tap_gradient`] (ascend it to train). `result` should
/// minimise `Γ` for `rbm`.
pub fn tap_log_likelihood_gradient(
    rbm: &GaussianRbm,
    data: &[f32],
    result: &GaussianTapResult,
) -> Result<GaussianRbmGradient, GaussianTapError> {
    let mut g = rbm.data_gradient(data)?;
    let t = tap_gradient(rbm, result)?;
    for (dst, src) in [
        (&mut g.weights, t.weights),
        (&mut g.loc, t.loc),
        (&mut g.log_var, t.log_var),
        (&mut g.hidden_bias, t.hidden_bias),
    ] {
        for (d, x) in dst.iter_mut().zip(src) {
            *d -= x;
        }
    }
    Ok(g)
}
