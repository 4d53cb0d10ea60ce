//! Emission of one fused kernel per (block, update rule): for every head and every group of
//! four lanes, gather the tails of every interaction group, accumulate the conditional
//! parameters, draw and store — in one pass, in exactly the reference backend's order.

use crate::simd::Simd;
use blockgibbs_compiler::random;
use blockgibbs_ir::{
    BlockProgram, HeadRole, InteractionGroup, NodeKind, Power, Program, UpdateRule,
};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, F32X4, I32, I32X4, I64};
use cranelift_codegen::ir::{ConstantData, InstBuilder, MemFlagsData, Value};
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
    /// Lanes per slot (a multiple of 4).
    pub lanes: u64,
    /// Global chain index of lane 0.
    pub first_chain: u32,
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

fn flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

/// Emits the body of the kernel of `block` under `rule` into `b` (signature: one pointer
/// argument, i32 return).
pub(crate) fn emit_kernel(
    b: &mut FunctionBuilder<'_>,
    program: &Program,
    block: &BlockProgram,
    rule: UpdateRule,
) {
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let args = b.block_params(entry)[0];
    let ld =
        |b: &mut FunctionBuilder<'_>, ty, off: usize| b.ins().load(ty, flags(), args, off as i32);
    let state = ld(b, I64, offset_of!(KernelArgs, state));
    let src = ld(b, I64, offset_of!(KernelArgs, src));
    let betas = ld(b, I64, offset_of!(KernelArgs, betas));
    let lanes = ld(b, I64, offset_of!(KernelArgs, lanes));
    let first_chain = ld(b, I32, offset_of!(KernelArgs, first_chain));
    let sweep_key = ld(b, I32, offset_of!(KernelArgs, sweep_key));
    let weights = b.ins().iconst(I64, program.weights.as_ptr() as i64);
    let lane_bytes = b.ins().ishl_imm_u(lanes, 2);

    let width = match block.kind {
        NodeKind::Categorical(k) => k as usize,
        NodeKind::Gaussian => 2,
        _ => 1,
    };
    let h_var = b.declare_var(I64);
    let lg_var = b.declare_var(I64);
    let acc: Vec<Variable> = (0..width).map(|_| b.declare_var(F32X4)).collect();
    let zero64 = b.ins().iconst(I64, 0);
    b.def_var(h_var, zero64);

    // for h in 0..len
    let h_head = b.create_block();
    let h_body = b.create_block();
    let lg_head = b.create_block();
    let lg_body = b.create_block();
    let lg_exit = b.create_block();
    let done = b.create_block();
    b.ins().jump(h_head, &[]);
    b.switch_to_block(h_head);
    let h = b.use_var(h_var);
    let more = b
        .ins()
        .icmp_imm_u(IntCC::UnsignedLessThan, h, block.len as i64);
    b.ins().brif(more, h_body, &[], done, &[]);

    b.switch_to_block(h_body);
    let zero64 = b.ins().iconst(I64, 0);
    b.def_var(lg_var, zero64);
    b.ins().jump(lg_head, &[]);

    // for lg in (0..lanes).step_by(4)
    b.switch_to_block(lg_head);
    let lg = b.use_var(lg_var);
    let more = b.ins().icmp(IntCC::UnsignedLessThan, lg, lanes);
    b.ins().brif(more, lg_body, &[], lg_exit, &[]);

    b.switch_to_block(lg_body);
    let h = b.use_var(h_var);
    let lg = b.use_var(lg_var);
    let lg_bytes = b.ins().ishl_imm_u(lg, 2);
    for &a in &acc {
        let z = b.ins().f32const(0.0);
        let zv = b.ins().splat(F32X4, z);
        b.def_var(a, zv);
    }
    let ctx = LaneCtx {
        src,
        weights,
        lane_bytes,
        lg_bytes,
    };
    for g in &block.groups {
        emit_group(b, g, h, &ctx, &acc);
    }
    let params: Vec<Value> = acc.iter().map(|&a| b.use_var(a)).collect();
    let beta_addr = b.ins().iadd(betas, lg_bytes);
    let beta = b.ins().load(F32X4, flags(), beta_addr, 0);
    let slot = b.ins().iadd_imm_u(h, block.first_slot as i64);
    let slot32 = b.ins().ireduce(I32, slot);
    let lg32 = b.ins().ireduce(I32, lg);
    let chain0 = b.ins().iadd(first_chain, lg32);
    let rng = RngInputs {
        chain0,
        slot: slot32,
        sweep_key,
    };
    let value = emit_update(b, block.kind, rule, &params, beta, &rng, args, slot32, lg);
    let row = b.ins().imul(slot, lane_bytes);
    let addr = b.ins().iadd(state, row);
    let addr = b.ins().iadd(addr, lg_bytes);
    b.ins().store(flags(), value, addr, 0);
    let next = b.ins().iadd_imm_u(lg, 4);
    b.def_var(lg_var, next);
    b.ins().jump(lg_head, &[]);

    b.switch_to_block(lg_exit);
    let h = b.use_var(h_var);
    let next = b.ins().iadd_imm_u(h, 1);
    b.def_var(h_var, next);
    b.ins().jump(h_head, &[]);

    b.switch_to_block(done);
    let ok = b.ins().iconst(I32, 0);
    b.ins().return_(&[ok]);
    b.seal_all_blocks();
}

