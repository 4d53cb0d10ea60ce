//! The multivariate normal family with a full, diagonal, isotropic or fixed (identity)
//! covariance.

use blockgibbs_ir::NodeKind;
use faer::{Mat, MatRef};
use rand::RngCore;

use super::{
    CovarianceType, ExpFamError, ExponentialFamily, Monomial, Polynomial, check_vector,
    standard_normal,
};
use crate::linalg::Cholesky;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// A `d`-dimensional Gaussian, `x ∈ ℝᵈ`, with a [`CovarianceType`].
///
/// Layout of the statistic (and of natural and mean parameters): the `d` coordinates `x`
/// first (natural: `η = Λμ`; mean: `μ`), then the second-order coordinates:
///
/// | type        | statistic                               | natural                                | mean                  |
/// |-------------|-----------------------------------------|----------------------------------------|-----------------------|
/// | `Full`      | `x_i x_j`, `i ≤ j`, upper triangle row by row | `−½Λ_ii` on the diagonal, `−Λ_ij` off it | `E[x_i x_j]`      |
/// | `Diagonal`  | `x_i²`                                  | `−½Λ_ii`                               | `E[x_i²]`             |
/// | `Isotropic` | `Σ x_i²`                                | `−½λ`                                  | `E[Σ x_i²]`           |
/// | `Fixed`     | none: `Λ = I`, `−½‖x‖²` is in the base measure | none                            | none                  |
///
/// so that `θ·s(x) = ηᵀx − ½ xᵀΛx`, `log h(x) = −(d/2) log 2π` (minus `½‖x‖²` for `Fixed`)
/// and `ψ(θ) = ½ ηᵀΛ⁻¹η − ½ log det Λ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gaussian {
    dim: usize,
    covariance: CovarianceType,
}

impl Gaussian {
    /// A Gaussian over `dim ≥ 1` coordinates.
    pub fn new(dim: usize, covariance: CovarianceType) -> Result<Gaussian, ExpFamError> {
        if dim == 0 {
            return Err(ExpFamError::Shape {
                field: "dim",
                expected: 1,
                found: 0,
            });
        }
        Ok(Gaussian { dim, covariance })
    }

    /// The covariance representation.
    pub fn covariance_type(&self) -> CovarianceType {
        self.covariance
    }

    /// Index of the `x_i x_j` coordinate (`i ≤ j`) of a full-covariance family.
    pub fn pair_index(&self, i: usize, j: usize) -> usize {
        let (i, j) = if i <= j { (i, j) } else { (j, i) };
        // Row i of the upper triangle starts after rows 0..i, of d, d−1, … entries.
        self.dim + i * self.dim - i * i.saturating_sub(1) / 2 + (j - i)
    }

    /// The precision matrix `Λ` encoded by natural parameters (not checked for definiteness).
    pub fn precision(&self, natural: &[f64]) -> Result<Mat<f64>, ExpFamError> {
        self.check_natural(natural)?;
        let d = self.dim;
        let t = &natural[d..];
        Ok(match self.covariance {
            CovarianceType::Full => Mat::from_fn(d, d, |i, j| {
                let v = natural[self.pair_index(i, j)];
                if i == j { -2.0 * v } else { -v }
            }),
            CovarianceType::Diagonal => {
                Mat::from_fn(d, d, |i, j| if i == j { -2.0 * t[i] } else { 0.0 })
            }
            CovarianceType::Isotropic => {
                Mat::from_fn(d, d, |i, j| if i == j { -2.0 * t[0] } else { 0.0 })
            }
            CovarianceType::Fixed => Mat::identity(d, d),
        })
    }

    fn precision_factor(&self, natural: &[f64]) -> Result<Cholesky, ExpFamError> {
        let precision = self.precision(natural)?;
        Cholesky::new(precision.as_ref(), "the precision of a Gaussian").map_err(|e| {
            ExpFamError::Domain {
                field: "natural",
                family: "Gaussian",
                reason: e.to_string(),
            }
        })
    }

    /// Mean vector and covariance matrix of the density with natural parameters `natural`.
    pub fn mean_covariance(&self, natural: &[f64]) -> Result<(Vec<f64>, Mat<f64>), ExpFamError> {
        let factor = self.precision_factor(natural)?;
        let mean = factor.solve_vec(&natural[..self.dim]);
        Ok((mean, factor.inverse()))
    }

