//! The supervised mixture: labelled samples scored by their class's components (the joint
//! density of point and label), unlabelled ones by all, against explicit sums; gradients
//! against finite differences; fitting keeps every class in its own components, with full and
//! partial labels; supervised sampling draws from the class's components; typed errors.

use std::f64::consts::PI;

use blockgibbs_models::dgd::{
    CovarianceType, DgdError, FitOptions, GaussianMixturePrior, GmmPriorConfig,
    SupervisedGaussianMixturePrior, SupervisedSampleType,
};
use blockgibbs_models::samples::Samples;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

const D: usize = 2;

/// Two classes of two components in two dimensions, isotropic, with set parameters.
fn small() -> SupervisedGaussianMixturePrior {
    let config = SupervisedGaussianMixturePrior::default_config(2, 2, D);
    let mut s = SupervisedGaussianMixturePrior::new(2, 2, &config, 3).unwrap();
    s.mixture_mut()
        .set_parameters(
            vec![-1.0, 0.0, -0.5, 0.8, 1.0, 0.2, 0.6, -0.9],
            vec![-0.3, 0.2, 0.0, -0.6],
            vec![0.1, -0.4, 0.7, 0.0],
        )
        .unwrap();
    s
}

fn weighted_pdf(m: &GaussianMixturePrior, k: usize, x: &[f64]) -> f64 {
    let w: Vec<f64> = m.mixture_probs();
    let var = m.log_var()[k].exp();
    let mean = m.mean(k);
    w[k] * (0..D)
        .map(|j| (-(x[j] - mean[j]).powi(2) / (2.0 * var)).exp() / (2.0 * PI * var).sqrt())
        .product::<f64>()
}

#[test]
fn labelled_samples_score_the_joint_density_of_point_and_class() {
    let s = small();
    let m = s.mixture();
    let x = Samples::from_rows(&[
        vec![-0.7, 0.3],
        vec![0.9, -0.2],
        vec![0.0, 0.0],
        vec![2.0, 2.0],
    ])
    .unwrap();
    let labels = [Some(0), Some(1), None, Some(0)];
    let forward = s.forward(&x, &labels).unwrap();
    let share = m.log_prior() / 4.0;
    for (i, row) in x.iter_rows().enumerate() {
        let allowed: Vec<usize> = match labels[i] {
            Some(c) => (2 * c..2 * c + 2).collect(),
            None => (0..4).collect(),
        };
        let explicit: f64 = allowed.iter().map(|&k| weighted_pdf(m, k, row)).sum();
        assert!(
            (forward[i] - (-explicit.ln() - share)).abs() < 1e-12,
            "row {i}"
        );
    }
    // p(x) = Σ_c p(x, c): the unlabelled score is the log-sum of the labelled ones.
    let row = Samples::new(vec![0.3, -0.1], 2).unwrap();
    let joint: Vec<f64> = (0..2)
        .map(|c| -s.forward(&row, &[Some(c)]).unwrap()[0] + m.log_prior())
        .collect();
    let unlabelled = -s.forward(&row, &[None]).unwrap()[0] + m.log_prior();
    assert!((unlabelled - (joint[0].exp() + joint[1].exp()).ln()).abs() < 1e-12);
    assert_eq!(
        s.log_prob(&x, &labels).unwrap(),
        forward.iter().map(|v| -v).collect::<Vec<_>>()
    );
}

#[test]
fn class_probabilities_split_the_weights() {
    let s = small();
    let w = s.mixture().mixture_probs();
    for c in 0..2 {
        let within = s.label_mixture_probs(c).unwrap();
        let total = w[2 * c] + w[2 * c + 1];
        assert!((within[0] - w[2 * c] / total).abs() < 1e-15);
        assert!((within[1] - w[2 * c + 1] / total).abs() < 1e-15);
        assert!((s.class_probs()[c] - total).abs() < 1e-15);
    }
    assert_eq!(s.class_components(1), 2..4);
    assert_eq!(s.class_of_component(3), 1);
}

