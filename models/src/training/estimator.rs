//! [`KlGradEstimator`]: THRML's `estimate_kl_grad` as a stateful object for training loops.
//! It compiles the model's structure once and keeps a positive-phase and a negative-phase
//! sampler for the whole run; each estimate pushes the current parameters as live weights,
//! holds the data (and conditioning) with runtime clamps and continues the negative phase's
//! persistent chains. The free functions [`super::estimate_kl_grad`] and
//! [`super::estimate_kl_grad_targeted`] are one estimate of a fresh estimator.

use std::sync::Arc;

use blockgibbs_ir::{Model, Program};
use blockgibbs_runtime::Sampler;

use super::kl::{GradTargets, KlGrad, PersistentChains, moments_from_data};
use super::phase::{Observed, PhaseSampler, Start, free_model};
use super::{IsingMoments, IsingTrainingSpec, check_rows};
use crate::ising::{IsingEBM, IsingError, invalid};

/// The gradient of KL(data ‖ model) of an [`IsingEBM`] whose parameters change from call to
/// call (a training loop), estimated on samplers compiled once.
///
/// **Semantics.** Every [`KlGradEstimator::estimate`] runs the positive phase from the state
/// a freshly built sampler starts in (the spec's `positive.init`), as THRML does, and the
/// negative phase from where the previous estimate left its chains (the first from the
/// spec's `negative.init`, or from chains given to [`KlGradEstimator::resume_from`]), with the
/// sweep counter carried along. Because the runtime's random numbers are addressed by (seed,
/// chain, sweep, node), a sequence of estimates equals, bit for bit, the same sequence of
/// [`super::estimate_kl_grad_targeted`] calls each handed the previous call's
/// `negative_chains`.
///
/// **Structure.** The estimator is made for one structure: node count and edge list. A model
/// with another structure is refused with [`IsingError::StructureChanged`]; biases,
/// couplings and β may change freely. With conditioning nodes the negative phase keeps
/// `negative.chains` chains per example, so the number of examples is fixed by the first
/// estimate (another count is a [`IsingError::LengthMismatch`] on `conditioning`). The
/// positive phase restarts at every estimate, so a batch of another size only rebuilds its
/// sampler from the compiled program; keep batches one size to build it once.
pub struct KlGradEstimator {
    nodes: usize,
    edges: Vec<(u32, u32)>,
    spec: IsingTrainingSpec,
    targets: GradTargets,
    observed: Observed,
    model: Arc<Model>,
    program: Option<Arc<Program>>,
    positive: Option<PhaseSampler>,
    negative: Option<PhaseSampler>,
    pending: Option<PersistentChains>,
}

impl std::fmt::Debug for KlGradEstimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KlGradEstimator")
            .field("nodes", &self.nodes)
            .field("edges", &self.edges.len())
            .field("targets", &self.targets)
            .field("compiled", &self.program.is_some())
            .finish_non_exhaustive()
    }
}

impl KlGradEstimator {
    /// An estimator of the gradient with respect to every coupling and bias of models with
    /// `ebm`'s structure, sampling as `spec` says. Checks the spec against `ebm`.
    pub fn new(ebm: &IsingEBM, spec: &IsingTrainingSpec) -> Result<KlGradEstimator, IsingError> {
        // The model's own edges may repeat a pair, so they skip the targets' duplicate check.
        KlGradEstimator::with_targets(ebm, spec, GradTargets::all(ebm))
    }

    /// An estimator of the gradients of `targets` only (THRML's `bias_nodes` and
    /// `weight_edges`, in their order). Checks the targets and the spec against `ebm`.
    pub fn targeted(
        ebm: &IsingEBM,
        spec: &IsingTrainingSpec,
        targets: &GradTargets,
    ) -> Result<KlGradEstimator, IsingError> {
        targets.validate(ebm)?;
        KlGradEstimator::with_targets(ebm, spec, targets.clone())
    }

    fn with_targets(
        ebm: &IsingEBM,
        spec: &IsingTrainingSpec,
        targets: GradTargets,
    ) -> Result<KlGradEstimator, IsingError> {
        spec.validate(ebm)?;
        Ok(KlGradEstimator {
            nodes: ebm.node_count(),
            edges: ebm.edges().to_vec(),
            spec: spec.clone(),
            observed: Observed::new(&targets.bias_nodes, &targets.weight_edges),
            targets,
            model: free_model(ebm)?,
            program: None,
            positive: None,
            negative: None,
            pending: None,
        })
    }

