//! Saved files get the permissions of a plain `File::create` (not tempfile's private 0600),
//! and a replaced file keeps its own.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use blockgibbs_models::io::{ModelIo, temp_file_beside, write_atomic};
use blockgibbs_models::rbm::BinaryRbm;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// What `File::create` gives a new file in `dir` under this process's umask, whatever it is.
fn create_mode(dir: &Path) -> u32 {
    let probe = dir.join("probe");
    std::fs::File::create(&probe).unwrap();
    let m = mode(&probe);
    std::fs::remove_file(&probe).unwrap();
    m
}

#[test]
fn new_files_get_the_permissions_of_file_create() {
    let dir = tempfile::tempdir().unwrap();
    let expected = create_mode(dir.path());
    let path = dir.path().join("data.bin");
    write_atomic(&path, b"abc").unwrap();
    assert_eq!(mode(&path), expected);
    let model = dir.path().join("rbm.safetensors");
    BinaryRbm::random(3, 2, 0.5, 0.1, 0)
        .unwrap()
        .save(&model)
        .unwrap();
    assert_eq!(mode(&model), expected);
    // The temporary file has them from creation on, before any content is written.
    let target = dir.path().join("image.png");
    let tmp = temp_file_beside(&target, ".png").unwrap();
    assert_eq!(mode(tmp.path()), expected);
}

#[test]
fn replaced_files_keep_their_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.bin");
    for kept in [0o604, 0o600, 0o755] {
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(kept)).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(mode(&path), kept, "{kept:o}");
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }
    // setuid, setgid and sticky bits are not carried over.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o6644)).unwrap();
    write_atomic(&path, b"again").unwrap();
    assert_eq!(mode(&path), 0o644);
    // Only the target and no temporary file remain.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_symlink_target_is_refused_and_both_link_and_file_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.bin");
    std::fs::write(&real, b"old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.bin");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let e = write_atomic(&link, b"new").unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");
    // Neither written through nor replaced, and no temporary file left.
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(mode(&real), 0o640);
    assert_eq!(std::fs::read(&real).unwrap(), b"old");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}
