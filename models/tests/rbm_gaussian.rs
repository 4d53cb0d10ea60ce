//! Gaussian–Bernoulli RBM against exact answers: log Z by enumeration vs numerical quadrature
//! over v, the closed-form hidden free energy vs quadrature of e^{−E(v,h)}, conditionals vs
//! Bayes' rule on the joint, the exact log Z gradient vs finite differences, typed errors.

// Index loops mirror the formulas they check.
#![allow(clippy::needless_range_loop)]

use blockgibbs_models::rbm::gaussian::{GaussianRbm, GaussianRbmError, MAX_ABS_LOG_VAR};
use blockgibbs_models::rbm::{MAX_EXACT_UNITS, RbmError, log_sum_exp};

/// Quadrature step: a multiple of a power of two, so that every grid point `k·STEP` is an exact
/// `f32` and the grid is exactly uniform. The trapezoid rule on a Gaussian of standard
/// deviation σ has relative error ≈ 2·exp(−2π²σ²/STEP²); with σ ≥ e^{−0.6} ≥ 0.54 below,
/// σ/STEP ≥ 4.3 and the error is < e^{−360}: negligible, so the tolerances below are rounding.
const STEP: f64 = 0.125;

/// Trapezoid grid covering every mixture component `u + W h` by ±14 σ (tails < e^{−98}).
fn grid(rbm: &GaussianRbm, i: usize) -> Vec<f32> {
    let s = rbm.variances()[i].sqrt();
    let row = &rbm.weights()[i * rbm.n_hidden()..(i + 1) * rbm.n_hidden()];
    let pos: f64 = row.iter().map(|&w| (w as f64).max(0.0)).sum();
    let neg: f64 = row.iter().map(|&w| (w as f64).min(0.0)).sum();
    let u = rbm.loc()[i] as f64;
    let lo = ((u + neg - 14.0 * s) / STEP).floor() as i64;
    let hi = ((u + pos + 14.0 * s) / STEP).ceil() as i64;
    (lo..=hi).map(|k| (k as f64 * STEP) as f32).collect()
}

/// Checks that the typical σ of `rbm` keeps the quadrature accurate (see `STEP`).
fn assert_resolvable(rbm: &GaussianRbm) {
    for &l in rbm.log_var() {
        assert!(l > -1.2, "σ too small for STEP");
    }
}

#[test]
fn log_partition_matches_quadrature_in_one_and_two_dimensions() {
    for (nv, seed) in [(1usize, 0u64), (1, 1), (2, 2), (2, 3)] {
        let rbm = GaussianRbm::random(nv, 3, 0.8, 0.5, seed).unwrap();
        assert_resolvable(&rbm);
        let exact = rbm.exact_log_partition().unwrap();
        let mut logs = Vec::new();
        let g0 = grid(&rbm, 0);
        let g1 = if nv == 2 { grid(&rbm, 1) } else { vec![0.0] };
        for &a in &g0 {
            for &b in &g1 {
                let v = if nv == 2 { vec![a, b] } else { vec![a] };
                logs.push(-rbm.free_energy_visible(&v).unwrap());
            }
        }
        let quad = log_sum_exp(&logs) + nv as f64 * STEP.ln();
        // Rounding only: ~10⁵ terms summed in f64.
        assert!((exact - quad).abs() < 1e-10, "nv {nv}: {exact} vs {quad}");
        // The average log-likelihood is log of the normalised density e^{−F(v)}/Z.
        let v: Vec<f32> = (0..nv).map(|k| 0.3 - k as f32).collect();
        let ll = rbm.exact_average_log_likelihood(&v).unwrap();
        let want = -rbm.free_energy_visible(&v).unwrap() - quad;
        assert!((ll - want).abs() < 1e-10);
    }
}

#[test]
fn hidden_free_energy_is_the_integral_over_v() {
    let rbm = GaussianRbm::random(1, 3, 1.0, 0.5, 5).unwrap();
    assert_resolvable(&rbm);
    for bits in 0..8u32 {
        let h: Vec<f32> = (0..3).map(|j| ((bits >> j) & 1) as f32).collect();
        let logs: Vec<f64> = grid(&rbm, 0)
            .iter()
            .map(|&v| -rbm.energy(&[v], &h).unwrap())
            .collect();
        let quad = log_sum_exp(&logs) + STEP.ln();
        let closed = -rbm.free_energy_hidden(&h).unwrap();
        assert!((quad - closed).abs() < 1e-10, "h {h:?}: {quad} vs {closed}");
    }
}

