//! Weights as run-time data: an update between sweeps gives, bit for bit, what a model built
//! with the new weights gives from the same state and sweep counter — on both backends, with
//! folded (uniform) weights, dense layers, Potts tables and Gaussian precisions — and a bad
//! update is a typed error that leaves everything as it was.

mod support;

use blockgibbs_compiler::CompileError;
use blockgibbs_ir::{FactorId, Model, ModelError};
use blockgibbs_runtime::{BackendChoice, RuntimeError, Sampler};
use std::sync::Arc;
use support::*;

/// A model equal to `model` but with `weights` for `factor`.
fn with_weights(model: &Model, factor: FactorId, weights: &[f32]) -> Arc<Model> {
    let mut m = model.clone();
    m.set_weights(factor, None, weights).unwrap();
    Arc::new(m)
}

/// Runs `sweeps` sweeps on `a`, then on a fresh sampler of `model` loaded with `a`'s state
/// before them, and checks both end bit-identical.
fn continues_like_fresh(
    a: &mut Sampler,
    model: Arc<Model>,
    backend: BackendChoice,
    threads: usize,
    seed: u64,
    what: &str,
) {
    let mut b = sampler(&model, backend, a.chains(), threads, seed);
    b.write_states(&states(a)).unwrap();
    b.set_sweeps_done(a.sweeps_done());
    a.sweep(7).unwrap();
    b.sweep(7).unwrap();
    assert_eq!(state_bits(a), state_bits(&b), "{what}");
}

/// For each model, factor and new weights: sweep, update, sweep — against a fresh build.
fn check_updates(model: Model, updates: &[(&str, Vec<f32>)]) {
    let model = Arc::new(model);
    for backend in backends() {
        for (chains, threads) in [(20, 2), (1, 1), (5, 1)] {
            let seed = 3;
            let mut a = sampler(&model, backend, chains, threads, seed);
            let mut current = (*model).clone();
            a.sweep(5).unwrap();
            for (name, w) in updates {
                let f = model.factor_id(name).unwrap();
                a.set_weights(f, w).unwrap();
                assert_eq!(a.weights(f).unwrap(), &w[..]);
                current.set_weights(f, None, w).unwrap();
                let what = format!("{backend:?}, {chains} chains, after setting `{name}`");
                continues_like_fresh(
                    &mut a,
                    Arc::new(current.clone()),
                    backend,
                    threads,
                    seed,
                    &what,
                );
            }
        }
    }
}

#[test]
fn uniform_lattice_couplings_change_with_and_without_uniformity() {
    let model = ising(8, 0.4, 0.1);
    let n = model.factors()[0].weights.len();
    let ragged: Vec<f32> = (0..n).map(|i| 0.1 + (i % 7) as f32 * 0.05).collect();
    check_updates(
        model,
        &[
            // Still uniform, other value: the folded kernel must not run with 0.4.
            ("j", vec![0.7; n]),
            // Not uniform: the general kernel.
            ("j", ragged),
            // Back to the compiled value: the folded kernel again.
            ("j", vec![0.4; n]),
            ("h", vec![-0.3; 64]),
        ],
    );
}

#[test]
fn potts_tables_and_biases_change() {
    let model = potts(6, 3, 0.5);
    let n = model.factors()[0].weights.len();
    let off_diagonal: Vec<f32> = (0..n).map(|i| if i % 4 == 0 { 0.9 } else { 0.1 }).collect();
    let theta = model.factors()[1].weights.iter().map(|t| -t).collect();
    check_updates(model, &[("j", off_diagonal), ("theta", theta)]);
}

#[test]
fn dense_layer_weights_change() {
    let model = rbm(12, 9);
    let w: Vec<f32> = (0..108)
        .map(|i| ((i * 5) % 13) as f32 * 0.07 - 0.4)
        .collect();
    check_updates(model, &[("w", w), ("bh", vec![0.5; 9])]);
}

#[test]
fn gaussian_precisions_and_gated_means_change() {
    let model = gaussian_mixture_chain(10);
    let prec: Vec<f32> = (0..10).map(|i| -0.5 * (1.0 + i as f32 * 0.3)).collect();
    let means: Vec<f32> = (0..30).map(|i| (i % 5) as f32 * 0.4 - 0.8).collect();
    check_updates(model, &[("prec", prec), ("mean", means)]);
}

