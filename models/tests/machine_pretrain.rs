//! Layerwise pretraining: the doubling of each pretraining RBM in both directions (against
//! the intended doubled model, exactly and through the runtime), the tied-copies gradient
//! against finite differences, and a pretraining run that raises the bottom RBM's exact
//! likelihood.

mod machine_support;

use blockgibbs_models::machine::{
    BoltzmannMachine, Conditional, Doubling, MachineSampler, PretrainOptions, PretrainingRbm,
    SamplingMode, UnitKind, average_log_likelihood, exact_gradient, pretrain,
};
use blockgibbs_models::optim::{LrSchedule, Method};
use blockgibbs_models::rbm::Sampling;
use blockgibbs_runtime::BackendChoice;
use machine_support::{layer_states, options, random_machine, random_state, rows};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn probs(c: &Conditional) -> Vec<f64> {
    match c {
        Conditional::Binary(p) | Conditional::Spin(p) => p.clone(),
        Conditional::Categorical { probs, .. } => probs.clone(),
        Conditional::Gaussian { mean, var } => mean.iter().chain(var).copied().collect(),
    }
}

/// The conditional of each copy of a duplicated layer, in the layout of [`probs`].
fn per_copy(c: &Conditional, copies: usize) -> Vec<Vec<f64>> {
    match c {
        Conditional::Gaussian { mean, var } => {
            let n = mean.len() / copies;
            (0..copies)
                .map(|k| [&mean[k * n..(k + 1) * n], &var[k * n..(k + 1) * n]].concat())
                .collect()
        }
        _ => {
            let all = probs(c);
            all.chunks_exact(all.len() / copies)
                .map(<[f64]>::to_vec)
                .collect()
        }
    }
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
}

#[test]
fn doubling_per_position() {
    let d = |up, down| Doubling { up, down };
    assert_eq!(Doubling::for_pair(0, 2), d(1, 1));
    assert_eq!(Doubling::for_pair(0, 3), d(2, 1));
    assert_eq!(Doubling::for_pair(1, 3), d(1, 2));
    assert_eq!(Doubling::for_pair(0, 4), d(2, 1));
    assert_eq!(Doubling::for_pair(1, 4), d(2, 2));
    assert_eq!(Doubling::for_pair(2, 4), d(1, 2));
}

/// Every pretraining RBM of a four-layer machine of four kinds: its conditionals, and those of
/// its tied-copies machine with equal copies, equal the RBM whose weights are multiplied by
/// the doubling of that direction; the doubled directions really differ from ×1.
#[test]
fn pretraining_conditionals_equal_the_doubled_model_in_both_directions() {
    let deep = random_machine(
        &[
            (UnitKind::Binary, 3),
            (UnitKind::Spin, 3),
            (UnitKind::Categorical(3), 2),
            (UnitKind::Gaussian, 2),
        ],
        0.8,
        1,
    );
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for pair in 0..3 {
        let p = PretrainingRbm::from_deep(&deep, pair).unwrap();
        let d = p.doubling();
        let (lo, up) = (&deep.layers()[pair], &deep.layers()[pair + 1]);
        let scaled = |s: usize| {
            let w: Vec<f32> = deep.weights()[pair].iter().map(|&w| w * s as f32).collect();
            BoltzmannMachine::new(vec![lo.clone(), up.clone()], vec![w]).unwrap()
        };
        let tied = p.tied_machine().unwrap();
        for _ in 0..3 {
            let x = random_state(lo, &mut rng);
            let y = random_state(up, &mut rng);
            let want_up = probs(&scaled(d.up).conditional(1, &[x.clone(), vec![]]).unwrap());
            let want_down = probs(&scaled(d.down).conditional(0, &[vec![], y.clone()]).unwrap());
            assert!(
                close(&probs(&p.up_conditional(&x).unwrap()), &want_up),
                "pair {pair} up"
            );
            assert!(
                close(&probs(&p.down_conditional(&y).unwrap()), &want_down),
                "pair {pair} down"
            );
            // Each copy of the tied machine has the doubled conditional when copies agree.
            let t_up = tied.conditional(1, &[x.repeat(d.up), vec![]]).unwrap();
            let t_down = tied.conditional(0, &[vec![], y.repeat(d.down)]).unwrap();
            for (got, want, copies) in [(&t_up, &want_up, d.down), (&t_down, &want_down, d.up)] {
                for c in per_copy(got, copies) {
                    assert!(close(&c, want), "pair {pair}: tied copy {c:?} vs {want:?}");
                }
            }
            let plain_up = probs(&scaled(1).conditional(1, &[x.clone(), vec![]]).unwrap());
            let plain_down = probs(&scaled(1).conditional(0, &[vec![], y.clone()]).unwrap());
            assert_eq!(close(&want_up, &plain_up), d.up == 1, "pair {pair}");
            assert_eq!(close(&want_down, &plain_down), d.down == 1, "pair {pair}");
        }
    }
}

