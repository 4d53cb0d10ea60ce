//! Parallel tempering (replica exchange) and simulated annealing over per-chain β.
//!
//! Both run on one [`Sampler`], changing only its chains' β ([`Sampler::set_beta`]).
//!
//! - [`ParallelTempering`]: `ladders` independent ladders of `R` replicas each
//!   (`chains = ladders × R`). After every `sweeps_per_swap` sweeps, neighbouring temperatures
//!   of each ladder propose to exchange (even pairs and odd pairs on alternate rounds), accepted
//!   with probability `min(1, exp((β_i − β_j)(E_i − E_j)))` from the exact energies. An accepted
//!   swap exchanges the two chains' β (not their states), and the map temperature → chain is
//!   tracked, so replicas are observed by temperature with [`ParallelTempering::holder`].
//! - [`anneal`]: a β schedule ([`AnnealingSchedule`]: linear, geometric or custom) applied to
//!   every chain, reporting final and best energies and states per chain.
//!
//! Swap decisions draw from their own ChaCha8 stream seeded by [`TemperingOptions::seed`];
//! as the sampler's results and exact energies do not depend on the thread count, neither
//! does the swap history. Chains of one ladder must share clamped values (the criterion
//! compares energies of one model).

use blockgibbs_ir::Model;
use blockgibbs_runtime::{BackendChoice, RuntimeError, Sampler, SamplingSchedule};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use thiserror::Error;

/// Stream of the swap generator, distinct from the stream the sampler derives its key from.
const SWAP_STREAM: u64 = 0x5054_5357_4150; // "PTSWAP"

/// Everything that can go wrong configuring or running tempering and annealing.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TemperingError {
    /// A ladder or annealing schedule with no temperature.
    #[error("a temperature ladder or annealing schedule needs at least one β")]
    EmptyLadder,
    /// A non-positive or non-finite inverse temperature.
    #[error("β[{index}] = {beta} must be positive and finite")]
    InvalidBeta {
        /// Position in the ladder or schedule.
        index: usize,
        /// The value.
        beta: f32,
    },
    /// A ladder whose β do not strictly increase (hottest first).
    #[error("ladder β[{index}] = {beta} does not exceed β[{}] = {previous}; ladders must strictly increase", index - 1)]
    NotIncreasing {
        /// Position of the offending β.
        index: usize,
        /// The β before it.
        previous: f32,
        /// The value.
        beta: f32,
    },
    /// Zero independent ladders.
    #[error("parallel tempering needs at least one ladder")]
    NoLadders,
    /// `ladders × temperatures` overflows.
    #[error("{ladders} ladders × {temperatures} temperatures is too many chains")]
    TooManyChains {
        /// Ladders asked for.
        ladders: usize,
        /// Temperatures per ladder.
        temperatures: usize,
    },
    /// Zero sweeps between swaps or per annealing step.
    #[error("{what} must be at least 1")]
    ZeroSweeps {
        /// Which setting.
        what: &'static str,
    },
    /// A ladder or temperature index out of range.
    #[error("{what} {index} out of range (there are {len})")]
    OutOfRange {
        /// `"ladder"`, `"temperature"` or `"chain"`.
        what: &'static str,
        /// The index asked for.
        index: usize,
        /// How many there are.
        len: usize,
    },
    /// The runtime failed (sweeping, reading energies).
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

fn check_beta(index: usize, beta: f32) -> Result<(), TemperingError> {
    if beta > 0.0 && beta.is_finite() {
        Ok(())
    } else {
        Err(TemperingError::InvalidBeta { index, beta })
    }
}

/// A strictly increasing list of inverse temperatures: index 0 is the hottest replica, the
/// last one the coldest (usually the target β).
#[derive(Clone, Debug, PartialEq)]
pub struct BetaLadder {
    betas: Vec<f32>,
}

impl BetaLadder {
    /// A ladder from an explicit list, which must be non-empty, positive, finite and strictly
    /// increasing.
    pub fn new(betas: Vec<f32>) -> Result<BetaLadder, TemperingError> {
        if betas.is_empty() {
            return Err(TemperingError::EmptyLadder);
        }
        for (i, &b) in betas.iter().enumerate() {
            check_beta(i, b)?;
            if i > 0 && b <= betas[i - 1] {
                return Err(TemperingError::NotIncreasing {
                    index: i,
                    previous: betas[i - 1],
                    beta: b,
                });
            }
        }
        Ok(BetaLadder { betas })
    }

