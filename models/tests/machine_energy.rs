//! Layered Boltzmann machines against exact answers without sampling: the lowered model's
//! energy equals the machine's for every pair of unit kinds and a four-kind deep machine;
//! conditionals equal ratios of joint energies; free energies equal sums (or a quadrature)
//! of `exp(−E)`; bad input gives typed errors naming the field.

mod machine_support;

use blockgibbs_models::machine::{
    BoltzmannMachine, Conditional, Layer, MachineError, MachineGradientEstimator, MachineSampler,
    SamplingMode, UnitKind, exact_gradient, exact_model_stats,
};
use blockgibbs_models::rbm::{Sampling, log_sum_exp};
use blockgibbs_runtime::BackendChoice;
use blockgibbs_runtime::RuntimeError;
use machine_support::{layer_states, options, random_machine, random_state};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const KINDS: [UnitKind; 4] = [
    UnitKind::Binary,
    UnitKind::Spin,
    UnitKind::Gaussian,
    UnitKind::Categorical(3),
];

/// `−Σ ½ loc²/σ²` over Gaussian layers: the constant the lowering drops.
fn dropped_constant(machine: &BoltzmannMachine) -> f64 {
    machine
        .layers()
        .iter()
        .filter(|l| l.kind() == UnitKind::Gaussian)
        .flat_map(|l| {
            l.bias()
                .iter()
                .zip(l.log_var())
                .map(|(&m, &s)| -0.5 * (m as f64).powi(2) * (-(s as f64)).exp())
        })
        .sum()
}

