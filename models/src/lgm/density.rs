//! The observable marginal `N(μ + A m, A S Aᵀ + D)`, its log density through a `k × k`
//! Cholesky factor (Woodbury identity and matrix determinant lemma), the latent posterior
//! (`transform`) and ancestral sampling.

use faer::Mat;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::model::finite_or_overflow;
use super::{LgmError, LinearGaussianModel};
use crate::linalg::{self, Cholesky};
use crate::samples::Samples;

/// `ln(2π)`.
pub(crate) const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// The pieces of the marginal covariance `C = B Bᵀ + D` (`B = A L`, `S = L Lᵀ`) that every
/// density evaluation needs: `C⁻¹ = D⁻¹ − D⁻¹ B M⁻¹ Bᵀ D⁻¹` and
/// `log det C = log det D + log det M` with the `k × k` matrix `M = I + Bᵀ D⁻¹ B`. Nothing
/// `d × d` is formed.
pub(crate) struct Marginal {
    /// `ν = μ + A m`.
    pub mean: Vec<f64>,
    /// `1 / D_ii`.
    pub noise_precision: Vec<f64>,
    /// `D⁻¹ B`, `d × k`.
    pub scaled_factor: Mat<f64>,
    /// Cholesky factor of `M`.
    pub inner: Cholesky,
    /// `log det C`.
    pub log_det: f64,
}

impl Marginal {
    pub(crate) fn new(model: &LinearGaussianModel) -> Result<Marginal, LgmError> {
        let (d, k) = (model.observable_dim(), model.latent_dim());
        let prior = Cholesky::new(model.prior_cov_mat().as_ref(), "prior covariance")?;
        let factor = &model.loadings_mat() * prior.lower();
        let noise_precision: Vec<f64> = model.noise_variance().iter().map(|v| 1.0 / v).collect();
        let scaled_factor = Mat::from_fn(d, k, |i, j| factor[(i, j)] * noise_precision[i]);
        let mut inner = factor.transpose() * &scaled_factor;
        for j in 0..k {
            inner[(j, j)] += 1.0;
        }
        let inner = Cholesky::new(
            linalg::symmetrize(inner.as_ref()).as_ref(),
            "I + Bᵀ D⁻¹ B (latent precision of the marginal)",
        )?;
        let log_det = model.noise_variance().iter().map(|v| v.ln()).sum::<f64>() + inner.log_det();
        if !log_det.is_finite() {
            return Err(LgmError::Overflow {
                what: "log det of the marginal covariance",
            });
        }
        Ok(Marginal {
            mean: model.marginal_mean()?,
            noise_precision,
            scaled_factor,
            inner,
            log_det,
        })
    }

    /// `log p(x)` for every row of `x` (already checked to have `d` columns).
    pub(crate) fn log_densities(&self, x: &Samples) -> Result<Vec<f64>, LgmError> {
        let (n, d) = (x.rows(), x.cols());
        let residual = Mat::from_fn(n, d, |r, i| x.row(r)[i] - self.mean[i]);
        // Column r of `projected` is L_M⁻¹ Bᵀ D⁻¹ (x_r − ν): its squared norm is what the
        // Woodbury identity subtracts from the diagonal quadratic form.
        let mut projected = self.scaled_factor.transpose() * residual.transpose();
        self.inner.solve_lower_in_place(projected.as_mut());
        let constant = d as f64 * LN_2PI + self.log_det;
        let out: Vec<f64> = (0..n)
            .map(|r| {
                let diag: f64 = (0..d)
                    .map(|i| residual[(r, i)] * residual[(r, i)] * self.noise_precision[i])
                    .sum();
                let low_rank: f64 = projected.col(r).iter().map(|v| v * v).sum();
                -0.5 * (constant + diag - low_rank)
            })
            .collect();
        if out.iter().any(|v| !v.is_finite()) {
            return Err(LgmError::Overflow {
                what: "log density",
            });
        }
        Ok(out)
    }

    /// `C⁻¹`, `d × d`.
    pub(crate) fn precision(&self) -> Mat<f64> {
        let d = self.mean.len();
        let scaled_t = self.scaled_factor.transpose().to_owned();
        let solved = self.inner.solve(scaled_t.as_ref());
        let mut p = -(&self.scaled_factor * &solved);
        for i in 0..d {
            p[(i, i)] += self.noise_precision[i];
        }
        linalg::symmetrize(p.as_ref())
    }
}

impl LinearGaussianModel {
    /// The covariance of the observable marginal, `A S Aᵀ + D` (`d × d`, row-major);
    /// scikit-learn's `get_covariance`.
    pub fn marginal_covariance(&self) -> Result<Vec<f64>, LgmError> {
        let a = self.loadings_mat();
        let mut c = &a * &self.prior_cov_mat() * a.transpose();
        for (i, v) in self.noise_variance().iter().enumerate() {
            c[(i, i)] += v;
        }
        finite_or_overflow(
            linalg::to_rows(linalg::symmetrize(c.as_ref()).as_ref()),
            "marginal covariance",
        )
    }

    /// The inverse of [`Self::marginal_covariance`] by the Woodbury identity (`d × d`,
    /// row-major); scikit-learn's `get_precision`.
    pub fn marginal_precision(&self) -> Result<Vec<f64>, LgmError> {
        Ok(linalg::to_rows(Marginal::new(self)?.precision().as_ref()))
    }

    /// `log p(x)` of one observation (length `d`).
    pub fn log_observable_density(&self, x: &[f64]) -> Result<f64, LgmError> {
        let samples = Samples::new(x.to_vec(), x.len().max(1))?;
        Ok(self.score_samples(&samples)?[0])
    }