#[test]
fn supervised_gradient_matches_finite_differences() {
    let s = small();
    let x = Samples::from_rows(&[
        vec![-0.7, 0.3],
        vec![0.9, -0.2],
        vec![0.0, 0.0],
        vec![2.0, 2.0],
    ])
    .unwrap();
    let labels = [Some(0), Some(1), None, Some(0)];
    let g = s.gradient(&x, &labels).unwrap().to_flat();
    let m = s.mixture();
    let flat: Vec<f64> = [m.means(), m.log_var(), m.weight_logits()].concat();
    for i in 0..flat.len() {
        let eval = |delta: f64| {
            let mut p = flat.clone();
            p[i] += delta;
            let mut q = s.clone();
            q.mixture_mut()
                .set_parameters(p[..8].to_vec(), p[8..12].to_vec(), p[12..].to_vec())
                .unwrap();
            q.objective(&x, &labels).unwrap()
        };
        let fd = (eval(1e-6) - eval(-1e-6)) / 2e-6;
        assert!(
            (g[i] - fd).abs() < 1e-7 * (1.0 + fd.abs()),
            "[{i}]: {} vs {fd}",
            g[i]
        );
    }
}

/// Three classes, each two sub-clusters (so that each class uses both of its components).
fn class_data(n_per_class: usize, seed: u64) -> (Samples, Vec<usize>) {
    let centres = [[-2.5, 0.0], [2.5, 0.0], [0.0, 2.5]];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut values = Vec::new();
    let mut labels = Vec::new();
    for (c, centre) in centres.iter().enumerate() {
        for i in 0..n_per_class {
            let offset = if i % 2 == 0 { -0.5 } else { 0.5 };
            for (j, m) in centre.iter().enumerate() {
                let z: f64 = rng.sample(StandardNormal);
                let shift = if j == 1 { offset } else { 0.0 };
                values.push(m + shift + 0.2 * z);
            }
            labels.push(c);
        }
    }
    (Samples::new(values, 2).unwrap(), labels)
}

fn fit_options() -> FitOptions {
    FitOptions {
        learning_rate: 0.05,
        lr_decay: 0.999,
        epochs: 1500,
        batch_size: 1000,
        seed: 2,
        ..FitOptions::default()
    }
}

#[test]
fn fitting_keeps_each_class_in_its_own_components() {
    let (x, truth) = class_data(100, 1);
    let mut config = SupervisedGaussianMixturePrior::default_config(3, 2, 2);
    config.softball_radius = 3.0;
    config.sd_mean = 1.5;
    config.sd_sd = 1.0;
    for (seed, mask_every) in [(1u64, 0usize), (2, 0), (3, 3)] {
        // mask_every = 3: every third sample is unlabelled (semi-supervised).
        let labels: Vec<Option<usize>> = truth
            .iter()
            .enumerate()
            .map(|(i, &c)| (mask_every == 0 || i % mask_every != 0).then_some(c))
            .collect();
        let mut s = SupervisedGaussianMixturePrior::new(3, 2, &config, seed).unwrap();
        let report = s.fit(&x, &labels, &fit_options(), |_| {}).unwrap();
        assert!(report.final_objective() < report.initial_objective);
        let best = s.mixture().clustering(&x).unwrap();
        for (i, (&k, &c)) in best.iter().zip(&truth).enumerate() {
            assert_eq!(
                s.class_of_component(k),
                c,
                "seed {seed}: sample {i} of class {c} is closest to component {k}"
            );
        }
        assert_eq!(s.predict_class(&x).unwrap(), truth);
    }
    // The control: without labels the same fits assign components to classes arbitrarily, so
    // the check above is not met by chance.
    let mut mixed_up = 0;
    for seed in [1u64, 2] {
        let mut s = SupervisedGaussianMixturePrior::new(3, 2, &config, seed).unwrap();
        s.fit(&x, &vec![None; truth.len()], &fit_options(), |_| {})
            .unwrap();
        let best = s.mixture().clustering(&x).unwrap();
        mixed_up += best
            .iter()
            .zip(&truth)
            .filter(|&(&k, &c)| s.class_of_component(k) != c)
            .count();
    }
    assert!(mixed_up > 0);
}

