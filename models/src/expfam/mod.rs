//! Exponential families: the building blocks of harmoniums, mixtures, linear Gaussian models
//! and hierarchical mixtures.
//!
//! A family is a set of densities `p(x; θ) = h(x) exp(θ·s(x) − ψ(θ))` over one group of
//! units: `s` is the sufficient statistic, `log h` the log base measure, `ψ` the log
//! partition, `θ` the natural parameters and `μ = E[s(x)] = ∇ψ(θ)` the mean parameters. One
//! trait, [`ExponentialFamily`], gives all of these for every family; parameters are flat
//! `f64` vectors of length [`ExponentialFamily::dim`] in the layout each family documents.
//!
//! Families: [`Bernoulli`] (binary units), [`Spin`] (±1 units), [`Categorical`] (one
//! variable with K categories), [`Gaussian`] with a [`CovarianceType`] (full, diagonal,
//! isotropic, fixed identity), and [`Boltzmann`] (binary units with pairwise statistics,
//! small enough to enumerate: the latent family that makes a Gaussian–binary harmonium
//! conjugated).
//!
//! Every statistic is a polynomial in the unit values ([`ExponentialFamily::statistic_terms`]),
//! which is how harmoniums over these families lower to the engine's factors.

mod boltzmann;
mod discrete;
mod gaussian;

pub use boltzmann::{Boltzmann, MAX_BOLTZMANN_UNITS};
pub use discrete::{Bernoulli, Categorical, Spin};
pub use gaussian::Gaussian;

use blockgibbs_ir::NodeKind;
use rand::RngCore;
use thiserror::Error;

use crate::linalg::LinalgError;

/// How a Gaussian family parameterises its covariance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CovarianceType {
    /// A full positive-definite covariance (scikit-learn's `full`).
    Full,
    /// A diagonal covariance (scikit-learn's `diag`).
    Diagonal,
    /// One variance shared by every dimension (scikit-learn's `spherical`).
    Isotropic,
    /// The identity covariance, not a parameter (goal-jax's `Euclidean` location family).
    Fixed,
}

impl CovarianceType {
    /// The name used in files and on the command line: `full`, `diag`, `spherical`, `fixed`.
    pub fn name(self) -> &'static str {
        match self {
            CovarianceType::Full => "full",
            CovarianceType::Diagonal => "diag",
            CovarianceType::Isotropic => "spherical",
            CovarianceType::Fixed => "fixed",
        }
    }

    /// Parses a name: `full`, `diag`/`diagonal`, `spherical`/`isotropic`, `fixed`/`identity`.
    pub fn parse(name: &str) -> Option<CovarianceType> {
        match name {
            "full" => Some(CovarianceType::Full),
            "diag" | "diagonal" => Some(CovarianceType::Diagonal),
            "spherical" | "isotropic" => Some(CovarianceType::Isotropic),
            "fixed" | "identity" => Some(CovarianceType::Fixed),
            _ => None,
        }
    }

    /// Free covariance parameters of one `dim`-dimensional Gaussian.
    pub fn parameter_count(self, dim: usize) -> usize {
        match self {
            CovarianceType::Full => dim * (dim + 1) / 2,
            CovarianceType::Diagonal => dim,
            CovarianceType::Isotropic => 1,
            CovarianceType::Fixed => 0,
        }
    }
}

impl std::fmt::Display for CovarianceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What can go wrong in a family computation; each variant names the parameter or value.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ExpFamError {
    /// A parameter or data vector of the wrong length.
    #[error("`{field}` has {found} entries, expected {expected}")]
    Shape {
        /// The vector at fault.
        field: &'static str,
        /// Required length.
        expected: usize,
        /// Given length.
        found: usize,
    },
    /// A NaN or infinite entry.
    #[error("`{field}`[{index}] is {value}; values must be finite")]
    NonFinite {
        /// The vector at fault.
        field: &'static str,
        /// Index of the entry.
        index: usize,
        /// The entry.
        value: f64,
    },
    /// Parameters outside the family's domain (a mean outside the marginal polytope, a
    /// precision that is not positive definite, …).
    #[error("`{field}` is outside the domain of the {family} family: {reason}")]
    Domain {
        /// The parameter at fault.
        field: &'static str,
        /// The family.
        family: &'static str,
        /// Why.
        reason: String,
    },
    /// A value outside the support (0.5 for a binary unit, category 7 of 3, …).
    #[error("value {value} at index {index} is outside the support of the {family} family")]
    OutsideSupport {
        /// The family.
        family: &'static str,
        /// Index of the value in the observation.
        index: usize,
        /// The value.
        value: f64,
    },
    /// An operation the family has no closed form for and does not approximate.
    #[error("{operation} has no closed form for the {family} family")]
    NotClosedForm {
        /// The family.
        family: &'static str,
        /// The operation.
        operation: &'static str,
    },
    /// A family too large for an exact computation (enumeration of a Boltzmann family).
    #[error("the {family} family with {units} units is too large for {operation} (at most {max})")]
    TooLarge {
        /// The family.
        family: &'static str,
        /// Units asked for.
        units: usize,
        /// Largest size allowed.
        max: usize,
        /// The exact operation.
        operation: &'static str,
    },
    /// A factorisation failed.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
}

