//! Checks on output paths made before any work: an output never replaces an input file (by
//! the same name, another spelling of it, a symbolic link or a hard link), two outputs never
//! share a file, and the directory an output goes to exists.

use super::options::UsageError;
use crate::output::OutputError;
use std::path::{Path, PathBuf};

/// Whether `a` and `b` are the same existing file, however they are spelled or linked: on
/// unix the same device and inode (after following symbolic links), elsewhere the same
/// canonical path. A path that does not exist is no existing file.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (a.canonicalize(), b.canonicalize()) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}

/// The path with its parent directory made canonical, for comparing outputs that do not
/// exist yet (`./m.st` and `m.st` are one file); the path itself if the parent is missing.
fn normalised(path: &Path) -> PathBuf {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match (parent.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// One output of a command: the option (or file name) that names it and its path.
pub(crate) struct Output<'a> {
    /// The option, e.g. `--out`, or the file written, e.g. `log_prob.npy`.
    pub label: String,
    /// The path.
    pub path: &'a Path,
}

/// Refuses outputs that would replace an input or each other, and outputs whose directory
/// does not exist or which name a directory. `inputs` pairs each input's role (e.g. "data
/// file") with its path.
pub(crate) fn check_outputs(
    outputs: &[Output<'_>],
    inputs: &[(&str, &Path)],
) -> Result<(), super::CliError> {
    for (i, out) in outputs.iter().enumerate() {
        for &(role, input) in inputs {
            if same_file(out.path, input) || normalised(out.path) == normalised(input) {
                return Err(UsageError::OutputIsInput {
                    option: out.label.clone(),
                    output: out.path.to_path_buf(),
                    role: role.to_string(),
                    input: input.to_path_buf(),
                }
                .into());
            }
        }
        for other in &outputs[..i] {
            if same_file(out.path, other.path) || normalised(out.path) == normalised(other.path) {
                return Err(UsageError::SameOutput {
                    first: other.label.clone(),
                    second: out.label.clone(),
                    path: out.path.to_path_buf(),
                }
                .into());
            }
        }
        check_destination(out.path)?;
    }
    Ok(())
}

/// Errors unless `path` could be written: its directory exists and it is absent or a
/// regular file — not a directory, symbolic link, FIFO or device
/// ([`blockgibbs_runtime::atomic_file::check_target`], which the writer checks again).
pub(crate) fn check_destination(path: &Path) -> Result<(), OutputError> {
    let io = |kind: std::io::ErrorKind, what: &str| OutputError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(kind, what.to_string()),
    };
    blockgibbs_runtime::atomic_file::check_target(path).map_err(|source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if path.is_dir() {
        return Err(io(std::io::ErrorKind::IsADirectory, "is a directory"));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(io(
            std::io::ErrorKind::NotFound,
            "its directory does not exist",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::CliError;

    fn refused(outputs: &[Output<'_>], inputs: &[(&'static str, &Path)]) -> bool {
        matches!(
            check_outputs(outputs, inputs),
            Err(CliError::Usage(e)) if matches!(*e, UsageError::OutputIsInput { .. } | UsageError::SameOutput { .. })
        )
    }

    #[test]
    fn inputs_are_recognised_under_any_name() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("d.csv");
        std::fs::write(&data, "1\n").unwrap();
        fn out(p: &Path) -> Output<'_> {
            Output {
                label: "--out".into(),
                path: p,
            }
        }
        let inputs = [("data file", data.as_path())];
        assert!(refused(&[out(&data)], &inputs));
        let dotted = dir.path().join(".").join("d.csv");
        assert!(refused(&[out(&dotted)], &inputs));
        #[cfg(unix)]
        {
            let link = dir.path().join("link.csv");
            std::os::unix::fs::symlink(&data, &link).unwrap();
            assert!(refused(&[out(&link)], &inputs));
            let hard = dir.path().join("hard.csv");
            std::fs::hard_link(&data, &hard).unwrap();
            assert!(refused(&[out(&hard)], &inputs));
        }
        let fresh = dir.path().join("m.safetensors");
        assert!(check_outputs(&[out(&fresh)], &inputs).is_ok());
        // Two outputs naming one file that does not exist yet.
        let twice = [
            out(&fresh),
            Output {
                label: "--json".into(),
                path: &dir.path().join(".").join("m.safetensors"),
            },
        ];
        assert!(refused(&twice, &inputs));
    }

    #[test]
    fn missing_directories_and_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_destination(&dir.path().join("no/such/m.st")).is_err());
        assert!(check_destination(dir.path()).is_err());
        assert!(check_destination(&dir.path().join("m.st")).is_ok());
        assert!(check_destination(Path::new("m.st")).is_ok());
    }
}
