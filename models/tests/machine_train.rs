//! Training of machines of any depth against exact answers on tiny machines (≤ 12 discrete
//! units, enumerated): the exact likelihood against full enumeration of the joint and its
//! gradient against finite differences; PCD's Rao–Blackwellised model statistics within five
//! standard errors of the exact moments; training runs (with and without layerwise
//! pretraining) that raise the exact log-likelihood of data drawn from a known DBM; typed
//! errors. The mean-field positive phase is tested in `machine_meanfield.rs`.

mod machine_support;

use blockgibbs_models::machine::{
    BoltzmannMachine, DeepEpochReport, DeepGradientEstimator, DeepTrainOptions, Layer,
    MachineError, MachineGradient, MeanFieldOptions, PretrainOptions, UnitKind, chain_statistics,
    deep_average_log_likelihood, deep_exact_gradient, deep_exact_model_stats, deep_log_partition,
    exact_gradient, fit_deep, log_partition, mean_field_positive_phase, mean_field_posterior,
    pretrain,
};
use blockgibbs_models::optim::{LrSchedule, Method};
use blockgibbs_models::rbm::{Penalty, Sampling};
use machine_support::{
    CAT_DEEP, enumerate_joint, layer_states, max_diff, random_machine, random_state,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Exact `ln p(v)` of every visible state from the joint enumerated by energies alone.
fn marginals_by_enumeration(m: &BoltzmannMachine) -> Vec<(Vec<f32>, f64)> {
    let joint = enumerate_joint(m);
    layer_states(&m.layers()[0])
        .into_iter()
        .map(|v| {
            let p: f64 = joint
                .iter()
                .filter(|(c, _)| c[0] == v)
                .map(|(_, p)| p)
                .sum();
            (v, p.ln())
        })
        .collect()
}

fn data_rows(m: &BoltzmannMachine, rows: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..rows)
        .flat_map(|_| random_state(&m.layers()[0], &mut rng))
        .collect()
}

#[test]
fn exact_likelihood_equals_enumeration_of_the_joint() {
    for (spec, seed) in [
        (CAT_DEEP.to_vec(), 1),
        (
            vec![
                (UnitKind::Spin, 2),
                (UnitKind::Binary, 2),
                (UnitKind::Binary, 2),
                (UnitKind::Categorical(3), 2),
            ],
            2,
        ),
    ] {
        let m = random_machine(&spec, 0.9, seed);
        let exact = marginals_by_enumeration(&m);
        let total: f64 = exact.iter().map(|(_, lp)| lp.exp()).sum();
        assert!((total - 1.0).abs() < 1e-9);
        let mut worst: f64 = 0.0;
        for (v, lp) in &exact {
            worst = worst.max((deep_average_log_likelihood(&m, v).unwrap() - lp).abs());
        }
        assert!(worst < 1e-9, "{spec:?}: worst |ln p(v) error| {worst:e}");
        let rows: Vec<f32> = exact.iter().flat_map(|(v, _)| v.clone()).collect();
        let mean = exact.iter().map(|(_, lp)| lp).sum::<f64>() / exact.len() as f64;
        assert!((deep_average_log_likelihood(&m, &rows).unwrap() - mean).abs() < 1e-9);
    }
    // Two layers: the same as the RBM functions (a Gaussian visible layer makes the model
    // enumeration switch to the hidden parity).
    let rbm = random_machine(&[(UnitKind::Gaussian, 2), (UnitKind::Binary, 3)], 0.6, 3);
    assert!((deep_log_partition(&rbm).unwrap() - log_partition(&rbm).unwrap()).abs() < 1e-9);
    let data = data_rows(&rbm, 5, 4);
    let deep = deep_exact_gradient(&rbm, &data).unwrap();
    let two = exact_gradient(&rbm, &data).unwrap();
    assert!(max_diff(&deep.gradient.flatten(), &two.gradient.flatten()) < 1e-9);
    assert!(max_diff(&deep.negative.flatten(), &two.negative.flatten()) < 1e-9);
}