    /// The sampling spec.
    pub fn spec(&self) -> &IsingTrainingSpec {
        &self.spec
    }

    /// The parameters whose gradients are estimated.
    pub fn targets(&self) -> &GradTargets {
        &self.targets
    }

    /// The negative phase's sampler, once the first estimate has made it.
    pub fn negative_sampler(&self) -> Option<&Sampler> {
        self.negative.as_ref().map(PhaseSampler::sampler)
    }

    /// The positive phase's sampler, once an estimate has sampled that phase (never when
    /// every node is data or conditioning: the moments then come from the data).
    pub fn positive_sampler(&self) -> Option<&Sampler> {
        self.positive.as_ref().map(PhaseSampler::sampler)
    }

    /// Starts the next estimate's negative phase from `chains` (THRML's
    /// `init_state_negative`, with the sweep counter) instead of the current chains. They
    /// are checked against the chain count when that estimate runs (field
    /// `negative_init.states`).
    pub fn resume_from(&mut self, chains: PersistentChains) {
        self.pending = Some(chains);
    }

    /// The negative phase's chains after the last estimate (to save, or to hand to a free
    /// function call or another estimator).
    pub fn negative_chains(&self) -> Result<PersistentChains, IsingError> {
        match &self.negative {
            Some(s) => s.chains_state(),
            None => Err(invalid("negative_chains", "no estimate has run yet")),
        }
    }

    /// Checks that `ebm` has the structure the estimator was made for.
    fn check_structure(&self, ebm: &IsingEBM) -> Result<(), IsingError> {
        let changed =
            |field: String, reason: String| IsingError::StructureChanged { field, reason };
        if ebm.node_count() != self.nodes {
            return Err(changed(
                "ebm.biases".into(),
                format!(
                    "{} nodes, the estimator's have {}",
                    ebm.node_count(),
                    self.nodes
                ),
            ));
        }
        if ebm.edges().len() != self.edges.len() {
            return Err(changed(
                "ebm.edges".into(),
                format!(
                    "{} edges, the estimator's have {}",
                    ebm.edges().len(),
                    self.edges.len()
                ),
            ));
        }
        if let Some(k) = ebm
            .edges()
            .iter()
            .zip(&self.edges)
            .position(|(a, b)| a != b)
        {
            let ((a, b), (c, d)) = (ebm.edges()[k], self.edges[k]);
            return Err(changed(
                format!("ebm.edges[{k}]"),
                format!("({a}, {b}), the estimator's is ({c}, {d})"),
            ));
        }
        Ok(())
    }

    /// Checks the data and conditioning rows; returns the positive phase's clamping rows
    /// (data then conditioning values of each example).
    fn check_inputs(
        &self,
        data: &[Vec<f32>],
        conditioning: &[Vec<f32>],
    ) -> Result<Vec<Vec<f32>>, IsingError> {
        let spec = &self.spec;
        if data.is_empty() {
            return Err(invalid("data", "needs at least one example"));
        }
        check_rows("data", spec.data_nodes.len(), data)?;
        if !spec.conditioning_nodes.is_empty() {
            check_rows("conditioning", spec.conditioning_nodes.len(), conditioning)?;
            if conditioning.len() != data.len() {
                return Err(IsingError::LengthMismatch {
                    field: "conditioning".into(),
                    expected: data.len(),
                    found: conditioning.len(),
                });
            }
            if let Some(s) = &self.negative
                && s.groups() != conditioning.len()
            {
                return Err(IsingError::LengthMismatch {
                    field: "conditioning".into(),
                    expected: s.groups(),
                    found: conditioning.len(),
                });
            }
        } else if !conditioning.is_empty() {
            return Err(invalid(
                "conditioning",
                "values given but the spec has no conditioning nodes",
            ));
        }
        if let Some(r) = &self.pending {
            let groups = conditioning.len().max(1);
            let total = groups
                .checked_mul(spec.negative.chains)
                .ok_or_else(|| invalid("chains", "chain count overflows"))?;
            r.check(self.nodes, total)?;
        }
        for (name, schedule) in [
            ("schedule_positive", &spec.schedule_positive),
            ("schedule_negative", &spec.schedule_negative),
        ] {
            if schedule.samples == 0 {
                return Err(invalid(
                    &format!("spec.{name}.samples"),
                    "must be at least 1",
                ));
            }
        }
        Ok(data
            .iter()
            .zip(conditioning.iter().map(Some).chain(std::iter::repeat(None)))
            .map(|(d, c)| {
                let mut row = d.clone();
                if let Some(c) = c {
                    row.extend_from_slice(c);
                }
                row
            })
            .collect())
    }

