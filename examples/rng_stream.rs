//! Raw 32-bit words of the update hash (`blockgibbs::compiler::random`) on stdout, for
//! statistical test suites. See RNG.md for the results.
//!
//! ```text
//! cargo run --release --example rng_stream -- ORDER [COUNT] | dieharder -g 200 -a
//! cargo run --release --example rng_stream -- ORDER | dieharder -g 200 -d 2 -Y 1
//! ```
//!
//! Words are little-endian `u32`s; the stream is endless unless COUNT words are asked for.
//! The key is that of seed 1 (as `Sampler` derives it) except in `seeds`. ORDER is one of
//! - `chain-major`: one node's time series: sweeps 0..2^20 of (chain, slot), then the next
//!   pair (chain = p mod 64, slot = p / 64 for p = 0, 1, ...);
//! - `sweep-major`: the kernel's order: for sweep, for slot in 0..4096, for chain in 0..64;
//! - `lanes`: sweep 0; for slot, chains 0..2^12 (cross-chain independence);
//! - `second`: as `sweep-major` but each chain gives its first then its second word;
//! - `seeds`: sweep 0, slot 0, chain 0 under the keys of seeds 0, 1, 2, ...;
//! - `chacha`: ChaCha20 seeded with 1, the reference generator.

use blockgibbs::compiler::random::{lane_word, node_key, sweep_key};
use rand::{RngCore, SeedableRng};
use std::io::Write;

const SLOTS: u32 = 4096;
const CHAINS: u32 = 64;

/// The key of a seed, exactly as `runtime/src/sampler.rs::derive_key` derives it.
fn derive_key(seed: u64) -> [u32; 2] {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    [rng.next_u32(), rng.next_u32()]
}

/// Buffered little-endian output that stops after `left` words or when the reader leaves.
struct Out {
    buf: Vec<u8>,
    left: u64,
    stdout: std::io::Stdout,
}

impl Out {
    /// Queues `w`; false once the stream is finished.
    fn put(&mut self, w: u32) -> bool {
        self.buf.extend_from_slice(&w.to_le_bytes());
        self.left -= 1;
        if self.buf.len() >= 1 << 16 || self.left == 0 {
            let ok = self.stdout.lock().write_all(&self.buf).is_ok();
            self.buf.clear();
            return ok && self.left > 0;
        }
        true
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let order = args.get(1).map(String::as_str).unwrap_or("sweep-major");
    let count = args.get(2).map_or(u64::MAX, |c| c.parse().expect("COUNT"));
    let out = &mut Out {
        buf: Vec::with_capacity(1 << 16),
        left: count,
        stdout: std::io::stdout(),
    };
    let key = derive_key(1);
    match order {
        "chain-major" => {
            for p in 0u32.. {
                let (chain, slot) = (p % CHAINS, p / CHAINS);
                for sweep in 0..1 << 20 {
                    let nk = node_key(sweep_key(key, sweep), slot, false);
                    if !out.put(lane_word(nk, chain)) {
                        return;
                    }
                }
            }
        }
        "sweep-major" | "second" => {
            for sweep in 0u64.. {
                let sk = sweep_key(key, sweep);
                for slot in 0..SLOTS {
                    let (first, second) = (node_key(sk, slot, false), node_key(sk, slot, true));
                    for chain in 0..CHAINS {
                        if !out.put(lane_word(first, chain))
                            || (order == "second" && !out.put(lane_word(second, chain)))
                        {
                            return;
                        }
                    }
                }
            }
        }
        "lanes" => {
            let sk = sweep_key(key, 0);
            for slot in 0u32.. {
                let nk = node_key(sk, slot, false);
                for chain in 0..1 << 12 {
                    if !out.put(lane_word(nk, chain)) {
                        return;
                    }
                }
            }
        }
        "seeds" => {
            for seed in 0u64.. {
                let nk = node_key(sweep_key(derive_key(seed), 0), 0, false);
                if !out.put(lane_word(nk, 0)) {
                    return;
                }
            }
        }
        "chacha" => {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
            while out.put(rng.next_u32()) {}
        }
        _ => panic!("unknown ORDER {order}: see the doc comment of examples/rng_stream.rs"),
    }
}
