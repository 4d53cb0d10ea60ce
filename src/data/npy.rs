//! NumPy `.npy` arrays (see the [module docs](super) for the accepted forms).

use super::{DataFile, DataFileError, Origin};
use npyz::{DType, NpyFile, NpyHeader, Order, TypeChar};
use std::path::Path;

/// The values of an array in storage order, or the storage index and text of the first
/// integer that `f64` cannot hold exactly.
type Converted = Result<Vec<f64>, (usize, String)>;

/// Integers widened through `i128`, which holds every `i64` and `u64`, so that the
/// round trip through `f64` detects any rounding.
fn integers<T>(file: NpyFile<&[u8]>) -> std::io::Result<Converted>
where
    T: npyz::Deserialize + Copy + Into<i128> + std::fmt::Display,
{
    let raw = file.into_vec::<T>()?;
    let mut out = Vec::with_capacity(raw.len());
    for (index, &v) in raw.iter().enumerate() {
        let wide: i128 = v.into();
        let x = wide as f64;
        if x as i128 != wide {
            return Ok(Err((index, v.to_string())));
        }
        out.push(x);
    }
    Ok(Ok(out))
}

/// The text of the header's shape tuple if the product of its non-zero dimensions
/// overflows `u64`; `None` otherwise, or if the header cannot be read (npyz reports that).
///
/// npyz multiplies the dimensions unchecked, which panics in debug builds and wraps in
/// release builds, so a damaged or hostile header is caught here first.
fn shape_overflowing_u64(bytes: &[u8]) -> Option<String> {
    let (start, len) = header_span(bytes)?;
    let header = String::from_utf8_lossy(bytes.get(start..start.checked_add(len)?)?);
    let after = &header[header.find("shape")?..];
    // The closing parenthesis is looked for after the opening one: a damaged header may
    // have a `)` first.
    let open = after.find('(')? + 1;
    let tuple = &after[open..open + after[open..].find(')')?];
    let mut product: u64 = 1;
    for dim in tuple.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let dim: u64 = dim.parse().ok()?;
        if dim != 0 {
            match product.checked_mul(dim) {
                Some(p) => product = p,
                None => return Some(tuple.trim().to_string()),
            }
        }
    }
    None
}

/// Where the header text starts and how long the preamble says it is.
fn header_span(bytes: &[u8]) -> Option<(usize, usize)> {
    let version = *bytes.get(6)?;
    Some(match version {
        1 => (
            10,
            u16::from_le_bytes([*bytes.get(8)?, *bytes.get(9)?]) as usize,
        ),
        _ => (
            12,
            u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?) as usize,
        ),
    })
}

/// An `.npy` file whose header was read and whose data is exactly as long as the header
/// says, so reading it allocates no more than the file holds.
pub(crate) struct CheckedNpy<'a> {
    /// The header.
    pub header: NpyHeader,
    /// The data bytes.
    pub data: &'a [u8],
    /// Number of elements.
    pub count: u64,
}

/// Reads the header of the `.npy` bytes and checks the data length against it. The error
/// says what was expected and what was found: a file too short for its preamble or header,
/// a shape whose size overflows, or data shorter or longer than the shape needs.
pub(crate) fn check_npy(bytes: &[u8]) -> Result<CheckedNpy<'_>, String> {
    check_preamble(bytes)?;
    if let Some(shape) = shape_overflowing_u64(bytes) {
        return Err(format!("shape ({shape}) is too large"));
    }
    let mut data: &[u8] = bytes;
    let header = NpyHeader::from_reader(&mut data).map_err(|e| format!("bad header: {e}"))?;
    let shape = header.shape().to_vec();
    let item = match header.dtype() {
        DType::Plain(t) => t.size_field(),
        other => {
            return Err(format!(
                "dtype {} is not a plain number type",
                other.descr()
            ));
        }
    };
    check_data_length(&shape, item, &header.dtype().descr(), data.len())?;
    let count = shape.iter().product();
    Ok(CheckedNpy {
        header,
        data,
        count,
    })
}

/// Errors unless `data_len` bytes are exactly what `shape` of `item`-byte `descr` needs.
fn check_data_length(shape: &[u64], item: u64, descr: &str, data_len: usize) -> Result<(), String> {
    let needed = shape
        .iter()
        .try_fold(item, |a, &d| a.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} is too large"))?;
    let held = data_len as u64;
    match needed.cmp(&held) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Greater => Err(format!(
            "truncated data: shape {shape:?} of {descr} needs {needed} bytes, the file holds {held}"
        )),
        std::cmp::Ordering::Less => Err(format!(
            "shape {shape:?} of {descr} needs {needed} bytes, the file holds {held} (extra data)"
        )),
    }
}

