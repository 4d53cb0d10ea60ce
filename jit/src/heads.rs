//! The one-chain kernel: when a buffer holds a single chain, the four f32x4 lanes carry four
//! heads of the block instead of four chains (padding lanes would otherwise waste three
//! quarters of every vector). Tails and per-term weights are gathered with scalar loads —
//! Cranelift has no gather — and the arithmetic is the lane kernel's, term for term, so the
//! values are bit-identical to the reference backend's.
//!
//! A head range whose length is not a multiple of four repeats its last head in the spare
//! lanes: the repeats compute and store exactly the same value to the same place.

use crate::emit::{KernelArgs, arg, counted_loop, flags, kernel_entry};
use crate::plan::{self, GroupPlan, UNROLL_MAX, WeightSource};
use crate::simd::{ConstCache, Simd};
use crate::terms::{TermValues, accumulate_term, load_weight};
use crate::update::{ErrorSink, LaneRng, emit_update, words_needed};
use blockgibbs_ir::{BlockProgram, InteractionGroup, UpdateRule};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32, F32X4, I32, I32X4, I64};
use cranelift_codegen::ir::{InstBuilder, Value};
use cranelift_frontend::{FunctionBuilder, Variable};
use std::mem::offset_of;

/// Bytes per slot row: the one-chain kernel runs only on buffers of four lanes.
pub(crate) const ROW_SHIFT: i64 = 4;

/// Values fixed for the whole call.
struct OneChain {
    args: Value,
    /// `src + lane · 4`: tail slot `s` is at `src_lane + (s << ROW_SHIFT)`.
    src_lane: Value,
    weights: Value,
}

/// Emits the one-chain kernel of `block` under `rule` (same signature and arguments as the
/// lane kernel; `KernelArgs::lane` selects the chain's lane).
pub(crate) fn emit_head_kernel(
    b: &mut FunctionBuilder<'_>,
    block: &BlockProgram,
    plans: &[GroupPlan],
    rule: UpdateRule,
) {
    let args = kernel_entry(b);
    let ld = |b: &mut FunctionBuilder<'_>, ty, off: usize| arg(b, args, ty, off);
    let state = ld(b, I64, offset_of!(KernelArgs, state));
    let src = ld(b, I64, offset_of!(KernelArgs, src));
    let betas = ld(b, I64, offset_of!(KernelArgs, betas));
    let lane = ld(b, I64, offset_of!(KernelArgs, lane));
    let head_start = ld(b, I64, offset_of!(KernelArgs, head_start));
    let head_end = ld(b, I64, offset_of!(KernelArgs, head_end));
    let chain_muls = ld(b, I64, offset_of!(KernelArgs, chain_muls));
    let sweep_key = ld(b, I32, offset_of!(KernelArgs, sweep_key));
    let lane4 = b.ins().ishl_imm_u(lane, 2);
    let k = OneChain {
        args,
        src_lane: b.ins().iadd(src, lane4),
        weights: ld(b, I64, offset_of!(KernelArgs, weights)),
    };
    let dst_lane = b.ins().iadd(state, lane4);
    let chain_mul_addr = b.ins().iadd(chain_muls, lane4);
    let chain_mul = b.ins().load(I32, flags(), chain_mul_addr, 0);
    let chain_mul = b.ins().splat(I32X4, chain_mul);
    let beta_addr = b.ins().iadd(betas, lane4);
    let beta = b.ins().load(F32, flags(), beta_addr, 0);
    let beta = b.ins().splat(F32X4, beta);
    let last = b.ins().iadd_imm_s(head_end, -1);

    let width = plan::width(block.kind);
    let words = words_needed(block.kind, rule);

    let body = |b: &mut FunctionBuilder<'_>, heads: HeadLanes| {
        let slots: [Value; 4] = match heads {
            HeadLanes::Consecutive(h) => {
                let s0 = b.ins().iadd_imm_u(h, block.first_slot as i64);
                std::array::from_fn(|i| b.ins().iadd_imm_u(s0, i as i64))
            }
            HeadLanes::Clamped(hs) => hs.map(|hi| b.ins().iadd_imm_u(hi, block.first_slot as i64)),
        };
        let slot32 = slots.map(|s| b.ins().ireduce(I32, s));
        let slot_vec = match heads {
            HeadLanes::Consecutive(_) => {
                let s0 = b.ins().splat(I32X4, slot32[0]);
                let lane_ids = Simd::new(&mut *b).lane_ids();
                b.ins().iadd(s0, lane_ids)
            }
            HeadLanes::Clamped(_) => vector_of(b, I32X4, &slot32),
        };
        let mut keys = [None, None];
        for (i, key) in keys.iter_mut().enumerate().take(words) {
            *key = Some(Simd::new(&mut *b).node_key(sweep_key, slot_vec, i == 1));
        }
        let acc: Vec<Variable> = (0..width)
            .map(|_| {
                let v = b.declare_var(F32X4);
                let zero = Simd::new(&mut *b).f(0.0);
                b.def_var(v, zero);
                v
            })
            .collect();
        for (g, plan) in block.groups.iter().zip(plans) {
            emit_group(b, g, plan, &k, heads, &acc);
        }
        let params: Vec<Value> = acc.iter().map(|&a| b.use_var(a)).collect();
        let rng = LaneRng { keys, chain_mul };
        let err = ErrorSink {
            args: k.args,
            slot: slot32[0],
            lane,
        };
        let mut consts = ConstCache::new();
        let value = emit_update(b, block.kind, rule, &params, beta, &rng, &err, &mut consts);
        let row0 = b.ins().ishl_imm_u(slots[0], ROW_SHIFT);
        let addr0 = b.ins().iadd(dst_lane, row0);
        for (i, &slot) in slots.iter().enumerate() {
            let x = b.ins().extractlane(value, i as u8);
            match heads {
                // Consecutive slots: consecutive rows of 16 bytes.
                HeadLanes::Consecutive(_) => {
                    b.ins().store(flags(), x, addr0, 16 * i as i32);
                }
                HeadLanes::Clamped(_) => {
                    let row = b.ins().ishl_imm_u(slot, ROW_SHIFT);
                    let addr = b.ins().iadd(dst_lane, row);
                    b.ins().store(flags(), x, addr, 0);
                }
            }
        }
    };
    // Whole groups of four consecutive heads, then at most one group padded with repeats
    // of the last head.
    let h = counted_loop(
        b,
        head_start,
        4,
        |b, h| {
            let end = b.ins().iadd_imm_u(h, 4);
            b.ins().icmp(IntCC::UnsignedLessThanOrEqual, end, head_end)
        },
        |b, h| body(b, HeadLanes::Consecutive(h)),
    );
    let rest = b.create_block();
    let done = b.create_block();
    let more = b.ins().icmp(IntCC::UnsignedLessThan, h, head_end);
    b.ins().brif(more, rest, &[], done, &[]);
    b.switch_to_block(rest);
    let heads: [Value; 4] = std::array::from_fn(|i| {
        let hi = b.ins().iadd_imm_u(h, i as i64);
        b.ins().umin(hi, last)
    });
    body(b, HeadLanes::Clamped(heads));
    b.ins().jump(done, &[]);
    b.switch_to_block(done);
    let ok = b.ins().iconst(I32, 0);
    b.ins().return_(&[ok]);
    b.seal_all_blocks();
}

