//! Emission of the terms of one interaction group for one head and a few lane groups: gather
//! the tails, look up or fold the weights, multiply and accumulate — in the reference order.

use crate::emit::{LaneGroups, counted_loop, flags};
use crate::plan::{GroupPlan, UNROLL_MAX, WeightSource};
use crate::simd::{ConstCache, Simd};
use blockgibbs_ir::{HeadRole, InteractionGroup, Power};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, F32X4, I32X4, I64};
use cranelift_codegen::ir::{InstBuilder, Value};
use cranelift_frontend::{FunctionBuilder, Variable};

/// Emits all terms of group `g` for the current head: straight-line when the degree is a
/// small compile-time constant, else a loop over the head's terms.
#[allow(clippy::too_many_arguments)]
pub(crate) fn emit_group_terms(
    b: &mut FunctionBuilder<'_>,
    g: &InteractionGroup,
    plan: &GroupPlan,
    lanes: &LaneGroups,
    base_ptr: Value,
    tail_ptr: Value,
    count: Option<Value>,
    acc: &[Vec<Variable>],
) {
    let arity = g.arity();
    match (plan.uniform_degree, count) {
        (Some(d), _) if d <= UNROLL_MAX => {
            for i in 0..d as usize {
                emit_term(
                    b,
                    g,
                    plan,
                    lanes,
                    base_ptr,
                    (4 * i) as i32,
                    tail_ptr,
                    (4 * i * arity) as i32,
                    acc,
                );
            }
        }
        _ if plan.affine.is_some() => {
            emit_affine_loop(b, g, plan, lanes, base_ptr, tail_ptr, count, acc)
        }
        _ => {
            let count = match count {
                Some(c) => c,
                None => b.ins().iconst(I64, plan.uniform_degree.unwrap_or(0) as i64),
            };
            let end = b.ins().ishl_imm_u(count, 2);
            let end = b.ins().iadd(base_ptr, end);
            counted_loop(
                b,
                base_ptr,
                4,
                |b, p| b.ins().icmp(IntCC::UnsignedLessThan, p, end),
                |b, p| {
                    // Tail slots advance `arity` words per weight-base word.
                    let t = b.ins().isub(p, base_ptr);
                    let t = b.ins().imul_imm_u(t, arity as i64);
                    let t = b.ins().iadd(tail_ptr, t);
                    emit_term(b, g, plan, lanes, p, 0, t, 0, acc);
                },
            );
        }
    }
}

/// The terms of a head whose tables step by constants: load the first term's indices, then
/// walk the weight index and the tail rows without touching the tables again.
#[allow(clippy::too_many_arguments)]
fn emit_affine_loop(
    b: &mut FunctionBuilder<'_>,
    g: &InteractionGroup,
    plan: &GroupPlan,
    lanes: &LaneGroups,
    base_ptr: Value,
    tail_ptr: Value,
    count: Option<Value>,
    acc: &[Vec<Variable>],
) {
    let steps = plan.affine.as_ref().expect("affine plan");
    let count = match count {
        Some(c) => c,
        None => b.ins().iconst(I64, plan.uniform_degree.unwrap_or(0) as i64),
    };
    let arity = g.arity();
    let base_var = b.declare_var(I64);
    let first_base = b.ins().uload32(flags(), base_ptr, 0);
    b.def_var(base_var, first_base);
    let row_vars: Vec<Variable> = (0..arity)
        .map(|j| {
            let var = b.declare_var(I64);
            let slot = b.ins().uload32(flags(), tail_ptr, 4 * j as i32);
            let row = b.ins().imul(slot, lanes.lane_bytes);
            let row = b.ins().iadd(lanes.src_lg, row);
            b.def_var(var, row);
            var
        })
        .collect();
    let row_steps: Vec<Value> = steps
        .tail_steps
        .iter()
        .map(|&s| b.ins().imul_imm_s(lanes.lane_bytes, s))
        .collect();
    let zero = b.ins().iconst(I64, 0);
    counted_loop(
        b,
        zero,
        1,
        |b, i| b.ins().icmp(IntCC::UnsignedLessThan, i, count),
        |b, _| {
            let rows: Vec<Value> = row_vars.iter().map(|&v| b.use_var(v)).collect();
            let base = match plan.weights {
                WeightSource::Loaded => Some(b.use_var(base_var)),
                WeightSource::Folded { .. } => None,
            };
            emit_term_at(b, g, plan, lanes, &rows, base, acc);
            for ((&var, &row), &step) in row_vars.iter().zip(&rows).zip(&row_steps) {
                let next = b.ins().iadd(row, step);
                b.def_var(var, next);
            }
            let base = b.use_var(base_var);
            let next = b.ins().iadd_imm_s(base, steps.base_step);
            b.def_var(base_var, next);
        },
    );
}

