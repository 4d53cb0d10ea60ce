//! Choosing the kernels that run a program: the Cranelift JIT where the machine supports it,
//! the portable reference backend elsewhere (and whenever asked for).

use blockgibbs_compiler::{Backend, ReferenceBackend};
use blockgibbs_ir::{Model, Program};
use blockgibbs_jit::JitBackend;
use blockgibbs_runtime::{RuntimeError, Sampler, SamplerOptions};
use std::sync::Arc;

/// A backend by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    /// Portable Rust, the executable specification.
    Reference,
    /// One Cranelift-compiled SIMD kernel per block; bit-identical to `reference`.
    Jit,
}

/// The backend used when none is asked for: the JIT if this machine can run it.
pub fn default_backend() -> BackendChoice {
    if blockgibbs_jit::is_supported() {
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

/// Builds the chosen backend (or the default) for `program`. A JIT that cannot be built
/// (unsupported machine, or a Cranelift failure) falls back to the reference backend, and
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

/// Compiles `model` and returns a sampler on the chosen backend (default: the best one),
/// with the fallback note if the JIT could not be used.
pub fn sampler(
    model: Arc<Model>,
    options: SamplerOptions,
    choice: Option<BackendChoice>,
) -> Result<(Sampler, Option<String>), RuntimeError> {
    let (_, program) = blockgibbs_compiler::compile(&model)?;
    let selection = make_backend(choice, Arc::new(program));
    Ok((
        Sampler::new(model, selection.backend, options)?,
        selection.fallback,
    ))
}

/// A sampler factory for the models crate's trainers (`SamplingOptions::factory`,
/// `MachineGradientEstimator::with_factory`, `fit_deep_with_factory`, …) that compiles each
/// model for the chosen backend (default: the best one). Where the JIT cannot be built the
/// samplers silently run on the reference backend, which gives the same results bit for bit.
pub fn sampler_factory(choice: Option<BackendChoice>) -> Arc<blockgibbs_models::SamplerFactory> {
    Arc::new(move |model, options| sampler(model, options, choice).map(|(s, _)| s))
}
