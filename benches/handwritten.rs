//! The "hand-written loop" baseline of the JIT issue: a plain Rust heat-bath sweep of the 2D
//! Ising model (L = 256, periodic, random N(0,1) couplings from
//! `families::edwards_anderson(2, …)`, β = 0.5), 64 chains innermost (`state[slot·64 + chain]`),
//! f32, one sweep = both checkerboard colours, one thread. It is what LLVM makes of the
//! update when nothing generic stands in the way, so it bounds what a kernel can gain over
//! the reference backend for the same arithmetic.
//!
//! The update is the reference backend's, operation for operation: γ = Σ_k J_k s_k (from 0,
//! in a fixed order), g = γ·β, u = uniform(lane_word(node_key(sweep_key(key, sweep), slot),
//! chain)), e = approx::exp(g·−2), s = +1 if u + u·e < 1 else −1; random numbers are
//! addressed exactly as the reference backend addresses them. Before measuring, the bench
//! checks that the loops reproduce the reference sampler bit for bit (3 sweeps from the
//! reference sampler's own initial state), so the comparison is like for like.
//!
//! Variants (`handwritten/ising2d_L256_gaussJ_64ch_1thread/<variant>`):
//! - `tables_hash`: neighbours and couplings read from the lowered program's CSR tables
//!   (fixed degree 4, same term order as the reference backend: bit-identical on random J).
//!   This is the like-for-like "hand-written loop" figure.
//! - `lattice_hash`: neighbours from lattice arithmetic, couplings from two per-site arrays
//!   (right and down bonds); the term order is fixed (up, left, right, down), so it is
//!   bit-identical to the reference only where sums are exact (checked on uniform J).
//! - `lattice_philox`: a DIFFERENT, stronger RNG: ten Philox4x32-10 rounds per update
//!   (counter = chain, slot, sweep) instead of one Murmur3 finaliser; the price of a
//!   BigCrush-grade counter-based generator.
//! - `lattice_shared_u`: NOT A VALID SAMPLER: one uniform per head shared by all 64 chains,
//!   so the lanes draw no random numbers; the loop's cost without per-update randomness.
//! - suffixes `_avx2`, `_avx512`: the same source compiled with `#[target_feature]`
//!   (AVX2+FMA, AVX-512 F/VL/DQ/BW), dispatched at run time. Rust never contracts `a·b + c`
//!   into an FMA, so these stay bit-identical (checked); they show what wider vectors buy
//!   over the default x86-64 target (SSE2 only; the exp rounds with the 1.5·2²³ trick so
//!   that it vectorises there too — `round_ties_even` would be a libm call per update).
//!
//! `BENCH_CLOCK=cpu` (or `both`) measures process CPU time instead of (or besides) wall time
//! (groups prefixed `cpu/`, see `common/cpu_time.rs`).
//!
//! Throughput is in node updates (`Throughput::Elements` = L² × 64 per sweep).

use blockgibbs::compiler::approx;
use blockgibbs::compiler::random::{lane_word, node_key, philox4x32, sweep_key, uniform};
use blockgibbs::families::{self, Disorder};
use blockgibbs::ir::{HeadRole, Model, Program};
use blockgibbs::prelude::*;
use criterion::{Criterion, SamplingMode, Throughput, measurement::Measurement};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

#[path = "common/cpu_time.rs"]
mod cpu_time;

const L: usize = 256;
const CHAINS: usize = 64;
const BETA: f32 = 0.5;
const SEED: u64 = 1;
const DISORDER_SEED: u64 = 7;

/// The replaceable parts of the update: where its uniforms come from (positioned at a sweep,
/// then one value per head shared by its lanes, then one uniform per lane) and which exp it
/// uses (the reference backend's `approx::exp` unless a variant overrides it).
trait Parts: Copy {
    /// This generator at sweep `sweep`.
    fn at_sweep(self, sweep: u64) -> Self;
    /// The per-head state of head `slot`.
    fn head(self, slot: u32) -> u32;
    /// The uniform of chain `chain` under `head`.
    fn uniform(self, head: u32, chain: u32) -> f32;
    /// e^x.
    #[inline(always)]
    fn exp(x: f32) -> f32 {
        approx::exp(x)
    }
}

