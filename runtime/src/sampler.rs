//! The sampler: a compiled program, a backend, chain state and the loop that runs schedules.

use crate::attached::Attached;
use crate::clamps::RuntimeClamps;
use crate::cursor::ScheduleCursor;
use crate::error::RuntimeError;
use crate::observers::{Observer, StateView};
use crate::schedule::SamplingSchedule;
use crate::state::ChainState;
use blockgibbs_compiler::{Backend, KernelError};
use blockgibbs_ir::{Model, NodeId, NodeKind, Program, UpdateRule};
use rand::{RngCore, SeedableRng};
use std::sync::Arc;

/// How to set a sampler up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SamplerOptions {
    /// Number of independent chains.
    pub chains: usize,
    /// Seed of all randomness (initial states and updates).
    pub seed: u64,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// Initial inverse temperature of every chain.
    pub beta: f32,
}

impl Default for SamplerOptions {
    fn default() -> Self {
        SamplerOptions {
            chains: 1,
            seed: 0,
            threads: 0,
            beta: 1.0,
        }
    }
}

/// Runs block Gibbs (or mean-field / mode) sweeps of a compiled program over many chains.
///
/// Results depend only on the model, the seed and the calls made — never on the thread
/// count: random numbers are addressed by (chain, node, sweep) and reductions run in chain
/// order.
///
/// Made by [`Sampler::builder`]. Weights ([`Sampler::set_weights`]), clamps
/// ([`Sampler::clamp`]), β, update rules and whole states change between sweeps without
/// compiling anything again.
pub struct Sampler {
    pub(crate) model: Arc<Model>,
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) fallback: Option<String>,
    pub(crate) rules: Vec<UpdateRule>,
    pub(crate) state: ChainState,
    pub(crate) key: [u32; 2],
    pub(crate) seed: u64,
    pub(crate) sweep: u64,
    pub(crate) pool: rayon::ThreadPool,
    /// The live weights, laid out as the program's.
    pub(crate) weights: Vec<f32>,
    /// Per block, whether the backend's weight-specialised kernels hold for `weights`.
    pub(crate) specialised: Vec<bool>,
    pub(crate) clamps: RuntimeClamps,
    /// Observers attached with [`Sampler::attach`].
    pub(crate) attached: Attached,
    /// Observations made by [`Sampler::step`].
    pub(crate) steps_observed: u64,
    /// The schedule running in pieces, if any.
    pub(crate) cursor: Option<ScheduleCursor>,
    /// What the embedding application stores in checkpoints beside the run.
    pub(crate) app_metadata: Option<serde_json::Value>,
}

