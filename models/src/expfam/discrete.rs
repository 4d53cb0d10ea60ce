//! The discrete families: independent [`Bernoulli`] and [`Spin`] units, and one
//! [`Categorical`] variable.

use blockgibbs_ir::NodeKind;
use rand::RngCore;

use super::{
    ExpFamError, ExponentialFamily, Monomial, Polynomial, check_two_state, check_units,
    check_vector, log_sum_exp, uniform,
};

use crate::numeric::{sigmoid, softplus};

/// `p ln p`, with `0 ln 0 = 0`.
fn xlogx(p: f64) -> f64 {
    if p > 0.0 { p * p.ln() } else { 0.0 }
}

fn domain(field: &'static str, family: &'static str, reason: String) -> ExpFamError {
    ExpFamError::Domain {
        field,
        family,
        reason,
    }
}

fn unit_terms(units: usize) -> Vec<Polynomial> {
    (0..units).map(|i| vec![(1.0, Monomial::Unit(i))]).collect()
}

/// Checks `mean` against a closed interval `[lo, hi]` per entry (the marginal polytope of
/// independent two-state units); `open` also excludes the ends (for `to_natural`).
fn check_mean_box(
    family: &'static str,
    mean: &[f64],
    expected: usize,
    (lo, hi): (f64, f64),
    open: bool,
) -> Result<(), ExpFamError> {
    check_vector("mean", mean, expected)?;
    for (i, &m) in mean.iter().enumerate() {
        let inside = if open {
            m > lo && m < hi
        } else {
            m >= lo && m <= hi
        };
        if !inside {
            let ends = if open { "strictly between" } else { "in" };
            return Err(domain(
                "mean",
                family,
                format!("mean[{i}] = {m} must be {ends} {lo} and {hi}"),
            ));
        }
    }
    Ok(())
}

/// The trait methods shared by families of independent two-state units whose statistic is
/// the unit values themselves (name, sizes, node kind, support check, statistic, base
/// measure).
macro_rules! independent_units {
    ($name:literal, $kind:ident, $values:expr) => {
        fn name(&self) -> &'static str {
            $name
        }
        fn data_dim(&self) -> usize {
            self.units
        }
        fn dim(&self) -> usize {
            self.units
        }
        fn location_dim(&self) -> usize {
            self.units
        }
        fn node_kind(&self) -> NodeKind {
            NodeKind::$kind
        }
        fn check_point(&self, x: &[f64]) -> Result<(), ExpFamError> {
            check_two_state(self.name(), x, self.units, $values)
        }
        fn sufficient_statistic_into(&self, x: &[f64], out: &mut [f64]) {
            out.copy_from_slice(x);
        }
        fn log_base_measure(&self, _x: &[f64]) -> f64 {
            0.0
        }
    };
}

/// `units` independent binary units, `x ∈ {0, 1}ⁿ`: statistic `x`, natural parameters the
/// logits, means the probabilities of 1, `ψ(θ) = Σ log(1 + e^θ)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bernoulli {
    units: usize,
}

impl Bernoulli {
    /// `units ≥ 1` binary units.
    pub fn new(units: usize) -> Result<Bernoulli, ExpFamError> {
        check_units(units)?;
        Ok(Bernoulli { units })
    }
}

impl ExponentialFamily for Bernoulli {
    independent_units!("Bernoulli", Binary, [0.0, 1.0]);
    fn log_partition(&self, natural: &[f64]) -> Result<f64, ExpFamError> {
        self.check_natural(natural)?;
        Ok(natural.iter().map(|&t| softplus(t)).sum())
    }
    fn to_mean(&self, natural: &[f64]) -> Result<Vec<f64>, ExpFamError> {
        self.check_natural(natural)?;
        Ok(natural.iter().map(|&t| sigmoid(t)).collect())
    }
    fn to_natural(&self, mean: &[f64]) -> Result<Vec<f64>, ExpFamError> {
        check_mean_box(self.name(), mean, self.units, (0.0, 1.0), true)?;
        Ok(mean.iter().map(|&m| (m / (1.0 - m)).ln()).collect())
    }
    fn negative_entropy(&self, mean: &[f64]) -> Result<f64, ExpFamError> {
        check_mean_box(self.name(), mean, self.units, (0.0, 1.0), false)?;
        Ok(mean.iter().map(|&m| xlogx(m) + xlogx(1.0 - m)).sum())
    }
    fn sample_into(
        &self,
        natural: &[f64],
        rng: &mut dyn RngCore,
        out: &mut [f64],
    ) -> Result<(), ExpFamError> {
        self.check_natural(natural)?;
        for (o, &t) in out.iter_mut().zip(natural) {
            *o = if uniform(rng) < sigmoid(t) { 1.0 } else { 0.0 };
        }
        Ok(())
    }
    fn statistic_terms(&self) -> Vec<Polynomial> {
        unit_terms(self.units)
    }
}