/// Pointers and strides shared by the group loops of one lane group.
struct LaneCtx {
    src: Value,
    weights: Value,
    lane_bytes: Value,
    lg_bytes: Value,
}

/// Loads the f32x4 of tail slot `slot` (an i64) for the current lane group.
fn load_tail(b: &mut FunctionBuilder<'_>, ctx: &LaneCtx, slot: Value) -> Value {
    let row = b.ins().imul(slot, ctx.lane_bytes);
    let addr = b.ins().iadd(ctx.src, row);
    let addr = b.ins().iadd(addr, ctx.lg_bytes);
    b.ins().load(F32X4, flags(), addr, 0)
}

/// Emits the term loop of one interaction group for head `h`, adding into `acc`.
fn emit_group(
    b: &mut FunctionBuilder<'_>,
    g: &InteractionGroup,
    h: Value,
    ctx: &LaneCtx,
    acc: &[Variable],
) {
    let arity = g.arity();
    let nc = g.cat_strides.len();
    let np = g.product_tails as usize;
    let offsets = b.ins().iconst(I64, g.offsets.as_ptr() as i64);
    let bases = b.ins().iconst(I64, g.weight_base.as_ptr() as i64);
    let tails = b.ins().iconst(I64, g.tails.as_ptr() as i64);
    let h4 = b.ins().ishl_imm_u(h, 2);
    let off_addr = b.ins().iadd(offsets, h4);
    let t0 = b.ins().uload32(flags(), off_addr, 0);
    let t1 = b.ins().uload32(flags(), off_addr, 4);
    let t_var = b.declare_var(I64);
    b.def_var(t_var, t0);
    let head = b.create_block();
    let body = b.create_block();
    let exit = b.create_block();
    b.ins().jump(head, &[]);
    b.switch_to_block(head);
    let t = b.use_var(t_var);
    let more = b.ins().icmp(IntCC::UnsignedLessThan, t, t1);
    b.ins().brif(more, body, &[], exit, &[]);

    b.switch_to_block(body);
    let t = b.use_var(t_var);
    let t4 = b.ins().ishl_imm_u(t, 2);
    let base_addr = b.ins().iadd(bases, t4);
    let base = b.ins().uload32(flags(), base_addr, 0);
    let tail_row = b.ins().imul_imm_u(t, (arity * 4) as i64);
    let tail_addr = b.ins().iadd(tails, tail_row);
    let tail_slot =
        |b: &mut FunctionBuilder<'_>, j: usize| b.ins().uload32(flags(), tail_addr, (j * 4) as i32);

    // Categorical tails: per-lane offsets Σ stride_j · c_j.
    let mut idx: Option<Value> = None;
    for (j, &stride) in g.cat_strides.iter().enumerate() {
        let slot = tail_slot(b, j);
        let v = load_tail(b, ctx, slot);
        let c = b.ins().fcvt_to_sint_sat(I32X4, v);
        let sv = b.ins().iconst(I32, stride as i64);
        let sv = b.ins().splat(I32X4, sv);
        let term = b.ins().imul(c, sv);
        idx = Some(match idx {
            None => term,
            Some(i) => b.ins().iadd(i, term),
        });
    }
    // Tail product, left to right.
    let mut rest: Option<Value> = None;
    let mut mul = |b: &mut FunctionBuilder<'_>, v: Value| {
        rest = Some(match rest {
            None => v,
            Some(r) => b.ins().fmul(r, v),
        });
    };
    for j in nc..nc + np {
        let slot = tail_slot(b, j);
        let v = load_tail(b, ctx, slot);
        mul(b, v);
    }
    for (j, &p) in (nc + np..arity).zip(&g.gaussian_powers) {
        let slot = tail_slot(b, j);
        let x = load_tail(b, ctx, slot);
        mul(b, x);
        if p == Power::Two {
            mul(b, x);
        }
    }
    let (targets, head_stride): (Vec<(usize, u32)>, u32) = match g.head {
        HeadRole::Product | HeadRole::Gaussian { power: Power::One } => (vec![(0, 0)], 0),
        HeadRole::Gaussian { power: Power::Two } => (vec![(1, 0)], 0),
        HeadRole::Categorical { stride } => {
            ((0..acc.len()).map(|k| (k, k as u32)).collect(), stride)
        }
    };
    for (a, k) in targets {
        let w = load_weight(b, ctx.weights, base, k * head_stride, idx);
        let term = match rest {
            None => w,
            Some(r) => b.ins().fmul(w, r),
        };
        let cur = b.use_var(acc[a]);
        let sum = b.ins().fadd(cur, term);
        b.def_var(acc[a], sum);
    }
    let next = b.ins().iadd_imm_u(t, 1);
    b.def_var(t_var, next);
    b.ins().jump(head, &[]);
    b.switch_to_block(exit);
}

