//! Dense `f64` linear algebra for the analytic parts of the models — Cholesky factors,
//! triangular solves, log-determinants, inverses and symmetric eigen-decompositions — as a
//! thin layer over [faer](https://docs.rs/faer). Nothing here is hand-written numerics: every
//! factorisation is faer's; this module only checks inputs, names what failed, and converts
//! between faer matrices and the row-major slices of the public model APIs.
//!
//! faer is built without its rayon feature: the models parallelise over mixture components
//! and samples themselves, and nested parallelism inside small factorisations only costs.

use faer::linalg::solvers::{DenseSolveCore, SolveCore};
use faer::{Accum, Conj, Par, Side};
use thiserror::Error;

pub use faer::{Mat, MatMut, MatRef};

/// A failed factorisation or a malformed matrix; `what` names the matrix (e.g.
/// "covariance of component 3").
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LinalgError {
    /// Cholesky factorisation met a non-positive pivot.
    #[error("{what} is not positive definite (pivot {pivot} is not positive)")]
    NotPositiveDefinite {
        /// The matrix at fault.
        what: String,
        /// Index of the first non-positive pivot.
        pivot: usize,
    },
    /// A NaN or infinite entry.
    #[error("{what} has a non-finite entry {value} at ({row}, {col})")]
    NonFinite {
        /// The matrix at fault.
        what: String,
        /// Row of the entry.
        row: usize,
        /// Column of the entry.
        col: usize,
        /// The entry.
        value: f64,
    },
    /// A matrix of the wrong shape.
    #[error("{what} is {rows}×{cols}, expected {expected_rows}×{expected_cols}")]
    Shape {
        /// The matrix at fault.
        what: String,
        /// Rows given.
        rows: usize,
        /// Columns given.
        cols: usize,
        /// Rows required.
        expected_rows: usize,
        /// Columns required.
        expected_cols: usize,
    },
    /// The symmetric eigen-solver did not converge.
    #[error("the eigen-decomposition of {what} did not converge")]
    NoConvergence {
        /// The matrix at fault.
        what: String,
    },
}

/// A `rows × cols` matrix from row-major `data`; errors if the length is wrong.
pub fn from_rows(
    rows: usize,
    cols: usize,
    data: &[f64],
    what: &str,
) -> Result<Mat<f64>, LinalgError> {
    if data.len() != rows * cols {
        return Err(LinalgError::Shape {
            what: what.to_string(),
            rows: data.len() / cols.max(1),
            cols,
            expected_rows: rows,
            expected_cols: cols,
        });
    }
    Ok(Mat::from_fn(rows, cols, |i, j| data[i * cols + j]))
}

/// The entries of `m` in row-major order.
pub fn to_rows(m: MatRef<'_, f64>) -> Vec<f64> {
    let mut out = Vec::with_capacity(m.nrows() * m.ncols());
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            out.push(m[(i, j)]);
        }
    }
    out
}

/// Errors unless every entry of `m` is finite.
pub fn check_finite(m: MatRef<'_, f64>, what: &str) -> Result<(), LinalgError> {
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            let value = m[(i, j)];
            if !value.is_finite() {
                return Err(LinalgError::NonFinite {
                    what: what.to_string(),
                    row: i,
                    col: j,
                    value,
                });
            }
        }
    }
    Ok(())
}

fn check_square(m: MatRef<'_, f64>, what: &str) -> Result<(), LinalgError> {
    if m.nrows() != m.ncols() {
        return Err(LinalgError::Shape {
            what: what.to_string(),
            rows: m.nrows(),
            cols: m.ncols(),
            expected_rows: m.nrows().max(m.ncols()),
            expected_cols: m.nrows().max(m.ncols()),
        });
    }
    Ok(())
}

/// The Cholesky factorisation `A = L Lᵀ` of a symmetric positive-definite matrix (only the
/// lower triangle of `A` is read).
#[derive(Clone, Debug)]
pub struct Cholesky {
    factor: faer::linalg::solvers::Llt<f64>,
}

