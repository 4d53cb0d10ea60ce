//! The three MAP priors of multiDGD's mixture against exact answers: normalisations by
//! numerical integration (1-D, 2-D Cartesian, radial in 5 and 20 dimensions), the Beta density
//! for a two-component Dirichlet, a direct Gaussian density and exact σ moments for the
//! log-variance prior, gradients against finite differences, and typed errors.

use std::f64::consts::PI;

use blockgibbs_models::dgd::{DgdError, DirichletPrior, LogVariancePrior, SoftballPrior};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Composite Simpson rule on [a, b] with `n` (even) intervals.
fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
    let h = (b - a) / n as f64;
    let mut s = f(a) + f(b);
    for i in 1..n {
        s += f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

/// Simpson weights of `n + 1` nodes.
fn simpson_weights(n: usize) -> Vec<f64> {
    (0..=n)
        .map(|i| {
            if i == 0 || i == n {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            }
        })
        .collect()
}

#[test]
fn softball_integrates_to_one_in_one_dimension() {
    for &(r, s) in &[(2.0, 5.0), (1.0, 1.0), (0.3, 0.2), (5.0, 50.0)] {
        let p = SoftballPrior::new(1, r, s).unwrap();
        let f = |z: f64| p.log_prob(&[z]).exp();
        // The tail decays like e^{−s|z|/r}: e^{−60} beyond L. The kink at 0 is a node.
        let l = r * (1.0 + 60.0 / s);
        let total = simpson(f, -l, 0.0, 200_000) + simpson(f, 0.0, l, 200_000);
        assert!((total - 1.0).abs() < 1e-9, "r = {r}, s = {s}: {total}");
        // Closed form in 1-D: Z = 2 (r/s) ln(1 + e^s).
        let z = 2.0 * r / s * (1.0 + s.exp()).ln();
        assert!((p.log_normalizer() - z.ln()).abs() < 1e-12);
    }
}

#[test]
fn softball_integrates_to_one_on_a_cartesian_grid_in_two_dimensions() {
    for &(r, s, h) in &[(2.0, 5.0, 0.02), (1.0, 1.0, 0.04)] {
        let p = SoftballPrior::new(2, r, s).unwrap();
        let l = r * (1.0 + 40.0 / s);
        let n = 2 * ((l / h).round() as usize); // even, and the origin is a node
        let h = 2.0 * l / n as f64;
        let w = simpson_weights(n);
        let mut total = 0.0;
        for (i, wi) in w.iter().enumerate() {
            let x = -l + i as f64 * h;
            let mut row = 0.0;
            for (j, wj) in w.iter().enumerate() {
                let y = -l + j as f64 * h;
                row += wj * p.log_prob(&[x, y]).exp();
            }
            total += wi * row;
        }
        total *= h * h / 9.0;
        assert!((total - 1.0).abs() < 2e-6, "r = {r}, s = {s}: {total}");
    }
}

#[test]
fn softball_integrates_to_one_radially_in_higher_dimensions() {
    // Sphere areas S_{d−1} = 2π^{d/2}/Γ(d/2) from elementary products: Γ(5/2) = 3√π/4,
    // Γ(10) = 9!.
    let s4 = 2.0 * PI.powf(2.5) / (0.75 * PI.sqrt());
    let s19 = 2.0 * PI.powi(10) / 362_880.0;
    for &(d, area, r, s) in &[
        (5usize, s4, 2.0, 5.0),
        (5, s4, 1.5, 0.5),
        (20, s19, 2.0, 5.0),
        (20, s19, 3.0, 40.0),
    ] {
        let p = SoftballPrior::new(d, r, s).unwrap();
        let mut e = vec![0.0; d];
        let f = |rho: f64| {
            let mut e = vec![0.0; d];
            e[0] = rho;
            area * rho.powi(d as i32 - 1) * p.log_prob(&e).exp()
        };
        let upper = r * (1.0 + (60.0 + 3.0 * d as f64) / s);
        let total = simpson(f, 0.0, upper, 400_000);
        assert!((total - 1.0).abs() < 1e-8, "d = {d}, s = {s}: {total}");
        e[0] = 0.0;
        assert!(p.log_prob(&e).is_finite());
    }
}

#[test]
fn softball_normaliser_tends_to_the_ball_volume_only_for_hard_edges() {
    for d in [1usize, 3, 10] {
        let hard = SoftballPrior::new(d, 2.0, 2000.0).unwrap();
        // Sommerfeld: ln Z − ln V ≈ π² d (d − 1) / (6 s²) (exactly 0 for d = 1 up to e^{−s}).
        let expected = PI * PI * (d * (d - 1)) as f64 / (6.0 * 2000f64.powi(2));
        assert!((hard.log_normalizer() - hard.log_ball_volume() - expected).abs() < 1e-9);
        // multiDGD's class default hardness 1: its constant is far from the normaliser.
        let soft = SoftballPrior::new(d, 2.0, 1.0).unwrap();
        let gap = soft.log_normalizer() - soft.log_ball_volume();
        assert!(gap > 0.25, "d = {d}: {gap}");
        if d == 1 {
            // Z / V = 2(r/s) ln(1 + e^s) / (2r) at s = 1.
            assert!((gap - std::f64::consts::E.ln_1p().ln()).abs() < 1e-14);
        }
    }
}

#[test]
fn softball_gradient_matches_finite_differences() {
    let p = SoftballPrior::new(3, 1.5, 4.0).unwrap();
    for z in [[0.3, -0.2, 0.1], [1.0, 1.0, -0.5], [-4.0, 2.0, 3.0]] {
        let mut g = [0.0; 3];
        p.add_grad_log_prob(&z, 2.0, &mut g);
        for j in 0..3 {
            let h = 1e-6;
            let (mut a, mut b) = (z, z);
            a[j] += h;
            b[j] -= h;
            let fd = 2.0 * (p.log_prob(&a) - p.log_prob(&b)) / (2.0 * h);
            assert!((g[j] - fd).abs() < 1e-7, "{j}: {} vs {fd}", g[j]);
        }
    }
    let mut g = [0.0; 3];
    p.add_grad_log_prob(&[0.0; 3], 1.0, &mut g);
    assert_eq!(g, [0.0; 3]);
}

#[test]
fn uniform_ball_initialisation_fills_the_ball_uniformly() {
    let (d, r, n) = (3usize, 2.0, 20_000usize);
    let p = SoftballPrior::new(d, r, 5.0).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let z = p.sample_uniform_ball(n, &mut rng);
    assert_eq!(z.len(), n * d);
    let norms: Vec<f64> = z
        .chunks_exact(d)
        .map(|v| v.iter().map(|x| x * x).sum::<f64>().sqrt())
        .collect();
    assert!(norms.iter().all(|&x| x <= r));
    // P(|z| ≤ ρ) = (ρ/r)^d for a uniform draw from the ball.
    for frac in [0.5, 0.8, 0.95] {
        let expected = f64::powi(frac, d as i32);
        let found = norms.iter().filter(|&&x| x <= frac * r).count() as f64 / n as f64;
        let se = (expected * (1.0 - expected) / n as f64).sqrt();
        assert!(
            (found - expected).abs() < 5.0 * se,
            "{frac}: {found} vs {expected}"
        );
    }
    // Directions: the mean of the first coordinate is 0 (sd r/√(d+2) per coordinate).
    let mean = z.chunks_exact(d).map(|v| v[0]).sum::<f64>() / n as f64;
    assert!(mean.abs() < 5.0 * r / ((d + 2) as f64).sqrt() / (n as f64).sqrt());
}

#[test]
fn log_variance_prior_is_the_gaussian_density() {
    let p = LogVariancePrior::new(-1.3, 0.7).unwrap();
    for v in [-5.0, -1.3, 0.0, 2.5] {
        let direct = (-(v + 1.3f64).powi(2) / (2.0 * 0.49)).exp() / (0.7 * (2.0 * PI).sqrt());
        assert!((p.log_prob(v) - direct.ln()).abs() < 1e-13);
        let h = 1e-6;
        let fd = (p.log_prob(v + h) - p.log_prob(v - h)) / (2.0 * h);
        assert!((p.grad_log_prob(v) - fd).abs() < 1e-7);
    }
}

#[test]
fn log_variance_prior_gives_sigma_the_requested_mean_and_spread() {
    for &(m, s) in &[(0.2, 0.1), (1.0, 1.0), (0.05, 0.5), (3.0, 0.01)] {
        let p = LogVariancePrior::from_sd_moments(m, s).unwrap();
        // E[σ] and E[σ²] with σ = e^{v/2}, by quadrature against the Gaussian density of v.
        let (lo, hi) = (p.loc() - 14.0 * p.scale(), p.loc() + 14.0 * p.scale());
        let density = |v: f64| p.log_prob(v).exp();
        let e1 = simpson(|v| (v / 2.0).exp() * density(v), lo, hi, 100_000);
        let e2 = simpson(|v| v.exp() * density(v), lo, hi, 100_000);
        let sd = (e2 - e1 * e1).sqrt();
        assert!((e1 / m - 1.0).abs() < 1e-9, "({m}, {s}): E[σ] = {e1}");
        assert!((sd / s - 1.0).abs() < 1e-6, "({m}, {s}): SD[σ] = {sd}");
        let (m2, s2) = p.sd_moments();
        assert!((m2 / m - 1.0).abs() < 1e-12 && (s2 / s - 1.0).abs() < 1e-10);
    }
}

#[test]
fn dirichlet_with_two_components_is_the_beta_density() {
    // Beta(α, α) densities in closed form: 6p(1−p), 30p²(1−p)², 1/(π√(p(1−p))), 1.
    type Density = fn(f64) -> f64;
    let cases: [(f64, Density); 4] = [
        (2.0, |p| 6.0 * p * (1.0 - p)),
        (3.0, |p| 30.0 * p * p * (1.0 - p) * (1.0 - p)),
        (0.5, |p| 1.0 / (PI * (p * (1.0 - p)).sqrt())),
        (1.0, |_| 1.0),
    ];
    for (alpha, beta) in cases {
        let prior = DirichletPrior::new(2, alpha).unwrap();
        for p in [0.01, 0.3, 0.5, 0.77] {
            let got = prior.log_prob(&[p, 1.0 - p]);
            assert!((got - beta(p).ln()).abs() < 1e-12, "α = {alpha}, p = {p}");
        }
    }
}

#[test]
fn dirichlet_with_three_components_integrates_to_one_on_the_simplex() {
    let prior = DirichletPrior::new(3, 2.5).unwrap();
    // Midpoint rule on the triangle p1, p2 ≥ 0, p1 + p2 ≤ 1 (the density vanishes at the edge).
    let n = 2000;
    let h = 1.0 / n as f64;
    let mut total = 0.0;
    for i in 0..n {
        for j in 0..n - i {
            let (p1, p2) = ((i as f64 + 0.5) * h, (j as f64 + 0.5) * h);
            let p3 = 1.0 - p1 - p2;
            if p3 > 0.0 {
                total += prior.log_prob(&[p1, p2, p3]).exp();
            }
        }
    }
    total *= h * h;
    assert!((total - 1.0).abs() < 2e-3, "{total}");
}

#[test]
fn dirichlet_gradient_through_the_softmax_matches_finite_differences() {
    let prior = DirichletPrior::new(4, 0.4).unwrap();
    let logits: [f64; 4] = [0.3, -1.0, 2.0, 0.0];
    let value = |a: &[f64]| {
        let z: f64 = a.iter().map(|x| x.exp()).sum();
        let w: Vec<f64> = a.iter().map(|x| x.exp() / z).collect();
        prior.log_prob(&w)
    };
    let z: f64 = logits.iter().map(|x| x.exp()).sum();
    let w: Vec<f64> = logits.iter().map(|x| x.exp() / z).collect();
    let mut g = [0.0; 4];
    prior.add_grad_logits(&w, 1.0, &mut g);
    for j in 0..4 {
        let (mut a, mut b) = (logits, logits);
        a[j] += 1e-6;
        b[j] -= 1e-6;
        let fd = (value(&a) - value(&b)) / 2e-6;
        assert!((g[j] - fd).abs() < 1e-7, "{j}: {} vs {fd}", g[j]);
    }
}

fn field_of(e: DgdError) -> &'static str {
    match e {
        DgdError::InvalidParameter { field, .. } | DgdError::InvalidCount { field, .. } => field,
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn invalid_prior_settings_are_typed_errors_naming_the_field() {
    assert_eq!(
        field_of(SoftballPrior::new(0, 1.0, 1.0).unwrap_err()),
        "dim"
    );
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_eq!(
            field_of(SoftballPrior::new(2, bad, 1.0).unwrap_err()),
            "softball_radius"
        );
        assert_eq!(
            field_of(SoftballPrior::new(2, 1.0, bad).unwrap_err()),
            "softball_hardness"
        );
        assert_eq!(
            field_of(LogVariancePrior::from_sd_moments(bad, 1.0).unwrap_err()),
            "sd_mean"
        );
        assert_eq!(
            field_of(LogVariancePrior::from_sd_moments(1.0, bad).unwrap_err()),
            "sd_sd"
        );
        assert_eq!(
            field_of(LogVariancePrior::new(0.0, bad).unwrap_err()),
            "log_var_prior_scale"
        );
        assert_eq!(
            field_of(DirichletPrior::new(3, bad).unwrap_err()),
            "dirichlet_alpha"
        );
    }
    assert_eq!(
        field_of(LogVariancePrior::new(f64::NAN, 1.0).unwrap_err()),
        "log_var_prior_loc"
    );
    assert_eq!(
        field_of(DirichletPrior::new(0, 1.0).unwrap_err()),
        "n_components"
    );
}