/// The four heads a vector carries.
#[derive(Clone, Copy)]
enum HeadLanes {
    /// Heads `h, h + 1, h + 2, h + 3`.
    Consecutive(Value),
    /// Any four heads (the last group, padded by repeating the last head).
    Clamped([Value; 4]),
}

impl HeadLanes {
    fn each(self, b: &mut FunctionBuilder<'_>) -> [Value; 4] {
        match self {
            HeadLanes::Consecutive(h) => std::array::from_fn(|i| b.ins().iadd_imm_u(h, i as i64)),
            HeadLanes::Clamped(hs) => hs,
        }
    }
}

/// A vector of `ty` from four scalars.
fn vector_of(b: &mut FunctionBuilder<'_>, ty: cranelift_codegen::ir::Type, xs: &[Value]) -> Value {
    let mut v = b.ins().splat(ty, xs[0]);
    for (i, &x) in xs.iter().enumerate().skip(1) {
        v = b.ins().insertlane(v, x, i as u8);
    }
    v
}

/// All terms of group `g` for four heads.
fn emit_group(
    b: &mut FunctionBuilder<'_>,
    g: &InteractionGroup,
    plan: &GroupPlan,
    k: &OneChain,
    heads: HeadLanes,
    acc: &[Variable],
) {
    let arity = g.arity() as i64;
    let tails = b.ins().iconst(I64, g.tails.as_ptr() as i64);
    let bases = b.ins().iconst(I64, g.weight_base.as_ptr() as i64);
    // Pointers to the tail slots and weight base of term `t · scale` (t: i64).
    let pointers = |b: &mut FunctionBuilder<'_>, t: Value, scale: i64| {
        let tr = b.ins().imul_imm_u(t, arity * 4 * scale);
        let t4 = b.ins().imul_imm_u(t, 4 * scale);
        (b.ins().iadd(tails, tr), b.ins().iadd(bases, t4))
    };
    match plan.uniform_degree {
        Some(d) if d <= UNROLL_MAX => {
            let (d, a) = (d as i32, arity as i32);
            // Lane i's terms start i·d terms after lane 0's when the heads are consecutive.
            let ptrs: [(Value, i32, Value, i32); 4] = match heads {
                HeadLanes::Consecutive(h) => {
                    let (tp, bp) = pointers(b, h, d as i64);
                    std::array::from_fn(|i| (tp, 4 * a * d * i as i32, bp, 4 * d * i as i32))
                }
                HeadLanes::Clamped(hs) => hs.map(|h| {
                    let (tp, bp) = pointers(b, h, d as i64);
                    (tp, 0, bp, 0)
                }),
            };
            for t in 0..d {
                let term = Term {
                    ptrs: ptrs.map(|(tp, to, bp, bo)| (tp, to + 4 * t * a, bp, bo + 4 * t)),
                    valid: None,
                };
                gather_term(b, g, plan, k, &term, acc);
            }
        }
        Some(d) => {
            let t0 = heads.each(b).map(|h| b.ins().imul_imm_u(h, d as i64));
            let count = b.ins().iconst(I64, d as i64);
            let zero = b.ins().iconst(I64, 0);
            counted_loop(
                b,
                zero,
                1,
                |b, t| b.ins().icmp(IntCC::UnsignedLessThan, t, count),
                |b, t| {
                    let ptrs = t0.map(|t0| {
                        let ti = b.ins().iadd(t0, t);
                        pointers(b, ti, 1)
                    });
                    let term = Term {
                        ptrs: ptrs.map(|(tp, bp)| (tp, 0, bp, 0)),
                        valid: None,
                    };
                    gather_term(b, g, plan, k, &term, acc);
                },
            );
        }
        None => {
            // Heads of different degrees: run to the largest, masking lanes that are done
            // (they read term 0, which exists whenever any head has a term).
            let offsets = b.ins().iconst(I64, g.offsets.as_ptr() as i64);
            let ranges = heads.each(b).map(|h| {
                let h4 = b.ins().ishl_imm_u(h, 2);
                let addr = b.ins().iadd(offsets, h4);
                let t0 = b.ins().uload32(flags(), addr, 0);
                let t1 = b.ins().uload32(flags(), addr, 4);
                (t0, b.ins().isub(t1, t0))
            });
            let counts = ranges.map(|(_, c)| c);
            let max = counts[1..]
                .iter()
                .fold(counts[0], |m, &c| b.ins().umax(m, c));
            let count32 = counts.map(|c| b.ins().ireduce(I32, c));
            let count_vec = vector_of(b, I32X4, &count32);
            let zero = b.ins().iconst(I64, 0);
            counted_loop(
                b,
                zero,
                1,
                |b, t| b.ins().icmp(IntCC::UnsignedLessThan, t, max),
                |b, t| {
                    let t32 = b.ins().ireduce(I32, t);
                    let tv = b.ins().splat(I32X4, t32);
                    let valid = b.ins().icmp(IntCC::UnsignedLessThan, tv, count_vec);
                    let ptrs = ranges.map(|(t0, c)| {
                        let ti = b.ins().iadd(t0, t);
                        let has = b.ins().icmp(IntCC::UnsignedLessThan, t, c);
                        let zero = b.ins().iconst(I64, 0);
                        let ti = b.ins().select(has, ti, zero);
                        pointers(b, ti, 1)
                    });
                    let term = Term {
                        ptrs: ptrs.map(|(tp, bp)| (tp, 0, bp, 0)),
                        valid: Some(valid),
                    };
                    gather_term(b, g, plan, k, &term, acc);
                },
            );
        }
    }
}