/// The reference backend's generator: `sweep_key` per sweep, `node_key` per head and one
/// `lane_word` (a Murmur3 finaliser) per update.
#[derive(Clone, Copy)]
struct ReferenceHash {
    key: [u32; 2],
    sweep_key: u32,
}

impl Parts for ReferenceHash {
    #[inline(always)]
    fn at_sweep(self, sweep: u64) -> Self {
        ReferenceHash {
            sweep_key: sweep_key(self.key, sweep),
            ..self
        }
    }
    #[inline(always)]
    fn head(self, slot: u32) -> u32 {
        node_key(self.sweep_key, slot, false)
    }
    #[inline(always)]
    fn uniform(self, head: u32, chain: u32) -> f32 {
        uniform(lane_word(head, chain))
    }
}

/// Philox4x32-10 (BigCrush-grade) per update, word 0, counter (chain, slot, sweep): the
/// price of a strong counter-based generator. Not the reference backend's stream.
#[derive(Clone, Copy)]
struct PhiloxPerUpdate {
    key: [u32; 2],
    sweep: u64,
}

impl Parts for PhiloxPerUpdate {
    #[inline(always)]
    fn at_sweep(self, sweep: u64) -> Self {
        PhiloxPerUpdate { sweep, ..self }
    }
    #[inline(always)]
    fn head(self, slot: u32) -> u32 {
        slot
    }
    #[inline(always)]
    fn uniform(self, head: u32, chain: u32) -> f32 {
        let counter = [
            chain,
            head,
            self.sweep as u32,
            (self.sweep >> 32) as u32 & 0x7fff_ffff,
        ];
        uniform(philox4x32(counter, self.key)[0])
    }
}

/// NOT A VALID SAMPLER: one uniform per head, shared by all its chains (the reference hash's
/// `node_key`), so the lanes need no random numbers of their own. Only for attributing cost.
#[derive(Clone, Copy)]
struct SharedPerHead(ReferenceHash);

impl Parts for SharedPerHead {
    #[inline(always)]
    fn at_sweep(self, sweep: u64) -> Self {
        SharedPerHead(self.0.at_sweep(sweep))
    }
    #[inline(always)]
    fn head(self, slot: u32) -> u32 {
        self.0.head(slot)
    }
    #[inline(always)]
    fn uniform(self, head: u32, _chain: u32) -> f32 {
        uniform(head)
    }
}

/// One head's heat-bath update in every chain: `out[c]` from its four neighbours' values
/// (`tails[k][c]`) and couplings `w[k]`, summed in the order given.
#[inline(always)]
fn heat_bath<R: Parts>(
    out: &mut [f32],
    tails: [&[f32]; 4],
    w: [f32; 4],
    betas: &[f32],
    rng: R,
    slot: u32,
) {
    let n = out.len();
    let (t0, t1, t2, t3) = (
        &tails[0][..n],
        &tails[1][..n],
        &tails[2][..n],
        &tails[3][..n],
    );
    let betas = &betas[..n];
    let head = rng.head(slot);
    for c in 0..n {
        let mut acc = 0.0f32;
        acc += w[0] * t0[c];
        acc += w[1] * t1[c];
        acc += w[2] * t2[c];
        acc += w[3] * t3[c];
        let g = acc * betas[c];
        let u = rng.uniform(head, c as u32);
        let e = R::exp(g * -2.0);
        out[c] = if u + u * e < 1.0 { 1.0 } else { -1.0 };
    }
}

/// Chain state in slot order (the reference backend's: colour 0's sites in row-major order,
/// then colour 1's), chains innermost; one checkerboard colour occupies one half.
struct Checkerboard {
    l: usize,
    chains: usize,
    state: Vec<f32>,
    betas: Vec<f32>,
}

impl Checkerboard {
    /// The state of `sampler` (all chains), in the layout above.
    fn from_sampler(sampler: &Sampler, l: usize) -> Checkerboard {
        let program = sampler.program();
        let chains = sampler.chains();
        let n = l * l;
        for (node, &slot) in program.slot_of.iter().enumerate() {
            assert_eq!(
                slot as usize,
                lattice_slot(l, node),
                "slot order of node {node}"
            );
        }
        let mut state = vec![0.0; n * chains];
        for c in 0..chains {
            for (node, v) in sampler
                .chain_state(c)
                .expect("chain")
                .into_iter()
                .enumerate()
            {
                state[program.slot_of[node] as usize * chains + c] = v;
            }
        }
        let betas = (0..chains)
            .map(|c| sampler.beta(c).expect("beta"))
            .collect();
        Checkerboard {
            l,
            chains,
            state,
            betas,
        }
    }

