//! Comma-separated numbers (see the [module docs](super) for the accepted forms).

use super::{DataFile, DataFileError, Location, Origin};
use std::path::Path;

/// A line's fields, comment removed and each field trimmed; `None` for a line with no
/// content.
fn fields(raw: &str) -> Option<Vec<&str>> {
    let content = raw.split('#').next().unwrap_or("").trim();
    (!content.is_empty()).then(|| content.split(',').map(str::trim).collect())
}

/// Whether a field reads as a number (NaN and infinities included: they are numbers in the
/// wrong place, reported as non-finite values rather than mistaken for a header).
fn is_number(field: &str) -> bool {
    field.parse::<f64>().is_ok()
}

/// Whether `field` is several numbers joined by another separator (`;`, tabs, spaces), as
/// in a file written with the wrong delimiter.
fn wrong_separator(field: &str) -> bool {
    let mut tokens = field
        .split(|c: char| c == ';' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .peekable();
    tokens.peek().is_some() && tokens.clone().count() > 1 && tokens.all(is_number)
}

/// A guess at why `text` is not a number.
fn hint(text: &str) -> &'static str {
    if wrong_separator(text) {
        " (fields must be separated by commas)"
    } else if text.starts_with('"') || text.starts_with('\'') {
        " (numbers must not be quoted)"
    } else {
        ""
    }
}

