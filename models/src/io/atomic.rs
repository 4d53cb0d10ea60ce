//! Atomic file writes whose result has the permissions of an ordinary `File::create`
//! (see [`temp_file_beside`]).

use std::io::Write;
use std::path::Path;

pub use blockgibbs_runtime::atomic_file::TempFile;

use super::ModelIoError;

/// A temporary file beside `path` (see [`blockgibbs_runtime::atomic_file`]: named
/// `.blockgibbs-<pid>-…{suffix}`, registered so that the CLI removes it on a signal, refused
/// when `path` is a link, FIFO or device) that ends up with the permissions
/// [`File::create`](std::fs::File::create) would give `path`, or those of the regular file
/// already at `path`. Persist it over `path` with [`TempFile::persist`]; dropping it deletes
/// it. Used by [`write_atomic`] and by writers that stream into the file, such as image
/// encoders given [`TempFile::path`] (hence `suffix`: they pick the format by extension).
pub fn temp_file_beside(path: &Path, suffix: &str) -> std::io::Result<TempFile> {
    blockgibbs_runtime::atomic_file::temp_file_beside(path, suffix)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory is written,
/// flushed to disk and renamed over `path`. On any error the temporary file is removed and
/// `path` is untouched. The file gets the permissions of a `File::create` (or keeps those of
/// the file it replaces; see [`temp_file_beside`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ModelIoError> {
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| ModelIoError::Io { path: p, source }
    };
    let mut tmp = temp_file_beside(path, ".tmp").map_err(io_err(path))?;
    let tmp_path = tmp.path().to_path_buf();
    tmp.as_file_mut()
        .write_all(bytes)
        .map_err(io_err(&tmp_path))?;
    tmp.as_file().sync_all().map_err(io_err(&tmp_path))?;
    // On failure the temporary file is removed.
    tmp.persist(path).map_err(io_err(path))?;
    Ok(())
}

/// The whole file at `path`.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, ModelIoError> {
    std::fs::read(path).map_err(|source| ModelIoError::Io {
        path: path.to_path_buf(),
        source,
    })
}