    /// Colour `colour`'s heads (mutable) and the other colour's values (the tails).
    fn halves(&mut self, colour: usize) -> (&mut [f32], &[f32]) {
        let half = self.l * self.l / 2 * self.chains;
        let (a, b) = self.state.split_at_mut(half);
        if colour == 0 { (a, b) } else { (b, a) }
    }
}

/// Slot of lattice site `node = y·l + x` (even `l`): colour (x + y) mod 2, then row-major rank.
fn lattice_slot(l: usize, node: usize) -> usize {
    let (x, y) = (node % l, node / l);
    (x + y) % 2 * (l * l / 2) + node / 2
}

/// The Philox key the runtime derives from `seed` (its private `derive_key`: the first two
/// u32 of `ChaCha8Rng::seed_from_u64(seed)`), recomputed here so the loops can address the
/// same random numbers; `check_bit_identical` fails loudly if the two ever drift apart.
fn philox_key(seed: u64) -> [u32; 2] {
    use rand::{RngCore, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    [rng.next_u32(), rng.next_u32()]
}

/// Neighbours and couplings of the lattice, indexed by site.
struct Bonds {
    /// Coupling of (x, y)–(x+1, y).
    right: Vec<f32>,
    /// Coupling of (x, y)–(x, y+1).
    down: Vec<f32>,
}

impl Bonds {
    fn of_model(model: &Model, l: usize) -> Bonds {
        let n = l * l;
        let (mut right, mut down) = (vec![f32::NAN; n], vec![f32::NAN; n]);
        for f in model.factors() {
            assert_eq!(f.products.len(), 2, "only pairwise couplings expected");
            for (i, &w) in f.weights.iter().enumerate() {
                let (a, b) = (f.products[0][i].index(), f.products[1][i].index());
                let (x, y) = (a % l, a / l);
                if b == y * l + (x + 1) % l {
                    right[a] = w;
                } else if b == (y + 1) % l * l + x {
                    down[a] = w;
                } else {
                    panic!("bond {a}–{b} is not a lattice bond");
                }
            }
        }
        assert!(right.iter().chain(&down).all(|w| w.is_finite()));
        Bonds { right, down }
    }
}

/// Lattice-arithmetic sweep: neighbours computed from (x, y).
#[inline(always)]
fn lattice_sweep<R: Parts>(cb: &mut Checkerboard, bonds: &Bonds, rng: R, sweep: u64) {
    let rng = rng.at_sweep(sweep);
    let (l, chains) = (cb.l, cb.chains);
    let half = l * l / 2;
    let betas = std::mem::take(&mut cb.betas);
    for colour in 0..2 {
        let (heads, tails) = cb.halves(colour);
        let at = |x: usize, y: usize| {
            let i = (y * l + x) / 2 * chains;
            &tails[i..i + chains]
        };
        for y in 0..l {
            let (up, down) = ((y + l - 1) % l, (y + 1) % l);
            for x in ((y + colour) % 2..l).step_by(2) {
                let (left, right) = ((x + l - 1) % l, (x + 1) % l);
                let site = y * l + x;
                let w = [
                    bonds.down[up * l + x],
                    bonds.right[y * l + left],
                    bonds.right[site],
                    bonds.down[site],
                ];
                let t = [at(x, up), at(left, y), at(right, y), at(x, down)];
                let local = site / 2;
                let out = &mut heads[local * chains..(local + 1) * chains];
                let slot = (colour * half + local) as u32;
                heat_bath(out, t, w, &betas, rng, slot);
            }
        }
    }
    cb.betas = betas;
}

/// Fixed-degree tables lifted from the lowered program: for each head, its 4 tail slots
/// (local to the other colour) and couplings, in the reference backend's term order.
struct Tables {
    /// `tails[colour][h·4 + k]`: local index of tail k of head h.
    tails: [Vec<u32>; 2],
    /// `weights[colour][h·4 + k]`.
    weights: [Vec<f32>; 2],
}

impl Tables {
    fn of_program(program: &Program) -> Tables {
        assert_eq!(program.blocks.len(), 2, "a 2-colour lattice expected");
        let mut tails: [Vec<u32>; 2] = Default::default();
        let mut weights: [Vec<f32>; 2] = Default::default();
        for (colour, block) in program.blocks.iter().enumerate() {
            let other = &program.blocks[1 - colour];
            assert_eq!(block.groups.len(), 1);
            let g = &block.groups[0];
            assert_eq!((g.head, g.arity()), (HeadRole::Product, 1));
            for h in 0..block.len as usize {
                let terms = g.offsets[h] as usize..g.offsets[h + 1] as usize;
                assert_eq!(terms.len(), 4, "degree 4 expected");
                for t in terms {
                    tails[colour].push(g.tails[t] - other.first_slot);
                    weights[colour].push(program.weights[g.weight_base[t] as usize]);
                }
            }
        }
        Tables { tails, weights }
    }
}

/// Table-driven sweep: the reference backend's loop with its generic parts removed.
#[inline(always)]
fn table_sweep<R: Parts>(cb: &mut Checkerboard, tables: &Tables, rng: R, sweep: u64) {
    let rng = rng.at_sweep(sweep);
    let chains = cb.chains;
    let half = cb.l * cb.l / 2;
    let betas = std::mem::take(&mut cb.betas);
    for colour in 0..2 {
        let (heads, tails) = cb.halves(colour);
        let idx = &tables.tails[colour];
        let wts = &tables.weights[colour];
        for (h, out) in heads.chunks_exact_mut(chains).enumerate() {
            let i = &idx[h * 4..h * 4 + 4];
            let at = |k: usize| {
                let s = i[k] as usize * chains;
                &tails[s..s + chains]
            };
            let w = [wts[h * 4], wts[h * 4 + 1], wts[h * 4 + 2], wts[h * 4 + 3]];
            let slot = (colour * half + h) as u32;
            heat_bath(out, [at(0), at(1), at(2), at(3)], w, &betas, rng, slot);
        }
    }
    cb.betas = betas;
}

/// Instruction-set variants of a sweep function, with run-time dispatch.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Isa {
    /// The default x86-64 target (SSE2), as `cargo bench` compiles everything else.
    Baseline,
    /// AVX2 + FMA (FMA unused: Rust does not contract).
    Avx2,
    /// AVX-512 (F, VL, DQ, BW).
    Avx512,
}

