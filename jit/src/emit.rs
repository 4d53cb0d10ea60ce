//! Emission of one fused kernel per (block, update rule): for every head and every group of
//! four lanes, gather the tails of every interaction group, accumulate the conditional
//! parameters, draw and store — in one pass, in exactly the reference backend's order.

use crate::plan::{self, GroupPlan, UNROLL_MAX};
use crate::simd::{ConstCache, Simd};
use crate::terms;
use crate::update::{ErrorSink, LaneRng, emit_update, words_needed};
use blockgibbs_ir::{BlockProgram, InteractionGroup, UpdateRule};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32X4, I32, I32X4, I64};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::{FunctionBuilder, Variable};
use std::mem::offset_of;

/// What a kernel receives: one pointer to this struct.
#[repr(C)]
#[derive(Debug, Default)]
pub struct KernelArgs {
    /// State written (`state[slot · lanes + lane]`).
    pub state: usize,
    /// State read (the state itself, or a snapshot for Jacobi superblocks).
    pub src: usize,
    /// One β per lane.
    pub betas: usize,
    /// Per lane, `chain · CHAIN_MUL` (u32): the chain's share of its random words.
    pub chain_muls: usize,
    /// Lanes per slot (a multiple of 4).
    pub lanes: u64,
    /// First head (index within the block) to update.
    pub head_start: u64,
    /// One past the last head to update.
    pub head_end: u64,
    /// The live weights (laid out as the program's).
    pub weights: usize,
    /// The one-chain kernel's lane (its buffer has four lanes; see `heads.rs`).
    pub lane: u64,
    /// [`blockgibbs_compiler::random::sweep_key`] of this call.
    pub sweep_key: u32,
    /// On error: the head's slot.
    pub err_slot: u32,
    /// On error: first lane of the failing lane group.
    pub err_lane: u64,
    /// On error: lanes whose precision is bad (all ones).
    pub err_precision_mask: [u32; 4],
    /// On error: lanes whose new value is not finite.
    pub err_value_mask: [u32; 4],
    /// On error: the precisions of the lane group.
    pub err_precision: [f32; 4],
    /// On error: the new values of the lane group.
    pub err_value: [f32; 4],
}

/// Return code of a kernel that stopped on a bad Gaussian update.
pub const KERNEL_GAUSSIAN_ERROR: i32 = 1;

pub(crate) fn flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

/// Values fixed for the whole kernel call.
struct KernelCtx {
    args: Value,
    state: Value,
    src: Value,
    betas: Value,
    chain_muls: Value,
    lanes: Value,
    lane_bytes: Value,
    sweep_key: Value,
    weights: Value,
}

/// Values fixed for one head (all lane groups).
struct HeadCtx {
    slot32: Value,
    /// `slot · lanes · 4`: byte offset of the head's row.
    row: Value,
    keys: [Option<Value>; 2],
    /// Per group: pointers to the head's first weight base and first tail slot, and the
    /// number of terms (when not a compile-time constant).
    groups: Vec<(Value, Value, Option<Value>)>,
}

