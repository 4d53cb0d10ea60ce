//! [`MachineSampler`]: paysage's sampling modes of a [`BoltzmannMachine`], run by the
//! blockgibbs runtime.

use std::sync::Arc;

use blockgibbs_ir::{NodeGroup, UpdateRule};
use blockgibbs_runtime::{BackendChoice, Sampler, SamplerOptions};

use super::{BoltzmannMachine, MachineError};

/// How a sweep updates every free layer (paysage's names in the variant docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplingMode {
    /// `markov_chain`: draw each layer from its conditional (block Gibbs).
    MarkovChain,
    /// `mean_field_iteration`: set each layer to its conditional mean (undefined for
    /// categorical layers: the runtime state is one category, so a typed error).
    MeanField,
    /// `deterministic_iteration`: set each layer to its conditional mode.
    Deterministic,
}

impl SamplingMode {
    /// The runtime update rule of this mode.
    pub fn rule(self) -> UpdateRule {
        match self {
            SamplingMode::MarkovChain => UpdateRule::Sample,
            SamplingMode::MeanField => UpdateRule::Mean,
            SamplingMode::Deterministic => UpdateRule::Mode,
        }
    }
}

/// A runtime [`Sampler`] over a lowered [`BoltzmannMachine`], addressed by layer.
///
/// Layers listed as clamped at construction are left out of the blocks and hold the values
/// given by [`MachineSampler::clamp_layer`]; every sweep updates the odd free layers, then the
/// even ones (see [`BoltzmannMachine::to_model`]).
///
/// ```
/// use blockgibbs_models::machine::{BoltzmannMachine, Layer, MachineSampler, SamplingMode};
/// use blockgibbs_runtime::{BackendChoice, SamplerOptions};
/// let v = Layer::binary(vec![0.0; 3]).unwrap();
/// let h = Layer::spin(vec![0.5; 2]).unwrap();
/// let rbm = BoltzmannMachine::random(vec![v, h], 0.3, 1).unwrap();
/// let options = SamplerOptions { chains: 4, seed: 7, threads: 1, beta: 1.0 };
/// let mut s = MachineSampler::new(&rbm, &[0], options, BackendChoice::Reference).unwrap();
/// s.clamp_layer(0, &[1.0, 0.0, 1.0]).unwrap(); // the same data in every chain
/// s.run(SamplingMode::MarkovChain, 10).unwrap();
/// assert_eq!(s.layer_values(1).unwrap().len(), 4 * 2);
/// ```
pub struct MachineSampler {
    machine: BoltzmannMachine,
    sampler: Sampler,
    groups: Vec<NodeGroup>,
    block_of_layer: Vec<Option<usize>>,
}

impl MachineSampler {
    /// A sampler of `machine` on `backend` with the layers in `clamped` clamped in the model
    /// (left out of the blocks: no sweep spends time on them). Any free layer can also be held
    /// at run time ([`MachineSampler::hold_layer`]).
    pub fn new(
        machine: &BoltzmannMachine,
        clamped: &[usize],
        options: SamplerOptions,
        backend: BackendChoice,
    ) -> Result<MachineSampler, MachineError> {
        let lowered = machine.lower(clamped)?;
        let sampler = Sampler::builder(Arc::new(lowered.model))
            .backend(backend)
            .options(options)
            .build()?;
        Ok(MachineSampler {
            machine: machine.clone(),
            sampler,
            groups: lowered.groups,
            block_of_layer: lowered.block_of_layer,
        })
    }

    /// The machine being sampled.
    pub fn machine(&self) -> &BoltzmannMachine {
        &self.machine
    }

    /// The runtime sampler (for observers, schedules and β).
    pub fn sampler(&self) -> &Sampler {
        &self.sampler
    }

    /// The runtime sampler, mutably.
    pub fn sampler_mut(&mut self) -> &mut Sampler {
        &mut self.sampler
    }

    /// The node group of each layer in the lowered model.
    pub fn groups(&self) -> &[NodeGroup] {
        &self.groups
    }

    /// The runtime block index of each free layer (`None` for clamped layers).
    pub fn block_of_layer(&self) -> &[Option<usize>] {
        &self.block_of_layer
    }

