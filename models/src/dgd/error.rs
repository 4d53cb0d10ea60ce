//! The error type of [`crate::dgd`].

use thiserror::Error;

use crate::expfam::CovarianceType;
use crate::samples::DataError;

/// What can go wrong building, evaluating or fitting a multiDGD-style mixture prior; each
/// variant names the field, row, column, component or class at fault.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DgdError {
    /// A real-valued setting outside its domain (a non-positive radius, hardness, α, spread or
    /// learning rate, a NaN, …).
    #[error("`{field}` = {value}: {reason}")]
    InvalidParameter {
        /// The setting at fault, e.g. `softball_radius`.
        field: &'static str,
        /// Its value.
        value: f64,
        /// What it must be.
        reason: &'static str,
    },
    /// A count outside its domain (zero dimensions, components, classes, epochs, …).
    #[error("`{field}` = {value}: {reason}")]
    InvalidCount {
        /// The count at fault, e.g. `n_components`.
        field: &'static str,
        /// Its value.
        value: usize,
        /// What it must be.
        reason: &'static str,
    },
    /// A covariance type multiDGD's mixture does not have (it has diagonal, isotropic and
    /// fixed covariances, no full ones).
    #[error("covariance type `{0}` is not supported (use diag, spherical or fixed)")]
    UnsupportedCovariance(CovarianceType),
    /// A parameter vector or matrix of the wrong length.
    #[error("`{field}` has {found} entries, expected {expected}")]
    Shape {
        /// The vector at fault.
        field: &'static str,
        /// Required length.
        expected: usize,
        /// Given length.
        found: usize,
    },
    /// A NaN or infinite parameter entry.
    #[error("`{field}`[{index}] is {value}; values must be finite")]
    NonFinite {
        /// The vector at fault.
        field: &'static str,
        /// Flat (row-major) index of the entry.
        index: usize,
        /// The entry.
        value: f64,
    },
    /// Data of the wrong width, or otherwise invalid data.
    #[error(transparent)]
    Data(#[from] DataError),
    /// One label per sample is required.
    #[error("{found} labels given for {expected} samples")]
    LabelCount {
        /// Number of samples.
        expected: usize,
        /// Number of labels.
        found: usize,
    },
    /// A class label that is not below the number of classes.
    #[error("row {row} has label {label}, but there are only {n_class} classes")]
    Label {
        /// The sample.
        row: usize,
        /// Its label.
        label: usize,
        /// Number of classes.
        n_class: usize,
    },
    /// A sample whose density underflows to zero under every component it may belong to, so
    /// that its posterior assignment is undefined.
    #[error("row {row} has zero density under every allowed component")]
    ZeroDensity {
        /// The sample.
        row: usize,
    },
    /// Fitting produced a non-finite objective or gradient (a too large learning rate drives
    /// log-variances to overflow).
    #[error("fitting diverged at epoch {epoch}: {what} is not finite")]
    Diverged {
        /// Epoch (0-based) in which it happened.
        epoch: usize,
        /// What became non-finite.
        what: &'static str,
    },
    /// The user's representation loss reported a failure.
    #[error("the representation loss failed: {reason}")]
    LossHook {
        /// The message it returned.
        reason: String,
    },
    /// The user's representation loss returned a NaN or infinite loss or gradient.
    #[error("the representation loss returned {value} for {what} (row {row}, column {col})")]
    LossNonFinite {
        /// `loss` or `gradient`.
        what: &'static str,
        /// Sample of the entry (the first row of the batch for the loss).
        row: usize,
        /// Dimension of the entry (0 for the loss).
        col: usize,
        /// The value.
        value: f64,
    },
    /// The optimiser rejected its settings.
    #[error("optimiser setting `{field}`: {reason}")]
    Optimizer {
        /// Which options field (e.g. `learning_rate`).
        field: &'static str,
        /// The optimiser's message.
        reason: String,
    },
}

/// Errors unless `value` is finite and positive.
pub(crate) fn positive(field: &'static str, value: f64) -> Result<f64, DgdError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(DgdError::InvalidParameter {
            field,
            value,
            reason: "must be positive and finite",
        })
    }
}

/// Errors unless `value` is at least 1.
pub(crate) fn at_least_one(field: &'static str, value: usize) -> Result<usize, DgdError> {
    if value >= 1 {
        Ok(value)
    } else {
        Err(DgdError::InvalidCount {
            field,
            value,
            reason: "must be at least 1",
        })
    }
}

/// Errors unless `values` has `expected` entries, all finite.
pub(crate) fn check_vector(
    field: &'static str,
    values: &[f64],
    expected: usize,
) -> Result<(), DgdError> {
    if values.len() != expected {
        return Err(DgdError::Shape {
            field,
            expected,
            found: values.len(),
        });
    }
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(DgdError::NonFinite {
            field,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}
