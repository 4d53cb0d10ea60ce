//! Lowering a harmonium to an engine model.
//!
//! Every family's statistic is a polynomial in the unit values
//! ([`ExponentialFamily::statistic_terms`]), so the harmonium's log-density is a polynomial
//! in the `x` and `z` nodes: bias terms `θ·s`, interaction terms `Θ_rc s_X,r s_Z,c` (products
//! of one observable and one latent polynomial) and the non-constant base measures. Each
//! monomial is a product of *atoms* — a spin or binary value, a Gaussian `x` or `x²`, a
//! category indicator — which is exactly one instance of the general factor form
//! `W[c…] · Π s · Π b · Π x^p`. Monomials of the same shape become one batched factor;
//! indicators of the same nodes share one weight tensor entry per category.
//!
//! Blocks: each group is one block when its units are conditionally independent given the
//! other group (no monomial joins two of its units), and one block per unit otherwise (a
//! full-covariance Gaussian or a Boltzmann latent couples every pair, so a colouring needs
//! a colour per unit anyway). The groups follow each other in the chosen [`Order`], so a
//! sweep of [`Order::ObservableFirst`] is `x ~ p(x | z)`, then `z ~ p(z | x)`.

use std::collections::BTreeMap;

use blockgibbs_ir::{BlockSpec, Factor, Model, ModelBuilder, NodeGroup, NodeId, NodeKind, Power};

use super::{Harmonium, HarmoniumError};
use crate::expfam::{ExponentialFamily, Monomial, Polynomial};

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

/// How one atom of a monomial enters the general factor form; the order puts categorical
/// roles first, as the weight tensor's axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Categorical(u32),
    Product,
    Gaussian(u8),
}

#[derive(Clone, Copy, Debug)]
struct Atom {
    class: Class,
    node: NodeId,
    category: usize,
}

fn atoms_of(m: Monomial, group: &NodeGroup, out: &mut Vec<Atom>) -> Result<(), HarmoniumError> {
    let unit = |i: usize| -> Result<Atom, HarmoniumError> {
        let node = group.get(i).ok_or_else(|| HarmoniumError::Invalid {
            field: "statistic",
            reason: format!("unit {i} is outside group `{}`", group.name),
        })?;
        let class = match group.kind {
            NodeKind::Gaussian => Class::Gaussian(1),
            NodeKind::Spin | NodeKind::Binary => Class::Product,
            NodeKind::Categorical(_) => {
                return Err(HarmoniumError::Invalid {
                    field: "statistic",
                    reason: "a categorical unit enters only through indicators".into(),
                });
            }
        };
        Ok(Atom {
            class,
            node,
            category: 0,
        })
    };
    match m {
        Monomial::Unit(i) => out.push(unit(i)?),
        Monomial::Pair(i, j) => {
            out.push(unit(i)?);
            out.push(unit(j)?);
        }
        Monomial::Square(i) => {
            let mut a = unit(i)?;
            if a.class != Class::Gaussian(1) {
                return Err(HarmoniumError::Invalid {
                    field: "statistic",
                    reason: format!("x² of a non-Gaussian unit in group `{}`", group.name),
                });
            }
            a.class = Class::Gaussian(2);
            out.push(a);
        }
        Monomial::Indicator { unit, category } => {
            let NodeKind::Categorical(k) = group.kind else {
                return Err(HarmoniumError::Invalid {
                    field: "statistic",
                    reason: format!("an indicator of a non-categorical unit in `{}`", group.name),
                });
            };
            let node = group.get(unit).ok_or_else(|| HarmoniumError::Invalid {
                field: "statistic",
                reason: format!("unit {unit} is outside group `{}`", group.name),
            })?;
            out.push(Atom {
                class: Class::Categorical(k),
                node,
                category,
            });
        }
    }
    Ok(())
}