    /// Natural parameters of `N(mean, covariance)`; the covariance must be positive definite
    /// and representable by this family's type (diagonal for `Diagonal`, a multiple of the
    /// identity for `Isotropic`, the identity for `Fixed`, to 1e-12 relative).
    pub fn natural_from_mean_covariance(
        &self,
        mean: &[f64],
        covariance: MatRef<'_, f64>,
    ) -> Result<Vec<f64>, ExpFamError> {
        check_vector("mean", mean, self.dim)?;
        let precision = crate::linalg::spd_inverse(covariance, "covariance")?;
        self.natural_from_mean_precision(mean, precision.as_ref())
    }

    /// Natural parameters of the Gaussian with mean `mean` and precision `precision`
    /// (representable by this family's type, see
    /// [`Gaussian::natural_from_mean_covariance`]).
    pub fn natural_from_mean_precision(
        &self,
        mean: &[f64],
        precision: MatRef<'_, f64>,
    ) -> Result<Vec<f64>, ExpFamError> {
        check_vector("mean", mean, self.dim)?;
        Cholesky::new(precision, "precision").map_err(ExpFamError::from)?;
        let d = self.dim;
        let eta: Vec<f64> = (0..d)
            .map(|i| (0..d).map(|j| precision[(i, j)] * mean[j]).sum())
            .collect();
        // θ·s(x) = ηᵀx − ½xᵀΛx: the quadratic coefficient matrix is −½Λ.
        let half = Mat::from_fn(d, d, |i, j| -0.5 * precision[(i, j)]);
        self.quadratic_to_natural(&eta, half.as_ref())
    }

    /// The natural-parameter coordinates of the polynomial `lᵀx + xᵀQx` (`Q` symmetric):
    /// `l` on the first-order coordinates, `Q_ii` on `x_i²` and `2Q_ij` on `x_i x_j`.
    /// Errors when `Q` is not representable by this family's type (off-diagonal entries of a
    /// diagonal family, unequal diagonal of an isotropic one, any `Q ≠ −½I` for `Fixed`).
    pub fn quadratic_to_natural(
        &self,
        linear: &[f64],
        q: MatRef<'_, f64>,
    ) -> Result<Vec<f64>, ExpFamError> {
        check_vector("linear", linear, self.dim)?;
        let d = self.dim;
        let scale = (0..d).map(|i| q[(i, i)].abs()).fold(1e-300, f64::max);
        let tol = 1e-12 * scale;
        let unrepresentable = |what: String| ExpFamError::Domain {
            field: "quadratic form",
            family: "Gaussian",
            reason: format!(
                "{what}, which a {} covariance cannot represent",
                self.covariance
            ),
        };
        let off_diagonal = (0..d)
            .flat_map(|i| (0..d).map(move |j| (i, j)))
            .find(|&(i, j)| i != j && q[(i, j)].abs() > tol);
        let mut natural = linear.to_vec();
        match self.covariance {
            CovarianceType::Full => {
                natural.resize(self.dim(), 0.0);
                for i in 0..d {
                    for j in i..d {
                        natural[self.pair_index(i, j)] = if i == j {
                            q[(i, i)]
                        } else {
                            q[(i, j)] + q[(j, i)]
                        };
                    }
                }
            }
            CovarianceType::Diagonal => {
                if let Some((i, j)) = off_diagonal {
                    return Err(unrepresentable(format!(
                        "entry ({i}, {j}) is off the diagonal"
                    )));
                }
                natural.extend((0..d).map(|i| q[(i, i)]));
            }
            CovarianceType::Isotropic | CovarianceType::Fixed => {
                if let Some((i, j)) = off_diagonal {
                    return Err(unrepresentable(format!(
                        "entry ({i}, {j}) is off the diagonal"
                    )));
                }
                let q0 = q[(0, 0)];
                if let Some(i) = (1..d).find(|&i| (q[(i, i)] - q0).abs() > tol) {
                    return Err(unrepresentable(format!(
                        "diagonal entry {i} differs from entry 0"
                    )));
                }
                if self.covariance == CovarianceType::Isotropic {
                    natural.push(q0);
                } else if (q0 + 0.5).abs() > tol {
                    return Err(unrepresentable(format!(
                        "the quadratic coefficient is {q0}, not −½"
                    )));
                }
            }
        }
        Ok(natural)
    }

    /// Mean vector and covariance matrix from mean parameters (`Fixed`: the identity).
    pub fn mean_covariance_from_mean(
        &self,
        mean: &[f64],
    ) -> Result<(Vec<f64>, Mat<f64>), ExpFamError> {
        check_vector("mean", mean, self.dim())?;
        let d = self.dim;
        let mu = mean[..d].to_vec();
        let cov = match self.covariance {
            CovarianceType::Full => {
                Mat::from_fn(d, d, |i, j| mean[self.pair_index(i, j)] - mu[i] * mu[j])
            }
            CovarianceType::Diagonal => Mat::from_fn(d, d, |i, j| {
                if i == j {
                    mean[d + i] - mu[i] * mu[i]
                } else {
                    0.0
                }
            }),
            CovarianceType::Isotropic => {
                let s2 = (mean[d] - mu.iter().map(|m| m * m).sum::<f64>()) / d as f64;
                Mat::from_fn(d, d, |i, j| if i == j { s2 } else { 0.0 })
            }
            CovarianceType::Fixed => Mat::identity(d, d),
        };
        Ok((mu, cov))
    }

