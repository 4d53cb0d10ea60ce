//! RBM training against exact answers: the exact gradient by enumeration of the joint, PCD's
//! estimate within a tolerance set by the number of chains, CD's exact positive phase,
//! penalties, initialisation statistics, likelihood gains of `fit`, typed errors.

use blockgibbs_models::IsingError;
use blockgibbs_models::machine::MachineError;
use blockgibbs_models::optim::{LrSchedule, Method};
use blockgibbs_models::rbm::{
    BinaryRbm, EpochReport, GradientEstimator, Penalty, RbmError, Sampling, TrainError,
    TrainOptions, average_log_likelihood, exact_gradient, fit, glorot_init, hinton_init,
    log_partition, log_sum_exp, positive_phase, sigmoid,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn bits(x: u64, n: usize) -> Vec<f32> {
    (0..n).map(|k| ((x >> k) & 1) as f32).collect()
}

fn random_bits(rows: usize, nv: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..rows * nv)
        .map(|_| if rng.random::<bool>() { 1.0 } else { 0.0 })
        .collect()
}

/// `rows` examples drawn exactly from `rbm`'s visible marginal (inverse CDF over all 2^nv).
fn sample_exact(rbm: &BinaryRbm, rows: usize, seed: u64) -> Vec<f32> {
    let nv = rbm.n_visible();
    let log_z = log_partition(rbm).unwrap();
    let p: Vec<f64> = (0..1u64 << nv)
        .map(|x| (-rbm.free_energy_visible(&bits(x, nv)).unwrap() - log_z).exp())
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(rows * nv);
    for _ in 0..rows {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        let mut pick = p.len() - 1;
        for (x, &px) in p.iter().enumerate() {
            acc += px;
            if u < acc {
                pick = x;
                break;
            }
        }
        out.extend(bits(pick as u64, nv));
    }
    out
}

/// Brute force over the full joint: `(E_model[v hᵀ], E[v], E[h])` and the per-statistic
/// variances of `v_i E[h_j|v]`, `v_i`, `E[h_j|v]` under the model's visible marginal.
struct Brute {
    mean: Vec<f64>,
    var: Vec<f64>,
}

fn brute(rbm: &BinaryRbm) -> Brute {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    let mut log_w = Vec::new();
    for xv in 0..1u64 << nv {
        for xh in 0..1u64 << nh {
            log_w.push(-rbm.energy(&bits(xv, nv), &bits(xh, nh)).unwrap());
        }
    }
    let log_z = log_sum_exp(&log_w);
    let n_stats = nv * nh + nv + nh;
    // Joint moments E[v_i h_j], E[v_i], E[h_j].
    let mut mean = vec![0.0; n_stats];
    for xv in 0..1u64 << nv {
        for xh in 0..1u64 << nh {
            let p = (log_w[(xv as usize) << nh | xh as usize] - log_z).exp();
            let (v, h) = (bits(xv, nv), bits(xh, nh));
            for i in 0..nv {
                for j in 0..nh {
                    mean[i * nh + j] += p * (v[i] * h[j]) as f64;
                }
                mean[nv * nh + i] += p * v[i] as f64;
            }
            for j in 0..nh {
                mean[nv * nh + nv + j] += p * h[j] as f64;
            }
        }
    }
    // Variances of the Rao–Blackwellised per-chain statistics, from the visible marginal.
    let mut second = vec![0.0; n_stats];
    for xv in 0..1u64 << nv {
        let v = bits(xv, nv);
        let p = (-rbm.free_energy_visible(&v).unwrap() - log_z).exp();
        let mh = rbm.hidden_probs(&v).unwrap();
        for i in 0..nv {
            for j in 0..nh {
                second[i * nh + j] += p * (v[i] as f64 * mh[j]).powi(2);
            }
            second[nv * nh + i] += p * v[i] as f64;
        }
        for j in 0..nh {
            second[nv * nh + nv + j] += p * mh[j] * mh[j];
        }
    }
    let var = second.iter().zip(&mean).map(|(s, m)| s - m * m).collect();
    Brute { mean, var }
}

