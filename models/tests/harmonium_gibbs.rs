//! Harmoniums on the engine: the lowered model's energy is the harmonium's log-density, the
//! runtime's Gibbs chains reproduce the exact joint (5σ, standard errors from independent
//! chains), and contrastive divergence agrees in expectation with its exact value and,
//! with many steps, with the exact gradient.

mod harmonium_support;

use blockgibbs_models::expfam::{
    Bernoulli, Categorical, CovarianceType, ExponentialFamily, Gaussian, Spin, evaluate_polynomial,
};
use blockgibbs_models::harmonium::{Conjugated, Coupling, Harmonium, HarmoniumSampler, Order};
use blockgibbs_models::samples::Samples;
use blockgibbs_models::training::SamplingOptions;
use blockgibbs_runtime::{SampleCollector, SamplingSchedule};
use harmonium_support::{discrete_support, gaussian_boltzmann, gaussian_mixture, linear_gaussian};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A function of an observable and a latent state.
type StateFn = dyn Fn(&[f64], &[f64]) -> f64;

fn options(chains: usize, seed: u64) -> SamplingOptions {
    SamplingOptions {
        chains,
        seed,
        threads: 2,
        ..Default::default()
    }
}

/// The engine energy of a state equals minus the harmonium's unnormalised log-density, up
/// to the constant part of the base measures (and f32 weights).
fn check_energy<X: ExponentialFamily, Z: ExponentialFamily>(
    h: &Harmonium<X, Z>,
    states: &[(Vec<f64>, Vec<f64>)],
) {
    let lowered = h.lower(Order::ObservableFirst).unwrap();
    let constant = |x: &[f64], z: &[f64]| {
        h.observable().log_base_measure(x)
            - evaluate_polynomial(&h.observable().base_measure_terms(), x)
            + h.latent().log_base_measure(z)
            - evaluate_polynomial(&h.latent().base_measure_terms(), z)
    };
    for (x, z) in states {
        let state: Vec<f32> = x.iter().chain(z).map(|&v| v as f32).collect();
        let energy = lowered.model.energy(&state);
        let want = -(h.log_joint_unnormalised(x, z).unwrap() - constant(x, z));
        let scale = 1.0 + want.abs() + h.params().iter().map(|p| p.abs()).sum::<f64>();
        assert!(
            (energy - want).abs() < 1e-6 * scale,
            "{}×{}: energy {energy} vs {want}",
            h.observable().name(),
            h.latent().name()
        );
    }
}

#[test]
fn lowered_energy_is_the_harmonium_log_density() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut reals =
        |n: usize| -> Vec<f64> { (0..n).map(|_| rng.random_range(-2.0..2.0)).collect() };
    let bc = Harmonium::initialize(
        Bernoulli::new(3).unwrap(),
        Categorical::new(4).unwrap(),
        (Coupling::Full, Coupling::Full),
        1.0,
        3,
    )
    .unwrap();
    let states: Vec<_> = discrete_support(bc.observable())
        .into_iter()
        .flat_map(|x| {
            discrete_support(bc.latent())
                .into_iter()
                .map(move |z| (x.clone(), z))
        })
        .collect();
    check_energy(&bc, &states);
    let sb = Harmonium::initialize(
        Spin::new(3).unwrap(),
        Bernoulli::new(2).unwrap(),
        (Coupling::Full, Coupling::Full),
        1.0,
        4,
    )
    .unwrap();
    let states: Vec<_> = discrete_support(sb.observable())
        .into_iter()
        .flat_map(|x| {
            discrete_support(sb.latent())
                .into_iter()
                .map(move |z| (x.clone(), z))
        })
        .collect();
    check_energy(&sb, &states);
    let cc = Harmonium::initialize(
        Categorical::new(3).unwrap(),
        Categorical::new(4).unwrap(),
        (Coupling::Full, Coupling::Full),
        1.0,
        5,
    )
    .unwrap();
    let states: Vec<_> = (0..3)
        .flat_map(|a| (0..4).map(move |b| (vec![a as f64], vec![b as f64])))
        .collect();
    check_energy(&cc, &states);
    for ty in [
        CovarianceType::Full,
        CovarianceType::Diagonal,
        CovarianceType::Isotropic,
        CovarianceType::Fixed,
    ] {
        let gm = gaussian_mixture(3, 3, ty, 6);
        let states: Vec<_> = (0..3).map(|c| (reals(3), vec![c as f64])).collect();
        check_energy(&gm, &states);
        let lgm = linear_gaussian(3, 2, ty, 7);
        let states: Vec<_> = (0..4).map(|_| (reals(3), reals(2))).collect();
        check_energy(&lgm, &states);
    }
    let gb = gaussian_boltzmann(3, 3, 8);
    let states: Vec<_> = discrete_support(gb.latent())
        .into_iter()
        .map(|z| (reals(3), z))
        .collect();
    check_energy(&gb, &states);
}

