//! Building hierarchical mixtures: from interpretable parameters (loadings, noise, mixture
//! weights, component means and covariances), or initialised from data.

use faer::Mat;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Hmog, HmogVariant};
use crate::expfam::{CovarianceType, ExponentialFamily, Gaussian};
use crate::harmonium::{Conjugated, Harmonium, HarmoniumError};
use crate::linalg::{Cholesky, symmetric_eigen};
use crate::samples::Samples;

fn invalid(field: &'static str, reason: impl Into<String>) -> HarmoniumError {
    HarmoniumError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// The interpretable parameters of an analytic HMoG: `x = μ + A y + ε`, `ε ~ N(0, D)`,
/// `y | z = k ~ N(m_k, S_k)`, `p(z = k) = w_k`.
#[derive(Clone, Debug)]
pub struct HmogMoments {
    /// `μ` (`d`).
    pub mean: Vec<f64>,
    /// `A`, `d × k` row-major.
    pub loadings: Vec<f64>,
    /// `D`, `d × d` (representable by the observable family's covariance type).
    pub noise: Mat<f64>,
    /// `w_k`.
    pub weights: Vec<f64>,
    /// `m_k`, one per component.
    pub means: Vec<Vec<f64>>,
    /// `S_k`, `k × k`, one per component.
    pub covariances: Vec<Mat<f64>>,
}

impl Hmog {
    /// The analytic HMoG with the given interpretable parameters.
    pub fn from_moments(
        observable: Gaussian,
        moments: &HmogMoments,
    ) -> Result<Hmog, HarmoniumError> {
        let d = observable.data_dim();
        let kk = moments.weights.len();
        let k = moments.loadings.len() / d.max(1);
        if k == 0 || moments.loadings.len() != d * k {
            return Err(invalid(
                "loadings",
                format!("{} values are not a {d} × k matrix", moments.loadings.len()),
            ));
        }
        if moments.means.len() != kk || moments.covariances.len() != kk {
            return Err(invalid(
                "components",
                "one mean and one covariance per weight",
            ));
        }
        let mut h = Hmog::zeros(HmogVariant::Analytic, observable, k, kk)?;
        let precision = crate::linalg::spd_inverse(moments.noise.as_ref(), "the noise covariance")?;
        h.observable_bias =
            observable.natural_from_mean_precision(&moments.mean, precision.as_ref())?;
        let a = crate::linalg::from_rows(d, k, &moments.loadings, "loadings")?;
        h.interaction = crate::linalg::to_rows((&precision * &a).as_ref());
        let full = h.bias_family;
        let naturals = moments
            .means
            .iter()
            .zip(&moments.covariances)
            .map(|(m, c)| Ok(full.natural_from_mean_covariance(m, c.as_ref())?))
            .collect::<Result<Vec<_>, HarmoniumError>>()?;
        let prior = Harmonium::from_components(full, &moments.weights, &naturals)?;
        let rho = h.lower_harmonium()?.conjugation_parameters()?;
        h.latent_bias = prior
            .observable_bias()
            .iter()
            .zip(&rho)
            .map(|(p, r)| p - r)
            .collect();
        h.mixture_interaction = prior.interaction().to_vec();
        h.category_bias = prior.latent_bias().to_vec();
        h.log_partition()?;
        Ok(h)
    }

    /// An HMoG initialised from `data`: the lower model from the principal directions (PPCA's
    /// closed form), the components centred on k-means++ seeds among the data's latent
    /// posterior means, with equal weights and a common covariance of ½I.
    pub fn initialize(
        variant: HmogVariant,
        observable: CovarianceType,
        latent_dim: usize,
        components: usize,
        data: &Samples,
        seed: u64,
    ) -> Result<Hmog, HarmoniumError> {
        let (n, d) = (data.rows(), data.cols());
        if latent_dim == 0 || latent_dim >= d {
            return Err(invalid(
                "latent_dim",
                format!("{latent_dim} must be in 1..{d}"),
            ));
        }
        if components < 2 || components > n {
            return Err(invalid(
                "components",
                format!("{components} components for {n} samples: need 2 ≤ K ≤ n"),
            ));
        }
        let template = Hmog::zeros(
            variant,
            Gaussian::new(d, observable)?,
            latent_dim,
            components,
        )?;
        let k = latent_dim;
        let x = data.as_mat();
        let mu: Vec<f64> = (0..d)
            .map(|j| (0..n).map(|i| x[(i, j)]).sum::<f64>() / n as f64)
            .collect();
        let centred = Mat::from_fn(n, d, |i, j| x[(i, j)] - mu[j]);
        let cov = centred.transpose() * &centred * (1.0 / n as f64);
        let eig = symmetric_eigen(cov.as_ref(), "the sample covariance")?;
        let mean_var = (0..d).map(|i| cov[(i, i)]).sum::<f64>() / d as f64;
        let floor = 1e-6 * mean_var.max(1e-300);
        let sigma2 = (eig.values[..d - k].iter().sum::<f64>() / (d - k) as f64).max(floor);
        let a = Mat::from_fn(d, k, |i, j| {
            let col = d - 1 - j;
            eig.vectors[(i, col)] * (eig.values[col] - sigma2).max(floor).sqrt()
        });
        let aat = &a * a.transpose();
        let noise: Vec<f64> = match observable {
            CovarianceType::Fixed => vec![1.0; d],
            CovarianceType::Isotropic => vec![sigma2; d],
            _ => (0..d)
                .map(|i| (cov[(i, i)] - aat[(i, i)]).max(sigma2.max(floor)))
                .collect(),
        };
        let precision = Mat::from_fn(d, d, |i, j| if i == j { 1.0 / noise[i] } else { 0.0 });
        let observable_bias = template
            .observable
            .natural_from_mean_precision(&mu, precision.as_ref())?;
        let theta = Mat::from_fn(d, k, |i, j| a[(i, j)] / noise[i]);
        let mut h = template.clone();
        h.observable_bias = observable_bias;
        h.interaction = crate::linalg::to_rows(theta.as_ref());
        // Latent posterior means under y ~ N(0, I): (I + AᵀD⁻¹A)⁻¹ AᵀD⁻¹ (x − μ).
        let m = a.transpose() * &theta;
        let post = Mat::from_fn(k, k, |i, j| m[(i, j)] + if i == j { 1.0 } else { 0.0 });
        let post = Cholesky::new(post.as_ref(), "the latent posterior precision")?;
        let projected = post
            .solve((&centred * &theta).transpose())
            .transpose()
            .to_owned();
        let centres = kmeans_plus_plus(projected.as_ref(), components, seed);
        h.set_prior_mixture(&centres, &m)?;
        Ok(h)
    }

    /// Sets the upper parameters so that the prior over `y` is an equal-weight mixture of
    /// `N(c_k, ½I)` (as nearly as the bias family allows), given `M = Θ_XYᵀ Σ_x Θ_XY`.
    fn set_prior_mixture(
        &mut self,
        centres: &[Vec<f64>],
        m: &Mat<f64>,
    ) -> Result<(), HarmoniumError> {
        let k = self.latent_dim;
        let lower = self.lower_harmonium()?;
        let rho = lower.conjugation_parameters()?;
        let lambda0 = 2.0;
        let lmax = symmetric_eigen(m.as_ref(), "Θᵀ Σ Θ")?
            .values
            .last()
            .copied()
            .unwrap_or(0.0)
            .max(0.0);
        let bias_ty = self.bias_family.covariance_type();
        let p = Mat::from_fn(k, k, |i, j| match bias_ty {
            CovarianceType::Full => m[(i, j)] + if i == j { lambda0 } else { 0.0 },
            CovarianceType::Diagonal if i == j => lambda0 + m[(i, i)] + lmax,
            CovarianceType::Isotropic if i == j => {
                lambda0 + (0..k).map(|t| m[(t, t)]).sum::<f64>() + lmax
            }
            CovarianceType::Fixed if i == j => 1.0,
            _ => 0.0,
        });
        let prior_precision = Mat::from_fn(k, k, |i, j| p[(i, j)] - m[(i, j)]);
        let full = self.bias_family.full();
        let etas: Vec<Vec<f64>> = centres
            .iter()
            .map(|c| {
                (0..k)
                    .map(|i| (0..k).map(|j| prior_precision[(i, j)] * c[j]).sum())
                    .collect()
            })
            .collect();
        let naturals = etas
            .iter()
            .map(|eta| {
                Ok(full.natural_from_mean_precision(
                    &solve(&prior_precision, eta)?,
                    prior_precision.as_ref(),
                )?)
            })
            .collect::<Result<Vec<_>, HarmoniumError>>()?;
        let weights = vec![1.0 / centres.len() as f64; centres.len()];
        let prior = Harmonium::from_components(full, &weights, &naturals)?;
        let location: Vec<f64> = (0..k).map(|i| etas[0][i] - rho[i]).collect();
        let half = Mat::from_fn(k, k, |i, j| -0.5 * p[(i, j)]);
        self.latent_bias = self
            .bias_family
            .quadratic_to_natural(&location, half.as_ref())?;
        let cf = self.component_family.dim();
        let cols = self.components - 1;
        self.mixture_interaction = vec![0.0; cf * cols];
        for (c, eta) in etas.iter().skip(1).enumerate() {
            for (i, (e, e0)) in eta.iter().zip(&etas[0]).enumerate() {
                self.mixture_interaction[i * cols + c] = e - e0;
            }
        }
        self.category_bias = prior.latent_bias().to_vec();
        self.log_partition()?;
        Ok(())
    }
}

fn solve(a: &Mat<f64>, b: &[f64]) -> Result<Vec<f64>, HarmoniumError> {
    Ok(Cholesky::new(a.as_ref(), "the prior precision")?.solve_vec(b))
}

/// k-means++ seeding (Arthur & Vassilvitskii): the first centre uniformly, each next one
/// with probability proportional to the squared distance to the nearest chosen centre.
fn kmeans_plus_plus(points: faer::MatRef<'_, f64>, k: usize, seed: u64) -> Vec<Vec<f64>> {
    let (n, d) = (points.nrows(), points.ncols());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let row = |i: usize| (0..d).map(|j| points[(i, j)]).collect::<Vec<f64>>();
    let mut centres = vec![row(rng.random_range(0..n))];
    let dist2 = |i: usize, c: &[f64]| (0..d).map(|j| (points[(i, j)] - c[j]).powi(2)).sum::<f64>();
    let mut nearest: Vec<f64> = (0..n).map(|i| dist2(i, &centres[0])).collect();
    while centres.len() < k {
        let total: f64 = nearest.iter().sum();
        let pick = if total > 0.0 {
            let mut u = rng.random::<f64>() * total;
            let mut chosen = n - 1;
            for (i, &w) in nearest.iter().enumerate() {
                if u < w {
                    chosen = i;
                    break;
                }
                u -= w;
            }
            chosen
        } else {
            rng.random_range(0..n)
        };
        let c = row(pick);
        for (i, v) in nearest.iter_mut().enumerate() {
            *v = v.min(dist2(i, &c));
        }
        centres.push(c);
    }
    centres
}