fn positive_brute(rbm: &BinaryRbm, data: &[f32]) -> Vec<f64> {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    let rows = data.len() / nv;
    let mut s = vec![0.0; nv * nh + nv + nh];
    for v in data.chunks_exact(nv) {
        for j in 0..nh {
            let x: f64 = rbm.hidden_bias()[j] as f64
                + (0..nv)
                    .map(|i| v[i] as f64 * rbm.weights()[i * nh + j] as f64)
                    .sum::<f64>();
            let m = sigmoid(x);
            for i in 0..nv {
                s[i * nh + j] += v[i] as f64 * m / rows as f64;
            }
            s[nv * nh + nv + j] += m / rows as f64;
        }
        for i in 0..nv {
            s[nv * nh + i] += v[i] as f64 / rows as f64;
        }
    }
    s
}

fn flat(w: &[f64], a: &[f64], b: &[f64]) -> Vec<f64> {
    w.iter().chain(a).chain(b).copied().collect()
}

#[test]
fn exact_gradient_matches_joint_enumeration() {
    for &(nv, nh) in &[(4, 3), (3, 5)] {
        let rbm = BinaryRbm::random(nv, nh, 0.7, 0.4, 11).unwrap();
        let data = random_bits(25, nv, 3);
        let g = exact_gradient(&rbm, &data, &Penalty::default()).unwrap();
        let b = brute(&rbm);
        let pos = positive_brute(&rbm, &data);
        let expected: Vec<f64> = b.mean.iter().zip(&pos).map(|(n, p)| n - p).collect();
        for (got, want) in g.gradient.flatten().iter().zip(&expected) {
            assert!((got - want).abs() < 1e-9, "{nv}x{nh}: {got} vs {want}");
        }
    }
}

#[test]
fn pcd_gradient_approaches_exact_within_sampling_error() {
    let rbm = BinaryRbm::random(4, 3, 0.8, 0.5, 5).unwrap();
    let data = random_bits(30, 4, 9);
    let exact = exact_gradient(&rbm, &data, &Penalty::default())
        .unwrap()
        .gradient
        .flatten();
    let b = brute(&rbm);
    let chains = 20_000;
    let mut est =
        GradientEstimator::new(Sampling::Pcd { k: 10, chains }, Penalty::default(), 2024).unwrap();
    // First call: burn-in from uniform bits; the second continues the persistent chains.
    est.estimate(&rbm, &data).unwrap();
    let first = est.fantasy_particles().to_vec();
    assert_eq!(first.len(), chains * 4);
    let g = est.estimate(&rbm, &data).unwrap().gradient.flatten();
    assert_ne!(first, est.fantasy_particles());
    for (k, ((got, want), var)) in g.iter().zip(&exact).zip(&b.var).enumerate() {
        // Chains are independent, so the standard error is sd / √chains; allow 5 of them.
        let tol = 5.0 * (var / chains as f64).sqrt() + 1e-6;
        assert!(
            (got - want).abs() < tol,
            "component {k}: {got} vs exact {want} (tol {tol})"
        );
    }
}

#[test]
fn cd_k_with_many_chains_and_sweeps_approaches_exact() {
    // CD-k's chains start at the data; with many sweeps they forget it. Replicating a batch
    // leaves the positive phase unchanged and gives one independent chain per copy.
    let rbm = BinaryRbm::random(4, 3, 0.8, 0.5, 21).unwrap();
    let data = random_bits(20, 4, 12);
    let copies = 1000;
    let batch = data.repeat(copies);
    let exact = exact_gradient(&rbm, &data, &Penalty::default())
        .unwrap()
        .gradient
        .flatten();
    let b = brute(&rbm);
    let mut est = GradientEstimator::new(Sampling::Cd { k: 30 }, Penalty::default(), 3).unwrap();
    let g = est.estimate(&rbm, &batch).unwrap().gradient.flatten();
    let chains = (20 * copies) as f64;
    for (k, ((got, want), var)) in g.iter().zip(&exact).zip(&b.var).enumerate() {
        let tol = 5.0 * (var / chains).sqrt() + 1e-6;
        assert!(
            (got - want).abs() < tol,
            "component {k}: {got} vs {want} (tol {tol})"
        );
    }
}

