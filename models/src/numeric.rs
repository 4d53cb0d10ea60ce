//! The scalar functions every model needs, stable at both ends, defined once: the logistic
//! [`sigmoid`], [`softplus`] (its integral, `ln(1 + eˣ)`) and [`log_sum_exp`].

/// `softplus(x) = ln(1 + eˣ)` without overflow for large `x` or loss of precision for very
/// negative `x`.
pub fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// The logistic function `1 / (1 + e⁻ˣ)`, stable for either sign of `x`.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `ln Σ eˣⁱ` of a slice, stable; `−∞` for an empty slice or when every term is `−∞` (rather
/// than the NaN of `−∞ − (−∞)`), NaN when every term is NaN.
pub fn log_sum_exp(xs: &[f64]) -> f64 {
    let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY || m.is_nan() {
        return m;
    }
    m + xs.iter().map(|&x| (x - m).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_at_both_ends() {
        assert_eq!(softplus(800.0), 800.0);
        assert!((softplus(-800.0) - 0.0).abs() < 1e-300);
        assert!((softplus(0.0) - 2f64.ln()).abs() < 1e-16);
        assert_eq!(sigmoid(800.0), 1.0);
        assert!(sigmoid(-800.0) > 0.0 || sigmoid(-800.0) == 0.0);
        assert!((sigmoid(-30.0) - (-30f64).exp() / (1.0 + (-30f64).exp())).abs() < 1e-25);
        assert_eq!(log_sum_exp(&[]), f64::NEG_INFINITY);
        assert_eq!(log_sum_exp(&[f64::NEG_INFINITY; 2]), f64::NEG_INFINITY);
        assert!((log_sum_exp(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-12);
    }
}
