//! Gibbs chains of a harmonium on the runtime, `gibbs_step`, and contrastive divergence.

use std::sync::Arc;

use blockgibbs_ir::{Model, NodeGroup};
use blockgibbs_runtime::Sampler;

use super::{Harmonium, HarmoniumError, Order};
use crate::expfam::ExponentialFamily;
use crate::samples::Samples;
use crate::training::SamplingOptions;

/// Runtime chains of a lowered harmonium, addressed by group: set states, sweep, read
/// states. Every sweep updates both groups in the order the sampler was built with.
///
/// ```
/// use blockgibbs_models::expfam::{Bernoulli, Categorical};
/// use blockgibbs_models::harmonium::{Coupling, Harmonium, HarmoniumSampler, Order};
/// use blockgibbs_models::training::SamplingOptions;
/// let h = Harmonium::initialize(
///     Bernoulli::new(4).unwrap(), Categorical::new(3).unwrap(),
///     (Coupling::Full, Coupling::Full), 1.0, 7).unwrap();
/// let options = SamplingOptions { chains: 32, seed: 1, ..Default::default() };
/// let mut chains = HarmoniumSampler::new(&h, Order::ObservableFirst, &options).unwrap();
/// chains.sweep(10).unwrap();
/// assert_eq!(chains.observable_states().unwrap().len(), 32 * 4);
/// ```
pub struct HarmoniumSampler {
    sampler: Sampler,
    observable: NodeGroup,
    latent: NodeGroup,
}

impl HarmoniumSampler {
    /// Lowers `harmonium` with `order` and builds a sampler of `options.chains` chains
    /// (seed, threads and backend from `options`; `options.init` is not used: the runtime's
    /// own random state, or states set with [`HarmoniumSampler::set_observable`] /
    /// [`HarmoniumSampler::set_latent`]).
    pub fn new<X: ExponentialFamily, Z: ExponentialFamily>(
        harmonium: &Harmonium<X, Z>,
        order: Order,
        options: &SamplingOptions,
    ) -> Result<HarmoniumSampler, HarmoniumError> {
        let lowered = harmonium.lower(order)?;
        let sampler = options.sampler(Arc::new(lowered.model), 1.0)?;
        Ok(HarmoniumSampler {
            sampler,
            observable: lowered.observable,
            latent: lowered.latent,
        })
    }

    /// Number of chains.
    pub fn chains(&self) -> usize {
        self.sampler.chains()
    }

    /// The runtime sampler (for observers and schedules).
    pub fn sampler(&self) -> &Sampler {
        &self.sampler
    }

    /// The runtime sampler, mutably.
    pub fn sampler_mut(&mut self) -> &mut Sampler {
        &mut self.sampler
    }

    /// The engine model being sampled.
    pub fn model(&self) -> &Arc<Model> {
        self.sampler.model()
    }

    /// The observable node group.
    pub fn observable_group(&self) -> &NodeGroup {
        &self.observable
    }

    /// The latent node group.
    pub fn latent_group(&self) -> &NodeGroup {
        &self.latent
    }

    fn set_group(&mut self, group: usize, values: &[f64]) -> Result<(), HarmoniumError> {
        let g = if group == 0 {
            self.observable.clone()
        } else {
            self.latent.clone()
        };
        let width = g.len();
        let chains = self.chains();
        let per_chain = if values.len() == width {
            false
        } else if values.len() == width * chains {
            true
        } else {
            return Err(HarmoniumError::Invalid {
                field: if group == 0 { "observable" } else { "latent" },
                reason: format!(
                    "{} values: expected one state ({width}) or one per chain ({})",
                    values.len(),
                    width * chains
                ),
            });
        };
        for chain in 0..chains {
            let row = if per_chain {
                &values[chain * width..(chain + 1) * width]
            } else {
                values
            };
            for (i, &v) in row.iter().enumerate() {
                self.sampler.set_value(g.node(i), chain, v as f32)?;
            }
        }
        Ok(())
    }