/// Per-chain averages of `f(x, z)` over `samples` sweeps after `warmup`, reduced to a mean
/// and a standard error across the (independent) chains.
fn chain_estimates<X: ExponentialFamily, Z: ExponentialFamily>(
    h: &Harmonium<X, Z>,
    order: Order,
    chains: usize,
    (warmup, samples): (u64, u64),
    funcs: &[&StateFn],
) -> Vec<(f64, f64)> {
    let mut s = HarmoniumSampler::new(h, order, &options(chains, 99)).unwrap();
    let mut nodes = s.observable_group().ids();
    nodes.extend(s.latent_group().ids());
    let dx = h.observable().data_dim();
    let mut collector = SampleCollector::new(nodes);
    s.sampler_mut()
        .run(
            &SamplingSchedule::new(warmup, samples, 1),
            &mut [&mut collector],
        )
        .unwrap();
    funcs
        .iter()
        .map(|f| {
            let per_chain: Vec<f64> = (0..chains)
                .map(|c| {
                    (0..samples as usize)
                        .map(|t| {
                            let row: Vec<f64> =
                                collector.row(t, c).iter().map(|&v| v as f64).collect();
                            f(&row[..dx], &row[dx..])
                        })
                        .sum::<f64>()
                        / samples as f64
                })
                .collect();
            let m = per_chain.iter().sum::<f64>() / chains as f64;
            let v = per_chain.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (chains - 1) as f64;
            (m, (v / chains as f64).sqrt())
        })
        .collect()
}

fn assert_within(label: &str, got: (f64, f64), want: f64) {
    let (m, se) = got;
    assert!(
        (m - want).abs() < 5.0 * se + 1e-12,
        "{label}: {m} ± {se} vs exact {want} ({:.1}σ)",
        (m - want).abs() / se
    );
}

#[test]
fn gibbs_chains_reproduce_the_exact_discrete_joint() {
    let h = Harmonium::initialize(
        Bernoulli::new(3).unwrap(),
        Categorical::new(3).unwrap(),
        (Coupling::Full, Coupling::Full),
        1.5,
        12,
    )
    .unwrap();
    let xs = discrete_support(h.observable());
    let zs = discrete_support(h.latent());
    let states: Vec<(Vec<f64>, Vec<f64>)> = xs
        .iter()
        .flat_map(|x| zs.iter().map(move |z| (x.clone(), z.clone())))
        .collect();
    let logw: Vec<f64> = states
        .iter()
        .map(|(x, z)| h.log_joint_unnormalised(x, z).unwrap())
        .collect();
    let total: f64 = logw.iter().map(|w| w.exp()).sum();
    let indicators: Vec<Box<StateFn>> = states
        .iter()
        .map(|(x, z)| {
            let (x, z) = (x.clone(), z.clone());
            Box::new(move |a: &[f64], b: &[f64]| {
                (a == x.as_slice() && b == z.as_slice()) as u8 as f64
            }) as Box<StateFn>
        })
        .collect();
    let funcs: Vec<&StateFn> = indicators.iter().map(|b| b.as_ref()).collect();
    for order in [Order::ObservableFirst, Order::LatentFirst] {
        let est = chain_estimates(&h, order, 64, (50, 1500), &funcs);
        for ((state, w), e) in states.iter().zip(&logw).zip(est) {
            assert_within(&format!("p{state:?} ({order:?})"), e, w.exp() / total);
        }
    }
}

