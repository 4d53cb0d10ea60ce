//! Atomic file writes whose result has the permissions of an ordinary `File::create`
//! (see [`temp_file_beside`]).

use std::io::Write;
use std::path::Path;

use tempfile::NamedTempFile;

use super::ModelIoError;

/// A temporary file in the directory of `path`, named `{prefix}…{suffix}`, that ends up with
/// the permissions [`File::create`](std::fs::File::create) would give `path`, or those of the
/// regular file already at `path`. Persist it over `path` with [`NamedTempFile::persist`];
/// dropping it deletes it. Used by [`write_atomic`] and by writers that stream into the file,
/// such as image encoders given `NamedTempFile::path`.
///
/// `tempfile` creates its
/// files private (mode 0600), which would leave every saved model and output unreadable to
/// other users; here the temporary file is instead created with mode `0o666`, which `open(2)`
/// reduces by the process umask exactly as it does for `File::create`. Passing the mode to
/// `open` rather than reading the umask and calling `chmod` afterwards needs no `libc` (the
/// umask can only be read by setting it, which races with other threads) and also lets
/// default ACLs of the directory apply as they would to a normal file.
///
/// When the target already exists as a regular file, its permission bits (user, group and
/// other `rwx`; not setuid, setgid or sticky) are copied to the temporary file before the
/// rename, so replacing a file keeps its mode. Its owner and group are not kept: the new file
/// belongs to the writing process, as with any rename-based save. On non-unix platforms the
/// platform defaults apply.
pub fn temp_file_beside(path: &Path, prefix: &str, suffix: &str) -> std::io::Result<NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix).suffix(suffix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let tmp = builder.tempfile_in(parent_dir(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // `metadata` follows a symbolic link: the rename replaces the link by a regular file,
        // which takes the mode of the file the link pointed at.
        if let Ok(meta) = std::fs::metadata(path)
            && meta.is_file()
        {
            let mode = meta.permissions().mode() & 0o777;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
    }
    Ok(tmp)
}

/// The directory a file at `path` lives in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
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
    let prefix = match path.file_name() {
        Some(name) => format!(".{}.", name.to_string_lossy()),
        None => ".model.".to_string(),
    };
    let mut tmp = temp_file_beside(path, &prefix, ".tmp").map_err(io_err(parent_dir(path)))?;
    tmp.write_all(bytes).map_err(io_err(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io_err(tmp.path()))?;
    // On failure the returned `PersistError` owns the temporary file; dropping it deletes it.
    tmp.persist(path).map_err(|e| ModelIoError::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

/// The whole file at `path`.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, ModelIoError> {
    std::fs::read(path).map_err(|source| ModelIoError::Io {
        path: path.to_path_buf(),
        source,
    })
}