/// `units` independent spins, `s ∈ {−1, +1}ⁿ`: statistic `s`, `ψ(θ) = Σ log(2 cosh θ)`,
/// means the magnetisations `tanh θ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spin {
    units: usize,
}

impl Spin {
    /// `units ≥ 1` spins.
    pub fn new(units: usize) -> Result<Spin, ExpFamError> {
        check_units(units)?;
        Ok(Spin { units })
    }
}

impl ExponentialFamily for Spin {
    independent_units!("spin", Spin, [-1.0, 1.0]);
    fn log_partition(&self, natural: &[f64]) -> Result<f64, ExpFamError> {
        self.check_natural(natural)?;
        // log(2 cosh t) = |t| + log(1 + e^{−2|t|})
        Ok(natural
            .iter()
            .map(|&t| t.abs() + (-2.0 * t.abs()).exp().ln_1p())
            .sum())
    }
    fn to_mean(&self, natural: &[f64]) -> Result<Vec<f64>, ExpFamError> {
        self.check_natural(natural)?;
        Ok(natural.iter().map(|&t| t.tanh()).collect())
    }
    fn to_natural(&self, mean: &[f64]) -> Result<Vec<f64>, ExpFamError> {
        check_mean_box(self.name(), mean, self.units, (-1.0, 1.0), true)?;
        Ok(mean.iter().map(|&m| m.atanh()).collect())
    }
    fn negative_entropy(&self, mean: &[f64]) -> Result<f64, ExpFamError> {
        check_mean_box(self.name(), mean, self.units, (-1.0, 1.0), false)?;
        Ok(mean
            .iter()
            .map(|&m| xlogx(0.5 * (1.0 + m)) + xlogx(0.5 * (1.0 - m)))
            .sum())
    }
    fn sample_into(
        &self,
        natural: &[f64],
        rng: &mut dyn RngCore,
        out: &mut [f64],
    ) -> Result<(), ExpFamError> {
        self.check_natural(natural)?;
        for (o, &t) in out.iter_mut().zip(natural) {
            *o = if uniform(rng) < sigmoid(2.0 * t) {
                1.0
            } else {
                -1.0
            };
        }
        Ok(())
    }
    fn statistic_terms(&self) -> Vec<Polynomial> {
        unit_terms(self.units)
    }
}

/// One categorical variable with `K ≥ 2` categories, `c ∈ {0, …, K−1}`. Category 0 is the
/// reference: the statistic is the one-hot indicator of categories `1..K` (`K − 1`
/// coordinates), natural parameters are `θ_k = log(p_k / p_0)`, means are `p_1 … p_{K−1}`,
/// and `ψ(θ) = log(1 + Σ e^{θ_k})` (goal-jax's convention).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Categorical {
    categories: usize,
}

impl Categorical {
    /// A variable with `categories ≥ 2` categories.
    pub fn new(categories: usize) -> Result<Categorical, ExpFamError> {
        if categories < 2 || categories > u32::MAX as usize {
            return Err(domain(
                "categories",
                "categorical",
                format!("{categories} categories; at least 2 are needed"),
            ));
        }
        Ok(Categorical { categories })
    }

    /// Number of categories `K`.
    pub fn categories(&self) -> usize {
        self.categories
    }

    /// All `K` probabilities from natural parameters.
    pub fn probabilities(&self, natural: &[f64]) -> Result<Vec<f64>, ExpFamError> {
        self.check_natural(natural)?;
        let mut logits = Vec::with_capacity(self.categories);
        logits.push(0.0);
        logits.extend_from_slice(natural);
        let lse = log_sum_exp(&logits);
        Ok(logits.iter().map(|&l| (l - lse).exp()).collect())
    }

