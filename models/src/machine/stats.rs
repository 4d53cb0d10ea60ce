//! [`ProductStats`]: the expected gradient statistics of a weighted set of product-form
//! distributions (one set of per-layer moments per data row, chain or enumerated state),
//! summed.
//!
//! The per-layer statistics (biases, Gaussian `log_var`) cost O(units) per row and are added
//! as rows arrive. The weight statistics `Σ_r w_r φ_l(r) φ_{l+1}(r)ᵀ` are outer products,
//! O(n_l · n_{l+1}) per row; the rows' `φ` are gathered into blocks of [`BLOCK_ROWS`] and each
//! block is added as one gemm `Φ_lᵀ diag(w) Φ_{l+1}` ([`crate::linalg::matmul`]), the form
//! the RBM estimator uses too. Blocks bound the memory of long enumerations (up to 2²⁰
//! states). Results agree with the row-by-row sums to f64 rounding (the summation order
//! differs).

use std::borrow::Borrow;

use faer::{Accum, Mat, MatRef};

use super::BoltzmannMachine;
use super::gradient::MachineGradient;
use super::layer::{LayerMoments, UnitKind};
use crate::linalg::matmul;

/// Rows gathered before their weight statistics are added by one gemm.
pub(crate) const BLOCK_ROWS: usize = 256;

/// Sums of expected statistics, see the [module](self).
pub(crate) struct ProductStats<'m> {
    machine: &'m BoltzmannMachine,
    stats: MachineGradient,
    /// Per weight matrix `l`, the sum `Σ_r w_r φ_l(r) φ_{l+1}(r)ᵀ` so far (`n_l × n_{l+1}`).
    outer: Vec<Mat<f64>>,
    /// Per layer, the pending rows' `φ` (row-major, `rows × dim_l`).
    phi: Vec<Vec<f64>>,
    /// The pending rows' weights.
    weights: Vec<f64>,
}