/// Through the runtime: the bottom RBM's tied machine with its visible copies clamped to `x`
/// draws the hidden layer from `σ(b + 2Wᵀx)`; the top RBM's with its hidden copies clamped to
/// `y` draws the layer below from `softmax(θ + 2Wy)`.
#[test]
fn tied_machines_sample_the_doubled_conditionals_on_the_runtime() {
    const CHAINS: usize = 4000;
    let deep = random_machine(
        &[
            (UnitKind::Binary, 3),
            (UnitKind::Binary, 3),
            (UnitKind::Categorical(3), 2),
        ],
        0.9,
        3,
    );
    for (pair, clamped, free, state) in [
        (0usize, 0usize, 1usize, vec![1.0f32, 0.0, 1.0]),
        (1, 1, 0, vec![2.0f32, 0.0]),
    ] {
        let p = PretrainingRbm::from_deep(&deep, pair).unwrap();
        let copies = if clamped == 0 {
            p.doubling().up
        } else {
            p.doubling().down
        };
        assert_eq!(copies, 2);
        let tied = p.tied_machine().unwrap();
        let mut s = MachineSampler::new(
            &tied,
            &[clamped],
            options(CHAINS, 10 + pair as u64),
            BackendChoice::Reference,
        )
        .unwrap();
        s.clamp_layer(clamped, &state.repeat(copies)).unwrap();
        s.run(SamplingMode::MarkovChain, 1).unwrap();
        let want = if clamped == 0 {
            probs(&p.up_conditional(&state).unwrap())
        } else {
            probs(&p.down_conditional(&state).unwrap())
        };
        let layer = &p.rbm().layers()[free];
        let width = layer.kind().width();
        let mut freq = vec![0.0f64; want.len()];
        // Only the first copy of a duplicated free layer is compared (the RBMs here have one).
        for row in rows(&s.layer_values(free).unwrap(), tied.layers()[free].len()) {
            for (i, &x) in row.iter().take(layer.len()).enumerate() {
                if width == 1 {
                    freq[i] += x as f64;
                } else {
                    freq[i * width + x as usize] += 1.0;
                }
            }
        }
        for (k, &pk) in want.iter().enumerate() {
            let f = freq[k] / CHAINS as f64;
            let tol = 5.0 * (pk * (1.0 - pk) / CHAINS as f64).sqrt();
            assert!((f - pk).abs() < tol, "pair {pair} entry {k}: {f} vs {pk}");
        }
    }
}

/// The untied gradient of the tied machine is the gradient of its exact log-likelihood with
/// respect to the shared parameters (both copies moved together).
#[test]
fn untied_gradient_equals_finite_differences_of_the_tied_likelihood() {
    let deep = random_machine(
        &[
            (UnitKind::Binary, 2),
            (UnitKind::Spin, 2),
            (UnitKind::Categorical(2), 2),
            (UnitKind::Binary, 2),
        ],
        0.7,
        4,
    );
    let p = PretrainingRbm::from_deep(&deep, 1).unwrap();
    assert_eq!(p.doubling(), Doubling { up: 2, down: 2 });
    let lower = &p.rbm().layers()[0];
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let data: Vec<f32> = (0..5).flat_map(|_| random_state(lower, &mut rng)).collect();
    let tied_data = p.tie_data(&data);
    let g = p
        .untie(
            &exact_gradient(&p.tied_machine().unwrap(), &tied_data)
                .unwrap()
                .gradient,
        )
        .flatten();
    let params = p.rbm().flat_params();
    assert_eq!(g.len(), params.len());
    let ll = |q: &[f64]| {
        let rbm = p.rbm().with_flat_params(q).unwrap();
        let tied = PretrainingRbm::new(rbm, p.doubling())
            .unwrap()
            .tied_machine()
            .unwrap();
        average_log_likelihood(&tied, &tied_data).unwrap()
    };
    for k in 0..params.len() {
        let (mut plus, mut minus) = (params.clone(), params.clone());
        plus[k] += 1e-3;
        minus[k] -= 1e-3;
        let step = (plus[k] as f32 as f64) - (minus[k] as f32 as f64);
        let fd = -(ll(&plus) - ll(&minus)) / step;
        assert!(
            (fd - g[k]).abs() < 2e-4 * (1.0 + g[k].abs()),
            "parameter {k}: {} vs {fd}",
            g[k]
        );
    }
}

/// Pretraining a three-layer machine on two noisy prototypes raises the bottom RBM's exact
/// (tied-copies) log-likelihood of the data well above that of the initial weights.
#[test]
fn pretraining_raises_the_bottom_rbm_likelihood() {
    let deep = random_machine(
        &[
            (UnitKind::Binary, 6),
            (UnitKind::Binary, 4),
            (UnitKind::Binary, 3),
        ],
        0.01,
        6,
    );
    let protos = [
        [1.0f32, 1.0, 1.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let data: Vec<f32> = (0..80)
        .flat_map(|r| {
            protos[r % 2]
                .iter()
                .map(|&x| {
                    if rng.random::<f64>() < 0.05 {
                        1.0 - x
                    } else {
                        x
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let bottom_ll = |m: &BoltzmannMachine| {
        let p = PretrainingRbm::from_deep(m, 0).unwrap();
        average_log_likelihood(&p.tied_machine().unwrap(), &p.tie_data(&data)).unwrap()
    };
    let before = bottom_ll(&deep);
    let opts = PretrainOptions {
        sampling: Sampling::Pcd { k: 1, chains: 64 },
        method: Method::adam(),
        lr: LrSchedule::Constant(0.05),
        epochs: 15,
        batch_size: 20,
        seed: 8,
    };
    let trained = pretrain(&deep, &data, &opts).unwrap();
    assert_eq!(trained.n_layers(), 3);
    let after = bottom_ll(&trained);
    eprintln!("bottom tied log-likelihood {before:.3} → {after:.3}");
    // Two copies of 6 units: the uniform model scores 12 ln ½ ≈ −8.3; two prototypes with 5%
    // noise allow about 2 · (ln ½ + 6 · H(0.05)) ≈ −3.7.
    assert!(after > before + 2.0, "{before} → {after}");
    assert!(layer_states(&trained.layers()[2]).len() == 8);
}
