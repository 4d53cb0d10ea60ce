//! RBM evaluation against exact answers: log Z and log-likelihood by brute-force enumeration
//! of the joint, AIS within its reported error, pseudo-likelihood and reconstruction error
//! from their definitions, typed errors.

use blockgibbs_models::rbm::{
    AisOptions, BetaSchedule, BinaryRbm, MAX_EXACT_UNITS, RbmError, ais_log_partition,
    average_log_likelihood, average_log_likelihood_with, log_partition, log_sum_exp, sigmoid,
};

fn bits(x: u64, n: usize) -> Vec<f32> {
    (0..n).map(|k| ((x >> k) & 1) as f32).collect()
}

/// `log Σ_{v,h} exp(−E(v,h))` over the full joint, using both `BinaryRbm::energy` and the
/// blockgibbs `Model::energy` (which must agree).
fn brute_log_z(rbm: &BinaryRbm) -> f64 {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    let model = rbm.to_model().unwrap();
    let mut terms = Vec::new();
    for xv in 0..1u64 << nv {
        for xh in 0..1u64 << nh {
            let (v, h) = (bits(xv, nv), bits(xh, nh));
            let e = rbm.energy(&v, &h).unwrap();
            let state: Vec<f32> = v.iter().chain(&h).copied().collect();
            let e_model = model.energy(&state);
            assert!(
                (e - e_model).abs() < 1e-4 * (1.0 + e.abs()),
                "{e} vs {e_model}"
            );
            terms.push(-e);
        }
    }
    log_sum_exp(&terms)
}

/// `log p(v)` by summing the joint over h.
fn brute_log_p(rbm: &BinaryRbm, v: &[f32], log_z: f64) -> f64 {
    let nh = rbm.n_hidden();
    let terms: Vec<f64> = (0..1u64 << nh)
        .map(|xh| -rbm.energy(v, &bits(xh, nh)).unwrap())
        .collect();
    log_sum_exp(&terms) - log_z
}

fn random_data(n_rows: usize, nv: usize, seed: u64) -> Vec<f32> {
    // A small LCG: deterministic binary data without pulling RNG types into the test.
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n_rows * nv)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) & 1) as f32
        })
        .collect()
}

#[test]
fn exact_log_z_and_likelihood_match_brute_force() {
    // Hidden smaller (5×4), visible smaller (3×7) and a tie (4×4).
    for (nv, nh, seed) in [(5, 4, 1), (3, 7, 2), (4, 4, 3)] {
        let rbm = BinaryRbm::random(nv, nh, 1.0, 0.7, seed).unwrap();
        let exact = log_partition(&rbm).unwrap();
        let brute = brute_log_z(&rbm);
        assert!(
            (exact - brute).abs() < 1e-9 * brute.abs().max(1.0),
            "{nv}×{nh}: {exact} vs {brute}"
        );

        let data = random_data(9, nv, seed);
        let ll = average_log_likelihood(&rbm, &data).unwrap();
        let brute_ll = data
            .chunks(nv)
            .map(|v| brute_log_p(&rbm, v, brute))
            .sum::<f64>()
            / 9.0;
        assert!(
            (ll - brute_ll).abs() < 1e-9 * brute_ll.abs().max(1.0),
            "{ll} vs {brute_ll}"
        );
        let with = average_log_likelihood_with(&rbm, &data, exact).unwrap();
        assert_eq!(with, ll);
    }
}

#[test]
fn free_energies_marginalise_the_joint() {
    let rbm = BinaryRbm::random(4, 3, 0.8, 0.5, 7).unwrap();
    let log_z = brute_log_z(&rbm);
    let fv: Vec<f64> = (0..16)
        .map(|x| -rbm.free_energy_visible(&bits(x, 4)).unwrap())
        .collect();
    let fh: Vec<f64> = (0..8)
        .map(|x| -rbm.free_energy_hidden(&bits(x, 3)).unwrap())
        .collect();
    assert!((log_sum_exp(&fv) - log_z).abs() < 1e-10);
    assert!((log_sum_exp(&fh) - log_z).abs() < 1e-10);
    // Softplus stays finite for huge fields.
    let big = BinaryRbm::new(1, 1, vec![800.0], vec![0.0], vec![800.0]).unwrap();
    let f = big.free_energy_visible(&[1.0]).unwrap();
    assert!((f + 1600.0).abs() < 1e-9, "{f}");
    assert!(log_partition(&big).unwrap().is_finite());
}

