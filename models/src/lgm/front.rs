//! [`FactorAnalysis`] and [`Ppca`]: scikit-learn-shaped front-ends over
//! [`LinearGaussianModel`] with the standard prior `N(0, I)`.

use super::{FitOptions, FitReport, LgmError, LinearGaussianModel, NoiseType, ProgressCallback};
use crate::samples::Samples;

/// `components` (`k × d`, row-major: scikit-learn's `components_`) as loadings `A`
/// (`d × k`, row-major).
fn components_to_loadings(components: &[f64], k: usize, d: usize) -> Result<Vec<f64>, LgmError> {
    super::model::check_latent_dim(k, d)?;
    super::model::check_len("components", components, k * d)?;
    Ok((0..d * k)
        .map(|i| components[(i % k) * d + i / k])
        .collect())
}

/// The methods both front-ends share, delegated to the wrapped model.
macro_rules! front_end_methods {
    () => {
        /// Fits by EM (see [`LinearGaussianModel::fit`]) with `n_components` factors.
        pub fn fit(
            x: &Samples,
            n_components: usize,
            options: &FitOptions,
        ) -> Result<(Self, FitReport), LgmError> {
            let (model, report) = LinearGaussianModel::fit(x, n_components, Self::NOISE, options)?;
            Ok((Self { model }, report))
        }

        /// [`Self::fit`] with a callback after every EM step (see
        /// [`LinearGaussianModel::fit_with_progress`]).
        pub fn fit_with_progress(
            x: &Samples,
            n_components: usize,
            options: &FitOptions,
            progress: ProgressCallback<'_>,
        ) -> Result<(Self, FitReport), LgmError> {
            let (model, report) = LinearGaussianModel::fit_with_progress(
                x,
                n_components,
                Self::NOISE,
                options,
                progress,
            )?;
            Ok((Self { model }, report))
        }

        /// The posterior means `E[z | x]`, `n × k` row-major (scikit-learn's `transform`).
        pub fn transform(&self, x: &Samples) -> Result<Vec<f64>, LgmError> {
            self.model.transform(x)
        }

        /// `log p(x)` of every row (scikit-learn's `score_samples`).
        pub fn score_samples(&self, x: &Samples) -> Result<Vec<f64>, LgmError> {
            self.model.score_samples(x)
        }

        /// The average log-likelihood of the rows (scikit-learn's `score`).
        pub fn score(&self, x: &Samples) -> Result<f64, LgmError> {
            self.model.score(x)
        }

        /// `A Aᵀ + D`, `d × d` row-major (scikit-learn's `get_covariance`).
        pub fn get_covariance(&self) -> Result<Vec<f64>, LgmError> {
            self.model.marginal_covariance()
        }

        /// `(A Aᵀ + D)⁻¹` by the Woodbury identity (scikit-learn's `get_precision`).
        pub fn get_precision(&self) -> Result<Vec<f64>, LgmError> {
            self.model.marginal_precision()
        }

        /// The loadings as scikit-learn's `components_`: `k × d`, row-major (row `j` is
        /// factor `j`'s loading on every feature).
        pub fn components(&self) -> Vec<f64> {
            let (d, k) = (self.n_features(), self.n_components());
            let a = self.model.loadings();
            (0..k * d).map(|i| a[(i % d) * k + i / d]).collect()
        }

        /// The loadings `A`, `d × k` row-major (the transpose of [`Self::components`]).
        pub fn loadings(&self) -> &[f64] {
            self.model.loadings()
        }

        /// The mean of the data model, `μ` (scikit-learn's `mean_`).
        pub fn mean(&self) -> &[f64] {
            self.model.mean()
        }

        /// `k`, the number of factors.
        pub fn n_components(&self) -> usize {
            self.model.latent_dim()
        }

        /// `d`, the number of features.
        pub fn n_features(&self) -> usize {
            self.model.observable_dim()
        }

        /// The covariance of `p(z | x)`, `(I + Aᵀ D⁻¹ A)⁻¹`, `k × k` row-major.
        pub fn posterior_covariance(&self) -> Result<Vec<f64>, LgmError> {
            self.model.posterior_covariance()
        }

        /// `n` independent draws of `x` (ancestral sampling, ChaCha8 seeded with `seed`).
        pub fn sample(&self, n: usize, seed: u64) -> Result<Samples, LgmError> {
            self.model.sample(n, seed)
        }

        /// The general model underneath (standard prior).
        pub fn model(&self) -> &LinearGaussianModel {
            &self.model
        }

        /// The general model underneath, by value.
        pub fn into_model(self) -> LinearGaussianModel {
            self.model
        }
    };
}

