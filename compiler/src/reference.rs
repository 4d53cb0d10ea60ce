//! The reference backend: portable Rust that executes a [`Program`] exactly as specified.
//! It is the executable specification the JIT is tested against, so it favours plain loops
//! over cleverness; every float operation happens in the order documented on
//! [`blockgibbs_ir::InteractionGroup`] and in [`crate::approx`].

use crate::approx;
use crate::backend::{Backend, KernelError, LaneContext, StatePtr};
use crate::random::{lane_word, node_key, sweep_key, uniform};
use blockgibbs_ir::{
    BlockProgram, HeadRole, InteractionGroup, NodeKind, Power, Program, UpdateRule,
};
use std::ops::Range;
use std::sync::Arc;

/// Executes programs with plain Rust loops, one lane (chain) at a time.
#[derive(Clone, Debug)]
pub struct ReferenceBackend {
    program: Arc<Program>,
}

impl ReferenceBackend {
    /// A backend for `program`.
    pub fn new(program: Arc<Program>) -> ReferenceBackend {
        ReferenceBackend { program }
    }
}

impl Backend for ReferenceBackend {
    fn name(&self) -> &'static str {
        "reference"
    }

    fn program(&self) -> &Arc<Program> {
        &self.program
    }

    unsafe fn update_heads(
        &self,
        block: usize,
        rule: UpdateRule,
        heads: Range<u32>,
        state: StatePtr,
        snapshot: Option<StatePtr>,
        ctx: &LaneContext,
    ) -> Result<(), KernelError> {
        let block = &self.program.blocks[block];
        let weights = ctx.weights;
        let lanes = ctx.lanes;
        let width = match block.kind {
            NodeKind::Categorical(k) => k as usize,
            NodeKind::Gaussian => 2,
            _ => 1,
        };
        let mut acc = vec![0.0f32; lanes * width];
        let mut scratch = Scratch {
            rest: vec![0.0; lanes],
            idx: vec![0; lanes],
        };
        let src = TailReader {
            ptr: snapshot.map_or(state.ptr, |s| s.ptr),
            lanes,
        };
        let sk = sweep_key(ctx.key, ctx.sweep);
        for h in heads.start as usize..heads.end as usize {
            acc.fill(0.0);
            for g in &block.groups {
                accumulate(g, h, weights, &src, width, &mut acc, &mut scratch);
            }
            let slot = block.first_slot + h as u32;
            let keys = [node_key(sk, slot, false), node_key(sk, slot, true)];
            for l in 0..lanes {
                let params = &acc[l * width..(l + 1) * width];
                let value = conditional_update(block, rule, params, slot, l, keys, ctx)?;
                // SAFETY: the caller guarantees the buffer covers every slot and lane and that
                // no one else touches this head's row during the call.
                unsafe { state.ptr.add(slot as usize * lanes + l).write(value) };
            }
        }
        Ok(())
    }
}

/// Reads the rows of tail slots. Tails are never heads of the block being updated, so no one
/// writes them during the update and a row may be borrowed as a slice.
struct TailReader {
    ptr: *const f32,
    lanes: usize,
}

impl TailReader {
    fn row(&self, slot: u32) -> &[f32] {
        // SAFETY: `update_heads`' contract: the buffer covers every slot, and tail rows are not
        // written while the block is updated.
        unsafe { std::slice::from_raw_parts(self.ptr.add(slot as usize * self.lanes), self.lanes) }
    }
}

/// Per-lane scratch of [`accumulate`]: the tail product and the weight index of one term.
struct Scratch {
    rest: Vec<f32>,
    idx: Vec<usize>,
}

/// Adds group `g`'s terms for head `h` into the per-lane accumulators
/// (`acc[l·width + k]`: γ, θ_k, or η1 and η2). Each step runs over all lanes at once, but
/// every lane sees exactly the operations of the documented order: the tail values
/// multiplied left to right (x² as x·x), then the weight times that product.
fn accumulate(
    g: &InteractionGroup,
    h: usize,
    weights: &[f32],
    src: &TailReader,
    width: usize,
    acc: &mut [f32],
    scratch: &mut Scratch,
) {
    let arity = g.arity();
    let nc = g.cat_strides.len();
    let lanes = src.lanes;
    let row = |slot: u32| src.row(slot);
    let Scratch { rest, idx } = scratch;
    for t in g.offsets[h] as usize..g.offsets[h + 1] as usize {
        let tails = &g.tails[t * arity..(t + 1) * arity];
        idx.fill(g.weight_base[t] as usize);
        for (&slot, &stride) in tails[..nc].iter().zip(&g.cat_strides) {
            for (i, &c) in idx.iter_mut().zip(row(slot)) {
                *i += stride as usize * c as usize;
            }
        }
        // Tail factors in order: products, then Gaussians (twice for x²).
        let powers = std::iter::repeat_n(Power::One, g.product_tails as usize)
            .chain(g.gaussian_powers.iter().copied());
        let factors = tails[nc..]
            .iter()
            .zip(powers)
            .flat_map(|(&slot, p)| std::iter::repeat_n(slot, if p == Power::Two { 2 } else { 1 }));
        let mut has_rest = false;
        for slot in factors {
            if has_rest {
                for (r, &v) in rest.iter_mut().zip(row(slot)) {
                    *r *= v;
                }
            } else {
                rest.copy_from_slice(row(slot));
                has_rest = true;
            }
        }
        let term = |w: f32, l: usize| if has_rest { w * rest[l] } else { w };
        for l in 0..lanes {
            let a = &mut acc[l * width..(l + 1) * width];
            let i = idx[l];
            match g.head {
                HeadRole::Product | HeadRole::Gaussian { power: Power::One } => {
                    a[0] += term(weights[i], l)
                }
                HeadRole::Gaussian { power: Power::Two } => a[1] += term(weights[i], l),
                HeadRole::Categorical { stride } => {
                    for (k, theta) in a.iter_mut().enumerate() {
                        *theta += term(weights[i + k * stride as usize], l);
                    }
                }
            }
        }
    }
}

