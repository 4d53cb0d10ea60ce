//! The representation layer: constructors, joint training with the prior under a quadratic
//! "decoder" loss whose optimum is known in closed form (prior frozen, and prior trained
//! jointly), the report's bookkeeping, and typed errors from the loss hook and the options.

use blockgibbs_models::dgd::{
    CovarianceType, DgdError, DirichletPrior, FitProgress, GaussianMixturePrior, LogVariancePrior,
    RepresentationFitOptions, RepresentationLayer, SoftballPrior, fit_representations,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Targets `t_i` (`n × d`).
fn targets(n: usize, d: usize, shift: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n * d)
        .map(|i| shift * ((i % d) as f64 + 1.0) + rng.random_range(-1.0..1.0))
        .collect()
}

/// A representation loss as a trait object.
type Hook<'a> = &'a mut dyn FnMut(&[usize], &[f64], &mut [f64]) -> Result<f64, String>;

/// ℓ_i(z) = (λ/2)|z − t_i|², a "decoder" whose reconstruction pulls z_i towards t_i.
fn quadratic(
    t: Vec<f64>,
    lambda: f64,
    d: usize,
) -> impl FnMut(&[usize], &[f64], &mut [f64]) -> Result<f64, String> {
    move |rows, z, grad| {
        let mut loss = 0.0;
        for (r, &i) in rows.iter().enumerate() {
            for j in 0..d {
                let diff = z[r * d + j] - t[i * d + j];
                loss += 0.5 * lambda * diff * diff;
                grad[r * d + j] = lambda * diff;
            }
        }
        Ok(loss)
    }
}

fn single_gaussian(cov: CovarianceType, mean: Vec<f64>, log_var: Vec<f64>) -> GaussianMixturePrior {
    let d = mean.len();
    GaussianMixturePrior::from_parts(
        cov,
        SoftballPrior::new(d, 2.0, 5.0).unwrap(),
        (cov != CovarianceType::Fixed).then(|| LogVariancePrior::new(0.0, 1.0).unwrap()),
        DirichletPrior::new(1, 1.0).unwrap(),
        mean,
        log_var,
        vec![0.0],
    )
    .unwrap()
}

fn options(epochs: usize, batch_size: usize, train_prior: bool) -> RepresentationFitOptions {
    RepresentationFitOptions {
        representation_lr: 0.05,
        prior_lr: 0.05,
        lr_decay: 0.998,
        epochs,
        batch_size,
        seed: 4,
        train_prior,
        ..RepresentationFitOptions::default()
    }
}

