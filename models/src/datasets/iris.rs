//! Fisher's iris data (150 flowers × 4 measurements, 3 species), shipped as
//! `models/data/iris/iris.csv` (the copy scikit-learn ships; CC BY 4.0, see the README
//! beside it) and compiled into the library.

use thiserror::Error;

/// Number of flowers in [`iris`].
pub const IRIS_ROWS: usize = 150;

/// Measurements per flower: sepal length, sepal width, petal length, petal width (cm).
pub const IRIS_FEATURES: usize = 4;

/// The species, in label order.
pub const IRIS_CLASSES: [&str; 3] = ["setosa", "versicolor", "virginica"];

const IRIS_CSV: &[u8] = include_bytes!("../../data/iris/iris.csv");

/// What can be wrong with an iris CSV. Lines and columns are 1-based, as an editor shows
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IrisError {
    /// The bytes are not UTF-8.
    #[error("the iris file is not UTF-8 text (byte {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The header line is not `rows,4,setosa,versicolor,virginica`.
    #[error("the iris header `{found}` is not `<rows>,4,setosa,versicolor,virginica`")]
    Header {
        /// The first line.
        found: String,
    },
    /// A line with the wrong number of fields.
    #[error("line {line} has {found} fields, expected 5 (four measurements and a label)")]
    FieldCount {
        /// The line at fault.
        line: usize,
        /// Fields on it.
        found: usize,
    },
    /// A measurement that is not a finite number.
    #[error("line {line}, column {column}: `{text}` is not a finite number")]
    NotANumber {
        /// The line at fault.
        line: usize,
        /// The field at fault.
        column: usize,
        /// Its text.
        text: String,
    },
    /// A label other than 0, 1, 2.
    #[error("line {line}: label `{text}` is not 0, 1 or 2")]
    BadLabel {
        /// The line at fault.
        line: usize,
        /// Its text.
        text: String,
    },
    /// A row count that disagrees with the header.
    #[error("the header announces {announced} rows, the file has {found}")]
    RowCount {
        /// Rows in the header.
        announced: usize,
        /// Rows found.
        found: usize,
    },
}

/// Iris measurements and species.
#[derive(Debug, Clone, PartialEq)]
pub struct Iris {
    /// `n × 4` row-major: sepal length, sepal width, petal length, petal width (cm).
    pub features: Vec<f64>,
    /// Species `0..=2` of each flower (see [`IRIS_CLASSES`]).
    pub labels: Vec<u8>,
}

