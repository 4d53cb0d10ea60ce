//! Optimisers on a quadratic, learning-rate schedules, model conversion and typed errors.

use blockgibbs_models::{
    Disorder, IsingEBM, IsingError, IsingOptimizer, IsingTrainingSpec, KlGrad, LrSchedule, Method,
    Optimizer, PottsEBM, SamplingOptions, estimate_kl_grad, estimate_moments,
};
use blockgibbs_runtime::SamplingSchedule;

/// f(x) = ½ Σ a_i (x_i − c_i)², minimum at c.
const A: [f64; 3] = [1.0, 4.0, 0.5];
const C: [f64; 3] = [1.0, -2.0, 3.0];

fn grad(x: &[f64]) -> Vec<f64> {
    x.iter()
        .zip(A.iter().zip(&C))
        .map(|(x, (a, c))| a * (x - c))
        .collect()
}

fn run(method: Method, lr: LrSchedule, steps: usize) -> Vec<f64> {
    let mut opt = Optimizer::new(method, lr).unwrap();
    let mut x = vec![0.0; 3];
    for _ in 0..steps {
        let g = grad(&x);
        opt.step(&mut x, &g).unwrap();
    }
    x
}

fn close_to_min(x: &[f64], tol: f64) -> bool {
    x.iter().zip(&C).all(|(x, c)| (x - c).abs() < tol)
}

#[test]
fn sgd_step_and_convergence() {
    let x = run(Method::Sgd, LrSchedule::Constant(0.1), 1);
    // x1 = 0 − 0.1 · a (0 − c) = 0.1 a c.
    for i in 0..3 {
        assert!((x[i] - 0.1 * A[i] * C[i]).abs() < 1e-12);
    }
    assert!(close_to_min(
        &run(Method::Sgd, LrSchedule::Constant(0.2), 500),
        1e-6
    ));
}

#[test]
fn momentum_steps_and_convergence() {
    let (mu, lr) = (0.5, 0.1);
    let x = run(Method::Momentum { mu }, LrSchedule::Constant(lr), 2);
    for i in 0..3 {
        let g0 = -A[i] * C[i];
        let x1 = -lr * g0;
        let g1 = A[i] * (x1 - C[i]);
        let x2 = x1 - lr * (mu * g0 + g1);
        assert!((x[i] - x2).abs() < 1e-12);
    }
    assert!(close_to_min(
        &run(
            Method::Momentum { mu: 0.9 },
            LrSchedule::Constant(0.05),
            2000
        ),
        1e-6
    ));
}

#[test]
fn adam_first_step_is_lr_times_sign_and_converges() {
    let x = run(Method::adam(), LrSchedule::Constant(0.01), 1);
    for i in 0..3 {
        // m̂ = g, v̂ = g², so the step is lr · g / (|g| + ε).
        assert!((x[i] - 0.01 * C[i].signum()).abs() < 1e-9, "{}", x[i]);
    }
    let x = run(
        Method::adam(),
        LrSchedule::Exponential {
            initial: 0.1,
            decay: 0.999,
        },
        5000,
    );
    assert!(close_to_min(&x, 1e-3), "{x:?}");
}

#[test]
fn schedules() {
    assert_eq!(LrSchedule::Constant(0.3).rate(7), 0.3);
    let e = LrSchedule::Exponential {
        initial: 1.0,
        decay: 0.5,
    };
    assert_eq!(e.rate(0), 1.0);
    assert_eq!(e.rate(3), 0.125);
    let s = LrSchedule::Step {
        initial: 2.0,
        factor: 0.1,
        every: 10,
    };
    assert_eq!(s.rate(9), 2.0);
    assert!((s.rate(10) - 0.2).abs() < 1e-15);
    assert!((s.rate(25) - 0.02).abs() < 1e-15);
    let mut opt = Optimizer::new(Method::Sgd, s).unwrap();
    let mut x = vec![0.0];
    for _ in 0..10 {
        opt.step(&mut x, &[1.0]).unwrap();
    }
    assert_eq!(opt.steps(), 10);
    assert!((opt.current_rate() - 0.2).abs() < 1e-15);
}

#[test]
fn ising_optimizer_updates_parameters() {
    let mut ebm = IsingEBM::new(vec![(0, 1)], vec![0.0, 0.0], vec![0.0], 1.0).unwrap();
    let mut opt = IsingOptimizer::new(Method::Sgd, LrSchedule::Constant(0.5)).unwrap();
    let g = KlGrad {
        weights: vec![-1.0],
        biases: vec![0.2, -0.4],
        positive: Default::default(),
        negative: Default::default(),
    };
    opt.step(&mut ebm, &g).unwrap();
    assert_eq!(ebm.weights(), &[0.5]);
    assert_eq!(ebm.biases(), &[-0.1, 0.2]);
    let bad = KlGrad {
        weights: vec![f64::NAN],
        ..g.clone()
    };
    assert!(
        matches!(opt.step(&mut ebm, &bad), Err(IsingError::NonFinite { ref field, .. }) if field == "grads")
    );
    let short = KlGrad {
        biases: vec![0.0],
        ..g
    };
    assert!(
        matches!(opt.step(&mut ebm, &short), Err(IsingError::LengthMismatch { ref field, .. }) if field == "grad.biases")
    );
    assert_eq!(ebm.weights(), &[0.5]);
}

