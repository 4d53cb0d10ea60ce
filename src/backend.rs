//! Choosing the kernels that run a program. The choice itself is the runtime's
//! [`blockgibbs_runtime::BackendChoice`] (re-exported in the prelude), taken by
//! [`blockgibbs_runtime::Sampler::builder`] and by every options struct of the models crate;
//! this module holds what the command line adds on top of it.

use blockgibbs_compiler::{Backend, ReferenceBackend};
use blockgibbs_ir::Program;
use blockgibbs_jit::JitBackend;
use std::sync::Arc;

/// The runtime's backend choice (`auto`, `reference`, `jit`).
pub use blockgibbs_runtime::BackendChoice as EngineChoice;

/// A backend by name on the command line (`--backend reference|jit`); it wraps
/// [`EngineChoice`], into which it converts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    /// Portable Rust, the executable specification.
    Reference,
    /// One Cranelift-compiled SIMD kernel per block; bit-identical to `reference`.
    Jit,
}

impl From<BackendChoice> for EngineChoice {
    fn from(choice: BackendChoice) -> EngineChoice {
        match choice {
            BackendChoice::Reference => EngineChoice::Reference,
            BackendChoice::Jit => EngineChoice::Jit,
        }
    }
}

/// The backend used when none is asked for: the JIT if this machine can run it.
pub fn default_backend() -> BackendChoice {
    if blockgibbs_runtime::jit_supported() {
        BackendChoice::Jit
    } else {
        BackendChoice::Reference
    }
}

/// A backend ready to run, and why it is not the one asked for (if it is not).
pub struct BackendSelection {
    /// The backend.
    pub backend: Arc<dyn Backend>,
    /// Set when the JIT was asked for (or defaulted to) but could not be used, saying why;
    /// the reference backend runs instead.
    pub fallback: Option<String>,
}

/// Builds the chosen backend (or the default) for `program`, for the command line's samplers
/// until they are made with [`blockgibbs_runtime::Sampler::builder`] like every other one. A
/// JIT that cannot be built falls back to the reference backend, and
/// [`BackendSelection::fallback`] says so.
pub fn make_backend(choice: Option<BackendChoice>, program: Arc<Program>) -> BackendSelection {
    match choice.unwrap_or_else(default_backend) {
        BackendChoice::Reference => BackendSelection {
            backend: Arc::new(ReferenceBackend::new(program)),
            fallback: None,
        },
        BackendChoice::Jit => match JitBackend::new(program.clone()) {
            Ok(jit) => BackendSelection {
                backend: Arc::new(jit),
                fallback: None,
            },
            Err(e) => BackendSelection {
                backend: Arc::new(ReferenceBackend::new(program)),
                fallback: Some(format!("{e}; using the reference backend")),
            },
        },
    }
}
