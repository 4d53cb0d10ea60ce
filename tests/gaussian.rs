//! Gaussian nodes against closed forms: a Gaussian MRF's mean Λ⁻¹h and covariance Λ⁻¹, and a
//! categorical-gated Gaussian mixture's joint law of (c, x).
//!
//! Thresholds are Z standard errors of each estimate, with the autocorrelation computed
//! exactly rather than guessed: a Gibbs sweep over Gaussian nodes is the linear recursion
//! x' = M x + c + noise (M: the Gauss–Seidel iteration matrix in the program's update order),
//! so Cov(x_{t+k}, x_t) = M^k Σ; for the mixture, the category follows a 3-state Markov
//! chain whose transition matrix is computed by quadrature.
mod common;

use blockgibbs::prelude::*;
use common::Mat;
use std::sync::Arc;

/// Standard errors allowed for every estimate (27 and 12 estimates per test).
const Z: f64 = 5.0;

/// Linear part of one Gibbs sweep, x ↦ M x, updating nodes in `order`: x_i ← −Σ Λ_ij x_j / Λ_ii.
fn sweep_matrix(lambda: &Mat, order: &[usize]) -> Mat {
    let n = lambda.len();
    let mut cols = Vec::with_capacity(n);
    for k in 0..n {
        let mut x: Vec<f64> = (0..n).map(|i| (i == k) as u8 as f64).collect();
        for &i in order {
            let s: f64 = (0..n)
                .filter(|&j| j != i)
                .map(|j| lambda[i][j] * x[j])
                .sum();
            x[i] = -s / lambda[i][i];
        }
        cols.push(x);
    }
    (0..n)
        .map(|i| (0..n).map(|k| cols[k][i]).collect())
        .collect()
}

#[test]
fn gaussian_mrf_mean_and_covariance_match_the_inverse_precision() {
    let n = 6;
    let (model, lambda, h) = common::gaussian_mrf(n, 101);
    let ids = model.groups()[0].ids();
    let sigma = common::invert(&lambda);
    let mu = common::mat_vec(&sigma, &h);
    let model = Arc::new(model);

    let (chains, samples, stride) = (64usize, 4000u64, 1u64);
    let mut sampler = common::sampler(&model, chains, 103);
    let order: Vec<usize> = common::superblocks_of(sampler.program())
        .into_iter()
        .flatten()
        .flatten()
        .map(|id| id.index())
        .collect();
    let m = sweep_matrix(&lambda, &order);
    let mut collected = SampleCollector::new(ids.clone());
    sampler
        .run(
            &SamplingSchedule::new(100, samples, stride),
            &mut [&mut collected],
        )
        .unwrap();

    // Lag covariances C_ℓ = M^{ℓ·stride} Σ until negligible.
    let mut lags: Vec<Mat> = Vec::new();
    let mut c = sigma.clone();
    for _ in 0..1000 {
        for _ in 0..stride {
            c = common::mat_mul(&m, &c);
        }
        let size = c.iter().flatten().fold(0.0f64, |a, v| a.max(v.abs()));
        lags.push(c.clone());
        if size < 1e-12 {
            break;
        }
    }
    let draws = chains as f64 * samples as f64;
    let rows: Vec<&[f32]> = (0..samples as usize)
        .flat_map(|s| (0..chains).map(move |ch| (s, ch)))
        .map(|(s, ch)| collected.row(s, ch))
        .collect();
    let mean: Vec<f64> = (0..n)
        .map(|i| rows.iter().map(|r| r[i] as f64).sum::<f64>() / draws)
        .collect();
    let mut worst = 0.0f64;
    for i in 0..n {
        let tau = 1.0 + 2.0 * lags.iter().map(|l| l[i][i] / sigma[i][i]).sum::<f64>();
        let thr = Z * (sigma[i][i] * tau / draws).sqrt();
        let dev = (mean[i] - mu[i]).abs();
        worst = worst.max(dev / thr);
        assert!(
            dev < thr,
            "mean of x{i}: {} vs {} (thr {thr})",
            mean[i],
            mu[i]
        );
    }
    let mut coupled_seen = false;
    for i in 0..n {
        for j in i..n {
            let cov = rows
                .iter()
                .map(|r| (r[i] as f64 - mean[i]) * (r[j] as f64 - mean[j]))
                .sum::<f64>()
                / draws;
            // Isserlis: Var(x_i x_j) = Σii Σjj + Σij², lag-ℓ covariance C_ii C_jj + C_ji C_ij.
            let var = sigma[i][i] * sigma[j][j] + sigma[i][j] * sigma[i][j];
            let rho: f64 = lags
                .iter()
                .map(|l| (l[i][i] * l[j][j] + l[j][i] * l[i][j]) / var)
                .sum();
            let thr = Z * (var * (1.0 + 2.0 * rho) / draws).sqrt();
            let dev = (cov - sigma[i][j]).abs();
            worst = worst.max(dev / thr);
            assert!(
                dev < thr,
                "cov({i},{j}): {cov} vs {} (thr {thr})",
                sigma[i][j]
            );
            // Power: some off-diagonal covariance is far from the uncoupled answer 0.
            coupled_seen |= i != j && cov.abs() > 3.0 * thr;
        }
    }
    assert!(
        coupled_seen,
        "no covariance distinguishable from the uncoupled model"
    );
    println!("Gaussian MRF: worst |estimate − exact| / threshold = {worst:.3} (Z = {Z})");
}

