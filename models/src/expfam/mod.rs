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