#[test]
fn gray_code_enumeration_matches_naive_sum() {
    // 14 hidden units: four parallel chunks of 2^12 Gray-code states.
    let rbm = GaussianRbm::random(5, 14, 0.4, 0.7, 9).unwrap();
    let logs: Vec<f64> = (0..1u32 << 14)
        .map(|bits| {
            let h: Vec<f32> = (0..14).map(|j| ((bits >> j) & 1) as f32).collect();
            -rbm.free_energy_hidden(&h).unwrap()
        })
        .collect();
    let naive = log_sum_exp(&logs);
    let exact = rbm.exact_log_partition().unwrap();
    // 2^12 incremental updates per chunk: drift ≲ 2^12 · ε · |W| ≪ 1e-9.
    assert!(
        (naive - exact).abs() < 1e-9 * naive.abs().max(1.0),
        "{naive} vs {exact}"
    );
}

#[test]
fn single_hidden_unit_closed_form() {
    // n_h = 1: Z = Π_i √(2π s_i) · (1 + exp(b + Σ_i (u_i W_i + W_i²/2)/s_i)).
    let rbm = GaussianRbm::random(40, 1, 0.3, 0.5, 4).unwrap();
    let s = rbm.variances();
    let mut base = 0.0;
    let mut field = rbm.hidden_bias()[0] as f64;
    for i in 0..40 {
        let (u, w) = (rbm.loc()[i] as f64, rbm.weights()[i] as f64);
        base += 0.5 * (2.0 * std::f64::consts::PI * s[i]).ln();
        field += (u * w + 0.5 * w * w) / s[i];
    }
    let want = base + log_sum_exp(&[0.0, field]);
    let exact = rbm.exact_log_partition().unwrap();
    assert!(
        (exact - want).abs() < 1e-12 * want.abs(),
        "{exact} vs {want}"
    );
}

#[test]
fn conditionals_follow_from_the_joint() {
    let rbm = GaussianRbm::random(3, 4, 0.7, 0.5, 6).unwrap();
    let v = [0.4f32, -1.1, 2.0];
    // p(h_j = 1 | v) by Bayes' rule over the 16 hidden states.
    let states: Vec<Vec<f32>> = (0..16u32)
        .map(|b| (0..4).map(|j| ((b >> j) & 1) as f32).collect())
        .collect();
    let logs: Vec<f64> = states.iter().map(|h| -rbm.energy(&v, h).unwrap()).collect();
    let norm = log_sum_exp(&logs);
    let probs = rbm.hidden_probs(&v).unwrap();
    for j in 0..4 {
        let p: f64 = states
            .iter()
            .zip(&logs)
            .filter(|(h, _)| h[j] == 1.0)
            .map(|(_, l)| (l - norm).exp())
            .sum();
        assert!(
            (p - probs[j]).abs() < 1e-12,
            "unit {j}: {p} vs {}",
            probs[j]
        );
    }
    // F(v) = −log Σ_h e^{−E(v,h)}.
    assert!((rbm.free_energy_visible(&v).unwrap() + norm).abs() < 1e-12);
    // log p(v | h) = −E(v, h) + F(h) is the N(u + W h, σ²) log-density.
    let s = rbm.variances();
    for h in &states {
        let mean = rbm.visible_mean(h).unwrap();
        let gauss: f64 = (0..3)
            .map(|i| {
                let d = v[i] as f64 - mean[i];
                -0.5 * d * d / s[i] - 0.5 * (2.0 * std::f64::consts::PI * s[i]).ln()
            })
            .sum();
        let joint = -rbm.energy(&v, h).unwrap() + rbm.free_energy_hidden(h).unwrap();
        assert!((gauss - joint).abs() < 1e-12, "h {h:?}");
    }
}

