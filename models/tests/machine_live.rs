//! A machine sampler made once follows new parameters and holds layers at run time:
//! `set_machine` samples exactly as a sampler made afresh for the new machine (same chains,
//! seed and sweep counter), on every unit kind; a machine of another shape is a typed error
//! that leaves the old parameters in place; a held layer stays put until released.

mod machine_support;

use blockgibbs_models::machine::{MachineError, MachineSampler, SamplingMode, UnitKind};
use blockgibbs_runtime::BackendChoice;
use machine_support::{options, random_machine};

const SPECS: [&[(UnitKind, usize)]; 3] = [
    &[(UnitKind::Binary, 5), (UnitKind::Spin, 4)],
    &[(UnitKind::Gaussian, 3), (UnitKind::Categorical(3), 2)],
    &[
        (UnitKind::Spin, 3),
        (UnitKind::Gaussian, 2),
        (UnitKind::Binary, 4),
    ],
];

#[test]
fn set_machine_samples_as_a_sampler_made_for_the_new_machine() {
    for (i, spec) in SPECS.iter().enumerate() {
        let a = random_machine(spec, 0.6, 10 + i as u64);
        let b = random_machine(spec, 0.6, 20 + i as u64);
        assert_ne!(a, b);
        for backend in [BackendChoice::Reference, BackendChoice::Jit] {
            let mut live = MachineSampler::new(&a, &[], options(6, 3), backend).unwrap();
            live.run(SamplingMode::MarkovChain, 5).unwrap();
            let states = live.all_layer_values().unwrap();
            live.set_machine(&b).unwrap();
            assert_eq!(live.machine(), &b);
            live.run(SamplingMode::MarkovChain, 4).unwrap();

            let mut fresh = MachineSampler::new(&b, &[], options(6, 3), backend).unwrap();
            for (l, values) in states.iter().enumerate() {
                fresh.set_layer(l, values).unwrap();
            }
            fresh.sampler_mut().set_sweeps_done(5);
            fresh.run(SamplingMode::MarkovChain, 4).unwrap();
            assert_eq!(
                live.all_layer_values().unwrap(),
                fresh.all_layer_values().unwrap(),
                "machine {i} on {backend:?}"
            );
            assert_eq!(live.sampler().all_weights(), fresh.sampler().all_weights());
        }
    }
}

#[test]
fn a_machine_of_another_shape_is_rejected_and_nothing_changes() {
    let a = random_machine(SPECS[0], 0.6, 1);
    let mut s = MachineSampler::new(&a, &[], options(2, 3), BackendChoice::Reference).unwrap();
    let weights = s.sampler().all_weights().to_vec();
    let wider = random_machine(&[(UnitKind::Binary, 5), (UnitKind::Spin, 5)], 0.6, 2);
    assert!(matches!(
        s.set_machine(&wider),
        Err(MachineError::ShapeMismatch {
            expected: 4,
            found: 5,
            ..
        })
    ));
    let deeper = random_machine(SPECS[2], 0.6, 2);
    assert!(matches!(
        s.set_machine(&deeper),
        Err(MachineError::ShapeMismatch {
            expected: 2,
            found: 3,
            ..
        })
    ));
    let other_kind = random_machine(&[(UnitKind::Binary, 5), (UnitKind::Binary, 4)], 0.6, 2);
    assert!(matches!(
        s.set_machine(&other_kind),
        Err(MachineError::InvalidOption {
            field: "machine",
            ..
        })
    ));
    assert_eq!(s.machine(), &a);
    assert_eq!(s.sampler().all_weights(), &weights[..]);
}

#[test]
fn a_held_layer_stays_until_released() {
    let m = random_machine(SPECS[2], 0.8, 5);
    let mut s = MachineSampler::new(&m, &[], options(4, 7), BackendChoice::Reference).unwrap();
    let held = [1.0, -1.0, 1.0];
    s.hold_layer(0, &held).unwrap();
    let before_hidden = s.layer_values(2).unwrap();
    s.run(SamplingMode::MarkovChain, 20).unwrap();
    assert_eq!(s.layer_values(0).unwrap(), held.repeat(4));
    assert_ne!(
        s.layer_values(2).unwrap(),
        before_hidden,
        "the free layers moved"
    );
    // Per-chain values, and a bad state is typed and changes nothing.
    let rows: Vec<f32> = [held, [-1.0; 3], [1.0; 3], held].concat();
    s.hold_layer(0, &rows).unwrap();
    assert!(matches!(
        s.hold_layer(0, &[0.0, 1.0, 1.0]),
        Err(MachineError::InvalidState { .. })
    ));
    s.run(SamplingMode::MarkovChain, 5).unwrap();
    assert_eq!(s.layer_values(0).unwrap(), rows);
    s.release_layer(0).unwrap();
    s.run(SamplingMode::MarkovChain, 50).unwrap();
    assert_ne!(
        s.layer_values(0).unwrap(),
        rows,
        "released, the layer is sampled again"
    );
    // A layer clamped in the model is not held or released at run time.
    let mut c = MachineSampler::new(&m, &[1], options(2, 7), BackendChoice::Reference).unwrap();
    assert!(matches!(
        c.hold_layer(1, &[0.0, 0.0]),
        Err(MachineError::Clamping { layer: 1, .. })
    ));
    assert!(matches!(
        c.release_layer(1),
        Err(MachineError::Clamping { layer: 1, .. })
    ));
}