/// One term for `lanes.n` lane groups. `base_ptr + base_off` holds the term's weight base,
/// `tail_ptr + tail_off` its tail slots.
#[allow(clippy::too_many_arguments)]
fn emit_term(
    b: &mut FunctionBuilder<'_>,
    g: &InteractionGroup,
    plan: &GroupPlan,
    lanes: &LaneGroups,
    base_ptr: Value,
    base_off: i32,
    tail_ptr: Value,
    tail_off: i32,
    acc: &[Vec<Variable>],
) {
    let rows: Vec<Value> = (0..g.arity())
        .map(|j| {
            let slot = b.ins().uload32(flags(), tail_ptr, tail_off + 4 * j as i32);
            let row = b.ins().imul(slot, lanes.lane_bytes);
            b.ins().iadd(lanes.src_lg, row)
        })
        .collect();
    let base = match plan.weights {
        WeightSource::Loaded => Some(b.ins().uload32(flags(), base_ptr, base_off)),
        WeightSource::Folded { .. } => None,
    };
    emit_term_at(b, g, plan, lanes, &rows, base, acc);
}

/// One term for `lanes.n` lane groups, given the tails' row addresses (for the lane group
/// at `lanes.src_lg`) and the term's weight base index (`None` for folded weights).
fn emit_term_at(
    b: &mut FunctionBuilder<'_>,
    g: &InteractionGroup,
    plan: &GroupPlan,
    lanes: &LaneGroups,
    rows: &[Value],
    base: Option<Value>,
    acc: &[Vec<Variable>],
) {
    // Splat weights shared by every lane group (no categorical tail indexes them).
    let shared: Option<Vec<Value>> = g.cat_strides.is_empty().then(|| {
        (0..plan.head_values)
            .map(|k| match (&plan.weights, base) {
                (WeightSource::Folded { table, .. }, _) => Simd::new(&mut *b).f(table[k]),
                (WeightSource::Loaded, Some(base)) => {
                    let w = load_weight(b, plan, lanes.weights, base, k);
                    b.ins().splat(F32X4, w)
                }
                (WeightSource::Loaded, None) => unreachable!("loaded weights have a base"),
            })
            .collect()
    });
    // Constants shared by the lane groups of this term (all in one Cranelift block).
    let mut consts = ConstCache::new();
    for (gi, acc) in acc.iter().enumerate().take(lanes.n) {
        let off = (16 * gi) as i32;
        let tails: Vec<Value> = rows
            .iter()
            .map(|&row| b.ins().load(F32X4, flags(), row, off))
            .collect();
        let term = TermValues {
            tails: &tails,
            shared: shared.as_deref(),
            bases: [base; 4],
            valid: None,
        };
        accumulate_term(b, g, plan, lanes.weights, &term, acc, &mut consts);
    }
}

