//! Backend selection: the one place that decides which kernels run.

use blockgibbs_compiler::{Backend, ReferenceBackend};
use blockgibbs_ir::Program;
use clap::ValueEnum;
use std::sync::Arc;

/// A backend named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// Portable Rust, the executable specification.
    Reference,
    /// Cranelift-compiled kernels (not available yet: falls back to `reference`).
    Jit,
}

/// The backend used when none is asked for.
pub fn default_backend() -> BackendChoice {
    BackendChoice::Reference
}

/// Builds the chosen backend (or the default) for `program`. A backend that is not
/// available falls back to the reference backend with a note on stderr.
pub fn make_backend(choice: Option<BackendChoice>, program: Arc<Program>) -> Arc<dyn Backend> {
    match choice.unwrap_or_else(default_backend) {
        BackendChoice::Reference => Arc::new(ReferenceBackend::new(program)),
        BackendChoice::Jit => {
            eprintln!("note: the jit backend is not implemented yet; using the reference backend");
            Arc::new(ReferenceBackend::new(program))
        }
    }
}