#[test]
fn cd1_positive_phase_is_the_exact_positive_term() {
    let rbm = BinaryRbm::random(4, 3, 0.6, 0.3, 8).unwrap();
    let data = random_bits(17, 4, 1);
    let mut est = GradientEstimator::new(Sampling::Cd { k: 1 }, Penalty::default(), 0).unwrap();
    let e = est.estimate(&rbm, &data).unwrap();
    let pos = positive_brute(&rbm, &data);
    let got = flat(&e.positive.vh, &e.positive.v, &e.positive.h);
    for (g, p) in got.iter().zip(&pos) {
        assert!((g - p).abs() < 1e-12);
    }
    assert_eq!(positive_phase(&rbm, &data).unwrap(), e.positive);
    // Gradient = negative − positive; CD keeps no persistent chains.
    let neg = flat(&e.negative.vh, &e.negative.v, &e.negative.h);
    for ((g, n), p) in e.gradient.flatten().iter().zip(&neg).zip(&pos) {
        assert!((g - (n - p)).abs() < 1e-12);
    }
    assert!(est.fantasy_particles().is_empty());
    // The negative visible statistics are means of binary samples over the batch rows.
    for &x in &e.negative.v {
        let scaled = x * 17.0;
        assert!((scaled - scaled.round()).abs() < 1e-9);
    }
}

#[test]
fn penalties_add_exactly_lambda_w_and_lambda_sign_w() {
    let mut w = BinaryRbm::random(4, 3, 0.5, 0.2, 4)
        .unwrap()
        .weights()
        .to_vec();
    w[5] = 0.0; // sign(0) = 0
    let rbm = BinaryRbm::new(4, 3, w.clone(), vec![0.1; 4], vec![-0.2; 3]).unwrap();
    let data = random_bits(10, 4, 6);
    let (l2, l1) = (0.3, 0.05);
    for sampling in [Sampling::Cd { k: 2 }, Sampling::Pcd { k: 1, chains: 7 }] {
        let plain = GradientEstimator::new(sampling, Penalty::default(), 77)
            .unwrap()
            .estimate(&rbm, &data)
            .unwrap()
            .gradient;
        for penalty in [
            Penalty { l2, l1: 0.0 },
            Penalty { l2: 0.0, l1 },
            Penalty { l2, l1 },
        ] {
            let pen = GradientEstimator::new(sampling, penalty, 77)
                .unwrap()
                .estimate(&rbm, &data)
                .unwrap()
                .gradient;
            assert_eq!(pen.visible_bias, plain.visible_bias);
            assert_eq!(pen.hidden_bias, plain.hidden_bias);
            for ((p, q), &wi) in pen.weights.iter().zip(&plain.weights).zip(&w) {
                let wi = wi as f64;
                let sign = if wi > 0.0 {
                    1.0
                } else if wi < 0.0 {
                    -1.0
                } else {
                    0.0
                };
                let want = penalty.l2 * wi + penalty.l1 * sign;
                assert!((p - q - want).abs() < 1e-12, "{p} − {q} ≠ {want}");
            }
        }
    }
    // The exact gradient too.
    let plain = exact_gradient(&rbm, &data, &Penalty::default()).unwrap();
    let pen = exact_gradient(&rbm, &data, &Penalty { l2, l1: 0.0 }).unwrap();
    for ((p, q), &wi) in pen
        .gradient
        .weights
        .iter()
        .zip(&plain.gradient.weights)
        .zip(&w)
    {
        assert!((p - q - l2 * wi as f64).abs() < 1e-12);
    }
}