/// Monomials collected by shape: key = the atoms' (class, node) in canonical order, value =
/// the weight tensor over the categorical atoms' categories.
#[derive(Default)]
struct Terms {
    by_key: BTreeMap<Vec<(Class, NodeId)>, Vec<f64>>,
}

impl Terms {
    fn add(&mut self, coefficient: f64, mut atoms: Vec<Atom>) {
        atoms.sort_by_key(|a| (a.class, a.node));
        let size: usize = atoms
            .iter()
            .map(|a| match a.class {
                Class::Categorical(k) => k as usize,
                _ => 1,
            })
            .product();
        let mut index = 0;
        for a in &atoms {
            if let Class::Categorical(k) = a.class {
                index = index * k as usize + a.category;
            }
        }
        let key = atoms.iter().map(|a| (a.class, a.node)).collect();
        self.by_key.entry(key).or_insert_with(|| vec![0.0; size])[index] += coefficient;
    }

    fn add_polynomial(
        &mut self,
        scale: f64,
        poly: &Polynomial,
        group: &NodeGroup,
    ) -> Result<(), HarmoniumError> {
        for &(c, m) in poly {
            let mut atoms = Vec::new();
            atoms_of(m, group, &mut atoms)?;
            self.add(scale * c, atoms);
        }
        Ok(())
    }

    fn add_product(
        &mut self,
        scale: f64,
        (p, gp): (&Polynomial, &NodeGroup),
        (q, gq): (&Polynomial, &NodeGroup),
    ) -> Result<(), HarmoniumError> {
        for &(a, m1) in p {
            for &(b, m2) in q {
                let mut atoms = Vec::new();
                atoms_of(m1, gp, &mut atoms)?;
                atoms_of(m2, gq, &mut atoms)?;
                self.add(scale * a * b, atoms);
            }
        }
        Ok(())
    }

    /// Whether some monomial joins two units of `group`.
    fn couples_within(&self, group: &NodeGroup) -> bool {
        let inside = |n: NodeId| n.0 >= group.first.0 && n.0 < group.first.0 + group.len;
        self.by_key
            .keys()
            .any(|k| k.iter().filter(|(_, n)| inside(*n)).count() >= 2)
    }

    fn into_factors(self) -> Vec<Factor> {
        type Instances = Vec<(Vec<NodeId>, Vec<f64>)>;
        let mut by_shape: BTreeMap<Vec<Class>, Instances> = BTreeMap::new();
        for (key, weights) in self.by_key {
            let shape = key.iter().map(|(c, _)| *c).collect();
            let nodes = key.iter().map(|(_, n)| *n).collect();
            by_shape.entry(shape).or_default().push((nodes, weights));
        }
        by_shape
            .into_iter()
            .map(|(shape, instances)| {
                let name = shape
                    .iter()
                    .map(|c| match c {
                        Class::Categorical(k) => format!("categorical({k})"),
                        Class::Product => "value".to_string(),
                        Class::Gaussian(p) => format!("x^{p}"),
                    })
                    .collect::<Vec<_>>()
                    .join("·");
                let mut f = Factor::new(format!("harmonium {name}"));
                for (pos, class) in shape.iter().enumerate() {
                    let nodes: Vec<NodeId> = instances.iter().map(|(n, _)| n[pos]).collect();
                    f = match class {
                        Class::Categorical(_) => f.categorical(nodes),
                        Class::Product => f.product(nodes),
                        Class::Gaussian(1) => f.gaussian(nodes, Power::One),
                        Class::Gaussian(_) => f.gaussian(nodes, Power::Two),
                    };
                }
                let weights: Vec<f32> = instances
                    .iter()
                    .flat_map(|(_, w)| w.iter().map(|&v| v as f32))
                    .collect();
                f.weights(weights)
            })
            .collect()
    }
}

fn blocks_of(group: &NodeGroup, coupled: bool) -> Vec<Vec<NodeId>> {
    if coupled {
        group.ids().into_iter().map(|n| vec![n]).collect()
    } else {
        vec![group.ids()]
    }
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