    /// Number of chains.
    pub fn chains(&self) -> usize {
        self.sampler.chains()
    }

    /// Sets a clamped layer's values: `values` holds one state (`n` values, used in every
    /// chain) or one state per chain (`chains × n`, row-major).
    pub fn clamp_layer(&mut self, layer: usize, values: &[f32]) -> Result<(), MachineError> {
        self.machine.check_layer(layer)?;
        if self.block_of_layer[layer].is_some() {
            return Err(MachineError::Clamping {
                layer,
                reason: "the layer is free; list it as clamped when making the sampler",
            });
        }
        self.write_layer(layer, values)
    }

    /// Sets a free layer's current values (a starting state), shaped as in
    /// [`MachineSampler::clamp_layer`].
    pub fn set_layer(&mut self, layer: usize, values: &[f32]) -> Result<(), MachineError> {
        self.machine.check_layer(layer)?;
        if self.block_of_layer[layer].is_none() {
            return Err(MachineError::Clamping {
                layer,
                reason: "the layer is clamped; use clamp_layer",
            });
        }
        self.write_layer(layer, values)
    }

    fn write_layer(&mut self, layer: usize, values: &[f32]) -> Result<(), MachineError> {
        let n = self.groups[layer].len();
        let chains = self.chains();
        let per_chain = if values.len() == n {
            false
        } else if values.len() == n * chains {
            true
        } else {
            return Err(MachineError::ShapeMismatch {
                field: format!("values of layer {layer}"),
                expected: n * chains,
                found: values.len(),
            });
        };
        let unit_layer = &self.machine.layers()[layer];
        for (r, row) in values.chunks_exact(n).enumerate() {
            unit_layer.check_state(|| format!("values of layer {layer}, row {r}"), row)?;
        }
        for c in 0..chains {
            for i in 0..n {
                let x = if per_chain {
                    values[c * n + i]
                } else {
                    values[i]
                };
                self.sampler.set_value(self.groups[layer].node(i), c, x)?;
            }
        }
        Ok(())
    }

    /// The current values of a layer in every chain, `chains × n` row-major (categories as
    /// indices).
    pub fn layer_values(&self, layer: usize) -> Result<Vec<f32>, MachineError> {
        self.machine.check_layer(layer)?;
        let g = &self.groups[layer];
        let mut out = Vec::with_capacity(self.chains() * g.len());
        for c in 0..self.chains() {
            for i in 0..g.len() {
                out.push(self.sampler.value(g.node(i), c)?);
            }
        }
        Ok(out)
    }

    /// Sets every free layer's update rule to `mode`'s.
    pub fn set_mode(&mut self, mode: SamplingMode) -> Result<(), MachineError> {
        for b in self.block_of_layer.iter().flatten() {
            self.sampler.set_rule(*b, mode.rule())?;
        }
        Ok(())
    }

    /// `markov_chain`, `mean_field_iteration` or `deterministic_iteration`: `sweeps` sweeps
    /// of every chain in `mode`.
    pub fn run(&mut self, mode: SamplingMode, sweeps: u64) -> Result<(), MachineError> {
        self.set_mode(mode)?;
        self.sampler.sweep(sweeps)?;
        Ok(())
    }

    /// paysage's `reconstruction`: one Gibbs pass `v → h → v` from data. Chain `c` starts
    /// with its visible layer at row `c` of `data` (`chains × n_0`); one sweep draws the odd
    /// layers given it, then the even layers (the visible one included) given those. Returns
    /// the reconstructed visible layer, `chains × n_0`. The visible layer must be free.
    pub fn reconstruction(&mut self, data: &[f32]) -> Result<Vec<f32>, MachineError> {
        let n = self.groups[0].len();
        if data.len() != n * self.chains() {
            return Err(MachineError::ShapeMismatch {
                field: "data".into(),
                expected: n * self.chains(),
                found: data.len(),
            });
        }
        self.set_layer(0, data)?;
        self.run(SamplingMode::MarkovChain, 1)?;
        self.layer_values(0)
    }
}