/// Errors unless the file is long enough for its preamble and the header it announces.
fn check_preamble(bytes: &[u8]) -> Result<(), String> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if bytes.len() < 10 || !bytes.starts_with(MAGIC) {
        return Err(if bytes.starts_with(MAGIC) || MAGIC.starts_with(bytes) {
            format!(
                "truncated: {} bytes, shorter than the 10-byte .npy preamble",
                bytes.len()
            )
        } else {
            "not a .npy file (no \\x93NUMPY magic string)".to_string()
        });
    }
    if let Some((start, len)) = header_span(bytes)
        && start.saturating_add(len) > bytes.len()
    {
        return Err(format!(
            "truncated header: the preamble announces {} bytes of header, the file holds {}",
            len,
            bytes.len().saturating_sub(start)
        ));
    }
    Ok(())
}

/// Parses the bytes of the `.npy` file `path`.
pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<DataFile, DataFileError> {
    let bad = |reason: String| DataFileError::BadNpy {
        path: path.to_path_buf(),
        reason,
    };
    check_preamble(bytes).map_err(bad)?;
    if let Some(shape) = shape_overflowing_u64(bytes) {
        return Err(bad(format!("shape ({shape}) is too large")));
    }
    let mut data: &[u8] = bytes;
    let header = NpyHeader::from_reader(&mut data).map_err(|e| bad(e.to_string()))?;
    let shape = header.shape().to_vec();
    let (rows, cols, origin) = match shape[..] {
        [n] => (n, 1, Origin::Vector),
        [n, d] => (n, d, Origin::Matrix),
        _ => {
            return Err(DataFileError::UnsupportedShape {
                path: path.to_path_buf(),
                shape,
            });
        }
    };
    let dtype = header.dtype();
    let unsupported = || DataFileError::UnsupportedDtype {
        path: path.to_path_buf(),
        descr: dtype.descr(),
    };
    let DType::Plain(type_str) = &dtype else {
        return Err(unsupported());
    };
    let (kind, size) = (type_str.type_char(), type_str.size_field());
    let known = matches!(
        (kind, size),
        (TypeChar::Float, 4 | 8)
            | (TypeChar::Int | TypeChar::Uint, 1 | 2 | 4 | 8)
            | (TypeChar::Bool, 1)
    );
    if !known {
        return Err(unsupported());
    }
    // Check the length before reading: a damaged header could announce more elements than
    // memory holds, and the reader would try to allocate them.
    let count = rows.checked_mul(cols);
    let needed = count.and_then(|c| c.checked_mul(size));
    match needed {
        Some(n) if n == data.len() as u64 => {}
        Some(n) => {
            return Err(bad(format!(
                "the header announces {n} bytes of data (shape {shape:?}), the file holds {}",
                data.len()
            )));
        }
        None => return Err(bad(format!("shape {shape:?} is too large"))),
    }
    if count == Some(0) {
        return Err(DataFileError::Empty {
            path: path.to_path_buf(),
            detail: format!("an array of shape {shape:?}"),
        });
    }
    let order = header.order();
    let file = NpyFile::with_header(header, data);
    let converted = match (kind, size) {
        (TypeChar::Float, 4) => file
            .into_vec::<f32>()
            .map(|v| Ok(v.into_iter().map(f64::from).collect())),
        (TypeChar::Float, _) => file.into_vec::<f64>().map(Ok),
        (TypeChar::Bool, _) => file
            .into_vec::<bool>()
            .map(|v| Ok(v.into_iter().map(|b| f64::from(u8::from(b))).collect())),
        (TypeChar::Int, 1) => integers::<i8>(file),
        (TypeChar::Int, 2) => integers::<i16>(file),
        (TypeChar::Int, 4) => integers::<i32>(file),
        (TypeChar::Int, _) => integers::<i64>(file),
        (TypeChar::Uint, 1) => integers::<u8>(file),
        (TypeChar::Uint, 2) => integers::<u16>(file),
        (TypeChar::Uint, 4) => integers::<u32>(file),
        (_, _) => integers::<u64>(file),
    }
    .map_err(|e| bad(e.to_string()))?;
    // The shape fits in memory (its bytes were read), so these conversions are exact.
    let (rows, cols) = (rows as usize, cols as usize);
    let fortran = order == Order::Fortran && cols > 1;
    let storage_to_row_col = |p: usize| {
        if fortran {
            (p % rows, p / rows)
        } else {
            (p / cols, p % cols)
        }
    };
    let stored = converted.map_err(|(p, value)| {
        let (row, col) = storage_to_row_col(p);
        DataFileError::Inexact {
            path: path.to_path_buf(),
            location: origin.location(row, col),
            value,
        }
    })?;
    let values = if fortran {
        (0..rows * cols)
            .map(|i| stored[(i % cols) * rows + i / cols])
            .collect()
    } else {
        stored
    };
    DataFile::new(path, values, cols, origin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Location;
    use npyz::WriterBuilder;

    /// An `.npy` file of `values` (in storage order) with dtype `descr` and `shape`.
    fn npy<T: npyz::Serialize + Copy>(
        descr: &str,
        shape: &[u64],
        order: Order,
        values: &[T],
    ) -> Vec<u8> {
        let mut bytes = Vec::new();
        let dtype = DType::Plain(descr.parse().unwrap());
        let mut w = npyz::WriteOptions::new()
            .dtype(dtype)
            .shape(shape)
            .order(order)
            .writer(&mut bytes)
            .begin_nd()
            .unwrap();
        w.extend(values.iter().copied()).unwrap();
        w.finish().unwrap();
        bytes
    }

    fn read(bytes: &[u8]) -> Result<DataFile, DataFileError> {
        parse(Path::new("x.npy"), bytes)
    }

    fn rows(file: &DataFile) -> Vec<Vec<f64>> {
        file.samples().iter_rows().map(<[f64]>::to_vec).collect()
    }

    const EXPECTED: [[f64; 3]; 2] = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];

    #[test]
    fn floats_of_both_widths_and_byte_orders_in_c_and_fortran_order() {
        let c = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let f = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
        for descr in ["<f8", ">f8"] {
            let file = read(&npy::<f64>(descr, &[2, 3], Order::C, &c)).unwrap();
            assert_eq!(rows(&file), EXPECTED, "{descr}");
            let file = read(&npy::<f64>(descr, &[2, 3], Order::Fortran, &f)).unwrap();
            assert_eq!(rows(&file), EXPECTED, "{descr} fortran");
        }
        for descr in ["<f4", ">f4"] {
            let c32: Vec<f32> = c.iter().map(|&v| v as f32).collect();
            let file = read(&npy::<f32>(descr, &[2, 3], Order::C, &c32)).unwrap();
            assert_eq!(rows(&file), EXPECTED, "{descr}");
        }
        // f32 values widen exactly.
        let file = read(&npy::<f32>("<f4", &[1, 1], Order::C, &[0.1])).unwrap();
        assert_eq!(file.samples().as_slice(), &[f64::from(0.1f32)]);
    }

    #[test]
    fn integers_and_booleans_are_read_as_numbers() {
        let c = [1, 2, 3, 4, 5, 6];
        macro_rules! check {
            ($t:ty, $($descr:literal),*) => {$(
                let v: Vec<$t> = c.iter().map(|&x| x as $t).collect();
                let file = read(&npy::<$t>($descr, &[2, 3], Order::C, &v)).unwrap();
                assert_eq!(rows(&file), EXPECTED, $descr);
            )*};
        }
        check!(i8, "|i1");
        check!(i16, "<i2", ">i2");
        check!(i32, "<i4");
        check!(i64, "<i8", ">i8");
        check!(u8, "|u1");
        check!(u16, "<u2");
        check!(u32, ">u4");
        check!(u64, "<u8");
        let file = read(&npy::<i16>("<i2", &[1, 2], Order::C, &[-300, 7])).unwrap();
        assert_eq!(file.samples().as_slice(), &[-300.0, 7.0]);
        let b = read(&npy::<bool>(
            "|b1",
            &[2, 2],
            Order::Fortran,
            &[true, false, false, true],
        ))
        .unwrap();
        assert_eq!(rows(&b), [[1.0, 0.0], [0.0, 1.0]]);
    }

    #[test]
    fn a_vector_is_one_feature_and_locations_follow_numpy_indexing() {
        let file = read(&npy::<f64>("<f8", &[3], Order::C, &[1.0, 2.0, 3.0])).unwrap();
        assert_eq!((file.rows(), file.cols()), (3, 1));
        assert_eq!(file.location(2, 0).to_string(), "element [2]");
        let e = read(&npy::<f64>("<f8", &[3], Order::C, &[1.0, f64::NAN, 3.0])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.npy: element [1] is NaN; data must be finite"
        );
    }

    #[test]
    fn non_finite_values_name_their_element_in_either_order() {
        let c = [1.0, 2.0, 3.0, 4.0, f64::INFINITY, 6.0];
        let e = read(&npy::<f64>("<f8", &[2, 3], Order::C, &c)).unwrap_err();
        assert!(
            matches!(
                e,
                DataFileError::NonFinite {
                    location: Location::Matrix { row: 1, column: 1 },
                    ..
                }
            ),
            "{e}"
        );
        // Stored column by column, element [0, 2] is the fifth value.
        let f = [1.0, 4.0, 2.0, 5.0, f64::NAN, 6.0];
        let e = read(&npy::<f64>("<f8", &[2, 3], Order::Fortran, &f)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.npy: element [0, 2] is NaN; data must be finite"
        );
    }

    #[test]
    fn integers_beyond_f64_precision_are_refused() {
        let big = (1i64 << 53) + 1;
        let e = read(&npy::<i64>("<i8", &[2, 2], Order::Fortran, &[0, big, 0, 0])).unwrap_err();
        assert!(
            matches!(&e, DataFileError::Inexact { location: Location::Matrix { row: 1, column: 0 }, value, .. }
                if *value == big.to_string()),
            "{e}"
        );
        assert!(matches!(
            read(&npy::<u64>("<u8", &[1], Order::C, &[u64::MAX])),
            Err(DataFileError::Inexact { .. })
        ));
        // Large but exactly representable integers are fine.
        let file = read(&npy::<i64>("<i8", &[1], Order::C, &[1 << 60])).unwrap();
        assert_eq!(file.samples().as_slice(), &[(1u64 << 60) as f64]);
    }

    #[test]
    fn other_dtypes_and_shapes_are_typed_errors() {
        let e = read(&npy::<f64>("<f8", &[1, 2, 2], Order::C, &[0.0; 4])).unwrap_err();
        assert!(matches!(&e, DataFileError::UnsupportedShape { shape, .. } if shape == &[1, 2, 2]));
        let e = read(&npy::<f64>("<f8", &[], Order::C, &[1.0])).unwrap_err();
        assert!(matches!(e, DataFileError::UnsupportedShape { .. }), "{e}");
        let e = read(&npy::<i64>("<m8[s]", &[2], Order::C, &[1, 2])).unwrap_err();
        assert!(
            matches!(&e, DataFileError::UnsupportedDtype { descr, .. } if descr.contains("m8")),
            "{e}"
        );
        // float16 and complex arrays (npyz writes neither without features).
        for descr in ["<f2", "<c16"] {
            let e = read(&raw(descr, "(1,)", &[0; 16])).unwrap_err();
            assert!(
                matches!(&e, DataFileError::UnsupportedDtype { descr: d, .. } if d.contains(descr)),
                "{e}"
            );
        }
        let e = read(&raw("[('a', '<f8')]", "(1,)", &[0; 8])).unwrap_err();
        assert!(matches!(e, DataFileError::UnsupportedDtype { .. }), "{e}");
    }

    /// A version-1 `.npy` file written by hand: header dict with `descr` (a quoted type
    /// string or a record list) and `shape`, then `data`.
    fn raw(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let descr = if descr.starts_with('[') {
            descr.to_string()
        } else {
            format!("'{descr}'")
        };
        let mut dict = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + dict.len() + 1) % 64 != 0 {
            dict.push(' ');
        }
        dict.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        bytes.extend_from_slice(dict.as_bytes());
        bytes.extend_from_slice(data);
        bytes
    }

    #[test]
    fn empty_truncated_padded_and_garbage_files_are_errors() {
        assert!(matches!(
            read(&npy::<f64>("<f8", &[0, 3], Order::C, &[])),
            Err(DataFileError::Empty { .. })
        ));
        let good = npy::<f64>("<f8", &[2, 3], Order::C, &[0.0; 6]);
        let e = read(&good[..good.len() - 1]).unwrap_err();
        assert!(matches!(e, DataFileError::BadNpy { .. }), "{e}");
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(read(&long), Err(DataFileError::BadNpy { .. })));
        assert!(matches!(
            read(b"1,2,3\n"),
            Err(DataFileError::BadNpy { .. })
        ));
        assert!(matches!(
            read(&good[..20]),
            Err(DataFileError::BadNpy { .. })
        ));
        // The hand-written header itself is well formed…
        assert_eq!(read(&raw("<f8", "(2, 3)", &[0; 48])).unwrap().rows(), 2);
        // …and one announcing an absurd shape is refused before any allocation.
        for shape in [
            "(1099511627776, 1048576)",
            "(4294967296, 4294967296)",
            "(4294967296, 4294967296, 0)",
        ] {
            let e = read(&raw("<f8", shape, &[0; 48])).unwrap_err();
            assert!(matches!(e, DataFileError::BadNpy { .. }), "{e}");
        }
    }
}