/// Factor analysis: `z ~ N(0, I_k)`, `x | z ~ N(μ + A z, diag(ψ))`, with scikit-learn's
/// `FactorAnalysis` interface (`fit`, `transform`, `score_samples`, `score`,
/// `get_covariance`, `get_precision`, `components`, `noise_variance`, `mean`).
///
/// ```
/// use blockgibbs_models::lgm::{FactorAnalysis, FitOptions};
/// use blockgibbs_models::samples::Samples;
/// // Two features driven by one factor, a third independent of it.
/// let truth = FactorAnalysis::new(vec![1.0, 2.0, 3.0], vec![1.0, 1.0, 0.0], 1,
///     vec![0.1, 0.1, 1.0]).unwrap();
/// let x = truth.sample(5000, 1).unwrap();
/// let (fa, report) = FactorAnalysis::fit(&x, 1, &FitOptions::default()).unwrap();
/// assert!(report.converged);
/// let loadings = fa.components();
/// assert!((loadings[0] - 1.0).abs() < 0.1 && loadings[2].abs() < 0.1, "{loadings:?}");
/// let z = fa.transform(&x).unwrap(); // 5000 posterior means
/// assert_eq!(z.len(), 5000);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FactorAnalysis {
    model: LinearGaussianModel,
}

impl FactorAnalysis {
    const NOISE: NoiseType = NoiseType::Diagonal;

    /// From scikit-learn's attributes: `mean` (`d`), `components` (`n_components × d`,
    /// row-major) and `noise_variance` (`d`, positive). Errors name the field at fault.
    pub fn new(
        mean: Vec<f64>,
        components: Vec<f64>,
        n_components: usize,
        noise_variance: Vec<f64>,
    ) -> Result<FactorAnalysis, LgmError> {
        let loadings = components_to_loadings(&components, n_components, mean.len())?;
        super::model::check_finite("components", &components)?;
        let model =
            LinearGaussianModel::new(Self::NOISE, mean, loadings, n_components, noise_variance)?;
        Ok(FactorAnalysis { model })
    }

    /// Any linear Gaussian model as factor analysis: whitened (same `p(x)`), and isotropic
    /// noise read as diagonal.
    pub fn from_model(model: &LinearGaussianModel) -> Result<FactorAnalysis, LgmError> {
        let white = model.whiten()?;
        let model = LinearGaussianModel::new(
            Self::NOISE,
            white.mean().to_vec(),
            white.loadings().to_vec(),
            white.latent_dim(),
            white.noise_variance().to_vec(),
        )?;
        Ok(FactorAnalysis { model })
    }

    /// The noise variances `ψ`, one per feature (scikit-learn's `noise_variance_`).
    pub fn noise_variance(&self) -> &[f64] {
        self.model.noise_variance()
    }

    front_end_methods!();
}

/// Probabilistic PCA (Tipping & Bishop, 1999): `z ~ N(0, I_k)`, `x | z ~ N(μ + A z, σ² I)`.
/// Fitted by EM ([`Ppca::fit`]) or in closed form ([`Ppca::closed_form`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Ppca {
    model: LinearGaussianModel,
}

impl Ppca {
    const NOISE: NoiseType = NoiseType::Isotropic;

    /// From `mean` (`d`), `components` (`n_components × d`, row-major, as scikit-learn's
    /// `PCA.components_` scaled by `√(explained_variance_ − σ²)`) and one positive
    /// `noise_variance` `σ²`.
    pub fn new(
        mean: Vec<f64>,
        components: Vec<f64>,
        n_components: usize,
        noise_variance: f64,
    ) -> Result<Ppca, LgmError> {
        let loadings = components_to_loadings(&components, n_components, mean.len())?;
        super::model::check_finite("components", &components)?;
        let model = LinearGaussianModel::new(
            Self::NOISE,
            mean,
            loadings,
            n_components,
            vec![noise_variance],
        )?;
        Ok(Ppca { model })
    }

    /// A linear Gaussian model with isotropic noise as PPCA (whitened, same `p(x)`); diagonal
    /// noise is accepted only if all its variances are equal.
    pub fn from_model(model: &LinearGaussianModel) -> Result<Ppca, LgmError> {
        let white = model.whiten()?;
        let model = LinearGaussianModel::new(
            Self::NOISE,
            white.mean().to_vec(),
            white.loadings().to_vec(),
            white.latent_dim(),
            white.noise_variance().to_vec(),
        )?;
        Ok(Ppca { model })
    }

    /// The closed-form maximum-likelihood fit (see
    /// [`LinearGaussianModel::ppca_closed_form`]), `σ²` floored at
    /// [`super::DEFAULT_MIN_NOISE_VARIANCE`].
    pub fn closed_form(x: &Samples, n_components: usize) -> Result<Ppca, LgmError> {
        let model = LinearGaussianModel::ppca_closed_form(
            x,
            n_components,
            super::DEFAULT_MIN_NOISE_VARIANCE,
        )?;
        Ok(Ppca {
            model: model.canonical()?,
        })
    }

    /// The noise variance `σ²`.
    pub fn noise_variance(&self) -> f64 {
        self.model.noise_variance()[0]
    }

    front_end_methods!();
}
