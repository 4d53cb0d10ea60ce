//! Position-addressed randomness. Every draw is a pure function of (key, chain, slot,
//! sweep), so a node's random numbers do not depend on which thread or chunk updates it.
//!
//! - Updates use a keyed hash built from Murmur3's 32-bit finaliser [`fmix32`]: a scalar
//!   [`sweep_key`] per kernel call, a scalar [`node_key`] per head, and one vector
//!   [`lane_word`] per lane — about ten integer instructions per four chains, which is what
//!   lets a SIMD kernel stay within a few nanoseconds per update. Its streams are checked with
//!   dieharder (see RNG.md) and by the exact-distribution tests.
//! - Initial states use Philox4x32-10 (Salmon et al., SC'11; passes BigCrush) addressed by
//!   `[chain, slot, 0, 1<<31]`: drawn once, so its cost does not matter.

/// Philox multiplier of counter word 0.
pub const M0: u32 = 0xD251_1F53;
/// Philox multiplier of counter word 2.
pub const M1: u32 = 0xCD9E_8D57;
/// Weyl increment of key word 0.
pub const W0: u32 = 0x9E37_79B9;
/// Weyl increment of key word 1.
pub const W1: u32 = 0xBB67_AE85;
/// Number of Philox rounds.
pub const ROUNDS: usize = 10;

/// Ten Philox rounds of `counter` under `key`: four independent 32-bit words.
#[inline(always)]
pub fn philox4x32(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let [mut c0, mut c1, mut c2, mut c3] = counter;
    let [mut k0, mut k1] = key;
    for _ in 0..ROUNDS {
        let p0 = (M0 as u64) * (c0 as u64);
        let p1 = (M1 as u64) * (c2 as u64);
        let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
        let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 = k0.wrapping_add(W0);
        k1 = k1.wrapping_add(W1);
    }
    [c0, c1, c2, c3]
}

/// A uniform in [0, 1) from the top 24 bits of a word; exact in f32, so `1 − u` is never 0.
#[inline(always)]
pub fn uniform(word: u32) -> f32 {
    (word >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Murmur3's 32-bit finaliser: a bijection with full avalanche.
#[inline(always)]
pub fn fmix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(FMIX_M1);
    x ^= x >> 13;
    x = x.wrapping_mul(FMIX_M2);
    x ^= x >> 16;
    x
}

/// First multiplier of [`fmix32`].
pub const FMIX_M1: u32 = 0x85eb_ca6b;
/// Second multiplier of [`fmix32`].
pub const FMIX_M2: u32 = 0xc2b2_ae35;
/// Odd constant spreading chain indices before hashing.
pub const CHAIN_MUL: u32 = 0x2c1b_3c6d;
/// Odd constant spreading slots before hashing.
pub const SLOT_MUL: u32 = 0x9e37_79b9;
/// Offset separating a head's second word from its first.
pub const SECOND_WORD: u32 = 0x6a09_e667;

/// The key of one sweep: mixes the seed's key with the 64-bit sweep number.
#[inline(always)]
pub fn sweep_key(key: [u32; 2], sweep: u64) -> u32 {
    fmix32(key[0] ^ fmix32((sweep as u32) ^ fmix32(key[1] ^ (sweep >> 32) as u32)))
}

/// The key of one head (slot) within a sweep; `second` selects the head's second word
/// (Gaussian draws need two uniforms).
#[inline(always)]
pub fn node_key(sweep_key: u32, slot: u32, second: bool) -> u32 {
    let k = fmix32(sweep_key ^ slot.wrapping_mul(SLOT_MUL));
    if second { fmix32(k ^ SECOND_WORD) } else { k }
}

/// The random word of one chain under a head's key.
#[inline(always)]
pub fn lane_word(node_key: u32, chain: u32) -> u32 {
    fmix32(node_key ^ chain.wrapping_mul(CHAIN_MUL))
}

/// The counter of the initial value of `slot` in `chain`.
#[inline(always)]
pub fn init_counter(chain: u32, slot: u32) -> [u32; 4] {
    [chain, slot, 0, 0x8000_0000]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn philox_matches_random123_known_answers() {
        assert_eq!(
            philox4x32([0; 4], [0; 2]),
            [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
        );
        assert_eq!(
            philox4x32([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
        assert_eq!(
            philox4x32(
                [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
                [0xa409_3822, 0x299f_31d0]
            ),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    #[test]
    fn fmix32_is_murmur3_finaliser() {
        // Reference values of MurmurHash3's fmix32.
        assert_eq!(fmix32(0), 0);
        assert_eq!(fmix32(1), 0x514e_28b7);
        assert_eq!(fmix32(0xdead_beef), 0x0de5_c6a9);
    }

    #[test]
    fn uniforms_are_in_unit_interval_and_fill_it() {
        assert_eq!(uniform(0), 0.0);
        assert!(uniform(u32::MAX) < 1.0);
        assert!(1.0 - uniform(u32::MAX) > 0.0);
        let n = 200_000u32;
        let mean: f64 = (0..n)
            .map(|i| uniform(philox4x32([i, 0, 0, 0], [7, 9])[0]) as f64)
            .sum::<f64>()
            / n as f64;
        // Standard error of the mean of U(0,1) is 1/sqrt(12 n) ≈ 6.5e-4; allow 5 of them.
        assert!(
            (mean - 0.5).abs() < 5.0 * (1.0 / (12.0 * n as f64)).sqrt(),
            "mean {mean}"
        );
    }
}
