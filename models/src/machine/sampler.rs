//! [`MachineSampler`]: paysage's sampling modes of a [`BoltzmannMachine`], run by the
//! blockgibbs runtime.

use std::sync::Arc;

use blockgibbs_ir::{FactorId, NodeGroup, UpdateRule};
use blockgibbs_runtime::{BackendChoice, Chains, Sampler, SamplerOptions};

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

    /// The sampler in `slot`, made ready for an estimate under `machine` with a fresh `seed`:
    /// the first call (or one asking for another chain count) makes it; later calls give the
    /// running sampler the new parameters ([`MachineSampler::set_machine`]), reseed it and
    /// restart its sweep counter, keeping its chains. The draws are then exactly those of a
    /// sampler made afresh with `seed` from the same state, without compiling anything.
    pub(crate) fn reuse<'a>(
        slot: &'a mut Option<MachineSampler>,
        machine: &BoltzmannMachine,
        options: SamplerOptions,
        backend: BackendChoice,
    ) -> Result<&'a mut MachineSampler, MachineError> {
        match slot {
            Some(s) if s.chains() == options.chains => {
                s.set_machine(machine)?;
                s.sampler.reseed(options.seed);
                s.sampler.set_sweeps_done(0);
            }
            _ => *slot = Some(MachineSampler::new(machine, &[], options, backend)?),
        }
        Ok(slot.as_mut().expect("set above"))
    }

    /// Replaces the machine's parameters with `machine`'s — same layers (kinds and sizes),
    /// other values — in the running sampler: its weights change, nothing is compiled again,
    /// and the chains, clamps, β and seed stay. A trainer makes its sampler once and calls
    /// this after every step. On error the sampler keeps the old parameters.
    pub fn set_machine(&mut self, machine: &BoltzmannMachine) -> Result<(), MachineError> {
        let mine = self.machine.layers();
        if machine.n_layers() != mine.len() {
            return Err(MachineError::ShapeMismatch {
                field: "machine.layers (the sampler's machine)".into(),
                expected: mine.len(),
                found: machine.n_layers(),
            });
        }
        for (l, (new, old)) in machine.layers().iter().zip(mine).enumerate() {
            if new.len() != old.len() {
                return Err(MachineError::ShapeMismatch {
                    field: format!("layers[{l}] (the sampler's machine)"),
                    expected: old.len(),
                    found: new.len(),
                });
            }
            if new.kind() != old.kind() {
                return Err(MachineError::InvalidOption {
                    field: "machine",
                    reason: format!(
                        "layer {l} is {}, the sampler's machine has {} units there",
                        new.kind(),
                        old.kind()
                    ),
                });
            }
        }
        for (f, weights) in machine.factor_weights().iter().enumerate() {
            if let Err(e) = self.sampler.set_weights(FactorId(f as u32), weights) {
                // Put back what was already replaced (`self.machine` is still the old
                // machine); those weights were accepted before.
                for (g, w) in self.machine.factor_weights().iter().enumerate().take(f) {
                    let _ = self.sampler.set_weights(FactorId(g as u32), w);
                }
                return Err(e.into());
            }
        }
        self.machine = machine.clone();
        Ok(())
    }

    /// Holds a free layer at `values` (one state for every chain, or `chains × n`
    /// row-major) from now on: sweeps leave it as it is and its neighbours see it, as if it
    /// were clamped in the model, but without compiling anything. The layer's block is still
    /// computed and its draws discarded; a layer that stays held for a whole run is cheaper
    /// clamped when the sampler is made.
    pub fn hold_layer(&mut self, layer: usize, values: &[f32]) -> Result<(), MachineError> {
        self.machine.check_layer(layer)?;
        if self.block_of_layer[layer].is_none() {
            return Err(MachineError::Clamping {
                layer,
                reason: "the layer is clamped in the model; use clamp_layer",
            });
        }
        let per_chain = self.check_values(layer, values)?;
        let nodes = self.groups[layer].ids();
        if per_chain {
            for (c, row) in values.chunks_exact(nodes.len()).enumerate() {
                self.sampler.clamp_nodes(&nodes, row, Chains::One(c))?;
            }
        } else {
            self.sampler.clamp_nodes(&nodes, values, Chains::All)?;
        }
        Ok(())
    }

    /// Lets a layer held by [`MachineSampler::hold_layer`] be sampled again, from the values
    /// it was held at.
    pub fn release_layer(&mut self, layer: usize) -> Result<(), MachineError> {
        self.machine.check_layer(layer)?;
        if self.block_of_layer[layer].is_none() {
            return Err(MachineError::Clamping {
                layer,
                reason: "the layer is clamped in the model and cannot be released",
            });
        }
        self.sampler
            .release_nodes(&self.groups[layer].ids(), Chains::All)?;
        Ok(())
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

    /// Checks a layer's values (one state, or one per chain) and says which they are.
    fn check_values(&self, layer: usize, values: &[f32]) -> Result<bool, MachineError> {
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
        Ok(per_chain)
    }

    fn write_layer(&mut self, layer: usize, values: &[f32]) -> Result<(), MachineError> {
        let per_chain = self.check_values(layer, values)?;
        let n = self.groups[layer].len();
        let nodes = self.model_nodes();
        let mut states = vec![0.0; self.chains() * nodes];
        self.sampler.read_states(&mut states)?;
        let first = self.groups[layer].node(0).index();
        for (c, row) in states.chunks_exact_mut(nodes).enumerate() {
            let src = if per_chain {
                &values[c * n..(c + 1) * n]
            } else {
                values
            };
            row[first..first + n].copy_from_slice(src);
        }
        self.sampler.write_states(&states)?;
        Ok(())
    }

    fn model_nodes(&self) -> usize {
        self.sampler.model().node_count()
    }

    /// The current values of a layer in every chain, `chains × n` row-major (categories as
    /// indices).
    pub fn layer_values(&self, layer: usize) -> Result<Vec<f32>, MachineError> {
        self.machine.check_layer(layer)?;
        let states = self.states()?;
        let (n, nodes) = (self.groups[layer].len(), self.model_nodes());
        let first = self.groups[layer].node(0).index();
        Ok(states
            .chunks_exact(nodes)
            .flat_map(|row| row[first..first + n].iter().copied())
            .collect())
    }

    /// Every layer's values in every chain at once (`layers[l]` is `chains × n_l`
    /// row-major), reading the state buffer once.
    pub fn all_layer_values(&self) -> Result<Vec<Vec<f32>>, MachineError> {
        let states = self.states()?;
        let nodes = self.model_nodes();
        Ok(self
            .groups
            .iter()
            .map(|g| {
                let first = g.node(0).index();
                states
                    .chunks_exact(nodes)
                    .flat_map(|row| row[first..first + g.len()].iter().copied())
                    .collect()
            })
            .collect())
    }

    fn states(&self) -> Result<Vec<f32>, MachineError> {
        let mut states = vec![0.0; self.chains() * self.model_nodes()];
        self.sampler.read_states(&mut states)?;
        Ok(states)
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