fn check_gradient_by_finite_differences(spec: &[(UnitKind, usize)], seed: u64) -> f64 {
    let m = random_machine(spec, 0.7, seed);
    let data = data_rows(&m, 6, seed + 50);
    let grad = deep_exact_gradient(&m, &data).unwrap().gradient.flatten();
    let params = m.flat_params();
    assert_eq!(grad.len(), params.len());
    let mut worst: f64 = 0.0;
    for (i, &g) in grad.iter().enumerate() {
        let shifted = |delta: f64| {
            let mut p = params.clone();
            p[i] += delta;
            let moved = m.with_flat_params(&p).unwrap();
            let step = moved.flat_params()[i] - params[i];
            (deep_average_log_likelihood(&moved, &data).unwrap(), step)
        };
        let ((lp, dp), (lm, dm)) = (shifted(1e-3), shifted(-1e-3));
        let fd = -(lp - lm) / (dp - dm);
        worst = worst.max((fd - g).abs());
        assert!(
            (fd - g).abs() < 2e-4 * (1.0 + g.abs()),
            "{spec:?} parameter {i}: exact {g} vs finite difference {fd}"
        );
    }
    worst
}

#[test]
fn exact_deep_gradient_equals_finite_differences() {
    let a = check_gradient_by_finite_differences(&CAT_DEEP, 5);
    let b = check_gradient_by_finite_differences(
        &[
            (UnitKind::Binary, 3),
            (UnitKind::Gaussian, 2),
            (UnitKind::Binary, 2),
        ],
        6,
    );
    eprintln!("worst |exact − finite difference|: categorical {a:.2e}, gaussian {b:.2e}");
}

/// The exact mean and variance of each Rao–Blackwellised chain statistic: the even layers
/// enumerated with their exact marginal, the odd ones taken in expectation.
fn rao_blackwell_mean_and_var(m: &BoltzmannMachine) -> (Vec<f64>, Vec<f64>) {
    let log_z = deep_log_partition(m).unwrap();
    let (s0, s2) = (layer_states(&m.layers()[0]), layer_states(&m.layers()[2]));
    let n = MachineGradient::zeros(m).flatten().len();
    let (mut mean, mut sq) = (vec![0.0; n], vec![0.0; n]);
    for v in &s0 {
        for h2 in &s2 {
            let p = (-m
                .free_energy(&[Some(v.as_slice()), None, Some(h2.as_slice())])
                .unwrap()
                - log_z)
                .exp();
            let s = chain_statistics(m, &[v.clone(), vec![], h2.clone()])
                .unwrap()
                .flatten();
            for k in 0..n {
                mean[k] += p * s[k];
                sq[k] += p * s[k] * s[k];
            }
        }
    }
    let var = (0..n)
        .map(|k| (sq[k] - mean[k] * mean[k]).max(0.0))
        .collect();
    (mean, var)
}