#[test]
fn energies_agree_with_the_compiled_model() {
    let ebm = IsingEBM::edwards_anderson(2, 3, true, Disorder::Gaussian, 4, 0.7).unwrap();
    let ebm = {
        let mut e = ebm;
        e.set_biases(&(0..9).map(|i| 0.1 * i as f32).collect::<Vec<_>>())
            .unwrap();
        e
    };
    let model = ebm.to_model(&[]).unwrap();
    let s: Vec<f32> = (0..9)
        .map(|i| if i % 3 == 0 { 1.0 } else { -1.0 })
        .collect();
    let e = ebm.energy(&s).unwrap();
    assert!((e - 0.7 * model.energy(&s)).abs() < 1e-5);
    assert_eq!(model.node_count(), 9);

    let potts = PottsEBM::square(3, 3, true, 1.0, 0.5).unwrap();
    let pm = potts.to_model().unwrap();
    let c: Vec<f32> = (0..9).map(|i| (i % 3) as f32).collect();
    assert!((potts.energy(&c).unwrap() - 0.5 * pm.energy(&c)).abs() < 1e-6);

    // Constructors: counts of nodes and edges.
    assert_eq!(
        IsingEBM::square(4, true, 1.0, 0.0, 1.0)
            .unwrap()
            .edges()
            .len(),
        32
    );
    assert_eq!(
        IsingEBM::cubic(3, false, 1.0, 0.0, 1.0)
            .unwrap()
            .node_count(),
        27
    );
    assert_eq!(
        IsingEBM::triangular(3, true, 1.0, 0.0, 1.0)
            .unwrap()
            .edges()
            .len(),
        27
    );
    let sk = IsingEBM::sk(10, 1.0, 3, 1.0).unwrap();
    assert_eq!(sk.edges().len(), 45);
    let pm = IsingEBM::edwards_anderson(3, 2, false, Disorder::PlusMinus, 1, 1.0).unwrap();
    assert!(pm.weights().iter().all(|&w| w == 1.0 || w == -1.0));
    // Same seed, same disorder.
    assert_eq!(IsingEBM::sk(10, 1.0, 3, 1.0).unwrap(), sk);
}

fn field(e: &IsingError) -> String {
    match e {
        IsingError::LengthMismatch { field, .. }
        | IsingError::IndexOutOfRange { field, .. }
        | IsingError::NonFinite { field, .. }
        | IsingError::InvalidParameter { field, .. } => field.clone(),
        IsingError::InvalidBeta { .. } => "beta".into(),
        IsingError::SelfLoop { .. } => "edges".into(),
        other => format!("{other}"),
    }
}