impl Cholesky {
    /// Factorises `a`; errors name `what` if `a` is not square, not finite or not positive
    /// definite.
    pub fn new(a: MatRef<'_, f64>, what: &str) -> Result<Cholesky, LinalgError> {
        check_square(a, what)?;
        check_finite(a, what)?;
        let factor = a.llt(Side::Lower).map_err(|e| match e {
            faer::linalg::cholesky::llt::factor::LltError::NonPositivePivot { index } => {
                LinalgError::NotPositiveDefinite {
                    what: what.to_string(),
                    pivot: index,
                }
            }
        })?;
        // faer's blocked factorisation runs its gemm kernels (see `clear_upper_vector_state`).
        clear_upper_vector_state();
        Ok(Cholesky { factor })
    }

    /// The dimension of `A`.
    pub fn dim(&self) -> usize {
        self.factor.L().nrows()
    }

    /// The lower-triangular factor `L`.
    pub fn lower(&self) -> MatRef<'_, f64> {
        self.factor.L()
    }

    /// `log det A = 2 Σ log L_ii`.
    pub fn log_det(&self) -> f64 {
        let l = self.factor.L();
        2.0 * (0..l.nrows()).map(|i| l[(i, i)].ln()).sum::<f64>()
    }

    /// `A⁻¹ B`.
    pub fn solve(&self, b: MatRef<'_, f64>) -> Mat<f64> {
        let mut x = b.to_owned();
        self.factor.solve_in_place_with_conj(Conj::No, x.as_mut());
        x
    }

    /// `A⁻¹ b` for a vector.
    pub fn solve_vec(&self, b: &[f64]) -> Vec<f64> {
        let mut x = Mat::from_fn(b.len(), 1, |i, _| b[i]);
        self.factor.solve_in_place_with_conj(Conj::No, x.as_mut());
        (0..b.len()).map(|i| x[(i, 0)]).collect()
    }

    /// `L⁻¹ B` in place (whitening: if `B`'s columns have covariance `A`, `L⁻¹ B`'s have
    /// the identity).
    pub fn solve_lower_in_place(&self, b: MatMut<'_, f64>) {
        faer::linalg::triangular_solve::solve_lower_triangular_in_place(
            self.factor.L(),
            b,
            Par::Seq,
        );
    }

    /// `L⁻ᵀ B` in place.
    pub fn solve_upper_in_place(&self, b: MatMut<'_, f64>) {
        faer::linalg::triangular_solve::solve_upper_triangular_in_place(
            self.factor.L().transpose(),
            b,
            Par::Seq,
        );
    }

    /// `L⁻¹`, lower triangular (faer's triangular inversion: about a third of the work of
    /// solving against the identity).
    pub fn inverse_lower(&self) -> Mat<f64> {
        let d = self.dim();
        let mut out = Mat::<f64>::zeros(d, d);
        faer::linalg::triangular_inverse::invert_lower_triangular(
            out.as_mut(),
            self.factor.L(),
            Par::Seq,
        );
        clear_upper_vector_state();
        out
    }

    /// `A⁻¹`.
    pub fn inverse(&self) -> Mat<f64> {
        self.factor.inverse()
    }

    /// `A = L Lᵀ`, rebuilt from the factor.
    pub fn reconstruct(&self) -> Mat<f64> {
        self.factor.reconstruct()
    }
}

/// `dst ← α · lhs · rhs` (`Accum::Replace`) or `dst ← dst + α · lhs · rhs` (`Accum::Add`)
/// through faer's gemm on the calling thread, for any strides (row-major views included).
/// Shapes must agree (faer panics otherwise, a programming error, not a data error).
pub fn matmul(
    dst: MatMut<'_, f64>,
    accum: Accum,
    lhs: MatRef<'_, f64>,
    rhs: MatRef<'_, f64>,
    alpha: f64,
) {
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, alpha, Par::Seq);
    clear_upper_vector_state();
}

/// `lhs · rhs` as a new matrix, through [`matmul`] (so the vector state is clean after it).
pub fn product(lhs: MatRef<'_, f64>, rhs: MatRef<'_, f64>) -> Mat<f64> {
    let mut out = Mat::zeros(lhs.nrows(), rhs.ncols());
    matmul(out.as_mut(), Accum::Replace, lhs, rhs, 1.0);
    out
}