impl Sampler {
    pub(crate) fn from_parts(
        model: Arc<Model>,
        backend: Arc<dyn Backend>,
        fallback: Option<String>,
        options: SamplerOptions,
    ) -> Result<Sampler, RuntimeError> {
        if options.chains == 0 {
            return Err(RuntimeError::NoChains);
        }
        if !(options.beta > 0.0 && options.beta.is_finite()) {
            return Err(RuntimeError::InvalidBeta {
                chain: 0,
                beta: options.beta,
            });
        }
        crate::builder::check_threads(options.threads)?;
        let threads = if options.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            options.threads
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| RuntimeError::ThreadPool(e.to_string()))?;
        let key = derive_key(options.seed);
        let program = backend.program().clone();
        let state = ChainState::new(&program, options.chains, key, options.beta);
        Ok(Sampler {
            rules: vec![UpdateRule::Sample; program.blocks.len()],
            weights: program.weights.clone(),
            specialised: backend.specialisations(&program.weights),
            clamps: RuntimeClamps::new(program.blocks.len()),
            model,
            backend,
            fallback,
            state,
            key,
            seed: options.seed,
            sweep: 0,
            pool,
            attached: Attached::default(),
            steps_observed: 0,
            cursor: None,
            app_metadata: None,
        })
    }

    /// The model.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// The lowered program.
    pub fn program(&self) -> &Arc<Program> {
        self.backend.program()
    }

    /// Name of the backend in use.
    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// Why the backend asked for is not the one running (the JIT could not be built here),
    /// if so.
    pub fn fallback(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    /// The seed the random numbers derive from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Draws every later random number from `seed` instead, keeping the chains, β, clamps
    /// and the sweep counter: a simulator restarting its noise without restarting its state.
    pub fn reseed(&mut self, seed: u64) {
        self.seed = seed;
        self.key = derive_key(seed);
    }

    /// Number of chains.
    pub fn chains(&self) -> usize {
        self.state.chains
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Sweeps run so far (the sweep counter that addresses random numbers).
    pub fn sweeps_done(&self) -> u64 {
        self.sweep
    }

    /// Sets the sweep counter that addresses random numbers. A sampler (same seed) loaded
    /// with chains saved after `sweeps` sweeps then continues with exactly the draws one
    /// uninterrupted run would have made: persistent chains carried across calls.
    pub fn set_sweeps_done(&mut self, sweeps: u64) {
        self.sweep = sweeps;
    }

    /// Sets the update rule of one block.
    pub fn set_rule(&mut self, block: usize, rule: UpdateRule) -> Result<(), RuntimeError> {
        let blocks = self.rules.len();
        let kind = self
            .program()
            .blocks
            .get(block)
            .ok_or(RuntimeError::BlockOutOfRange { block, blocks })?
            .kind;
        if rule == UpdateRule::Mean && matches!(kind, NodeKind::Categorical(_)) {
            return Err(RuntimeError::UnsupportedRule { block, kind, rule });
        }
        self.rules[block] = rule;
        Ok(())
    }

    /// Sets the update rule of every block.
    pub fn set_rule_all(&mut self, rule: UpdateRule) -> Result<(), RuntimeError> {
        (0..self.rules.len()).try_for_each(|b| self.set_rule(b, rule))
    }

    /// The update rule of each block.
    pub fn rules(&self) -> &[UpdateRule] {
        &self.rules
    }

    /// Sets the inverse temperature of one chain.
    pub fn set_beta(&mut self, chain: usize, beta: f32) -> Result<(), RuntimeError> {
        self.check_chain(chain)?;
        if !(beta > 0.0 && beta.is_finite()) {
            return Err(RuntimeError::InvalidBeta { chain, beta });
        }
        self.state.set_beta(chain, beta);
        Ok(())
    }

    /// Sets the inverse temperature of every chain from a slice of one β per chain.
    pub fn set_betas(&mut self, betas: &[f32]) -> Result<(), RuntimeError> {
        if betas.len() != self.chains() {
            return Err(RuntimeError::ChainOutOfRange {
                chain: betas.len(),
                chains: self.chains(),
            });
        }
        betas
            .iter()
            .enumerate()
            .try_for_each(|(c, &b)| self.set_beta(c, b))
    }

    /// The inverse temperature of a chain.
    pub fn beta(&self, chain: usize) -> Result<f32, RuntimeError> {
        self.check_chain(chain)?;
        let (c, l) = self.state.locate(chain);
        Ok(self.state.chunks[c].betas[l])
    }

    /// Sets the value of a clamped node in one chain.
    pub fn set_clamped(
        &mut self,
        node: NodeId,
        chain: usize,
        value: f32,
    ) -> Result<(), RuntimeError> {
        self.check_node(node)?;
        if !self.model.is_clamped(node) {
            return Err(RuntimeError::NotClamped {
                node: self.model.node_name(node),
            });
        }
        self.set_value(node, chain, value)
    }

    /// Sets the value of a node in one chain (an initial state for free nodes).
    pub fn set_value(
        &mut self,
        node: NodeId,
        chain: usize,
        value: f32,
    ) -> Result<(), RuntimeError> {
        self.check_value(node, value)?;
        self.check_chain(chain)?;
        let slot = self.program().slot_of[node.index()];
        self.state.set(slot, chain, value);
        Ok(())
    }

    /// Sets a node to the same value in every chain.
    pub fn set_value_all(&mut self, node: NodeId, value: f32) -> Result<(), RuntimeError> {
        (0..self.chains()).try_for_each(|c| self.set_value(node, c, value))
    }

    /// The value of a node in one chain.
    pub fn value(&self, node: NodeId, chain: usize) -> Result<f32, RuntimeError> {
        self.check_node(node)?;
        self.check_chain(chain)?;
        Ok(self.state.get(self.program().slot_of[node.index()], chain))
    }

    /// The whole state of one chain, indexed by node id.
    pub fn chain_state(&self, chain: usize) -> Result<Vec<f32>, RuntimeError> {
        self.check_chain(chain)?;
        let slots = &self.program().slot_of;
        Ok(slots.iter().map(|&s| self.state.get(s, chain)).collect())
    }

    /// The energy (no β) of one chain.
    pub fn energy(&self, chain: usize) -> Result<f64, RuntimeError> {
        self.check_chain(chain)?;
        Ok(self.view(0).energy(chain))
    }

    /// Runs `schedule`, feeding every observer at every observation.
    pub fn run(
        &mut self,
        schedule: &SamplingSchedule,
        observers: &mut [&mut dyn Observer],
    ) -> Result<(), RuntimeError> {
        self.run_with_progress(schedule, observers, &mut |_, _| {})
    }

    /// [`Sampler::run`], calling `progress(sweeps_done, total_sweeps)` as sweeps complete.
    /// Observers passed here and the attached ones see every observation; the run replaces
    /// any schedule started with [`Sampler::start_schedule`] and leaves none behind.
    pub fn run_with_progress(
        &mut self,
        schedule: &SamplingSchedule,
        observers: &mut [&mut dyn Observer],
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(), RuntimeError> {
        self.start_schedule(*schedule);
        let result = self.advance(u64::MAX, observers, &|| false, progress);
        self.finish_schedule();
        result.map(|_| ())
    }

    /// Data the embedding application keeps with the run: saved in checkpoints and given
    /// back by [`Sampler::app_metadata`] after a resume (the command line stores its output
    /// paths and options here).
    pub fn set_app_metadata(&mut self, value: Option<serde_json::Value>) {
        self.app_metadata = value;
    }

    /// The data set with [`Sampler::set_app_metadata`] or read from the checkpoint resumed.
    pub fn app_metadata(&self) -> Option<&serde_json::Value> {
        self.app_metadata.as_ref()
    }

    /// Observations made by [`Sampler::step`] so far.
    pub fn steps_observed(&self) -> u64 {
        self.steps_observed
    }

    /// Feeds `observers` the current state once (observation index `sample`), in the
    /// sampler's thread pool: for callers that step the chains themselves.
    pub fn observe(&self, sample: u64, observers: &mut [&mut dyn Observer]) {
        let view = self.view(sample);
        self.pool.install(|| {
            for obs in observers.iter_mut() {
                obs.observe(&view);
            }
        });
    }

    pub(crate) fn view(&self, sample: u64) -> StateView<'_> {
        StateView {
            state: &self.state,
            program: self.backend.program(),
            model: &self.model,
            sample,
        }
    }

    pub(crate) fn check_value(&self, node: NodeId, value: f32) -> Result<(), RuntimeError> {
        self.check_node(node)?;
        let kind = self.model.kind(node);
        if kind.admits(value) {
            Ok(())
        } else {
            Err(RuntimeError::InvalidValue {
                node: self.model.node_name(node),
                value,
                kind: kind.to_string(),
            })
        }
    }

    pub(crate) fn check_chain(&self, chain: usize) -> Result<(), RuntimeError> {
        if chain < self.chains() {
            Ok(())
        } else {
            Err(RuntimeError::ChainOutOfRange {
                chain,
                chains: self.chains(),
            })
        }
    }

    pub(crate) fn check_node(&self, node: NodeId) -> Result<(), RuntimeError> {
        if node.index() < self.model.node_count() {
            Ok(())
        } else {
            Err(RuntimeError::UnknownNode { id: node.0 })
        }
    }

    pub(crate) fn locate_error(&self, e: KernelError, first_chain: usize) -> RuntimeError {
        let name = |slot: u32| {
            self.model
                .node_name(self.program().node_of_slot[slot as usize])
        };
        match e {
            KernelError::NonPositivePrecision {
                slot,
                lane,
                precision,
            } => RuntimeError::NonPositivePrecision {
                node: name(slot),
                chain: first_chain + lane,
                precision,
            },
            KernelError::NonFinite { slot, lane, value } => RuntimeError::NonFinite {
                node: name(slot),
                chain: first_chain + lane,
                value,
            },
            KernelError::UnsupportedRule { kind, rule } => RuntimeError::UnsupportedRule {
                block: 0,
                kind,
                rule,
            },
        }
    }
}

/// The Philox key of a seed, drawn from ChaCha8 so that nearby seeds give unrelated keys.
fn derive_key(seed: u64) -> [u32; 2] {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    [rng.next_u32(), rng.next_u32()]
}