#[test]
fn gibbs_chains_reproduce_gaussian_harmonium_moments() {
    // A full-covariance mixture: x couples within itself, so each coordinate is its own block.
    let h = gaussian_mixture(2, 3, CovarianceType::Full, 13);
    let prior = h.latent().probabilities(&h.prior().unwrap()).unwrap();
    let comps: Vec<_> = (0..3)
        .map(|c| {
            h.observable()
                .mean_covariance(&h.likelihood_at(&[c as f64]).unwrap())
                .unwrap()
        })
        .collect();
    let ex = |j: usize| (0..3).map(|c| prior[c] * comps[c].0[j]).sum::<f64>();
    let exx = |j: usize| {
        (0..3)
            .map(|c| prior[c] * (comps[c].1[(j, j)] + comps[c].0[j].powi(2)))
            .sum::<f64>()
    };
    let f0 = |x: &[f64], _: &[f64]| x[0];
    let f1 = |x: &[f64], _: &[f64]| x[1] * x[1];
    let f2 = |_: &[f64], z: &[f64]| (z[0] == 2.0) as u8 as f64;
    let f3 = |x: &[f64], _: &[f64]| x[0] * x[1];
    let exy: f64 = (0..3)
        .map(|c| prior[c] * (comps[c].1[(0, 1)] + comps[c].0[0] * comps[c].0[1]))
        .sum();
    let est = chain_estimates(
        &h,
        Order::ObservableFirst,
        64,
        (100, 3000),
        &[&f0, &f1, &f2, &f3],
    );
    assert_within("E[x0]", est[0], ex(0));
    assert_within("E[x1²]", est[1], exx(1));
    assert_within("P(z = 2)", est[2], prior[2]);
    assert_within("E[x0 x1]", est[3], exy);

    // A linear Gaussian model with a full-covariance latent: moments of the joint normal.
    let lgm = linear_gaussian(3, 2, CovarianceType::Diagonal, 14);
    let psi_probe = lgm.log_partition().unwrap();
    assert!(psi_probe.is_finite());
    let (xs, zs) = lgm.sample(200_000, 3).unwrap();
    let exact_x0 = xs.chunks_exact(3).map(|x| x[0]).sum::<f64>() / 200_000.0;
    let exact_z1 = zs.chunks_exact(2).map(|z| z[1] * z[1]).sum::<f64>() / 200_000.0;
    let g0 = |x: &[f64], _: &[f64]| x[0];
    let g1 = |_: &[f64], z: &[f64]| z[1] * z[1];
    let est = chain_estimates(&lgm, Order::LatentFirst, 64, (100, 3000), &[&g0, &g1]);
    // The reference values are Monte Carlo too, with 200k i.i.d. draws: their error is far
    // below the chains' standard error.
    assert_within("E[x0]", est[0], exact_x0);
    assert_within("E[z1²]", est[1], exact_z1);
}

/// E[statistic(x_k)] of CD-k by propagating each data row's distribution through the exact
/// two-step transition `x → z → x'`.
fn exact_cd_expectation(
    h: &Harmonium<Bernoulli, Bernoulli>,
    data: &[Vec<f64>],
    k: usize,
) -> Vec<f64> {
    let xs = discrete_support(h.observable());
    let zs = discrete_support(h.latent());
    let cond = |natural: &[f64], v: &[f64], family: &Bernoulli| {
        family.log_density(natural, v).unwrap().exp()
    };
    let transition: Vec<Vec<f64>> = xs
        .iter()
        .map(|x| {
            let pz = h.posterior_at(x).unwrap();
            xs.iter()
                .map(|x2| {
                    zs.iter()
                        .map(|z| {
                            cond(&pz, z, h.latent())
                                * cond(&h.likelihood_at(z).unwrap(), x2, h.observable())
                        })
                        .sum()
                })
                .collect()
        })
        .collect();
    let rb = |x: &[f64]| {
        let sx = h.observable().sufficient_statistic(x).unwrap();
        let ez = h.latent().to_mean(&h.posterior_at(x).unwrap()).unwrap();
        h.joint_statistic_from(&sx, &ez)
    };
    let mut out = vec![0.0; h.param_dim()];
    for x0 in data {
        let mut p: Vec<f64> = xs.iter().map(|x| (x == x0) as u8 as f64).collect();
        for _ in 0..k {
            p = (0..xs.len())
                .map(|j| (0..xs.len()).map(|i| p[i] * transition[i][j]).sum())
                .collect();
        }
        for (x, px) in xs.iter().zip(&p) {
            for (o, s) in out.iter_mut().zip(rb(x)) {
                *o += px * s / data.len() as f64;
            }
        }
    }
    out
}