/// Emits the kernel of `block` under `rule` into `b` (signature: one pointer argument, i32
/// return). Lanes are processed 16 at a time (four f32x4 groups in lock-step, which turns a
/// latency-bound dependency chain into a throughput-bound one) and then 4 at a time.
pub(crate) fn emit_kernel(
    b: &mut FunctionBuilder<'_>,
    block: &BlockProgram,
    plans: &[GroupPlan],
    rule: UpdateRule,
) {
    let args = kernel_entry(b);
    let ld = |b: &mut FunctionBuilder<'_>, ty, off: usize| arg(b, args, ty, off);
    let lanes = ld(b, I64, offset_of!(KernelArgs, lanes));
    let k = KernelCtx {
        args,
        state: ld(b, I64, offset_of!(KernelArgs, state)),
        src: ld(b, I64, offset_of!(KernelArgs, src)),
        betas: ld(b, I64, offset_of!(KernelArgs, betas)),
        chain_muls: ld(b, I64, offset_of!(KernelArgs, chain_muls)),
        lanes,
        lane_bytes: b.ins().ishl_imm_u(lanes, 2),
        sweep_key: ld(b, I32, offset_of!(KernelArgs, sweep_key)),
        weights: ld(b, I64, offset_of!(KernelArgs, weights)),
    };
    let width = plan::width(block.kind);
    let words = words_needed(block.kind, rule);

    let zero = b.ins().iconst(I64, 0);
    counted_loop(
        b,
        zero,
        1,
        |b, h| {
            b.ins()
                .icmp_imm_u(IntCC::UnsignedLessThan, h, block.len as i64)
        },
        |b, h| {
            let slot = b.ins().iadd_imm_u(h, block.first_slot as i64);
            let slot32 = b.ins().ireduce(I32, slot);
            let row = b.ins().imul(slot, k.lane_bytes);
            let mut keys = [None, None];
            for (i, key) in keys.iter_mut().enumerate().take(words) {
                *key = Some(Simd::new(&mut *b).node_key(k.sweep_key, slot32, i == 1));
            }
            let groups = block
                .groups
                .iter()
                .zip(plans)
                .map(|(g, plan)| head_pointers(b, g, plan, h))
                .collect();
            let hc = HeadCtx {
                slot32,
                row,
                keys,
                groups,
            };
            let zero = b.ins().iconst(I64, 0);
            // Lane groups in lock-step (four, or two when each carries three or more
            // accumulators, which would not fit the sixteen vector registers), then the
            // remaining groups of 4.
            let n = if width >= 3 { 2 } else { 4 };
            let step = 4 * n as i64;
            let lg = counted_loop(
                b,
                zero,
                step,
                |b, lg| {
                    let end = b.ins().iadd_imm_u(lg, step);
                    b.ins().icmp(IntCC::UnsignedLessThanOrEqual, end, k.lanes)
                },
                |b, lg| lane_body(b, block, rule, &k, &hc, plans, width, lg, n),
            );
            counted_loop(
                b,
                lg,
                4,
                |b, lg| b.ins().icmp(IntCC::UnsignedLessThan, lg, k.lanes),
                |b, lg| lane_body(b, block, rule, &k, &hc, plans, width, lg, 1),
            );
        },
    );
    let ok = b.ins().iconst(I32, 0);
    b.ins().return_(&[ok]);
    b.seal_all_blocks();
}

/// Opens a kernel's entry block; returns its one argument, the `KernelArgs` pointer.
pub(crate) fn kernel_entry(b: &mut FunctionBuilder<'_>) -> Value {
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.block_params(entry)[0]
}

/// The `KernelArgs` field of type `ty` at byte offset `off`.
pub(crate) fn arg(b: &mut FunctionBuilder<'_>, args: Value, ty: Type, off: usize) -> Value {
    b.ins().load(ty, flags(), args, off as i32)
}

