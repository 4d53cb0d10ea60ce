//! What the end-to-end CLI tests share: the example files and running the built binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The path of `examples/<name>` in this repository.
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

/// Runs the `blockgibbs` binary with `args` and collects its output.
pub fn blockgibbs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_blockgibbs"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// The run's standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The run's standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
