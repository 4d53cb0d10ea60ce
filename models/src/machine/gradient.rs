//! Gradients of the mean negative log-likelihood of two-layer machines (RBMs of any unit
//! kinds): CD-k and PCD estimates run by the blockgibbs runtime, and the exact gradient by
//! enumerating a discrete layer.
//!
//! **Gradient.** For every parameter θ, `∂(−mean log p(v))/∂θ = E_model[∂(−E)/∂θ] −
//! E_data[∂(−E)/∂θ]` ("negative − positive", as in [`crate::rbm::train`]), with
//!
//! - binary/spin bias `b_i`: `x_i`; categorical `θ_i[c]`: `[x_i = c]`;
//! - Gaussian `loc_i`: `(x_i − loc_i)/σ_i²`;
//! - Gaussian `log_var_i`: `½ (x_i − loc_i)²/σ_i² − (x_i/σ_i²) f_i`, where `f_i` is the field
//!   `Σ W φ(neighbour)` into unit `i` (the rescaled visible `x/σ²` depends on `log_var`);
//! - weight `W_ab`: `φ(x_0)_a φ(x_1)_b`.
//!
//! **Rao–Blackwellisation.** The data phase uses the data as layer 0 and the conditional
//! expectations of layer 1 given it. The model phase runs `k` sweeps (`h | v` then `v | h`),
//! then uses the chains' final `v⁻` and the conditional expectations of layer 1 given `v⁻`.
//! Every statistic above is a product of a function of layer 0 and a function of layer 1,
//! so the expectation given one fixed layer is exact.

use blockgibbs_runtime::{BackendChoice, SamplerOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::driven::BetaProcess;
use super::estimation::Sampling;
use super::meanfield::check_rows;
use super::stats::ProductStats;
use super::{BoltzmannMachine, MachineError, MachineSampler, SamplingMode};
use crate::numeric::log_sum_exp;

/// Exact evaluation enumerates at most this many states of one discrete layer.
pub const MAX_EXACT_STATES: usize = 1 << 20;

/// One `f64` vector per parameter of a machine, in its layout: phase statistics (expected
/// `∂(−E)/∂θ`) and gradients share this shape.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineGradient {
    /// Per layer: the bias `b`, `θ` (`[n × K]`) or, for Gaussian layers, `loc`.
    pub bias: Vec<Vec<f64>>,
    /// Per layer: `log_var` of Gaussian layers; empty for other kinds.
    pub log_var: Vec<Vec<f64>>,
    /// Per weight matrix, row-major like [`BoltzmannMachine::weights`].
    pub weights: Vec<Vec<f64>>,
}

impl MachineGradient {
    /// All zeros in the shape of `machine`.
    pub fn zeros(machine: &BoltzmannMachine) -> MachineGradient {
        MachineGradient {
            bias: machine
                .layers()
                .iter()
                .map(|l| vec![0.0; l.bias().len()])
                .collect(),
            log_var: machine
                .layers()
                .iter()
                .map(|l| vec![0.0; l.log_var().len()])
                .collect(),
            weights: machine
                .weights()
                .iter()
                .map(|w| vec![0.0; w.len()])
                .collect(),
        }
    }

    /// Every entry, layer by layer (`bias`, then `log_var`), then the weight matrices.
    pub fn flatten(&self) -> Vec<f64> {
        let mut out = Vec::new();
        for (b, s) in self.bias.iter().zip(&self.log_var) {
            out.extend_from_slice(b);
            out.extend_from_slice(s);
        }
        for w in &self.weights {
            out.extend_from_slice(w);
        }
        out
    }

    fn vectors_mut(&mut self) -> impl Iterator<Item = &mut Vec<f64>> {
        self.bias
            .iter_mut()
            .chain(self.log_var.iter_mut())
            .chain(self.weights.iter_mut())
    }

    fn vectors(&self) -> impl Iterator<Item = &Vec<f64>> {
        self.bias.iter().chain(&self.log_var).chain(&self.weights)
    }

