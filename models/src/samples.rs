//! [`Samples`]: a validated data matrix, one observation per row, the input of every fitted
//! model of Models II (mixtures, factor analysis, hierarchical mixtures, harmoniums).
//!
//! Validation happens once, here: a `Samples` always has at least one row and one column and
//! only finite values, so the fitting code never meets NaN or a ragged row.

use faer::MatRef;
use thiserror::Error;

/// What is wrong with a data matrix; each variant names the row or column at fault.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DataError {
    /// No rows or no columns.
    #[error("the data set is empty ({rows} rows × {cols} columns)")]
    Empty {
        /// Rows given.
        rows: usize,
        /// Columns given.
        cols: usize,
    },
    /// The value count is not a multiple of the column count.
    #[error("{len} values do not fill rows of {cols} columns")]
    Ragged {
        /// Values given.
        len: usize,
        /// Columns per row.
        cols: usize,
    },
    /// A NaN or infinite value.
    #[error("row {row}, column {col} is {value}; data must be finite")]
    NonFinite {
        /// Row (observation) of the value.
        row: usize,
        /// Column (feature) of the value.
        col: usize,
        /// The value.
        value: f64,
    },
    /// Data of the wrong width for a model.
    #[error("the data have {found} columns, the model expects {expected}")]
    WrongWidth {
        /// Columns the model expects.
        expected: usize,
        /// Columns given.
        found: usize,
    },
    /// A value outside the support of the model's family (e.g. 0.5 for a binary unit).
    #[error("row {row}, column {col} is {value}: {expected}")]
    OutsideSupport {
        /// Row of the value.
        row: usize,
        /// Column of the value.
        col: usize,
        /// The value.
        value: f64,
        /// What the column admits.
        expected: String,
    },
}

/// A finite, non-empty `rows × cols` data matrix stored row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Samples {
    values: Vec<f64>,
    rows: usize,
    cols: usize,
}

impl Samples {
    /// Validates row-major `values` with `cols` columns.
    ///
    /// ```
    /// use blockgibbs_models::samples::Samples;
    /// let x = Samples::new(vec![1.0, 2.0, 3.0, 4.0], 2).unwrap();
    /// assert_eq!((x.rows(), x.cols()), (2, 2));
    /// assert!(Samples::new(vec![1.0, f64::NAN], 2).is_err());
    /// ```
    pub fn new(values: Vec<f64>, cols: usize) -> Result<Samples, DataError> {
        if cols == 0 || values.is_empty() {
            return Err(DataError::Empty {
                rows: values.len().checked_div(cols).unwrap_or(0),
                cols,
            });
        }
        if !values.len().is_multiple_of(cols) {
            return Err(DataError::Ragged {
                len: values.len(),
                cols,
            });
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(DataError::NonFinite {
                row: i / cols,
                col: i % cols,
                value: values[i],
            });
        }
        let rows = values.len() / cols;
        Ok(Samples { values, rows, cols })
    }

    /// Validates row-major `f32` values (converted exactly to `f64`).
    pub fn from_f32(values: &[f32], cols: usize) -> Result<Samples, DataError> {
        Samples::new(values.iter().map(|&v| v as f64).collect(), cols)
    }

    /// Validates a list of rows of equal length.
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<Samples, DataError> {
        let cols = rows.first().map_or(0, Vec::len);
        if let Some(r) = rows.iter().position(|r| r.len() != cols) {
            return Err(DataError::Ragged {
                len: r * cols + rows[r].len(),
                cols,
            });
        }
        Samples::new(rows.concat(), cols)
    }

    /// Number of observations.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of features.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Observation `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.cols..(i + 1) * self.cols]
    }

    /// Iterates over the observations.
    pub fn iter_rows(&self) -> std::slice::ChunksExact<'_, f64> {
        self.values.chunks_exact(self.cols)
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[f64] {
        &self.values
    }

    /// The values, row-major, by value.
    pub fn into_vec(self) -> Vec<f64> {
        self.values
    }

    /// A `rows × cols` faer view of the data (no copy).
    pub fn as_mat(&self) -> MatRef<'_, f64> {
        MatRef::from_row_major_slice(&self.values, self.rows, self.cols)
    }

    /// The observations at `indices`, in that order (a subset or a bootstrap resample).
    pub fn select(&self, indices: &[usize]) -> Samples {
        let mut values = Vec::with_capacity(indices.len() * self.cols);
        for &i in indices {
            values.extend_from_slice(self.row(i));
        }
        Samples {
            rows: indices.len(),
            cols: self.cols,
            values,
        }
    }

    /// Errors unless the data have `expected` columns.
    pub fn check_width(&self, expected: usize) -> Result<(), DataError> {
        if self.cols != expected {
            return Err(DataError::WrongWidth {
                expected,
                found: self.cols,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_place() {
        assert_eq!(
            Samples::new(vec![0.0, 1.0, 2.0, f64::INFINITY], 2),
            Err(DataError::NonFinite {
                row: 1,
                col: 1,
                value: f64::INFINITY
            })
        );
        assert_eq!(
            Samples::new(vec![0.0; 5], 2),
            Err(DataError::Ragged { len: 5, cols: 2 })
        );
        assert!(matches!(
            Samples::new(vec![], 3),
            Err(DataError::Empty { .. })
        ));
        assert!(matches!(
            Samples::from_rows(&[vec![1.0, 2.0], vec![3.0]]),
            Err(DataError::Ragged { .. })
        ));
        let x = Samples::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
        assert_eq!(x.as_mat()[(1, 0)], 3.0);
        assert_eq!(x.select(&[1, 1]).as_slice(), &[3.0, 4.0, 3.0, 4.0]);
        assert!(x.check_width(3).is_err());
    }
}