/// `for (i = start; cond(i); i += step) body(i)`; returns the final value of `i`, usable
/// after the loop.
pub(crate) fn counted_loop(
    b: &mut FunctionBuilder<'_>,
    start: Value,
    step: i64,
    cond: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value,
    body: impl FnOnce(&mut FunctionBuilder<'_>, Value),
) -> Value {
    let ty = b.func.dfg.value_type(start);
    let var = b.declare_var(ty);
    b.def_var(var, start);
    let head = b.create_block();
    let body_block = b.create_block();
    let exit = b.create_block();
    b.ins().jump(head, &[]);
    b.switch_to_block(head);
    let i = b.use_var(var);
    let more = cond(b, i);
    b.ins().brif(more, body_block, &[], exit, &[]);
    b.switch_to_block(body_block);
    let i = b.use_var(var);
    body(b, i);
    let i = b.use_var(var);
    let next = b.ins().iadd_imm_u(i, step);
    b.def_var(var, next);
    b.ins().jump(head, &[]);
    b.switch_to_block(exit);
    b.use_var(var)
}

/// The head's first weight-base and tail pointers in group `g`, and its term count when the
/// degree is not uniform.
fn head_pointers(
    b: &mut FunctionBuilder<'_>,
    g: &InteractionGroup,
    plan: &GroupPlan,
    h: Value,
) -> (Value, Value, Option<Value>) {
    let (t0, count) = match plan.uniform_degree {
        Some(d) => (b.ins().imul_imm_u(h, d as i64), None),
        None => {
            let offsets = b.ins().iconst(I64, g.offsets.as_ptr() as i64);
            let h4 = b.ins().ishl_imm_u(h, 2);
            let addr = b.ins().iadd(offsets, h4);
            let t0 = b.ins().uload32(flags(), addr, 0);
            let t1 = b.ins().uload32(flags(), addr, 4);
            (t0, Some(b.ins().isub(t1, t0)))
        }
    };
    let bases = b.ins().iconst(I64, g.weight_base.as_ptr() as i64);
    let t4 = b.ins().ishl_imm_u(t0, 2);
    let base_ptr = b.ins().iadd(bases, t4);
    let tails = b.ins().iconst(I64, g.tails.as_ptr() as i64);
    let tr = b.ins().imul_imm_u(t0, (g.arity() * 4) as i64);
    let tail_ptr = b.ins().iadd(tails, tr);
    (base_ptr, tail_ptr, count)
}

/// Accumulates, updates and stores `n` consecutive lane groups starting at lane `lg`.
#[allow(clippy::too_many_arguments)]
fn lane_body(
    b: &mut FunctionBuilder<'_>,
    block: &BlockProgram,
    rule: UpdateRule,
    k: &KernelCtx,
    hc: &HeadCtx,
    plans: &[GroupPlan],
    width: usize,
    lg: Value,
    n: usize,
) {
    let lg_bytes = b.ins().ishl_imm_u(lg, 2);
    let src_lg = b.ins().iadd(k.src, lg_bytes);
    let acc: Vec<Vec<Variable>> = (0..n)
        .map(|_| {
            (0..width)
                .map(|_| {
                    let v = b.declare_var(F32X4);
                    let z = b.ins().f32const(0.0);
                    let zv = b.ins().splat(F32X4, z);
                    b.def_var(v, zv);
                    v
                })
                .collect()
        })
        .collect();
    let lanes = LaneGroups {
        src_lg,
        lane_bytes: k.lane_bytes,
        weights: k.weights,
        n,
    };
    for ((g, plan), &(base_ptr, tail_ptr, count)) in block.groups.iter().zip(plans).zip(&hc.groups)
    {
        terms::emit_group_terms(b, g, plan, &lanes, base_ptr, tail_ptr, count, &acc);
    }
    let dst = b.ins().iadd(k.state, hc.row);
    let dst = b.ins().iadd(dst, lg_bytes);
    let beta_ptr = b.ins().iadd(k.betas, lg_bytes);
    let chain_mul_ptr = b.ins().iadd(k.chain_muls, lg_bytes);
    // Sharing constants between the lane groups' updates saves their reloads, but the longer
    // live ranges make Cranelift's allocator spill the accumulators inside a term loop
    // (measured: the RBM kernel 34% slower); share only when every group is unrolled.
    let share = plans
        .iter()
        .all(|p| p.uniform_degree.is_some_and(|d| d <= UNROLL_MAX));
    let mut consts = ConstCache::new();
    for (gi, accs) in acc.iter().enumerate() {
        if !share {
            consts.clear();
        }
        let params: Vec<Value> = accs.iter().map(|&a| b.use_var(a)).collect();
        let beta = b.ins().load(F32X4, flags(), beta_ptr, (16 * gi) as i32);
        let chain_mul = b
            .ins()
            .load(I32X4, flags(), chain_mul_ptr, (16 * gi) as i32);
        let rng = LaneRng {
            keys: hc.keys,
            chain_mul,
        };
        let lane = b.ins().iadd_imm_u(lg, (4 * gi) as i64);
        let err = ErrorSink {
            args: k.args,
            slot: hc.slot32,
            lane,
        };
        let value = emit_update(b, block.kind, rule, &params, beta, &rng, &err, &mut consts);
        b.ins().store(flags(), value, dst, (16 * gi) as i32);
    }
}

/// Addresses shared by the lane groups processed together.
pub(crate) struct LaneGroups {
    /// `src + lg · 4`: tail `slot` of lane group `gi` is at `src_lg + slot · lane_bytes + 16 gi`.
    pub src_lg: Value,
    /// `lanes · 4`.
    pub lane_bytes: Value,
    /// The program's weight array.
    pub weights: Value,
    /// Number of lane groups (1, 2 or 4).
    pub n: usize,
}
