//! Special functions of the priors: log-gamma (libm's), stable softplus/sigmoid/log-sum-exp,
//! and the complete Fermi–Dirac integral `−Li_d(−e^μ)` that normalises the softball prior.

/// `ln Γ(x)` for `x > 0`.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

pub(crate) use crate::numeric::{log_sum_exp, sigmoid, softplus};

/// Terms of the Cohen–Rodriguez Villegas–Zagier acceleration: the error is below
/// `2 a_0 / (3 + √8)^n`, about `a_0 · 10⁻²³` for `n = 30`.
const ALTERNATING_TERMS: usize = 30;

/// `Σ_{k≥0} (−1)^k a_k` for a totally monotone sequence `a_k` (the moments of a positive measure
/// on [0, 1]), by Cohen, Rodriguez Villegas and Zagier's Algorithm 1, which needs only
/// [`ALTERNATING_TERMS`] terms whatever the rate of decay of `a_k`.
pub(crate) fn alternating_sum(a: impl Fn(usize) -> f64) -> f64 {
    let n = ALTERNATING_TERMS;
    let nf = n as f64;
    let big = (3.0 + 8f64.sqrt()).powi(n as i32);
    let d = (big + 1.0 / big) / 2.0;
    let (mut b, mut c, mut s) = (-1.0, -d, 0.0);
    for k in 0..n {
        let kf = k as f64;
        c = b - c;
        s += c * a(k);
        b = (kf + nf) * (kf - nf) * b / ((kf + 0.5) * (kf + 1.0));
    }
    s / d
}

/// Dirichlet's eta function `η(p) = Σ_{j≥1} (−1)^{j+1} j^{−p}` for `p ≥ 1`.
pub(crate) fn dirichlet_eta(p: u32) -> f64 {
    let p = p as i32;
    alternating_sum(|k| ((k + 1) as f64).powi(-p))
}

/// `ln F_d(μ)` with `F_d(μ) = −Li_d(−e^μ) = (1/Γ(d)) ∫_0^∞ t^{d−1} / (1 + e^{t−μ}) dt`, the
/// complete Fermi–Dirac integral, for integer `d ≥ 1` and `μ > 0`.
///
/// The series of `Li_d` diverges at `−e^μ` (modulus above 1), so the inversion formula is used:
/// `F_d(μ) = Σ_{k=0}^{⌊d/2⌋} 2η(2k) μ^{d−2k}/(d−2k)! + (−1)^{d+1} F_d(−μ)` with `2η(0) = 1`, where
/// `F_d(−μ) = Σ_{j≥1} (−1)^{j+1} e^{−jμ}/j^d ∈ (0, η(d)]` converges (accelerated as an alternating
/// series). Every term of the polynomial is positive, so it is summed in log space (no
/// overflow for large `d` and `μ`), and `F_d(μ) ≥ F_d(0) = η(d) ≥ ln 2` keeps the correction
/// free of cancellation.
pub(crate) fn ln_fermi_dirac(d: usize, mu: f64) -> f64 {
    debug_assert!(d >= 1 && mu > 0.0);
    let ln_mu = mu.ln();
    let terms: Vec<f64> = (0..=d / 2)
        .map(|k| {
            let power = d - 2 * k;
            let coefficient = if k == 0 {
                1.0
            } else {
                2.0 * dirichlet_eta(2 * k as u32)
            };
            coefficient.ln() + power as f64 * ln_mu - ln_gamma(power as f64 + 1.0)
        })
        .collect();
    let ln_poly = log_sum_exp(&terms);
    let di = d as i32;
    let tail = alternating_sum(|k| {
        let j = (k + 1) as f64;
        (-mu * j).exp() * j.powi(-di)
    });
    let sign = if d % 2 == 1 { 1.0 } else { -1.0 };
    ln_poly + (sign * tail * (-ln_poly).exp()).ln_1p()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_values_are_the_closed_forms() {
        let pi2 = std::f64::consts::PI.powi(2);
        assert!((dirichlet_eta(1) - std::f64::consts::LN_2).abs() < 1e-15);
        assert!((dirichlet_eta(2) - pi2 / 12.0).abs() < 1e-15);
        assert!((dirichlet_eta(4) - 7.0 * pi2 * pi2 / 720.0).abs() < 1e-15);
    }

    #[test]
    fn fermi_dirac_low_orders_are_closed_forms() {
        let pi2 = std::f64::consts::PI.powi(2);
        for mu in [0.01, 0.5, 1.0, 5.0, 40.0, 700.0] {
            // F_1(μ) = ln(1 + e^μ); F_2(μ) = μ²/2 + π²/6 + Li_2(−e^{−μ}).
            let f1 = softplus(mu);
            assert!((ln_fermi_dirac(1, mu) - f1.ln()).abs() < 1e-14 * f1.ln().abs().max(1.0));
            let li2_tail = -alternating_sum(|k| {
                let j = (k + 1) as f64;
                (-mu * j).exp() / (j * j)
            });
            let f2 = mu * mu / 2.0 + pi2 / 6.0 + li2_tail;
            assert!((ln_fermi_dirac(2, mu) - f2.ln()).abs() < 1e-13);
        }
    }

    #[test]
    fn fermi_dirac_matches_quadrature() {
        // (1/Γ(d)) ∫_0^∞ t^{d−1} / (1 + e^{t−μ}) dt by the composite Simpson rule.
        for &(d, mu) in &[(3usize, 0.3), (5, 2.0), (8, 7.5), (20, 5.0), (13, 30.0)] {
            let upper = mu + 60.0 + 4.0 * d as f64;
            let n = 200_000;
            let h = upper / n as f64;
            let f = |t: f64| {
                if t == 0.0 {
                    return 0.0;
                }
                ((d as f64 - 1.0) * t.ln() - softplus(t - mu) - ln_gamma(d as f64)).exp()
            };
            let mut sum = f(0.0) + f(upper);
            for i in 1..n {
                sum += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
            }
            let integral = sum * h / 3.0;
            let exact = ln_fermi_dirac(d, mu).exp();
            assert!(
                ((integral - exact) / exact).abs() < 1e-9,
                "d = {d}, μ = {mu}: {integral} vs {exact}"
            );
        }
    }

    #[test]
    fn stable_helpers() {
        assert_eq!(softplus(1000.0), 1000.0);
        assert!((softplus(-50.0) - (-50f64).exp()).abs() < 1e-30);
        assert!((sigmoid(-800.0)).abs() < 1e-300 && sigmoid(800.0) == 1.0);
        assert_eq!(log_sum_exp(&[f64::NEG_INFINITY; 3]), f64::NEG_INFINITY);
        assert!((log_sum_exp(&[1000.0, 1000.0]) - (1000.0 + std::f64::consts::LN_2)).abs() < 1e-12);
    }
}