#[test]
fn pcd_negative_phase_matches_the_exact_model_moments() {
    const CHAINS: usize = 2000;
    for (spec, seed) in [
        (CAT_DEEP.to_vec(), 11),
        (
            vec![
                (UnitKind::Binary, 3),
                (UnitKind::Gaussian, 2),
                (UnitKind::Binary, 2),
            ],
            12,
        ),
    ] {
        let m = random_machine(&spec, 0.7, seed);
        let exact = deep_exact_model_stats(&m).unwrap().flatten();
        let (mean, var) = rao_blackwell_mean_and_var(&m);
        // Rao–Blackwellisation is unbiased: its exact mean is the model moment.
        assert!(max_diff(&mean, &exact) < 1e-9);
        let penalty = Penalty { l2: 0.3, l1: 0.1 };
        let mut pcd =
            DeepGradientEstimator::new(30, CHAINS, MeanFieldOptions::default(), penalty, seed)
                .unwrap();
        let data = data_rows(&m, 8, seed);
        let mut worst: f64 = 0.0;
        for round in 0..2 {
            let est = pcd.estimate(&m, &data).unwrap();
            let got = est.negative.flatten();
            for k in 0..exact.len() {
                let tol = 5.0 * (var[k] / CHAINS as f64).sqrt() + 1e-9;
                let err = (got[k] - exact[k]).abs();
                worst = worst.max(err / tol);
                assert!(
                    err < tol,
                    "{spec:?} round {round} statistic {k}: {} vs {}",
                    got[k],
                    exact[k]
                );
            }
            // gradient = negative − positive (+ penalty on the weights only).
            let pos = mean_field_positive_phase(&m, &data, &MeanFieldOptions::default()).unwrap();
            assert_eq!(est.positive, pos.stats);
            let mut want = est.negative.flatten();
            let p = est.positive.flatten();
            want.iter_mut().zip(&p).for_each(|(w, p)| *w -= p);
            let n_w: usize = m.weights().iter().map(Vec::len).sum();
            let offset = want.len() - n_w;
            for (k, &w) in m.weights().concat().iter().enumerate() {
                let w = w as f64;
                want[offset + k] += 0.3 * w + 0.1 * w.signum();
            }
            assert!(max_diff(&est.gradient.flatten(), &want) < 1e-12);
        }
        assert_eq!(pcd.fantasy_particles().len(), m.n_layers());
        eprintln!("{spec:?}: worst PCD error / tolerance {worst:.3}");
    }
}

/// `n` visible rows drawn exactly from the marginal of a discrete machine.
fn sample_visible(m: &BoltzmannMachine, n: usize, seed: u64) -> Vec<f32> {
    let marginals = marginals_by_enumeration(m);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for _ in 0..n {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        let pick = marginals
            .iter()
            .find(|(_, lp)| {
                acc += lp.exp();
                u < acc
            })
            .unwrap_or(marginals.last().unwrap());
        out.extend_from_slice(&pick.0);
    }
    out
}

fn student() -> BoltzmannMachine {
    let layers = [4, 3, 2]
        .iter()
        .map(|&n| Layer::zeros(UnitKind::Binary, n).unwrap())
        .collect();
    BoltzmannMachine::random(layers, 0.1, 7).unwrap()
}

fn train_options(epochs: usize) -> DeepTrainOptions {
    DeepTrainOptions {
        k: 5,
        chains: 100,
        method: Method::adam(),
        lr: LrSchedule::Constant(0.03),
        epochs,
        batch_size: 40,
        seed: 3,
        ..DeepTrainOptions::default()
    }
}

