//! The three-level Gibbs chain of an HMoG on the engine: blocks `{x, z}` (conditionally
//! independent given `y`) then `{y}`.

use std::sync::Arc;

use blockgibbs_ir::{BlockSpec, ModelBuilder, NodeGroup};
use blockgibbs_runtime::Sampler;

use super::Hmog;
use crate::expfam::ExponentialFamily;
use crate::harmonium::HarmoniumError;
use crate::harmonium::polynomial::{Terms, blocks_of};
use crate::training::SamplingOptions;

/// Runtime chains of an [`Hmog`]: groups `x`, `y` and `z`.
pub struct HmogSampler {
    sampler: Sampler,
    groups: [NodeGroup; 3],
}

impl Hmog {
    /// The HMoG as an engine model with groups `x`, `y`, `z`. A sweep updates `x` and `z`
    /// together from `y` (one superblock: they do not interact), then `y` — one block when
    /// its conditional factorises, one block per coordinate otherwise.
    pub fn lower(&self) -> Result<(blockgibbs_ir::Model, [NodeGroup; 3]), HarmoniumError> {
        let upper = self.upper_mixture()?;
        let y = *upper.observable();
        let mut b = ModelBuilder::new();
        let gx = b.group("x", self.observable.node_kind(), self.observable.data_dim())?;
        let gy = b.group("y", y.node_kind(), self.latent_dim)?;
        let gz = b.group("z", upper.latent().node_kind(), 1)?;
        let sx = self.observable.statistic_terms();
        let sy = y.statistic_terms();
        let sz = upper.latent().statistic_terms();
        let mut terms = Terms::default();
        terms.add_polynomial(1.0, &self.observable.base_measure_terms(), &gx)?;
        for (theta, poly) in self.observable_bias.iter().zip(&sx) {
            terms.add_polynomial(*theta, poly, &gx)?;
        }
        let k = self.latent_dim;
        for (i, px) in sx.iter().enumerate().take(self.observable.data_dim()) {
            for (j, py) in sy.iter().enumerate().take(k) {
                terms.add_product(self.interaction[i * k + j], (px, &gx), (py, &gy))?;
            }
        }
        for (theta, poly) in upper.observable_bias().iter().zip(&sy) {
            terms.add_polynomial(*theta, poly, &gy)?;
        }
        for (theta, poly) in upper.latent_bias().iter().zip(&sz) {
            terms.add_polynomial(*theta, poly, &gz)?;
        }
        let (rows, cols) = upper.interaction_shape();
        for (r, py) in sy.iter().enumerate().take(rows) {
            for (c, pz) in sz.iter().enumerate().take(cols) {
                terms.add_product(upper.interaction()[r * cols + c], (py, &gy), (pz, &gz))?;
            }
        }
        let x_coupled = terms.couples_within(&gx);
        let y_blocks = blocks_of(&gy, terms.couples_within(&gy));
        let mut superblocks: Vec<Vec<Vec<blockgibbs_ir::NodeId>>> = if x_coupled {
            let mut s: Vec<_> = blocks_of(&gx, true).into_iter().map(|b| vec![b]).collect();
            s.push(vec![gz.ids()]);
            s
        } else {
            vec![vec![gx.ids(), gz.ids()]]
        };
        superblocks.extend(y_blocks.into_iter().map(|b| vec![b]));
        for f in terms.into_factors() {
            b.factor(f);
        }
        b.blocks(BlockSpec { superblocks });
        Ok((b.build()?, [gx, gy, gz]))
    }
}

impl HmogSampler {
    /// Lowers `hmog` and builds `options.chains` chains (seed, threads and backend from
    /// `options`).
    pub fn new(hmog: &Hmog, options: &SamplingOptions) -> Result<HmogSampler, HarmoniumError> {
        let (model, groups) = hmog.lower()?;
        let sampler = options.sampler(Arc::new(model), 1.0)?;
        Ok(HmogSampler { sampler, groups })
    }

    /// The runtime sampler (for observers and schedules).
    pub fn sampler_mut(&mut self) -> &mut Sampler {
        &mut self.sampler
    }

    /// The node groups `x`, `y`, `z`.
    pub fn groups(&self) -> &[NodeGroup; 3] {
        &self.groups
    }
}
