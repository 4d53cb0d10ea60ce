//! Emission of the conditional update of one lane group: the mirror of the reference
//! backend's `conditional_update`.

use crate::emit::{KERNEL_GAUSSIAN_ERROR, KernelArgs, flags};
use crate::simd::{ConstCache, Simd};
use blockgibbs_ir::{NodeKind, UpdateRule};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::types::{F32X4, I32};
use cranelift_codegen::ir::{InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use std::mem::offset_of;

/// What addresses the random words of a lane group.
pub(crate) struct LaneRng {
    /// The heads' keys (`node_key(sweep_key, slot, false)` and, for Gaussian draws, the
    /// second key): scalars when the lanes are chains of one head, i32x4 when they are heads.
    pub keys: [Option<Value>; 2],
    /// `chain · CHAIN_MUL` of each lane's chain (i32x4).
    pub chain_mul: Value,
}

/// Whether a block of `kind` under `rule` draws random numbers, and how many words.
pub(crate) fn words_needed(kind: NodeKind, rule: UpdateRule) -> usize {
    match (kind, rule) {
        (_, UpdateRule::Mean | UpdateRule::Mode) => 0,
        (NodeKind::Gaussian, UpdateRule::Sample) => 2,
        (_, UpdateRule::Sample) => 1,
    }
}

fn random_words(s: &mut Simd<'_, '_>, rng: &LaneRng) -> Vec<Value> {
    rng.keys
        .iter()
        .flatten()
        .map(|&k| s.lane_word(k, rng.chain_mul))
        .collect()
}

/// Where a failing Gaussian update reports itself.
pub(crate) struct ErrorSink {
    /// The kernel's argument pointer.
    pub args: Value,
    /// The head's slot (i32).
    pub slot: Value,
    /// First lane of the lane group (i64).
    pub lane: Value,
}

/// The new values of one lane group from its conditional parameters. `consts` holds the
/// constants of earlier lane groups of the same head, which this one reuses.
#[allow(clippy::too_many_arguments)]
pub(crate) fn emit_update(
    b: &mut FunctionBuilder<'_>,
    kind: NodeKind,
    rule: UpdateRule,
    params: &[Value],
    beta: Value,
    rng: &LaneRng,
    err: &ErrorSink,
    consts: &mut ConstCache,
) -> Value {
    let mut s = Simd::cached(b, consts);
    match kind {
        NodeKind::Spin | NodeKind::Binary => {
            let g = s.b.ins().fmul(params[0], beta);
            let (up, down) = if kind == NodeKind::Spin {
                (1.0, -1.0)
            } else {
                (1.0, 0.0)
            };
            // The draw needs e^{−2g} (spins) or e^{−g} (binaries).
            let k = if kind == NodeKind::Spin { -2.0 } else { -1.0 };
            match rule {
                UpdateRule::Sample => {
                    let w = random_words(&mut s, rng);
                    let u = s.uniform(w[0]);
                    let e = s.exp_scaled(g, k);
                    let ue = s.b.ins().fmul(u, e);
                    let sum = s.b.ins().fadd(u, ue);
                    let one = s.f(1.0);
                    let m = s.b.ins().fcmp(FloatCC::LessThan, sum, one);
                    let (x, y) = (s.f(up), s.f(down));
                    s.sel(m, x, y)
                }
                UpdateRule::Mean => {
                    let e = s.exp_scaled(g, k);
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
                    let w = random_words(&mut s, rng);
                    let u = s.uniform(w[0]);
                    // The reference starts its running sum at +0.0; 0 + e₀ = e₀ exactly
                    // (e₀ ≥ +0), so the sum starts at e₀.
                    let mut total: Option<Value> = None;
                    let mut cum = Vec::with_capacity(t.len());
                    for &tk in &t {
                        let d = s.b.ins().fsub(tk, max);
                        let e = s.exp_nonpositive(d);
                        let sum = match total {
                            None => e,
                            Some(total) => s.b.ins().fadd(total, e),
                        };
                        total = Some(sum);
                        cum.push(sum);
                    }
                    let total = total.expect("at least two categories");
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
                    let w = random_words(&mut s, rng);
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
            let a = err.args;
            s.b.ins()
                .store(f, err.slot, a, offset_of!(KernelArgs, err_slot) as i32);
            s.b.ins()
                .store(f, err.lane, a, offset_of!(KernelArgs, err_lane) as i32);
            s.b.ins().store(
                f,
                p_ok,
                a,
                offset_of!(KernelArgs, err_precision_mask) as i32,
            );
            s.b.ins()
                .store(f, x_ok, a, offset_of!(KernelArgs, err_value_mask) as i32);
            s.b.ins().store(
                f,
                precision,
                a,
                offset_of!(KernelArgs, err_precision) as i32,
            );
            s.b.ins()
                .store(f, x, a, offset_of!(KernelArgs, err_value) as i32);
            let code = s.b.ins().iconst(I32, KERNEL_GAUSSIAN_ERROR as i64);
            s.b.ins().return_(&[code]);
            s.b.switch_to_block(good_block);
            x
        }
    }
}
