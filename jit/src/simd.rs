//! f32x4 / i32x4 emission of the shared arithmetic: the exact instruction-for-instruction
//! mirror of `blockgibbs_compiler::approx` and `random`, lane by lane, so that the JIT and
//! the reference backend produce bit-identical values.

use blockgibbs_compiler::{approx, random};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::types::{F32X4, I32, I32X4};
use cranelift_codegen::ir::{ConstantData, Endianness, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;
use std::collections::HashMap;

/// Splat constants already emitted in the current region, by type and bit pattern.
pub(crate) type ConstCache = HashMap<(Type, u32), Value>;

/// Emission helpers over one function builder.
pub(crate) struct Simd<'a, 'b> {
    pub b: &'a mut FunctionBuilder<'b>,
    /// When set, constants are emitted once and reused: the lane groups that one head
    /// updates in turn then share them (in registers) instead of reloading each.
    consts: Option<&'a mut ConstCache>,
}

impl<'a, 'b> Simd<'a, 'b> {
    /// Helpers that emit a fresh constant at every use.
    pub fn new(b: &'a mut FunctionBuilder<'b>) -> Self {
        Simd { b, consts: None }
    }

    /// Helpers that reuse the constants in `consts`. Every value in it must dominate the
    /// code emitted from here on.
    pub fn cached(b: &'a mut FunctionBuilder<'b>, consts: &'a mut ConstCache) -> Self {
        Simd {
            b,
            consts: Some(consts),
        }
    }

    /// A splat f32x4 constant, loaded whole from the constant pool (one instruction, where
    /// `f32const` + `splat` would cost a scalar load and a shuffle inside every loop).
    pub fn f(&mut self, x: f32) -> Value {
        self.pool(F32X4, x.to_bits())
    }

    /// A splat i32x4 constant.
    pub fn i(&mut self, x: u32) -> Value {
        self.pool(I32X4, x)
    }

    fn pool(&mut self, ty: Type, bits: u32) -> Value {
        if let Some(&v) = self.consts.as_ref().and_then(|c| c.get(&(ty, bits))) {
            return v;
        }
        let bytes: Vec<u8> = std::iter::repeat_n(bits.to_le_bytes(), 4)
            .flatten()
            .collect();
        let c = self.b.func.dfg.constants.insert(ConstantData::from(bytes));
        let v = self.b.ins().vconst(ty, c);
        if let Some(cache) = self.consts.as_mut() {
            cache.insert((ty, bits), v);
        }
        v
    }

    /// The i32x4 vector `[0, 1, 2, 3]`.
    pub fn lane_ids(&mut self) -> Value {
        let bytes: Vec<u8> = (0u32..4).flat_map(|x| x.to_le_bytes()).collect();
        let c = self.b.func.dfg.constants.insert(ConstantData::from(bytes));
        self.b.ins().vconst(I32X4, c)
    }

    /// Reinterprets a vector as another vector type of the same width.
    pub fn cast(&mut self, ty: Type, v: Value) -> Value {
        self.b.ins().bitcast(
            ty,
            MemFlagsData::new().with_endianness(Endianness::Little),
            v,
        )
    }

    /// Lane-wise `mask ? x : y` on floats, with an i32x4 mask from a comparison.
    pub fn sel(&mut self, mask: Value, x: Value, y: Value) -> Value {
        let m = self.cast(F32X4, mask);
        self.b.ins().bitselect(m, x, y)
    }

    /// `a · x + c` in Horner form over the coefficients (no fusion), starting from c[0].
    fn horner(&mut self, x: Value, coeffs: &[f32]) -> Value {
        let mut p = self.f(coeffs[0]);
        for &c in &coeffs[1..] {
            let px = self.b.ins().fmul(p, x);
            let cv = self.f(c);
            p = self.b.ins().fadd(px, cv);
        }
        p
    }

    /// Mirror of `approx::exp(x · k)` for `k` a signed power of two, in one multiplication
    /// fewer: `x · k` is exact, so `(x · k) · log₂e` and `x · (k · log₂e)` round alike.
    pub fn exp_scaled(&mut self, x: Value, k: f32) -> Value {
        self.exp_clamped(x, k, true)
    }

    /// Mirror of [`approx::exp`] for arguments known to be ≤ 0 or NaN (differences from a
    /// maximum): the upper clamp cannot change them, so it is left out.
    pub fn exp_nonpositive(&mut self, x: Value) -> Value {
        self.exp_clamped(x, 1.0, false)
    }

    fn exp_clamped(&mut self, x: Value, k: f32, clamp_above: bool) -> Value {
        assert!(
            k != 0.0 && k.abs().log2().fract() == 0.0,
            "exp_scaled needs a power of two"
        );
        let k_log2e = self.f(k * approx::LOG2E);
        let t = self.b.ins().fmul(x, k_log2e);
        let lo = self.f(approx::EXP_T_MIN);
        let below = self.b.ins().fcmp(FloatCC::LessThan, t, lo);
        let t = self.sel(below, lo, t);
        let t = if clamp_above {
            let hi = self.f(approx::EXP_T_MAX);
            // `hi < t` rather than `t > hi`: the same lanes, in the shape Cranelift lowers to
            // one `minps` (the lower bound's shape already becomes `maxps`).
            let above = self.b.ins().fcmp(FloatCC::LessThan, hi, t);
            self.sel(above, hi, t)
        } else {
            t
        };
        // n = round_even(t) by the reference's add-and-subtract; the sum's bits also hold n
        // as an integer (|t| ≤ 126 keeps it in the binade of the magic constant), which
        // saves the float-to-int conversion.
        let magic = self.f(approx::ROUND_MAGIC);
        let tm = self.b.ins().fadd(t, magic);
        let n = self.b.ins().fsub(tm, magic);
        let f = self.b.ins().fsub(t, n);
        let p = self.horner(f, &approx::EXP_COEFFS);
        let bits = self.cast(I32X4, tm);
        let bias = self.i(approx::ROUND_MAGIC.to_bits() - 127);
        let e = self.b.ins().isub(bits, bias);
        let sh = self.b.ins().iconst(I32, 23);
        let e = self.b.ins().ishl(e, sh);
        let scale = self.cast(F32X4, e);
        self.b.ins().fmul(p, scale)
    }

    /// Mirror of [`approx::ln`].
    pub fn ln(&mut self, x: Value) -> Value {
        let xi = self.cast(I32X4, x);
        let shift = self.i(approx::LN_SHIFT);
        let ix = self.b.ins().iadd(xi, shift);
        let sh = self.b.ins().iconst(I32, 23);
        let k = self.b.ins().ushr(ix, sh);
        let bias = self.i(127);
        let k = self.b.ins().isub(k, bias);
        let mant = self.i(0x007f_ffff);
        let m = self.b.ins().band(ix, mant);
        let half = self.i(approx::LN_SQRT_HALF_BITS);
        let m = self.b.ins().iadd(m, half);
        let m = self.cast(F32X4, m);
        let one = self.f(1.0);
        let num = self.b.ins().fsub(m, one);
        let den = self.b.ins().fadd(m, one);
        let s = self.b.ins().fdiv(num, den);
        let s2 = self.b.ins().fmul(s, s);
        let p = self.horner(s2, &approx::LN_COEFFS);
        let two = self.f(2.0);
        let two_s = self.b.ins().fmul(two, s);
        let lnm = self.b.ins().fmul(two_s, p);
        let kf = self.b.ins().fcvt_from_sint(F32X4, k);
        let ln2 = self.f(approx::LN2);
        let kl = self.b.ins().fmul(kf, ln2);
        self.b.ins().fadd(kl, lnm)
    }

    /// Mirror of [`approx::cos_2pi`].
    pub fn cos_2pi(&mut self, u: Value) -> Value {
        let n = self.b.ins().nearest(u);
        let r = self.b.ins().fsub(u, n);
        let a = self.b.ins().fabs(r);
        let quarter = self.f(0.25);
        let aq = self.b.ins().fsub(a, quarter);
        let tau = self.f(std::f32::consts::TAU);
        let z = self.b.ins().fmul(aq, tau);
        let z2 = self.b.ins().fmul(z, z);
        let p = self.horner(z2, &approx::SIN_COEFFS);
        let zp = self.b.ins().fmul(z, p);
        self.b.ins().fneg(zp)
    }

    /// Mirror of [`approx::standard_normal`].
    pub fn standard_normal(&mut self, u1: Value, u2: Value) -> Value {
        let one = self.f(1.0);
        let v = self.b.ins().fsub(one, u1);
        let l = self.ln(v);
        let m2 = self.f(-2.0);
        let r2 = self.b.ins().fmul(m2, l);
        let r = self.b.ins().sqrt(r2);
        let c = self.cos_2pi(u2);
        self.b.ins().fmul(r, c)
    }

    /// Mirror of [`random::uniform`].
    pub fn uniform(&mut self, w: Value) -> Value {
        let sh = self.b.ins().iconst(I32, 8);
        let top = self.b.ins().ushr(w, sh);
        let f = self.b.ins().fcvt_from_sint(F32X4, top);
        let scale = self.f(1.0 / 16_777_216.0);
        self.b.ins().fmul(f, scale)
    }

    /// A constant of the type of `like` (i32 scalar or i32x4 splat).
    fn int_like(&mut self, like: Value, x: u32) -> Value {
        if self.b.func.dfg.value_type(like) == I32X4 {
            self.i(x)
        } else {
            self.b.ins().iconst(I32, x as i32 as i64)
        }
    }

    /// Mirror of [`random::fmix32`] on an i32 or i32x4 value.
    pub fn fmix32(&mut self, x: Value) -> Value {
        let mut x = x;
        for (shift, mul) in [
            (16, Some(random::FMIX_M1)),
            (13, Some(random::FMIX_M2)),
            (16, None),
        ] {
            let sh = self.b.ins().iconst(I32, shift);
            let s = self.b.ins().ushr(x, sh);
            x = self.b.ins().bxor(x, s);
            if let Some(m) = mul {
                let mv = self.int_like(x, m);
                x = self.b.ins().imul(x, mv);
            }
        }
        x
    }

    /// Mirror of [`random::node_key`] on a scalar sweep key and a scalar slot or an i32x4
    /// vector of slots (then the keys are a vector too).
    pub fn node_key(&mut self, sweep_key: Value, slot: Value, second: bool) -> Value {
        let m = self.int_like(slot, random::SLOT_MUL);
        let s = self.b.ins().imul(slot, m);
        let key = if self.b.func.dfg.value_type(slot) == I32X4 {
            self.b.ins().splat(I32X4, sweep_key)
        } else {
            sweep_key
        };
        let x = self.b.ins().bxor(key, s);
        let k = self.fmix32(x);
        if second {
            let c = self.int_like(k, random::SECOND_WORD);
            let x = self.b.ins().bxor(k, c);
            self.fmix32(x)
        } else {
            k
        }
    }

    /// Mirror of [`random::lane_word`]: `chain_mul` holds `chain · CHAIN_MUL` per lane and
    /// `node_key` is one key for all lanes (scalar) or one per lane (i32x4).
    pub fn lane_word(&mut self, node_key: Value, chain_mul: Value) -> Value {
        let k = if self.b.func.dfg.value_type(node_key) == I32X4 {
            node_key
        } else {
            self.b.ins().splat(I32X4, node_key)
        };
        let x = self.b.ins().bxor(k, chain_mul);
        self.fmix32(x)
    }
}
