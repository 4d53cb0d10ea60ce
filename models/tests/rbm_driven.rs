//! Driven PCD (paysage's `DrivenSequentialMC`): the autoregressive Gamma process against its
//! closed forms (stationary mean 1, variance s², lag-1 autocorrelation ρ), the driven
//! sampler's use of each chain's β against a quadrature over the stationary law, the limit
//! `beta_std → 0` against plain PCD, determinism and typed errors.

use blockgibbs_models::rbm::{
    BetaProcess, BinaryRbm, DrivenBeta, GradientEstimator, Penalty, Sampling, TrainError,
    TrainOptions, exact_model_stats, fit, sigmoid,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Standard error of the mean of independent per-chain estimates.
fn standard_error(xs: &[f64]) -> f64 {
    let m = mean(xs);
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
    (var / xs.len() as f64).sqrt()
}

#[test]
fn beta_process_matches_stationary_closed_forms() {
    let (chains, steps) = (400usize, 1000usize);
    for (seed, (rho, s)) in [(0.9, 0.6), (0.5, 0.3), (0.0, 1.0), (0.97, 0.2)]
        .into_iter()
        .enumerate()
    {
        let params = DrivenBeta {
            beta_momentum: rho,
            beta_std: s,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed as u64);
        let mut process = BetaProcess::new(params, chains, &mut rng).unwrap();
        let mut paths = vec![Vec::with_capacity(steps); chains];
        for _ in 0..steps {
            process.step(&mut rng).unwrap();
            for (path, &b) in paths.iter_mut().zip(process.betas()) {
                path.push(b);
            }
        }
        // Per-chain estimates with the known mean 1 (unbiased under stationarity, which holds
        // from the start since β₀ is drawn from the stationary law); chains are independent.
        let means: Vec<f64> = paths.iter().map(|p| mean(p)).collect();
        let second: Vec<f64> = paths
            .iter()
            .map(|p| mean(&p.iter().map(|b| (b - 1.0).powi(2)).collect::<Vec<_>>()))
            .collect();
        // Lag 1: the least-squares slope Σ (β_t − 1)(β_{t+1} − 1) / Σ (β_t − 1)², pooled over
        // groups of 20 chains (errors of numerator and denominator cancel; its O(1/n) bias
        // is ~10⁻⁴ at 20 000 steps per group); groups are independent.
        let lag1: Vec<f64> = paths
            .chunks(20)
            .map(|group| {
                let (mut num, mut den) = (0.0, 0.0);
                for p in group {
                    for w in p.windows(2) {
                        num += (w[0] - 1.0) * (w[1] - 1.0);
                        den += (w[0] - 1.0).powi(2);
                    }
                }
                num / den
            })
            .collect();
        // Closed-form standard error of the grand mean: an AR(1)-correlated stationary series
        // (autocorrelation ρʰ) has Var(mean of T) = s²/T² Σ_{i,j} ρ^|i−j|.
        let sum_corr: f64 = (0..steps)
            .map(|lag| {
                let weight = if lag == 0 { 1.0 } else { 2.0 };
                weight * (steps - lag) as f64 * rho.powi(lag as i32)
            })
            .sum();
        let se_mean = (s * s * sum_corr / (steps * steps) as f64 / chains as f64).sqrt();
        let checks = [
            ("mean", mean(&means), 1.0, se_mean),
            ("variance", mean(&second), s * s, standard_error(&second)),
            (
                "lag-1 autocorrelation",
                mean(&lag1),
                rho,
                standard_error(&lag1),
            ),
        ];
        for (what, got, want, se) in checks {
            let tol = 5.0 * se;
            println!(
                "ρ={rho} s={s} {what}: {got:.5} vs {want} (|err| {:.2e}, tol {tol:.2e})",
                (got - want).abs()
            );
            assert!(
                se < 0.02 * want.max(0.5),
                "{what}: standard error {se} too large to test"
            );
            assert!(
                (got - want).abs() < tol,
                "ρ={rho} s={s} {what}: {got} vs {want} (tol {tol})"
            );
        }
    }
}

/// `E[σ(β a)]` for `β ~ Gamma(1/s², s²)`, by Simpson's rule on [0, 40] (the density is below
/// 10⁻³⁰ beyond for the `s` used here).
fn stationary_mixture(a: f64, s: f64) -> f64 {
    let (nu, theta) = (1.0 / (s * s), s * s);
    let n = 40_000usize;
    let h = 40.0 / n as f64;
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..=n {
        let b = i as f64 * h;
        let w = if i == 0 || i == n {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        let density = if b == 0.0 {
            0.0
        } else {
            ((nu - 1.0) * b.ln() - b / theta).exp()
        };
        num += w * density * sigmoid(b * a);
        den += w * density;
    }
    num / den
}

#[test]
fn driven_chains_sample_at_their_own_temperature() {
    // With W = 0 the visible units are independent of the hiddens: after a sweep at β, v_i is
    // Bernoulli(σ(β a_i)); β is marginally stationary, so E[v_i] = E_β[σ(β a_i)] exactly.
    let a = [3.0f32, -2.0, 0.5, 0.0];
    let b = [0.3f32, -0.7];
    let rbm = BinaryRbm::new(4, 2, vec![0.0; 8], a.to_vec(), b.to_vec()).unwrap();
    let driven = DrivenBeta::default(); // ρ = 0.9, s = 0.6
    let chains = 20_000;
    let sampling = Sampling::DrivenPcd {
        k: 2,
        chains,
        driven,
    };
    let mut est = GradientEstimator::new(sampling, Penalty::default(), 11).unwrap();
    let data = [1.0, 0.0, 1.0, 0.0];
    est.estimate(&rbm, &data).unwrap();
    let negative = est.estimate(&rbm, &data).unwrap().negative;
    for (i, &ai) in a.iter().enumerate() {
        let want = stationary_mixture(ai as f64, driven.beta_std);
        let tol = 5.0 * (want * (1.0 - want) / chains as f64).sqrt();
        let got = negative.v[i];
        println!(
            "a={ai}: E[v]={got:.5} vs mixture {want:.5} (σ(a)={:.5}, tol {tol:.4})",
            sigmoid(ai as f64)
        );
        assert!(
            (got - want).abs() < tol,
            "unit {i}: {got} vs {want} (tol {tol})"
        );
        if ai.abs() >= 2.0 {
            // Non-vacuous: the mixture is far from the β = 1 value the plain sampler gives.
            assert!((want - sigmoid(ai as f64)).abs() > 2.0 * tol);
        }
    }
    // The statistics use E[h | v⁻] at β = 1: exactly σ(b_j) when W = 0.
    for (j, &bj) in b.iter().enumerate() {
        assert!((negative.h[j] - sigmoid(bj as f64)).abs() < 1e-12);
    }
    let betas = est.chain_betas();
    assert_eq!(betas.len(), chains);
    let se = driven.beta_std / (chains as f64).sqrt();
    assert!(
        (mean(betas) - 1.0).abs() < 5.0 * se,
        "mean β {}",
        mean(betas)
    );
}

#[test]
fn tiny_beta_std_reproduces_plain_pcd() {
    let rbm = BinaryRbm::random(4, 3, 0.8, 0.5, 5).unwrap();
    let data = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0];
    let (k, chains, seed) = (10, 4000, 2024);
    let mut plain =
        GradientEstimator::new(Sampling::Pcd { k, chains }, Penalty::default(), seed).unwrap();
    let driven = DrivenBeta {
        beta_momentum: 0.9,
        beta_std: 1e-6,
    };
    let sampling = Sampling::DrivenPcd { k, chains, driven };
    let mut drv = GradientEstimator::new(sampling, Penalty::default(), seed).unwrap();
    let exact = exact_model_stats(&rbm).unwrap();
    for call in 0..2 {
        let p = plain.estimate(&rbm, &data).unwrap();
        let d = drv.estimate(&rbm, &data).unwrap();
        // The Gibbs uniforms are shared; a draw differs only when one lands within ~10⁻⁶ of
        // its threshold, after which that chain diverges. Each diverged chain moves a
        // statistic by at most 1/chains.
        let diverged = plain
            .fantasy_particles()
            .chunks(4)
            .zip(drv.fantasy_particles().chunks(4))
            .filter(|(x, y)| x != y)
            .count();
        println!("call {call}: {diverged} of {chains} chains differ");
        assert!(diverged * 100 <= chains, "{diverged} chains diverged");
        let bound = diverged as f64 / chains as f64 + 1e-12;
        let flat = |s: &blockgibbs_models::rbm::PhaseStats| {
            [s.vh.clone(), s.v.clone(), s.h.clone()].concat()
        };
        for ((x, y), e) in flat(&p.negative)
            .iter()
            .zip(flat(&d.negative))
            .zip(flat(&exact))
        {
            assert!(
                (x - y).abs() <= bound,
                "plain {x} vs driven {y} (bound {bound})"
            );
            // And both are PCD estimates of the model's statistics (each entry is a mean of
            // values in [0, 1] over independent chains: sd ≤ ½).
            let tol = 5.0 * 0.5 / (chains as f64).sqrt();
            assert!((y - e).abs() < tol, "driven {y} vs exact {e} (tol {tol})");
        }
        assert!(drv.chain_betas().iter().all(|b| (b - 1.0).abs() < 1e-4));
    }
}

#[test]
fn driven_pcd_is_deterministic_and_resets_with_its_chains() {
    let rbm = BinaryRbm::random(5, 3, 0.5, 0.2, 1).unwrap();
    let data = [1.0, 0.0, 1.0, 0.0, 1.0];
    let sampling = Sampling::DrivenPcd {
        k: 3,
        chains: 16,
        driven: DrivenBeta::default(),
    };
    let run = || {
        let mut est = GradientEstimator::new(sampling, Penalty::default(), 99).unwrap();
        let g1 = est.estimate(&rbm, &data).unwrap();
        let g2 = est.estimate(&rbm, &data).unwrap();
        (
            g1,
            g2,
            est.fantasy_particles().to_vec(),
            est.chain_betas().to_vec(),
        )
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    assert_eq!(a.3.len(), 16);
    assert!(a.3.iter().all(|&x| x > 0.0 && x.is_finite()));
    let mut est = GradientEstimator::new(sampling, Penalty::default(), 99).unwrap();
    assert!(est.chain_betas().is_empty());
    est.estimate(&rbm, &data).unwrap();
    est.reset_chains();
    assert!(est.chain_betas().is_empty() && est.fantasy_particles().is_empty());

    // fit accepts driven PCD and is deterministic too.
    let options = TrainOptions {
        sampling,
        epochs: 2,
        batch_size: 1,
        ..TrainOptions::default()
    };
    let (mut m1, mut m2) = (rbm.clone(), rbm.clone());
    fit(&mut m1, &data, &options, None).unwrap();
    fit(&mut m2, &data, &options, None).unwrap();
    assert_eq!(m1, m2);
    assert_ne!(m1, rbm);
}

#[test]
fn invalid_driven_parameters_are_typed_errors() {
    let cases = [
        (-0.1, 0.6, "beta_momentum"),
        (1.0, 0.6, "beta_momentum"),
        (f64::NAN, 0.6, "beta_momentum"),
        (0.9, 0.0, "beta_std"),
        (0.9, -1.0, "beta_std"),
        (0.9, f64::NAN, "beta_std"),
        (0.9, f64::INFINITY, "beta_std"),
        (0.9, 1e-12, "beta_std"), // Poisson intensity 9·10²⁴ beyond rand_distr's limit
    ];
    for (rho, s, field) in cases {
        let driven = DrivenBeta {
            beta_momentum: rho,
            beta_std: s,
        };
        let is_field =
            |e: TrainError| matches!(e, TrainError::InvalidOption { field: f, .. } if f == field);
        assert!(
            is_field(driven.validate().unwrap_err().into()),
            "ρ={rho} s={s}"
        );
        let sampling = Sampling::DrivenPcd {
            k: 1,
            chains: 4,
            driven,
        };
        assert!(is_field(
            GradientEstimator::new(sampling, Penalty::default(), 0).unwrap_err()
        ));
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert!(is_field(
            BetaProcess::new(driven, 4, &mut rng).unwrap_err().into()
        ));
        let _: u64 = rng.random(); // the stream is still usable after a rejected process
        let mut rbm = BinaryRbm::zeros(2, 2).unwrap();
        let options = TrainOptions {
            sampling,
            ..TrainOptions::default()
        };
        assert!(is_field(
            fit(&mut rbm, &[1.0, 0.0], &options, None).unwrap_err()
        ));
    }
    // Zero k and chains are still rejected before the process is looked at.
    let sampling = Sampling::DrivenPcd {
        k: 1,
        chains: 0,
        driven: DrivenBeta::default(),
    };
    assert!(matches!(
        GradientEstimator::new(sampling, Penalty::default(), 0).unwrap_err(),
        TrainError::InvalidOption {
            field: "chains",
            ..
        }
    ));
}
