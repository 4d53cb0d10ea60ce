//! Mean-field and TAP2 free energies of binary RBMs against exact answers: monotone
//! minimisation, convergence to −log Z from enumeration at weak coupling, exactness at
//! W = 0, the envelope-theorem gradient against finite differences, typed errors.

// Index loops mirror the formulas they check.
#![allow(clippy::needless_range_loop)]

use blockgibbs_models::rbm::tap::{
    data_gradient, gibbs_free_energy, gibbs_free_energy_gradient, minimize_gradient_descent,
    minimize_self_consistent, tap_gradient, tap_log_likelihood_gradient,
};
use blockgibbs_models::rbm::{
    BinaryRbm, RbmError, TapError, TapOptions, TapOrder, TapResult, log_partition, sigmoid,
    softplus,
};

const ORDERS: [TapOrder; 2] = [TapOrder::MeanField, TapOrder::Tap2];

fn assert_monotone(r: &TapResult, what: &str) {
    assert_eq!(r.trajectory.len(), r.iterations + 1, "{what}");
    assert_eq!(*r.trajectory.last().unwrap(), r.gamma, "{what}");
    for (k, w) in r.trajectory.windows(2).enumerate() {
        assert!(
            w[1] <= w[0] + 1e-12 * w[0].abs(),
            "{what}: Γ increased at step {k}: {} -> {}",
            w[0],
            w[1]
        );
    }
}