    /// Natural parameters from all `K` probabilities (each positive, summing to 1 within
    /// 1e-9).
    pub fn natural_from_probabilities(&self, p: &[f64]) -> Result<Vec<f64>, ExpFamError> {
        check_vector("probabilities", p, self.categories)?;
        let total: f64 = p.iter().sum();
        if let Some(k) = p.iter().position(|&x| x <= 0.0) {
            return Err(domain(
                "probabilities",
                "categorical",
                format!(
                    "probability of category {k} is {}; all must be positive",
                    p[k]
                ),
            ));
        }
        if (total - 1.0).abs() > 1e-9 {
            return Err(domain(
                "probabilities",
                "categorical",
                format!("probabilities sum to {total}, not 1"),
            ));
        }
        Ok(p[1..].iter().map(|&x| (x / p[0]).ln()).collect())
    }

    fn probabilities_from_mean(&self, mean: &[f64], open: bool) -> Result<Vec<f64>, ExpFamError> {
        check_vector("mean", mean, self.categories - 1)?;
        let mut p = Vec::with_capacity(self.categories);
        p.push(1.0 - mean.iter().sum::<f64>());
        p.extend_from_slice(mean);
        for (k, &x) in p.iter().enumerate() {
            // Sums of probabilities carry rounding: allow it at the closed boundary.
            let bad = if open { x <= 0.0 } else { x < -1e-12 };
            if bad || x > 1.0 + 1e-12 {
                return Err(domain(
                    "mean",
                    "categorical",
                    format!("the probability of category {k} would be {x}"),
                ));
            }
        }
        Ok(p)
    }
}

impl ExponentialFamily for Categorical {
    fn name(&self) -> &'static str {
        "categorical"
    }
    fn data_dim(&self) -> usize {
        1
    }
    fn dim(&self) -> usize {
        self.categories - 1
    }
    fn location_dim(&self) -> usize {
        self.categories - 1
    }
    fn node_kind(&self) -> NodeKind {
        NodeKind::Categorical(self.categories as u32)
    }
    fn check_point(&self, x: &[f64]) -> Result<(), ExpFamError> {
        check_vector("x", x, 1)?;
        let c = x[0];
        if c < 0.0 || c >= self.categories as f64 || c.fract() != 0.0 {
            return Err(ExpFamError::OutsideSupport {
                family: self.name(),
                index: 0,
                value: c,
            });
        }
        Ok(())
    }
    fn sufficient_statistic_into(&self, x: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        let c = x[0] as usize;
        if c > 0 {
            out[c - 1] = 1.0;
        }
    }
    fn log_base_measure(&self, _x: &[f64]) -> f64 {
        0.0
    }
    fn log_partition(&self, natural: &[f64]) -> Result<f64, ExpFamError> {
        self.check_natural(natural)?;
        let mut logits = vec![0.0];
        logits.extend_from_slice(natural);
        Ok(log_sum_exp(&logits))
    }
    fn to_mean(&self, natural: &[f64]) -> Result<Vec<f64>, ExpFamError> {
        Ok(self.probabilities(natural)?[1..].to_vec())
    }
    fn to_natural(&self, mean: &[f64]) -> Result<Vec<f64>, ExpFamError> {
        let p = self.probabilities_from_mean(mean, true)?;
        Ok(p[1..].iter().map(|&x| (x / p[0]).ln()).collect())
    }
    fn negative_entropy(&self, mean: &[f64]) -> Result<f64, ExpFamError> {
        let p = self.probabilities_from_mean(mean, false)?;
        Ok(p.iter().map(|&x| xlogx(x.max(0.0))).sum())
    }
    fn sample_into(
        &self,
        natural: &[f64],
        rng: &mut dyn RngCore,
        out: &mut [f64],
    ) -> Result<(), ExpFamError> {
        let p = self.probabilities(natural)?;
        let u = uniform(rng);
        let mut acc = 0.0;
        let mut c = self.categories - 1;
        for (k, &pk) in p.iter().enumerate() {
            acc += pk;
            if u < acc {
                c = k;
                break;
            }
        }
        out[0] = c as f64;
        Ok(())
    }
    fn statistic_terms(&self) -> Vec<Polynomial> {
        (1..self.categories)
            .map(|category| vec![(1.0, Monomial::Indicator { unit: 0, category })])
            .collect()
    }
}
