//! [`HarmoniumError`]: what can go wrong building, sampling or fitting a harmonium.

use blockgibbs_ir::ModelError;
use blockgibbs_runtime::RuntimeError;
use thiserror::Error;

use crate::expfam::ExpFamError;
use crate::linalg::LinalgError;
use crate::samples::DataError;

/// Everything that can go wrong with a harmonium; each variant names what is at fault.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum HarmoniumError {
    /// A family computation failed (a parameter outside the domain, a value outside the
    /// support, a wrong length).
    #[error(transparent)]
    Family(#[from] ExpFamError),
    /// The data are malformed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A factorisation failed.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
    /// The lowered engine model was rejected (boxed: engine errors are large, and this
    /// error travels through every analytic computation).
    #[error("lowering the harmonium: {0}")]
    Model(Box<ModelError>),
    /// The runtime failed (e.g. a Gaussian conditional precision that is not positive).
    #[error("sampling the harmonium: {0}")]
    Runtime(Box<RuntimeError>),
    /// An option or argument out of range.
    #[error("`{field}`: {reason}")]
    Invalid {
        /// The option at fault.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The harmonium's structure does not allow the operation (e.g. a conjugation that
    /// needs a first-order coupling).
    #[error("{operation} is not available for this harmonium: {reason}")]
    Unsupported {
        /// The operation.
        operation: &'static str,
        /// Why.
        reason: String,
    },
    /// An observable feature the latent factors explain completely (a constant feature, or
    /// one copied from another): its noise variance would be zero or negative.
    #[error(
        "feature {feature} has residual variance {variance}: it is constant or fully explained \
         by the factors; add a regularisation (reg_covar) or drop the feature"
    )]
    DegenerateFeature {
        /// Column of the feature.
        feature: usize,
        /// Its residual variance.
        variance: f64,
    },
    /// A mixture component (latent category) with no weight left in an EM step.
    #[error("latent category {category} has weight {weight}: the component is empty")]
    EmptyComponent {
        /// The category.
        category: usize,
        /// Its weight.
        weight: f64,
    },
}

impl From<ModelError> for HarmoniumError {
    fn from(e: ModelError) -> Self {
        HarmoniumError::Model(Box::new(e))
    }
}

impl From<RuntimeError> for HarmoniumError {
    fn from(e: RuntimeError) -> Self {
        HarmoniumError::Runtime(Box::new(e))
    }
}
