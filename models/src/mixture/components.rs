//! Per-component covariance algebra shared by the constructors and the M-step: the
//! precision Cholesky factor that scikit-learn caches (`precisions_cholesky_`) and its
//! log-determinant, for each covariance type.
//!
//! For a full covariance `Σ = L Lᵀ` the cached factor is `U = L⁻ᵀ`, upper triangular, so
//! that the precision is `Λ = Σ⁻¹ = U Uᵀ` and `‖(x − μ)ᵀ U‖² = (x − μ)ᵀ Λ (x − μ)`; for
//! diagonal and spherical covariances it is `1/√σ²`. `log_det` is `Σ log diag(U) = ½ log det Λ`.
//! A full covariance whose Cholesky pivot is below `d ε max_i Σ_ii` counts as singular (its
//! precision would be rounding noise). Failures come back as a reason string; the callers turn it into the error that fits
//! their context (a constructor's argument or an EM iteration).

use crate::expfam::CovarianceType;
use crate::linalg::{self, Cholesky, LinalgError, MatRef};

/// The precision Cholesky factors of every component and their log-determinants.
pub(crate) struct PrecisionFactors {
    /// Per-type layout: full `[K, d, d]` (upper-triangular `U_k`, row-major), diagonal
    /// `[K, d]`, spherical `[K]`, fixed empty.
    pub(crate) factors: Vec<f64>,
    /// `Σ_j log U_k[j, j]` per component (0 for the fixed identity covariance).
    pub(crate) log_det: Vec<f64>,
}

/// Length of the per-type covariance (or precision) array of `k` components in `d`
/// dimensions.
pub(crate) fn cov_len(ty: CovarianceType, k: usize, d: usize) -> usize {
    match ty {
        CovarianceType::Full => k * d * d,
        CovarianceType::Diagonal => k * d,
        CovarianceType::Isotropic => k,
        CovarianceType::Fixed => 0,
    }
}

/// The shape of the per-type covariance array, as scikit-learn documents it.
pub(crate) fn cov_shape(ty: CovarianceType, k: usize, d: usize) -> Vec<usize> {
    match ty {
        CovarianceType::Full => vec![k, d, d],
        CovarianceType::Diagonal => vec![k, d],
        CovarianceType::Isotropic => vec![k],
        CovarianceType::Fixed => vec![0],
    }
}

fn linalg_reason(e: LinalgError) -> String {
    match e {
        LinalgError::NotPositiveDefinite { pivot, .. } => {
            format!("Cholesky pivot {pivot} is not positive")
        }
        other => other.to_string(),
    }
}

/// `U = L⁻ᵀ` (row-major) and `Σ log U_jj` of one full covariance (only its lower triangle
/// is read).
pub(crate) fn full_factor(cov: MatRef<'_, f64>) -> Result<(Vec<f64>, f64), String> {
    let d = cov.nrows();
    let chol = Cholesky::new(cov, "covariance").map_err(linalg_reason)?;
    // A pivot below the rounding error of the variances means singular to working
    // precision: its inverse would be noise (numpy's Cholesky, and so scikit-learn, accepts
    // any positive pivot).
    let scale = (0..d).map(|i| cov[(i, i)]).fold(0.0, f64::max);
    let l = chol.lower();
    if let Some(j) = (0..d).find(|&j| l[(j, j)] * l[(j, j)] <= d as f64 * f64::EPSILON * scale) {
        return Err(format!(
            "Cholesky pivot {j} is {:e}, zero to working precision",
            l[(j, j)] * l[(j, j)]
        ));
    }
    let inv_l = chol.inverse_lower();
    let mut u = vec![0.0; d * d];
    let mut log_det = 0.0;
    for i in 0..d {
        for j in i..d {
            u[i * d + j] = inv_l[(j, i)];
        }
        log_det += u[i * d + i].ln();
    }
    Ok((u, log_det))
}