    /// A phase sampler of the estimator's structure, sharing the compiled program.
    fn build(
        &mut self,
        positive: bool,
        groups: usize,
        clamped: &[u32],
    ) -> Result<PhaseSampler, IsingError> {
        let options = if positive {
            &self.spec.positive
        } else {
            &self.spec.negative
        };
        let sampler = PhaseSampler::new(
            self.model.clone(),
            self.program.clone(),
            options,
            groups,
            clamped,
        )?;
        self.program.get_or_insert_with(|| sampler.program());
        Ok(sampler)
    }

    /// The gradient for `ebm`'s current parameters, with the sign convention of the
    /// [module docs](super): `data[k]` holds the values (±1) of `spec.data_nodes` in example
    /// k, `conditioning[k]` those of `spec.conditioning_nodes` (`&[]` when there are none).
    /// Advances the negative phase's persistent chains.
    pub fn estimate(
        &mut self,
        ebm: &IsingEBM,
        data: &[Vec<f32>],
        conditioning: &[Vec<f32>],
    ) -> Result<KlGrad, IsingError> {
        self.check_structure(ebm)?;
        let rows = self.check_inputs(data, conditioning)?;
        let positive = self.positive_phase(ebm, &rows)?;
        let negative = self.negative_phase(ebm, conditioning)?;
        let beta = ebm.beta() as f64;
        let diff = |p: &[f64], q: &[f64]| -> Vec<f64> {
            p.iter().zip(q).map(|(a, b)| -beta * (a - b)).collect()
        };
        Ok(KlGrad {
            weights: diff(&positive.edge_means, &negative.edge_means),
            biases: diff(&positive.node_means, &negative.node_means),
            positive,
            negative,
        })
    }

    /// Data and conditioning nodes held at each example's `rows`, `positive.chains` chains
    /// per example, restarted as a fresh sampler would start; from the data directly when
    /// no node is left free.
    fn positive_phase(
        &mut self,
        ebm: &IsingEBM,
        rows: &[Vec<f32>],
    ) -> Result<IsingMoments, IsingError> {
        let clamped = self.spec.clamped_positive();
        if clamped.len() == self.nodes {
            return Ok(moments_from_data(
                self.nodes,
                &self.targets.bias_nodes,
                &self.targets.weight_edges,
                &clamped,
                rows,
            ));
        }
        let mut sampler = match self.positive.take() {
            Some(s) if s.groups() == rows.len() => s,
            _ => self.build(true, rows.len(), &clamped)?,
        };
        let moments = sampler.sample(
            ebm,
            Start::Restart,
            rows,
            &self.spec.schedule_positive,
            &self.observed,
        );
        self.positive = Some(sampler);
        moments
    }

    /// Conditioning nodes held at each example's values (`negative.chains` chains per
    /// example), or `negative.chains` free chains, continuing the persistent chains.
    fn negative_phase(
        &mut self,
        ebm: &IsingEBM,
        conditioning: &[Vec<f32>],
    ) -> Result<IsingMoments, IsingError> {
        let (mut sampler, fresh) = match self.negative.take() {
            Some(s) => (s, false),
            None => {
                let clamped = self.spec.conditioning_nodes.clone();
                (self.build(false, conditioning.len(), &clamped)?, true)
            }
        };
        let pending = self.pending.take();
        let start = match &pending {
            Some(chains) => Start::Resume(chains),
            None if fresh => Start::Restart,
            None => Start::Continue,
        };
        let result = sampler.sample(
            ebm,
            start,
            conditioning,
            &self.spec.schedule_negative,
            &self.observed,
        );
        if result.is_err() {
            // Chains asked for are still to be used; a sampler that never started is not
            // kept, so that the next estimate starts it from the spec's initial state.
            self.pending = pending;
            if fresh {
                return result;
            }
        }
        self.negative = Some(sampler);
        result
    }
}