#[test]
fn an_instance_update_changes_only_that_instance() {
    let model = Arc::new(ising(6, 0.3, 0.0));
    let j = model.factor_id("j").unwrap();
    for backend in backends() {
        let mut a = sampler(&model, backend, 8, 1, 9);
        a.sweep(3).unwrap();
        a.set_instance_weights(j, 17, &[-1.5]).unwrap();
        let mut w = model.factors()[0].weights.clone();
        w[17] = -1.5;
        assert_eq!(a.weights(j).unwrap(), &w[..]);
        let fresh = with_weights(&model, j, &w);
        continues_like_fresh(&mut a, fresh, backend, 1, 9, "instance 17");
    }
    // Categorical tables: one instance is a K×K sub-tensor.
    let model = Arc::new(potts(4, 3, 0.5));
    let pj = model.factor_id("j").unwrap();
    let mut a = sampler(&model, BackendChoice::Reference, 4, 1, 1);
    let table = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    a.set_instance_weights(pj, 2, &table).unwrap();
    assert_eq!(&a.weights(pj).unwrap()[18..27], &table);
    assert!(matches!(
        a.set_instance_weights(pj, 2, &[1.0; 3]),
        Err(RuntimeError::Model(ModelError::WeightShapeMismatch { ref factor, expected: 9, found: 3, ref shape }))
            if factor == "j" && shape == &vec![1, 3, 3]
    ));
}

#[test]
fn bad_updates_are_typed_errors_that_change_nothing() {
    let model = Arc::new(gaussian_mixture_chain(6));
    let prec = model.factor_id("prec").unwrap();
    for backend in backends() {
        let mut a = sampler(&model, backend, 4, 1, 5);
        let mut b = sampler(&model, backend, 4, 1, 5);
        a.sweep(2).unwrap();
        b.sweep(2).unwrap();
        let before = a.all_weights().to_vec();
        let errors = [
            a.set_weights(prec, &[-1.0; 5]).unwrap_err(),
            a.set_weights(prec, &[-1.0, f32::NAN, -1.0, -1.0, -1.0, -1.0])
                .unwrap_err(),
            // A positive quadratic weight: a negative precision for x[3].
            a.set_weights(prec, &[-1.0, -1.0, -1.0, 0.5, -1.0, -1.0])
                .unwrap_err(),
            a.set_weights(FactorId(99), &[1.0]).unwrap_err(),
            a.set_instance_weights(prec, 6, &[-1.0]).unwrap_err(),
        ];
        assert!(matches!(&errors[0],
            RuntimeError::Model(ModelError::WeightShapeMismatch { factor, expected: 6, found: 5, .. }) if factor == "prec"));
        assert!(matches!(&errors[1],
            RuntimeError::Model(ModelError::NonFiniteWeight { factor, index: 1, .. }) if factor == "prec"));
        assert!(matches!(&errors[2],
            RuntimeError::Compile(CompileError::NonPositivePrecision { node, .. }) if node == "x[3]"));
        assert!(matches!(
            &errors[3],
            RuntimeError::Model(ModelError::UnknownFactor { id: 99, count: 4 })
        ));
        assert!(matches!(&errors[4],
            RuntimeError::Model(ModelError::InstanceOutOfRange { factor, instance: 6, instances: 6 }) if factor == "prec"));
        for e in &errors {
            assert!(!e.to_string().is_empty());
        }
        // Nothing changed: the weights, the model's copy, and what the next sweeps draw.
        assert_eq!(a.all_weights(), &before[..]);
        assert_eq!(a.model().factors()[0].weights, model.factors()[0].weights);
        a.sweep(4).unwrap();
        b.sweep(4).unwrap();
        assert_eq!(state_bits(&a), state_bits(&b));
    }
}

#[test]
fn backends_agree_after_updates() {
    let model = Arc::new(ising(16, 0.2, 0.0));
    if !blockgibbs_runtime::jit_supported() {
        return;
    }
    let j = model.factor_id("j").unwrap();
    let n = model.factors()[0].weights.len();
    let mut r = sampler(&model, BackendChoice::Reference, 16, 2, 21);
    let mut k = sampler(&model, BackendChoice::Jit, 16, 2, 21);
    assert_eq!(k.backend_name(), "jit");
    for step in 0..6 {
        let w: Vec<f32> = (0..n)
            .map(|i| {
                0.1 * step as f32
                    + if step % 2 == 0 {
                        0.0
                    } else {
                        (i % 3) as f32 * 0.1
                    }
            })
            .collect();
        r.set_weights(j, &w).unwrap();
        k.set_weights(j, &w).unwrap();
        r.sweep(3).unwrap();
        k.sweep(3).unwrap();
        assert_eq!(state_bits(&r), state_bits(&k), "step {step}");
    }
}

#[test]
fn energies_follow_the_live_weights() {
    let model = Arc::new(ising(4, 0.5, 0.0));
    let j = model.factor_id("j").unwrap();
    let mut a = sampler(&model, BackendChoice::Reference, 2, 1, 0);
    a.sweep(2).unwrap();
    let e = a.energy(0).unwrap();
    a.set_weights(j, &[1.0; 32]).unwrap();
    // The coupling energy doubles (no field).
    assert!((a.energy(0).unwrap() - 2.0 * e).abs() < 1e-9);
}
