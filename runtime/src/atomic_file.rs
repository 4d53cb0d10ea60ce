//! Atomic output files that never destroy what they should not: the one writer behind
//! checkpoints, saved models and the CLI's outputs.
//!
//! - **Only regular files are replaced.** An output path that is a symbolic link, a FIFO, a
//!   device or a socket is refused ([`check_target`]): renaming over it would replace the
//!   node itself (a link, or `/dev/null` when run as root), and writing through it would send
//!   the output where the path does not say.
//! - **Temporary files are found and removed.** Each is named `.blockgibbs-<pid>-<random>…`
//!   beside its destination and registered while it lives; dropping it removes it, and
//!   [`remove_temp_files`] removes every live one (the CLI calls it on SIGINT/SIGTERM before
//!   exiting). Temporary files left by a process that was killed outright are removed by the
//!   next write to the same directory ([`remove_stale_temp_files`]) — only those whose pid is
//!   not a live process, so a concurrent run's files are never touched.
//! - **Permissions are those of `File::create`** (0o666 less the umask, passed to `open` so
//!   default ACLs apply), or those of the regular file being replaced.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tempfile::NamedTempFile;

/// Prefix of every temporary file; the pid and a random part follow.
pub const TEMP_PREFIX: &str = ".blockgibbs-";

/// Temporary files alive in this process.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A panic while holding the lock leaves a plain list behind; it is still usable.
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A temporary file beside its destination, registered while it lives. Persist it with
/// [`TempFile::persist`]; dropping it removes it.
#[derive(Debug)]
pub struct TempFile {
    file: Option<NamedTempFile>,
    path: PathBuf,
}

impl TempFile {
    /// The open file.
    pub fn as_file(&self) -> &std::fs::File {
        self.inner().as_file()
    }

    /// The open file, for writing.
    pub fn as_file_mut(&mut self) -> &mut std::fs::File {
        self.file
            .as_mut()
            .expect("present until persisted")
            .as_file_mut()
    }

    /// Where the temporary file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn inner(&self) -> &NamedTempFile {
        self.file.as_ref().expect("present until persisted")
    }

    /// Renames the file over `path`, after checking again that `path` is a regular file or
    /// absent (it may have changed since the file was made). On error the temporary file is
    /// removed and `path` is untouched.
    pub fn persist(mut self, path: &Path) -> std::io::Result<()> {
        check_target(path)?;
        let file = self.file.take().expect("present until persisted");
        let result = file.persist(path).map(|_| ()).map_err(|e| e.error);
        unregister(&self.path);
        result
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            // NamedTempFile's own drop has removed the file.
            unregister(&self.path);
        }
    }
}

fn unregister(path: &Path) {
    let mut live = live();
    if let Some(i) = live.iter().position(|p| p == path) {
        live.swap_remove(i);
    }
}

/// Errors unless `path` is absent or a regular file (checked without following a symbolic
/// link): outputs never replace or write through a link, a FIFO, a device or a socket.
pub fn check_target(path: &Path) -> std::io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let t = meta.file_type();
    if t.is_file() {
        return Ok(());
    }
    let what = if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else {
        special_kind(&t)
    };
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "{} is {what}; outputs go only to regular files or new paths",
            path.display()
        ),
    ))
}

#[cfg(unix)]
fn special_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device file"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "not a regular file"
}

/// The directory a file at `path` lives in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A registered temporary file beside `path` named `.blockgibbs-<pid>-<random><suffix>`,
/// after refusing a `path` that is not a regular file or absent ([`check_target`]) and
/// removing stale temporary files of dead processes from the directory.
pub fn temp_file_beside(path: &Path, suffix: &str) -> std::io::Result<TempFile> {
    check_target(path)?;
    let dir = parent_dir(path);
    remove_stale_temp_files(dir);
    let prefix = format!("{TEMP_PREFIX}{}-", std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(suffix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    // Registered under the lock it is made under, so a signal handler thread that removes
    // every live file cannot miss one being created.
    let mut live = live();
    let tmp = builder.tempfile_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::symlink_metadata(path)
            && meta.is_file()
        {
            let mode = meta.permissions().mode() & 0o777;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
    }
    let tmp_path = tmp.path().to_path_buf();
    live.push(tmp_path.clone());
    Ok(TempFile {
        file: Some(tmp),
        path: tmp_path,
    })
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk and renames it over
/// `path` (see the module docs for what is refused).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp = temp_file_beside(path, ".tmp")?;
    tmp.as_file_mut().write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
}

/// Removes every temporary file this process has alive (for a process about to exit on a
/// signal; the files' handles stay open, which does not matter then).
pub fn remove_temp_files() {
    for path in live().drain(..) {
        let _ = std::fs::remove_file(path);
    }
}

/// Removes `.blockgibbs-<pid>-…` regular files in `dir` whose pid is no live process (seen
/// through `/proc`; where there is no `/proc`, nothing is removed).
pub fn remove_stale_temp_files(dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_file_pid) else {
            continue;
        };
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The pid in a temporary file name `.blockgibbs-<pid>-<rest>`.
fn temp_file_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    let (pid, tail) = rest.split_once('-')?;
    if tail.is_empty() {
        return None;
    }
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_regular_files_and_leave_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(live().iter().all(|p| !p.starts_with(dir.path())));
    }

    #[cfg(unix)]
    #[test]
    fn links_and_fifos_are_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, b"keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = write_atomic(&link, b"x").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let e = write_atomic(&fifo, b"x").unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[test]
    fn stale_files_of_dead_processes_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        // Pid 2^22 + 1 is above Linux's pid_max limit, so never alive.
        let dead = dir.path().join(".blockgibbs-4194305-abc.tmp");
        let mine = dir
            .path()
            .join(format!(".blockgibbs-{}-abc.tmp", std::process::id()));
        let other = dir.path().join(".blockgibbs-notes.txt");
        for p in [&dead, &mine, &other] {
            std::fs::write(p, b"x").unwrap();
        }
        remove_stale_temp_files(dir.path());
        assert_eq!(!dead.exists(), Path::new("/proc/self").exists());
        assert!(mine.exists() && other.exists());
        assert_eq!(temp_file_pid(".blockgibbs-12-x.tmp"), Some(12));
        assert_eq!(temp_file_pid(".blockgibbs-12-"), None);
    }

    #[test]
    fn dropped_temporaries_are_gone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let tmp = temp_file_beside(&path, ".tmp").unwrap();
        let tmp_path = tmp.path().to_path_buf();
        assert!(tmp_path.exists());
        drop(tmp);
        assert!(!tmp_path.exists());
        assert!(!live().contains(&tmp_path));
    }
}