/// One monomial of a group's unit values: the building block of sufficient statistics as
/// polynomials ([`ExponentialFamily::statistic_terms`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Monomial {
    /// The value of unit `i` (a binary or spin unit, or a Gaussian coordinate).
    Unit(usize),
    /// `x_i²` of a Gaussian coordinate.
    Square(usize),
    /// The product of units `i < j`.
    Pair(usize, usize),
    /// `[c_unit = category]` of a categorical unit.
    Indicator {
        /// The categorical unit.
        unit: usize,
        /// The category.
        category: usize,
    },
}

/// A polynomial in a group's unit values: a sum of coefficient × monomial.
pub type Polynomial = Vec<(f64, Monomial)>;

/// An exponential family over one group of units, with parameters as flat `f64` vectors.
///
/// Densities are `p(x; θ) = exp(θ·s(x) + log h(x) − ψ(θ))` with respect to counting measure
/// (discrete units) or Lebesgue measure (Gaussian units). An observation is a slice of
/// [`ExponentialFamily::data_dim`] values: 0/1 for binary units, ±1 for spins, the category
/// index for categorical units, reals for Gaussian coordinates.
///
/// The first [`ExponentialFamily::location_dim`] coordinates of the statistic are the
/// *first-order* ones (the unit values, or the category indicators); a harmonium may couple
/// only those ([`crate::harmonium::Coupling::Location`]).
pub trait ExponentialFamily: Clone + std::fmt::Debug + Send + Sync {
    /// The family's name in messages.
    fn name(&self) -> &'static str;

    /// Values per observation.
    fn data_dim(&self) -> usize;

    /// Length of the sufficient statistic, and of the natural and mean parameter vectors.
    fn dim(&self) -> usize;

    /// Number of leading first-order coordinates of the statistic.
    fn location_dim(&self) -> usize;

    /// The engine's node kind of one unit.
    fn node_kind(&self) -> NodeKind;

    /// Errors unless `x` is a point of the support (right length, admissible values).
    fn check_point(&self, x: &[f64]) -> Result<(), ExpFamError>;

    /// Writes `s(x)` into `out` (length [`ExponentialFamily::dim`]); `x` must be a valid
    /// point (see [`ExponentialFamily::check_point`]).
    fn sufficient_statistic_into(&self, x: &[f64], out: &mut [f64]);

    /// `log h(x)` of a valid point.
    fn log_base_measure(&self, x: &[f64]) -> f64;

    /// The log partition `ψ(θ)`; errors outside the natural domain.
    fn log_partition(&self, natural: &[f64]) -> Result<f64, ExpFamError>;

    /// The mean parameters `μ = ∇ψ(θ) = E_θ[s(x)]`.
    fn to_mean(&self, natural: &[f64]) -> Result<Vec<f64>, ExpFamError>;

    /// The natural parameters with mean `mean` (the inverse of [`ExponentialFamily::to_mean`]);
    /// errors for means on or outside the boundary of the marginal polytope.
    fn to_natural(&self, mean: &[f64]) -> Result<Vec<f64>, ExpFamError>;

    /// The negative entropy `E[log p(x)]` of the density with mean parameters `mean`
    /// (base measure included).
    fn negative_entropy(&self, mean: &[f64]) -> Result<f64, ExpFamError>;

    /// Draws one observation into `out` (length [`ExponentialFamily::data_dim`]).
    fn sample_into(
        &self,
        natural: &[f64],
        rng: &mut dyn RngCore,
        out: &mut [f64],
    ) -> Result<(), ExpFamError>;

    /// The natural parameters of the family's reference member: uniform for the discrete
    /// families, the standard normal `N(0, I)` for the Gaussian ones (a starting point for
    /// initialisation).
    fn standard_natural(&self) -> Vec<f64> {
        vec![0.0; self.dim()]
    }

    /// The statistic as polynomials of the unit values, one per coordinate.
    fn statistic_terms(&self) -> Vec<Polynomial>;

    /// The non-constant part of `log h` as a polynomial (empty for most families; `−½ Σ x²`
    /// for the fixed-covariance Gaussian).
    fn base_measure_terms(&self) -> Polynomial {
        Vec::new()
    }