/// The weight of head value `k` of the term whose weight base index is `base` (i64).
pub(crate) fn load_weight(
    b: &mut FunctionBuilder<'_>,
    plan: &GroupPlan,
    weights: Value,
    base: Value,
    k: usize,
) -> Value {
    let idx = b
        .ins()
        .iadd_imm_u(base, (k as u32 * plan.head_stride) as i64);
    let off = b.ins().ishl_imm_u(idx, 2);
    let addr = b.ins().iadd(weights, off);
    b.ins().load(F32, flags(), addr, 0)
}

/// What one term contributes to one f32x4 vector of conditional parameters, whatever the
/// lanes are (four chains of one head, or one chain of four heads).
pub(crate) struct TermValues<'a> {
    /// The tails' values, one vector per tail in the group's tail order.
    pub tails: &'a [Value],
    /// Per head value, the weight vector when no categorical tail indexes the weights.
    pub shared: Option<&'a [Value]>,
    /// Per lane, the term's weight base index (i64; `None` for folded weights).
    pub bases: [Option<Value>; 4],
    /// Lanes that have this term (an i32x4 mask); the others add nothing.
    pub valid: Option<Value>,
}

/// Multiplies one term's tails and weights and adds it to `acc`, in the reference order.
pub(crate) fn accumulate_term(
    b: &mut FunctionBuilder<'_>,
    g: &InteractionGroup,
    plan: &GroupPlan,
    weights: Value,
    term: &TermValues<'_>,
    acc: &[Variable],
    consts: &mut ConstCache,
) {
    let arity = g.arity();
    let nc = g.cat_strides.len();
    let np = g.product_tails as usize;
    let mut rest: Option<Value> = None;
    let mut mul = |b: &mut FunctionBuilder<'_>, v: Value| {
        rest = Some(match rest {
            None => v,
            Some(r) => b.ins().fmul(r, v),
        });
    };
    for &v in &term.tails[nc..nc + np] {
        mul(b, v);
    }
    for (&x, &p) in term.tails[nc + np..arity].iter().zip(&g.gaussian_powers) {
        mul(b, x);
        if p == Power::Two {
            mul(b, x);
        }
    }
    let ws: Vec<Value> = match term.shared {
        Some(ws) => ws.to_vec(),
        None => indexed_weights(b, g, plan, weights, term, consts),
    };
    let targets: Vec<usize> = match g.head {
        HeadRole::Gaussian { power: Power::Two } => vec![1],
        _ => (0..plan.head_values).collect(),
    };
    for (&a, &w) in targets.iter().zip(&ws) {
        let mut value = match rest {
            None => w,
            Some(r) => b.ins().fmul(w, r),
        };
        if let Some(valid) = term.valid {
            // Masked-out lanes add +0.0, which leaves a sum that started at +0.0 unchanged.
            let mut s = Simd::new(&mut *b);
            let bits = s.cast(I32X4, value);
            let kept = s.b.ins().band(bits, valid);
            value = s.cast(F32X4, kept);
        }
        let cur = b.use_var(acc[a]);
        let sum = b.ins().fadd(cur, value);
        b.def_var(acc[a], sum);
    }
}