/// Deterministic pseudo-random start in (0, 1).
fn start(n: usize, salt: u64) -> Vec<f64> {
    (0..n)
        .map(|k| {
            let x =
                (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xBF58_476D);
            0.02 + 0.96 * ((x >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect()
}

fn tight(order: TapOrder) -> TapOptions {
    TapOptions {
        order,
        tolerance: 1e-14,
        damping: 1.0,
        max_iters: 10_000,
        ..TapOptions::default()
    }
}

/// Γ from its definition, independently of the library's internals.
fn gamma_by_hand(rbm: &BinaryRbm, mv: &[f64], mh: &[f64], order: TapOrder) -> f64 {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    let ne = |m: f64| m * m.ln() + (1.0 - m) * (1.0 - m).ln();
    let mut g: f64 = mv.iter().chain(mh).map(|&m| ne(m)).sum();
    for i in 0..nv {
        g -= rbm.visible_bias()[i] as f64 * mv[i];
        for j in 0..nh {
            let w = rbm.weights()[i * nh + j] as f64;
            g -= w * mv[i] * mh[j];
            if order == TapOrder::Tap2 {
                g -= 0.5 * w * w * (mv[i] - mv[i] * mv[i]) * (mh[j] - mh[j] * mh[j]);
            }
        }
    }
    for j in 0..nh {
        g -= rbm.hidden_bias()[j] as f64 * mh[j];
    }
    g
}

#[test]
fn gibbs_free_energy_matches_definition() {
    let rbm = BinaryRbm::random(5, 4, 0.7, 0.5, 3).unwrap();
    let (mv, mh) = (start(5, 1), start(4, 2));
    for order in ORDERS {
        let g = gibbs_free_energy(&rbm, &mv, &mh, order).unwrap();
        let want = gamma_by_hand(&rbm, &mv, &mh, order);
        assert!(
            (g - want).abs() < 1e-12 * (1.0 + want.abs()),
            "{g} vs {want}"
        );
        // ∂Γ/∂m against central differences of Γ.
        let (gv, gh) = gibbs_free_energy_gradient(&rbm, &mv, &mh, order).unwrap();
        let h = 1e-6;
        for k in 0..9 {
            let (mut pv, mut ph) = (mv.clone(), mh.clone());
            let (mut nv, mut nh) = (mv.clone(), mh.clone());
            if k < 5 {
                pv[k] += h;
                nv[k] -= h;
            } else {
                ph[k - 5] += h;
                nh[k - 5] -= h;
            }
            let fd = (gamma_by_hand(&rbm, &pv, &ph, order) - gamma_by_hand(&rbm, &nv, &nh, order))
                / (2.0 * h);
            let an = if k < 5 { gv[k] } else { gh[k - 5] };
            assert!((fd - an).abs() < 1e-6, "unit {k}: fd {fd} vs {an}");
        }
    }
}

#[test]
fn self_consistent_iteration_never_increases_gamma() {
    let rbm = BinaryRbm::random(10, 8, 0.5, 1.0, 11).unwrap();
    for order in ORDERS {
        for damping in [0.2, 0.5, 0.8, 1.0] {
            for salt in 0..3u64 {
                let (mv, mh) = (start(10, salt), start(8, salt + 7));
                let opts = TapOptions {
                    order,
                    damping,
                    tolerance: 1e-12,
                    max_iters: 5000,
                    ..TapOptions::default()
                };
                let r = minimize_self_consistent(&rbm, Some((&mv, &mh)), &opts).unwrap();
                assert_monotone(&r, &format!("{order:?} damping {damping}"));
                assert!(r.converged, "{order:?} damping {damping}");
                assert!(r.trajectory.len() > 2);
                // At the result the fixed point equations hold:
                // m_i = σ(a_i + (W m_h)_i − (m_i − ½) c_i), c_i = Σ_j W_ij² s_j.
                let (nv, nh) = (10, 8);
                let w = |i: usize, j: usize| rbm.weights()[i * nh + j] as f64;
                let tap = if order == TapOrder::Tap2 { 1.0 } else { 0.0 };
                for i in 0..nv {
                    let mut f = rbm.visible_bias()[i] as f64;
                    let mut c = 0.0;
                    for j in 0..nh {
                        f += w(i, j) * r.m_hidden[j];
                        c += tap * w(i, j).powi(2) * r.m_hidden[j] * (1.0 - r.m_hidden[j]);
                    }
                    let mi = r.m_visible[i];
                    assert!((mi - sigmoid(f - (mi - 0.5) * c)).abs() < 1e-9);
                }
                for j in 0..nh {
                    let mut f = rbm.hidden_bias()[j] as f64;
                    let mut c = 0.0;
                    for i in 0..nv {
                        f += w(i, j) * r.m_visible[i];
                        c += tap * w(i, j).powi(2) * r.m_visible[i] * (1.0 - r.m_visible[i]);
                    }
                    let mj = r.m_hidden[j];
                    assert!((mj - sigmoid(f - (mj - 0.5) * c)).abs() < 1e-9);
                }
            }
        }
    }
}

#[test]
fn gradient_descent_never_increases_gamma_and_agrees() {
    let rbm = BinaryRbm::random(10, 8, 0.5, 1.0, 11).unwrap();
    for order in ORDERS {
        let reference = minimize_self_consistent(&rbm, None, &tight(order)).unwrap();
        for step_size in [0.1, 1.0, 4.0, 50.0] {
            for salt in 0..3u64 {
                let (mv, mh) = (start(10, salt), start(8, salt + 7));
                let opts = TapOptions {
                    order,
                    step_size,
                    max_iters: 20_000,
                    ..TapOptions::default()
                };
                let r = minimize_gradient_descent(&rbm, Some((&mv, &mh)), &opts).unwrap();
                let what = format!("{order:?} step {step_size}");
                assert_monotone(&r, &what);
                assert!(r.converged, "{what}");
                assert!((r.gamma - reference.gamma).abs() < 1e-9, "{what}");
                for (a, b) in r.m_visible.iter().zip(&reference.m_visible) {
                    assert!((a - b).abs() < 1e-5, "{what}: {a} vs {b}");
                }
            }
        }
    }
}

#[test]
fn zero_coupling_is_exact() {
    let rbm = BinaryRbm::random(7, 5, 0.0, 1.5, 4).unwrap();
    let exact = log_partition(&rbm).unwrap();
    let by_hand: f64 = rbm
        .visible_bias()
        .iter()
        .chain(rbm.hidden_bias())
        .map(|&x| softplus(x as f64))
        .sum();
    assert!((exact - by_hand).abs() < 1e-12);
    for order in ORDERS {
        let default_start = TapOptions {
            order,
            ..TapOptions::default()
        };
        let sc = minimize_self_consistent(&rbm, None, &default_start).unwrap();
        assert!((sc.log_z() - exact).abs() < 1e-12, "{order:?}");
        assert_eq!(sc.iterations, 1, "σ(a), σ(b) is the fixed point");
        let (mv, mh) = (start(7, 3), start(5, 4));
        let sc = minimize_self_consistent(&rbm, Some((&mv, &mh)), &tight(order)).unwrap();
        assert!((sc.log_z() - exact).abs() < 1e-12, "{order:?}");
        let gd = minimize_gradient_descent(&rbm, Some((&mv, &mh)), &tight(order)).unwrap();
        assert!((gd.log_z() - exact).abs() < 1e-12, "{order:?}");
        assert_monotone(&gd, "zero coupling");
    }
}

#[test]
fn weak_coupling_approaches_exact_log_z() {
    let (nv, nh) = (8usize, 6usize);
    let n = (nv * nh) as f64;
    for sigma in [0.01f32, 0.02, 0.05] {
        let s = sigma as f64;
        for seed in 0..3 {
            let rbm = BinaryRbm::random(nv, nh, sigma, 0.5, seed).unwrap();
            let exact = log_partition(&rbm).unwrap();
            let mf = minimize_self_consistent(&rbm, None, &tight(TapOrder::MeanField)).unwrap();
            let tap = minimize_self_consistent(&rbm, None, &tight(TapOrder::Tap2)).unwrap();
            let (e_mf, e_tap) = (exact - mf.log_z(), exact - tap.log_z());
            // Mean field is a lower bound on log Z, with an error of order σ²: to leading order
            // ½ Σ W² s_i s_j, between 0 and n σ²/32 on average.
            assert!(e_mf > 0.0, "σ {s}: {e_mf}");
            assert!(e_mf < 0.1 * n * s * s, "σ {s}: MF error {e_mf}");
            assert!(e_mf > 0.005 * n * s * s, "σ {s}: MF error {e_mf}");
            // TAP2 removes the σ² term: error O(σ³).
            assert!(
                e_tap.abs() < 0.01 * n * s.powi(3),
                "σ {s}: TAP error {e_tap}"
            );
            assert!(e_tap.abs() < 0.05 * e_mf, "σ {s}: {e_tap} vs {e_mf}");
        }
    }
}

/// `log Z_TAP(θ) = −min_m Γ` as a function of the parameters.
fn tap_log_z(rbm: &BinaryRbm, order: TapOrder) -> f64 {
    minimize_self_consistent(rbm, None, &tight(order))
        .unwrap()
        .log_z()
}

enum Which {
    W(usize),
    A(usize),
    B(usize),
}

fn perturbed(rbm: &BinaryRbm, which: &Which, delta: f32) -> (BinaryRbm, f64) {
    let (mut w, mut a, mut b) = (
        rbm.weights().to_vec(),
        rbm.visible_bias().to_vec(),
        rbm.hidden_bias().to_vec(),
    );
    let x = match which {
        Which::W(k) => &mut w[*k],
        Which::A(k) => &mut a[*k],
        Which::B(k) => &mut b[*k],
    };
    let old = *x;
    *x += delta;
    let actual = *x as f64 - old as f64;
    let r = BinaryRbm::new(rbm.n_visible(), rbm.n_hidden(), w, a, b).unwrap();
    (r, actual)
}

#[test]
fn tap_gradient_matches_finite_differences() {
    let rbm = BinaryRbm::random(6, 5, 0.3, 0.5, 8).unwrap();
    for order in ORDERS {
        let r = minimize_self_consistent(&rbm, None, &tight(order)).unwrap();
        assert!(r.converged);
        let g = tap_gradient(&rbm, &r).unwrap();
        for which in [
            Which::W(0),
            Which::W(7),
            Which::W(29),
            Which::A(2),
            Which::B(4),
        ] {
            let an = match which {
                Which::W(k) => g.weights[k],
                Which::A(k) => g.visible_bias[k],
                Which::B(k) => g.hidden_bias[k],
            };
            let (plus, dp) = perturbed(&rbm, &which, 1e-3);
            let (minus, dm) = perturbed(&rbm, &which, -1e-3);
            let fd = (tap_log_z(&plus, order) - tap_log_z(&minus, order)) / (dp - dm);
            assert!((fd - an).abs() < 1e-6, "{order:?}: fd {fd} vs {an}");
        }
    }
}

#[test]
fn log_likelihood_gradient_is_data_minus_tap() {
    let rbm = BinaryRbm::random(6, 5, 0.3, 0.5, 8).unwrap();
    let data: Vec<f32> = (0..4 * 6)
        .map(|k| ((k * 7 + k / 5) % 3 == 0) as u8 as f32)
        .collect();
    let d = data_gradient(&rbm, &data).unwrap();
    // Data term against finite differences of −mean F(v).
    let neg_mean_f = |r: &BinaryRbm| -> f64 {
        -data
            .chunks(6)
            .map(|v| r.free_energy_visible(v).unwrap())
            .sum::<f64>()
            / 4.0
    };
    for (which, an) in [
        (Which::W(3), d.weights[3]),
        (Which::W(20), d.weights[20]),
        (Which::A(1), d.visible_bias[1]),
        (Which::B(0), d.hidden_bias[0]),
    ] {
        let (plus, dp) = perturbed(&rbm, &which, 1e-3);
        let (minus, dm) = perturbed(&rbm, &which, -1e-3);
        let fd = (neg_mean_f(&plus) - neg_mean_f(&minus)) / (dp - dm);
        assert!((fd - an).abs() < 1e-6, "fd {fd} vs {an}");
    }
    let r = minimize_self_consistent(&rbm, None, &tight(TapOrder::Tap2)).unwrap();
    let t = tap_gradient(&rbm, &r).unwrap();
    let ll = tap_log_likelihood_gradient(&rbm, &data, &r).unwrap();
    for k in 0..30 {
        assert_eq!(ll.weights[k], d.weights[k] - t.weights[k]);
    }
    for k in 0..6 {
        assert_eq!(ll.visible_bias[k], d.visible_bias[k] - t.visible_bias[k]);
    }
    for k in 0..5 {
        assert_eq!(ll.hidden_bias[k], d.hidden_bias[k] - t.hidden_bias[k]);
    }
}

#[test]
fn bad_input_gives_typed_errors() {
    let rbm = BinaryRbm::random(3, 2, 0.5, 0.5, 1).unwrap();
    let (mv, mh) = (vec![0.5; 3], vec![0.5; 2]);
    let order = TapOrder::Tap2;
    assert!(matches!(
        gibbs_free_energy(&rbm, &[0.5; 2], &mh, order),
        Err(TapError::ShapeMismatch {
            field: "m_visible",
            expected: 3,
            found: 2
        })
    ));
    assert!(matches!(
        gibbs_free_energy_gradient(&rbm, &mv, &[0.5; 3], order),
        Err(TapError::ShapeMismatch {
            field: "m_hidden",
            expected: 2,
            found: 3
        })
    ));
    for bad in [0.0, 1.0, -0.1, 1.5] {
        assert!(matches!(
            gibbs_free_energy(&rbm, &[0.5, bad, 0.5], &mh, order),
            Err(TapError::OutOfRange {
                field: "m_visible",
                index: 1,
                ..
            })
        ));
    }
    for bad in [f64::NAN, f64::INFINITY] {
        assert!(matches!(
            minimize_self_consistent(&rbm, Some((&mv, &[0.5, bad])), &TapOptions::default()),
            Err(TapError::NonFinite {
                field: "m_hidden",
                index: 1,
                ..
            })
        ));
    }
    let opts = |f: fn(&mut TapOptions)| {
        let mut o = TapOptions::default();
        f(&mut o);
        o
    };
    for (o, field) in [
        (opts(|o| o.step_size = 0.0), "step_size"),
        (opts(|o| o.step_size = -1.0), "step_size"),
        (opts(|o| o.step_size = f64::NAN), "step_size"),
        (opts(|o| o.damping = 0.0), "damping"),
        (opts(|o| o.damping = 1.5), "damping"),
        (opts(|o| o.tolerance = -1.0), "tolerance"),
        (opts(|o| o.tolerance = f64::NAN), "tolerance"),
    ] {
        for r in [
            minimize_gradient_descent(&rbm, None, &o),
            minimize_self_consistent(&rbm, None, &o),
        ] {
            match r {
                Err(TapError::InvalidOption { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
    let good = minimize_self_consistent(&rbm, None, &TapOptions::default()).unwrap();
    let other = BinaryRbm::random(4, 2, 0.5, 0.5, 1).unwrap();
    assert!(matches!(
        tap_gradient(&other, &good),
        Err(TapError::ShapeMismatch {
            field: "m_visible",
            expected: 4,
            found: 3
        })
    ));
    assert!(matches!(
        tap_log_likelihood_gradient(&rbm, &[1.0, 0.0], &good),
        Err(TapError::Rbm(RbmError::DataShape {
            len: 2,
            n_visible: 3
        }))
    ));
    assert!(matches!(
        data_gradient(&rbm, &[1.0, 0.5, 0.0]),
        Err(TapError::Rbm(RbmError::NotBinary { row: 0, col: 1, .. }))
    ));
    assert!(matches!(
        data_gradient(&rbm, &[]),
        Err(TapError::Rbm(RbmError::EmptyData))
    ));
    // Errors display.
    let e = gibbs_free_energy(&rbm, &[0.5, 1.0, 0.5], &mh, order).unwrap_err();
    assert!(e.to_string().contains("(0, 1)"));
}

#[test]
fn max_iters_zero_returns_start() {
    let rbm = BinaryRbm::random(4, 3, 0.5, 0.5, 2).unwrap();
    let opts = TapOptions {
        max_iters: 0,
        ..TapOptions::default()
    };
    let (mv, mh) = (start(4, 1), start(3, 2));
    for r in [
        minimize_self_consistent(&rbm, Some((&mv, &mh)), &opts).unwrap(),
        minimize_gradient_descent(&rbm, Some((&mv, &mh)), &opts).unwrap(),
    ] {
        assert_eq!(r.iterations, 0);
        assert!(!r.converged);
        assert_eq!(r.trajectory.len(), 1);
        let want = gibbs_free_energy(&rbm, &mv, &mh, TapOrder::Tap2).unwrap();
        assert!((r.gamma - want).abs() < 1e-12);
    }
}

#[test]
fn strong_coupling_stays_finite_and_monotone() {
    let rbm = BinaryRbm::random(9, 7, 40.0, 30.0, 5).unwrap();
    for order in ORDERS {
        for damping in [0.3, 1.0] {
            let opts = TapOptions {
                order,
                damping,
                step_size: 10.0,
                max_iters: 3000,
                ..TapOptions::default()
            };
            let (mv, mh) = (start(9, 1), start(7, 2));
            for r in [
                minimize_self_consistent(&rbm, Some((&mv, &mh)), &opts).unwrap(),
                minimize_gradient_descent(&rbm, Some((&mv, &mh)), &opts).unwrap(),
            ] {
                assert!(r.gamma.is_finite(), "{order:?}");
                assert!(r.trajectory.iter().all(|g| g.is_finite()));
                assert!(
                    r.m_visible
                        .iter()
                        .chain(&r.m_hidden)
                        .all(|m| (0.0..=1.0).contains(m))
                );
                assert_monotone(&r, &format!("strong {order:?} damping {damping}"));
                assert!(tap_gradient(&rbm, &r).is_ok());
            }
        }
    }
}

/// Exact `⟨v_i h_j⟩`, `⟨v_i⟩`, `⟨h_j⟩` by enumerating the joint.
fn exact_moments(rbm: &BinaryRbm) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    let log_z = log_partition(rbm).unwrap();
    let (mut vh, mut mv, mut mh) = (vec![0.0; nv * nh], vec![0.0; nv], vec![0.0; nh]);
    for xv in 0..1u64 << nv {
        for xh in 0..1u64 << nh {
            let v: Vec<f32> = (0..nv).map(|k| ((xv >> k) & 1) as f32).collect();
            let h: Vec<f32> = (0..nh).map(|k| ((xh >> k) & 1) as f32).collect();
            let p = (-rbm.energy(&v, &h).unwrap() - log_z).exp();
            for i in 0..nv {
                mv[i] += p * v[i] as f64;
                for j in 0..nh {
                    vh[i * nh + j] += p * (v[i] * h[j]) as f64;
                }
            }
            for j in 0..nh {
                mh[j] += p * h[j] as f64;
            }
        }
    }
    (vh, mv, mh)
}

#[test]
fn tap2_moments_beat_mean_field_at_weak_coupling() {
    for sigma in [0.05f32, 0.1] {
        let rbm = BinaryRbm::random(5, 4, sigma, 0.5, 9).unwrap();
        let (vh, _, _) = exact_moments(&rbm);
        let err = |order| {
            let r = minimize_self_consistent(&rbm, None, &tight(order)).unwrap();
            let g = tap_gradient(&rbm, &r).unwrap();
            g.weights
                .iter()
                .zip(&vh)
                .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()))
        };
        let (e_mf, e_tap) = (err(TapOrder::MeanField), err(TapOrder::Tap2));
        let s = sigma as f64;
        // Mean-field moments are off by O(σ) (they miss W_ij s_i s_j); TAP2's by O(σ²).
        assert!(e_tap < 0.1 * e_mf, "σ {s}: TAP {e_tap} vs MF {e_mf}");
        assert!(e_mf < 0.5 * s && e_mf > 0.02 * s, "σ {s}: MF {e_mf}");
        assert!(e_tap < 0.05 * s * s, "σ {s}: TAP {e_tap}");
    }
}