impl<'m> ProductStats<'m> {
    /// Zero sums in the shape of `machine`.
    pub(crate) fn new(machine: &'m BoltzmannMachine) -> ProductStats<'m> {
        let dims: Vec<usize> = machine.layers().iter().map(|l| l.dim()).collect();
        ProductStats {
            machine,
            stats: MachineGradient::zeros(machine),
            outer: dims.windows(2).map(|d| Mat::zeros(d[0], d[1])).collect(),
            phi: dims
                .iter()
                .map(|&d| Vec::with_capacity(d * BLOCK_ROWS))
                .collect(),
            weights: Vec::with_capacity(BLOCK_ROWS),
        }
    }

    /// Adds `weight ·` the expected statistics of a distribution under which the layers are
    /// independent with the moments `m` (one per layer).
    pub(crate) fn add<M: Borrow<LayerMoments>>(&mut self, m: &[M], weight: f64) {
        let m: Vec<&LayerMoments> = m.iter().map(|x| x.borrow()).collect();
        self.add_layer_stats(&m, weight);
        for (buffer, moments) in self.phi.iter_mut().zip(&m) {
            buffer.extend_from_slice(&moments.phi);
        }
        self.weights.push(weight);
        if self.weights.len() == BLOCK_ROWS {
            self.flush();
        }
    }

    /// The per-layer statistics: binary/spin `x`, categorical `φ`, Gaussian `loc` and
    /// `log_var` (the latter with the field from both neighbours).
    fn add_layer_stats(&mut self, m: &[&LayerMoments], weight: f64) {
        let machine = self.machine;
        for (l, layer) in machine.layers().iter().enumerate() {
            let own = m[l];
            let bias = &mut self.stats.bias[l];
            match layer.kind() {
                UnitKind::Binary | UnitKind::Spin => {
                    bias.iter_mut()
                        .zip(&own.x)
                        .for_each(|(g, x)| *g += weight * x);
                }
                UnitKind::Categorical(_) => {
                    bias.iter_mut()
                        .zip(&own.phi)
                        .for_each(|(g, p)| *g += weight * p);
                }
                UnitKind::Gaussian => {
                    let below = (l > 0).then(|| m[l - 1].phi.as_slice());
                    let above = m.get(l + 1).map(|n| n.phi.as_slice());
                    let f = machine.field(l, below, above);
                    for i in 0..layer.len() {
                        let iv = layer.inv_var(i);
                        bias[i] += weight * (own.x[i] - layer.bias()[i] as f64) * iv;
                        self.stats.log_var[l][i] +=
                            weight * (0.5 * own.sq_dev[i] * iv - own.x[i] * iv * f[i]);
                    }
                }
            }
        }
    }

    /// Adds the pending rows' outer products, one gemm per weight matrix.
    fn flush(&mut self) {
        let rows = self.weights.len();
        if rows == 0 {
            return;
        }
        for (l, outer) in self.outer.iter_mut().enumerate() {
            let (da, db) = (outer.nrows(), outer.ncols());
            let a = MatRef::from_row_major_slice(&self.phi[l], rows, da);
            let upper = &self.phi[l + 1];
            let wb = Mat::from_fn(rows, db, |r, j| self.weights[r] * upper[r * db + j]);
            matmul(outer.as_mut(), Accum::Add, a.transpose(), wb.as_ref(), 1.0);
        }
        self.phi.iter_mut().for_each(Vec::clear);
        self.weights.clear();
    }

    /// The sums.
    pub(crate) fn finish(mut self) -> MachineGradient {
        self.flush();
        for (w, outer) in self.stats.weights.iter_mut().zip(&self.outer) {
            let db = outer.ncols();
            for (k, g) in w.iter_mut().enumerate() {
                *g = outer[(k / db, k % db)];
            }
        }
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::Layer;

    /// The row-by-row sum the gemm replaces, as it was written before.
    fn naive_outer(machine: &BoltzmannMachine, rows: &[(Vec<LayerMoments>, f64)]) -> Vec<Vec<f64>> {
        let mut out: Vec<Vec<f64>> = machine
            .weights()
            .iter()
            .map(|w| vec![0.0; w.len()])
            .collect();
        for (m, weight) in rows {
            for (l, w) in out.iter_mut().enumerate() {
                let (a, b) = (&m[l].phi, &m[l + 1].phi);
                let d = b.len();
                for (i, &pa) in a.iter().enumerate() {
                    for (g, &pb) in w[i * d..(i + 1) * d].iter_mut().zip(b) {
                        *g += weight * pa * pb;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn gemm_sums_equal_the_naive_sums_to_rounding() {
        // Binary, categorical (φ of width n·K) and Gaussian layers; more rows than one
        // block, so that several gemms accumulate.
        let layers = vec![
            Layer::binary(vec![0.1, -0.2, 0.3]).unwrap(),
            Layer::categorical(3, vec![0.0; 6]).unwrap(),
            Layer::gaussian(vec![0.5, -0.5], vec![0.1, -0.3]).unwrap(),
        ];
        let machine = BoltzmannMachine::random(layers, 0.4, 3).unwrap();
        let mut x = 0.37f64;
        let mut next = || {
            x = (x * 7.31 + 0.113).fract();
            x
        };
        let rows: Vec<(Vec<LayerMoments>, f64)> = (0..BLOCK_ROWS * 2 + 17)
            .map(|_| {
                let m = machine
                    .layers()
                    .iter()
                    .map(|l| LayerMoments {
                        phi: (0..l.dim()).map(|_| next() - 0.3).collect(),
                        x: (0..l.len()).map(|_| next()).collect(),
                        sq_dev: (0..l.len()).map(|_| next()).collect(),
                    })
                    .collect();
                (m, next() / 100.0)
            })
            .collect();
        let mut sums = ProductStats::new(&machine);
        for (m, w) in &rows {
            sums.add(m, *w);
        }
        let got = sums.finish();
        let want = naive_outer(&machine, &rows);
        for (l, (g, w)) in got.weights.iter().zip(&want).enumerate() {
            assert_eq!(g.len(), w.len());
            for (k, (a, b)) in g.iter().zip(w).enumerate() {
                let scale = b.abs().max(1.0);
                assert!(
                    (a - b).abs() <= 1e-13 * scale,
                    "weights[{l}][{k}]: {a} vs {b}"
                );
            }
        }
        // Nothing pending is lost and one row alone is its own outer product.
        let mut one = ProductStats::new(&machine);
        one.add(&rows[0].0, 1.0);
        let single = one.finish();
        let (a, b) = (&rows[0].0[0].phi, &rows[0].0[1].phi);
        assert_eq!(single.weights[0][b.len() + 2], a[1] * b[2]);
    }
}