/// `1/√v` of each positive variance; the reason names the first entry that is not.
fn inverse_sqrt(variances: &[f64]) -> Result<Vec<f64>, String> {
    variances
        .iter()
        .enumerate()
        .map(|(j, &v)| {
            if v > 0.0 && v.is_finite() {
                Ok(1.0 / v.sqrt())
            } else {
                Err(format!("variance {j} is {v}"))
            }
        })
        .collect()
}

/// The factor of component `k` of a per-type covariance array; errors carry the reason.
pub(crate) fn component_factor(
    ty: CovarianceType,
    d: usize,
    covariances: &[f64],
    k: usize,
) -> Result<(Vec<f64>, f64), String> {
    match ty {
        CovarianceType::Full => {
            let cov = MatRef::from_row_major_slice(&covariances[k * d * d..(k + 1) * d * d], d, d);
            full_factor(cov)
        }
        CovarianceType::Diagonal => {
            let u = inverse_sqrt(&covariances[k * d..(k + 1) * d])?;
            let log_det = u.iter().map(|x| x.ln()).sum();
            Ok((u, log_det))
        }
        CovarianceType::Isotropic => {
            let u = inverse_sqrt(&covariances[k..k + 1])?;
            Ok((u.clone(), d as f64 * u[0].ln()))
        }
        CovarianceType::Fixed => Ok((Vec::new(), 0.0)),
    }
}

/// The precision factors of all `n_components` components; the error is the first failing
/// component and why.
pub(crate) fn precision_factors(
    ty: CovarianceType,
    n_components: usize,
    d: usize,
    covariances: &[f64],
) -> Result<PrecisionFactors, (usize, String)> {
    let mut factors = Vec::with_capacity(cov_len(ty, n_components, d));
    let mut log_det = Vec::with_capacity(n_components);
    for k in 0..n_components {
        let (u, ld) = component_factor(ty, d, covariances, k).map_err(|r| (k, r))?;
        factors.extend_from_slice(&u);
        log_det.push(ld);
    }
    Ok(PrecisionFactors { factors, log_det })
}

/// Covariances (per-type layout) from precisions (per-type layout). Full precisions are
/// inverted through their Cholesky factor and symmetrised; the error names the component.
pub(crate) fn covariances_from_precisions(
    ty: CovarianceType,
    n_components: usize,
    d: usize,
    precisions: &[f64],
) -> Result<Vec<f64>, (usize, String)> {
    match ty {
        CovarianceType::Full => {
            let mut out = Vec::with_capacity(n_components * d * d);
            for k in 0..n_components {
                let p = MatRef::from_row_major_slice(&precisions[k * d * d..(k + 1) * d * d], d, d);
                check_symmetric(p).map_err(|r| (k, r))?;
                let inv = linalg::spd_inverse(p, "precision").map_err(|e| (k, linalg_reason(e)))?;
                out.extend(linalg::to_rows(linalg::symmetrize(inv.as_ref()).as_ref()));
            }
            Ok(out)
        }
        CovarianceType::Diagonal | CovarianceType::Isotropic => {
            let per = if ty == CovarianceType::Diagonal { d } else { 1 };
            precisions
                .iter()
                .enumerate()
                .map(|(i, &p)| {
                    if p > 0.0 {
                        Ok(1.0 / p)
                    } else {
                        Err((i / per, format!("precision entry {} is {p}", i % per)))
                    }
                })
                .collect()
        }
        CovarianceType::Fixed => Ok(Vec::new()),
    }
}

/// Errors unless `a` is symmetric to numpy's `isclose` (rtol 1e-5, atol 1e-8), the test
/// scikit-learn applies to given precisions.
pub(crate) fn check_symmetric(a: MatRef<'_, f64>) -> Result<(), String> {
    for i in 0..a.nrows() {
        for j in 0..i {
            let (x, y) = (a[(i, j)], a[(j, i)]);
            if (x - y).abs() > 1e-8 + 1e-5 * y.abs() {
                return Err(format!(
                    "not symmetric: ({i}, {j}) is {x}, ({j}, {i}) is {y}"
                ));
            }
        }
    }
    Ok(())
}