    /// Mean parameters of `N(mu, cov)` in this family's layout (`cov` is projected on the
    /// family's type: its diagonal, its trace, or nothing).
    pub fn mean_from_moments(&self, mu: &[f64], cov: MatRef<'_, f64>) -> Vec<f64> {
        let d = self.dim;
        let mut out = mu.to_vec();
        match self.covariance {
            CovarianceType::Full => {
                for i in 0..d {
                    for j in i..d {
                        out.push(cov[(i, j)] + mu[i] * mu[j]);
                    }
                }
            }
            CovarianceType::Diagonal => out.extend((0..d).map(|i| cov[(i, i)] + mu[i] * mu[i])),
            CovarianceType::Isotropic => {
                out.push((0..d).map(|i| cov[(i, i)] + mu[i] * mu[i]).sum());
            }
            CovarianceType::Fixed => {}
        }
        out
    }
}

/// The embedding of a restricted Gaussian family's parameters into the full-covariance
/// family of the same dimension (and its transpose, which maps full-family gradients and
/// mean parameters back).
impl Gaussian {
    /// The full-covariance family of the same dimension.
    pub fn full(&self) -> Gaussian {
        Gaussian {
            dim: self.dim,
            covariance: CovarianceType::Full,
        }
    }

    /// Natural parameters of this family written in the full family's layout, describing
    /// the same density (`Fixed`: the `−½‖x‖²` of the base measure becomes `−½` on the
    /// diagonal).
    pub fn embed_natural(&self, natural: &[f64]) -> Result<Vec<f64>, ExpFamError> {
        self.check_natural(natural)?;
        let mut out = self.embed_linear(natural);
        if self.covariance == CovarianceType::Fixed {
            let full = self.full();
            for i in 0..self.dim {
                out[full.pair_index(i, i)] = -0.5;
            }
        }
        Ok(out)
    }

    /// The linear part of [`Gaussian::embed_natural`]: where each coordinate of a
    /// parameter *difference* goes in the full layout (isotropic: onto every diagonal
    /// entry).
    pub fn embed_linear(&self, v: &[f64]) -> Vec<f64> {
        let d = self.dim;
        let full = self.full();
        let mut out = vec![0.0; full.dim()];
        out[..d].copy_from_slice(&v[..d]);
        match self.covariance {
            CovarianceType::Full => out.copy_from_slice(v),
            CovarianceType::Diagonal => {
                (0..d).for_each(|i| out[full.pair_index(i, i)] = v[d + i]);
            }
            CovarianceType::Isotropic => (0..d).for_each(|i| out[full.pair_index(i, i)] = v[d]),
            CovarianceType::Fixed => {}
        }
        out
    }

    /// The transpose of [`Gaussian::embed_linear`]: a full-layout vector (a gradient, or
    /// mean parameters) read in this family's layout.
    pub fn project_full(&self, v: &[f64]) -> Vec<f64> {
        let d = self.dim;
        let full = self.full();
        let mut out = v[..d].to_vec();
        match self.covariance {
            CovarianceType::Full => return v.to_vec(),
            CovarianceType::Diagonal => out.extend((0..d).map(|i| v[full.pair_index(i, i)])),
            CovarianceType::Isotropic => {
                out.push((0..d).map(|i| v[full.pair_index(i, i)]).sum());
            }
            CovarianceType::Fixed => {}
        }
        out
    }
}

