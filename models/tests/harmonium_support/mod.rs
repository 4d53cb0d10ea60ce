//! Fixtures shared by the exponential-family and harmonium tests: support enumeration, the
//! normal density written out, and harmoniums built from explicit component parameters.
#![allow(dead_code)]

use blockgibbs_ir::NodeKind;
use blockgibbs_models::expfam::{
    Boltzmann, Categorical, CovarianceType, ExponentialFamily, Gaussian,
};
use blockgibbs_models::harmonium::{Coupling, Harmonium};
use blockgibbs_models::linalg::{Cholesky, Mat, from_rows};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Every point of a small discrete family's support, in lexicographic order.
pub fn discrete_support<F: ExponentialFamily>(f: &F) -> Vec<Vec<f64>> {
    let values: Vec<f64> = match f.node_kind() {
        NodeKind::Binary => vec![0.0, 1.0],
        NodeKind::Spin => vec![-1.0, 1.0],
        NodeKind::Categorical(k) => (0..k).map(|c| c as f64).collect(),
        NodeKind::Gaussian => panic!("a Gaussian family has no finite support"),
    };
    let mut out = vec![vec![]];
    for _ in 0..f.data_dim() {
        out = out
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |&v| {
                    let mut q = p.clone();
                    q.push(v);
                    q
                })
            })
            .collect();
    }
    out
}

/// `log Σ exp(v)`.
pub fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// The normal log-density written out from μ and row-major Σ.
pub fn normal_log_density(x: &[f64], mu: &[f64], sigma: &[f64]) -> f64 {
    let d = x.len();
    let s = from_rows(d, d, sigma, "Σ").unwrap();
    let c = Cholesky::new(s.as_ref(), "Σ").unwrap();
    let r: Vec<f64> = x.iter().zip(mu).map(|(a, b)| a - b).collect();
    let sr = c.solve_vec(&r);
    let q: f64 = r.iter().zip(&sr).map(|(a, b)| a * b).sum();
    -0.5 * (d as f64 * (2.0 * std::f64::consts::PI).ln() + c.log_det() + q)
}

/// A random covariance representable by `ty`.
pub fn random_covariance(d: usize, ty: CovarianceType, rng: &mut ChaCha8Rng) -> Mat<f64> {
    match ty {
        CovarianceType::Full => {
            let b = Mat::from_fn(d, d, |_, _| rng.random_range(-0.6..0.6));
            let bbt = &b * b.transpose();
            Mat::from_fn(d, d, |i, j| bbt[(i, j)] + if i == j { 0.4 } else { 0.0 })
        }
        CovarianceType::Diagonal => {
            let v: Vec<f64> = (0..d).map(|_| rng.random_range(0.3..1.5)).collect();
            Mat::from_fn(d, d, |i, j| if i == j { v[i] } else { 0.0 })
        }
        CovarianceType::Isotropic => {
            let v = rng.random_range(0.3..1.5);
            Mat::from_fn(d, d, |i, j| if i == j { v } else { 0.0 })
        }
        CovarianceType::Fixed => Mat::identity(d, d),
    }
}

/// A mixture of `k` Gaussians in `d` dimensions as a harmonium, built from explicit
/// weights, means and covariances: θ_X is component 0, Θ's column k−1 is component k minus
/// component 0, and the latent bias is log(w_k/w_0) − ρ_k.
pub fn gaussian_mixture(
    d: usize,
    k: usize,
    ty: CovarianceType,
    seed: u64,
) -> Harmonium<Gaussian, Categorical> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let g = Gaussian::new(d, ty).unwrap();
    let weights: Vec<f64> = {
        let w: Vec<f64> = (0..k).map(|_| rng.random_range(0.5..1.5)).collect();
        let s: f64 = w.iter().sum();
        w.iter().map(|x| x / s).collect()
    };
    let naturals: Vec<Vec<f64>> = (0..k)
        .map(|_| {
            let mu: Vec<f64> = (0..d).map(|_| rng.random_range(-2.5..2.5)).collect();
            let cov = random_covariance(d, ty, &mut rng);
            g.natural_from_mean_covariance(&mu, cov.as_ref()).unwrap()
        })
        .collect();
    let rows = g.dim();
    let mut interaction = vec![0.0; rows * (k - 1)];
    for r in 0..rows {
        for c in 1..k {
            interaction[r * (k - 1) + c - 1] = naturals[c][r] - naturals[0][r];
        }
    }
    let psi0 = g.log_partition(&naturals[0]).unwrap();
    let latent_bias = (1..k)
        .map(|c| (weights[c] / weights[0]).ln() - (g.log_partition(&naturals[c]).unwrap() - psi0))
        .collect();
    Harmonium::new(
        g,
        Categorical::new(k).unwrap(),
        (Coupling::Full, Coupling::Full),
        naturals[0].clone(),
        latent_bias,
        interaction,
    )
    .unwrap()
}

/// A diagonal Gaussian observable coupled through x to `n` Boltzmann units.
pub fn gaussian_boltzmann(d: usize, n: usize, seed: u64) -> Harmonium<Gaussian, Boltzmann> {
    Harmonium::initialize(
        Gaussian::new(d, CovarianceType::Diagonal).unwrap(),
        Boltzmann::new(n).unwrap(),
        (Coupling::Location, Coupling::Location),
        1.0,
        seed,
    )
    .unwrap()
}

/// A linear Gaussian model: a `d`-dimensional observable of type `ty` coupled through x to
/// a `k`-dimensional full-covariance latent through z.
pub fn linear_gaussian(
    d: usize,
    k: usize,
    ty: CovarianceType,
    seed: u64,
) -> Harmonium<Gaussian, Gaussian> {
    Harmonium::initialize(
        Gaussian::new(d, ty).unwrap(),
        Gaussian::new(k, CovarianceType::Full).unwrap(),
        (Coupling::Location, Coupling::Location),
        0.5,
        seed,
    )
    .unwrap()
}