#[test]
fn gray_code_enumeration_across_chunks_matches_plain_loops() {
    // 14 enumerated units: several parallel chunks of 2^12 states.
    let rbm = BinaryRbm::random(16, 14, 0.3, 0.5, 11).unwrap();
    let plain: Vec<f64> = (0..1u64 << 14)
        .map(|x| -rbm.free_energy_hidden(&bits(x, 14)).unwrap())
        .collect();
    let plain = log_sum_exp(&plain);
    let exact = log_partition(&rbm).unwrap();
    assert!(
        (exact - plain).abs() < 1e-9 * plain.abs(),
        "{exact} vs {plain}"
    );
    // The transposed machine has the same Z and takes the other branch.
    let (nv, nh) = (16, 14);
    let wt: Vec<f32> = (0..nh)
        .flat_map(|j| (0..nv).map(move |i| (i, j)))
        .map(|(i, j)| rbm.weights()[i * nh + j])
        .collect();
    let t = BinaryRbm::new(
        nh,
        nv,
        wt,
        rbm.hidden_bias().to_vec(),
        rbm.visible_bias().to_vec(),
    )
    .unwrap();
    let exact_t = log_partition(&t).unwrap();
    assert!((exact - exact_t).abs() < 1e-9 * plain.abs());
}

#[test]
fn twenty_unit_layer_is_exact_and_twenty_one_is_a_typed_error() {
    let rbm = BinaryRbm::random(24, MAX_EXACT_UNITS, 0.05, 0.1, 5).unwrap();
    let z = log_partition(&rbm).unwrap();
    assert!(z.is_finite());
    let too_big = BinaryRbm::zeros(25, 21).unwrap();
    assert_eq!(
        log_partition(&too_big),
        Err(RbmError::TooLargeForExact {
            units: 21,
            limit: 20
        })
    );
    // The zero machine is uniform: log Z = (nv + nh) ln 2.
    let zero = BinaryRbm::zeros(30, 12).unwrap();
    assert!((log_partition(&zero).unwrap() - 42.0 * 2f64.ln()).abs() < 1e-9);
}

#[test]
fn ais_log_z_is_within_its_reported_error_of_the_exact_value() {
    let rbm = BinaryRbm::random(12, 10, 0.4, 0.5, 21).unwrap();
    let exact = log_partition(&rbm).unwrap();
    let opts = AisOptions {
        runs: 200,
        schedule: BetaSchedule::Linear { steps: 1000 },
        seed: 3,
        ..AisOptions::default()
    };
    let r = ais_log_partition(&rbm, &opts).unwrap();
    let err = (r.log_z - exact).abs();
    assert!(r.std_err > 0.0 && r.std_err < 0.5, "{r:?}");
    assert!(
        err < 4.0 * r.std_err,
        "AIS {} ± {} vs exact {exact}",
        r.log_z,
        r.std_err
    );
    assert!(err < 0.5);
    assert!(r.ess > 1.0 && r.ess <= 200.0 + 1e-9);
    assert_eq!(r.log_weights.len(), 200);
    // Same seed, same answer (independent of the thread count).
    assert_eq!(ais_log_partition(&rbm, &opts).unwrap(), r);

    // A data-style base bias and a geometric ladder give a consistent answer too.
    let geo = AisOptions {
        runs: 200,
        schedule: BetaSchedule::Geometric {
            steps: 1000,
            min_beta: 1e-3,
        },
        seed: 4,
        base_visible_bias: Some(vec![-0.3; 12]),
        base_hidden_bias: Some(vec![0.0; 10]),
        ..AisOptions::default()
    };
    let g = ais_log_partition(&rbm, &geo).unwrap();
    assert!(
        (g.log_z - exact).abs() < (4.0 * g.std_err).max(1e-3),
        "{g:?} vs {exact}"
    );
    assert!((g.log_z - exact).abs() < 0.5);
}

#[test]
fn ais_is_exact_for_a_machine_without_weights() {
    let rbm = BinaryRbm::random(6, 5, 0.0, 1.0, 9).unwrap();
    let r = ais_log_partition(
        &rbm,
        &AisOptions {
            runs: 4,
            schedule: BetaSchedule::Linear { steps: 3 },
            ..AisOptions::default()
        },
    )
    .unwrap();
    assert!((r.log_z - log_partition(&rbm).unwrap()).abs() < 1e-9);
    assert!(r.std_err.abs() < 1e-12);
    assert!((r.ess - 4.0).abs() < 1e-9);
}