#[test]
fn training_raises_the_exact_log_likelihood_of_dbm_data() {
    let teacher = random_machine(
        &[
            (UnitKind::Binary, 4),
            (UnitKind::Binary, 3),
            (UnitKind::Binary, 2),
        ],
        2.0,
        61,
    );
    let (train, test) = (
        sample_visible(&teacher, 400, 62),
        sample_visible(&teacher, 400, 63),
    );
    let ll = |m: &BoltzmannMachine, d: &[f32]| deep_average_log_likelihood(m, d).unwrap();
    let mut m = student();
    let before = (ll(&m, &train), ll(&m, &test));
    let mut curve = Vec::new();
    let mut record =
        |r: &DeepEpochReport, m: &BoltzmannMachine| curve.push((r.clone(), ll(m, &train)));
    let reports = fit_deep(&mut m, &train, &train_options(25), Some(&mut record)).unwrap();
    let after = (ll(&m, &train), ll(&m, &test));
    let target = (ll(&teacher, &train), ll(&teacher, &test));
    // Upper bound on any model's training log-likelihood: the empirical distribution's.
    let counts = train
        .chunks(4)
        .fold(std::collections::HashMap::new(), |mut h, r| {
            *h.entry(r.iter().map(|&x| x as u8).collect::<Vec<_>>())
                .or_insert(0.0) += 1.0;
            h
        });
    let empirical: f64 = counts
        .values()
        .map(|c: &f64| c / 400.0 * (c / 400.0).ln())
        .sum();
    eprintln!(
        "exact mean log-likelihood train/test: before {before:.4?}, after {after:.4?}, \
         teacher {target:.4?}, empirical bound {empirical:.4}"
    );
    assert_eq!(reports.len(), 25);
    assert_eq!(curve.len(), 25);
    assert_eq!(reports[24].steps, 25 * 10);
    assert!(curve.iter().zip(&reports).all(|((r, _), q)| r == q));
    // The teacher's data are far from uniform (the student starts near 4 ln ½ ≈ −2.77); a
    // per-example log-likelihood has a standard deviation below 2 nats, so the standard error
    // of a mean over 400 rows is below 0.1: a gain of 0.3 nats is a real signal.
    assert!(
        target.0 > before.0 + 0.4,
        "teacher {target:?} vs start {before:?}"
    );
    assert!(after.0 > before.0 + 0.3, "train {before:?} → {after:?}");
    assert!(after.1 > before.1 + 0.3, "test {before:?} → {after:?}");
    assert!(after.0 <= empirical + 1e-9);
    // Training recovers the teacher's fit of held-out data to within 0.1 nats.
    assert!(
        after.1 > target.1 - 0.1,
        "test {after:?} vs teacher {target:?}"
    );
    // Paired per-row gains on the held-out rows: the mean gain is many standard errors.
    let gains: Vec<f64> = test
        .chunks(4)
        .map(|v| ll(&m, v) - ll(&student(), v))
        .collect();
    let mean = gains.iter().sum::<f64>() / gains.len() as f64;
    let var = gains.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (gains.len() - 1) as f64;
    let se = (var / gains.len() as f64).sqrt();
    eprintln!("held-out gain {mean:.4} ± {se:.4} (standard error)");
    assert!(mean > 10.0 * se, "gain {mean} vs standard error {se}");
    // Deterministic for a seed.
    let mut again = student();
    fit_deep(&mut again, &train, &train_options(25), None).unwrap();
    assert_eq!(again, m);
}

#[test]
fn pretraining_then_fine_tuning_runs_and_learns() {
    let teacher = random_machine(
        &[
            (UnitKind::Binary, 4),
            (UnitKind::Binary, 3),
            (UnitKind::Binary, 2),
        ],
        2.0,
        61,
    );
    let train = sample_visible(&teacher, 400, 62);
    let mut m = student();
    let before = deep_average_log_likelihood(&m, &train).unwrap();
    let layerwise = PretrainOptions {
        sampling: Sampling::Pcd { k: 1, chains: 50 },
        method: Method::adam(),
        lr: LrSchedule::Constant(0.03),
        epochs: 10,
        batch_size: 40,
        seed: 5,
    };
    let pretrained = pretrain(&m, &train, &layerwise).unwrap();
    let mid = deep_average_log_likelihood(&pretrained, &train).unwrap();
    let options = DeepTrainOptions {
        pretrain: Some(layerwise),
        ..train_options(10)
    };
    let mut first_epoch = None;
    let mut record = |r: &DeepEpochReport, m: &BoltzmannMachine| {
        if r.epoch == 1 {
            first_epoch = Some(m.clone());
        }
    };
    fit_deep(&mut m, &train, &options, Some(&mut record)).unwrap();
    let after = deep_average_log_likelihood(&m, &train).unwrap();
    eprintln!(
        "pretraining alone {before:.4} → {mid:.4}; then 10 epochs of fine-tuning → {after:.4}"
    );
    assert!(mid > before + 0.1, "pretraining: {before} → {mid}");
    assert!(after > before + 0.3, "{before} → {after}");
    // Fine-tuning starts from the pretrained machine: one epoch with and without
    // pretraining ends in different places.
    let mut plain = student();
    fit_deep(&mut plain, &train, &train_options(1), None).unwrap();
    assert_ne!(first_epoch.unwrap(), plain);
}

