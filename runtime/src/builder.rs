//! The one way to make a sampler: a builder that compiles the model (or checks a program
//! compiled earlier against it), builds the chosen backend and sets the chains up.

use crate::error::RuntimeError;
use crate::sampler::{Sampler, SamplerOptions};
use blockgibbs_compiler::{Backend, ReferenceBackend};
use blockgibbs_ir::memory::{chain_bytes, program_bytes};
use blockgibbs_ir::{MemoryLimit, Model, Program};
use std::sync::Arc;

/// Which kernels run a program.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BackendChoice {
    /// The JIT where this machine can run it, else the reference backend.
    #[default]
    Auto,
    /// Portable Rust, the executable specification.
    Reference,
    /// One Cranelift-compiled SIMD kernel per block; bit-identical to the reference. Where it
    /// cannot be built, the reference backend runs instead and [`Sampler::fallback`] says why.
    Jit,
}

impl BackendChoice {
    /// The name used on command lines and in files (`auto`, `reference`, `jit`).
    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Reference => "reference",
            BackendChoice::Jit => "jit",
        }
    }
}

impl std::str::FromStr for BackendChoice {
    type Err = RuntimeError;

    fn from_str(s: &str) -> Result<BackendChoice, RuntimeError> {
        match s {
            "auto" => Ok(BackendChoice::Auto),
            "reference" => Ok(BackendChoice::Reference),
            "jit" => Ok(BackendChoice::Jit),
            other => Err(RuntimeError::UnknownBackend(other.to_string())),
        }
    }
}

/// Sets a sampler up: backend, chains, threads, seed and β, then [`SamplerBuilder::build`].
///
/// ```
/// use blockgibbs_ir::{ModelBuilder, NodeKind};
/// use blockgibbs_runtime::{BackendChoice, Sampler};
/// use std::sync::Arc;
/// let mut b = ModelBuilder::new();
/// let s = b.group("s", NodeKind::Spin, 2).unwrap();
/// b.pair_coupling("j", &[s.node(0)], &[s.node(1)], &[0.5]);
/// let mut sampler = Sampler::builder(Arc::new(b.build().unwrap()))
///     .backend(BackendChoice::Reference)
///     .chains(4)
///     .seed(7)
///     .build()
///     .unwrap();
/// sampler.sweep(10).unwrap();
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct SamplerBuilder {
    model: Arc<Model>,
    program: Option<Arc<Program>>,
    backend: BackendChoice,
    options: SamplerOptions,
    max_memory: Option<u64>,
}

impl Sampler {
    /// Starts setting up a sampler of `model` (one chain, seed 0, β = 1, one thread per core,
    /// the best backend).
    pub fn builder(model: Arc<Model>) -> SamplerBuilder {
        SamplerBuilder {
            model,
            program: None,
            backend: BackendChoice::Auto,
            options: SamplerOptions::default(),
            max_memory: None,
        }
    }
}

impl SamplerBuilder {
    /// The backend.
    pub fn backend(mut self, backend: BackendChoice) -> Self {
        self.backend = backend;
        self
    }

    /// Number of independent chains (at least 1).
    pub fn chains(mut self, chains: usize) -> Self {
        self.options.chains = chains;
        self
    }

    /// Worker threads; 0 means one per core. More than [`max_threads`] is refused by
    /// [`SamplerBuilder::build`].
    pub fn threads(mut self, threads: usize) -> Self {
        self.options.threads = threads;
        self
    }

    /// Seed of all randomness (initial states and updates).
    pub fn seed(mut self, seed: u64) -> Self {
        self.options.seed = seed;
        self
    }

    /// Initial inverse temperature of every chain.
    pub fn beta(mut self, beta: f32) -> Self {
        self.options.beta = beta;
        self
    }

    /// Chains, seed, threads and β at once.
    pub fn options(mut self, options: SamplerOptions) -> Self {
        self.options = options;
        self
    }

    /// The most memory, in bytes, that the lowered program and the chains may take (default:
    /// the memory available when [`SamplerBuilder::build`] runs). They are estimated from
    /// the model's sizes and the chain count before anything is compiled or allocated, and
    /// a larger need is a [`RuntimeError::Memory`] naming what made it large.
    pub fn max_memory(mut self, bytes: u64) -> Self {
        self.max_memory = Some(bytes);
        self
    }

    /// A program compiled from this model earlier (to share one lowering between samplers);
    /// [`SamplerBuilder::build`] checks that it is the model's.
    pub fn program(mut self, program: Arc<Program>) -> Self {
        self.program = Some(program);
        self
    }

