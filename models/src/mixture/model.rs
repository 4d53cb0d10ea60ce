//! [`GaussianMixture`]: the parameters of a fitted or given mixture, its validating
//! constructors and its accessors.

use super::MixtureError;
use super::components::{self, cov_len, cov_shape};
use crate::expfam::CovarianceType;

/// A mixture of `K` Gaussians in `d` dimensions, `p(x) = Σ_k w_k N(x; μ_k, Σ_k)`, with the
/// covariances parameterised by a [`CovarianceType`] — scikit-learn's `GaussianMixture`
/// (`weights_`, `means_`, `covariances_`, `precisions_cholesky_`, `precisions_`).
///
/// The canonical parameters are the weights, the means and the covariances; the precision
/// Cholesky factors (and their log-determinants) are a cache derived from the covariances
/// by one deterministic computation, so two mixtures with equal parameters are equal
/// (`==`) bit for bit, and a saved mixture loads back identical.
///
/// Covariance layouts (row-major), as in scikit-learn:
///
/// | type                        | `covariances()` | `precisions_cholesky()`                    |
/// |-----------------------------|-----------------|--------------------------------------------|
/// | `Full` (`full`)             | `[K, d, d]`     | `[K, d, d]`, upper-triangular `U_k = L_k⁻ᵀ` with `Σ_k = L_k L_kᵀ`, so `Λ_k = U_k U_kᵀ` |
/// | `Diagonal` (`diag`)         | `[K, d]`        | `[K, d]`, `1/σ_kj`                          |
/// | `Isotropic` (`spherical`)   | `[K]`           | `[K]`, `1/σ_k`                              |
/// | `Fixed` (identity)          | `[]`            | `[]`                                        |
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianMixture {
    pub(crate) covariance_type: CovarianceType,
    pub(crate) n_features: usize,
    pub(crate) weights: Vec<f64>,
    pub(crate) means: Vec<f64>,
    pub(crate) covariances: Vec<f64>,
    pub(crate) precisions_cholesky: Vec<f64>,
    pub(crate) log_det_cholesky: Vec<f64>,
}

