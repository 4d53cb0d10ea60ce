//! Choosing the kernels that run a program. The choice itself is the runtime's
//! [`blockgibbs_runtime::BackendChoice`] (re-exported in the prelude), taken by
//! [`blockgibbs_runtime::Sampler::builder`] and by every options struct of the models crate;
//! this module holds what the command line adds on top of it.

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