impl Isa {
    fn available(self) -> bool {
        match self {
            Isa::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512vl")
                    && is_x86_feature_detected!("avx512dq")
                    && is_x86_feature_detected!("avx512bw")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Isa::Baseline => "",
            Isa::Avx2 => "_avx2",
            Isa::Avx512 => "_avx512",
        }
    }
}

/// Defines `$name(isa, cb, data, rng, sweep)`, which runs `$body` compiled for `isa`.
macro_rules! multiversion {
    ($name:ident, $data:ty, $sweep:ident) => {
        fn $name<R: Parts>(isa: Isa, cb: &mut Checkerboard, data: &$data, rng: R, sweep: u64) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2<R: Parts>(cb: &mut Checkerboard, data: &$data, rng: R, sweep: u64) {
                    $sweep(cb, data, rng, sweep)
                }
                #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw")]
                fn avx512<R: Parts>(cb: &mut Checkerboard, data: &$data, rng: R, sweep: u64) {
                    $sweep(cb, data, rng, sweep)
                }
                match isa {
                    Isa::Baseline => {}
                    // SAFETY: `Isa::available` checked the features before any call.
                    Isa::Avx2 => return unsafe { avx2(cb, data, rng, sweep) },
                    // SAFETY: as above.
                    Isa::Avx512 => return unsafe { avx512(cb, data, rng, sweep) },
                }
            }
            assert_eq!(isa, Isa::Baseline, "{isa:?} is not available here");
            $sweep(cb, data, rng, sweep)
        }
    };
}

multiversion!(run_lattice, Bonds, lattice_sweep);
multiversion!(run_tables, Tables, table_sweep);

/// A reference sampler (64 chains, β = 0.5) on `model`.
fn reference_sampler(model: &Arc<Model>) -> Sampler {
    let options = SamplerOptions {
        chains: CHAINS,
        seed: SEED,
        threads: 0,
        beta: BETA,
    };
    Sampler::builder(model.clone())
        .backend(BackendChoice::Reference)
        .options(options)
        .build()
        .expect("sampler")
}

