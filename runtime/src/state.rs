//! Chain state: chains split into fixed-width chunks, each stored slot-major with chains
//! innermost (`values[slot · lanes + lane]`), so a kernel's lanes share indices and weights.

use blockgibbs_compiler::approx;
use blockgibbs_compiler::random::{init_counter, philox4x32, uniform};
use blockgibbs_ir::{NodeKind, Program};

/// Chains per chunk. Fixed (not derived from the thread count) so that chunking never
/// changes a result; 16 = four f32x4 lane groups.
pub const CHUNK_LANES: usize = 16;

/// SIMD width chains are padded to.
pub const LANE_GROUP: usize = 4;

/// A run of consecutive chains stored together; the unit of work of one thread.
#[derive(Clone, Debug)]
pub struct Chunk {
    /// Global index of the chunk's first chain.
    pub first_chain: u32,
    /// Lanes stored (a multiple of [`LANE_GROUP`]); lanes past the last real chain are
    /// padding that runs like a chain but is never observed.
    pub lanes: usize,
    /// Real chains in the chunk.
    pub chains: usize,
    /// `values[slot · lanes + lane]`.
    pub values: Vec<f32>,
    /// Inverse temperature of each lane.
    pub betas: Vec<f32>,
}

impl Chunk {
    /// Value of `slot` in local lane `lane`.
    #[inline]
    pub fn get(&self, slot: u32, lane: usize) -> f32 {
        self.values[slot as usize * self.lanes + lane]
    }
}

/// All chains of a sampler.
#[derive(Clone, Debug)]
pub struct ChainState {
    /// The chunks, in chain order.
    pub chunks: Vec<Chunk>,
    /// Number of real chains.
    pub chains: usize,
}

impl ChainState {
    /// `chains` chains with random initial values drawn from the initial-state stream of
    /// `key` (spins and binaries uniform, categories uniform, Gaussians standard normal)
    /// and clamped nodes at their default values; every β is `beta`.
    pub fn new(program: &Program, chains: usize, key: [u32; 2], beta: f32) -> ChainState {
        let slots = program.slot_count();
        let mut chunks = Vec::new();
        let mut first = 0usize;
        while first < chains {
            let real = (chains - first).min(CHUNK_LANES);
            let lanes = real.div_ceil(LANE_GROUP) * LANE_GROUP;
            let mut values = vec![0.0f32; slots * lanes];
            for slot in 0..slots {
                for lane in 0..lanes {
                    let chain = (first + lane) as u32;
                    values[slot * lanes + lane] = match program.clamped_of_slot[slot] {
                        Some(v) => v,
                        None => random_value(program.kind_of_slot[slot], chain, slot as u32, key),
                    };
                }
            }
            chunks.push(Chunk {
                first_chain: first as u32,
                lanes,
                chains: real,
                values,
                betas: vec![beta; lanes],
            });
            first += real;
        }
        ChainState { chunks, chains }
    }

    /// The chunk holding `chain` and the chain's lane in it.
    #[inline]
    pub fn locate(&self, chain: usize) -> (usize, usize) {
        (chain / CHUNK_LANES, chain % CHUNK_LANES)
    }

    /// Value of `slot` in `chain`.
    #[inline]
    pub fn get(&self, slot: u32, chain: usize) -> f32 {
        let (c, l) = self.locate(chain);
        self.chunks[c].get(slot, l)
    }

    /// Sets `slot` in `chain` (and in the padding lanes after the last chain, which mirror
    /// it: padding must never run a state no real chain has, such as a clamped value that
    /// every real chain has replaced because it makes a precision negative).
    #[inline]
    pub fn set(&mut self, slot: u32, chain: usize, value: f32) {
        let (c, l) = self.locate(chain);
        let chunk = &mut self.chunks[c];
        let row = slot as usize * chunk.lanes;
        chunk.values[row + l] = value;
        if l + 1 == chunk.chains {
            chunk.values[row + l + 1..row + chunk.lanes].fill(value);
        }
    }

    /// Sets the inverse temperature of `chain` (and of the padding lanes after the last
    /// chain, so they stay well-behaved).
    pub fn set_beta(&mut self, chain: usize, beta: f32) {
        let (c, l) = self.locate(chain);
        let chunk = &mut self.chunks[c];
        chunk.betas[l] = beta;
        if l + 1 == chunk.chains {
            for b in &mut chunk.betas[l + 1..] {
                *b = beta;
            }
        }
    }
}

/// A random legal value of a node of `kind`, addressed by (chain, slot).
fn random_value(kind: NodeKind, chain: u32, slot: u32, key: [u32; 2]) -> f32 {
    let w = philox4x32(init_counter(chain, slot), key);
    match kind {
        NodeKind::Spin => {
            if w[0] >> 31 == 1 {
                1.0
            } else {
                -1.0
            }
        }
        NodeKind::Binary => (w[0] >> 31) as f32,
        NodeKind::Categorical(k) => ((uniform(w[0]) * k as f32) as u32).min(k - 1) as f32,
        NodeKind::Gaussian => approx::standard_normal(uniform(w[0]), uniform(w[1])),
    }
}