    /// Compiles the model (unless a program was given, which is then checked against it),
    /// builds the backend and the chains.
    pub fn build(self) -> Result<Sampler, RuntimeError> {
        check_threads(self.options.threads)?;
        self.check_memory()?;
        let program = match self.program {
            Some(p) => {
                check_program(&self.model, &p)?;
                p
            }
            None => Arc::new(blockgibbs_compiler::compile(&self.model)?.1),
        };
        let (backend, fallback) = make_backend(self.backend, program);
        Sampler::from_parts(self.model, backend, fallback, self.options)
    }
}

impl SamplerBuilder {
    /// Refuses a program and chains that would need more memory than the limit, before
    /// either exists: the program's tables are estimated from the model's factor sizes (unless
    /// a program was given), the chains from their count and the node count, and the live
    /// weights the sampler keeps beside the program are counted too.
    fn check_memory(&self) -> Result<(), RuntimeError> {
        if self.options.chains == 0 {
            return Ok(()); // refused as `NoChains` by the sampler itself
        }
        let limit = self
            .max_memory
            .map_or_else(MemoryLimit::available, MemoryLimit::bytes);
        let nodes = self.model.node_count() as u64;
        let sizes = self.model.factor_sizes();
        let weights: u64 = sizes.iter().map(|f| f.weights).sum();
        let program = match self.program {
            Some(_) => Some(0),
            None => program_bytes(nodes, &sizes),
        };
        let live_weights = weights.checked_mul(4);
        let chains = chain_bytes(self.options.chains as u64, nodes);
        let total = program
            .zip(live_weights)
            .and_then(|(p, w)| p.checked_add(w))
            .zip(chains)
            .and_then(|(pw, c)| pw.checked_add(c));
        // Name what dominates: the chains when they take more than the program.
        let what = if chains.is_none_or(|c| program.is_some_and(|p| c >= p)) {
            format!(
                "chains = {} ({} nodes each, with the program)",
                self.options.chains, nodes
            )
        } else {
            format!("the program lowered from the model ({nodes} nodes, {weights} weights)")
        };
        limit.check(what, total)?;
        Ok(())
    }
}

/// Most worker threads a sampler may run: four per core, and at least 1024. The work is
/// CPU-bound, so threads beyond the cores only add switching; the bound is there to turn a
/// mistyped count (65535) into an error instead of tens of thousands of stacks. It stays
/// generous (1024 on any machine up to 256 cores) so that no reasonable oversubscription
/// is refused.
pub fn max_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.saturating_mul(4).max(1024)
}

/// Refuses a thread count above [`max_threads`].
pub(crate) fn check_threads(threads: usize) -> Result<(), RuntimeError> {
    let max = max_threads();
    if threads > max {
        return Err(RuntimeError::TooManyThreads { threads, max });
    }
    Ok(())
}

/// Whether this machine runs the JIT (what [`BackendChoice::Auto`] picks).
pub fn jit_supported() -> bool {
    blockgibbs_jit::is_supported()
}

pub(crate) fn make_backend(
    choice: BackendChoice,
    program: Arc<Program>,
) -> (Arc<dyn Backend>, Option<String>) {
    let jit = match choice {
        BackendChoice::Reference => false,
        BackendChoice::Jit => true,
        BackendChoice::Auto => blockgibbs_jit::is_supported(),
    };
    if !jit {
        return (Arc::new(ReferenceBackend::new(program)), None);
    }
    match blockgibbs_jit::JitBackend::new(program.clone()) {
        Ok(jit) => (Arc::new(jit), None),
        Err(e) => (
            Arc::new(ReferenceBackend::new(program)),
            Some(format!("{e}; using the reference backend")),
        ),
    }
}

/// A program given to the builder must have been lowered from this model: same nodes and
/// kinds, same number of weights.
fn check_program(model: &Model, program: &Program) -> Result<(), RuntimeError> {
    let weights: usize = model.factors().iter().map(|f| f.weights.len()).sum();
    let kinds_match = program.slot_count() == model.node_count()
        && program.slot_of.len() == model.node_count()
        && program
            .slot_of
            .iter()
            .zip(model.kinds())
            .all(|(&slot, &kind)| program.kind_of_slot.get(slot as usize) == Some(&kind));
    if !kinds_match || program.weights.len() != weights {
        return Err(RuntimeError::ProgramMismatch);
    }
    Ok(())
}
