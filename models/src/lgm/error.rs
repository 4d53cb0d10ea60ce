//! The error type of [`crate::lgm`].

use thiserror::Error;

use crate::linalg::LinalgError;
use crate::samples::DataError;

/// Everything that can be wrong with a linear Gaussian model's parameters, its data or its
/// fitting options. Each variant names the field, index or row at fault.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LgmError {
    /// A parameter vector or matrix with the wrong number of entries.
    #[error("`{field}` has {found} entries, expected {expected}")]
    Shape {
        /// The parameter at fault (e.g. `loadings`, `noise_variance`).
        field: &'static str,
        /// Entries required.
        expected: usize,
        /// Entries given.
        found: usize,
    },
    /// A NaN or infinite parameter.
    #[error("`{field}`[{index}] is {value}; parameters must be finite")]
    NonFinite {
        /// The parameter at fault.
        field: &'static str,
        /// Flat (row-major) index of the entry.
        index: usize,
        /// The entry.
        value: f64,
    },
    /// A noise variance that is zero or negative.
    #[error("`noise_variance`[{index}] is {value}; noise variances must be positive")]
    NonPositiveNoise {
        /// Observable dimension at fault.
        index: usize,
        /// The variance.
        value: f64,
    },
    /// A parameter that must be positive (e.g. an observable precision) is not.
    #[error("`{field}`[{index}] is {value}; it must be positive")]
    NotPositive {
        /// The parameter at fault.
        field: &'static str,
        /// Index of the entry.
        index: usize,
        /// The entry.
        value: f64,
    },
    /// Isotropic (PPCA) noise given with unequal variances.
    #[error(
        "isotropic noise needs one variance, but `noise_variance`[{index}] = {value} differs from [0] = {first}"
    )]
    NotIsotropic {
        /// First dimension whose variance differs.
        index: usize,
        /// Its variance.
        value: f64,
        /// The variance of dimension 0.
        first: f64,
    },
    /// A latent dimension outside `1..observable_dim`: zero factors explain nothing, and `d`
    /// or more factors make the loadings unidentifiable (the noise can be absorbed).
    #[error(
        "latent dimension {latent_dim} is invalid for {observable_dim} observable dimensions (need 1 ≤ k < d)"
    )]
    LatentDim {
        /// Latent dimension asked for.
        latent_dim: usize,
        /// Observable dimension `d`.
        observable_dim: usize,
    },
    /// Fewer observations than the fit needs.
    #[error("{found} samples are too few to fit {latent_dim} factors (need at least {needed})")]
    TooFewSamples {
        /// Observations given.
        found: usize,
        /// Observations needed (`latent_dim + 1`).
        needed: usize,
        /// Latent dimension of the fit.
        latent_dim: usize,
    },
    /// A fitting option out of range.
    #[error("option `{field}` = {value}: {reason}")]
    InvalidOption {
        /// The option at fault.
        field: &'static str,
        /// Its value, printed.
        value: String,
        /// What it must be.
        reason: &'static str,
    },
    /// The initial model given to a fit does not match the data or the requested model.
    #[error("the initial model does not fit the request: {reason}")]
    InitMismatch {
        /// What differs.
        reason: String,
    },
    /// A computation overflowed: the parameters are too extreme for `f64` (e.g. a noise
    /// variance of 1e-300 next to loadings of 1e300).
    #[error("{what} is not finite: the parameters are too extreme for f64 arithmetic")]
    Overflow {
        /// The quantity that overflowed.
        what: &'static str,
    },
    /// Bad data: wrong width (the variant names expected and found columns).
    #[error(transparent)]
    Data(#[from] DataError),
    /// A factorisation failed (e.g. a prior covariance or a latent precision that is not
    /// positive definite); the inner error names the matrix.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
}