fn check_finite(field: &'static str, values: &[f64]) -> Result<(), MixtureError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(MixtureError::NonFinite {
            field,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// Checks that `weights` is a probability vector: entries in `[0, 1]` summing to 1 within
/// scikit-learn's tolerance (`1e-8`).
pub(crate) fn check_weights(field: &'static str, weights: &[f64]) -> Result<(), MixtureError> {
    check_finite(field, weights)?;
    if let Some(k) = weights.iter().position(|&w| !(0.0..=1.0).contains(&w)) {
        return Err(MixtureError::NotProbability {
            field,
            reason: format!("entry {k} is {}, outside [0, 1]", weights[k]),
        });
    }
    let sum: f64 = weights.iter().sum();
    if (sum - 1.0).abs() > 1e-8 {
        return Err(MixtureError::NotProbability {
            field,
            reason: format!("the entries sum to {sum}, not 1"),
        });
    }
    Ok(())
}

/// Checks the shapes of weights `[K]` and means `[K, d]` and returns `(K, d)`.
fn check_weights_and_means(weights: &[f64], means: &[f64]) -> Result<(usize, usize), MixtureError> {
    let k = weights.len();
    if k == 0 {
        return Err(MixtureError::Shape {
            field: "weights",
            expected: vec![1],
            found: vec![0],
        });
    }
    if means.is_empty() || !means.len().is_multiple_of(k) {
        return Err(MixtureError::Shape {
            field: "means",
            expected: vec![k, (means.len() / k).max(1)],
            found: vec![means.len()],
        });
    }
    check_weights("weights", weights)?;
    check_finite("means", means)?;
    Ok((k, means.len() / k))
}

/// Checks a per-type covariance or precision array's length and finiteness.
pub(crate) fn check_cov_array(
    field: &'static str,
    ty: CovarianceType,
    k: usize,
    d: usize,
    values: &[f64],
) -> Result<(), MixtureError> {
    if values.len() != cov_len(ty, k, d) {
        return Err(MixtureError::Shape {
            field,
            expected: cov_shape(ty, k, d),
            found: vec![values.len()],
        });
    }
    check_finite(field, values)
}

impl GaussianMixture {
    /// A mixture from its weights `[K]`, means `[K, d]` (row-major) and covariances in the
    /// per-type layout of the table above (empty for `Fixed`). `K` is the length of
    /// `weights`, `d` that of a mean.
    ///
    /// Errors: wrong shapes ([`MixtureError::Shape`]), NaN or infinities
    /// ([`MixtureError::NonFinite`]), weights that are not a probability vector
    /// ([`MixtureError::NotProbability`]), a covariance that is not symmetric positive
    /// definite ([`MixtureError::NotPositiveDefinite`], naming the component).
    ///
    /// ```
    /// use blockgibbs_models::expfam::CovarianceType;
    /// use blockgibbs_models::mixture::GaussianMixture;
    /// let gm = GaussianMixture::new(
    ///     CovarianceType::Diagonal,
    ///     vec![0.25, 0.75],
    ///     vec![0.0, 0.0, 5.0, 5.0],
    ///     vec![1.0, 2.0, 0.5, 0.5],
    /// )
    /// .unwrap();
    /// assert_eq!((gm.n_components(), gm.n_features()), (2, 2));
    /// assert!(GaussianMixture::new(
    ///     CovarianceType::Isotropic, vec![0.5, 0.5], vec![0.0, 1.0], vec![1.0, -1.0]
    /// ).is_err());
    /// ```
    pub fn new(
        covariance_type: CovarianceType,
        weights: Vec<f64>,
        means: Vec<f64>,
        covariances: Vec<f64>,
    ) -> Result<GaussianMixture, MixtureError> {
        let (k, d) = check_weights_and_means(&weights, &means)?;
        check_cov_array("covariances", covariance_type, k, d, &covariances)?;
        if covariance_type == CovarianceType::Full {
            for c in 0..k {
                let m = crate::linalg::MatRef::from_row_major_slice(
                    &covariances[c * d * d..(c + 1) * d * d],
                    d,
                    d,
                );
                components::check_symmetric(m).map_err(|reason| {
                    MixtureError::NotPositiveDefinite {
                        field: "covariances",
                        component: c,
                        reason,
                    }
                })?;
            }
        }
        Self::from_checked(covariance_type, d, weights, means, covariances).map_err(
            |(component, reason)| MixtureError::NotPositiveDefinite {
                field: "covariances",
                component,
                reason,
            },
        )
    }

    /// A mixture from weights, means and *precisions* (inverse covariances, per-type layout
    /// as `covariances` in [`GaussianMixture::new`]) — how scikit-learn's `precisions_init`
    /// is given. The covariances are the inverses of the precisions (through their Cholesky
    /// factors); errors as for [`GaussianMixture::new`], naming `precisions`.
    pub fn from_precisions(
        covariance_type: CovarianceType,
        weights: Vec<f64>,
        means: Vec<f64>,
        precisions: &[f64],
    ) -> Result<GaussianMixture, MixtureError> {
        let (k, d) = check_weights_and_means(&weights, &means)?;
        check_cov_array("precisions", covariance_type, k, d, precisions)?;
        let not_pd = |(component, reason)| MixtureError::NotPositiveDefinite {
            field: "precisions",
            component,
            reason,
        };
        let covariances =
            components::covariances_from_precisions(covariance_type, k, d, precisions)
                .map_err(not_pd)?;
        Self::from_checked(covariance_type, d, weights, means, covariances).map_err(not_pd)
    }

    /// Builds the cache from checked parameters; the error is the first component whose
    /// covariance has no Cholesky factor.
    pub(crate) fn from_checked(
        covariance_type: CovarianceType,
        n_features: usize,
        weights: Vec<f64>,
        means: Vec<f64>,
        covariances: Vec<f64>,
    ) -> Result<GaussianMixture, (usize, String)> {
        let factors = components::precision_factors(
            covariance_type,
            weights.len(),
            n_features,
            &covariances,
        )?;
        Ok(GaussianMixture {
            covariance_type,
            n_features,
            weights,
            means,
            covariances,
            precisions_cholesky: factors.factors,
            log_det_cholesky: factors.log_det,
        })
    }

    /// How the covariances are parameterised.
    pub fn covariance_type(&self) -> CovarianceType {
        self.covariance_type
    }

    /// Number of components `K`.
    pub fn n_components(&self) -> usize {
        self.weights.len()
    }

    /// Dimension `d` of the data (scikit-learn's `n_features_in_`).
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The mixture weights `w_k` (scikit-learn's `weights_`), `[K]`.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The mixture weights (multiDGD's and goal-jax's name for [`GaussianMixture::weights`]).
    pub fn mixture_probs(&self) -> &[f64] {
        &self.weights
    }

    /// The component means (scikit-learn's `means_`), `[K, d]` row-major.
    pub fn means(&self) -> &[f64] {
        &self.means
    }

    /// The mean `μ_k` of component `k`.
    pub fn mean(&self, k: usize) -> &[f64] {
        &self.means[k * self.n_features..(k + 1) * self.n_features]
    }

    /// The covariances in the per-type layout (scikit-learn's `covariances_`; empty for
    /// `Fixed`). [`GaussianMixture::covariance`] gives full matrices for every type.
    pub fn covariances(&self) -> &[f64] {
        &self.covariances
    }

    /// The cached precision Cholesky factors in the per-type layout (scikit-learn's
    /// `precisions_cholesky_`; empty for `Fixed`).
    pub fn precisions_cholesky(&self) -> &[f64] {
        &self.precisions_cholesky
    }

    /// `½ log det Λ_k = Σ_j log U_k[j, j]` per component, `[K]`.
    pub fn log_det_precision_cholesky(&self) -> &[f64] {
        &self.log_det_cholesky
    }

    /// The precisions `Λ_k = Σ_k⁻¹` in the per-type layout (scikit-learn's `precisions_`:
    /// `U_k U_kᵀ` for full, `1/σ²` otherwise; empty for `Fixed`).
    pub fn precisions(&self) -> Vec<f64> {
        match self.covariance_type {
            CovarianceType::Full => (0..self.n_components())
                .flat_map(|k| self.component_precision(k))
                .collect(),
            _ => self.precisions_cholesky.iter().map(|u| u * u).collect(),
        }
    }

    /// The full `d × d` precision matrix `Λ_k` of component `k` (row-major), for every type
    /// (the identity for `Fixed`): with [`GaussianMixture::mean`], what the natural
    /// parameters `(Λ_k μ_k, −½ Λ_k)` of the component are made of.
    pub fn component_precision(&self, k: usize) -> Vec<f64> {
        let d = self.n_features;
        let mut out = vec![0.0; d * d];
        match self.covariance_type {
            CovarianceType::Full => {
                let u = &self.precisions_cholesky[k * d * d..(k + 1) * d * d];
                for i in 0..d {
                    for j in 0..d {
                        // U is upper triangular: (U Uᵀ)_ij = Σ_{l ≥ max(i, j)} U_il U_jl.
                        out[i * d + j] = (i.max(j)..d).map(|l| u[i * d + l] * u[j * d + l]).sum();
                    }
                }
            }
            CovarianceType::Diagonal => {
                for j in 0..d {
                    let u = self.precisions_cholesky[k * d + j];
                    out[j * d + j] = u * u;
                }
            }
            CovarianceType::Isotropic => {
                let u = self.precisions_cholesky[k];
                for j in 0..d {
                    out[j * d + j] = u * u;
                }
            }
            CovarianceType::Fixed => {
                for j in 0..d {
                    out[j * d + j] = 1.0;
                }
            }
        }
        out
    }

    /// The full `d × d` covariance matrix `Σ_k` of component `k` (row-major), for every type.
    pub fn component_covariance(&self, k: usize) -> Vec<f64> {
        let d = self.n_features;
        match self.covariance_type {
            CovarianceType::Full => self.covariances[k * d * d..(k + 1) * d * d].to_vec(),
            _ => {
                let mut out = vec![0.0; d * d];
                for j in 0..d {
                    out[j * d + j] = self.variance(k, j);
                }
                out
            }
        }
    }

    /// The variance of coordinate `j` in component `k`.
    fn variance(&self, k: usize, j: usize) -> f64 {
        let d = self.n_features;
        match self.covariance_type {
            CovarianceType::Full => self.covariances[k * d * d + j * d + j],
            CovarianceType::Diagonal => self.covariances[k * d + j],
            CovarianceType::Isotropic => self.covariances[k],
            CovarianceType::Fixed => 1.0,
        }
    }

    /// The covariances as full matrices whatever the type, `[K, d, d]` row-major
    /// (multiDGD's `covariance`).
    pub fn covariance(&self) -> Vec<f64> {
        (0..self.n_components())
            .flat_map(|k| self.component_covariance(k))
            .collect()
    }

    /// The standard deviation of every coordinate in every component, `√Σ_k[j, j]`,
    /// `[K, d]` row-major (multiDGD's `stddev`).
    pub fn stddev(&self) -> Vec<f64> {
        let (k, d) = (self.n_components(), self.n_features);
        (0..k * d)
            .map(|i| self.variance(i / d, i % d).sqrt())
            .collect()
    }

    /// Free parameters, as scikit-learn counts them for BIC/AIC: `K − 1` weights, `K·d`
    /// means, and `K` times [`CovarianceType::parameter_count`].
    pub fn n_parameters(&self) -> usize {
        let (k, d) = (self.n_components(), self.n_features);
        k - 1 + k * d + k * self.covariance_type.parameter_count(d)
    }
}