fn check_lowered_energy(machine: &BoltzmannMachine, seed: u64) {
    let model = machine.to_model().unwrap();
    let constant = dropped_constant(machine);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..25 {
        let states: Vec<Vec<f32>> = machine
            .layers()
            .iter()
            .map(|l| random_state(l, &mut rng))
            .collect();
        let flat: Vec<f32> = states.concat();
        let lowered = model.energy(&flat);
        let exact = machine.energy(&states).unwrap();
        let tol = 1e-5 * (1.0 + exact.abs() + constant.abs());
        assert!(
            (lowered - exact - constant).abs() < tol,
            "{:?}: lowered {lowered} vs machine {exact} + {constant}",
            machine
                .layers()
                .iter()
                .map(|l| l.kind())
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn lowered_energy_matches_for_every_pair_of_kinds_and_a_deep_machine() {
    let mut seed = 0;
    for a in KINDS {
        for b in KINDS {
            seed += 1;
            let machine = random_machine(&[(a, 3), (b, 2)], 0.7, seed);
            check_lowered_energy(&machine, seed);
        }
    }
    let deep = random_machine(
        &[
            (UnitKind::Gaussian, 2),
            (UnitKind::Categorical(3), 2),
            (UnitKind::Spin, 3),
            (UnitKind::Binary, 2),
            (UnitKind::Categorical(2), 2),
        ],
        0.7,
        99,
    );
    check_lowered_energy(&deep, 99);
    // One block per layer: odd layers first, then even layers.
    let model = deep.to_model().unwrap();
    let spec = model.block_spec().unwrap();
    let group = |l: usize| model.group(&format!("layer{l}")).unwrap().ids();
    assert_eq!(
        spec.superblocks,
        vec![vec![group(1), group(3)], vec![group(0), group(2), group(4)]]
    );
}

/// For every layer of a deep machine, `conditional` equals the ratios of `exp(−E)` over the
/// unit's states (discrete) or the quadratic the energy traces in the unit (Gaussian).
#[test]
fn conditionals_are_ratios_of_joint_energies() {
    let machine = random_machine(
        &[
            (UnitKind::Gaussian, 2),
            (UnitKind::Categorical(3), 2),
            (UnitKind::Spin, 2),
            (UnitKind::Binary, 2),
        ],
        0.8,
        5,
    );
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    for _ in 0..5 {
        let states: Vec<Vec<f32>> = machine
            .layers()
            .iter()
            .map(|l| random_state(l, &mut rng))
            .collect();
        let energy_with = |l: usize, i: usize, x: f32| {
            let mut s = states.clone();
            s[l][i] = x;
            machine.energy(&s).unwrap()
        };
        for l in 0..machine.n_layers() {
            let cond = machine.conditional(l, &states).unwrap();
            for i in 0..machine.layers()[l].len() {
                match &cond {
                    Conditional::Binary(p) => {
                        let d = energy_with(l, i, 0.0) - energy_with(l, i, 1.0);
                        assert!((p[i] - 1.0 / (1.0 + (-d).exp())).abs() < 1e-9);
                    }
                    Conditional::Spin(p) => {
                        let d = energy_with(l, i, -1.0) - energy_with(l, i, 1.0);
                        assert!((p[i] - 1.0 / (1.0 + (-d).exp())).abs() < 1e-9);
                    }
                    Conditional::Categorical { k, probs } => {
                        let lw: Vec<f64> = (0..*k).map(|c| -energy_with(l, i, c as f32)).collect();
                        let lz = log_sum_exp(&lw);
                        for c in 0..*k {
                            assert!((probs[i * k + c] - (lw[c] - lz).exp()).abs() < 1e-9);
                        }
                    }
                    Conditional::Gaussian { mean, var } => {
                        // E(x) − E(mean) = ½ (x − mean)² / var for a Gaussian conditional.
                        let m = mean[i] as f32;
                        for dx in [-1.0f32, 0.5, 2.0] {
                            let d = energy_with(l, i, m + dx) - energy_with(l, i, m);
                            let dx = (m + dx) as f64 - m as f64;
                            let expected = 0.5 * dx * dx / var[i];
                            assert!(
                                (d - expected).abs() < 1e-4 * (1.0 + expected),
                                "{d} {expected}"
                            );
                        }
                    }
                }
            }
        }
    }
}

/// `−ln Σ_x exp(−E)` over the summed-out layers, by brute force.
fn brute_free_energy(machine: &BoltzmannMachine, states: &[Option<Vec<f32>>]) -> f64 {
    let mut configs: Vec<Vec<Vec<f32>>> = vec![Vec::new()];
    for (layer, s) in machine.layers().iter().zip(states) {
        let options = match s {
            Some(x) => vec![x.clone()],
            None => layer_states(layer),
        };
        configs = configs
            .into_iter()
            .flat_map(|c| {
                options.iter().map(move |o| {
                    let mut t = c.clone();
                    t.push(o.clone());
                    t
                })
            })
            .collect();
    }
    let lw: Vec<f64> = configs
        .iter()
        .map(|c| -machine.energy(c).unwrap())
        .collect();
    -log_sum_exp(&lw)
}

#[test]
fn free_energies_equal_brute_force_sums_for_discrete_layers() {
    let machine = random_machine(
        &[
            (UnitKind::Spin, 3),
            (UnitKind::Categorical(3), 2),
            (UnitKind::Binary, 3),
        ],
        0.9,
        11,
    );
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    for _ in 0..4 {
        let s: Vec<Vec<f32>> = machine
            .layers()
            .iter()
            .map(|l| random_state(l, &mut rng))
            .collect();
        for pattern in [
            [true, false, true],
            [false, true, false],
            [true, true, false],
        ] {
            let given: Vec<Option<Vec<f32>>> = pattern
                .iter()
                .zip(&s)
                .map(|(&keep, x)| keep.then(|| x.clone()))
                .collect();
            let refs: Vec<Option<&[f32]>> = given.iter().map(|g| g.as_deref()).collect();
            let f = machine.free_energy(&refs).unwrap();
            let brute = brute_free_energy(&machine, &given);
            assert!((f - brute).abs() < 1e-9, "{pattern:?}: {f} vs {brute}");
        }
    }
}

/// A Gaussian layer of one unit integrated out, against a trapezoid quadrature.
#[test]
fn gaussian_free_energy_equals_quadrature() {
    let machine = random_machine(&[(UnitKind::Binary, 3), (UnitKind::Gaussian, 1)], 0.9, 21);
    for v in layer_states(&machine.layers()[0]) {
        let f = machine.free_energy(&[Some(&v), None]).unwrap();
        let (lo, hi, steps) = (-30.0f64, 30.0f64, 60_000);
        let dx = (hi - lo) / steps as f64;
        let mut integral = 0.0;
        for k in 0..=steps {
            let x = lo + k as f64 * dx;
            let w = if k == 0 || k == steps { 0.5 } else { 1.0 };
            integral += w * (-machine.energy(&[v.clone(), vec![x as f32]]).unwrap()).exp();
        }
        let quad = -(integral * dx).ln();
        // x rounds to f32 inside the energy: agreement to ~1e-6 relative.
        assert!(
            (f - quad).abs() < 1e-5,
            "v = {v:?}: {f} vs quadrature {quad}"
        );
    }
}

#[test]
fn invalid_layers_and_machines_give_typed_errors() {
    assert!(matches!(
        Layer::binary(vec![]),
        Err(MachineError::EmptyLayer { .. })
    ));
    assert!(matches!(
        Layer::categorical(1, vec![0.0; 3]),
        Err(MachineError::TooFewCategories { k: 1, .. })
    ));
    assert!(matches!(
        Layer::categorical(3, vec![0.0; 4]),
        Err(MachineError::ShapeMismatch { ref field, .. }) if field == "bias"
    ));
    assert!(matches!(
        Layer::gaussian(vec![0.0, f32::NAN], vec![0.0; 2]),
        Err(MachineError::NonFinite { ref field, index: 1, .. }) if field == "loc"
    ));
    assert!(matches!(
        Layer::gaussian(vec![0.0; 2], vec![0.0]),
        Err(MachineError::ShapeMismatch { ref field, expected: 2, found: 1 }) if field == "log_var"
    ));
    assert!(matches!(
        Layer::gaussian(vec![0.0; 2], vec![0.0, 31.0]),
        Err(MachineError::OutOfRange { ref field, index: 1, .. }) if field == "log_var"
    ));
    assert!(matches!(
        Layer::new(UnitKind::Spin, 2, vec![0.0; 2], vec![0.0; 2]),
        Err(MachineError::ShapeMismatch { ref field, expected: 0, .. }) if field == "log_var"
    ));
    let v = Layer::binary(vec![0.0; 2]).unwrap();
    let h = Layer::categorical(3, vec![0.0; 6]).unwrap();
    assert!(matches!(
        BoltzmannMachine::new(vec![v.clone()], vec![]),
        Err(MachineError::TooFewLayers { found: 1 })
    ));
    assert!(matches!(
        BoltzmannMachine::new(vec![v.clone(), h.clone()], vec![vec![0.0; 4]]),
        Err(MachineError::ShapeMismatch { ref field, expected: 12, found: 4 }) if field == "weights[0]"
    ));
    let mut w = vec![0.0; 12];
    w[7] = f32::INFINITY;
    assert!(matches!(
        BoltzmannMachine::new(vec![v.clone(), h.clone()], vec![w]),
        Err(MachineError::NonFinite { ref field, index: 7, .. }) if field == "weights[0]"
    ));
    assert!(matches!(
        BoltzmannMachine::new(vec![v.clone(), h.clone()], vec![]),
        Err(MachineError::ShapeMismatch { ref field, expected: 1, found: 0 }) if field == "weights"
    ));
}

#[test]
fn invalid_states_and_requests_give_typed_errors() {
    let rbm = random_machine(
        &[(UnitKind::Spin, 2), (UnitKind::Categorical(3), 2)],
        0.5,
        1,
    );
    assert!(matches!(
        rbm.energy(&[vec![1.0, 0.0], vec![0.0, 1.0]]),
        Err(MachineError::InvalidState { ref field, index: 1, kind: UnitKind::Spin, .. }) if field == "states[0]"
    ));
    assert!(matches!(
        rbm.energy(&[vec![1.0, 1.0], vec![0.0, 3.0]]),
        Err(MachineError::InvalidState { ref field, index: 1, .. }) if field == "states[1]"
    ));
    assert!(matches!(
        rbm.energy(&[vec![1.0, 1.0]]),
        Err(MachineError::ShapeMismatch { ref field, .. }) if field == "states"
    ));
    assert!(matches!(
        rbm.conditional(2, &[vec![], vec![]]),
        Err(MachineError::LayerOutOfRange {
            layer: 2,
            layers: 2
        })
    ));
    assert!(matches!(
        rbm.free_energy(&[None, None]),
        Err(MachineError::AdjacentMarginalised { a: 0, b: 1 })
    ));
    // Sampler: clamping a free layer, setting a clamped one, mean field on categorical units.
    let mut s = MachineSampler::new(&rbm, &[0], options(2, 0), BackendChoice::Reference).unwrap();
    assert!(matches!(
        s.clamp_layer(1, &[0.0, 1.0]),
        Err(MachineError::Clamping { layer: 1, .. })
    ));
    assert!(matches!(
        s.set_layer(0, &[1.0, 1.0]),
        Err(MachineError::Clamping { layer: 0, .. })
    ));
    assert!(matches!(
        s.clamp_layer(0, &[1.0, 1.0, 1.0]),
        Err(MachineError::ShapeMismatch {
            expected: 4,
            found: 3,
            ..
        })
    ));
    assert!(matches!(
        s.clamp_layer(0, &[1.0, 1.0, 1.0, 0.5]),
        Err(MachineError::InvalidState { index: 1, .. })
    ));
    assert!(matches!(
        s.run(SamplingMode::MeanField, 1),
        Err(MachineError::Runtime(RuntimeError::UnsupportedRule { .. }))
    ));
    assert!(matches!(
        MachineSampler::new(&rbm, &[5], options(2, 0), BackendChoice::Reference),
        Err(MachineError::LayerOutOfRange { layer: 5, .. })
    ));
    // Gradients: two layers only, a small discrete layer for exact answers, valid options.
    let deep = random_machine(&[(UnitKind::Spin, 2); 3], 0.5, 2);
    assert!(matches!(
        exact_gradient(&deep, &[1.0, 1.0]),
        Err(MachineError::NotTwoLayers { layers: 3, .. })
    ));
    let gg = random_machine(&[(UnitKind::Gaussian, 2), (UnitKind::Gaussian, 2)], 0.1, 3);
    assert!(matches!(
        exact_model_stats(&gg),
        Err(MachineError::TooLargeForExact {
            states: usize::MAX,
            ..
        })
    ));
    assert!(matches!(
        exact_gradient(&rbm, &[1.0, 1.0, 1.0]),
        Err(MachineError::DataShape { len: 3, units: 2 })
    ));
    assert!(matches!(
        exact_gradient(&rbm, &[1.0, 1.0, 0.0, 1.0]),
        Err(MachineError::InvalidState { ref field, index: 0, .. }) if field == "data row 1"
    ));
    assert!(matches!(
        MachineGradientEstimator::new(Sampling::Cd { k: 0 }, 0),
        Err(MachineError::InvalidOption { field: "k", .. })
    ));
    assert!(matches!(
        MachineGradientEstimator::new(Sampling::Pcd { k: 1, chains: 0 }, 0),
        Err(MachineError::InvalidOption {
            field: "chains",
            ..
        })
    ));
}