    /// `count` β spaced geometrically from `beta_min` to `beta_max` (both included; the
    /// ratio of neighbours is constant). `count = 1` gives `[beta_max]`.
    pub fn geometric(
        beta_min: f32,
        beta_max: f32,
        count: usize,
    ) -> Result<BetaLadder, TemperingError> {
        BetaLadder::new(spaced(beta_min, beta_max, count, true)?)
    }

    /// The β, hottest first.
    pub fn betas(&self) -> &[f32] {
        &self.betas
    }
}

/// `count` points from `a` to `b` (endpoints exact), evenly spaced in β or, with
/// `geometric`, in log β; `count = 1` gives `[b]`. Both ends are checked first.
fn spaced(a: f32, b: f32, count: usize, geometric: bool) -> Result<Vec<f32>, TemperingError> {
    check_beta(0, a)?;
    check_beta(count.saturating_sub(1), b)?;
    let map = |x: f32| if geometric { (x as f64).ln() } else { x as f64 };
    let (la, lb) = (map(a), map(b));
    let mut v: Vec<f32> = (0..count)
        .map(|k| {
            let y = la + (lb - la) * k as f64 / (count.max(2) - 1) as f64;
            (if geometric { y.exp() } else { y }) as f32
        })
        .collect();
    if let Some(first) = v.first_mut() {
        *first = a;
    }
    if let Some(last) = v.last_mut() {
        *last = b;
    }
    Ok(v)
}

/// How to set parallel tempering up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemperingOptions {
    /// Independent ladders; the sampler runs `ladders × R` chains.
    pub ladders: usize,
    /// Sweeps of every chain between swap rounds (at least 1).
    pub sweeps_per_swap: u64,
    /// Seed of the sampler and (on a stream of its own) of the swap decisions.
    pub seed: u64,
    /// Threads of the sampler (0: one per core); results do not depend on it.
    pub threads: usize,
    /// The kernels that run the chains (the same results bit for bit on every one).
    pub backend: BackendChoice,
}

impl Default for TemperingOptions {
    fn default() -> Self {
        TemperingOptions {
            ladders: 1,
            sweeps_per_swap: 1,
            seed: 0,
            threads: 0,
            backend: BackendChoice::default(),
        }
    }
}

/// Swap statistics of one pair of neighbouring temperatures `(t, t + 1)`, over all ladders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PairStats {
    /// Swaps proposed.
    pub attempts: u64,
    /// Swaps accepted.
    pub accepted: u64,
}

impl PairStats {
    /// Fraction of proposals accepted, `None` before the first proposal.
    pub fn rate(&self) -> Option<f64> {
        (self.attempts > 0).then(|| self.accepted as f64 / self.attempts as f64)
    }
}

/// One proposed exchange of a swap round.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SwapEvent {
    /// The ladder.
    pub ladder: usize,
    /// The pair: temperatures `pair` and `pair + 1`.
    pub pair: usize,
    /// Log acceptance ratio `(β_t − β_{t+1})(E_t − E_{t+1})`.
    pub log_ratio: f64,
    /// Whether the two chains exchanged their β.
    pub accepted: bool,
}

/// Replica exchange over per-chain β on one [`Sampler`].
///
/// Chain `l·R + t` starts at temperature `t` of ladder `l`; after swaps,
/// [`ParallelTempering::holder`] gives the chain holding each temperature.
pub struct ParallelTempering {
    sampler: Sampler,
    betas: Vec<f32>,
    ladders: usize,
    sweeps_per_swap: u64,
    rng: ChaCha8Rng,
    /// `holders[l·R + t]`: the chain holding temperature `t` of ladder `l`.
    holders: Vec<usize>,
    /// `temperature[chain]`: the temperature index a chain holds.
    temperature: Vec<usize>,
    stats: Vec<PairStats>,
    rounds: u64,
}