    /// `negative − positive`, entry by entry.
    pub(crate) fn difference(
        negative: &MachineGradient,
        positive: &MachineGradient,
    ) -> MachineGradient {
        let mut out = negative.clone();
        for (o, p) in out.vectors_mut().zip(positive.vectors()) {
            o.iter_mut().zip(p).for_each(|(o, p)| *o -= p);
        }
        out
    }
}

/// A gradient estimate with the statistics of both phases.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineGradientEstimate {
    /// `negative − positive`: the gradient of the mean negative log-likelihood.
    pub gradient: MachineGradient,
    /// Data statistics (layer 1 Rao–Blackwellised).
    pub positive: MachineGradient,
    /// Model statistics (exact, or from the chains' `v⁻` with layer 1 Rao–Blackwellised).
    pub negative: MachineGradient,
}

fn require_two_layers(machine: &BoltzmannMachine, what: &'static str) -> Result<(), MachineError> {
    if machine.n_layers() == 2 {
        Ok(())
    } else {
        Err(MachineError::NotTwoLayers {
            what,
            layers: machine.n_layers(),
        })
    }
}

/// Mean statistics of `rows` (flat layer-0 states) with layer 1 Rao–Blackwellised.
fn rao_blackwell_stats(machine: &BoltzmannMachine, rows: &[f32]) -> MachineGradient {
    let (l0, l1) = (&machine.layers()[0], &machine.layers()[1]);
    let mut stats = ProductStats::new(machine);
    let count = rows.len() / l0.len();
    for v in rows.chunks_exact(l0.len()) {
        let m0 = l0.moments_of(v);
        let m1 = l1.moments_given(&machine.field(1, Some(&m0.phi), None));
        stats.add(&[m0, m1], 1.0 / count as f64);
    }
    stats.finish()
}

/// The data statistics of a batch (flat, `n_0` columns) of a two-layer machine.
pub fn positive_phase(
    machine: &BoltzmannMachine,
    data: &[f32],
) -> Result<MachineGradient, MachineError> {
    require_two_layers(machine, "positive_phase")?;
    check_rows(machine, data)?;
    Ok(rao_blackwell_stats(machine, data))
}

/// The discrete layer with the fewest states (within [`MAX_EXACT_STATES`]), and its count.
fn enumerated_layer(machine: &BoltzmannMachine) -> Result<(usize, usize), MachineError> {
    let counts = [0, 1].map(|l| machine.layers()[l].state_count());
    let best = (0..2)
        .filter_map(|l| counts[l].map(|c| (l, c)))
        .min_by_key(|&(_, c)| c);
    match best {
        Some((l, c)) if c <= MAX_EXACT_STATES => Ok((l, c)),
        other => Err(MachineError::TooLargeForExact {
            states: other.map_or(usize::MAX, |(_, c)| c),
            limit: MAX_EXACT_STATES,
        }),
    }
}

/// A state of the enumerated layer, its log-weight `−F(x)` (the other layer summed out) and
/// the field it puts on the other layer.
type WeightedState = (Vec<f32>, f64, Vec<f64>);

/// Every state of the enumerated layer, weighted.
fn enumerate(machine: &BoltzmannMachine) -> Result<Vec<WeightedState>, MachineError> {
    let (e, count) = enumerated_layer(machine)?;
    let (le, lo) = (&machine.layers()[e], &machine.layers()[1 - e]);
    Ok((0..count)
        .map(|idx| {
            let x = le.state(idx);
            let phi = le.phi(&x);
            let f = if e == 0 {
                machine.field(1, Some(&phi), None)
            } else {
                machine.field(0, None, Some(&phi))
            };
            let log_w = -le.self_energy(&x) + lo.log_partition(&f);
            (x, log_w, f)
        })
        .collect())
}

/// `ln Z` of a two-layer machine with a discrete layer of at most [`MAX_EXACT_STATES`]
/// states, by enumerating it and summing the other layer in closed form.
pub fn log_partition(machine: &BoltzmannMachine) -> Result<f64, MachineError> {
    require_two_layers(machine, "log_partition")?;
    let states = enumerate(machine)?;
    Ok(log_sum_exp(
        &states.iter().map(|(_, lw, _)| *lw).collect::<Vec<_>>(),
    ))
}