#[test]
fn bad_input_gives_typed_errors_naming_the_field() {
    let e = IsingEBM::new(vec![(0, 5)], vec![0.0; 3], vec![1.0], 1.0).unwrap_err();
    assert!(matches!(
        e,
        IsingError::IndexOutOfRange {
            index: 0,
            node: 5,
            nodes: 3,
            ..
        }
    ));
    assert_eq!(field(&e), "edges");
    assert!(e.to_string().contains("edges[0]"));
    let e = IsingEBM::new(vec![(0, 1)], vec![0.0; 3], vec![f32::NAN], 1.0).unwrap_err();
    assert_eq!(field(&e), "weights");
    let e = IsingEBM::new(vec![(0, 1)], vec![0.0; 3], vec![1.0, 2.0], 1.0).unwrap_err();
    assert!(matches!(
        e,
        IsingError::LengthMismatch {
            expected: 1,
            found: 2,
            ..
        }
    ));
    assert_eq!(field(&e), "weights");
    for beta in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let e = IsingEBM::new(vec![], vec![0.0], vec![], beta).unwrap_err();
        assert_eq!(field(&e), "beta");
    }
    let e = IsingEBM::new(vec![(1, 1)], vec![0.0; 2], vec![1.0], 1.0).unwrap_err();
    assert!(matches!(e, IsingError::SelfLoop { index: 0, node: 1 }));
    let e = IsingEBM::new(vec![], vec![0.0, f32::INFINITY], vec![], 1.0).unwrap_err();
    assert_eq!(field(&e), "biases");
    assert_eq!(
        field(&IsingEBM::new(vec![], vec![], vec![], 1.0).unwrap_err()),
        "biases"
    );
    assert_eq!(
        field(&IsingEBM::square(1, false, 1.0, 0.0, 1.0).unwrap_err()),
        "l"
    );
    assert_eq!(
        field(&IsingEBM::edwards_anderson(4, 3, false, Disorder::Gaussian, 0, 1.0).unwrap_err()),
        "dim"
    );
    assert_eq!(field(&IsingEBM::sk(1, 1.0, 0, 1.0).unwrap_err()), "n");
    assert_eq!(
        field(&PottsEBM::square(1, 3, true, 1.0, 1.0).unwrap_err()),
        "q"
    );
    assert_eq!(
        field(&PottsEBM::new(2, 3, vec![], vec![0.0; 5], vec![], 1.0).unwrap_err()),
        "biases"
    );

    let mut ebm = IsingEBM::new(vec![(0, 1), (1, 2)], vec![0.0; 3], vec![1.0, 1.0], 1.0).unwrap();
    assert_eq!(field(&ebm.set_weights(&[1.0]).unwrap_err()), "weights");
    assert_eq!(field(&ebm.set_beta(0.0).unwrap_err()), "beta");
    assert_eq!(
        field(&ebm.energy(&[1.0, 0.0, 1.0]).unwrap_err()),
        "state[1]"
    );
    assert_eq!(field(&ebm.to_model(&[7]).unwrap_err()), "clamped");

    let s = SamplingSchedule::new(1, 1, 1);
    let opts = SamplingOptions {
        threads: 1,
        ..Default::default()
    };
    assert_eq!(
        field(&estimate_moments(&ebm, &[3], &[], &s, &opts).unwrap_err()),
        "nodes"
    );
    assert_eq!(
        field(&estimate_moments(&ebm, &[], &[(0, 9)], &s, &opts).unwrap_err()),
        "edges"
    );
    let zero = SamplingSchedule::new(1, 0, 1);
    assert_eq!(
        field(&estimate_moments(&ebm, &[0], &[], &zero, &opts).unwrap_err()),
        "schedule.samples"
    );

    assert_eq!(
        field(&IsingTrainingSpec::new(&ebm, vec![0, 4], vec![], s, s).unwrap_err()),
        "data_nodes"
    );
    assert_eq!(
        field(&IsingTrainingSpec::new(&ebm, vec![0], vec![0], s, s).unwrap_err()),
        "data_nodes+conditioning_nodes[1]"
    );
    assert_eq!(
        field(&IsingTrainingSpec::new(&ebm, vec![], vec![], s, s).unwrap_err()),
        "data_nodes"
    );
    let mut spec = IsingTrainingSpec::new(&ebm, vec![0], vec![], s, s).unwrap();
    spec.positive.threads = 1;
    spec.negative.threads = 1;
    assert_eq!(
        field(&estimate_kl_grad(&ebm, &spec, &[], &[]).unwrap_err()),
        "data"
    );
    assert_eq!(
        field(&estimate_kl_grad(&ebm, &spec, &[vec![1.0, 1.0]], &[]).unwrap_err()),
        "data[0]"
    );
    assert_eq!(
        field(&estimate_kl_grad(&ebm, &spec, &[vec![0.5]], &[]).unwrap_err()),
        "data[0][0]"
    );
    assert_eq!(
        field(&estimate_kl_grad(&ebm, &spec, &[vec![1.0]], &[vec![1.0]]).unwrap_err()),
        "conditioning"
    );
    // The happy path still works.
    assert!(estimate_kl_grad(&ebm, &spec, &[vec![1.0]], &[]).is_ok());

    assert_eq!(
        field(&Optimizer::new(Method::Sgd, LrSchedule::Constant(-1.0)).unwrap_err()),
        "lr"
    );
    assert_eq!(
        field(
            &Optimizer::new(Method::Momentum { mu: 1.0 }, LrSchedule::Constant(0.1)).unwrap_err()
        ),
        "mu"
    );
    assert_eq!(
        field(
            &Optimizer::new(
                Method::Adam {
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 0.0
                },
                LrSchedule::Constant(0.1)
            )
            .unwrap_err()
        ),
        "eps"
    );
    assert_eq!(
        field(
            &Optimizer::new(
                Method::Sgd,
                LrSchedule::Step {
                    initial: 1.0,
                    factor: 0.5,
                    every: 0
                }
            )
            .unwrap_err()
        ),
        "lr.every"
    );
    let mut opt = Optimizer::new(Method::Sgd, LrSchedule::Constant(0.1)).unwrap();
    assert_eq!(
        field(&opt.step(&mut [0.0, 1.0], &[1.0]).unwrap_err()),
        "grads"
    );
}
