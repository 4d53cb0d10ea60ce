//! Polynomial log-densities as engine factors, shared by every model that lowers through
//! exponential-family statistics (harmoniums, hierarchical mixtures).
//!
//! Each monomial is a product of *atoms* — a spin or binary value, a Gaussian `x` or `x²`, a
//! category indicator — which is exactly one instance of the general factor form
//! `W[c…] · Π s · Π b · Π x^p`. Monomials of the same shape become one batched factor;
//! indicators of the same nodes share one weight tensor, one entry per category.

use std::collections::BTreeMap;

use blockgibbs_ir::{Factor, NodeGroup, NodeId, NodeKind, Power};

use super::HarmoniumError;
use crate::expfam::{Monomial, Polynomial};

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
pub(crate) struct Terms {
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

    pub(crate) fn add_polynomial(
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

    pub(crate) fn add_product(
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
    pub(crate) fn couples_within(&self, group: &NodeGroup) -> bool {
        let inside = |n: NodeId| n.0 >= group.first.0 && n.0 < group.first.0 + group.len;
        self.by_key
            .keys()
            .any(|k| k.iter().filter(|(_, n)| inside(*n)).count() >= 2)
    }

    pub(crate) fn into_factors(self) -> Vec<Factor> {
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

/// One block for a group of conditionally independent units, one block per unit otherwise.
pub(crate) fn blocks_of(group: &NodeGroup, coupled: bool) -> Vec<Vec<NodeId>> {
    if coupled {
        group.ids().into_iter().map(|n| vec![n]).collect()
    } else {
        vec![group.ids()]
    }
}