#[test]
fn contrastive_divergence_matches_its_exact_expectation_and_the_exact_gradient() {
    let h = Harmonium::initialize(
        Bernoulli::new(3).unwrap(),
        Bernoulli::new(2).unwrap(),
        (Coupling::Full, Coupling::Full),
        1.0,
        15,
    )
    .unwrap();
    let data_rows = [
        vec![1.0, 0.0, 1.0],
        vec![0.0, 0.0, 1.0],
        vec![1.0, 1.0, 1.0],
    ];
    let replicas = 3000;
    let replicated: Vec<f64> = (0..replicas).flat_map(|_| data_rows.concat()).collect();
    let data = Samples::new(replicated, 3).unwrap();
    let positive = h
        .data_statistics(&Samples::from_rows(&data_rows).unwrap())
        .unwrap();
    // Exact model statistics by enumeration, for the exact gradient.
    let xs = discrete_support(h.observable());
    let zs = discrete_support(h.latent());
    let mut model = vec![0.0; h.param_dim()];
    let mut total = 0.0;
    for x in &xs {
        for z in &zs {
            let w = h.log_joint_unnormalised(x, z).unwrap().exp();
            total += w;
            let s = h.joint_statistic_from(
                &h.observable().sufficient_statistic(x).unwrap(),
                &h.latent().sufficient_statistic(z).unwrap(),
            );
            for (m, v) in model.iter_mut().zip(s) {
                *m += w * v;
            }
        }
    }
    let exact_gradient: Vec<f64> = model
        .iter()
        .zip(&positive)
        .map(|(m, p)| m / total - p)
        .collect();
    for (k, target) in [(1u64, None), (40, Some(&exact_gradient))] {
        // Independent replicate estimates for the standard error.
        let runs: Vec<Vec<f64>> = (0..8)
            .map(|seed| {
                h.contrastive_divergence(&data, k, &options(0, seed))
                    .unwrap()
            })
            .collect();
        let cd_exact: Vec<f64> = exact_cd_expectation(&h, &data_rows, k as usize)
            .iter()
            .zip(&positive)
            .map(|(n, p)| n - p)
            .collect();
        let want = target.cloned().unwrap_or(cd_exact.clone());
        for i in 0..h.param_dim() {
            let vals: Vec<f64> = runs.iter().map(|r| r[i]).collect();
            let m = vals.iter().sum::<f64>() / vals.len() as f64;
            let v = vals.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (vals.len() - 1) as f64;
            let se = (v / vals.len() as f64).sqrt();
            assert_within(
                &format!("CD-{k} coordinate {i}"),
                (m, se.max(1e-4)),
                want[i],
            );
        }
        if k == 40 {
            // By 40 steps the chain has forgotten the data: CD-40's exact expectation is the
            // exact gradient to far below the sampling error.
            for (a, b) in cd_exact.iter().zip(&exact_gradient) {
                assert!((a - b).abs() < 1e-6, "{a} vs {b}");
            }
        }
    }
}

#[test]
fn gibbs_step_and_errors() {
    let h = gaussian_mixture(2, 3, CovarianceType::Diagonal, 16);
    let (x, z) = h.gibbs_step(&[0.0, 1.0, 2.0, 2.0], &options(0, 3)).unwrap();
    assert_eq!((x.len(), z.len()), (8, 4));
    assert!(z.iter().all(|&c| c == 0.0 || c == 1.0 || c == 2.0));
    assert!(h.gibbs_step(&[3.0], &options(0, 3)).is_err());
    assert!(h.gibbs_step(&[], &options(0, 3)).is_err());
    let data = Samples::new(vec![0.0, 1.0], 2).unwrap();
    assert!(h.contrastive_divergence(&data, 0, &options(0, 1)).is_err());
    let wrong = Samples::new(vec![0.0, 1.0, 2.0], 3).unwrap();
    assert!(h.contrastive_divergence(&wrong, 1, &options(0, 1)).is_err());
    let mut s = HarmoniumSampler::new(&h, Order::ObservableFirst, &options(4, 1)).unwrap();
    assert!(s.set_latent(&[7.0]).is_err());
    assert!(s.set_observable(&[1.0, 2.0, 3.0]).is_err());
    let g = Gaussian::new(2, CovarianceType::Diagonal).unwrap();
    // A latent whose bias makes x's precision negative: the runtime reports it, no NaN.
    let bad = Harmonium::new(
        g,
        Categorical::new(2).unwrap(),
        (Coupling::Full, Coupling::Full),
        g.standard_natural(),
        vec![0.0],
        vec![0.0, 0.0, 2.0, 2.0],
    )
    .unwrap();
    let err = bad.gibbs_step(&[1.0], &options(0, 1));
    assert!(err.is_err(), "{err:?}");
}