/// The f32x4 of weights at `base + extra (+ idx lane)`: a splat when no categorical tail
/// indexes the weights, else four scalar loads (no gather instruction exists).
fn load_weight(
    b: &mut FunctionBuilder<'_>,
    weights: Value,
    base: Value,
    extra: u32,
    idx: Option<Value>,
) -> Value {
    let base = b.ins().iadd_imm_u(base, extra as i64);
    match idx {
        None => {
            let off = b.ins().ishl_imm_u(base, 2);
            let addr = b.ins().iadd(weights, off);
            let w = b.ins().load(F32, flags(), addr, 0);
            b.ins().splat(F32X4, w)
        }
        Some(idx) => {
            let mut v = None;
            for lane in 0..4u8 {
                let i = b.ins().extractlane(idx, lane);
                let i = b.ins().uextend(I64, i);
                let i = b.ins().iadd(i, base);
                let off = b.ins().ishl_imm_u(i, 2);
                let addr = b.ins().iadd(weights, off);
                let w = b.ins().load(F32, flags(), addr, 0);
                v = Some(match v {
                    None => b.ins().splat(F32X4, w),
                    Some(v) => b.ins().insertlane(v, w, lane),
                });
            }
            v.expect("four lanes")
        }
    }
}

/// Scalar inputs of the random words of one lane group.
struct RngInputs {
    chain0: Value,
    slot: Value,
    sweep_key: Value,
}

/// The first `count` random words of the lane group (mirror of the reference's `word(i)`).
fn random_words(s: &mut Simd<'_, '_>, rng: &RngInputs, count: usize) -> Vec<Value> {
    let lanes = s.b.func.dfg.constants.insert(ConstantData::from(
        [0u32, 1, 2, 3].iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>(),
    ));
    let lane_ids = s.b.ins().vconst(I32X4, lanes);
    let c0 = s.b.ins().splat(I32X4, rng.chain0);
    let chains = s.b.ins().iadd(c0, lane_ids);
    let m = s.i(random::CHAIN_MUL);
    let chain_mul = s.b.ins().imul(chains, m);
    (0..count)
        .map(|i| {
            let k = s.node_key(rng.sweep_key, rng.slot, i == 1);
            s.lane_word(k, chain_mul)
        })
        .collect()
}