/// Asserts that `sweep` applied `sweeps` times to the reference sampler's initial state gives
/// the reference sampler's state after as many sweeps, bit for bit.
fn check_bit_identical(
    what: &str,
    model: &Arc<Model>,
    sweeps: u64,
    mut sweep: impl FnMut(&mut Checkerboard, u64),
) {
    let mut sampler = reference_sampler(model);
    let mut cb = Checkerboard::from_sampler(&sampler, L);
    sampler.sweep(sweeps).expect("reference sweeps");
    for s in 0..sweeps {
        sweep(&mut cb, s);
    }
    let expected = Checkerboard::from_sampler(&sampler, L);
    let differing = cb
        .state
        .iter()
        .zip(&expected.state)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    assert_eq!(
        differing, 0,
        "{what}: {differing} values differ from the reference"
    );
    eprintln!("{what}: bit-identical to the reference backend after {sweeps} sweeps");
}

fn handwritten<M: Measurement>(c: &mut Criterion<M>, prefix: &str) {
    let gauss = Arc::new(
        families::edwards_anderson(2, L, Disorder::Gaussian, DISORDER_SEED, 0.0, true)
            .expect("edwards_anderson"),
    );
    let uniform_j = Arc::new(families::ising2d(L, 1.0, 0.0, true).expect("ising2d"));
    let isas: Vec<Isa> = [Isa::Baseline, Isa::Avx2, Isa::Avx512]
        .into_iter()
        .filter(|i| i.available())
        .collect();

    // Like-for-like checks, once per instruction set.
    let sampler = reference_sampler(&gauss);
    let key = philox_key(SEED);
    let hash = ReferenceHash { key, sweep_key: 0 };
    let tables = Tables::of_program(sampler.program());
    let gauss_bonds = Bonds::of_model(&gauss, L);
    let uniform_bonds = Bonds::of_model(&uniform_j, L);
    for &isa in &isas {
        check_bit_identical(
            &format!("tables_hash{} (N(0,1) couplings)", isa.suffix()),
            &gauss,
            3,
            |cb, s| run_tables(isa, cb, &tables, hash, s),
        );
        check_bit_identical(
            &format!("lattice_hash{} (J = 1)", isa.suffix()),
            &uniform_j,
            3,
            |cb, s| run_lattice(isa, cb, &uniform_bonds, hash, s),
        );
    }
    let philox = PhiloxPerUpdate { key, sweep: 0 };
    let shared = SharedPerHead(hash);

    let mut group = c.benchmark_group(format!(
        "{prefix}handwritten/ising2d_L256_gaussJ_64ch_1thread"
    ));
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements((L * L * CHAINS) as u64));
    // Each variant starts from the reference sampler's initial state and continues the sweep
    // count across criterion's calls, so every measured sweep draws fresh random numbers.
    let start = || (Checkerboard::from_sampler(&sampler, L), 0u64);
    for &isa in &isas {
        let sfx = isa.suffix();
        let (mut cb, mut sweep) = start();
        group.bench_function(format!("tables_hash{sfx}"), |b| {
            b.iter(|| {
                run_tables(isa, &mut cb, black_box(&tables), hash, sweep);
                sweep += 1;
            })
        });
        let (mut cb, mut sweep) = start();
        group.bench_function(format!("lattice_hash{sfx}"), |b| {
            b.iter(|| {
                run_lattice(isa, &mut cb, black_box(&gauss_bonds), hash, sweep);
                sweep += 1;
            })
        });
        let (mut cb, mut sweep) = start();
        group.bench_function(format!("lattice_philox{sfx}"), |b| {
            b.iter(|| {
                run_lattice(isa, &mut cb, black_box(&gauss_bonds), philox, sweep);
                sweep += 1;
            })
        });
        let (mut cb, mut sweep) = start();
        group.bench_function(format!("lattice_shared_u{sfx}"), |b| {
            b.iter(|| {
                run_lattice(isa, &mut cb, black_box(&gauss_bonds), shared, sweep);
                sweep += 1;
            })
        });
    }
    group.finish();
}

fn main() {
    cpu_time::run_with_selected_clock(handwritten, handwritten);
}
