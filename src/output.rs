//! Output files: samples as NumPy `.npy` (via npyz) and statistics as JSON (via serde_json).
//!
//! Every file is written to a temporary file in the destination directory and renamed into
//! place once complete, so a reader never sees a partial file and a failed run leaves any
//! previous file untouched.

use blockgibbs_models::io::temp_file_beside;
use serde::Serialize;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Largest `.npy` output written (bytes of data): 4 GiB.
pub const MAX_NPY_BYTES: u64 = 4 << 30;

/// A failure to write an output file.
#[derive(Debug, Error)]
pub enum OutputError {
    /// Creating, writing or renaming the file failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The destination.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The output would be larger than [`MAX_NPY_BYTES`].
    #[error(
        "{}: {bytes} bytes of samples (shape {shape:?}) exceed the limit of {limit} bytes; \
         record fewer samples, chains or nodes (see [output] nodes)",
        path.display()
    )]
    TooLarge {
        /// The destination.
        path: PathBuf,
        /// Shape `[samples, chains, nodes]`.
        shape: Vec<u64>,
        /// Bytes the data would take.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// JSON serialisation failed.
    #[error("cannot serialise {}: {source}", path.display())]
    Json {
        /// The destination.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}

/// Checks that an f32 array of `shape` fits under [`MAX_NPY_BYTES`].
pub fn check_npy_size(path: &Path, shape: &[u64]) -> Result<(), OutputError> {
    check_npy_bytes(path, shape, 4)
}

/// Checks that an array of `shape` with `item_bytes` per element fits under
/// [`MAX_NPY_BYTES`].
fn check_npy_bytes(path: &Path, shape: &[u64], item_bytes: u64) -> Result<(), OutputError> {
    let bytes = shape
        .iter()
        .try_fold(item_bytes, |acc, &d| acc.checked_mul(d))
        .unwrap_or(u64::MAX);
    if bytes > MAX_NPY_BYTES {
        return Err(OutputError::TooLarge {
            path: path.to_path_buf(),
            shape: shape.to_vec(),
            bytes,
            limit: MAX_NPY_BYTES,
        });
    }
    Ok(())
}

/// Writes row-major f32 `data` of `shape` as a C-ordered `.npy` file, atomically.
pub fn write_npy_f32(path: &Path, shape: &[u64], data: &[f32]) -> Result<(), OutputError> {
    write_npy(path, shape, data)
}

/// Writes row-major f64 `data` of `shape` as a C-ordered `.npy` file (`<f8`), atomically.
pub fn write_npy_f64(path: &Path, shape: &[u64], data: &[f64]) -> Result<(), OutputError> {
    write_npy(path, shape, data)
}

/// Writes row-major i64 `data` of `shape` as a C-ordered `.npy` file (`<i8`, NumPy's
/// default integer), atomically.
pub fn write_npy_i64(path: &Path, shape: &[u64], data: &[i64]) -> Result<(), OutputError> {
    write_npy(path, shape, data)
}

/// Writes `data` with the element type's default dtype (little-endian), atomically.
fn write_npy<T: npyz::AutoSerialize + Copy>(
    path: &Path,
    shape: &[u64],
    data: &[T],
) -> Result<(), OutputError> {
    use npyz::WriterBuilder;
    check_npy_bytes(path, shape, std::mem::size_of::<T>() as u64)?;
    let expected: u64 = shape.iter().product();
    if expected != data.len() as u64 {
        return Err(OutputError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} values do not fill shape {shape:?}", data.len()),
            ),
        });
    }
    write_atomic(path, |w| {
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(w)
            .begin_nd()?;
        writer.extend(data.iter().copied())?;
        writer.finish()
    })
}

/// Writes `value` as pretty-printed JSON, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), OutputError> {
    let text = serde_json::to_vec_pretty(value).map_err(|source| OutputError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    write_atomic(path, |w| {
        w.write_all(&text)?;
        w.write_all(b"\n")
    })
}

/// Writes through `fill` into a temporary file next to `path`, then renames it to `path`.
/// A `path` that is a symbolic link, FIFO or device is refused, and the temporary file is
/// removed on error and on SIGINT/SIGTERM (see [`blockgibbs_runtime::atomic_file`]).
/// The file gets the permissions `File::create` would give it (`0o666` less the umask), or
/// keeps those of the file it replaces (see [`temp_file_beside`]).
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<&mut std::fs::File>) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    let io = |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Created with the permissions of a plain `File::create` (or those of the file being
    // replaced) rather than tempfile's private 0600, so outputs are readable as usual.
    let mut tmp = temp_file_beside(path, ".tmp").map_err(io)?;
    {
        let mut w = BufWriter::new(tmp.as_file_mut());
        fill(&mut w).map_err(io)?;
        w.flush().map_err(io)?;
    }
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trips_and_refuses_huge_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        let data: Vec<f32> = (0..24).map(|i| i as f32 * 0.5).collect();
        write_npy_f32(&path, &[2, 3, 4], &data).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(npy.shape(), &[2, 3, 4]);
        assert_eq!(npy.into_vec::<f32>().unwrap(), data);
        assert!(matches!(
            write_npy_f32(&path, &[1 << 20, 1 << 10, 1 << 10], &[]),
            Err(OutputError::TooLarge { .. })
        ));
        // The earlier file is untouched and no temporary file is left behind.
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn f64_and_i64_arrays_round_trip_with_numpy_dtypes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.npy");
        let data = [0.1, -2.5e-300, 7.0, f64::MAX, 1.0, 2.0];
        write_npy_f64(&path, &[3, 2], &data).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(npy.dtype().descr(), "'<f8'");
        assert_eq!(npy.shape(), &[3, 2]);
        assert_eq!(npy.into_vec::<f64>().unwrap(), data);
        let path = dir.path().join("l.npy");
        write_npy_i64(&path, &[4], &[0, 3, -1, i64::MAX]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(npy.dtype().descr(), "'<i8'");
        assert_eq!(npy.into_vec::<i64>().unwrap(), [0, 3, -1, i64::MAX]);
        // Size checks count 8 bytes per element: 2^29 f64 values are 4 GiB, one more is over.
        assert!(check_npy_bytes(&path, &[1 << 29], 8).is_ok());
        assert!(matches!(
            write_npy_f64(&path, &[(1 << 29) + 1], &[]),
            Err(OutputError::TooLarge { .. })
        ));
        assert!(matches!(
            write_npy_i64(&path, &[3], &[1]),
            Err(OutputError::Io { .. })
        ));
    }

    #[test]
    fn json_is_written_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        write_json(&path, &serde_json::json!({"a": 1})).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["a"], 1);
        let missing = dir.path().join("no/such/dir/s.json");
        assert!(matches!(
            write_json(&missing, &1),
            Err(OutputError::Io { .. })
        ));
    }

    /// Mode bits of `path`.
    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[cfg(unix)]
    #[test]
    fn outputs_get_create_permissions_and_replacements_keep_theirs() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // What `File::create` gives under this process's umask, whatever it is.
        let probe = dir.path().join("probe");
        std::fs::File::create(&probe).unwrap();
        let create_mode = mode(&probe);
        std::fs::remove_file(&probe).unwrap();
        let path = dir.path().join("s.json");
        write_json(&path, &1).unwrap();
        assert_eq!(mode(&path), create_mode);
        // An unusual mode on the file being replaced survives the rewrite.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o604)).unwrap();
        write_npy_f32(&path, &[1], &[2.0]).unwrap();
        assert_eq!(mode(&path), 0o604);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