/// Exact mean log-likelihood `mean log p(v)` of a data set (flat, `n_0` columns) under a
/// two-layer machine, `−F(v) − ln Z` (a log-density for Gaussian visible layers).
pub fn average_log_likelihood(
    machine: &BoltzmannMachine,
    data: &[f32],
) -> Result<f64, MachineError> {
    require_two_layers(machine, "average_log_likelihood")?;
    let rows = check_rows(machine, data)?;
    let log_z = log_partition(machine)?;
    let mut total = 0.0;
    for v in data.chunks_exact(machine.layers()[0].len()) {
        total -= machine.free_energy(&[Some(v), None])?;
    }
    Ok(total / rows as f64 - log_z)
}

/// Exact model statistics of a two-layer machine: the smaller discrete layer is enumerated
/// (weights `exp(−F)`), the other layer's expectations given it are exact.
pub fn exact_model_stats(machine: &BoltzmannMachine) -> Result<MachineGradient, MachineError> {
    require_two_layers(machine, "exact_model_stats")?;
    let (e, _) = enumerated_layer(machine)?;
    let states = enumerate(machine)?;
    let log_z = log_sum_exp(&states.iter().map(|(_, lw, _)| *lw).collect::<Vec<_>>());
    let (le, lo) = (&machine.layers()[e], &machine.layers()[1 - e]);
    let mut stats = ProductStats::new(machine);
    for (x, log_w, f) in &states {
        let me = le.moments_of(x);
        let mo = lo.moments_given(f);
        let m = if e == 0 { [me, mo] } else { [mo, me] };
        stats.add(&m, (log_w - log_z).exp());
    }
    Ok(stats.finish())
}

/// The exact gradient of the mean negative log-likelihood of `data` under a two-layer
/// machine, from [`positive_phase`] and [`exact_model_stats`].
pub fn exact_gradient(
    machine: &BoltzmannMachine,
    data: &[f32],
) -> Result<MachineGradientEstimate, MachineError> {
    let positive = positive_phase(machine, data)?;
    let negative = exact_model_stats(machine)?;
    Ok(MachineGradientEstimate {
        gradient: MachineGradient::difference(&negative, &positive),
        positive,
        negative,
    })
}

/// CD-k / PCD / driven-PCD gradient estimator for two-layer machines; the negative phase
/// runs on the blockgibbs runtime (by default the best backend on one thread; see
/// [`MachineGradientEstimator::backend`]). The sampler is made at the first estimate and kept:
/// later estimates give it the current parameters ([`MachineSampler::set_machine`]) and a
/// fresh seed from the estimator's ChaCha8 stream, so nothing is compiled again and results
/// are deterministic for a seed. PCD keeps every layer of its persistent chains in it.
///
/// Driven PCD sets every chain's inverse temperature before each sweep
/// ([`blockgibbs_runtime::Sampler::set_betas`]; β scales the whole field, biases included);
/// the temperatures come from a second ChaCha8 stream (stream 1 of the same seed), advanced
/// sweep by sweep in chain order.
pub struct MachineGradientEstimator {
    sampling: Sampling,
    rng: ChaCha8Rng,
    beta_rng: ChaCha8Rng,
    betas: Option<BetaProcess>,
    fantasy: Vec<Vec<f32>>,
    backend: BackendChoice,
    threads: usize,
    sampler: Option<MachineSampler>,
}