/// Simpson's rule for ∫ f on [a, b] with `n` (even) intervals.
fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
    let h = (b - a) / n as f64;
    let inner: f64 = (1..n)
        .map(|i| f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
        .sum();
    (f(a) + f(b) + inner) * h / 3.0
}

#[test]
fn gated_gaussian_mixture_matches_the_exact_mixture() {
    let theta = [0.5f32, 1.0, -0.5];
    let gate_mean = [-2.0f32, 0.5, 2.4];
    let gate_prec = [2.0f32, 1.0, 1.5];
    let mut b = ModelBuilder::new();
    let c = b.group("c", NodeKind::Categorical(3), 1).unwrap().node(0);
    let x = b.group("x", NodeKind::Gaussian, 1).unwrap().node(0);
    b.categorical_bias("theta", &[c], &theta);
    b.gated_gaussian_mean("mean", &[c], &[x], &gate_mean);
    b.gated_gaussian_precision("precision", &[c], &[x], &gate_prec);
    let model = Arc::new(b.build().unwrap());

    // Exact law: log p(c, x) = θ_c + b_c x − ½ λ_c x², so x | c ~ N(b_c/λ_c, 1/λ_c) and,
    // integrating x out, P(c) ∝ exp(θ_c + b_c²/(2λ_c)) / √λ_c — not softmax(θ).
    let (th, bc, lc): (Vec<f64>, Vec<f64>, Vec<f64>) = (0..3)
        .map(|k| (theta[k] as f64, gate_mean[k] as f64, gate_prec[k] as f64))
        .fold((vec![], vec![], vec![]), |mut acc, (t, b, l)| {
            acc.0.push(t);
            acc.1.push(b);
            acc.2.push(l);
            acc
        });
    let mu: Vec<f64> = (0..3).map(|k| bc[k] / lc[k]).collect();
    let var: Vec<f64> = lc.iter().map(|l| 1.0 / l).collect();
    let unnorm: Vec<f64> = (0..3)
        .map(|k| (th[k] + bc[k] * bc[k] / (2.0 * lc[k])).exp() / lc[k].sqrt())
        .collect();
    let pc: Vec<f64> = unnorm
        .iter()
        .map(|u| u / unnorm.iter().sum::<f64>())
        .collect();

    // The category's Markov chain: T[k][k'] = ∫ N(x; μ_k, 1/λ_k) P(k' | x) dx.
    let post = |x: f64, k2: usize| {
        let l: Vec<f64> = (0..3)
            .map(|k| th[k] + bc[k] * x - 0.5 * lc[k] * x * x)
            .collect();
        let mx = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        (l[k2] - mx).exp() / l.iter().map(|v| (v - mx).exp()).sum::<f64>()
    };
    let t: Mat = (0..3)
        .map(|k| {
            let (m, v) = (mu[k], var[k]);
            let sd = v.sqrt();
            let dens = move |x: f64| {
                (-(x - m).powi(2) / (2.0 * v)).exp() / (std::f64::consts::TAU * v).sqrt()
            };
            (0..3)
                .map(|k2| {
                    simpson(
                        |x| dens(x) * post(x, k2),
                        m - 12.0 * sd,
                        m + 12.0 * sd,
                        4000,
                    )
                })
                .collect()
        })
        .collect();
    // The closed-form P(c) is stationary for T (a check of both oracles).
    for k2 in 0..3 {
        let flow: f64 = (0..3).map(|k| pc[k] * t[k][k2]).sum();
        assert!(
            (flow - pc[k2]).abs() < 1e-9,
            "P(c) not stationary: {flow} vs {}",
            pc[k2]
        );
    }
    // τ of the indicator [c = k]: ρ_ℓ = (T^ℓ_kk − π_k) / (1 − π_k).
    let tau: Vec<f64> = (0..3)
        .map(|k| {
            let (mut tl, mut sum) = (t.clone(), 0.0);
            for _ in 0..10_000 {
                let rho = (tl[k][k] - pc[k]) / (1.0 - pc[k]);
                sum += rho;
                if rho.abs() < 1e-12 {
                    break;
                }
                tl = common::mat_mul(&tl, &t);
            }
            1.0 + 2.0 * sum
        })
        .collect();

    let (chains, samples) = (64usize, 10_000u64);
    let mut sampler = common::sampler(&model, chains, 107);
    // c is updated before x; then x_t | c_t is a fresh draw, so the residuals of the
    // conditional-moment estimates below are uncorrelated in time (τ = 1 for them).
    assert_eq!(sampler.program().blocks[0].kind, NodeKind::Categorical(3));
    let mut collected = SampleCollector::new(vec![c, x]);
    sampler
        .run(
            &SamplingSchedule::new(100, samples, 1),
            &mut [&mut collected],
        )
        .unwrap();
    let draws = chains as f64 * samples as f64;
    let mut by_c: Vec<Vec<f64>> = vec![Vec::new(); 3];
    for s in 0..samples as usize {
        for ch in 0..chains {
            let r = collected.row(s, ch);
            by_c[r[0] as usize].push(r[1] as f64);
        }
    }
    let softmax: Vec<f64> = {
        let e: Vec<f64> = th.iter().map(|t| t.exp()).collect();
        e.iter().map(|v| v / e.iter().sum::<f64>()).collect()
    };
    let mut softmax_rejected = false;
    for k in 0..3 {
        let xs = &by_c[k];
        let nk = xs.len() as f64;
        let p_hat = nk / draws;
        let thr_p = Z * (pc[k] * (1.0 - pc[k]) * tau[k] / draws).sqrt();
        let m_hat = xs.iter().sum::<f64>() / nk;
        let v_hat = xs.iter().map(|v| (v - m_hat).powi(2)).sum::<f64>() / (nk - 1.0);
        let above = xs.iter().filter(|&&v| v > mu[k]).count() as f64 / nk;
        let thr_m = Z * (var[k] / (draws * pc[k])).sqrt();
        let thr_v = Z * var[k] * (2.0 / (draws * pc[k])).sqrt();
        let thr_a = Z * 0.5 / (draws * pc[k]).sqrt();
        println!(
            "c={k}: P {p_hat:.5} vs {:.5} (thr {thr_p:.5}, τ {:.3}); E[x|c] {m_hat:.5} vs {:.5} (thr {thr_m:.5}); \
             Var {v_hat:.5} vs {:.5} (thr {thr_v:.5}); P(x>μ|c) {above:.4} (thr {thr_a:.4})",
            pc[k], tau[k], mu[k], var[k]
        );
        assert!((p_hat - pc[k]).abs() < thr_p, "P(c={k})");
        assert!((m_hat - mu[k]).abs() < thr_m, "E[x | c={k}]");
        assert!((v_hat - var[k]).abs() < thr_v, "Var[x | c={k}]");
        assert!((above - 0.5).abs() < thr_a, "median of x | c={k}");
        softmax_rejected |= (p_hat - softmax[k]).abs() > thr_p;
    }
    assert!(
        softmax_rejected,
        "the test cannot tell P(c) from softmax(θ)"
    );
}