#[test]
fn bad_options_and_data_are_typed_errors() {
    let m = student();
    let data = vec![1.0f32, 0.0, 1.0, 0.0];
    let mf = MeanFieldOptions::default();
    let field_of = |e: MachineError| match e {
        MachineError::InvalidOption { field, .. } => field,
        other => panic!("expected InvalidOption, got {other:?}"),
    };
    let est = |k, chains, mf, penalty| {
        field_of(DeepGradientEstimator::new(k, chains, mf, penalty, 0).unwrap_err())
    };
    let none = Penalty::default();
    assert_eq!(est(0, 10, mf, none), "k");
    assert_eq!(est(1, 0, mf, none), "chains");
    let zero_sweeps = MeanFieldOptions {
        max_iterations: 0,
        tolerance: 1e-6,
    };
    assert_eq!(est(1, 1, zero_sweeps, none), "mean_field.max_iterations");
    let bad_tol = MeanFieldOptions {
        max_iterations: 5,
        tolerance: f64::NAN,
    };
    assert_eq!(est(1, 1, bad_tol, none), "mean_field.tolerance");
    assert_eq!(est(1, 1, mf, Penalty { l2: -1.0, l1: 0.0 }), "penalty.l2");
    assert_eq!(
        est(
            1,
            1,
            mf,
            Penalty {
                l2: 0.0,
                l1: f64::NAN
            }
        ),
        "penalty.l1"
    );

    // A rejected run leaves the machine as it was.
    let run = |options: DeepTrainOptions, data: &[f32]| -> MachineError {
        let mut copy = m.clone();
        let e = fit_deep(&mut copy, data, &options, None).unwrap_err();
        assert_eq!(copy, m);
        e
    };
    let o = train_options(1);
    let zero_epochs = DeepTrainOptions {
        epochs: 0,
        ..o.clone()
    };
    assert_eq!(field_of(run(zero_epochs, &data)), "epochs");
    let zero_batch = DeepTrainOptions {
        batch_size: 0,
        ..o.clone()
    };
    assert_eq!(field_of(run(zero_batch, &data)), "batch_size");
    let bad_lr = DeepTrainOptions {
        lr: LrSchedule::Constant(-1.0),
        ..o.clone()
    };
    assert_eq!(field_of(run(bad_lr, &data)), "method/lr");
    assert!(matches!(
        run(o.clone(), &data[..3]),
        MachineError::DataShape { len: 3, units: 4 }
    ));
    assert!(matches!(
        run(o.clone(), &[]),
        MachineError::DataShape { len: 0, units: 4 }
    ));
    assert!(matches!(
        run(o.clone(), &[1.0, 0.0, 0.5, 0.0]),
        MachineError::InvalidState { index: 2, .. }
    ));
    assert!(matches!(
        mean_field_posterior(&m, &[1.0, 0.0], &mf).unwrap_err(),
        MachineError::ShapeMismatch {
            expected: 4,
            found: 2,
            ..
        }
    ));
    assert!(matches!(
        chain_statistics(&m, &[vec![1.0; 4], vec![]]).unwrap_err(),
        MachineError::ShapeMismatch {
            expected: 3,
            found: 2,
            ..
        }
    ));
    // Exact evaluation of a machine with Gaussian layers of both parities is impossible.
    let gauss = random_machine(&[(UnitKind::Gaussian, 2), (UnitKind::Gaussian, 2)], 0.1, 1);
    assert!(matches!(
        deep_log_partition(&gauss).unwrap_err(),
        MachineError::TooLargeForExact { .. }
    ));
    // Too many states to enumerate.
    let big = random_machine(&[(UnitKind::Binary, 30), (UnitKind::Binary, 30)], 0.1, 1);
    assert!(matches!(
        deep_log_partition(&big).unwrap_err(),
        MachineError::TooLargeForExact { limit, .. } if limit == 1 << 20
    ));
    // A PCD estimator whose chains belong to a machine of another depth.
    let mut pcd = DeepGradientEstimator::new(1, 4, mf, none, 0).unwrap();
    pcd.estimate(&m, &data).unwrap();
    let rbm = random_machine(&[(UnitKind::Binary, 4), (UnitKind::Binary, 3)], 0.1, 1);
    assert!(matches!(
        pcd.estimate(&rbm, &data).unwrap_err(),
        MachineError::ShapeMismatch { .. }
    ));
}
