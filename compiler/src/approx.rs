//! The elementary functions every backend uses, written as plain f32 arithmetic (no fused
//! multiply-add, fixed evaluation order) so that the JIT can emit the identical instruction
//! sequence and stay bit-identical with the reference backend.
//!
//! Maximum errors, measured over dense grids by the tests of this module:
//! - [`exp`]: relative error < 5e-7 for |x| ≤ 2 and < 5e-6 on [−87, 87] (degree-5 minimax
//!   of 2^f on |f| ≤ ½; for large |x| the f32 rounding of x·log₂e dominates).
//! - [`ln`]: error < 2e-7 · max(1, |ln x|) on [2^-24, 10^6] (atanh series to s⁹, |s| ≤ 0.172).
//! - [`cos_2pi`]: absolute error < 3e-7 on [0, 1) (odd series of sin to z¹¹ on |z| ≤ π/2).

/// log₂ e, the factor that turns e^x into 2^t.
pub const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2.
pub const LN2: f32 = std::f32::consts::LN_2;
/// Bounds of t = x·log₂e before range reduction.
pub const EXP_T_MIN: f32 = -126.0;
/// Upper bound of t.
pub const EXP_T_MAX: f32 = 126.0;
/// Horner coefficients of 2^f on |f| ≤ ½, highest degree first: the degree-5 polynomial with
/// constant term exactly 1 (so that e^0 = 1) of least maximum *relative* error — 9.1e-8 in
/// exact arithmetic (fitted by Lawson's iteration), 1.9e-7 evaluated in f32. It is more
/// accurate than the degree-6 Taylor polynomial it replaced (2.4e-7 in f32) and costs two
/// instructions fewer per vector.
// The linear coefficient is a fitted value that happens to lie near ln 2, not ln 2 itself.
#[allow(clippy::approx_constant)]
pub const EXP_COEFFS: [f32; 6] = [
    1.326_472_7e-3,
    9.671_513e-3,
    5.550_733_6e-2,
    2.402_224_2e-1,
    6.931_47e-1,
    1.0,
];
/// Bit pattern added to x so that the mantissa lands in [√2/2, √2).
pub const LN_SHIFT: u32 = 0x3f80_0000 - 0x3f35_04f3;
/// Bit pattern of √2/2.
pub const LN_SQRT_HALF_BITS: u32 = 0x3f35_04f3;
/// Horner coefficients in s² of atanh(s)/s, highest first: 1/9, 1/7, 1/5, 1/3, 1.
pub const LN_COEFFS: [f32; 5] = [1.0 / 9.0, 1.0 / 7.0, 1.0 / 5.0, 1.0 / 3.0, 1.0];
/// Horner coefficients in z² of sin(z)/z, highest first.
pub const SIN_COEFFS: [f32; 6] = [
    -1.0 / 39_916_800.0,
    1.0 / 362_880.0,
    -1.0 / 5040.0,
    1.0 / 120.0,
    -1.0 / 6.0,
    1.0,
];

/// 1.5 · 2²³: adding and subtracting it rounds an f32 of magnitude below 2²² to an integer,
/// ties to even.
pub const ROUND_MAGIC: f32 = 12_582_912.0;

/// x rounded to an integer, ties to even, for |x| < 2²². Written with the add-and-subtract
/// trick because `f32::round_ties_even` compiles to a libm call (and blocks vectorisation)
/// on x86-64 targets without SSE4.1. It agrees with IEEE `roundeven` (the JIT's `nearest`)
/// except that it returns +0.0 where `roundeven` returns −0.0, a difference that no caller
/// can observe (it is only subtracted from its argument or converted to an integer).
#[inline(always)]
pub fn round_even(x: f32) -> f32 {
    (x + ROUND_MAGIC) - ROUND_MAGIC
}

/// e^x for finite x; inputs beyond ±87.3 saturate at 2^±126 rather than overflowing.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let t = x * LOG2E;
    // Comparisons rather than f32::clamp so that the JIT's integer-mask select matches.
    let t = if t < EXP_T_MIN { EXP_T_MIN } else { t };
    let t = if t > EXP_T_MAX { EXP_T_MAX } else { t };
    let n = round_even(t);
    let f = t - n;
    let mut p = EXP_COEFFS[0];
    for &c in &EXP_COEFFS[1..] {
        p = p * f + c;
    }
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    p * scale
}

