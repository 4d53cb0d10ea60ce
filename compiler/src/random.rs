//! Position-addressed randomness: Philox4x32-10 (Salmon et al., SC'11), a counter-based
//! generator that passes BigCrush. Every draw is a pure function of (key, counter), so a
//! node's random numbers do not depend on which thread or chunk updates it.
//!
//! Counter layout of a node update: `[chain, slot, sweep_lo, sweep_hi]`. The top bit of
//! `sweep_hi` selects the stream: 0 for updates, 1 for initial states.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Ten Philox rounds of `counter` under `key`: four independent 32-bit words.
#[inline(always)]
pub fn philox4x32(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let [mut c0, mut c1, mut c2, mut c3] = counter;
    let [mut k0, mut k1] = key;
    for _ in 0..10 {
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

/// The counter of the update of `slot` in `chain` during sweep `sweep`.
#[inline(always)]
pub fn update_counter(chain: u32, slot: u32, sweep: u64) -> [u32; 4] {
    [
        chain,
        slot,
        sweep as u32,
        ((sweep >> 32) as u32) & 0x7fff_ffff,
    ]
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