/// The new value of one head in one lane from its accumulated conditional parameters.
fn conditional_update(
    block: &BlockProgram,
    rule: UpdateRule,
    params: &[f32],
    slot: u32,
    lane: usize,
    keys: [u32; 2],
    ctx: &LaneContext,
) -> Result<f32, KernelError> {
    let beta = ctx.betas[lane];
    let chain = ctx.first_chain + lane as u32;
    let word = |i: usize| lane_word(keys[i], chain);
    Ok(match block.kind {
        NodeKind::Spin => {
            let g = params[0] * beta;
            match rule {
                UpdateRule::Sample => {
                    let u = uniform(word(0));
                    let e = approx::exp(g * -2.0);
                    if u + u * e < 1.0 { 1.0 } else { -1.0 }
                }
                UpdateRule::Mean => {
                    let e = approx::exp(g * -2.0);
                    (1.0 - e) / (1.0 + e)
                }
                UpdateRule::Mode => {
                    if g >= 0.0 {
                        1.0
                    } else {
                        -1.0
                    }
                }
            }
        }
        NodeKind::Binary => {
            let g = params[0] * beta;
            match rule {
                UpdateRule::Sample => {
                    let u = uniform(word(0));
                    let e = approx::exp(-g);
                    if u + u * e < 1.0 { 1.0 } else { 0.0 }
                }
                UpdateRule::Mean => 1.0 / (1.0 + approx::exp(-g)),
                UpdateRule::Mode => {
                    if g >= 0.0 {
                        1.0
                    } else {
                        0.0
                    }
                }
            }
        }
        NodeKind::Categorical(_) => {
            let mut max = params[0] * beta;
            for &theta in &params[1..] {
                let t = theta * beta;
                if t > max {
                    max = t;
                }
            }
            match rule {
                UpdateRule::Sample => {
                    let u = uniform(word(0));
                    let mut total = 0.0f32;
                    let mut cum = [0.0f32; 64];
                    let mut cum_vec;
                    let cum: &mut [f32] = if params.len() <= 64 {
                        &mut cum[..params.len()]
                    } else {
                        cum_vec = vec![0.0; params.len()];
                        &mut cum_vec
                    };
                    for (c, &theta) in cum.iter_mut().zip(params) {
                        total += approx::exp(theta * beta - max);
                        *c = total;
                    }
                    let target = u * total;
                    cum[..params.len() - 1]
                        .iter()
                        .filter(|&&c| c <= target)
                        .count() as f32
                }
                UpdateRule::Mode => {
                    params.iter().position(|&t| t * beta == max).unwrap_or(0) as f32
                }
                UpdateRule::Mean => {
                    return Err(KernelError::UnsupportedRule {
                        kind: block.kind,
                        rule,
                    });
                }
            }
        }
        NodeKind::Gaussian => {
            let eta1 = params[0] * beta;
            let eta2 = params[1] * beta;
            let precision = eta2 * -2.0;
            // Positive and finite; NaN fails both comparisons.
            if !(precision > 0.0 && precision < f32::INFINITY) {
                return Err(KernelError::NonPositivePrecision {
                    slot,
                    lane,
                    precision,
                });
            }
            let mean = eta1 / precision;
            let x = match rule {
                UpdateRule::Sample => {
                    let z = approx::standard_normal(uniform(word(0)), uniform(word(1)));
                    mean + z / precision.sqrt()
                }
                UpdateRule::Mean | UpdateRule::Mode => mean,
            };
            if !x.is_finite() {
                return Err(KernelError::NonFinite {
                    slot,
                    lane,
                    value: x,
                });
            }
            x
        }
    })
}