/// One term of each of the four heads: per lane, where its tail slots and weight base are.
struct Term {
    /// Per lane: tail-slot pointer and byte offset, weight-base pointer and byte offset.
    ptrs: [(Value, i32, Value, i32); 4],
    /// Lanes that have the term.
    valid: Option<Value>,
}

/// Gathers one term of four heads and accumulates it.
fn gather_term(
    b: &mut FunctionBuilder<'_>,
    g: &InteractionGroup,
    plan: &GroupPlan,
    k: &OneChain,
    term: &Term,
    acc: &[Variable],
) {
    let tails: Vec<Value> = (0..g.arity() as i32)
        .map(|j| {
            let xs: Vec<Value> = term
                .ptrs
                .iter()
                .map(|&(tp, to, _, _)| {
                    let slot = b.ins().uload32(flags(), tp, to + 4 * j);
                    let row = b.ins().ishl_imm_u(slot, ROW_SHIFT);
                    let addr = b.ins().iadd(k.src_lane, row);
                    b.ins().load(F32, flags(), addr, 0)
                })
                .collect();
            vector_of(b, F32X4, &xs)
        })
        .collect();
    let bases: [Option<Value>; 4] = match plan.weights {
        WeightSource::Loaded => term
            .ptrs
            .map(|(_, _, bp, bo)| Some(b.ins().uload32(flags(), bp, bo))),
        WeightSource::Folded { .. } => [None; 4],
    };
    let shared: Option<Vec<Value>> = g.cat_strides.is_empty().then(|| {
        (0..plan.head_values)
            .map(|v| match &plan.weights {
                WeightSource::Folded { table, .. } => Simd::new(&mut *b).f(table[v]),
                WeightSource::Loaded => {
                    let ws: Vec<Value> = bases
                        .iter()
                        .map(|&base| load_weight(b, plan, k.weights, base.expect("base"), v))
                        .collect();
                    vector_of(b, F32X4, &ws)
                }
            })
            .collect()
    });
    let values = TermValues {
        tails: &tails,
        shared: shared.as_deref(),
        bases,
        valid: term.valid,
    };
    accumulate_term(b, g, plan, k.weights, &values, acc, &mut ConstCache::new());
}
