//! Times the training loops against the bare sampler they are built on, so that the cost of
//! going through the models crate (building samplers, setting weights, statistics) shows:
//!
//! - `deep`: one `fit_deep`-style step of a 784–500–500 binary deep Boltzmann machine — the
//!   mean-field positive phase of a 64-row batch, 64 persistent fantasy chains advanced `k`
//!   sweeps, the gradient and an SGD update of the machine;
//! - `rbm`: PCD steps of a 784 × 500 binary RBM, 64 persistent chains, 5 sweeps per gradient
//!   step, on 64-row batches of random binary data (the gradient estimator plus an SGD update);
//! - `bare`: the JIT sampler of the same RBM, 64 chains, sweeping and nothing else.
//!
//! Each part runs one untimed warm-up step, then steps for `--seconds`; it prints steps/s and
//! chain-sweeps/s (chains × sweeps per step × steps/s).
//!
//! ```text
//! cargo build --release -p blockgibbs-models --example training_bench
//! target/release/examples/training_bench [--seconds S] [--threads N] [--k K] [--only deep|rbm|bare]
//!   --seconds S  timed seconds per part (default 10)
//!   --threads N  sampler threads of the bare sampler and of the trainers (default 1)
//!   --k K        sweeps per deep-machine step (default 1; the RBM always runs 5)
//! ```

use std::error::Error;
use std::sync::Arc;
use std::time::Instant;

use blockgibbs_models::machine::{
    BoltzmannMachine, DeepGradientEstimator, Layer, MeanFieldOptions, UnitKind,
};
use blockgibbs_models::rbm::{BinaryRbm, GradientEstimator, Penalty, Sampling};
use blockgibbs_runtime::{BackendChoice, Sampler};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type AnyError = Box<dyn Error>;

const CHAINS: usize = 64;
const BATCH: usize = 64;
const RBM_SWEEPS: usize = 5;
const LR: f64 = 1e-3;

struct Args {
    seconds: f64,
    threads: usize,
    k: usize,
    only: Option<String>,
}

fn parse_args() -> Result<Args, AnyError> {
    let mut args = Args {
        seconds: 10.0,
        threads: 1,
        k: 1,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--seconds" => args.seconds = value()?.parse()?,
            "--threads" => args.threads = value()?.parse()?,
            "--k" => args.k = value()?.parse()?,
            "--only" => args.only = Some(value()?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(args)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("training_bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), AnyError> {
    let args = parse_args()?;
    let wanted = |part: &str| args.only.as_deref().is_none_or(|o| o == part);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let data: Vec<f32> = (0..BATCH * 784)
        .map(|_| if rng.random::<f64>() < 0.2 { 1.0 } else { 0.0 })
        .collect();
    if wanted("deep") {
        deep(&args, &data)?;
    }
    if wanted("rbm") {
        rbm(&args, &data)?;
    }
    if wanted("bare") {
        bare(&args)?;
    }
    Ok(())
}

/// Runs `step` once untimed, then for `seconds`; prints and returns steps per second.
fn time(
    name: &str,
    seconds: f64,
    sweeps_per_step: usize,
    mut step: impl FnMut() -> Result<(), AnyError>,
) -> Result<f64, AnyError> {
    step()?;
    let start = Instant::now();
    let mut steps = 0u64;
    while steps == 0 || start.elapsed().as_secs_f64() < seconds {
        step()?;
        steps += 1;
    }
    let rate = steps as f64 / start.elapsed().as_secs_f64();
    println!(
        "{name:<44} {steps:>6} steps  {rate:>10.3} steps/s  {:>12.1} chain-sweeps/s",
        rate * (CHAINS * sweeps_per_step) as f64
    );
    Ok(rate)
}

fn sgd(params: &mut [f64], grad: &[f64]) {
    for (p, g) in params.iter_mut().zip(grad) {
        *p -= LR * g;
    }
}

fn deep(args: &Args, data: &[f32]) -> Result<(), AnyError> {
    let mut layers = Vec::new();
    for n in [784, 500, 500] {
        layers.push(Layer::zeros(UnitKind::Binary, n)?);
    }
    let mut machine = BoltzmannMachine::random(layers, 0.01, 2)?;
    let mut estimator = DeepGradientEstimator::new(
        args.k,
        CHAINS,
        MeanFieldOptions::default(),
        Penalty::default(),
        3,
    )?
    .backend(BackendChoice::Jit)
    .threads(args.threads);
    let mut params = machine.flat_params();
    let name = format!("deep 784-500-500, {CHAINS} chains, k = {}", args.k);
    time(&name, args.seconds, args.k, || {
        let est = estimator.estimate(&machine, data)?;
        sgd(&mut params, &est.gradient.flatten());
        machine = machine.with_flat_params(&params)?;
        Ok(())
    })?;
    Ok(())
}

fn rbm(args: &Args, data: &[f32]) -> Result<(), AnyError> {
    let mut rbm = BinaryRbm::random(784, 500, 0.01, 0.0, 4)?;
    let sampling = Sampling::Pcd {
        k: RBM_SWEEPS,
        chains: CHAINS,
    };
    let mut estimator = GradientEstimator::new(sampling, Penalty::default(), 5)?
        .backend(BackendChoice::Jit)
        .threads(args.threads);
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    let mut params: Vec<f64> = [rbm.weights(), rbm.visible_bias(), rbm.hidden_bias()]
        .concat()
        .iter()
        .map(|&x| x as f64)
        .collect();
    let name = format!("rbm 784x500 PCD, {CHAINS} chains, k = {RBM_SWEEPS}");
    time(&name, args.seconds, RBM_SWEEPS, || {
        let est = estimator.estimate(&rbm, data)?;
        sgd(&mut params, &est.gradient.flatten());
        let f = |xs: &[f64]| xs.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let n_w = nv * nh;
        rbm = BinaryRbm::new(
            nv,
            nh,
            f(&params[..n_w]),
            f(&params[n_w..n_w + nv]),
            f(&params[n_w + nv..]),
        )?;
        Ok(())
    })?;
    Ok(())
}

fn bare(args: &Args) -> Result<(), AnyError> {
    let rbm = BinaryRbm::random(784, 500, 0.01, 0.0, 4)?;
    let mut sampler = Sampler::builder(Arc::new(rbm.to_model()?))
        .backend(BackendChoice::Jit)
        .chains(CHAINS)
        .threads(args.threads)
        .seed(6)
        .build()?;
    if let Some(why) = sampler.fallback() {
        println!("note: {why}");
    }
    let name = format!("bare JIT sampler 784x500, {CHAINS} chains");
    time(&name, args.seconds, RBM_SWEEPS, || {
        sampler.sweep(RBM_SWEEPS as u64)?;
        Ok(())
    })?;
    Ok(())
}
