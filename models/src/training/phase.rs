//! One sampling phase of an Ising model on a sampler that is compiled once and kept: the
//! model's parameters are pushed as live weights, clamped nodes are held with runtime clamps,
//! and the chains either restart from the state a fresh sampler would have or continue.
//!
//! Every phase samples the model with *all* nodes free and holds the clamped ones at run time
//! (rather than clamping them in the model), so the positive and negative phases of a
//! gradient share one compiled program and a new batch of data is a new set of clamp values,
//! not a new compilation.

use std::sync::Arc;

use blockgibbs_ir::{FactorId, Model, NodeId, Program};
use blockgibbs_runtime::{Chains, Moments, Sampler, SamplingSchedule};

use super::{InitMode, IsingMoments, PersistentChains, SamplingOptions};
use crate::ising::{IsingEBM, IsingError, hinton_init, invalid};

/// What a phase observes: ⟨s_i⟩ for `nodes` and ⟨s_a s_b⟩ for `edges`.
pub(crate) struct Observed {
    nodes: Vec<NodeId>,
    edges: Vec<(NodeId, NodeId)>,
}

impl Observed {
    pub(crate) fn new(nodes: &[u32], edges: &[(u32, u32)]) -> Observed {
        Observed {
            nodes: nodes.iter().map(|&i| NodeId(i)).collect(),
            edges: edges.iter().map(|&(a, b)| (NodeId(a), NodeId(b))).collect(),
        }
    }
}

/// Where a phase's chains start.
pub(crate) enum Start<'a> {
    /// Where a freshly built sampler starts (the options' initial state).
    Restart,
    /// From saved chains (checked by the caller).
    Resume(&'a PersistentChains),
    /// Where the previous run left them.
    Continue,
}

/// A compiled sampler of an [`IsingEBM`]'s structure for one phase: `groups` groups of
/// `per_group` chains, the `clamped` nodes held per group at run time.
pub(crate) struct PhaseSampler {
    sampler: Sampler,
    /// The state the sampler was built with (its seeded uniform initial values), restored by
    /// [`PhaseSampler::restart`] so that a kept sampler starts where a fresh one would.
    initial: Vec<f32>,
    bias: FactorId,
    coupling: Option<FactorId>,
    options: SamplingOptions,
    per_group: usize,
    groups: usize,
    clamped: Vec<NodeId>,
    free: Vec<u32>,
}

/// The model every phase samples: `ebm`'s structure with no node clamped.
pub(crate) fn free_model(ebm: &IsingEBM) -> Result<Arc<Model>, IsingError> {
    Ok(Arc::new(ebm.to_model(&[])?))
}

impl PhaseSampler {
    /// Builds the sampler of `model` (made by [`free_model`]) with `groups · options.chains`
    /// chains, reusing `program` when given (no lowering; the backend is still built).
    pub(crate) fn new(
        model: Arc<Model>,
        program: Option<Arc<Program>>,
        options: &SamplingOptions,
        groups: usize,
        clamped: &[u32],
    ) -> Result<PhaseSampler, IsingError> {
        if options.chains == 0 {
            return Err(invalid("chains", "must be at least 1"));
        }
        let total = groups
            .max(1)
            .checked_mul(options.chains)
            .ok_or_else(|| invalid("chains", "chain count overflows"))?;
        let bias = model
            .factor_id("bias")
            .ok_or_else(|| invalid("model", "no bias factor"))?;
        let coupling = model.factor_id("coupling");
        let n = model.node_count();
        let mut builder = Sampler::builder(model)
            .backend(options.backend)
            .chains(total)
            .seed(options.seed)
            .threads(options.threads);
        if let Some(p) = program {
            builder = builder.program(p);
        }
        let sampler = builder.build()?;
        let mut initial = vec![0.0f32; total * n];
        sampler.read_states(&mut initial)?;
        let mut is_clamped = vec![false; n];
        for &c in clamped {
            is_clamped[c as usize] = true;
        }
        Ok(PhaseSampler {
            sampler,
            initial,
            bias,
            coupling,
            options: *options,
            per_group: options.chains,
            groups: groups.max(1),
            clamped: clamped.iter().map(|&i| NodeId(i)).collect(),
            free: (0..n as u32).filter(|&i| !is_clamped[i as usize]).collect(),
        })
    }

    /// The compiled program, to share with the other phase.
    pub(crate) fn program(&self) -> Arc<Program> {
        self.sampler.program().clone()
    }

