//! The Boltzmann family: binary units with pairwise statistics, computed exactly by
//! enumerating its `2ⁿ` states.
//!
//! It is the latent family that makes a Gaussian–binary harmonium conjugated: a Gaussian
//! likelihood's log partition is quadratic in the latent units, and `z_i² = z_i` leaves
//! exactly unit and pair terms.

use blockgibbs_ir::NodeKind;
use faer::Mat;
use rand::RngCore;

use super::{
    ExpFamError, ExponentialFamily, Monomial, Polynomial, check_vector, dot, log_sum_exp, uniform,
};
use crate::linalg::Cholesky;

/// Largest Boltzmann family the exact computations accept (`2¹⁶` states).
pub const MAX_BOLTZMANN_UNITS: usize = 16;

/// `n` binary units `z ∈ {0, 1}ⁿ` with statistic `(z_1 … z_n, z_i z_j for i < j)` — the unit
/// terms first, then the pairs row by row — so `θ·s(z)` is a Boltzmann machine's
/// log-density with biases `θ_i` and couplings `θ_ij`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Boltzmann {
    units: usize,
}

impl Boltzmann {
    /// `1 ≤ units ≤` [`MAX_BOLTZMANN_UNITS`] units.
    pub fn new(units: usize) -> Result<Boltzmann, ExpFamError> {
        if units == 0 {
            return Err(ExpFamError::Shape {
                field: "units",
                expected: 1,
                found: 0,
            });
        }
        if units > MAX_BOLTZMANN_UNITS {
            return Err(ExpFamError::TooLarge {
                family: "Boltzmann",
                units,
                max: MAX_BOLTZMANN_UNITS,
                operation: "exact enumeration",
            });
        }
        Ok(Boltzmann { units })
    }

    /// Index of the `z_i z_j` coordinate, `i ≠ j`.
    pub fn pair_index(&self, i: usize, j: usize) -> usize {
        let (i, j) = if i < j { (i, j) } else { (j, i) };
        let n = self.units;
        // Row i of the strict upper triangle starts after rows 0..i, of n−1, n−2, … entries.
        n + i * (n - 1) - i * i.saturating_sub(1) / 2 + (j - i - 1)
    }

    /// State number `k` as 0/1 values (bit `i` of `k` is unit `i`).
    fn state(&self, k: usize, z: &mut [f64]) {
        for (i, v) in z.iter_mut().enumerate() {
            *v = ((k >> i) & 1) as f64;
        }
    }

    /// `θ·s(z)` of every state, in state order.
    fn log_weights(&self, natural: &[f64]) -> Vec<f64> {
        let mut z = vec![0.0; self.units];
        let mut s = vec![0.0; self.dim()];
        (0..1usize << self.units)
            .map(|k| {
                self.state(k, &mut z);
                self.sufficient_statistic_into(&z, &mut s);
                dot(natural, &s)
            })
            .collect()
    }

    /// Probabilities of every state, in state order.
    pub fn state_probabilities(&self, natural: &[f64]) -> Result<Vec<f64>, ExpFamError> {
        self.check_natural(natural)?;
        let w = self.log_weights(natural);
        let lse = log_sum_exp(&w);
        Ok(w.iter().map(|x| (x - lse).exp()).collect())
    }

    /// Mean and covariance of the statistic (the gradient and Hessian of `ψ`).
    fn statistic_moments(&self, natural: &[f64]) -> Result<(Vec<f64>, Mat<f64>), ExpFamError> {
        let p = self.state_probabilities(natural)?;
        let dim = self.dim();
        let mut z = vec![0.0; self.units];
        let mut s = vec![0.0; dim];
        let mut mean = vec![0.0; dim];
        let mut second = Mat::<f64>::zeros(dim, dim);
        for (k, &pk) in p.iter().enumerate() {
            self.state(k, &mut z);
            self.sufficient_statistic_into(&z, &mut s);
            for a in 0..dim {
                if s[a] == 0.0 {
                    continue;
                }
                mean[a] += pk * s[a];
                for b in 0..dim {
                    second[(a, b)] += pk * s[a] * s[b];
                }
            }
        }
        let cov = Mat::from_fn(dim, dim, |a, b| second[(a, b)] - mean[a] * mean[b]);
        Ok((mean, cov))
    }
}