#[test]
fn ais_options_give_typed_errors() {
    let rbm = BinaryRbm::zeros(3, 2).unwrap();
    let bad = |opts: AisOptions| ais_log_partition(&rbm, &opts).unwrap_err();
    let base = AisOptions::default();
    assert!(matches!(
        bad(AisOptions {
            runs: 1,
            ..base.clone()
        }),
        RbmError::InvalidAis { field: "runs", .. }
    ));
    for schedule in [
        BetaSchedule::Linear { steps: 0 },
        BetaSchedule::Geometric {
            steps: 5,
            min_beta: 0.0,
        },
        BetaSchedule::Custom(vec![0.0, 0.7, 0.5, 1.0]),
        BetaSchedule::Custom(vec![0.1, 1.0]),
        BetaSchedule::Custom(vec![0.0, f64::NAN, 1.0]),
    ] {
        assert!(matches!(
            bad(AisOptions {
                schedule,
                ..base.clone()
            }),
            RbmError::InvalidAis {
                field: "schedule",
                ..
            }
        ));
    }
    assert_eq!(
        bad(AisOptions {
            base_visible_bias: Some(vec![0.0; 4]),
            ..base.clone()
        }),
        RbmError::ShapeMismatch {
            field: "base_visible_bias",
            expected: 3,
            found: 4
        }
    );
    assert!(matches!(
        bad(AisOptions {
            base_hidden_bias: Some(vec![0.0, f32::NAN]),
            ..base
        }),
        RbmError::NonFinite {
            field: "base_hidden_bias",
            index: 1,
            ..
        }
    ));
}

#[test]
fn pseudo_log_likelihood_matches_its_definition() {
    let (nv, nh) = (4, 3);
    let rbm = BinaryRbm::random(nv, nh, 1.2, 0.6, 13).unwrap();
    let log_z = brute_log_z(&rbm);
    let data = random_data(7, nv, 5);
    let mut want = 0.0;
    for v in data.chunks(nv) {
        for i in 0..nv {
            let mut flip = v.to_vec();
            flip[i] = 1.0 - flip[i];
            let (lp, lq) = (brute_log_p(&rbm, v, log_z), brute_log_p(&rbm, &flip, log_z));
            want += lp - log_sum_exp(&[lp, lq]);
        }
    }
    want /= 7.0;
    let pll = rbm.pseudo_log_likelihood(&data).unwrap();
    assert!((pll - want).abs() < 1e-9, "{pll} vs {want}");

    // The stochastic variant on one example is n_visible · log P(v_i | v_−i) for some i.
    let v = &data[..nv];
    let s = rbm.stochastic_pseudo_log_likelihood(v, 1).unwrap();
    let terms: Vec<f64> = (0..nv)
        .map(|i| {
            let mut flip = v.to_vec();
            flip[i] = 1.0 - flip[i];
            let (lp, lq) = (brute_log_p(&rbm, v, log_z), brute_log_p(&rbm, &flip, log_z));
            nv as f64 * (lp - log_sum_exp(&[lp, lq]))
        })
        .collect();
    assert!(
        terms.iter().any(|t| (t - s).abs() < 1e-9),
        "{s} not in {terms:?}"
    );
    // Averaged over many copies it is unbiased: within 5 standard errors.
    let n = 4000;
    let many: Vec<f32> = v.iter().copied().cycle().take(n * nv).collect();
    let est = rbm.stochastic_pseudo_log_likelihood(&many, 2).unwrap();
    let mean = terms.iter().sum::<f64>() / nv as f64;
    let sd = (terms.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / nv as f64).sqrt();
    assert!(
        (est - mean).abs() < 5.0 * sd / (n as f64).sqrt() + 1e-12,
        "{est} vs {mean}"
    );
}

#[test]
fn reconstruction_error_is_one_mean_field_pass() {
    let rbm = BinaryRbm::new(2, 1, vec![1.0, -2.0], vec![0.5, -0.5], vec![0.25]).unwrap();
    let data = [1.0, 0.0, 0.3, 1.0];
    let mut want = 0.0;
    for v in data.chunks(2) {
        let mh = sigmoid(0.25 + 1.0 * v[0] as f64 - 2.0 * v[1] as f64);
        let mv = [sigmoid(0.5 + 1.0 * mh), sigmoid(-0.5 - 2.0 * mh)];
        want += (v[0] as f64 - mv[0]).powi(2) + (v[1] as f64 - mv[1]).powi(2);
    }
    want /= 2.0;
    let got = rbm.reconstruction_error(&data).unwrap();
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
}