/// The machine with one parameter moved by `delta` (kind 0 weights, 1 loc, 2 log_var, 3
/// hidden bias), and the actual `f64` change after rounding to `f32`.
fn perturbed(rbm: &GaussianRbm, kind: usize, k: usize, delta: f32) -> (GaussianRbm, f64) {
    let mut parts = [
        rbm.weights().to_vec(),
        rbm.loc().to_vec(),
        rbm.log_var().to_vec(),
        rbm.hidden_bias().to_vec(),
    ];
    let old = parts[kind][k];
    parts[kind][k] += delta;
    let actual = parts[kind][k] as f64 - old as f64;
    let [w, u, l, b] = parts;
    let r = GaussianRbm::new(rbm.n_visible(), rbm.n_hidden(), w, u, l, b).unwrap();
    (r, actual)
}

#[test]
fn exact_gradient_matches_finite_differences() {
    let rbm = GaussianRbm::random(4, 5, 0.5, 0.5, 3).unwrap();
    let g = rbm.exact_log_partition_gradient().unwrap();
    for (kind, k) in [(0, 0), (0, 13), (0, 19), (1, 2), (2, 1), (2, 3), (3, 4)] {
        let an = [&g.weights, &g.loc, &g.log_var, &g.hidden_bias][kind][k];
        let (plus, dp) = perturbed(&rbm, kind, k, 1e-3);
        let (minus, dm) = perturbed(&rbm, kind, k, -1e-3);
        let fd = (plus.exact_log_partition().unwrap() - minus.exact_log_partition().unwrap())
            / (dp - dm);
        // Central differences: truncation δ²|f'''|/6 ≈ 2·10⁻⁷ for O(1) third derivatives.
        assert!(
            (fd - an).abs() < 1e-6,
            "kind {kind} index {k}: fd {fd} vs {an}"
        );
    }
}

#[test]
fn data_gradient_matches_finite_differences() {
    let rbm = GaussianRbm::random(4, 5, 0.4, 0.5, 10).unwrap();
    let data: Vec<f32> = (0..5 * 4)
        .map(|k| ((k * 37 % 11) as f32 - 5.0) * 0.3)
        .collect();
    let d = rbm.data_gradient(&data).unwrap();
    let neg_mean_f = |r: &GaussianRbm| -> f64 {
        -data
            .chunks(4)
            .map(|v| r.free_energy_visible(v).unwrap())
            .sum::<f64>()
            / 5.0
    };
    for (kind, k) in [
        (0, 0),
        (0, 11),
        (0, 19),
        (1, 1),
        (1, 3),
        (2, 0),
        (2, 2),
        (3, 4),
    ] {
        let an = [&d.weights, &d.loc, &d.log_var, &d.hidden_bias][kind][k];
        let (plus, dp) = perturbed(&rbm, kind, k, 1e-3);
        let (minus, dm) = perturbed(&rbm, kind, k, -1e-3);
        let fd = (neg_mean_f(&plus) - neg_mean_f(&minus)) / (dp - dm);
        // Central differences: truncation δ²|f'''|/6 ≈ 2·10⁻⁷ for O(1) third derivatives.
        assert!(
            (fd - an).abs() < 1e-6,
            "kind {kind} index {k}: fd {fd} vs {an}"
        );
    }
}

#[test]
fn largest_exact_machine_and_limit() {
    let rbm = GaussianRbm::random(1, MAX_EXACT_UNITS, 0.05, 0.3, 1).unwrap();
    assert!(rbm.exact_log_partition().unwrap().is_finite());
    let big = GaussianRbm::random(1, MAX_EXACT_UNITS + 1, 0.05, 0.3, 1).unwrap();
    assert_eq!(
        big.exact_log_partition(),
        Err(GaussianRbmError::Rbm(RbmError::TooLargeForExact {
            units: MAX_EXACT_UNITS + 1,
            limit: MAX_EXACT_UNITS
        }))
    );
}

