//! Data matrices for `blockgibbs fit` and `blockgibbs score`: a `.npy` or `.csv` file read
//! into a validated [`Samples`] (one row per sample, one column per feature), remembering
//! where every row came from so that later errors can point into the file.
//!
//! # Accepted files
//!
//! - **`.npy`** ([`npy`]): dtypes `f4`, `f8`, signed and unsigned integers of 1, 2, 4 or 8
//!   bytes, and `bool` (read as 0/1), either byte order; a 2-D array `[samples, features]` in
//!   C or Fortran order, or a 1-D array `[samples]` read as one feature. 64-bit integers that
//!   an `f64` cannot hold exactly are refused rather than rounded.
//! - **`.csv`** ([`csv`]): comma-separated numbers, one sample per line. The first
//!   non-blank line is a header, and skipped, when none of its fields is a number (so a data
//!   row with one bad field is reported, never dropped as a header). Blank lines, a trailing
//!   newline, Windows line ends, a UTF-8 byte-order mark and `#` comments (from `#` to the
//!   end of the line) are ignored. Every row must have as many fields as the first.
//!
//! Values must be finite in both formats. Errors ([`DataFileError`]) name the file and the
//! place: a [`Location`] is `line L, column C` (both from 1, as editors count) in a CSV file
//! and `element [r, c]` (from 0, as NumPy indexes) in a `.npy` file.

pub mod csv;
pub mod npy;

use blockgibbs_models::samples::{DataError, Samples};
use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Where a value sits in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A field of a CSV file; `line` and `column` count from 1.
    Csv {
        /// Line of the file (comments, blank lines and the header count).
        line: usize,
        /// Field of the line.
        column: usize,
    },
    /// An element of a 2-D `.npy` array, indexed from 0 as NumPy does.
    Matrix {
        /// Row (sample).
        row: usize,
        /// Column (feature).
        column: usize,
    },
    /// An element of a 1-D `.npy` array (one feature per sample), indexed from 0.
    Vector {
        /// Index of the sample.
        index: usize,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Csv { line, column } => write!(f, "line {line}, column {column}"),
            Location::Matrix { row, column } => write!(f, "element [{row}, {column}]"),
            Location::Vector { index } => write!(f, "element [{index}]"),
        }
    }
}

/// Everything that can be wrong with a data file; each variant names the file and, where
/// there is one, the line, column or element.
#[derive(Debug, Error)]
pub enum DataFileError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Neither a `.npy` nor a `.csv` file name.
    #[error("{}: unknown data format; give a .npy or a .csv file", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A CSV file that is not UTF-8 text.
    #[error("{}: line {line} is not UTF-8 text", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// First line holding an invalid byte.
        line: usize,
    },
    /// A `.npy` file whose header or data cannot be read (truncated, damaged, not `.npy`).
    #[error("{}: not a readable .npy file: {reason}", path.display())]
    BadNpy {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A `.npy` dtype that is not a real number, integer or boolean.
    #[error(
        "{}: dtype {descr} is not supported; save floats (f4, f8), integers or booleans",
        path.display()
    )]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
        /// The dtype as NumPy writes it, e.g. `'<c16'`.
        descr: String,
    },
    /// A `.npy` array that is neither 1-D nor 2-D.
    #[error(
        "{}: an array of shape {shape:?} is not a data matrix; give [samples, features] \
         (or [samples] for one feature)",
        path.display()
    )]
    UnsupportedShape {
        /// The file.
        path: PathBuf,
        /// Its shape.
        shape: Vec<u64>,
    },
    /// A CSV field that is not a number.
    #[error("{}: {location}: `{text}` is not a number{hint}", path.display())]
    NotANumber {
        /// The file.
        path: PathBuf,
        /// The field.
        location: Location,
        /// Its text.
        text: String,
        /// A guess at the cause, e.g. another separator than the comma (may be empty).
        hint: &'static str,
    },
    /// An empty CSV field (e.g. `1,,3` or a trailing comma).
    #[error("{}: {location} is empty", path.display())]
    EmptyField {
        /// The file.
        path: PathBuf,
        /// The field.
        location: Location,
    },
    /// A CSV line with a different number of fields than the first.
    #[error(
        "{}: line {line} has {found} fields, line {reference_line} has {expected}",
        path.display()
    )]
    Ragged {
        /// The file.
        path: PathBuf,
        /// The line at fault.
        line: usize,
        /// Its field count.
        found: usize,
        /// The first line's (header's or first row's) field count.
        expected: usize,
        /// That first line.
        reference_line: usize,
    },
    /// A NaN or infinite value.
    #[error("{}: {location} is {value}; data must be finite", path.display())]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The value's place.
        location: Location,
        /// The value.
        value: f64,
    },
    /// A 64-bit integer that `f64` cannot represent exactly.
    #[error(
        "{}: {location} = {value} cannot be represented exactly as a float",
        path.display()
    )]
    Inexact {
        /// The file.
        path: PathBuf,
        /// The value's place.
        location: Location,
        /// The integer, in decimal.
        value: String,
    },
    /// No data: an empty file, only a header, or an array with a zero dimension.
    #[error("{}: no data ({detail})", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        detail: String,
    },
    /// A value the model cannot take (e.g. 0.5 where an RBM needs binary data).
    #[error("{}: {location} is {value}; {expected}", path.display())]
    OutsideSupport {
        /// The file.
        path: PathBuf,
        /// The value's place.
        location: Location,
        /// The value.
        value: f64,
        /// What the model admits there.
        expected: String,
    },
    /// Data of another width than the model's.
    #[error(
        "{}: the data have {found} columns, the {model} model has {expected} features",
        path.display()
    )]
    WrongWidth {
        /// The file.
        path: PathBuf,
        /// Columns in the data.
        found: usize,
        /// Features of the model.
        expected: usize,
        /// The model's kind.
        model: String,
    },
    /// Fewer samples than the model needs (e.g. fewer than mixture components).
    #[error("{}: {rows} samples; {what} needs at least {needed}", path.display())]
    TooFewSamples {
        /// The file.
        path: PathBuf,
        /// Samples in the data.
        rows: usize,
        /// Samples needed.
        needed: usize,
        /// Who needs them, e.g. "a mixture of 5 components".
        what: String,
    },
}