    /// Sets the observable state: one state for every chain, or `chains × data_dim` values.
    pub fn set_observable(&mut self, values: &[f64]) -> Result<(), HarmoniumError> {
        self.set_group(0, values)
    }

    /// Sets the latent state: one state for every chain, or `chains × data_dim` values.
    pub fn set_latent(&mut self, values: &[f64]) -> Result<(), HarmoniumError> {
        self.set_group(1, values)
    }

    /// Runs `n` sweeps.
    pub fn sweep(&mut self, n: u64) -> Result<(), HarmoniumError> {
        Ok(self.sampler.sweep(n)?)
    }

    fn states(&self, g: &NodeGroup) -> Result<Vec<f64>, HarmoniumError> {
        let mut out = Vec::with_capacity(self.chains() * g.len());
        for chain in 0..self.chains() {
            for node in g.ids() {
                out.push(self.sampler.value(node, chain)? as f64);
            }
        }
        Ok(out)
    }

    /// The observable states, `chains × data_dim` row-major.
    pub fn observable_states(&self) -> Result<Vec<f64>, HarmoniumError> {
        self.states(&self.observable)
    }

    /// The latent states, `chains × data_dim` row-major.
    pub fn latent_states(&self) -> Result<Vec<f64>, HarmoniumError> {
        self.states(&self.latent)
    }
}

impl<X: ExponentialFamily, Z: ExponentialFamily> Harmonium<X, Z> {
    /// goal-jax's `gibbs_step` on a batch: `x' ~ p(x | z)`, then `z' ~ p(z | x')`, for each
    /// row of `z` (`n × latent data_dim`), one chain per row on the runtime. Returns
    /// `(x', z')` row-major.
    pub fn gibbs_step(
        &self,
        z: &[f64],
        options: &SamplingOptions,
    ) -> Result<(Vec<f64>, Vec<f64>), HarmoniumError> {
        let width = self.latent().data_dim();
        if z.is_empty() || !z.len().is_multiple_of(width) {
            return Err(HarmoniumError::Invalid {
                field: "z",
                reason: format!("{} values are not rows of {width}", z.len()),
            });
        }
        for row in z.chunks_exact(width) {
            self.latent().check_point(row)?;
        }
        let options = SamplingOptions {
            chains: z.len() / width,
            ..*options
        };
        let mut chains = HarmoniumSampler::new(self, Order::ObservableFirst, &options)?;
        chains.set_latent(z)?;
        chains.sweep(1)?;
        Ok((chains.observable_states()?, chains.latent_states()?))
    }

    /// CD-k: `E_model[s] − E_data[s]` in the parameter layout `[θ_X, θ_Z, Θ]`, an estimate
    /// of the gradient of the average negative log-likelihood of `data`.
    ///
    /// The data phase is exact given `x` (`E[s_Z | x]` in place of a latent draw). The model
    /// phase starts one runtime chain at every data row, runs `k` sweeps of
    /// `z ~ p(z | x)`, `x ~ p(x | z)`, and Rao–Blackwellises the last latent draw the same
    /// way. `options.chains` is ignored (there is one chain per row); seed, threads and
    /// backend come from `options`.
    pub fn contrastive_divergence(
        &self,
        data: &Samples,
        k: u64,
        options: &SamplingOptions,
    ) -> Result<Vec<f64>, HarmoniumError> {
        if k == 0 {
            return Err(HarmoniumError::Invalid {
                field: "k",
                reason: "contrastive divergence needs at least one Gibbs step".into(),
            });
        }
        let positive = self.data_statistics(data)?;
        let options = SamplingOptions {
            chains: data.rows(),
            ..*options
        };
        let mut chains = HarmoniumSampler::new(self, Order::LatentFirst, &options)?;
        chains.set_observable(data.as_slice())?;
        chains.sweep(k)?;
        let fantasies = Samples::new(chains.observable_states()?, self.observable().data_dim())?;
        let negative = self.data_statistics(&fantasies)?;
        Ok(negative.iter().zip(&positive).map(|(n, p)| n - p).collect())
    }
}