impl Iris {
    /// Number of flowers.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no flowers (never the case for [`iris`]).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Parses scikit-learn's iris CSV: a header `rows,4,setosa,versicolor,virginica`, then per
/// line four measurements and a label (blank lines are ignored).
pub fn parse_iris_csv(bytes: &[u8]) -> Result<Iris, IrisError> {
    let text = std::str::from_utf8(bytes).map_err(|e| IrisError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let header = lines.next().map_or("", |(_, l)| l.trim());
    let fields: Vec<&str> = header.split(',').map(str::trim).collect();
    let announced = match fields.as_slice() {
        [rows, "4", "setosa", "versicolor", "virginica"] => rows.parse::<usize>().ok(),
        _ => None,
    }
    .ok_or_else(|| IrisError::Header {
        found: header.to_string(),
    })?;
    let mut iris = Iris {
        features: Vec::with_capacity(announced * IRIS_FEATURES),
        labels: Vec::with_capacity(announced),
    };
    for (index, raw) in lines {
        let line = index + 1;
        let fields: Vec<&str> = raw.trim().split(',').map(str::trim).collect();
        if fields.len() != IRIS_FEATURES + 1 {
            return Err(IrisError::FieldCount {
                line,
                found: fields.len(),
            });
        }
        for (k, field) in fields[..IRIS_FEATURES].iter().enumerate() {
            let value = field
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| IrisError::NotANumber {
                    line,
                    column: k + 1,
                    text: field.to_string(),
                })?;
            iris.features.push(value);
        }
        let label = match fields[IRIS_FEATURES] {
            "0" => 0,
            "1" => 1,
            "2" => 2,
            other => {
                return Err(IrisError::BadLabel {
                    line,
                    text: other.to_string(),
                });
            }
        };
        iris.labels.push(label);
    }
    if iris.len() != announced {
        return Err(IrisError::RowCount {
            announced,
            found: iris.len(),
        });
    }
    Ok(iris)
}

/// The 150 iris flowers shipped with the crate.
///
/// ```
/// use blockgibbs_models::datasets::{IRIS_FEATURES, IRIS_ROWS, iris};
/// let data = iris().unwrap();
/// assert_eq!(data.features.len(), IRIS_ROWS * IRIS_FEATURES);
/// assert_eq!(&data.features[..4], &[5.1, 3.5, 1.4, 0.2]);
/// assert_eq!(data.labels.iter().filter(|&&l| l == 2).count(), 50);
/// ```
pub fn iris() -> Result<Iris, IrisError> {
    parse_iris_csv(IRIS_CSV)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_file_matches_the_documented_statistics() {
        let data = iris().unwrap();
        assert_eq!(data.len(), IRIS_ROWS);
        // scikit-learn's DESCR: feature means 5.84, 3.05 (3.057), 3.76, 1.20 and min/max.
        let features = &data.features;
        let col = |j: usize| (0..IRIS_ROWS).map(move |i| features[i * 4 + j]);
        let mean = |j| col(j).sum::<f64>() / IRIS_ROWS as f64;
        for (j, want) in [5.843, 3.057, 3.758, 1.199].into_iter().enumerate() {
            assert!((mean(j) - want).abs() < 1e-3, "feature {j}: {}", mean(j));
        }
        let min = |j| col(j).fold(f64::INFINITY, f64::min);
        let max = |j| col(j).fold(f64::NEG_INFINITY, f64::max);
        assert_eq!((min(0), max(0), min(3), max(3)), (4.3, 7.9, 0.1, 2.5));
        for c in 0..3 {
            assert_eq!(data.labels.iter().filter(|&&l| l == c).count(), 50);
        }
    }

    #[test]
    fn malformed_files_name_the_line() {
        let head = "2,4,setosa,versicolor,virginica\n";
        let ok = format!("{head}1,2,3,4,0\n5,6,7,8,2\n");
        assert_eq!(parse_iris_csv(ok.as_bytes()).unwrap().labels, vec![0, 2]);
        assert!(matches!(
            parse_iris_csv(format!("{head}1,2,3,0\n").as_bytes()),
            Err(IrisError::FieldCount { line: 2, found: 4 })
        ));
        assert!(matches!(
            parse_iris_csv(format!("{head}1,2,x,4,0\n").as_bytes()),
            Err(IrisError::NotANumber {
                line: 2,
                column: 3,
                ..
            })
        ));
        assert!(matches!(
            parse_iris_csv(format!("{head}1,2,3,4,0\n1,2,3,NaN,1\n").as_bytes()),
            Err(IrisError::NotANumber {
                line: 3,
                column: 4,
                ..
            })
        ));
        assert!(matches!(
            parse_iris_csv(format!("{head}1,2,3,4,3\n").as_bytes()),
            Err(IrisError::BadLabel { line: 2, .. })
        ));
        assert!(matches!(
            parse_iris_csv(format!("{head}1,2,3,4,1\n").as_bytes()),
            Err(IrisError::RowCount {
                announced: 2,
                found: 1
            })
        ));
        assert!(matches!(
            parse_iris_csv(b"1,2,3,4,0\n"),
            Err(IrisError::Header { .. })
        ));
        assert!(matches!(
            parse_iris_csv(&[b'1', 0xff]),
            Err(IrisError::NotUtf8 { offset: 1 })
        ));
    }
}