/// The new values of one lane group from its conditional parameters.
#[allow(clippy::too_many_arguments)]
fn emit_update(
    b: &mut FunctionBuilder<'_>,
    kind: NodeKind,
    rule: UpdateRule,
    params: &[Value],
    beta: Value,
    rng: &RngInputs,
    args: Value,
    slot32: Value,
    lg: Value,
) -> Value {
    let mut s = Simd { b };
    match kind {
        NodeKind::Spin | NodeKind::Binary => {
            let g = s.b.ins().fmul(params[0], beta);
            let (up, down) = if kind == NodeKind::Spin {
                (1.0, -1.0)
            } else {
                (1.0, 0.0)
            };
            let arg = |s: &mut Simd<'_, '_>| {
                if kind == NodeKind::Spin {
                    let m2 = s.f(-2.0);
                    s.b.ins().fmul(g, m2)
                } else {
                    s.b.ins().fneg(g)
                }
            };
            match rule {
                UpdateRule::Sample => {
                    let w = random_words(&mut s, rng, 1);
                    let u = s.uniform(w[0]);
                    let t = arg(&mut s);
                    let e = s.exp(t);
                    let ue = s.b.ins().fmul(u, e);
                    let sum = s.b.ins().fadd(u, ue);
                    let one = s.f(1.0);
                    let m = s.b.ins().fcmp(FloatCC::LessThan, sum, one);
                    let (x, y) = (s.f(up), s.f(down));
                    s.sel(m, x, y)
                }
                UpdateRule::Mean => {
                    let t = arg(&mut s);
                    let e = s.exp(t);
                    let one = s.f(1.0);
                    let den = s.b.ins().fadd(one, e);
                    if kind == NodeKind::Spin {
                        let num = s.b.ins().fsub(one, e);
                        s.b.ins().fdiv(num, den)
                    } else {
                        s.b.ins().fdiv(one, den)
                    }
                }
                UpdateRule::Mode => {
                    let zero = s.f(0.0);
                    let m = s.b.ins().fcmp(FloatCC::GreaterThanOrEqual, g, zero);
                    let (x, y) = (s.f(up), s.f(down));
                    s.sel(m, x, y)
                }
            }
        }
        NodeKind::Categorical(_) => {
            let t: Vec<Value> = params.iter().map(|&p| s.b.ins().fmul(p, beta)).collect();
            let mut max = t[0];
            for &tk in &t[1..] {
                let gt = s.b.ins().fcmp(FloatCC::GreaterThan, tk, max);
                max = s.sel(gt, tk, max);
            }
            match rule {
                UpdateRule::Sample => {
                    let w = random_words(&mut s, rng, 1);
                    let u = s.uniform(w[0]);
                    let mut total = s.f(0.0);
                    let mut cum = Vec::with_capacity(t.len());
                    for &tk in &t {
                        let d = s.b.ins().fsub(tk, max);
                        let e = s.exp(d);
                        total = s.b.ins().fadd(total, e);
                        cum.push(total);
                    }
                    let target = s.b.ins().fmul(u, total);
                    let mut count = s.i(0);
                    for &c in &cum[..cum.len() - 1] {
                        let le = s.b.ins().fcmp(FloatCC::LessThanOrEqual, c, target);
                        count = s.b.ins().isub(count, le);
                    }
                    s.b.ins().fcvt_from_sint(F32X4, count)
                }
                UpdateRule::Mode => {
                    let mut res = s.f(0.0);
                    for (k, &tk) in t.iter().enumerate().rev() {
                        let eq = s.b.ins().fcmp(FloatCC::Equal, tk, max);
                        let kv = s.f(k as f32);
                        res = s.sel(eq, kv, res);
                    }
                    res
                }
                // Rejected when the backend is built; never emitted.
                UpdateRule::Mean => s.f(0.0),
            }
        }
        NodeKind::Gaussian => {
            let eta1 = s.b.ins().fmul(params[0], beta);
            let eta2 = s.b.ins().fmul(params[1], beta);
            let m2 = s.f(-2.0);
            let precision = s.b.ins().fmul(eta2, m2);
            let zero = s.f(0.0);
            let inf = s.f(f32::INFINITY);
            let pos = s.b.ins().fcmp(FloatCC::GreaterThan, precision, zero);
            let fin = s.b.ins().fcmp(FloatCC::LessThan, precision, inf);
            let p_ok = s.b.ins().band(pos, fin);
            let mean = s.b.ins().fdiv(eta1, precision);
            let x = match rule {
                UpdateRule::Sample => {
                    let w = random_words(&mut s, rng, 2);
                    let u1 = s.uniform(w[0]);
                    let u2 = s.uniform(w[1]);
                    let z = s.standard_normal(u1, u2);
                    let sd = s.b.ins().sqrt(precision);
                    let zs = s.b.ins().fdiv(z, sd);
                    s.b.ins().fadd(mean, zs)
                }
                UpdateRule::Mean | UpdateRule::Mode => mean,
            };
            let ax = s.b.ins().fabs(x);
            let x_ok = s.b.ins().fcmp(FloatCC::LessThan, ax, inf);
            let all_ok = s.b.ins().band(p_ok, x_ok);
            let all = s.b.ins().vall_true(all_ok);
            let bad_block = s.b.create_block();
            let good_block = s.b.create_block();
            s.b.set_cold_block(bad_block);
            s.b.ins().brif(all, good_block, &[], bad_block, &[]);
            s.b.switch_to_block(bad_block);
            let f = flags();
            s.b.ins()
                .store(f, slot32, args, offset_of!(KernelArgs, err_slot) as i32);
            s.b.ins()
                .store(f, lg, args, offset_of!(KernelArgs, err_lane) as i32);
            s.b.ins().store(
                f,
                p_ok,
                args,
                offset_of!(KernelArgs, err_precision_mask) as i32,
            );
            s.b.ins()
                .store(f, x_ok, args, offset_of!(KernelArgs, err_value_mask) as i32);
            s.b.ins().store(
                f,
                precision,
                args,
                offset_of!(KernelArgs, err_precision) as i32,
            );
            s.b.ins()
                .store(f, x, args, offset_of!(KernelArgs, err_value) as i32);
            let code = s.b.ins().iconst(I32, KERNEL_GAUSSIAN_ERROR as i64);
            s.b.ins().return_(&[code]);
            s.b.switch_to_block(good_block);
            x
        }
    }
}