/// How a file's rows map back to the file, for error messages.
#[derive(Debug, Clone, PartialEq)]
enum Origin {
    /// CSV: the line of each row.
    Csv { lines: Vec<usize> },
    /// `.npy` of shape `[samples, features]`.
    Matrix,
    /// `.npy` of shape `[samples]`.
    Vector,
}

impl Origin {
    /// Where row `row`, column `col` of the data sits in the file.
    fn location(&self, row: usize, col: usize) -> Location {
        match self {
            Origin::Csv { lines } => Location::Csv {
                line: lines.get(row).copied().unwrap_or(0),
                column: col + 1,
            },
            Origin::Matrix => Location::Matrix { row, column: col },
            Origin::Vector => Location::Vector { index: row },
        }
    }
}

/// A data file read into validated [`Samples`], with the file name and the place of every
/// row for error messages.
#[derive(Debug, Clone, PartialEq)]
pub struct DataFile {
    path: PathBuf,
    samples: Samples,
    origin: Origin,
}

/// The extension of `path` in lower case, which picks the data format.
fn lowercase_extension(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

impl DataFile {
    /// Reads a `.npy` or `.csv` file (by its extension, in any letter case).
    pub fn read(path: impl AsRef<Path>) -> Result<DataFile, DataFileError> {
        let path = path.as_ref();
        if !matches!(lowercase_extension(path).as_deref(), Some("npy" | "csv")) {
            return Err(DataFileError::UnknownFormat {
                path: path.to_path_buf(),
            });
        }
        let bytes = std::fs::read(path).map_err(|source| DataFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        DataFile::parse(path, &bytes)
    }

    /// Parses the contents of a `.npy` or `.csv` file held in memory; `path` picks the
    /// format by its extension (as [`DataFile::read`] does) and names the file in errors.
    /// The fuzz targets and callers that already hold the bytes come in here.
    pub fn parse(path: impl AsRef<Path>, bytes: &[u8]) -> Result<DataFile, DataFileError> {
        let path = path.as_ref();
        match lowercase_extension(path).as_deref() {
            Some("npy") => npy::parse(path, bytes),
            Some("csv") => csv::parse(path, bytes),
            _ => Err(DataFileError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }

    /// The file the data came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The validated data.
    pub fn samples(&self) -> &Samples {
        &self.samples
    }

    /// Number of samples (rows).
    pub fn rows(&self) -> usize {
        self.samples.rows()
    }

    /// Number of features (columns).
    pub fn cols(&self) -> usize {
        self.samples.cols()
    }

    /// Where row `row`, column `col` of the data sits in the file.
    pub fn location(&self, row: usize, col: usize) -> Location {
        self.origin.location(row, col)
    }

    /// Errors unless the data have `expected` columns, the width of the `model` kind.
    pub fn check_width(&self, expected: usize, model: &str) -> Result<(), DataFileError> {
        if self.cols() != expected {
            return Err(DataFileError::WrongWidth {
                path: self.path.clone(),
                found: self.cols(),
                expected,
                model: model.to_string(),
            });
        }
        Ok(())
    }

    /// Errors unless there are at least `needed` samples; `what` says who needs them (e.g.
    /// "a mixture of 5 components"), for the message.
    pub fn require_rows(&self, needed: usize, what: &str) -> Result<(), DataFileError> {
        if self.rows() < needed {
            return Err(DataFileError::TooFewSamples {
                path: self.path.clone(),
                rows: self.rows(),
                needed,
                what: what.to_string(),
            });
        }
        Ok(())
    }

    /// Errors at the first value (in row order) for which `admits` is false; `expected`
    /// describes the admitted values, e.g. "an rbm needs binary data (0 or 1)".
    pub fn check_support(
        &self,
        admits: impl Fn(f64) -> bool,
        expected: &str,
    ) -> Result<(), DataFileError> {
        let cols = self.cols();
        match self.samples.as_slice().iter().position(|&v| !admits(v)) {
            Some(i) => Err(DataFileError::OutsideSupport {
                path: self.path.clone(),
                location: self.location(i / cols, i % cols),
                value: self.samples.as_slice()[i],
                expected: expected.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// The data as row-major `f32` (exact for binary and small integer data), the layout
    /// of the RBM routines.
    pub fn to_f32(&self) -> Vec<f32> {
        self.samples.as_slice().iter().map(|&v| v as f32).collect()
    }

    /// Validates row-major `values` through [`Samples::new`] and attaches the origin;
    /// validation errors are turned into file locations.
    fn new(
        path: &Path,
        values: Vec<f64>,
        cols: usize,
        origin: Origin,
    ) -> Result<DataFile, DataFileError> {
        match Samples::new(values, cols) {
            Ok(samples) => Ok(DataFile {
                path: path.to_path_buf(),
                samples,
                origin,
            }),
            Err(DataError::NonFinite { row, col, value }) => Err(DataFileError::NonFinite {
                path: path.to_path_buf(),
                location: origin.location(row, col),
                value,
            }),
            Err(e) => Err(DataFileError::Empty {
                path: path.to_path_buf(),
                detail: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> DataFile {
        csv::parse(Path::new("d.csv"), text.as_bytes()).unwrap()
    }

    #[test]
    fn model_checks_name_the_file_and_place() {
        let f = csv("a,b\n\n1,0\n0,0.5\n");
        assert_eq!((f.rows(), f.cols(), f.path()), (2, 2, Path::new("d.csv")));
        let e = f
            .check_support(|v| v == 0.0 || v == 1.0, "binary data only")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "d.csv: line 4, column 2 is 0.5; binary data only"
        );
        assert!(f.check_support(|v| v >= 0.0, "non-negative").is_ok());
        let e = f.check_width(3, "gaussian_mixture").unwrap_err();
        assert_eq!(
            e.to_string(),
            "d.csv: the data have 2 columns, the gaussian_mixture model has 3 features"
        );
        assert!(f.check_width(2, "x").is_ok());
        let e = f.require_rows(3, "a mixture of 3 components").unwrap_err();
        assert_eq!(
            e.to_string(),
            "d.csv: 2 samples; a mixture of 3 components needs at least 3"
        );
        assert!(f.require_rows(2, "x").is_ok());
        assert_eq!(f.to_f32(), [1.0, 0.0, 0.0, 0.5]);
    }

    #[test]
    fn reading_dispatches_on_the_extension_and_names_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let upper = dir.path().join("x.CSV");
        std::fs::write(&upper, "1,2\n").unwrap();
        assert_eq!(DataFile::read(&upper).unwrap().cols(), 2);
        for name in ["x.txt", "x", "x.npz"] {
            let path = dir.path().join(name);
            std::fs::write(&path, "1,2\n").unwrap();
            assert!(
                matches!(
                    DataFile::read(&path),
                    Err(DataFileError::UnknownFormat { .. })
                ),
                "{name}"
            );
        }
        let missing = dir.path().join("missing.npy");
        let e = DataFile::read(&missing).unwrap_err();
        assert!(matches!(e, DataFileError::Io { .. }));
        assert!(e.to_string().contains("missing.npy"), "{e}");
    }
}
