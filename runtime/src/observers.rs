//! Observers: what the runtime records at every observation of a schedule.

use crate::checkpoint::observers as saved;
use crate::checkpoint::{ObserverState, ObserverStateError};
use crate::state::ChainState;
use crate::stats::{BatchMeans, Estimate};
use blockgibbs_ir::{Model, NodeId, NodeKind, Program};
use rayon::prelude::*;

/// Read-only access to every chain at an observation.
#[derive(Clone, Copy)]
pub struct StateView<'a> {
    pub(crate) state: &'a ChainState,
    pub(crate) program: &'a Program,
    pub(crate) model: &'a Model,
    pub(crate) sample: u64,
}

impl<'a> StateView<'a> {
    /// Number of chains.
    pub fn chains(&self) -> usize {
        self.state.chains
    }

    /// Index of this observation within the current run (0 = after warmup).
    pub fn sample_index(&self) -> u64 {
        self.sample
    }

    /// The model being sampled.
    pub fn model(&self) -> &'a Model {
        self.model
    }

    /// Value of `node` in `chain`.
    #[inline]
    pub fn value(&self, node: NodeId, chain: usize) -> f32 {
        self.state.get(self.program.slot_of[node.index()], chain)
    }

    /// Energy of `chain` (no β), evaluated exactly from the factors.
    pub fn energy(&self, chain: usize) -> f64 {
        self.model.energy_with(|n| self.value(n, chain))
    }
}

/// Something fed at every observation point of a schedule.
///
/// Observers attached to a sampler ([`crate::Sampler::attach`]) are saved in its
/// checkpoints through [`Observer::save_state`] and restored on resume through
/// [`Observer::restore_state`]; the built-in observers implement both. An observer that
/// keeps the defaults cannot be checkpointed (a checkpoint of a sampler it is attached to
/// fails, naming it).
pub trait Observer: Send {
    /// Records one observation.
    fn observe(&mut self, view: &StateView<'_>);

    /// The accumulators, for a checkpoint; `None` when this observer cannot be saved.
    fn save_state(&self) -> Option<ObserverState> {
        None
    }

    /// Restores accumulators written by [`Observer::save_state`] into this observer, which
    /// was built afresh with the same configuration (nodes, observables): a resumed run then
    /// continues the same accumulation. On error the observer is unchanged.
    fn restore_state(&mut self, state: &ObserverState) -> Result<(), ObserverStateError> {
        let _ = state;
        Err(ObserverStateError::Unsupported)
    }
}

impl<O: Observer + ?Sized> Observer for Box<O> {
    fn observe(&mut self, view: &StateView<'_>) {
        (**self).observe(view);
    }

    fn save_state(&self) -> Option<ObserverState> {
        (**self).save_state()
    }

    fn restore_state(&mut self, state: &ObserverState) -> Result<(), ObserverStateError> {
        (**self).restore_state(state)
    }
}

/// Collects the values of chosen nodes: `data[(sample · chains + chain) · nodes + i]`.
#[derive(Clone, Debug, Default)]
pub struct SampleCollector {
    /// Nodes recorded, in column order.
    pub nodes: Vec<NodeId>,
    /// Observations recorded.
    pub samples: usize,
    /// Chains per observation.
    pub chains: usize,
    /// Row-major `[samples, chains, nodes]`.
    pub data: Vec<f32>,
}

impl SampleCollector {
    /// Records `nodes` at every observation.
    pub fn new(nodes: Vec<NodeId>) -> SampleCollector {
        SampleCollector {
            nodes,
            ..Default::default()
        }
    }

    /// Shape `[samples, chains, nodes]` of [`SampleCollector::data`].
    pub fn shape(&self) -> [usize; 3] {
        [self.samples, self.chains, self.nodes.len()]
    }

    /// The recorded values of one chain at one observation.
    pub fn row(&self, sample: usize, chain: usize) -> &[f32] {
        let n = self.nodes.len();
        let start = (sample * self.chains + chain) * n;
        &self.data[start..start + n]
    }
}

impl Observer for SampleCollector {
    fn observe(&mut self, view: &StateView<'_>) {
        self.chains = view.chains();
        self.samples += 1;
        for chain in 0..view.chains() {
            self.data
                .extend(self.nodes.iter().map(|&n| view.value(n, chain)));
        }
    }

    fn save_state(&self) -> Option<ObserverState> {
        Some(saved::save_collector(self))
    }

    fn restore_state(&mut self, state: &ObserverState) -> Result<(), ObserverStateError> {
        saved::restore_collector(self, state)
    }
}

/// Running first moments of nodes and second moments of node pairs over observations and
/// chains.
#[derive(Clone, Debug, Default)]
pub struct Moments {
    /// Nodes whose mean is tracked.
    pub nodes: Vec<NodeId>,
    /// Pairs whose product mean is tracked.
    pub pairs: Vec<(NodeId, NodeId)>,
    pub(crate) first: Vec<f64>,
    pub(crate) second: Vec<f64>,
    pub(crate) count: u64,
}

impl Moments {
    /// Tracks ⟨x_n⟩ for `nodes` and ⟨x_a x_b⟩ for `pairs`.
    pub fn new(nodes: Vec<NodeId>, pairs: Vec<(NodeId, NodeId)>) -> Moments {
        Moments {
            first: vec![0.0; nodes.len()],
            second: vec![0.0; pairs.len()],
            nodes,
            pairs,
            count: 0,
        }
    }