impl ParallelTempering {
    /// Compiles `model` and sets up parallel tempering on a sampler of `ladders × R` chains
    /// (seed, threads and backend from `options`); chain `l·R + t` gets `ladder[t]`. Chains
    /// start from the sampler's seeded random state ([`ParallelTempering::write_states`]
    /// sets another).
    pub fn new(
        model: Arc<Model>,
        ladder: BetaLadder,
        options: TemperingOptions,
    ) -> Result<ParallelTempering, TemperingError> {
        let r = ladder.betas.len();
        let chains = check_layout(options, r)?;
        let betas = ladder.betas;
        let mut sampler = Sampler::builder(model)
            .backend(options.backend)
            .chains(chains)
            .seed(options.seed)
            .threads(options.threads)
            .beta(betas[0])
            .build()?;
        for c in 0..chains {
            sampler.set_beta(c, betas[c % r])?;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        rng.set_stream(SWAP_STREAM);
        Ok(ParallelTempering {
            sampler,
            ladders: options.ladders,
            sweeps_per_swap: options.sweeps_per_swap,
            rng,
            holders: (0..chains).collect(),
            temperature: (0..chains).map(|c| c % r).collect(),
            stats: vec![PairStats::default(); r.saturating_sub(1)],
            rounds: 0,
            betas,
        })
    }

    /// Sets every chain's state (row-major `[chains, nodes]`, see
    /// [`Sampler::write_states`]); β and the temperature map are unchanged.
    pub fn write_states(&mut self, values: &[f32]) -> Result<(), TemperingError> {
        self.sampler.write_states(values)?;
        Ok(())
    }

    /// The sampler (read-only: changing β behind tempering's back would break its map).
    pub fn sampler(&self) -> &Sampler {
        &self.sampler
    }

    /// Gives the sampler back (with each chain's current β).
    pub fn into_sampler(self) -> Sampler {
        self.sampler
    }

    /// The ladder's β, hottest first.
    pub fn betas(&self) -> &[f32] {
        &self.betas
    }

    /// Number of temperatures per ladder.
    pub fn temperatures(&self) -> usize {
        self.betas.len()
    }

    /// Number of independent ladders.
    pub fn ladders(&self) -> usize {
        self.ladders
    }

    /// Swap rounds done so far.
    pub fn rounds(&self) -> u64 {
        self.rounds
    }

    /// The chain currently holding temperature `t` of ladder `ladder`.
    pub fn holder(&self, ladder: usize, t: usize) -> Result<usize, TemperingError> {
        self.check(ladder, t)?;
        Ok(self.holders[ladder * self.temperatures() + t])
    }

    /// For each temperature of ladder `ladder` (hottest first), the chain holding it.
    pub fn holders(&self, ladder: usize) -> Result<&[usize], TemperingError> {
        self.check(ladder, 0)?;
        let r = self.temperatures();
        Ok(&self.holders[ladder * r..(ladder + 1) * r])
    }

    /// The temperature index chain `chain` currently holds (its ladder is `chain / R`).
    pub fn temperature_of(&self, chain: usize) -> Result<usize, TemperingError> {
        in_range("chain", chain, self.temperature.len())?;
        Ok(self.temperature[chain])
    }

    /// The state (indexed by node id) of the replica at temperature `t` of ladder `ladder`.
    pub fn state_at(&self, ladder: usize, t: usize) -> Result<Vec<f32>, TemperingError> {
        Ok(self.sampler.chain_state(self.holder(ladder, t)?)?)
    }

    /// The energy (no β) of the replica at temperature `t` of ladder `ladder`.
    pub fn energy_at(&self, ladder: usize, t: usize) -> Result<f64, TemperingError> {
        Ok(self.sampler.energy(self.holder(ladder, t)?)?)
    }

    /// Swap statistics of each neighbouring pair `(t, t + 1)`, summed over ladders.
    pub fn pair_stats(&self) -> &[PairStats] {
        &self.stats
    }

    /// Acceptance rate of each neighbouring pair (`None` for pairs never proposed).
    pub fn acceptance_rates(&self) -> Vec<Option<f64>> {
        self.stats.iter().map(PairStats::rate).collect()
    }

    /// Clears the swap statistics (e.g. after warmup).
    pub fn reset_stats(&mut self) {
        self.stats.fill(PairStats::default());
    }

    /// One round: `sweeps_per_swap` sweeps of every chain, then a swap round.
    pub fn step(&mut self) -> Result<Vec<SwapEvent>, TemperingError> {
        self.sampler.sweep(self.sweeps_per_swap)?;
        self.swap_round()
    }

    /// Proposes exchanges between neighbouring temperatures of every ladder — pairs
    /// `(t, t+1)` with even `t` on even rounds, odd `t` on odd rounds — without sweeping.
    /// Returns every proposal of the round, ladder by ladder, hottest pair first.
    pub fn swap_round(&mut self) -> Result<Vec<SwapEvent>, TemperingError> {
        let r = self.temperatures();
        let parity = (self.rounds % 2) as usize;
        self.rounds += 1;
        let mut events = Vec::new();
        for ladder in 0..self.ladders {
            for pair in (parity..r.saturating_sub(1)).step_by(2) {
                let (ti, tj) = (ladder * r + pair, ladder * r + pair + 1);
                let (ci, cj) = (self.holders[ti], self.holders[tj]);
                let (bi, bj) = (self.betas[pair], self.betas[pair + 1]);
                let (ei, ej) = (self.sampler.energy(ci)?, self.sampler.energy(cj)?);
                let log_ratio = (bi as f64 - bj as f64) * (ei - ej);
                // Always draw, so that the stream position never depends on the energies.
                let u: f64 = self.rng.random();
                let accepted = log_ratio >= 0.0 || u < log_ratio.exp();
                let stats = &mut self.stats[pair];
                stats.attempts += 1;
                if accepted {
                    stats.accepted += 1;
                    self.sampler.set_beta(ci, bj)?;
                    self.sampler.set_beta(cj, bi)?;
                    self.holders.swap(ti, tj);
                    self.temperature[ci] = pair + 1;
                    self.temperature[cj] = pair;
                }
                events.push(SwapEvent {
                    ladder,
                    pair,
                    log_ratio,
                    accepted,
                });
            }
        }
        Ok(events)
    }

    /// Runs `schedule` counted in rounds ([`ParallelTempering::step`]): `warmup` rounds, an
    /// observation, then `samples − 1` times `steps_per_sample` rounds each followed by an
    /// observation. `observe(i, self)` is called at observation `i`; read replicas by
    /// temperature with [`ParallelTempering::holder`] / [`ParallelTempering::state_at`].
    pub fn run(
        &mut self,
        schedule: &SamplingSchedule,
        mut observe: impl FnMut(u64, &ParallelTempering),
    ) -> Result<(), TemperingError> {
        if schedule.samples == 0 {
            return (0..schedule.warmup).try_for_each(|_| self.step().map(drop));
        }
        for (i, rounds) in schedule.intervals().enumerate() {
            for _ in 0..rounds {
                self.step()?;
            }
            observe(i as u64, self);
        }
        Ok(())
    }

    fn check(&self, ladder: usize, t: usize) -> Result<(), TemperingError> {
        in_range("ladder", ladder, self.ladders)?;
        in_range("temperature", t, self.temperatures())
    }
}

fn in_range(what: &'static str, index: usize, len: usize) -> Result<(), TemperingError> {
    if index < len {
        Ok(())
    } else {
        Err(TemperingError::OutOfRange { what, index, len })
    }
}

/// Validates ladders and sweeps; returns the chain count `ladders × r`.
fn check_layout(options: TemperingOptions, r: usize) -> Result<usize, TemperingError> {
    if options.ladders == 0 {
        return Err(TemperingError::NoLadders);
    }
    if options.sweeps_per_swap == 0 {
        return Err(TemperingError::ZeroSweeps {
            what: "sweeps_per_swap",
        });
    }
    options
        .ladders
        .checked_mul(r)
        .ok_or(TemperingError::TooManyChains {
            ladders: options.ladders,
            temperatures: r,
        })
}

/// A simulated-annealing schedule: a list of β, each held for `sweeps_per_step` sweeps.
#[derive(Clone, Debug, PartialEq)]
pub struct AnnealingSchedule {
    betas: Vec<f32>,
    sweeps_per_step: u64,
}

impl AnnealingSchedule {
    /// `steps` β evenly spaced from `beta_start` to `beta_end` (both included; `steps = 1`
    /// gives `[beta_end]`).
    pub fn linear(
        beta_start: f32,
        beta_end: f32,
        steps: usize,
        sweeps_per_step: u64,
    ) -> Result<AnnealingSchedule, TemperingError> {
        AnnealingSchedule::custom(spaced(beta_start, beta_end, steps, false)?, sweeps_per_step)
    }

