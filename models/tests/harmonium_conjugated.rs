//! Conjugated harmoniums against exact answers: the conjugation identity at random latent
//! states, log p(x) against explicit marginalisation (a sum over the latent states, or the
//! Gaussian integral through the joint normal), ancestral sampling against exact moments,
//! and EM's monotone log-likelihood.

mod harmonium_support;

use blockgibbs_models::expfam::{
    Bernoulli, Boltzmann, Categorical, CovarianceType, ExponentialFamily, Gaussian,
};
use blockgibbs_models::harmonium::{AnalyticEm, Conjugated, Coupling, Harmonium};
use blockgibbs_models::linalg::{Cholesky, Mat};
use blockgibbs_models::samples::Samples;
use harmonium_support::{
    discrete_support, gaussian_boltzmann, gaussian_mixture, linear_gaussian, log_sum_exp,
    normal_log_density,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

/// ψ_X(θ_X + Θ s_Z(z)) − ψ_X(θ_X) = ρ·s_Z(z) at the given latent points.
fn check_conjugation<H: Conjugated>(h: &H, points: &[Vec<f64>]) {
    let hm = h.harmonium();
    let rho = h.conjugation_parameters().unwrap();
    let base = hm.observable().log_partition(hm.observable_bias()).unwrap();
    for z in points {
        let lhs = hm
            .observable()
            .log_partition(&hm.likelihood_at(z).unwrap())
            .unwrap()
            - base;
        let s = hm.latent().sufficient_statistic(z).unwrap();
        let rhs: f64 = rho.iter().zip(&s).map(|(a, b)| a * b).sum();
        assert!(rel_close(lhs, rhs, 1e-10), "at {z:?}: {lhs} vs {rhs}");
    }
}

#[test]
fn conjugation_identity_for_every_latent_family() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mixture = gaussian_mixture(3, 4, CovarianceType::Full, 1);
    check_conjugation(&mixture, &discrete_support(mixture.latent()));
    let bernoulli_mixture = Harmonium::initialize(
        Bernoulli::new(4).unwrap(),
        Categorical::new(3).unwrap(),
        (Coupling::Full, Coupling::Full),
        1.0,
        2,
    )
    .unwrap();
    check_conjugation(
        &bernoulli_mixture,
        &discrete_support(bernoulli_mixture.latent()),
    );
    let gb = gaussian_boltzmann(3, 3, 3);
    check_conjugation(&gb, &discrete_support(gb.latent()));
    let lgm = linear_gaussian(4, 2, CovarianceType::Diagonal, 4);
    let zs: Vec<Vec<f64>> = (0..10)
        .map(|_| (0..2).map(|_| rng.random_range(-2.0..2.0)).collect())
        .collect();
    check_conjugation(&lgm, &zs);
}

/// log p(x) by summing the joint over the latent states, with the partition function also
/// summed state by state (no conjugation parameters involved).
fn check_discrete_marginal<H: Conjugated>(h: &H, xs: &[Vec<f64>]) {
    let hm = h.harmonium();
    let zs = discrete_support(hm.latent());
    let log_z = log_sum_exp(
        &zs.iter()
            .map(|z| {
                let s = hm.latent().sufficient_statistic(z).unwrap();
                let theta: f64 = hm.latent_bias().iter().zip(&s).map(|(a, b)| a * b).sum();
                let psi_x = hm
                    .observable()
                    .log_partition(&hm.likelihood_at(z).unwrap())
                    .unwrap();
                theta + psi_x + hm.latent().log_base_measure(z)
            })
            .collect::<Vec<_>>(),
    );
    assert!(rel_close(h.log_partition().unwrap(), log_z, 1e-11));
    for x in xs {
        let joint: Vec<f64> = zs
            .iter()
            .map(|z| hm.log_joint_unnormalised(x, z).unwrap())
            .collect();
        let want = log_sum_exp(&joint) - log_z;
        let got = h.log_observable_density(x).unwrap();
        assert!(rel_close(got, want, 1e-11), "{got} vs {want}");
    }
}

