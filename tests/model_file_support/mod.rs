//! Helpers shared by the model-file tests.
#![allow(dead_code)]

use blockgibbs::model_file::{ModelFile, ModelFileError};
use blockgibbs::prelude::*;
use std::path::{Path, PathBuf};

/// The `examples/` directory.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Parses model-file text (relative files resolve against `examples/`).
pub fn parse(text: &str) -> Result<ModelFile, ModelFileError> {
    ModelFile::parse(text, "<test>", examples_dir(), &[])
}

/// [`parse`] with `--set` overrides.
pub fn parse_with(text: &str, sets: &[&str]) -> Result<ModelFile, ModelFileError> {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    ModelFile::parse(text, "<test>", examples_dir(), &sets)
}

/// Parses, builds and compiles; returns the first error.
pub fn check(text: &str) -> Result<(), ModelFileError> {
    parse(text)?.sampler(1).map(|_| ())
}

/// The model error that [`check`] must return.
pub fn model_error(text: &str) -> ModelError {
    match check(text) {
        Err(e) => e
            .model_error()
            .cloned()
            .unwrap_or_else(|| panic!("expected a model error, got {e:?}")),
        Ok(()) => panic!("expected an error"),
    }
}

/// The compile error that [`check`] must return.
pub fn compile_error(text: &str) -> CompileError {
    match check(text) {
        Err(e) => e
            .compile_error()
            .cloned()
            .unwrap_or_else(|| panic!("expected a compile error, got {e:?}")),
        Ok(()) => panic!("expected an error"),
    }
}

/// Three spins in a chain.
pub const SMALL_GRAPH: &str = r#"
[model]
family = "graph"
[[model.groups]]
name = "s"
kind = "spin"
size = 3
[[model.factors]]
name = "j"
products = [{ group = "s", index = [0, 1] }, { group = "s", index = [1, 2] }]
weights = [0.5, 0.5]
"#;

/// A graph with one group of each kind; `extra` is appended (more factors, blocks...).
pub fn graph(extra: &str) -> String {
    format!(
        r#"
[model]
family = "graph"
[[model.groups]]
name = "s"
kind = "spin"
size = 2
[[model.groups]]
name = "c"
kind = "categorical"
k = 3
size = 2
[[model.groups]]
name = "x"
kind = "gaussian"
size = 1
[[model.factors]]
name = "prec"
gaussian = [{{ group = "x", power = 2 }}]
weights = [-0.5]
{extra}
"#
    )
}