#[test]
fn constructors_fill_the_layer_or_name_the_bad_entry() {
    let z = RepresentationLayer::zeros(4, 3).unwrap();
    assert_eq!((z.n_samples(), z.dim()), (4, 3));
    assert!(z.values().iter().all(|&v| v == 0.0));
    let f = RepresentationLayer::filled(2, 2, 0.5).unwrap();
    assert_eq!(f.values(), &[0.5; 4]);
    let m = RepresentationLayer::from_matrix(2, 2, vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    assert_eq!(m.row(1), &[3.0, 4.0]);
    assert_eq!(m.to_samples().as_slice(), m.values());
    assert_eq!(
        RepresentationLayer::from_matrix(2, 2, vec![0.0; 3]),
        Err(DgdError::Shape {
            field: "values",
            expected: 4,
            found: 3
        })
    );
    assert!(matches!(
        RepresentationLayer::from_matrix(2, 2, vec![0.0, 0.0, f64::NAN, 0.0]),
        Err(DgdError::NonFinite {
            field: "values",
            index: 2,
            ..
        })
    ));
    assert!(matches!(
        RepresentationLayer::filled(2, 2, f64::INFINITY),
        Err(DgdError::InvalidParameter { field: "value", .. })
    ));
    assert!(matches!(
        RepresentationLayer::zeros(0, 2),
        Err(DgdError::InvalidCount {
            field: "n_samples",
            ..
        })
    ));
    assert!(matches!(
        RepresentationLayer::zeros(3, 0),
        Err(DgdError::InvalidCount { field: "dim", .. })
    ));
}

#[test]
fn with_the_prior_frozen_each_representation_reaches_its_closed_form_optimum() {
    // One diagonal Gaussian N(μ, diag σ²): z_i* = (λ t_i + μ/σ²) / (λ + 1/σ²) per coordinate.
    let (n, d, lambda) = (20, 3, 2.0);
    let mu = vec![0.5, -1.0, 0.2];
    let log_var = vec![-1.0, 0.0, 0.7];
    let mut prior = single_gaussian(CovarianceType::Diagonal, mu.clone(), log_var.clone());
    let before = prior.clone();
    let t = targets(n, d, 0.0, 1);
    let mut layer = RepresentationLayer::zeros(n, d).unwrap();
    let mut loss = quadratic(t.clone(), lambda, d);
    let mut epochs_seen = 0;
    let report = fit_representations(
        &mut layer,
        &mut prior,
        &mut loss,
        &options(4000, 7, false),
        |p: &FitProgress| epochs_seen = p.epoch,
    )
    .unwrap();
    assert_eq!(prior, before, "a frozen prior is not trained");
    assert_eq!((epochs_seen, report.history.len()), (4000, 4000));
    for i in 0..n {
        for j in 0..d {
            let prec = (-log_var[j]).exp();
            let expected = (lambda * t[i * d + j] + mu[j] * prec) / (lambda + prec);
            let got = layer.row(i)[j];
            assert!(
                (got - expected).abs() < 1e-4,
                "({i}, {j}): {got} vs {expected}"
            );
        }
    }
    // The report's final terms, recomputed independently.
    let decoder: f64 = (0..n * d)
        .map(|i| 0.5 * lambda * (layer.values()[i] - t[i]).powi(2))
        .sum();
    let nll: f64 = -prior
        .log_density(&layer.to_samples())
        .unwrap()
        .iter()
        .sum::<f64>();
    assert!((report.final_loss - decoder).abs() < 1e-9);
    assert!((report.final_prior_nll - nll).abs() < 1e-9);
    let objective = (decoder + nll - prior.log_prior()) / n as f64;
    assert!((report.final_objective - objective).abs() < 1e-12);
}

#[test]
fn trained_jointly_representations_and_mean_reach_the_closed_form_optimum() {
    // One unit-variance Gaussian N(μ, I) with the softball prior on μ. At the optimum
    // z_i = (λ t_i + μ)/(λ + 1), and μ = ρ t̄/|t̄| with ρ the root of
    // ρ − |t̄| + ((λ + 1)/(N λ)) (s/r) σ(s(ρ/r − 1)) = 0: the softball pulls μ back towards the ball.
    let (n, d, lambda) = (10, 2, 1.0);
    let (radius, hardness) = (2.0, 5.0);
    let t = targets(n, d, 1.6, 2);
    let tbar: Vec<f64> = (0..d)
        .map(|j| (0..n).map(|i| t[i * d + j]).sum::<f64>() / n as f64)
        .collect();
    let tnorm = tbar.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!(
        tnorm > radius,
        "the mean target lies outside the ball, where the prior pulls"
    );
    let c = (lambda + 1.0) / (n as f64 * lambda) * hardness / radius;
    let h = |rho: f64| rho - tnorm + c / (1.0 + (-hardness * (rho / radius - 1.0)).exp());
    let (mut lo, mut hi) = (0.0, tnorm);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if h(mid) > 0.0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let rho = 0.5 * (lo + hi);
    assert!(tnorm - rho > 0.1, "the prior's pull is visible");
    let mu: Vec<f64> = tbar.iter().map(|v| rho * v / tnorm).collect();

    let mut prior = single_gaussian(CovarianceType::Fixed, vec![0.0; d], vec![]);
    let mut layer = RepresentationLayer::zeros(n, d).unwrap();
    let mut loss = quadratic(t.clone(), lambda, d);
    // Two equal mini-batches per epoch. (With a short last batch, Adam's per-coordinate
    // normalisation correlates with the periodic batch pattern and settles about 1e-3 away.)
    let report = fit_representations(
        &mut layer,
        &mut prior,
        &mut loss,
        &options(5000, 5, true),
        |_| {},
    )
    .unwrap();
    assert!(report.final_objective < report.history[0]);
    for (j, (got, want)) in prior.mean(0).iter().zip(&mu).enumerate() {
        assert!((got - want).abs() < 1e-4, "μ[{j}]: {got} vs {want}");
    }
    for i in 0..n {
        for j in 0..d {
            let expected = (lambda * t[i * d + j] + mu[j]) / (lambda + 1.0);
            assert!((layer.row(i)[j] - expected).abs() < 1e-4, "z[{i}, {j}]");
        }
    }
}

#[test]
fn loss_hook_failures_and_bad_options_are_typed_errors() {
    let mut prior = single_gaussian(CovarianceType::Isotropic, vec![0.0; 2], vec![0.0]);
    let start = RepresentationLayer::zeros(5, 2).unwrap();
    let run = |loss: Hook<'_>, opts: RepresentationFitOptions, prior: &mut GaussianMixturePrior| {
        let mut layer = start.clone();
        let before = prior.clone();
        let mut hook = |r: &[usize], z: &[f64], g: &mut [f64]| loss(r, z, g);
        let e = fit_representations(&mut layer, prior, &mut hook, &opts, |_| {}).unwrap_err();
        assert_eq!(layer, start);
        assert_eq!(*prior, before);
        e
    };
    let e = run(
        &mut |_, _, _| Err("decoder exploded".into()),
        options(3, 2, true),
        &mut prior,
    );
    assert_eq!(
        e,
        DgdError::LossHook {
            reason: "decoder exploded".into()
        }
    );
    let e = run(
        &mut |rows, _, g| {
            if let Some(r) = rows.iter().position(|&i| i == 3) {
                g[r * 2 + 1] = f64::NAN;
            }
            Ok(0.0)
        },
        options(3, 5, true),
        &mut prior,
    );
    assert!(matches!(
        e,
        DgdError::LossNonFinite {
            what: "gradient",
            row: 3,
            col: 1,
            ..
        }
    ));
    let e = run(&mut |_, _, _| Ok(f64::NAN), options(3, 5, true), &mut prior);
    assert!(matches!(e, DgdError::LossNonFinite { what: "loss", .. }));
    let ok = &mut |_: &[usize], _: &[f64], _: &mut [f64]| Ok(0.0);
    for (opts, field) in [
        (
            RepresentationFitOptions {
                representation_lr: 0.0,
                ..options(3, 2, true)
            },
            "representation_lr",
        ),
        (
            RepresentationFitOptions {
                prior_lr: f64::NAN,
                ..options(3, 2, true)
            },
            "prior_lr",
        ),
        (
            RepresentationFitOptions {
                lr_decay: 2.0,
                ..options(3, 2, true)
            },
            "lr_decay",
        ),
        (options(0, 2, true), "epochs"),
        (options(3, 0, true), "batch_size"),
    ] {
        match run(ok, opts, &mut prior) {
            DgdError::InvalidParameter { field: f, .. }
            | DgdError::InvalidCount { field: f, .. } => {
                assert_eq!(f, field)
            }
            e => panic!("{e:?}"),
        }
    }
    let mut wrong = RepresentationLayer::zeros(5, 3).unwrap();
    let mut hook = |_: &[usize], _: &[f64], _: &mut [f64]| Ok(0.0);
    assert!(matches!(
        fit_representations(
            &mut wrong,
            &mut prior,
            &mut hook,
            &options(2, 2, true),
            |_| {}
        ),
        Err(DgdError::Shape {
            expected: 2,
            found: 3,
            ..
        })
    ));
}
