//! Small real data sets shipped inside the repository, for examples and tests that need more
//! than synthetic bits.
//!
//! - [`digits`]: the UCI *Optical Recognition of Handwritten Digits* test set (Alpaydin &
//!   Kaynak, 1998; CC BY 4.0): 1,797 images of 8×8 pixels with values `0..=16`, and their
//!   labels. [`digits_binary`] thresholds the pixels at [`DIGITS_THRESHOLD`] for binary RBMs.
//! - [`iris()`]: Fisher's iris data (150 × 4 measurements, three species; CC BY 4.0); see
//!   [`mod@iris`] (file `models/data/iris/iris.csv`).
//!
//! The file (`models/data/digits/digits.csv`, see `models/data/digits/README.md` for provenance, licence and
//! citation) is compiled into the library with `include_bytes!`, so loading works from any
//! working directory and needs no file system.

use thiserror::Error;

pub mod iris;
pub use iris::{IRIS_CLASSES, IRIS_FEATURES, IRIS_ROWS, Iris, IrisError, iris};

/// Number of images in [`digits`].
pub const DIGITS_ROWS: usize = 1797;

/// Pixels per image (8 × 8, row-major, top row first).
pub const DIGITS_PIXELS: usize = 64;

/// Side of a digit image in pixels.
pub const DIGITS_SIDE: usize = 8;

/// Largest pixel value (the count of "on" pixels in a 4×4 block of the original bitmap).
pub const DIGITS_MAX_VALUE: u8 = 16;

/// A pixel becomes 1 in [`digits_binary`] when its value is at least this (half the range).
pub const DIGITS_THRESHOLD: u8 = 8;

/// The raw CSV: 65 integers per line, 64 pixels then the label.
const DIGITS_CSV: &[u8] = include_bytes!("../data/digits/digits.csv");

/// What can be wrong with a digits CSV. Lines and columns are 1-based, as an editor shows
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DatasetError {
    /// The bytes are not UTF-8.
    #[error("the digits file is not UTF-8 text (byte {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// A line with the wrong number of comma-separated fields.
    #[error("line {line} has {found} fields, expected {expected} (64 pixels and a label)")]
    FieldCount {
        /// The line at fault.
        line: usize,
        /// Fields on it.
        found: usize,
        /// Fields required.
        expected: usize,
    },
    /// A field that is not a non-negative integer.
    #[error("line {line}, column {column}: `{text}` is not a non-negative integer")]
    NotAnInteger {
        /// The line at fault.
        line: usize,
        /// The field at fault.
        column: usize,
        /// Its text.
        text: String,
    },
    /// A pixel above [`DIGITS_MAX_VALUE`] or a label above 9.
    #[error("line {line}, column {column} ({field}) is {value}, the largest allowed is {max}")]
    OutOfRange {
        /// The line at fault.
        line: usize,
        /// The field at fault.
        column: usize,
        /// `"pixel"` or `"label"`.
        field: &'static str,
        /// The value found.
        value: u32,
        /// The largest allowed value.
        max: u32,
    },
    /// A file with no images.
    #[error("the digits file holds no images")]
    Empty,
}

/// Handwritten digit images and their labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digits {
    /// Pixel values `0..=16`, `n × 64` row-major (image `r`, row `y`, column `x` at
    /// `r * 64 + y * 8 + x`).
    pub pixels: Vec<u8>,
    /// Class label `0..=9` of each image.
    pub labels: Vec<u8>,
}

impl Digits {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images (never the case for [`digits`]).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels as `f32` data for a binary RBM: `1.0` where the value is `≥ threshold`,
    /// else `0.0`; `n × 64` row-major.
    pub fn binarised(&self, threshold: u8) -> Vec<f32> {
        self.pixels
            .iter()
            .map(|&p| if p >= threshold { 1.0 } else { 0.0 })
            .collect()
    }
}

/// Parses a digits CSV (no header; per line 64 pixels in `0..=16` then a label in `0..=9`;
/// blank lines are ignored).
pub fn parse_digits_csv(bytes: &[u8]) -> Result<Digits, DatasetError> {
    let text = std::str::from_utf8(bytes).map_err(|e| DatasetError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let expected = DIGITS_PIXELS + 1;
    let mut digits = Digits {
        pixels: Vec::with_capacity(DIGITS_ROWS * DIGITS_PIXELS),
        labels: Vec::with_capacity(DIGITS_ROWS),
    };
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = raw.trim();
        if content.is_empty() {
            continue;
        }
        let found = content.split(',').count();
        if found != expected {
            return Err(DatasetError::FieldCount {
                line,
                found,
                expected,
            });
        }
        for (k, field) in content.split(',').enumerate() {
            let column = k + 1;
            let field = field.trim();
            let value: u32 = field.parse().map_err(|_| DatasetError::NotAnInteger {
                line,
                column,
                text: field.to_string(),
            })?;
            let (name, max) = if k < DIGITS_PIXELS {
                ("pixel", DIGITS_MAX_VALUE as u32)
            } else {
                ("label", 9)
            };
            if value > max {
                return Err(DatasetError::OutOfRange {
                    line,
                    column,
                    field: name,
                    value,
                    max,
                });
            }
            if k < DIGITS_PIXELS {
                digits.pixels.push(value as u8);
            } else {
                digits.labels.push(value as u8);
            }
        }
    }
    if digits.is_empty() {
        return Err(DatasetError::Empty);
    }
    Ok(digits)
}

/// The 1,797 UCI handwritten digits shipped with the crate (pixels `0..=16` and labels).
pub fn digits() -> Result<Digits, DatasetError> {
    parse_digits_csv(DIGITS_CSV)
}

/// The digits binarised at [`DIGITS_THRESHOLD`]: `1797 × 64` values in {0, 1}, row-major,
/// ready for [`crate::rbm::fit`].
///
/// ```
/// use blockgibbs_models::datasets::{DIGITS_PIXELS, DIGITS_ROWS, digits_binary};
/// let data = digits_binary().unwrap();
/// assert_eq!(data.len(), DIGITS_ROWS * DIGITS_PIXELS);
/// let on = data.iter().filter(|&&x| x == 1.0).count();
/// assert_eq!(on, 37_151); // 32.3% of the pixels
/// ```
pub fn digits_binary() -> Result<Vec<f32>, DatasetError> {
    Ok(digits()?.binarised(DIGITS_THRESHOLD))
}