impl ExponentialFamily for Boltzmann {
    fn name(&self) -> &'static str {
        "Boltzmann"
    }
    fn data_dim(&self) -> usize {
        self.units
    }
    fn dim(&self) -> usize {
        self.units + self.units * (self.units - 1) / 2
    }
    fn location_dim(&self) -> usize {
        self.units
    }
    fn node_kind(&self) -> NodeKind {
        NodeKind::Binary
    }
    fn check_point(&self, x: &[f64]) -> Result<(), ExpFamError> {
        check_vector("x", x, self.units)?;
        match x.iter().position(|&v| v != 0.0 && v != 1.0) {
            Some(index) => Err(ExpFamError::OutsideSupport {
                family: self.name(),
                index,
                value: x[index],
            }),
            None => Ok(()),
        }
    }
    fn sufficient_statistic_into(&self, x: &[f64], out: &mut [f64]) {
        let n = self.units;
        out[..n].copy_from_slice(x);
        let mut k = n;
        for i in 0..n {
            for j in i + 1..n {
                out[k] = x[i] * x[j];
                k += 1;
            }
        }
    }
    fn log_base_measure(&self, _x: &[f64]) -> f64 {
        0.0
    }
    fn log_partition(&self, natural: &[f64]) -> Result<f64, ExpFamError> {
        self.check_natural(natural)?;
        Ok(log_sum_exp(&self.log_weights(natural)))
    }
    fn to_mean(&self, natural: &[f64]) -> Result<Vec<f64>, ExpFamError> {
        Ok(self.statistic_moments(natural)?.0)
    }
    /// Newton's method on the convex `ψ(θ) − θ·μ` with the exact Hessian (the statistic's
    /// covariance, by enumeration) and a backtracking line search; errors when `mean` is not
    /// in the interior of the marginal polytope (the iteration cannot converge there).
    fn to_natural(&self, mean: &[f64]) -> Result<Vec<f64>, ExpFamError> {
        check_vector("mean", mean, self.dim())?;
        let not_interior = |why: String| ExpFamError::Domain {
            field: "mean",
            family: "Boltzmann",
            reason: format!("not in the interior of the marginal polytope ({why})"),
        };
        let n = self.units;
        if let Some(i) = (0..n).find(|&i| !(mean[i] > 0.0 && mean[i] < 1.0)) {
            return Err(not_interior(format!("mean[{i}] = {}", mean[i])));
        }
        let objective =
            |t: &[f64]| -> Result<f64, ExpFamError> { Ok(self.log_partition(t)? - dot(t, mean)) };
        let mut theta = vec![0.0; self.dim()];
        for i in 0..n {
            theta[i] = (mean[i] / (1.0 - mean[i])).ln();
        }
        let mut f = objective(&theta)?;
        for _ in 0..200 {
            let (m, cov) = self.statistic_moments(&theta)?;
            let grad: Vec<f64> = m.iter().zip(mean).map(|(a, b)| a - b).collect();
            if grad.iter().map(|g| g.abs()).fold(0.0, f64::max) < 1e-12 {
                return Ok(theta);
            }
            let factor = Cholesky::new(cov.as_ref(), "the statistic covariance")
                .map_err(|e| not_interior(e.to_string()))?;
            let step = factor.solve_vec(&grad);
            let slope: f64 = -dot(&grad, &step);
            let mut t = 1.0;
            loop {
                let trial: Vec<f64> = theta.iter().zip(&step).map(|(a, s)| a - t * s).collect();
                let ft = objective(&trial)?;
                if ft <= f + 1e-4 * t * slope || t < 1e-12 {
                    theta = trial;
                    f = ft;
                    break;
                }
                t *= 0.5;
            }
            if theta.iter().any(|x| x.abs() > 1e6) {
                return Err(not_interior("the natural parameters diverge".into()));
            }
        }
        Err(not_interior("Newton's method did not converge".into()))
    }
    fn negative_entropy(&self, mean: &[f64]) -> Result<f64, ExpFamError> {
        let theta = self.to_natural(mean)?;
        Ok(dot(&theta, mean) - self.log_partition(&theta)?)
    }
    fn sample_into(
        &self,
        natural: &[f64],
        rng: &mut dyn RngCore,
        out: &mut [f64],
    ) -> Result<(), ExpFamError> {
        let p = self.state_probabilities(natural)?;
        self.state(draw_index(&p, uniform(rng)), out);
        Ok(())
    }
    fn sample(
        &self,
        natural: &[f64],
        n: usize,
        rng: &mut dyn RngCore,
    ) -> Result<Vec<f64>, ExpFamError> {
        let p = self.state_probabilities(natural)?;
        let mut out = vec![0.0; n * self.units];
        for row in out.chunks_exact_mut(self.units) {
            self.state(draw_index(&p, uniform(rng)), row);
        }
        Ok(out)
    }
    fn statistic_terms(&self) -> Vec<Polynomial> {
        let n = self.units;
        let mut terms: Vec<Polynomial> = (0..n).map(|i| vec![(1.0, Monomial::Unit(i))]).collect();
        for i in 0..n {
            for j in i + 1..n {
                terms.push(vec![(1.0, Monomial::Pair(i, j))]);
            }
        }
        terms
    }
}

/// The first index whose cumulative probability exceeds `u` (the last one if rounding
/// leaves the total below `u`).
fn draw_index(p: &[f64], u: f64) -> usize {
    let mut acc = 0.0;
    for (k, &pk) in p.iter().enumerate() {
        acc += pk;
        if u < acc {
            return k;
        }
    }
    p.len() - 1
}