    /// `steps` β with a constant ratio from `beta_start` to `beta_end` (both included).
    pub fn geometric(
        beta_start: f32,
        beta_end: f32,
        steps: usize,
        sweeps_per_step: u64,
    ) -> Result<AnnealingSchedule, TemperingError> {
        AnnealingSchedule::custom(spaced(beta_start, beta_end, steps, true)?, sweeps_per_step)
    }

    /// An explicit list of β (any order: reheating is allowed), each positive and finite.
    pub fn custom(
        betas: Vec<f32>,
        sweeps_per_step: u64,
    ) -> Result<AnnealingSchedule, TemperingError> {
        if betas.is_empty() {
            return Err(TemperingError::EmptyLadder);
        }
        if sweeps_per_step == 0 {
            return Err(TemperingError::ZeroSweeps {
                what: "sweeps_per_step",
            });
        }
        for (i, &b) in betas.iter().enumerate() {
            check_beta(i, b)?;
        }
        Ok(AnnealingSchedule {
            betas,
            sweeps_per_step,
        })
    }

    /// The β of each step.
    pub fn betas(&self) -> &[f32] {
        &self.betas
    }

    /// Sweeps per step.
    pub fn sweeps_per_step(&self) -> u64 {
        self.sweeps_per_step
    }

    /// Total sweeps of the schedule.
    pub fn total_sweeps(&self) -> u64 {
        self.betas.len() as u64 * self.sweeps_per_step
    }
}

/// What [`anneal`] found, per chain.
#[derive(Clone, Debug, PartialEq)]
pub struct AnnealingResult {
    /// The state of each chain (indexed by node id) at the end of the schedule.
    pub final_states: Vec<Vec<f32>>,
    /// The energy (no β) of each chain at the end.
    pub final_energies: Vec<f64>,
    /// The lowest energy each chain reached at the end of any step (or at the start).
    pub best_energies: Vec<f64>,
    /// The state in which each chain reached its best energy.
    pub best_states: Vec<Vec<f32>>,
}

impl AnnealingResult {
    /// The chain with the lowest best energy and that energy (`None` with no chains).
    pub fn best(&self) -> Option<(usize, f64)> {
        self.best_energies
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, e)| !e.is_nan())
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// Simulated annealing: for each β of `schedule`, sets every chain's β and runs
/// `sweeps_per_step` sweeps; energies are checked at the start and after every step to keep
/// each chain's best. The sampler is left at the schedule's last β.
pub fn anneal(
    sampler: &mut Sampler,
    schedule: &AnnealingSchedule,
) -> Result<AnnealingResult, TemperingError> {
    let chains = sampler.chains();
    let mut best_energies = Vec::with_capacity(chains);
    let mut best_states = Vec::with_capacity(chains);
    for c in 0..chains {
        best_energies.push(sampler.energy(c)?);
        best_states.push(sampler.chain_state(c)?);
    }
    let mut final_energies = best_energies.clone();
    for &beta in &schedule.betas {
        for c in 0..chains {
            sampler.set_beta(c, beta)?;
        }
        sampler.sweep(schedule.sweeps_per_step)?;
        for c in 0..chains {
            let e = sampler.energy(c)?;
            final_energies[c] = e;
            if e < best_energies[c] || best_energies[c].is_nan() {
                best_energies[c] = e;
                best_states[c] = sampler.chain_state(c)?;
            }
        }
    }
    let final_states = (0..chains)
        .map(|c| sampler.chain_state(c))
        .collect::<Result<_, _>>()?;
    Ok(AnnealingResult {
        final_states,
        final_energies,
        best_energies,
        best_states,
    })
}