impl ExponentialFamily for Gaussian {
    fn name(&self) -> &'static str {
        "Gaussian"
    }
    fn data_dim(&self) -> usize {
        self.dim
    }
    fn dim(&self) -> usize {
        self.dim + self.covariance.parameter_count(self.dim)
    }
    fn location_dim(&self) -> usize {
        self.dim
    }
    fn node_kind(&self) -> NodeKind {
        NodeKind::Gaussian
    }
    fn check_point(&self, x: &[f64]) -> Result<(), ExpFamError> {
        check_vector("x", x, self.dim)
    }
    fn sufficient_statistic_into(&self, x: &[f64], out: &mut [f64]) {
        let d = self.dim;
        out[..d].copy_from_slice(x);
        match self.covariance {
            CovarianceType::Full => {
                let mut k = d;
                for i in 0..d {
                    for j in i..d {
                        out[k] = x[i] * x[j];
                        k += 1;
                    }
                }
            }
            CovarianceType::Diagonal => {
                for i in 0..d {
                    out[d + i] = x[i] * x[i];
                }
            }
            CovarianceType::Isotropic => out[d] = x.iter().map(|v| v * v).sum(),
            CovarianceType::Fixed => {}
        }
    }
    fn log_base_measure(&self, x: &[f64]) -> f64 {
        let c = -0.5 * self.dim as f64 * LN_2PI;
        match self.covariance {
            CovarianceType::Fixed => c - 0.5 * x.iter().map(|v| v * v).sum::<f64>(),
            _ => c,
        }
    }
    fn log_partition(&self, natural: &[f64]) -> Result<f64, ExpFamError> {
        let factor = self.precision_factor(natural)?;
        let eta = &natural[..self.dim];
        let mu = factor.solve_vec(eta);
        let quad: f64 = eta.iter().zip(&mu).map(|(e, m)| e * m).sum();
        Ok(0.5 * quad - 0.5 * factor.log_det())
    }
    fn to_mean(&self, natural: &[f64]) -> Result<Vec<f64>, ExpFamError> {
        let (mu, cov) = self.mean_covariance(natural)?;
        Ok(self.mean_from_moments(&mu, cov.as_ref()))
    }
    fn to_natural(&self, mean: &[f64]) -> Result<Vec<f64>, ExpFamError> {
        let (mu, cov) = self.mean_covariance_from_mean(mean)?;
        let precision = crate::linalg::spd_inverse(cov.as_ref(), "the covariance of the mean")
            .map_err(|e| ExpFamError::Domain {
                field: "mean",
                family: "Gaussian",
                reason: e.to_string(),
            })?;
        self.natural_from_mean_precision(&mu, precision.as_ref())
    }
    fn negative_entropy(&self, mean: &[f64]) -> Result<f64, ExpFamError> {
        let (_, cov) = self.mean_covariance_from_mean(mean)?;
        let factor = Cholesky::new(cov.as_ref(), "the covariance of the mean").map_err(|e| {
            ExpFamError::Domain {
                field: "mean",
                family: "Gaussian",
                reason: e.to_string(),
            }
        })?;
        Ok(-0.5 * (self.dim as f64 * (LN_2PI + 1.0) + factor.log_det()))
    }
    fn sample_into(
        &self,
        natural: &[f64],
        rng: &mut dyn RngCore,
        out: &mut [f64],
    ) -> Result<(), ExpFamError> {
        let factor = self.precision_factor(natural)?;
        let mu = factor.solve_vec(&natural[..self.dim]);
        // Λ = L Lᵀ, so L⁻ᵀ z has covariance Λ⁻¹.
        let mut z = Mat::from_fn(self.dim, 1, |_, _| standard_normal(rng));
        factor.solve_upper_in_place(z.as_mut());
        for i in 0..self.dim {
            out[i] = mu[i] + z[(i, 0)];
        }
        Ok(())
    }
    fn statistic_terms(&self) -> Vec<Polynomial> {
        let d = self.dim;
        let mut terms: Vec<Polynomial> = (0..d).map(|i| vec![(1.0, Monomial::Unit(i))]).collect();
        match self.covariance {
            CovarianceType::Full => {
                for i in 0..d {
                    for j in i..d {
                        let m = if i == j {
                            Monomial::Square(i)
                        } else {
                            Monomial::Pair(i, j)
                        };
                        terms.push(vec![(1.0, m)]);
                    }
                }
            }
            CovarianceType::Diagonal => {
                terms.extend((0..d).map(|i| vec![(1.0, Monomial::Square(i))]));
            }
            CovarianceType::Isotropic => {
                terms.push((0..d).map(|i| (1.0, Monomial::Square(i))).collect());
            }
            CovarianceType::Fixed => {}
        }
        terms
    }
    fn standard_natural(&self) -> Vec<f64> {
        let d = self.dim;
        let mut natural = vec![0.0; self.dim()];
        match self.covariance {
            CovarianceType::Full => (0..d).for_each(|i| natural[self.pair_index(i, i)] = -0.5),
            CovarianceType::Diagonal => natural[d..].fill(-0.5),
            CovarianceType::Isotropic => natural[d] = -0.5,
            CovarianceType::Fixed => {}
        }
        natural
    }
    fn base_measure_terms(&self) -> Polynomial {
        match self.covariance {
            CovarianceType::Fixed => (0..self.dim).map(|i| (-0.5, Monomial::Square(i))).collect(),
            _ => Vec::new(),
        }
    }
}