/// [`matmul`] that computes only the lower triangle (diagonal included) of a square `dst`,
/// about half the work when the product is known to be symmetric (e.g. `Dᵀ D`); the strict
/// upper triangle of `dst` is left as it was.
pub fn matmul_lower(
    dst: MatMut<'_, f64>,
    accum: Accum,
    lhs: MatRef<'_, f64>,
    rhs: MatRef<'_, f64>,
    alpha: f64,
) {
    use faer::linalg::matmul::triangular::{self, BlockStructure};
    triangular::matmul(
        dst,
        BlockStructure::TriangularLower,
        accum,
        lhs,
        BlockStructure::Rectangular,
        rhs,
        BlockStructure::Rectangular,
        alpha,
        Par::Seq,
    );
    clear_upper_vector_state();
}

/// Clears the upper halves of the AVX registers (`vzeroupper`) after faer's gemm: its x86
/// assembly kernels (crate `private-gemm-x86`) return with them dirty, and until something
/// clears them every non-VEX SSE instruction of the ordinary (baseline x86-64) code that
/// follows pays a penalty — measured here (AMD EPYC, KVM) as a tenfold slowdown of the
/// `exp`/`ln` loop after an E-step's matrix products. A no-op elsewhere.
pub fn clear_upper_vector_state() {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU supports AVX (checked just above), the only requirement of
        // `zero_upper`; vzeroupper touches no memory and Rust keeps no value in the upper
        // halves of the vector registers across a call.
        unsafe { zero_upper() }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn zero_upper() {
    std::arch::x86_64::_mm256_zeroupper();
}

/// `A⁻¹` of a symmetric positive-definite matrix.
pub fn spd_inverse(a: MatRef<'_, f64>, what: &str) -> Result<Mat<f64>, LinalgError> {
    Ok(Cholesky::new(a, what)?.inverse())
}

/// A symmetric eigen-decomposition `A = U diag(values) Uᵀ`, eigenvalues ascending.
#[derive(Clone, Debug)]
pub struct SymmetricEigen {
    /// Eigenvalues, ascending.
    pub values: Vec<f64>,
    /// Orthonormal eigenvectors, one per column, in the order of `values`.
    pub vectors: Mat<f64>,
}

/// The eigen-decomposition of symmetric `a` (only the lower triangle is read).
pub fn symmetric_eigen(a: MatRef<'_, f64>, what: &str) -> Result<SymmetricEigen, LinalgError> {
    check_square(a, what)?;
    check_finite(a, what)?;
    let evd = a
        .self_adjoint_eigen(Side::Lower)
        .map_err(|_| LinalgError::NoConvergence {
            what: what.to_string(),
        })?;
    let s = evd.S();
    Ok(SymmetricEigen {
        values: (0..s.dim()).map(|i| s[i]).collect(),
        vectors: evd.U().to_owned(),
    })
}

/// `(A + Aᵀ) / 2`: removes the rounding asymmetry that products like `L Lᵀ` or `A Σ Aᵀ`
/// leave, before a matrix is stored as a covariance.
pub fn symmetrize(a: MatRef<'_, f64>) -> Mat<f64> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| 0.5 * (a[(i, j)] + a[(j, i)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spd() -> Mat<f64> {
        from_rows(3, 3, &[4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0], "a").unwrap()
    }

    #[test]
    fn cholesky_solves_and_log_det() {
        let a = spd();
        let c = Cholesky::new(a.as_ref(), "a").unwrap();
        // det by cofactor expansion
        let det = 4.0 * (3.0 * 2.0 - 0.2 * 0.2) - 1.0 * (1.0 * 2.0 - 0.2 * 0.5)
            + 0.5 * (1.0 * 0.2 - 3.0 * 0.5);
        assert!((c.log_det() - f64::ln(det)).abs() < 1e-12);
        let x = c.solve_vec(&[1.0, 2.0, 3.0]);
        for i in 0..3 {
            let ax: f64 = (0..3).map(|j| a[(i, j)] * x[j]).sum();
            assert!((ax - [1.0, 2.0, 3.0][i]).abs() < 1e-12);
        }
        let inv = c.inverse();
        let prod = &a * &inv;
        for i in 0..3 {
            for j in 0..3 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((prod[(i, j)] - want).abs() < 1e-12);
            }
        }
        let mut w = a.clone();
        c.solve_lower_in_place(w.as_mut());
        c.solve_upper_in_place(w.as_mut());
        for i in 0..3 {
            for j in 0..3 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((w[(i, j)] - want).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn errors_name_the_matrix() {
        let bad = from_rows(2, 2, &[1.0, 2.0, 2.0, 1.0], "m").unwrap();
        match Cholesky::new(bad.as_ref(), "covariance 3") {
            Err(LinalgError::NotPositiveDefinite { what, pivot }) => {
                assert_eq!(what, "covariance 3");
                assert_eq!(pivot, 1);
            }
            other => panic!("{other:?}"),
        }
        let nan = from_rows(2, 2, &[1.0, f64::NAN, 0.0, 1.0], "m").unwrap();
        assert!(matches!(
            Cholesky::new(nan.as_ref(), "x"),
            Err(LinalgError::NonFinite { row: 0, col: 1, .. })
        ));
        assert!(matches!(
            from_rows(2, 2, &[1.0], "short"),
            Err(LinalgError::Shape { .. })
        ));
        let rect = Mat::<f64>::zeros(2, 3);
        assert!(matches!(
            Cholesky::new(rect.as_ref(), "r"),
            Err(LinalgError::Shape { .. })
        ));
    }

    #[test]
    fn products_and_triangular_inverse_match_the_definitions() {
        let a = from_rows(2, 3, &[1.0, 2.0, 3.0, -1.0, 0.5, 4.0], "a").unwrap();
        let b = from_rows(3, 2, &[2.0, 0.0, 1.0, -1.0, 0.5, 3.0], "b").unwrap();
        let mut c = Mat::<f64>::zeros(2, 2);
        matmul(c.as_mut(), Accum::Replace, a.as_ref(), b.as_ref(), 2.0);
        matmul(c.as_mut(), Accum::Add, a.as_ref(), b.as_ref(), 1.0);
        for i in 0..2 {
            for j in 0..2 {
                let want: f64 = (0..3).map(|l| 3.0 * a[(i, l)] * b[(l, j)]).sum();
                assert!((c[(i, j)] - want).abs() < 1e-12);
            }
        }
        // Lower triangle of AᵀA only; the strict upper triangle keeps its old value.
        let mut g = Mat::<f64>::from_fn(3, 3, |_, _| 7.0);
        matmul_lower(g.as_mut(), Accum::Replace, a.transpose(), a.as_ref(), 1.0);
        for i in 0..3 {
            for j in 0..3 {
                let want: f64 = (0..2).map(|l| a[(l, i)] * a[(l, j)]).sum();
                assert_eq!(g[(i, j)], if j <= i { want } else { 7.0 });
            }
        }
        let chol = Cholesky::new(spd().as_ref(), "a").unwrap();
        let inv = chol.inverse_lower();
        let prod = &inv * chol.lower();
        for i in 0..3 {
            for j in 0..3 {
                assert!((prod[(i, j)] - if i == j { 1.0 } else { 0.0 }).abs() < 1e-14);
                if j > i {
                    assert_eq!(inv[(i, j)], 0.0);
                }
            }
        }
        clear_upper_vector_state();
    }

    #[test]
    fn eigen_reconstructs() {
        let a = spd();
        let e = symmetric_eigen(a.as_ref(), "a").unwrap();
        assert!(e.values.windows(2).all(|w| w[0] <= w[1]));
        for i in 0..3 {
            for j in 0..3 {
                let r: f64 = (0..3)
                    .map(|k| e.vectors[(i, k)] * e.values[k] * e.vectors[(j, k)])
                    .sum();
                assert!((r - a[(i, j)]).abs() < 1e-12);
            }
        }
    }
}