#[test]
fn bad_input_gives_typed_errors() {
    let ok = || {
        (
            vec![0.0f32; 6],
            vec![0.0f32; 3],
            vec![0.0f32; 3],
            vec![0.0f32; 2],
        )
    };
    let build = |w, u, l, b| GaussianRbm::new(3, 2, w, u, l, b);
    let shape = |e: Result<GaussianRbm, GaussianRbmError>| match e {
        Err(GaussianRbmError::Rbm(RbmError::ShapeMismatch { field, .. })) => field,
        other => panic!("{other:?}"),
    };
    let finite = |e: Result<GaussianRbm, GaussianRbmError>| match e {
        Err(GaussianRbmError::Rbm(RbmError::NonFinite {
            field, index: 1, ..
        })) => field,
        other => panic!("{other:?}"),
    };
    let (w, u, l, b) = ok();
    assert_eq!(shape(build(vec![0.0; 5], u, l, b)), "weights");
    let (w2, _, l, b) = ok();
    assert_eq!(shape(build(w2, vec![0.0; 2], l, b)), "loc");
    let (w3, u, _, b) = ok();
    assert_eq!(shape(build(w3, u, vec![0.0; 4], b)), "log_var");
    let (_, u, l, _) = ok();
    assert_eq!(shape(build(w, u, l, vec![0.0; 3])), "hidden_bias");
    for bad in [f32::NAN, f32::INFINITY] {
        let (mut w, u, l, b) = ok();
        w[1] = bad;
        assert_eq!(finite(build(w, u, l, b)), "weights");
        let (w, mut u, l, b) = ok();
        u[1] = bad;
        assert_eq!(finite(build(w, u, l, b)), "loc");
        let (w, u, mut l, b) = ok();
        l[1] = bad;
        assert_eq!(finite(build(w, u, l, b)), "log_var");
        let (w, u, l, mut b) = ok();
        b[1] = bad;
        assert_eq!(finite(build(w, u, l, b)), "hidden_bias");
    }
    let (w, u, mut l, b) = ok();
    l[2] = -81.0;
    assert_eq!(
        build(w, u, l, b),
        Err(GaussianRbmError::LogVarOutOfRange {
            index: 2,
            value: -81.0,
            limit: MAX_ABS_LOG_VAR
        })
    );
    let (w, u, l, b) = ok();
    assert_eq!(
        GaussianRbm::new(0, 2, w, u, l, b),
        Err(GaussianRbmError::Rbm(RbmError::EmptyLayer {
            field: "n_visible"
        }))
    );
    assert!(matches!(
        GaussianRbm::random(2, 0, 0.1, 0.1, 0),
        Err(GaussianRbmError::Rbm(RbmError::EmptyLayer {
            field: "n_hidden"
        }))
    ));
    assert!(matches!(
        GaussianRbm::random(usize::MAX, 2, 0.1, 0.1, 0),
        Err(GaussianRbmError::Rbm(RbmError::TooLarge { .. }))
    ));
    let rbm = GaussianRbm::random(3, 2, 0.5, 0.5, 0).unwrap();
    assert_eq!(
        rbm.exact_average_log_likelihood(&[1.0, 2.0]),
        Err(GaussianRbmError::Rbm(RbmError::DataShape {
            len: 2,
            n_visible: 3
        }))
    );
    assert_eq!(
        rbm.exact_average_log_likelihood(&[]),
        Err(GaussianRbmError::Rbm(RbmError::EmptyData))
    );
    assert!(matches!(
        rbm.exact_average_log_likelihood(&[1.0, f32::NAN, 0.0]),
        Err(GaussianRbmError::Rbm(RbmError::NonFinite {
            field: "data",
            index: 1,
            ..
        }))
    ));
    assert!(matches!(
        rbm.average_log_likelihood_with(&[1.0, 0.0, 0.0], f64::NAN),
        Err(GaussianRbmError::Rbm(RbmError::NonFinite {
            field: "log_z",
            ..
        }))
    ));
    assert!(matches!(
        rbm.hidden_probs(&[1.0]),
        Err(GaussianRbmError::Rbm(RbmError::ShapeMismatch {
            field: "v",
            expected: 3,
            found: 1
        }))
    ));
    assert!(matches!(
        rbm.visible_mean(&[1.0, f32::NAN]),
        Err(GaussianRbmError::Rbm(RbmError::NonFinite {
            field: "h",
            index: 1,
            ..
        }))
    ));
    assert!(matches!(
        rbm.energy(&[0.0; 3], &[0.0; 3]),
        Err(GaussianRbmError::Rbm(RbmError::ShapeMismatch {
            field: "h",
            ..
        }))
    ));
    let e = build(
        vec![0.0; 6],
        vec![0.0; 3],
        vec![0.0, 0.0, 99.0],
        vec![0.0; 2],
    )
    .unwrap_err();
    assert!(e.to_string().contains("log_var"));
}