/// Per-lane weights for each head value when categorical tails index the weight tensor:
/// selected among folded constants by lane masks, or gathered with scalar loads.
fn indexed_weights(
    b: &mut FunctionBuilder<'_>,
    g: &InteractionGroup,
    plan: &GroupPlan,
    weights: Value,
    term: &TermValues<'_>,
    consts: &mut ConstCache,
) -> Vec<Value> {
    let nc = g.cat_strides.len();
    // Category indices as integers (what the reference computes with `as usize`).
    let cats = |b: &mut FunctionBuilder<'_>| -> Vec<Value> {
        term.tails[..nc]
            .iter()
            .map(|&v| b.ins().fcvt_to_sint_sat(I32X4, v))
            .collect()
    };
    match &plan.weights {
        WeightSource::Folded { table, tail_dims } => {
            // Lanes whose tail combination is `c`. One categorical tail: compare its value
            // as a float — categorical values are exact small integers (`NodeKind::admits`),
            // so this selects the same lanes without the float-to-int conversion.
            let combined = (nc > 1).then(|| {
                let cats = cats(b);
                let mut idx = cats[0];
                for (&c, &d) in cats[1..].iter().zip(&tail_dims[1..]) {
                    let dv = Simd::cached(b, consts).i(d);
                    let scaled = b.ins().imul(idx, dv);
                    idx = b.ins().iadd(scaled, c);
                }
                idx
            });
            let lanes_at =
                |b: &mut FunctionBuilder<'_>, consts: &mut ConstCache, c: usize| match combined {
                    Some(idx) => {
                        let cv = Simd::cached(b, consts).i(c as u32);
                        b.ins().icmp(IntCC::Equal, idx, cv)
                    }
                    None => {
                        let cv = Simd::cached(b, consts).f(c as f32);
                        b.ins().fcmp(FloatCC::Equal, term.tails[0], cv)
                    }
                };
            let combos: usize = tail_dims.iter().map(|&d| d as usize).product();
            if is_diagonal(table, plan.head_values, combos) {
                // Potts-like δ tables: w_k = [c = k] · W_kk, one compare and one mask per k.
                // Off-diagonal entries are +0.0, exactly what the mask yields.
                return (0..plan.head_values)
                    .map(|k| {
                        let eq = lanes_at(b, consts, k);
                        let mut s = Simd::cached(&mut *b, consts);
                        let diag = s.f(table[k * combos + k]);
                        let diag_bits = s.cast(I32X4, diag);
                        let w = s.b.ins().band(eq, diag_bits);
                        s.cast(F32X4, w)
                    })
                    .collect();
            }
            let masks: Vec<Value> = (1..combos).map(|c| lanes_at(b, consts, c)).collect();
            (0..plan.head_values)
                .map(|k| {
                    let mut s = Simd::cached(&mut *b, consts);
                    let row = &table[k * combos..(k + 1) * combos];
                    let mut w = s.f(row[0]);
                    for (c, &m) in masks.iter().enumerate() {
                        let x = s.f(row[c + 1]);
                        w = s.sel(m, x, w);
                    }
                    w
                })
                .collect()
        }
        WeightSource::Loaded => {
            let cats = cats(b);
            let mut idx: Option<Value> = None;
            for (&c, &stride) in cats.iter().zip(&g.cat_strides) {
                let sv = Simd::cached(b, consts).i(stride);
                let term = b.ins().imul(c, sv);
                idx = Some(match idx {
                    None => term,
                    Some(i) => b.ins().iadd(i, term),
                });
            }
            let idx = idx.expect("indexed weights have categorical tails");
            (0..plan.head_values)
                .map(|k| {
                    let mut v = None;
                    for lane in 0..4u8 {
                        let base = term.bases[lane as usize].expect("loaded weights have a base");
                        let kb = b
                            .ins()
                            .iadd_imm_u(base, (k as u32 * plan.head_stride) as i64);
                        let i = b.ins().extractlane(idx, lane);
                        let i = b.ins().uextend(I64, i);
                        let i = b.ins().iadd(i, kb);
                        let off = b.ins().ishl_imm_u(i, 2);
                        let addr = b.ins().iadd(weights, off);
                        let w = b.ins().load(F32, flags(), addr, 0);
                        v = Some(match v {
                            None => b.ins().splat(F32X4, w),
                            Some(v) => b.ins().insertlane(v, w, lane),
                        });
                    }
                    v.expect("four lanes")
                })
                .collect()
        }
    }
}

/// Whether a folded `[head_values × combos]` table is square with +0.0 off the diagonal.
fn is_diagonal(table: &[f32], head_values: usize, combos: usize) -> bool {
    head_values == combos
        && (0..head_values)
            .all(|k| (0..combos).all(|c| c == k || table[k * combos + c].to_bits() == 0))
}
