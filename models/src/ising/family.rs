//! The factor layout of the model-file families (`blockgibbs::families`), so that those
//! families build their lattices and draw their disorder through [`IsingEBM`] — one code path
//! for edges and couplings — while keeping the models they have always produced.

use super::{IsingEBM, IsingError, SPIN_GROUP};
use crate::lattice;
use blockgibbs_ir::{Model, ModelBuilder, NodeKind};

impl IsingEBM {
    /// The blockgibbs model in the families' layout: group [`SPIN_GROUP`] (node `i` =
    /// `NodeId(i)`), factor `coupling` (Σ J_e s_i s_j) first, then factor `field`
    /// (Σ b_i s_i) only if some bias is non-zero; no clamping and no β.
    ///
    /// It differs from [`IsingEBM::to_model`] (the training layout: `bias` first and always
    /// present) on purpose: factor names are what `blockgibbs info` prints, and the factor
    /// order fixes the order in which a conditional's terms are summed, hence the draws.
    pub fn to_family_model(&self) -> Result<Model, IsingError> {
        let mut b = ModelBuilder::new();
        let s = b.group(SPIN_GROUP, NodeKind::Spin, self.n)?;
        let (a, c) = lattice::endpoints(&s, &self.edges);
        b.pair_coupling("coupling", &a, &c, &self.weights);
        if self.biases.iter().any(|&x| x != 0.0) {
            b.linear_bias("field", &s.ids(), &self.biases);
        }
        Ok(b.build()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_layout_has_coupling_then_field_and_the_same_energy() {
        let ebm = IsingEBM::square(3, true, 0.7, 0.0, 0.5).unwrap();
        let names = |m: &Model| {
            m.factors()
                .iter()
                .map(|f| f.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&ebm.to_family_model().unwrap()), ["coupling"]);
        let mut with_field = ebm.clone();
        let biases: Vec<f32> = (0..9).map(|i| 0.1 * i as f32 - 0.3).collect();
        with_field.set_biases(&biases).unwrap();
        let model = with_field.to_family_model().unwrap();
        assert_eq!(names(&model), ["coupling", "field"]);
        // Same energy as the EBM's (which carries β; the model does not).
        for bits in [0u32, 0b1_0110_1001, 0b1_1111_1111] {
            let s: Vec<f32> = (0..9)
                .map(|i| if bits >> i & 1 == 1 { 1.0 } else { -1.0 })
                .collect();
            let want = with_field.energy(&s).unwrap() / with_field.beta() as f64;
            assert!((model.energy(&s) - want).abs() < 1e-9);
        }
    }
}
