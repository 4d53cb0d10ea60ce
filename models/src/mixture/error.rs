//! The error type of [`crate::mixture`].

use thiserror::Error;

use crate::samples::DataError;

/// Everything that can go wrong building, fitting or using a [`super::GaussianMixture`].
/// Each variant names the field, component, initialisation and iteration at fault.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MixtureError {
    /// The data matrix is unusable (wrong width for the model, …).
    #[error(transparent)]
    Data(#[from] DataError),
    /// An option outside its domain (`tol < 0`, `n_init = 0`, …).
    #[error("option `{field}` = {value}: {reason}")]
    InvalidOption {
        /// The option at fault.
        field: &'static str,
        /// Its value, as text.
        value: String,
        /// What the option admits.
        reason: &'static str,
    },
    /// More components than samples: a mixture cannot be fitted.
    #[error("{components} components need at least as many samples, got {samples}")]
    TooFewSamples {
        /// Samples given.
        samples: usize,
        /// Components asked for.
        components: usize,
    },
    /// A parameter array of the wrong shape.
    #[error("`{field}` has shape {found:?}, expected {expected:?}")]
    Shape {
        /// The parameter at fault (`weights`, `means`, `covariances`, `precisions_init`, …).
        field: &'static str,
        /// The shape required.
        expected: Vec<usize>,
        /// The shape given (for flat arrays, the length).
        found: Vec<usize>,
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
    /// Weights that are not a probability vector.
    #[error("`{field}` is not a probability vector: {reason}")]
    NotProbability {
        /// `weights` or `weights_init`.
        field: &'static str,
        /// What is wrong (the offending entry or the sum).
        reason: String,
    },
    /// A covariance or precision given to a constructor that is not positive definite
    /// (for diagonal and spherical types: an entry that is not positive).
    #[error("`{field}` of component {component} is not symmetric positive definite: {reason}")]
    NotPositiveDefinite {
        /// `covariances` or `precisions_init`.
        field: &'static str,
        /// The component at fault.
        component: usize,
        /// Which pivot or entry failed.
        reason: String,
    },
    /// During fitting, the estimated covariance of a component is singular or not positive
    /// definite (a component collapsed on a point or a subspace); scikit-learn's "ill-defined
    /// empirical covariance". Raise `reg_covar`, use fewer components or rescale the data.
    #[error(
        "the covariance of component {component} became singular at iteration {iteration} of \
         initialisation {init} (reg_covar = {reg_covar}): {reason}"
    )]
    SingularCovariance {
        /// The component at fault.
        component: usize,
        /// The restart (`0..n_init`).
        init: usize,
        /// The EM iteration (1-based); 0 for the initial parameters.
        iteration: usize,
        /// The regularisation in use.
        reg_covar: f64,
        /// Which pivot or variance failed.
        reason: String,
    },
    /// A component no sample is responsible for (its total responsibility fell below
    /// [`super::GaussianMixtureOptions::min_component_mass`]): its M-step would be 0/0.
    #[error(
        "component {component} is empty at iteration {iteration} of initialisation {init} \
         (total responsibility {mass:e})"
    )]
    EmptyComponent {
        /// The component at fault.
        component: usize,
        /// The restart (`0..n_init`).
        init: usize,
        /// The EM iteration (1-based); 0 for the initial parameters.
        iteration: usize,
        /// Its total responsibility `Σ_i r_ik`.
        mass: f64,
    },
    /// A log-density that is not a number: values so large (near `f64::MAX`, in the data or
    /// the parameters) that a squared distance overflowed.
    #[error("the log-density of sample {row} overflowed (values near f64::MAX)")]
    Overflow {
        /// The sample (row) at fault.
        row: usize,
    },
    /// An argument of a method outside its domain (`sample(0, …)`, …).
    #[error("argument `{field}` = {value}: {reason}")]
    InvalidArgument {
        /// The argument at fault.
        field: &'static str,
        /// Its value, as text.
        value: String,
        /// What it admits.
        reason: &'static str,
    },
}
