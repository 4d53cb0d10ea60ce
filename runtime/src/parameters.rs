//! Weights as run-time data: the sampler owns the live weights that every kernel reads at
//! every sweep, so a simulator or a trainer changes them between sweeps without colouring,
//! lowering or compiling again.

use crate::error::RuntimeError;
use crate::sampler::Sampler;
use blockgibbs_ir::{FactorId, NodeKind};
use std::sync::Arc;

impl Sampler {
    /// Every live weight, laid out as [`blockgibbs_ir::Program::weights`] (factors in
    /// insertion order, each row-major `[instances, K_1, …]`).
    pub fn all_weights(&self) -> &[f32] {
        &self.weights
    }

    /// The live weights of one factor, row-major `[instances, K_1, …]`.
    pub fn weights(&self, factor: FactorId) -> Result<&[f32], RuntimeError> {
        let (range, _) = self.model.weight_range(factor, None)?;
        Ok(&self.weights[range])
    }

    /// Replaces the weights of `factor` (row-major `[instances, K_1, …]`, as the builder took
    /// them). They take effect at the next sweep, on every backend, with no recompilation.
    /// The shape and finiteness are checked, and so is every Gaussian node's constant
    /// precision; on error the old weights stay in place.
    pub fn set_weights(&mut self, factor: FactorId, weights: &[f32]) -> Result<(), RuntimeError> {
        self.update_weights(factor, None, weights)
    }

    /// Replaces the weights of one instance of `factor` (its `[K_1, …]` sub-tensor); see
    /// [`Sampler::set_weights`].
    pub fn set_instance_weights(
        &mut self,
        factor: FactorId,
        instance: usize,
        weights: &[f32],
    ) -> Result<(), RuntimeError> {
        self.update_weights(factor, Some(instance), weights)
    }

    fn update_weights(
        &mut self,
        factor: FactorId,
        instance: Option<usize>,
        weights: &[f32],
    ) -> Result<(), RuntimeError> {
        let range = self.model.check_weights(factor, instance, weights)?;
        let program = self.backend.program().clone();
        // Only Gaussian heads have a precision to check; without them (binary machines,
        // lattices) an update is two copies and nothing to undo.
        let gaussian = program.blocks.iter().any(|b| b.kind == NodeKind::Gaussian);
        let old: Vec<f32> = if gaussian {
            self.weights[range.clone()].to_vec()
        } else {
            Vec::new()
        };
        self.weights[range.clone()].copy_from_slice(weights);
        if gaussian
            && let Err(e) =
                blockgibbs_compiler::check_static_precisions(&self.model, &program, &self.weights)
        {
            self.weights[range].copy_from_slice(&old);
            return Err(e.into());
        }
        // The model's copy feeds exact energies and checkpoints; it was checked above.
        Arc::make_mut(&mut self.model).set_weights(factor, instance, weights)?;
        self.specialised = self.backend.specialisations(&self.weights);
        Ok(())
    }
}
