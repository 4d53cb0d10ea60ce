//! Lowering a harmonium to an engine model.
//!
//! Every family's statistic is a polynomial in the unit values
//! ([`ExponentialFamily::statistic_terms`]), so the harmonium's log-density is a polynomial
//! in the `x` and `z` nodes: bias terms `θ·s`, interaction terms `Θ_rc s_X,r s_Z,c` (products
//! of one observable and one latent polynomial) and the non-constant base measures, which
//! the crate-private `polynomial` module turns into factors of the general form.
//!
//! Blocks: each group is one block when its units are conditionally independent given the
//! other group (no monomial joins two of its units), and one block per unit otherwise (a
//! full-covariance Gaussian or a Boltzmann latent couples every pair, so a colouring needs
//! a colour per unit anyway). The groups follow each other in the chosen [`Order`], so a
//! sweep of [`Order::ObservableFirst`] is `x ~ p(x | z)`, then `z ~ p(z | x)`.

use blockgibbs_ir::{BlockSpec, Model, ModelBuilder, NodeGroup};

use super::polynomial::{Terms, blocks_of};
use super::{Harmonium, HarmoniumError};
use crate::expfam::ExponentialFamily;

/// Which group a sweep updates first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// `x ~ p(x | z)`, then `z ~ p(z | x)` (goal-jax's `gibbs_step`).
    ObservableFirst,
    /// `z ~ p(z | x)`, then `x ~ p(x | z)` (contrastive divergence from data).
    LatentFirst,
}

/// A harmonium lowered to an engine model: the model and its two node groups (`x`, `z`).
#[derive(Clone, Debug)]
pub struct LoweredHarmonium {
    /// The engine model, with hand-given blocks in the chosen order.
    pub model: Model,
    /// The observable units, node `i` holding `x_i` (the category of a categorical group).
    pub observable: NodeGroup,
    /// The latent units.
    pub latent: NodeGroup,
}

impl<X: ExponentialFamily, Z: ExponentialFamily> Harmonium<X, Z> {
    /// The harmonium as an engine model with groups `x` and `z`, swept in `order` (see the
    /// module docs). Weights are rounded to `f32`, the engine's precision.
    pub fn lower(&self, order: Order) -> Result<LoweredHarmonium, HarmoniumError> {
        let mut b = ModelBuilder::new();
        let gx = b.group(
            "x",
            self.observable().node_kind(),
            self.observable().data_dim(),
        )?;
        let gz = b.group("z", self.latent().node_kind(), self.latent().data_dim())?;
        let sx = self.observable().statistic_terms();
        let sz = self.latent().statistic_terms();
        let mut terms = Terms::default();
        terms.add_polynomial(1.0, &self.observable().base_measure_terms(), &gx)?;
        terms.add_polynomial(1.0, &self.latent().base_measure_terms(), &gz)?;
        for (theta, poly) in self.observable_bias().iter().zip(&sx) {
            terms.add_polynomial(*theta, poly, &gx)?;
        }
        for (theta, poly) in self.latent_bias().iter().zip(&sz) {
            terms.add_polynomial(*theta, poly, &gz)?;
        }
        let (rows, cols) = self.interaction_shape();
        for (r, px) in sx.iter().enumerate().take(rows) {
            for (c, pz) in sz.iter().enumerate().take(cols) {
                let w = self.interaction()[r * cols + c];
                terms.add_product(w, (px, &gx), (pz, &gz))?;
            }
        }
        let x_blocks = blocks_of(&gx, terms.couples_within(&gx));
        let z_blocks = blocks_of(&gz, terms.couples_within(&gz));
        let blocks = match order {
            Order::ObservableFirst => [x_blocks, z_blocks].concat(),
            Order::LatentFirst => [z_blocks, x_blocks].concat(),
        };
        for f in terms.into_factors() {
            b.factor(f);
        }
        b.blocks(BlockSpec::sequential(blocks));
        Ok(LoweredHarmonium {
            model: b.build()?,
            observable: gx,
            latent: gz,
        })
    }
}