/// Parses the bytes of the CSV file `path`.
pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<DataFile, DataFileError> {
    let text = std::str::from_utf8(bytes).map_err(|e| DataFileError::NotUtf8 {
        path: path.to_path_buf(),
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut values = Vec::new();
    let mut lines = Vec::new();
    // (field count, line) of the header or first data row, which every row must match.
    let mut reference: Option<(usize, usize)> = None;
    let mut header_line = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let Some(fields) = fields(raw) else {
            continue;
        };
        match reference {
            None => {
                reference = Some((fields.len(), line));
                // A header has no number, not even numbers joined by another separator.
                if !fields.iter().any(|f| is_number(f) || wrong_separator(f)) {
                    header_line = Some(line);
                    continue;
                }
            }
            Some((expected, reference_line)) if fields.len() != expected => {
                return Err(DataFileError::Ragged {
                    path: path.to_path_buf(),
                    line,
                    found: fields.len(),
                    expected,
                    reference_line,
                });
            }
            Some(_) => {}
        }
        for (k, field) in fields.iter().enumerate() {
            let location = Location::Csv {
                line,
                column: k + 1,
            };
            if field.is_empty() {
                return Err(DataFileError::EmptyField {
                    path: path.to_path_buf(),
                    location,
                });
            }
            let value = field
                .parse::<f64>()
                .map_err(|_| DataFileError::NotANumber {
                    path: path.to_path_buf(),
                    location,
                    text: (*field).to_string(),
                    hint: hint(field),
                })?;
            values.push(value);
        }
        lines.push(line);
    }
    let Some((cols, _)) = reference.filter(|_| !lines.is_empty()) else {
        let detail = match header_line {
            Some(line) => format!("only a header, on line {line}"),
            None => "no rows of numbers".to_string(),
        };
        return Err(DataFileError::Empty {
            path: path.to_path_buf(),
            detail,
        });
    };
    DataFile::new(path, values, cols, Origin::Csv { lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<DataFile, DataFileError> {
        parse(Path::new("d.csv"), text.as_bytes())
    }

    fn rows(file: &DataFile) -> Vec<Vec<f64>> {
        file.samples().iter_rows().map(<[f64]>::to_vec).collect()
    }

    #[test]
    fn plain_rows_with_and_without_trailing_newline() {
        for text in ["1,2\n3,4", "1,2\n3,4\n", "1,2\n3,4\n\n\n", "1,2\r\n3,4\r\n"] {
            let f = read(text).unwrap();
            assert_eq!(rows(&f), [[1.0, 2.0], [3.0, 4.0]], "{text:?}");
            assert_eq!(f.location(1, 0), Location::Csv { line: 2, column: 1 });
        }
    }

    #[test]
    fn numbers_in_every_spelling_rust_and_numpy_share() {
        let f = read(" -1.5e3 , +.25,7.\n0,1E-2,-0\n").unwrap();
        assert_eq!(rows(&f), [[-1500.0, 0.25, 7.0], [0.0, 0.01, -0.0]]);
    }

    #[test]
    fn header_comments_blank_lines_and_bom_are_skipped_and_lines_still_count() {
        let text =
            "\u{feff}# digits, binarised\n\nx,\"y\",z  # names\n1,0,1\n\n# gap\n0,1,1 # note\n";
        let f = read(text).unwrap();
        assert_eq!(rows(&f), [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]);
        assert_eq!(f.location(0, 2), Location::Csv { line: 4, column: 3 });
        assert_eq!(f.location(1, 0), Location::Csv { line: 7, column: 1 });
    }

    #[test]
    fn a_first_line_with_any_number_is_data_not_header() {
        let e = read("1,x,3\n4,5,6\n").unwrap_err();
        assert!(
            matches!(
                &e,
                DataFileError::NotANumber { location: Location::Csv { line: 1, column: 2 }, text, .. }
                    if text == "x"
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "d.csv: line 1, column 2: `x` is not a number"
        );
    }

    #[test]
    fn ragged_rows_name_both_lines() {
        let e = read("a,b,c\n1,2,3\n4,5\n").unwrap_err();
        assert!(matches!(
            e,
            DataFileError::Ragged {
                line: 3,
                found: 2,
                expected: 3,
                reference_line: 1,
                ..
            }
        ));
        let e = read("1,2\n\n3,4,5\n").unwrap_err();
        assert_eq!(e.to_string(), "d.csv: line 3 has 3 fields, line 1 has 2");
        // A header wider than the data is ragged too.
        assert!(matches!(
            read("a,b,c\n1,2\n").unwrap_err(),
            DataFileError::Ragged { line: 2, .. }
        ));
    }

    #[test]
    fn non_numeric_fields_name_line_and_column_with_a_hint() {
        let e = read("1,2\n3,four\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "d.csv: line 2, column 2: `four` is not a number"
        );
        for text in ["1;2\n3;4\n", "1 2\n3 4\n", "1\t2\n", "x,y\n1;2,3\n"] {
            let e = read(text).unwrap_err();
            assert!(
                e.to_string().contains("separated by commas"),
                "{text:?}: {e}"
            );
        }
        // A header with spaces in its names is still a header.
        let f = read("first name,last name\n1,2\n").unwrap();
        assert_eq!(rows(&f), [[1.0, 2.0]]);
        let e = read("1,2\n\"3\",4\n").unwrap_err();
        assert!(e.to_string().contains("quoted"), "{e}");
    }

    #[test]
    fn empty_fields_are_errors() {
        for (text, line, column) in [("1,,3\n", 1, 2), ("1,2\n3,\n", 2, 2), ("1,2\n,4\n", 2, 1)] {
            let e = read(text).unwrap_err();
            assert!(
                matches!(e, DataFileError::EmptyField { location: Location::Csv { line: l, column: c }, .. }
                    if l == line && c == column),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn nan_and_infinities_name_their_place() {
        for (text, line, column) in [
            ("1,2\n3,nan\n", 2, 2),
            ("inf,2\n", 1, 1),
            ("h1,h2\n1,2\n3,4\n5,-Infinity\n", 4, 2),
            ("1,2\n3,NaN\n", 2, 2),
        ] {
            let e = read(text).unwrap_err();
            assert!(
                matches!(e, DataFileError::NonFinite { location: Location::Csv { line: l, column: c }, .. }
                    if l == line && c == column),
                "{text:?}: {e}"
            );
        }
        assert_eq!(
            read("1,2\n3,nan\n").unwrap_err().to_string(),
            "d.csv: line 2, column 2 is NaN; data must be finite"
        );
    }

    #[test]
    fn empty_files_and_header_only_files_are_errors() {
        for text in ["", "\n\n", "# nothing\n", "\u{feff}"] {
            assert!(
                matches!(read(text), Err(DataFileError::Empty { .. })),
                "{text:?}"
            );
        }
        let e = read("x,y\n\n").unwrap_err();
        assert_eq!(e.to_string(), "d.csv: no data (only a header, on line 1)");
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let e = parse(Path::new("d.csv"), b"1,2\n3,4\n5,\xff\n").unwrap_err();
        assert!(matches!(e, DataFileError::NotUtf8 { line: 3, .. }), "{e}");
    }
}