impl std::fmt::Debug for MachineGradientEstimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MachineGradientEstimator")
            .field("sampling", &self.sampling)
            .field("betas", &self.betas)
            .field("fantasy", &self.fantasy)
            .field("backend", &self.backend)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl MachineGradientEstimator {
    /// A validated estimator ([`Sampling::validate`]) seeded with `seed`.
    pub fn new(sampling: Sampling, seed: u64) -> Result<MachineGradientEstimator, MachineError> {
        sampling.validate()?;
        let mut beta_rng = ChaCha8Rng::seed_from_u64(seed);
        beta_rng.set_stream(1);
        Ok(MachineGradientEstimator {
            sampling,
            rng: ChaCha8Rng::seed_from_u64(seed),
            beta_rng,
            betas: None,
            fantasy: Vec::new(),
            backend: BackendChoice::default(),
            threads: 1,
            sampler: None,
        })
    }

    /// The sampling method.
    pub fn sampling(&self) -> Sampling {
        self.sampling
    }

    /// The negative phase's sampler, once the first estimate has made it.
    pub fn sampler(&self) -> Option<&MachineSampler> {
        self.sampler.as_ref()
    }

    /// The estimator with its negative phase on `backend` (every backend gives the same
    /// estimates bit for bit; the default picks the JIT where it runs).
    pub fn backend(mut self, backend: BackendChoice) -> MachineGradientEstimator {
        self.backend = backend;
        self
    }

    /// The estimator with its negative phase on `threads` threads (default 1; 0 is one per
    /// core). Estimates do not depend on it.
    pub fn threads(mut self, threads: usize) -> MachineGradientEstimator {
        self.threads = threads;
        self
    }

    /// The persistent chains' layers (`chains × n_l` each); empty before the first PCD
    /// estimate and always for CD.
    pub fn fantasy_particles(&self) -> &[Vec<f32>] {
        &self.fantasy
    }

    /// The driven chains' current inverse temperatures (those of their last sweep), one per
    /// chain; empty before the first driven-PCD estimate and for CD and plain PCD.
    pub fn chain_betas(&self) -> &[f64] {
        self.betas.as_ref().map_or(&[], |b| b.betas())
    }

    /// Forgets the persistent chains (and driven temperatures) and the sampler; the next
    /// estimate starts new chains (needed after changing the machine's shape).
    pub fn reset_chains(&mut self) {
        self.fantasy.clear();
        self.betas = None;
        self.sampler = None;
    }

    /// Estimates the gradient of the mean negative log-likelihood of `batch` (flat, `n_0`
    /// columns). PCD advances its persistent chains.
    pub fn estimate(
        &mut self,
        machine: &BoltzmannMachine,
        batch: &[f32],
    ) -> Result<MachineGradientEstimate, MachineError> {
        let positive = positive_phase(machine, batch)?;
        let rows = batch.len() / machine.layers()[0].len();
        let k = self.sampling.sweeps();
        let chains = self.sampling.persistent_chains().unwrap_or(rows);
        if let (Sampling::DrivenPcd { driven, .. }, None) = (self.sampling, &self.betas) {
            self.betas = Some(BetaProcess::new(driven, chains, &mut self.beta_rng)?);
        }
        let options = SamplerOptions {
            chains,
            seed: self.rng.random(),
            threads: self.threads,
            beta: 1.0,
        };
        let sampler = MachineSampler::reuse(&mut self.sampler, machine, options, self.backend)?;
        match (self.sampling, self.betas.as_mut()) {
            (Sampling::Cd { .. }, _) => {
                sampler.set_layer(0, batch)?;
                sampler.run(SamplingMode::MarkovChain, k as u64)?;
            }
            (_, Some(process)) => {
                let mut betas = vec![0.0f32; chains];
                for _ in 0..k {
                    for (c, b) in betas.iter_mut().enumerate() {
                        *b = process.step_chain(c, &mut self.beta_rng)? as f32;
                    }
                    sampler.sampler_mut().set_betas(&betas).map_err(|e| {
                        MachineError::InvalidOption {
                            field: "beta_std",
                            reason: format!("a driven inverse temperature: {e}"),
                        }
                    })?;
                    sampler.run(SamplingMode::MarkovChain, 1)?;
                }
            }
            (_, None) => sampler.run(SamplingMode::MarkovChain, k as u64)?,
        }
        let v = sampler.layer_values(0)?;
        if self.sampling.persistent_chains().is_some() {
            self.fantasy = sampler.all_layer_values()?;
        }
        let negative = rao_blackwell_stats(machine, &v);
        Ok(MachineGradientEstimate {
            gradient: MachineGradient::difference(&negative, &positive),
            positive,
            negative,
        })
    }
}