#[test]
fn invalid_parameters_and_data_give_typed_errors() {
    assert_eq!(
        BinaryRbm::new(2, 3, vec![0.0; 5], vec![0.0; 2], vec![0.0; 3]),
        Err(RbmError::ShapeMismatch {
            field: "weights",
            expected: 6,
            found: 5
        })
    );
    assert_eq!(
        BinaryRbm::new(2, 3, vec![0.0; 6], vec![0.0; 3], vec![0.0; 3]),
        Err(RbmError::ShapeMismatch {
            field: "visible_bias",
            expected: 2,
            found: 3
        })
    );
    assert_eq!(
        BinaryRbm::new(2, 3, vec![0.0; 6], vec![0.0; 2], vec![0.0; 1]),
        Err(RbmError::ShapeMismatch {
            field: "hidden_bias",
            expected: 3,
            found: 1
        })
    );
    let mut w = vec![0.0; 6];
    w[4] = f32::NAN;
    let err = BinaryRbm::new(2, 3, w, vec![0.0; 2], vec![0.0; 3]).unwrap_err();
    assert!(matches!(
        err,
        RbmError::NonFinite {
            field: "weights",
            index: 4,
            ..
        }
    ));
    assert!(err.to_string().contains("weights"));
    assert!(matches!(
        BinaryRbm::new(2, 3, vec![0.0; 6], vec![f32::INFINITY, 0.0], vec![0.0; 3]),
        Err(RbmError::NonFinite {
            field: "visible_bias",
            index: 0,
            ..
        })
    ));
    assert_eq!(
        BinaryRbm::zeros(0, 3),
        Err(RbmError::EmptyLayer { field: "n_visible" })
    );
    assert_eq!(
        BinaryRbm::zeros(3, 0),
        Err(RbmError::EmptyLayer { field: "n_hidden" })
    );

    let rbm = BinaryRbm::zeros(3, 2).unwrap();
    assert_eq!(
        rbm.pseudo_log_likelihood(&[0.0; 4]),
        Err(RbmError::DataShape {
            len: 4,
            n_visible: 3
        })
    );
    assert_eq!(average_log_likelihood(&rbm, &[]), Err(RbmError::EmptyData));
    assert_eq!(
        average_log_likelihood(&rbm, &[0.0, 1.0, 0.0, 1.0, 0.5, 0.0]),
        Err(RbmError::NotBinary {
            row: 1,
            col: 1,
            value: 0.5
        })
    );
    assert!(matches!(
        rbm.reconstruction_error(&[0.0, f32::NAN, 0.0]),
        Err(RbmError::NonFinite {
            field: "data",
            index: 1,
            ..
        })
    ));
    assert!(matches!(
        average_log_likelihood_with(&rbm, &[0.0; 3], f64::NAN),
        Err(RbmError::NonFinite { field: "log_z", .. })
    ));
    assert!(matches!(
        rbm.free_energy_visible(&[0.0; 2]),
        Err(RbmError::ShapeMismatch {
            field: "v",
            expected: 3,
            found: 2
        })
    ));
    // The factor graph has the documented groups.
    let model = rbm.to_model().unwrap();
    assert_eq!(model.group("visible").map(|g| g.len()), Some(3));
    assert_eq!(model.group("hidden").map(|g| g.len()), Some(2));
}

#[test]
fn overflowing_layer_sizes_are_a_typed_error() {
    assert_eq!(
        BinaryRbm::zeros(usize::MAX, 2),
        Err(RbmError::TooLarge {
            n_visible: usize::MAX,
            n_hidden: 2
        })
    );
    assert!(matches!(
        BinaryRbm::random(usize::MAX, 3, 1.0, 1.0, 0),
        Err(RbmError::TooLarge { .. })
    ));
    assert!(matches!(
        BinaryRbm::random(2, 2, f32::NAN, 1.0, 0),
        Err(RbmError::NonFinite {
            field: "weight_std",
            ..
        })
    ));
}

#[test]
fn blockgibbs_sampler_on_to_model_reproduces_the_exact_visible_marginal() {
    use blockgibbs_runtime::{BackendChoice, Sampler, SamplerOptions};
    use std::sync::Arc;
    let (nv, nh) = (3, 4);
    let rbm = BinaryRbm::random(nv, nh, 0.8, 0.5, 17).unwrap();
    let log_z = log_partition(&rbm).unwrap();
    let model = Arc::new(rbm.to_model().unwrap());
    let visible = model.group("visible").unwrap().clone();
    let chains = 4000;
    let mut sampler = Sampler::builder(model)
        .backend(BackendChoice::Reference)
        .options(SamplerOptions {
            chains,
            seed: 5,
            threads: 0,
            beta: 1.0,
        })
        .build()
        .unwrap();
    sampler.sweep(40).unwrap();
    let mut counts = vec![0usize; 1 << nv];
    for c in 0..chains {
        let x: usize = (0..nv)
            .map(|i| (sampler.value(visible.node(i), c).unwrap() as usize) << i)
            .sum();
        counts[x] += 1;
    }
    // One sample per independent chain: binomial errors per state.
    for (x, &n) in counts.iter().enumerate() {
        let p = (-rbm.free_energy_visible(&bits(x as u64, nv)).unwrap() - log_z).exp();
        let freq = n as f64 / chains as f64;
        let se = (p * (1.0 - p) / chains as f64).sqrt();
        assert!(
            (freq - p).abs() < 5.0 * se,
            "state {x}: {freq} vs {p} (se {se})"
        );
    }
}