#[test]
fn supervised_sampling_draws_from_the_class_components() {
    let s = small();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let n = 20_000;
    for c in 0..2 {
        let within = s.label_mixture_probs(c).unwrap();
        let labels = vec![c; n];
        let z = s
            .supervised_sampling(&labels, SupervisedSampleType::Random, &mut rng)
            .unwrap();
        let m = s.mixture();
        for j in 0..D {
            let ks = [2 * c, 2 * c + 1];
            let mean: f64 = (0..2).map(|i| within[i] * m.mean(ks[i])[j]).sum();
            let second: f64 = (0..2)
                .map(|i| within[i] * (m.log_var()[ks[i]].exp() + m.mean(ks[i])[j].powi(2)))
                .sum();
            let sd = (second - mean * mean).sqrt();
            let sample_mean = z.chunks(D).map(|r| r[j]).sum::<f64>() / n as f64;
            assert!(
                (sample_mean - mean).abs() < 5.0 * sd / (n as f64).sqrt(),
                "class {c}"
            );
        }
        let origin = s
            .supervised_sampling(&[c], SupervisedSampleType::Origin, &mut rng)
            .unwrap();
        let top = if within[0] >= within[1] {
            2 * c
        } else {
            2 * c + 1
        };
        assert_eq!(origin, s.mixture().mean(top));
    }
}

#[test]
fn invalid_labels_and_shapes_are_typed_errors() {
    let s = small();
    let x = Samples::new(vec![0.0; 6], 2).unwrap();
    assert_eq!(
        s.forward(&x, &[Some(0), Some(2), None]),
        Err(DgdError::Label {
            row: 1,
            label: 2,
            n_class: 2
        })
    );
    assert_eq!(
        s.forward(&x, &[Some(0)]),
        Err(DgdError::LabelCount {
            expected: 3,
            found: 1
        })
    );
    let mut t = s.clone();
    assert!(matches!(
        t.fit(&x, &[None, Some(5), None], &FitOptions::default(), |_| {}),
        Err(DgdError::Label {
            row: 1,
            label: 5,
            ..
        })
    ));
    assert_eq!(t, s);
    assert!(matches!(
        s.gradient(&x, &[None, None, Some(9)]),
        Err(DgdError::Label { row: 2, .. })
    ));
    assert!(matches!(
        s.label_mixture_probs(2),
        Err(DgdError::Label { label: 2, .. })
    ));
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    assert!(matches!(
        s.supervised_sampling(&[0, 1, 7], SupervisedSampleType::Random, &mut rng),
        Err(DgdError::Label {
            row: 2,
            label: 7,
            ..
        })
    ));
    let wide = Samples::new(vec![0.0; 3], 3).unwrap();
    assert!(matches!(s.forward(&wide, &[None]), Err(DgdError::Data(_))));
    let config = GmmPriorConfig::new(5, 2);
    assert!(matches!(
        SupervisedGaussianMixturePrior::new(2, 2, &config, 0),
        Err(DgdError::InvalidCount {
            field: "n_components",
            ..
        })
    ));
    for (n_class, per_class, field) in [(0, 2, "n_class"), (2, 0, "per_class")] {
        let config = GmmPriorConfig::new(4, 2);
        assert!(matches!(
            SupervisedGaussianMixturePrior::new(n_class, per_class, &config, 0),
            Err(DgdError::InvalidCount { field: f, .. }) if f == field
        ));
    }
    assert_eq!(
        SupervisedGaussianMixturePrior::default_config(3, 2, 4).covariance,
        CovarianceType::Isotropic
    );
}
