//! The sampler: a compiled program, a backend, chain state and the loop that runs schedules.

use crate::error::RuntimeError;
use crate::observers::{Observer, StateView};
use crate::schedule::SamplingSchedule;
use crate::state::{ChainState, Chunk};
use blockgibbs_compiler::{Backend, KernelError, LaneContext, ReferenceBackend, StatePtr};
use blockgibbs_ir::{Model, NodeId, NodeKind, Program, UpdateRule};
use rand::{RngCore, SeedableRng};
use rayon::prelude::*;
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
pub struct Sampler {
    model: Arc<Model>,
    backend: Arc<dyn Backend>,
    rules: Vec<UpdateRule>,
    state: ChainState,
    key: [u32; 2],
    sweep: u64,
    pool: rayon::ThreadPool,
}

impl Sampler {
    /// A sampler over `backend` (which holds the program lowered from `model`).
    pub fn new(
        model: Arc<Model>,
        backend: Arc<dyn Backend>,
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
            model,
            backend,
            state,
            key,
            sweep: 0,
            pool,
        })
    }

    /// Compiles `model` (colouring or validating its blocks, lowering) and returns a sampler
    /// on the reference backend.
    pub fn reference(model: Arc<Model>, options: SamplerOptions) -> Result<Sampler, RuntimeError> {
        let (_, program) = blockgibbs_compiler::compile(&model)?;
        let backend = Arc::new(ReferenceBackend::new(Arc::new(program)));
        Sampler::new(model, backend, options)
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
        self.check_node(node)?;
        self.check_chain(chain)?;
        let kind = self.model.kind(node);
        if !kind.admits(value) {
            return Err(RuntimeError::InvalidValue {
                node: self.model.node_name(node),
                value,
                kind: kind.to_string(),
            });
        }
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

    /// Runs `n` sweeps on every chain.
    ///
    /// With at least as many 16-chain chunks as threads, each thread sweeps whole chunks.
    /// With fewer (few chains on a big graph), every large block's heads are split across the
    /// threads instead, one block at a time; the results are the same bit for bit.
    pub fn sweep(&mut self, n: u64) -> Result<(), RuntimeError> {
        if n == 0 {
            return Ok(());
        }
        let threads = self.pool.current_num_threads();
        let largest = self
            .program()
            .blocks
            .iter()
            .map(|b| b.len)
            .max()
            .unwrap_or(0);
        if threads > 1 && self.state.chunks.len() < threads && largest >= SPLIT_MIN_HEADS {
            return self.sweep_split_heads(n);
        }
        let backend = &*self.backend;
        let rules = &self.rules;
        let (key, start) = (self.key, self.sweep);
        let results: Vec<Result<(), KernelError>> = self.pool.install(|| {
            self.state
                .chunks
                .par_iter_mut()
                .map(|chunk| {
                    (start..start + n).try_for_each(|s| {
                        sweep_chunk(
                            backend,
                            rules,
                            chunk,
                            key,
                            s,
                            |b, rule, values, snapshot, ctx| {
                                backend.update_block(b, rule, values, snapshot, ctx)
                            },
                        )
                    })
                })
                .collect()
        });
        self.sweep += n;
        match results
            .into_iter()
            .zip(&self.state.chunks)
            .find_map(|(r, c)| r.err().map(|e| (e, c)))
        {
            None => Ok(()),
            Some((e, chunk)) => Err(self.locate_error(e, chunk.first_chain as usize)),
        }
    }

    /// [`Sampler::sweep`] for few chunks: each block's heads split across the threads.
    fn sweep_split_heads(&mut self, n: u64) -> Result<(), RuntimeError> {
        let backend = &*self.backend;
        let (rules, pool) = (&self.rules, &self.pool);
        let threads = pool.current_num_threads();
        let split =
            |b: usize, rule, values: &mut [f32], snapshot: Option<&[f32]>, ctx: &LaneContext| {
                update_block_split(backend, b, rule, values, snapshot, ctx, threads, pool)
            };
        let (key, start) = (self.key, self.sweep);
        for sweep in start..start + n {
            for chunk in &mut self.state.chunks {
                if let Err(e) = sweep_chunk(backend, rules, chunk, key, sweep, split) {
                    let first = chunk.first_chain as usize;
                    self.sweep = sweep + 1;
                    return Err(self.locate_error(e, first));
                }
            }
        }
        self.sweep = start + n;
        Ok(())
    }

    /// Runs `schedule`, feeding every observer at every observation.
    pub fn run(
        &mut self,
        schedule: &SamplingSchedule,
        observers: &mut [&mut dyn Observer],
    ) -> Result<(), RuntimeError> {
        self.run_with_progress(schedule, observers, &mut |_, _| {})
    }

    /// [`Sampler::run`], calling `progress(sweeps_done, total_sweeps)` after each interval.
    pub fn run_with_progress(
        &mut self,
        schedule: &SamplingSchedule,
        observers: &mut [&mut dyn Observer],
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(), RuntimeError> {
        let total = schedule.total_sweeps();
        let mut done = 0;
        if schedule.samples == 0 {
            self.sweep(schedule.warmup)?;
            progress(schedule.warmup, total);
            return Ok(());
        }
        for (i, interval) in schedule.intervals().enumerate() {
            // Long warmups advance in slices so that progress keeps moving.
            let mut left = interval;
            while left > 0 {
                let step = left.min(1000);
                self.sweep(step)?;
                left -= step;
                done += step;
                progress(done, total);
            }
            let view = self.view(i as u64);
            self.pool.install(|| {
                for obs in observers.iter_mut() {
                    obs.observe(&view);
                }
            });
        }
        Ok(())
    }

    fn view(&self, sample: u64) -> StateView<'_> {
        StateView {
            state: &self.state,
            program: self.backend.program(),
            model: &self.model,
            sample,
        }
    }

    fn check_chain(&self, chain: usize) -> Result<(), RuntimeError> {
        if chain < self.chains() {
            Ok(())
        } else {
            Err(RuntimeError::ChainOutOfRange {
                chain,
                chains: self.chains(),
            })
        }
    }

    fn check_node(&self, node: NodeId) -> Result<(), RuntimeError> {
        if node.index() < self.model.node_count() {
            Ok(())
        } else {
            Err(RuntimeError::UnknownNode { id: node.0 })
        }
    }

    fn locate_error(&self, e: KernelError, first_chain: usize) -> RuntimeError {
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

/// Blocks with fewer heads are not split: the fork-join would cost more than it saves.
pub const SPLIT_MIN_HEADS: u32 = 4096;

/// Updates one block of one chunk with its heads split into one contiguous range per thread.
#[allow(clippy::too_many_arguments)]
fn update_block_split(
    backend: &dyn Backend,
    block: usize,
    rule: UpdateRule,
    values: &mut [f32],
    snapshot: Option<&[f32]>,
    ctx: &LaneContext,
    threads: usize,
    pool: &rayon::ThreadPool,
) -> Result<(), KernelError> {
    let len = backend.program().blocks[block].len;
    if len < SPLIT_MIN_HEADS {
        return backend.update_block(block, rule, values, snapshot, ctx);
    }
    let needed = backend.program().slot_count() * ctx.lanes;
    assert!(values.len() >= needed && snapshot.is_none_or(|s| s.len() >= needed));
    let state = StatePtr {
        ptr: values.as_mut_ptr(),
        len: values.len(),
    };
    let snap = snapshot.map(StatePtr::read_only);
    let parts = threads as u32;
    let ranges: Vec<std::ops::Range<u32>> = (0..parts)
        .map(|p| len * p / parts..len * (p + 1) / parts)
        .collect();
    let results: Vec<Result<(), KernelError>> = pool.install(|| {
        ranges
            .into_par_iter()
            // SAFETY: `values` is borrowed exclusively and `snapshot` shared for the whole
            // call, both cover every slot and lane (checked above), and the ranges are
            // disjoint heads of one block, which is what `update_heads` allows concurrently.
            .map(|r| unsafe { backend.update_heads(block, rule, r, state, snap, ctx) })
            .collect()
    });
    // The lowest range's error is the one a single thread would have met first.
    results.into_iter().collect()
}

/// One sweep of one chunk: superblocks in order, blocks within a superblock reading the
/// pre-superblock state when they interact. `update` runs one block (whole, or split across
/// threads).
fn sweep_chunk(
    backend: &dyn Backend,
    rules: &[UpdateRule],
    chunk: &mut Chunk,
    key: [u32; 2],
    sweep: u64,
    update: impl Fn(
        usize,
        UpdateRule,
        &mut [f32],
        Option<&[f32]>,
        &LaneContext,
    ) -> Result<(), KernelError>,
) -> Result<(), KernelError> {
    let Chunk {
        first_chain,
        lanes,
        chains,
        values,
        betas,
    } = chunk;
    let ctx = LaneContext {
        lanes: *lanes,
        chains: *chains,
        first_chain: *first_chain,
        betas,
        key,
        sweep,
    };
    for sb in &backend.program().superblocks {
        let snapshot = sb.needs_snapshot.then(|| values.clone());
        for b in sb.blocks.clone() {
            update(b, rules[b], values, snapshot.as_deref(), &ctx)?;
        }
    }
    Ok(())
}

/// The Philox key of a seed, drawn from ChaCha8 so that nearby seeds give unrelated keys.
fn derive_key(seed: u64) -> [u32; 2] {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    [rng.next_u32(), rng.next_u32()]
}