    /// Number of groups (clamping rows) the chains are split into.
    pub(crate) fn groups(&self) -> usize {
        self.groups
    }

    /// Total chains.
    pub(crate) fn chains(&self) -> usize {
        self.sampler.chains()
    }

    /// Gives the sampler `ebm`'s biases, couplings and β (same structure: the caller checks).
    fn load(&mut self, ebm: &IsingEBM) -> Result<(), IsingError> {
        self.sampler.set_weights(self.bias, ebm.biases())?;
        if let Some(c) = self.coupling {
            self.sampler.set_weights(c, ebm.weights())?;
        }
        self.sampler
            .set_betas(&vec![ebm.beta(); self.sampler.chains()])?;
        Ok(())
    }

    /// Puts the chains where a freshly built sampler of the same options starts: its own
    /// uniform values or, for [`InitMode::Hinton`], `ebm`'s Hinton state of the free nodes;
    /// sweep counter 0.
    fn restart(&mut self, ebm: &IsingEBM) -> Result<(), IsingError> {
        self.sampler.write_states(&self.initial)?;
        self.sampler.set_sweeps_done(0);
        if let InitMode::Hinton(rule) = self.options.init {
            let seed = self.options.seed ^ 0x9e37_79b9_7f4a_7c15;
            let init = hinton_init(ebm, &self.free, self.chains(), rule, seed)?;
            for (chain, row) in init.iter().enumerate() {
                for (&node, &v) in self.free.iter().zip(row) {
                    self.sampler.set_value(NodeId(node), chain, v)?;
                }
            }
        }
        Ok(())
    }

    /// Continues from persistent chains (all nodes' values and the sweep counter); the
    /// caller has checked their shape.
    fn resume(&mut self, chains: &PersistentChains) -> Result<(), IsingError> {
        let flat: Vec<f32> = chains.states.concat();
        self.sampler.write_states(&flat)?;
        self.sampler.set_sweeps_done(chains.sweeps_done);
        Ok(())
    }

    /// Holds the clamped nodes of group g's chains at `values[g]` (checked by the caller:
    /// one row per group, one spin per clamped node).
    fn clamp(&mut self, values: &[Vec<f32>]) -> Result<(), IsingError> {
        for (g, row) in values.iter().enumerate() {
            for chain in g * self.per_group..(g + 1) * self.per_group {
                self.sampler
                    .clamp_nodes(&self.clamped, row, Chains::One(chain))?;
            }
        }
        Ok(())
    }

    /// Runs `schedule` and returns the moments of `observed` over every chain.
    fn run(
        &mut self,
        schedule: &SamplingSchedule,
        observed: &Observed,
    ) -> Result<IsingMoments, IsingError> {
        if schedule.samples == 0 {
            return Err(invalid("schedule.samples", "must be at least 1"));
        }
        let mut moments = Moments::new(observed.nodes.clone(), observed.edges.clone());
        self.sampler.run(schedule, &mut [&mut moments])?;
        Ok(IsingMoments {
            node_means: moments.means(),
            edge_means: moments.pair_means(),
            draws: moments.count(),
        })
    }

    /// Gives the sampler `ebm`'s parameters, positions its chains, holds the clamped nodes at
    /// `values` (one row per group) and runs `schedule`: the one way a phase is sampled.
    pub(crate) fn sample(
        &mut self,
        ebm: &IsingEBM,
        start: Start<'_>,
        values: &[Vec<f32>],
        schedule: &SamplingSchedule,
        observed: &Observed,
    ) -> Result<IsingMoments, IsingError> {
        self.load(ebm)?;
        match start {
            Start::Restart => self.restart(ebm)?,
            Start::Resume(chains) => self.resume(chains)?,
            Start::Continue => {}
        }
        self.clamp(values)?;
        self.run(schedule, observed)
    }

    /// Every chain's values of all nodes and the sweep counter.
    pub(crate) fn chains_state(&self) -> Result<PersistentChains, IsingError> {
        let n = self.sampler.model().node_count();
        let mut flat = vec![0.0f32; self.chains() * n];
        self.sampler.read_states(&mut flat)?;
        Ok(PersistentChains {
            states: flat.chunks_exact(n).map(<[f32]>::to_vec).collect(),
            sweeps_done: self.sampler.sweeps_done(),
        })
    }

    /// The sampler (its backend, chains, state).
    pub(crate) fn sampler(&self) -> &Sampler {
        &self.sampler
    }
}