#[test]
fn log_density_equals_explicit_marginalisation() {
    let mixture = gaussian_mixture(3, 4, CovarianceType::Full, 1);
    let xs = vec![
        vec![0.1, -0.5, 1.2],
        vec![2.0, 0.0, -1.0],
        vec![-3.0, 1.0, 0.5],
    ];
    check_discrete_marginal(&mixture, &xs);
    for ty in [
        CovarianceType::Diagonal,
        CovarianceType::Isotropic,
        CovarianceType::Fixed,
    ] {
        check_discrete_marginal(&gaussian_mixture(3, 3, ty, 7), &xs);
    }
    let gb = gaussian_boltzmann(3, 3, 3);
    check_discrete_marginal(&gb, &xs);
    let bm = Harmonium::initialize(
        Bernoulli::new(3).unwrap(),
        Categorical::new(3).unwrap(),
        (Coupling::Full, Coupling::Full),
        1.0,
        9,
    )
    .unwrap();
    let total: f64 = discrete_support(bm.observable())
        .iter()
        .map(|x| bm.observable_density(x).unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-12, "Σ p(x) = {total}");
    check_discrete_marginal(&bm, &discrete_support(bm.observable()));
}

/// A linear Gaussian harmonium's p(x) through the joint normal of (x, z): precision
/// [[Λ_x, −Θ], [−Θᵀ, Λ_z]], linear term [η_x; η_z], marginalised by inverting it.
#[test]
fn linear_gaussian_log_density_equals_the_gaussian_integral() {
    for ty in [
        CovarianceType::Full,
        CovarianceType::Diagonal,
        CovarianceType::Isotropic,
    ] {
        let h = linear_gaussian(4, 2, ty, 11);
        let (d, k) = (4, 2);
        let lx = h.observable().precision(h.observable_bias()).unwrap();
        let lz = h.latent().precision(h.latent_bias()).unwrap();
        let p = Mat::from_fn(d + k, d + k, |i, j| match (i < d, j < d) {
            (true, true) => lx[(i, j)],
            (false, false) => lz[(i - d, j - d)],
            (true, false) => -h.interaction()[i * k + (j - d)],
            (false, true) => -h.interaction()[j * k + (i - d)],
        });
        let lin: Vec<f64> = h.observable_bias()[..d]
            .iter()
            .chain(&h.latent_bias()[..k])
            .copied()
            .collect();
        let joint = Cholesky::new(p.as_ref(), "joint precision").unwrap();
        let mean = joint.solve_vec(&lin);
        let cov = joint.inverse();
        let sigma_x: Vec<f64> = (0..d * d).map(|i| cov[(i / d, i % d)]).collect();
        for x in [
            vec![0.0; 4],
            vec![1.0, -0.5, 0.3, 2.0],
            vec![-2.0, 1.0, 0.0, -1.0],
        ] {
            let want = normal_log_density(&x, &mean[..d], &sigma_x);
            let got = h.log_observable_density(&x).unwrap();
            assert!(rel_close(got, want, 1e-10), "{ty}: {got} vs {want}");
        }
    }
}

