//! The sweep loop: chunks of chains in parallel, or the heads of big blocks split across
//! threads when there are few chunks — the same result bit for bit either way.

use crate::clamps::RuntimeClamps;
use crate::error::RuntimeError;
use crate::sampler::Sampler;
use crate::state::Chunk;
use blockgibbs_compiler::{Backend, KernelError, LaneContext, StatePtr};
use blockgibbs_ir::UpdateRule;
use rayon::prelude::*;

/// What every chunk's sweep reads besides its own chains.
#[derive(Clone, Copy)]
pub(crate) struct SweepInputs<'a> {
    pub backend: &'a dyn Backend,
    pub rules: &'a [UpdateRule],
    pub key: [u32; 2],
    pub weights: &'a [f32],
    pub specialised: &'a [bool],
    pub clamps: &'a RuntimeClamps,
}

impl Sampler {
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
        let split = threads > 1 && self.state.chunks.len() < threads && largest >= SPLIT_MIN_HEADS;
        let inputs = SweepInputs {
            backend: &*self.backend,
            rules: &self.rules,
            key: self.key,
            weights: &self.weights,
            specialised: &self.specialised,
            clamps: &self.clamps,
        };
        let start = self.sweep;
        let failure = if split {
            sweep_split_heads(&inputs, &mut self.state.chunks, &self.pool, start, n)
        } else {
            let backend = inputs.backend;
            let results: Vec<Result<(), KernelError>> = self.pool.install(|| {
                self.state
                    .chunks
                    .par_iter_mut()
                    .map(|chunk| {
                        (start..start + n).try_for_each(|s| {
                            sweep_chunk(&inputs, chunk, s, |b, rule, values, snapshot, ctx| {
                                backend.update_block(b, rule, values, snapshot, ctx)
                            })
                        })
                    })
                    .collect()
            });
            results
                .into_iter()
                .zip(&self.state.chunks)
                .find_map(|(r, c)| r.err().map(|e| (e, c.first_chain as usize, start + n)))
        };
        match failure {
            None => {
                self.sweep = start + n;
                Ok(())
            }
            Some((e, first_chain, sweeps)) => {
                self.sweep = sweeps;
                Err(self.locate_error(e, first_chain))
            }
        }
    }
}

/// [`Sampler::sweep`] for few chunks: each block's heads split across the threads, one
/// sweep of one chunk at a time. On failure: the error, the chunk's first chain and the sweep
/// counter after the failing sweep.
fn sweep_split_heads(
    inputs: &SweepInputs<'_>,
    chunks: &mut [Chunk],
    pool: &rayon::ThreadPool,
    start: u64,
    n: u64,
) -> Option<(KernelError, usize, u64)> {
    let (backend, threads) = (inputs.backend, pool.current_num_threads());
    let split =
        |b: usize, rule, values: &mut [f32], snapshot: Option<&[f32]>, ctx: &LaneContext| {
            update_block_split(backend, b, rule, values, snapshot, ctx, threads, pool)
        };
    for sweep in start..start + n {
        for chunk in chunks.iter_mut() {
            if let Err(e) = sweep_chunk(inputs, chunk, sweep, split) {
                return Some((e, chunk.first_chain as usize, sweep + 1));
            }
        }
    }
    None
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
/// threads). Heads clamped at run time are updated like the others and then given back the
/// value they had: blocks never hold interacting nodes, so no other head of the block read
/// the discarded value, and random numbers are addressed per node, so no other draw moved.
fn sweep_chunk(
    inputs: &SweepInputs<'_>,
    chunk: &mut Chunk,
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
        key: inputs.key,
        sweep,
        weights: inputs.weights,
        specialised: inputs.specialised,
    };
    let chain_range = *first_chain..*first_chain + *chains as u32;
    let mut held: Vec<(usize, f32)> = Vec::new();
    for sb in &inputs.backend.program().superblocks {
        let snapshot = sb.needs_snapshot.then(|| values.clone());
        for b in sb.blocks.clone() {
            held.clear();
            held.extend(
                inputs
                    .clamps
                    .in_block(b, chain_range.clone())
                    .map(|(chain, slot)| {
                        let at = slot as usize * *lanes + (chain - *first_chain) as usize;
                        (at, values[at])
                    }),
            );
            let result = update(b, inputs.rules[b], values, snapshot.as_deref(), &ctx);
            for &(at, v) in &held {
                values[at] = v;
            }
            result?;
        }
    }
    Ok(())
}