    /// `log p(x)` of every row of `x` (scikit-learn's `score_samples`), in `O(n d k)` through
    /// the `k × k` Cholesky factor of `I + Bᵀ D⁻¹ B`.
    pub fn score_samples(&self, x: &Samples) -> Result<Vec<f64>, LgmError> {
        x.check_width(self.observable_dim())?;
        Marginal::new(self)?.log_densities(x)
    }

    /// The average of [`Self::score_samples`] (scikit-learn's `score`).
    pub fn score(&self, x: &Samples) -> Result<f64, LgmError> {
        let lp = self.score_samples(x)?;
        Ok(lp.iter().sum::<f64>() / lp.len() as f64)
    }

    /// The precision of the latent posterior `p(z | x)`, `S⁻¹ + Aᵀ D⁻¹ A` (`k × k`), which
    /// does not depend on `x`.
    pub fn posterior_precision(&self) -> Result<Vec<f64>, LgmError> {
        Ok(linalg::to_rows(self.posterior_precision_mat()?.as_ref()))
    }

    /// The covariance of the latent posterior `p(z | x)`, `(S⁻¹ + Aᵀ D⁻¹ A)⁻¹` (`k × k`).
    pub fn posterior_covariance(&self) -> Result<Vec<f64>, LgmError> {
        let p = self.posterior_precision_mat()?;
        Ok(linalg::to_rows(
            Cholesky::new(p.as_ref(), "posterior precision")?
                .inverse()
                .as_ref(),
        ))
    }

    /// The posterior mean `E[z | x]` of every row of `x` (`n × k`, row-major):
    /// `(S⁻¹ + Aᵀ D⁻¹ A)⁻¹ (S⁻¹ m + Aᵀ D⁻¹ (x − μ))`. This is scikit-learn's `transform`.
    pub fn transform(&self, x: &Samples) -> Result<Vec<f64>, LgmError> {
        let (d, k) = (self.observable_dim(), self.latent_dim());
        x.check_width(d)?;
        let precision = Cholesky::new(
            self.posterior_precision_mat()?.as_ref(),
            "posterior precision",
        )?;
        let prior = Cholesky::new(self.prior_cov_mat().as_ref(), "prior covariance")?;
        let prior_term = prior.solve_vec(self.prior_mean());
        let noise = self.noise_variance();
        let a = self.loadings_mat();
        let scaled = Mat::from_fn(d, k, |i, j| a[(i, j)] / noise[i]);
        let residual = Mat::from_fn(x.rows(), d, |r, i| x.row(r)[i] - self.mean()[i]);
        let mut rhs = scaled.transpose() * residual.transpose();
        for r in 0..x.rows() {
            for j in 0..k {
                rhs[(j, r)] += prior_term[j];
            }
        }
        let means = precision.solve(rhs.as_ref());
        let out = linalg::to_rows(means.transpose());
        super::model::check_finite("posterior mean", &out).map_err(|_| LgmError::Overflow {
            what: "posterior mean",
        })?;
        Ok(out)
    }

    /// `n` independent draws of `x` (ancestral: `z ~ N(m, S)`, then `x ~ N(μ + A z, D)`),
    /// reproducible from `seed` (ChaCha8).
    pub fn sample(&self, n: usize, seed: u64) -> Result<Samples, LgmError> {
        Ok(self.sample_joint(n, seed)?.0)
    }

    /// `n` independent draws of `(x, z)`: the observations and the latent values that
    /// produced them (`n × k`, row-major).
    pub fn sample_joint(&self, n: usize, seed: u64) -> Result<(Samples, Vec<f64>), LgmError> {
        if n == 0 {
            return Err(LgmError::InvalidOption {
                field: "n",
                value: "0".into(),
                reason: "at least one sample must be drawn",
            });
        }
        let (d, k) = (self.observable_dim(), self.latent_dim());
        let prior = Cholesky::new(self.prior_cov_mat().as_ref(), "prior covariance")?;
        let l = prior.lower();
        let noise_sd: Vec<f64> = self.noise_variance().iter().map(|v| v.sqrt()).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut xs = Vec::with_capacity(n * d);
        let mut zs = Vec::with_capacity(n * k);
        let mut eps = vec![0.0; k];
        for _ in 0..n {
            eps.iter_mut()
                .for_each(|e| *e = StandardNormal.sample(&mut rng));
            let z0 = zs.len();
            for j in 0..k {
                let lz: f64 = (0..=j).map(|c| l[(j, c)] * eps[c]).sum();
                zs.push(self.prior_mean()[j] + lz);
            }
            let z = &zs[z0..];
            let rows = self.loadings().chunks_exact(k);
            for ((row, mu), sd) in rows.zip(self.mean()).zip(&noise_sd) {
                let az: f64 = row.iter().zip(z).map(|(a, z)| a * z).sum();
                let e: f64 = StandardNormal.sample(&mut rng);
                xs.push(mu + az + sd * e);
            }
        }
        let samples = Samples::new(xs, d).map_err(|_| LgmError::Overflow { what: "sample" })?;
        Ok((samples, zs))
    }

    fn posterior_precision_mat(&self) -> Result<Mat<f64>, LgmError> {
        let (d, k) = (self.observable_dim(), self.latent_dim());
        let a = self.loadings_mat();
        let noise = self.noise_variance();
        let scaled = Mat::from_fn(d, k, |i, j| a[(i, j)] / noise[i]);
        let prior = Cholesky::new(self.prior_cov_mat().as_ref(), "prior covariance")?;
        let p = prior.inverse() + a.transpose() * &scaled;
        let p = linalg::symmetrize(p.as_ref());
        linalg::check_finite(p.as_ref(), "posterior precision")?;
        Ok(p)
    }
}