#[test]
fn ancestral_samples_match_the_exact_observable_mean() {
    let h = gaussian_mixture(2, 3, CovarianceType::Full, 3);
    let n = 20_000;
    let (xs, zs) = h.sample(n, 17).unwrap();
    assert_eq!(zs.len(), n);
    let prior = h.latent().probabilities(&h.prior().unwrap()).unwrap();
    let mut exact = [0.0; 2];
    for (c, p) in prior.iter().enumerate() {
        let (mu, _) = h
            .observable()
            .mean_covariance(&h.likelihood_at(&[c as f64]).unwrap())
            .unwrap();
        exact[0] += p * mu[0];
        exact[1] += p * mu[1];
    }
    for (j, want) in exact.iter().enumerate() {
        let col: Vec<f64> = xs.chunks_exact(2).map(|x| x[j]).collect();
        let m = col.iter().sum::<f64>() / n as f64;
        let v = col.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64;
        assert!(
            (m - want).abs() < 5.0 * (v / n as f64).sqrt(),
            "{m} vs {want}"
        );
    }
    for (c, p) in prior.iter().enumerate() {
        let f = zs.iter().filter(|&&z| z == c as f64).count() as f64 / n as f64;
        assert!((f - p).abs() < 5.0 * (p * (1.0 - p) / n as f64).sqrt());
    }
}

fn assert_em_monotone<X: ExponentialFamily, Z: ExponentialFamily>(
    mut h: Harmonium<X, Z>,
    data: &Samples,
    steps: usize,
) where
    Harmonium<X, Z>: AnalyticEm + Conjugated<Observable = X, Latent = Z>,
{
    let mut last = h.average_log_observable_density(data).unwrap();
    let first = last;
    for _ in 0..steps {
        h = h.em_step(data).unwrap();
        let ll = h.average_log_observable_density(data).unwrap();
        assert!(
            ll >= last - 1e-9 * last.abs(),
            "log-likelihood fell: {last} → {ll}"
        );
        last = ll;
    }
    assert!(last > first, "EM made no progress: {first} → {last}");
}

#[test]
fn em_never_decreases_the_log_likelihood() {
    for ty in [
        CovarianceType::Full,
        CovarianceType::Diagonal,
        CovarianceType::Isotropic,
        CovarianceType::Fixed,
    ] {
        let truth = gaussian_mixture(2, 3, ty, 21);
        let (xs, _) = truth.sample(300, 4).unwrap();
        let data = Samples::new(xs, 2).unwrap();
        assert_em_monotone(gaussian_mixture(2, 3, ty, 22), &data, 25);
    }
    let truth = Harmonium::initialize(
        Bernoulli::new(6).unwrap(),
        Categorical::new(3).unwrap(),
        (Coupling::Full, Coupling::Full),
        2.0,
        30,
    )
    .unwrap();
    let (xs, _) = truth.sample(400, 5).unwrap();
    let data = Samples::new(xs, 6).unwrap();
    let start = Harmonium::initialize(
        Bernoulli::new(6).unwrap(),
        Categorical::new(3).unwrap(),
        (Coupling::Full, Coupling::Full),
        0.5,
        31,
    )
    .unwrap();
    assert_em_monotone(start, &data, 25);
    for ty in [
        CovarianceType::Diagonal,
        CovarianceType::Isotropic,
        CovarianceType::Full,
    ] {
        let truth = linear_gaussian(5, 2, ty, 40);
        let (xs, _) = truth.sample(300, 6).unwrap();
        let data = Samples::new(xs, 5).unwrap();
        assert_em_monotone(linear_gaussian(5, 2, ty, 41), &data, 25);
    }
}

#[test]
fn conjugation_needs_the_right_couplings() {
    let full = Harmonium::initialize(
        Gaussian::new(2, CovarianceType::Diagonal).unwrap(),
        Boltzmann::new(2).unwrap(),
        (Coupling::Full, Coupling::Location),
        0.1,
        1,
    )
    .unwrap();
    assert!(full.conjugation_parameters().is_err());
    let diag_latent = Harmonium::initialize(
        Gaussian::new(3, CovarianceType::Diagonal).unwrap(),
        Gaussian::new(2, CovarianceType::Diagonal).unwrap(),
        (Coupling::Location, Coupling::Location),
        1.0,
        1,
    )
    .unwrap();
    // ΘᵀΣΘ is not diagonal for a generic Θ: a diagonal latent cannot absorb it.
    assert!(diag_latent.conjugation_parameters().is_err());
}