    /// ⟨x_n⟩ for each tracked node (NaN-free: zeros before any observation).
    pub fn means(&self) -> Vec<f64> {
        let c = self.count.max(1) as f64;
        self.first.iter().map(|s| s / c).collect()
    }

    /// ⟨x_a x_b⟩ for each tracked pair.
    pub fn pair_means(&self) -> Vec<f64> {
        let c = self.count.max(1) as f64;
        self.second.iter().map(|s| s / c).collect()
    }

    /// Number of (observation, chain) draws accumulated.
    pub fn count(&self) -> u64 {
        self.count
    }
}

impl Observer for Moments {
    fn observe(&mut self, view: &StateView<'_>) {
        let chains = view.chains();
        // Each entry sums its chains in chain order, so the result does not depend on how
        // rayon splits the work.
        self.first
            .par_iter_mut()
            .zip(&self.nodes)
            .for_each(|(s, &n)| {
                *s += (0..chains).map(|c| view.value(n, c) as f64).sum::<f64>();
            });
        self.second
            .par_iter_mut()
            .zip(&self.pairs)
            .for_each(|(s, &(a, b))| {
                *s += (0..chains)
                    .map(|c| view.value(a, c) as f64 * view.value(b, c) as f64)
                    .sum::<f64>();
            });
        self.count += chains as u64;
    }

    fn save_state(&self) -> Option<ObserverState> {
        Some(saved::save_moments(self))
    }

    fn restore_state(&mut self, state: &ObserverState) -> Result<(), ObserverStateError> {
        saved::restore_moments(self, state)
    }
}

/// The energy of every chain at every observation.
#[derive(Clone, Debug, Default)]
pub struct EnergyObserver {
    /// `energies[sample][chain]`.
    pub energies: Vec<Vec<f64>>,
}

impl Observer for EnergyObserver {
    fn observe(&mut self, view: &StateView<'_>) {
        self.energies.push(
            (0..view.chains())
                .into_par_iter()
                .map(|c| view.energy(c))
                .collect(),
        );
    }

    fn save_state(&self) -> Option<ObserverState> {
        Some(saved::save_energies(self))
    }

    fn restore_state(&mut self, state: &ObserverState) -> Result<(), ObserverStateError> {
        saved::restore_energies(self, state)
    }
}

/// A per-chain scalar function of the state.
pub type ChainScalar = Box<dyn Fn(&StateView<'_>, usize) -> f64 + Send + Sync>;

/// Named scalar observables with streaming batch-means statistics.
#[derive(Default)]
pub struct ScalarObservables {
    pub(crate) entries: Vec<(String, ChainScalar, BatchMeans)>,
}

impl ScalarObservables {
    /// No observables yet.
    pub fn new() -> ScalarObservables {
        ScalarObservables::default()
    }

    /// Adds an observable: `f(view, chain)` evaluated for every chain at every observation.
    pub fn add(&mut self, name: &str, f: ChainScalar) -> &mut Self {
        self.entries.push((name.to_string(), f, BatchMeans::new()));
        self
    }

    /// The standard set: `energy_per_node` for every model; `magnetization` and
    /// `abs_magnetization` when the model has spin nodes.
    pub fn standard(model: &Model) -> ScalarObservables {
        let mut obs = ScalarObservables::new();
        let n = model.node_count().max(1) as f64;
        obs.add("energy_per_node", Box::new(move |v, c| v.energy(c) / n));
        let spins: Vec<NodeId> = (0..model.node_count() as u32)
            .map(NodeId)
            .filter(|&id| model.kind(id) == NodeKind::Spin)
            .collect();
        if !spins.is_empty() {
            let m = std::sync::Arc::new(spins);
            let m2 = m.clone();
            obs.add("magnetization", Box::new(move |v, c| mean_of(v, c, &m)));
            obs.add(
                "abs_magnetization",
                Box::new(move |v, c| mean_of(v, c, &m2).abs()),
            );
        }
        obs
    }

    /// Current estimates, in insertion order.
    pub fn estimates(&self) -> Vec<(String, Estimate)> {
        self.entries
            .iter()
            .map(|(n, _, b)| (n.clone(), b.estimate()))
            .collect()
    }

    /// The estimate of one observable.
    pub fn estimate(&self, name: &str) -> Option<Estimate> {
        self.entries
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, b)| b.estimate())
    }
}

fn mean_of(view: &StateView<'_>, chain: usize, nodes: &[NodeId]) -> f64 {
    nodes
        .iter()
        .map(|&n| view.value(n, chain) as f64)
        .sum::<f64>()
        / nodes.len() as f64
}

impl Observer for ScalarObservables {
    fn observe(&mut self, view: &StateView<'_>) {
        for (_, f, stats) in &mut self.entries {
            let values: Vec<f64> = (0..view.chains())
                .into_par_iter()
                .map(|c| f(view, c))
                .collect();
            stats.push_chains(&values);
        }
    }

    fn save_state(&self) -> Option<ObserverState> {
        Some(saved::save_scalars(self))
    }

    /// Restores each observable's accumulator by name: the saved and the present observables
    /// must be the same set (the closures themselves are code and are not saved).
    fn restore_state(&mut self, state: &ObserverState) -> Result<(), ObserverStateError> {
        saved::restore_scalars(self, state)
    }
}