#[test]
fn hinton_init_statistics() {
    let (nv, nh) = (100, 60);
    let mut data = random_bits(40, nv, 2);
    for r in 0..40 {
        data[r * nv] = 1.0; // column 0 constant 1 → clipped logit
        data[r * nv + 1] = 0.0; // column 1 constant 0
        data[r * nv + 2] = if r < 10 { 1.0 } else { 0.0 }; // mean 1/4
    }
    let rbm = hinton_init(nv, nh, &data, 3).unwrap();
    assert_eq!(rbm, hinton_init(nv, nh, &data, 3).unwrap());
    let w: Vec<f64> = rbm.weights().iter().map(|&x| x as f64).collect();
    let n = w.len() as f64;
    let mean = w.iter().sum::<f64>() / n;
    let sd = (w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    assert!(mean.abs() < 5.0 * 0.01 / n.sqrt(), "mean {mean}");
    assert!((sd - 0.01).abs() < 0.01 * 5.0 / (2.0 * n).sqrt(), "sd {sd}");
    assert!(rbm.hidden_bias().iter().all(|&b| b == 0.0));
    let clip = 1e-3f64;
    assert!((rbm.visible_bias()[0] as f64 - ((1.0 - clip) / clip).ln()).abs() < 1e-5);
    assert!((rbm.visible_bias()[1] as f64 - (clip / (1.0 - clip)).ln()).abs() < 1e-5);
    assert!((rbm.visible_bias()[2] as f64 - (1.0f64 / 3.0).ln()).abs() < 1e-6);
    for i in 3..nv {
        let p = (0..40).map(|r| data[r * nv + i] as f64).sum::<f64>() / 40.0;
        let p = p.clamp(clip, 1.0 - clip);
        assert!((rbm.visible_bias()[i] as f64 - (p / (1.0 - p)).ln()).abs() < 1e-5);
    }
}

#[test]
fn glorot_init_statistics() {
    let (nv, nh) = (120, 80);
    let rbm = glorot_init(nv, nh, 9).unwrap();
    assert_eq!(rbm, glorot_init(nv, nh, 9).unwrap());
    assert_ne!(rbm, glorot_init(nv, nh, 10).unwrap());
    let r = (6.0 / (nv + nh) as f64).sqrt();
    let w: Vec<f64> = rbm.weights().iter().map(|&x| x as f64).collect();
    let n = w.len() as f64;
    assert!(w.iter().all(|x| x.abs() <= r));
    let mean = w.iter().sum::<f64>() / n;
    let var = w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    // U(−r, r): variance r²/3, sd of the sample mean r/√(3n); var of x² is 4r⁴/45.
    assert!(mean.abs() < 5.0 * r / (3.0 * n).sqrt(), "mean {mean}");
    assert!(
        (var - r * r / 3.0).abs() < 5.0 * (4.0 * r.powi(4) / 45.0 / n).sqrt(),
        "var {var}"
    );
    assert!(rbm.visible_bias().iter().all(|&b| b == 0.0));
    assert!(rbm.hidden_bias().iter().all(|&b| b == 0.0));
}

fn train_case(sampling: Sampling, epochs: usize) -> (f64, f64, f64, Vec<f64>) {
    train_case_seeded(sampling, epochs, 5)
}

fn train_case_seeded(sampling: Sampling, epochs: usize, seed: u64) -> (f64, f64, f64, Vec<f64>) {
    // Hidden units switch on overlapping groups of visible units: strongly correlated data
    // that the independent (hinton-initialised) model fits badly.
    let groups: [&[usize]; 4] = [&[0, 1, 2], &[3, 4, 5], &[0, 3], &[1, 4, 5]];
    let mut w = vec![0.0f32; 24];
    for (j, g) in groups.iter().enumerate() {
        for &i in g.iter() {
            w[i * 4 + j] = 3.0;
        }
    }
    let truth = BinaryRbm::new(6, 4, w, vec![-2.5; 6], vec![-4.0; 4]).unwrap();
    let data = sample_exact(&truth, 1000, 7);
    let ll_truth = average_log_likelihood(&truth, &data).unwrap();
    let mut rbm = hinton_init(6, 4, &data, 1).unwrap();
    let ll_start = average_log_likelihood(&rbm, &data).unwrap();
    let options = TrainOptions {
        sampling,
        penalty: Penalty::default(),
        method: Method::adam(),
        lr: LrSchedule::Constant(0.02),
        epochs,
        batch_size: 50,
        seed,
        ..TrainOptions::default()
    };
    let mut curve = Vec::new();
    let mut cb = |r: &EpochReport, m: &BinaryRbm| {
        assert_eq!(r.epoch, curve.len() + 1);
        curve.push(average_log_likelihood(m, &data).unwrap());
    };
    let reports = fit(&mut rbm, &data, &options, Some(&mut cb)).unwrap();
    assert_eq!(reports.len(), epochs);
    assert_eq!(reports.last().unwrap().steps, (epochs * 20) as u64);
    let ll_end = average_log_likelihood(&rbm, &data).unwrap();
    // (the exact evaluation sums in parallel, so equal only up to rounding)
    assert!((curve.last().unwrap() - ll_end).abs() < 1e-12);
    (ll_truth, ll_start, ll_end, curve)
}

/// The gap to the generator after 60 epochs of PCD-1 varies with the seed: over seeds 0–9
/// it was 0.016–0.087 nats (mean 0.042, sd 0.022). The mean over four seeds has sd ≈ 0.011,
/// so the 0.08 bound sits about 3.5 sd above its expected value.
#[test]
fn pcd_training_raises_exact_log_likelihood_to_near_the_generator() {
    let mut ends = Vec::new();
    let mut truth = 0.0;
    for seed in 0..4 {
        let (t, start, end, _) = train_case_seeded(Sampling::Pcd { k: 1, chains: 100 }, 60, seed);
        eprintln!("PCD seed {seed}: truth {t:.4}, start {start:.4}, end {end:.4}");
        assert!(end > start + 0.3, "seed {seed}: start {start}, end {end}");
        ends.push(end);
        truth = t;
    }
    let mean = ends.iter().sum::<f64>() / ends.len() as f64;
    assert!(mean > truth - 0.08, "truth {truth}, mean end {mean}");
}

#[test]
fn cd_training_raises_exact_log_likelihood() {
    let (truth, start, end, _) = train_case(Sampling::Cd { k: 1 }, 30);
    eprintln!("CD-1: truth {truth:.4}, start {start:.4}, end {end:.4}");
    assert!(end > start + 0.3, "start {start}, end {end}");
}

#[test]
#[ignore = "longer run: PCD-5 for 200 epochs"]
fn pcd_long_training_matches_the_generator_closely() {
    let (truth, start, end, _) = train_case(Sampling::Pcd { k: 5, chains: 500 }, 200);
    eprintln!("PCD-5 long: truth {truth:.4}, start {start:.4}, end {end:.4}");
    assert!(end > truth - 0.03, "truth {truth}, end {end}");
}

#[test]
fn fit_is_deterministic_for_a_seed() {
    let data = random_bits(60, 5, 4);
    let options = TrainOptions {
        epochs: 3,
        batch_size: 16,
        sampling: Sampling::Pcd { k: 1, chains: 10 },
        ..TrainOptions::default()
    };
    let run = |opts: &TrainOptions| {
        let mut rbm = glorot_init(5, 3, 0).unwrap();
        fit(&mut rbm, &data, opts, None).unwrap();
        rbm
    };
    assert_eq!(run(&options), run(&options));
    let other = TrainOptions {
        seed: 1,
        ..options.clone()
    };
    assert_ne!(run(&options), run(&other));
}

#[test]
fn bad_input_gives_typed_errors() {
    let rbm = BinaryRbm::zeros(4, 3).unwrap();
    let mut est = GradientEstimator::new(Sampling::Cd { k: 1 }, Penalty::default(), 0).unwrap();
    assert_eq!(
        est.estimate(&rbm, &[0.0; 7]).unwrap_err(),
        TrainError::Rbm(RbmError::DataShape {
            len: 7,
            n_visible: 4
        })
    );
    assert_eq!(
        est.estimate(&rbm, &[]).unwrap_err(),
        TrainError::Rbm(RbmError::EmptyData)
    );
    assert_eq!(
        est.estimate(&rbm, &[0.0, 1.0, 0.5, 0.0]).unwrap_err(),
        TrainError::Rbm(RbmError::NotBinary {
            row: 0,
            col: 2,
            value: 0.5
        })
    );
    let err = GradientEstimator::new(Sampling::Pcd { k: 1, chains: 0 }, Penalty::default(), 0)
        .unwrap_err();
    assert!(matches!(
        err,
        TrainError::InvalidOption {
            field: "chains",
            ..
        }
    ));
    let err = GradientEstimator::new(Sampling::Cd { k: 0 }, Penalty::default(), 0).unwrap_err();
    assert!(matches!(err, TrainError::InvalidOption { field: "k", .. }));
    for (penalty, field) in [
        (Penalty { l2: -1.0, l1: 0.0 }, "penalty.l2"),
        (
            Penalty {
                l2: 0.0,
                l1: f64::NAN,
            },
            "penalty.l1",
        ),
    ] {
        let err = GradientEstimator::new(Sampling::Cd { k: 1 }, penalty, 0).unwrap_err();
        assert!(matches!(err, TrainError::InvalidOption { field: f, .. } if f == field));
    }
    // PCD chains are sized on first use; a machine of another width is rejected.
    let mut pcd =
        GradientEstimator::new(Sampling::Pcd { k: 1, chains: 3 }, Penalty::default(), 0).unwrap();
    pcd.estimate(&rbm, &[1.0, 0.0, 1.0, 0.0]).unwrap();
    let wider = BinaryRbm::zeros(5, 3).unwrap();
    assert!(matches!(
        pcd.estimate(&wider, &[1.0; 5]).unwrap_err(),
        TrainError::Sampler(e) if matches!(*e, MachineError::ShapeMismatch { expected: 4, found: 5, .. })
    ));
    pcd.reset_chains();
    assert!(pcd.fantasy_particles().is_empty());
    pcd.estimate(&wider, &[1.0; 5]).unwrap();
    assert_eq!(pcd.fantasy_particles().len(), 15);

    let data = [1.0, 0.0, 1.0, 0.0];
    let mut m = rbm.clone();
    let nan_lr = TrainOptions {
        lr: LrSchedule::Constant(f64::NAN),
        ..TrainOptions::default()
    };
    assert!(matches!(
        fit(&mut m, &data, &nan_lr, None).unwrap_err(),
        TrainError::Optimizer(e) if matches!(*e, IsingError::InvalidParameter { .. })
    ));
    let zero_batch = TrainOptions {
        batch_size: 0,
        ..TrainOptions::default()
    };
    assert!(matches!(
        fit(&mut m, &data, &zero_batch, None).unwrap_err(),
        TrainError::InvalidOption {
            field: "batch_size",
            ..
        }
    ));
    let zero_epochs = TrainOptions {
        epochs: 0,
        ..TrainOptions::default()
    };
    assert!(matches!(
        fit(&mut m, &data, &zero_epochs, None).unwrap_err(),
        TrainError::InvalidOption {
            field: "epochs",
            ..
        }
    ));
    assert!(matches!(
        fit(&mut m, &[1.0, 0.0, 1.0], &TrainOptions::default(), None).unwrap_err(),
        TrainError::Rbm(RbmError::DataShape { .. })
    ));
    assert_eq!(m, rbm, "failed fits leave the machine unchanged");
    assert!(matches!(
        hinton_init(4, 3, &[2.0, 0.0, 0.0, 0.0], 0).unwrap_err(),
        TrainError::Rbm(RbmError::NotBinary { .. })
    ));
    assert!(matches!(
        glorot_init(0, 3, 0).unwrap_err(),
        TrainError::Rbm(RbmError::EmptyLayer { .. })
    ));
}
