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

/// One configuration k of the discrete nodes of a conditionally Gaussian model: the joint
/// log-density is θ_k + b_k x − ½ λ_k x², so x | k ~ N(b_k/λ_k, 1/λ_k) and, integrating x out,
/// P(k) ∝ exp(θ_k + b_k²/(2λ_k)) / √λ_k.
struct Component {
    values: Vec<f32>,
    theta: f64,
    b: f64,
    lambda: f64,
}

/// Samples (discrete nodes, x) and checks P(k), E[x|k], Var[x|k] and P(x > E[x|k] | k)
/// against the closed forms, each within Z standard errors. P(k)'s autocorrelation comes
/// from the exact Markov chain of k: T[k][k'] = ∫ N(x; μ_k, 1/λ_k) P(k' | x) dx (quadrature),
/// valid because x is updated after every discrete node (asserted), which also makes x_t | k_t
/// a fresh draw, so the conditional-moment residuals are uncorrelated in time (τ = 1).
fn check_conditionally_gaussian(
    label: &str,
    model: Arc<Model>,
    discrete: &[NodeId],
    x: NodeId,
    comps: &[Component],
    seed: u64,
) {
    let nk = comps.len();
    let mu: Vec<f64> = comps.iter().map(|c| c.b / c.lambda).collect();
    let var: Vec<f64> = comps.iter().map(|c| 1.0 / c.lambda).collect();
    let unnorm: Vec<f64> = comps
        .iter()
        .map(|c| (c.theta + c.b * c.b / (2.0 * c.lambda)).exp() / c.lambda.sqrt())
        .collect();
    let pc: Vec<f64> = unnorm
        .iter()
        .map(|u| u / unnorm.iter().sum::<f64>())
        .collect();
    let post = |x: f64, k2: usize| {
        let l: Vec<f64> = comps
            .iter()
            .map(|c| c.theta + c.b * x - 0.5 * c.lambda * x * x)
            .collect();
        let mx = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        (l[k2] - mx).exp() / l.iter().map(|v| (v - mx).exp()).sum::<f64>()
    };
    let t: Mat = (0..nk)
        .map(|k| {
            let (m, v) = (mu[k], var[k]);
            let sd = v.sqrt();
            let dens = move |x: f64| {
                (-(x - m).powi(2) / (2.0 * v)).exp() / (std::f64::consts::TAU * v).sqrt()
            };
            (0..nk)
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
    // The closed-form P(k) is stationary for T (a check of both oracles).
    for k2 in 0..nk {
        let flow: f64 = (0..nk).map(|k| pc[k] * t[k][k2]).sum();
        assert!(
            (flow - pc[k2]).abs() < 1e-9,
            "P(k) not stationary: {flow} vs {}",
            pc[k2]
        );
    }
    // τ of the indicator [k]: ρ_ℓ = (T^ℓ_kk − π_k) / (1 − π_k).
    let tau: Vec<f64> = (0..nk)
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
    let mut sampler = common::sampler(&model, chains, seed);
    let sbs = common::superblocks_of(sampler.program());
    assert_eq!(
        sbs.last().unwrap(),
        &vec![vec![x]],
        "x must be updated last"
    );
    let mut nodes = discrete.to_vec();
    nodes.push(x);
    let mut collected = SampleCollector::new(nodes);
    sampler
        .run(
            &SamplingSchedule::new(100, samples, 1),
            &mut [&mut collected],
        )
        .unwrap();
    let draws = chains as f64 * samples as f64;
    let mut by_k: Vec<Vec<f64>> = vec![Vec::new(); nk];
    let d = discrete.len();
    for s in 0..samples as usize {
        for ch in 0..chains {
            let r = collected.row(s, ch);
            let k = comps
                .iter()
                .position(|c| c.values[..] == r[..d])
                .expect("unknown state");
            by_k[k].push(r[d] as f64);
        }
    }
    let softmax: Vec<f64> = {
        let e: Vec<f64> = comps.iter().map(|c| c.theta.exp()).collect();
        e.iter().map(|v| v / e.iter().sum::<f64>()).collect()
    };
    let mut naive_rejected = false;
    for k in 0..nk {
        let xs = &by_k[k];
        let n = xs.len() as f64;
        let p_hat = n / draws;
        let thr_p = Z * (pc[k] * (1.0 - pc[k]) * tau[k] / draws).sqrt();
        let m_hat = xs.iter().sum::<f64>() / n;
        let v_hat = xs.iter().map(|v| (v - m_hat).powi(2)).sum::<f64>() / (n - 1.0);
        let above = xs.iter().filter(|&&v| v > mu[k]).count() as f64 / n;
        let thr_m = Z * (var[k] / (draws * pc[k])).sqrt();
        let thr_v = Z * var[k] * (2.0 / (draws * pc[k])).sqrt();
        let thr_a = Z * 0.5 / (draws * pc[k]).sqrt();
        println!(
            "{label} k={k}: P {p_hat:.5} vs {:.5} (thr {thr_p:.5}, τ {:.3}); E[x|k] {m_hat:.5} vs {:.5} \
             (thr {thr_m:.5}); Var {v_hat:.5} vs {:.5} (thr {thr_v:.5}); P(x>μ|k) {above:.4} (thr {thr_a:.4})",
            pc[k], tau[k], mu[k], var[k]
        );
        assert!((p_hat - pc[k]).abs() < thr_p, "{label}: P(k={k})");
        assert!((m_hat - mu[k]).abs() < thr_m, "{label}: E[x | k={k}]");
        assert!((v_hat - var[k]).abs() < thr_v, "{label}: Var[x | k={k}]");
        assert!((above - 0.5).abs() < thr_a, "{label}: median of x | k={k}");
        naive_rejected |= (p_hat - softmax[k]).abs() > thr_p;
    }
    // Power: the marginal is not exp(θ_k) normalised (x integrated out matters).
    assert!(naive_rejected, "{label}: cannot tell P(k) from softmax(θ)");
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
    // The builder stores −½λ as f32; λ = −2 × that weight exactly.
    let comps: Vec<Component> = (0..3)
        .map(|k| Component {
            values: vec![k as f32],
            theta: theta[k] as f64,
            b: gate_mean[k] as f64,
            lambda: -2.0 * (-0.5 * gate_prec[k]) as f64,
        })
        .collect();
    check_conditionally_gaussian("mixture", model, &[c], x, &comps, 107);
}

#[test]
fn gaussian_coupled_to_a_binary_and_a_spin_matches_the_closed_form() {
    // log p = a·q + g·s + (h + w1·q + w2·s)·x − ½λx²: a Gaussian–Bernoulli / Gaussian–spin
    // pair; given (q, s), x ~ N((h + w1 q + w2 s)/λ, 1/λ).
    let (a, g, h, w1, w2, lambda) = (-0.5f32, 0.3f32, 0.4f32, 1.2f32, -0.8f32, 1.5f32);
    let mut b = ModelBuilder::new();
    let q = b.group("q", NodeKind::Binary, 1).unwrap().node(0);
    let s = b.group("s", NodeKind::Spin, 1).unwrap().node(0);
    let x = b.group("x", NodeKind::Gaussian, 1).unwrap().node(0);
    b.linear_bias("a", &[q], &[a]).linear_bias("g", &[s], &[g]);
    b.gaussian_linear("h", &[x], &[h]);
    b.gaussian_discrete_coupling("w", &[x, x], &[q, s], &[w1, w2]);
    b.gaussian_precision("p", &[x], &[lambda]);
    let model = Arc::new(b.build().unwrap());
    let f = |v: f32| v as f64;
    let comps: Vec<Component> = [(0.0f32, -1.0f32), (0.0, 1.0), (1.0, -1.0), (1.0, 1.0)]
        .iter()
        .map(|&(qv, sv)| Component {
            values: vec![qv, sv],
            theta: f(a) * f(qv) + f(g) * f(sv),
            b: f(h) + f(w1) * f(qv) + f(w2) * f(sv),
            lambda: -2.0 * f(-0.5 * lambda),
        })
        .collect();
    check_conditionally_gaussian("binary+spin", model, &[q, s], x, &comps, 109);
}