/// ln x for positive normal x.
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    // Shift the mantissa into [√2/2, √2) without a branch.
    let ix = x.to_bits().wrapping_add(LN_SHIFT);
    let k = (ix >> 23) as i32 - 127;
    let m = f32::from_bits((ix & 0x007f_ffff) + LN_SQRT_HALF_BITS);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut p = LN_COEFFS[0];
    for &c in &LN_COEFFS[1..] {
        p = p * s2 + c;
    }
    let lnm = 2.0 * s * p;
    k as f32 * LN2 + lnm
}

/// cos(2πu) for u in [0, 1).
#[inline(always)]
pub fn cos_2pi(u: f32) -> f32 {
    let r = u - round_even(u);
    let a = r.abs();
    // cos(2πa) = −sin(2π(a − ¼)), with 2π(a − ¼) in [−π/2, π/2].
    let z = (a - 0.25) * std::f32::consts::TAU;
    let z2 = z * z;
    let mut p = SIN_COEFFS[0];
    for &c in &SIN_COEFFS[1..] {
        p = p * z2 + c;
    }
    -(z * p)
}

/// A standard normal draw from two uniforms in [0, 1) (Box–Muller, cosine branch).
/// `1 − u1` lies in [2^-24, 1], so the logarithm is finite; |z| ≤ 5.77.
#[inline(always)]
pub fn standard_normal(u1: f32, u2: f32) -> f32 {
    (-2.0 * ln(1.0 - u1)).sqrt() * cos_2pi(u2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(lo: f64, hi: f64, n: usize) -> impl Iterator<Item = f32> {
        (0..=n).map(move |i| (lo + (hi - lo) * i as f64 / n as f64) as f32)
    }

    #[test]
    fn exp_relative_error_is_below_documented_bound() {
        let rel = |x: f32| {
            let exact = (x as f64).exp();
            ((exp(x) as f64 - exact) / exact).abs()
        };
        let near = grid(-2.0, 2.0, 1_000_000).map(rel).fold(0.0, f64::max);
        assert!(near < 5e-7, "max relative error on [-2, 2]: {near}");
        let far = grid(-87.0, 87.0, 2_000_000).map(rel).fold(0.0, f64::max);
        assert!(far < 5e-6, "max relative error on [-87, 87]: {far}");
    }

    #[test]
    fn round_even_matches_ieee_roundeven_on_the_exp_range() {
        for x in grid(-130.0, 130.0, 2_000_000).chain([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, -0.0]) {
            let (a, b) = (round_even(x), x.round_ties_even());
            assert!(a == b, "{x}: {a} vs {b}");
        }
    }

    #[test]
    fn exp_saturates_instead_of_overflowing() {
        assert!(exp(1e30).is_finite() && exp(1e30) > 1e37);
        assert!(exp(-1e30) > 0.0 && exp(-1e30) < 1e-37);
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn ln_absolute_error_is_below_documented_bound() {
        let mut worst = 0.0f64;
        let scaled =
            |x: f32| ((ln(x) as f64 - (x as f64).ln()) / (x as f64).ln().abs().max(1.0)).abs();
        for i in 1..=(1u32 << 24) {
            worst = worst.max(scaled(i as f32 * (1.0 / 16_777_216.0)));
        }
        for x in grid(1.0, 1e6, 100_000) {
            worst = worst.max(scaled(x));
        }
        assert!(worst < 2e-7, "max error {worst}");
    }

    #[test]
    fn cos_2pi_absolute_error_is_below_documented_bound() {
        let worst = (0..(1u32 << 24))
            .map(|i| {
                let u = i as f32 * (1.0 / 16_777_216.0);
                (cos_2pi(u) as f64 - (std::f64::consts::TAU * u as f64).cos()).abs()
            })
            .fold(0.0, f64::max);
        assert!(worst < 3e-7, "max error {worst}");
    }
}