    /// Errors unless `natural` has the right length and finite entries.
    fn check_natural(&self, natural: &[f64]) -> Result<(), ExpFamError> {
        check_vector("natural", natural, self.dim())
    }

    /// `s(x)` of a point, checked.
    fn sufficient_statistic(&self, x: &[f64]) -> Result<Vec<f64>, ExpFamError> {
        self.check_point(x)?;
        let mut out = vec![0.0; self.dim()];
        self.sufficient_statistic_into(x, &mut out);
        Ok(out)
    }

    /// `log p(x; θ)`.
    fn log_density(&self, natural: &[f64], x: &[f64]) -> Result<f64, ExpFamError> {
        let s = self.sufficient_statistic(x)?;
        let psi = self.log_partition(natural)?;
        Ok(dot(natural, &s) + self.log_base_measure(x) - psi)
    }

    /// `n` independent draws, row-major `[n, data_dim]`.
    fn sample(
        &self,
        natural: &[f64],
        n: usize,
        rng: &mut dyn RngCore,
    ) -> Result<Vec<f64>, ExpFamError> {
        self.check_natural(natural)?;
        let d = self.data_dim();
        let mut out = vec![0.0; n * d];
        for row in out.chunks_exact_mut(d.max(1)) {
            self.sample_into(natural, rng, row)?;
        }
        Ok(out)
    }

    /// The average statistic of the rows of `data` (`[n, data_dim]` row-major): the
    /// maximum-likelihood mean parameters of the data.
    fn average_sufficient_statistic(&self, data: &[f64]) -> Result<Vec<f64>, ExpFamError> {
        let d = self.data_dim().max(1);
        if data.is_empty() || !data.len().is_multiple_of(d) {
            return Err(ExpFamError::Shape {
                field: "data",
                expected: d * (data.len() / d).max(1),
                found: data.len(),
            });
        }
        let mut sum = vec![0.0; self.dim()];
        let mut s = vec![0.0; self.dim()];
        for x in data.chunks_exact(d) {
            self.check_point(x)?;
            self.sufficient_statistic_into(x, &mut s);
            for (a, b) in sum.iter_mut().zip(&s) {
                *a += b;
            }
        }
        let n = (data.len() / d) as f64;
        sum.iter_mut().for_each(|a| *a /= n);
        Ok(sum)
    }
}

/// `a · b`.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Errors unless `v` has `expected` finite entries.
pub(crate) fn check_vector(
    field: &'static str,
    v: &[f64],
    expected: usize,
) -> Result<(), ExpFamError> {
    if v.len() != expected {
        return Err(ExpFamError::Shape {
            field,
            expected,
            found: v.len(),
        });
    }
    if let Some(index) = v.iter().position(|x| !x.is_finite()) {
        return Err(ExpFamError::NonFinite {
            field,
            index,
            value: v[index],
        });
    }
    Ok(())
}

/// Errors unless a group has at least one unit.
pub(crate) fn check_units(units: usize) -> Result<(), ExpFamError> {
    if units == 0 {
        return Err(ExpFamError::Shape {
            field: "units",
            expected: 1,
            found: 0,
        });
    }
    Ok(())
}

/// Errors unless `x` holds `units` values, each one of the two `values` of a unit.
pub(crate) fn check_two_state(
    family: &'static str,
    x: &[f64],
    units: usize,
    values: [f64; 2],
) -> Result<(), ExpFamError> {
    check_vector("x", x, units)?;
    match x.iter().position(|v| !values.contains(v)) {
        Some(index) => Err(ExpFamError::OutsideSupport {
            family,
            index,
            value: x[index],
        }),
        None => Ok(()),
    }
}

pub(crate) use crate::numeric::log_sum_exp;

/// A uniform draw in [0, 1).
pub(crate) fn uniform(rng: &mut dyn RngCore) -> f64 {
    rand::Rng::random::<f64>(rng)
}

/// A standard normal draw.
pub(crate) fn standard_normal(rng: &mut dyn RngCore) -> f64 {
    rand_distr::Distribution::sample(&rand_distr::StandardNormal, rng)
}

/// The value of a polynomial at a point of a group (categorical units hold their category).
pub fn evaluate_polynomial(p: &[(f64, Monomial)], x: &[f64]) -> f64 {
    p.iter()
        .map(|&(c, m)| {
            c * match m {
                Monomial::Unit(i) => x[i],
                Monomial::Square(i) => x[i] * x[i],
                Monomial::Pair(i, j) => x[i] * x[j],
                Monomial::Indicator { unit, category } => (x[unit] == category as f64) as u8 as f64,
            }
        })
        .sum()
}
