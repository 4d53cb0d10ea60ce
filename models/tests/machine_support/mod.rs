//! Random layers, exact enumeration of discrete machines and sampler helpers shared by the
//! `machine_*` tests.
#![allow(dead_code)]

use blockgibbs_models::machine::{BoltzmannMachine, Layer, UnitKind};
use blockgibbs_models::rbm::log_sum_exp;
use blockgibbs_runtime::SamplerOptions;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A layer of `n` units of `kind` with biases in ±0.5 (Gaussian: loc in ±1, log_var in ±0.5).
pub fn random_layer(kind: UnitKind, n: usize, rng: &mut ChaCha8Rng) -> Layer {
    let dim = n * kind.width();
    let bias: Vec<f32> = (0..dim).map(|_| rng.random_range(-0.5..0.5)).collect();
    match kind {
        UnitKind::Gaussian => Layer::gaussian(
            bias.iter().map(|b| 2.0 * b).collect(),
            (0..n).map(|_| rng.random_range(-0.5..0.5)).collect(),
        )
        .unwrap(),
        _ => Layer::new(kind, n, bias, Vec::new()).unwrap(),
    }
}

/// A machine of the given layers with random parameters and weights `N(0, std²)`.
pub fn random_machine(spec: &[(UnitKind, usize)], std: f32, seed: u64) -> BoltzmannMachine {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let layers = spec
        .iter()
        .map(|&(k, n)| random_layer(k, n, &mut rng))
        .collect();
    BoltzmannMachine::random(layers, std, seed.wrapping_add(1)).unwrap()
}

/// A uniformly random legal state of a layer (Gaussian units standard-normal-ish).
pub fn random_state(layer: &Layer, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..layer.len())
        .map(|_| match layer.kind() {
            UnitKind::Binary => rng.random_range(0..2) as f32,
            UnitKind::Spin => 2.0 * rng.random_range(0..2) as f32 - 1.0,
            UnitKind::Categorical(k) => rng.random_range(0..k) as f32,
            UnitKind::Gaussian => rng.random_range(-2.0..2.0),
        })
        .collect()
}

/// Every state of a discrete layer.
pub fn layer_states(layer: &Layer) -> Vec<Vec<f32>> {
    let values: Vec<f32> = match layer.kind() {
        UnitKind::Binary => vec![0.0, 1.0],
        UnitKind::Spin => vec![-1.0, 1.0],
        UnitKind::Categorical(k) => (0..k).map(|c| c as f32).collect(),
        UnitKind::Gaussian => panic!("cannot enumerate a Gaussian layer"),
    };
    let mut out = vec![Vec::new()];
    for _ in 0..layer.len() {
        out = out
            .into_iter()
            .flat_map(|s| {
                values.iter().map(move |&v| {
                    let mut t = s.clone();
                    t.push(v);
                    t
                })
            })
            .collect();
    }
    out
}

/// Every joint configuration of an all-discrete machine with its exact probability
/// `exp(−E) / Z`, from `BoltzmannMachine::energy` alone.
pub fn enumerate_joint(machine: &BoltzmannMachine) -> Vec<(Vec<Vec<f32>>, f64)> {
    let mut configs: Vec<Vec<Vec<f32>>> = vec![Vec::new()];
    for layer in machine.layers() {
        let states = layer_states(layer);
        configs = configs
            .into_iter()
            .flat_map(|c| {
                states.iter().map(move |s| {
                    let mut t = c.clone();
                    t.push(s.clone());
                    t
                })
            })
            .collect();
    }
    let log_w: Vec<f64> = configs
        .iter()
        .map(|c| -machine.energy(c).unwrap())
        .collect();
    let log_z = log_sum_exp(&log_w);
    configs
        .into_iter()
        .zip(log_w)
        .map(|(c, lw)| (c, (lw - log_z).exp()))
        .collect()
}

/// The "observables" of a configuration used to compare marginals: per unit `x` for
/// binary/spin units, per unit and category the indicator for categorical units, and the
/// product of the first unit's value (or category-0 indicator) of each neighbouring layer
/// pair.
pub fn observables(machine: &BoltzmannMachine, config: &[Vec<f32>]) -> Vec<f64> {
    let mut out = Vec::new();
    let mut first = Vec::new();
    for (layer, x) in machine.layers().iter().zip(config) {
        match layer.kind() {
            UnitKind::Categorical(k) => {
                for &c in x {
                    out.extend((0..k).map(|j| (c as usize == j) as u8 as f64));
                }
                first.push((x[0] == 0.0) as u8 as f64);
            }
            _ => {
                out.extend(x.iter().map(|&v| v as f64));
                first.push(x[0] as f64);
            }
        }
    }
    out.extend(first.windows(2).map(|w| w[0] * w[1]));
    out
}

/// Exact means and variances of [`observables`] under the machine's joint.
pub fn exact_observables(machine: &BoltzmannMachine) -> (Vec<f64>, Vec<f64>) {
    let joint = enumerate_joint(machine);
    let n = observables(machine, &joint[0].0).len();
    let (mut mean, mut sq) = (vec![0.0; n], vec![0.0; n]);
    for (c, p) in &joint {
        for (k, o) in observables(machine, c).into_iter().enumerate() {
            mean[k] += p * o;
            sq[k] += p * o * o;
        }
    }
    let var = mean.iter().zip(&sq).map(|(m, s)| s - m * m).collect();
    (mean, var)
}

/// Reference-backend options with one thread (the machine is shared) and a fixed seed.
pub fn options(chains: usize, seed: u64) -> SamplerOptions {
    SamplerOptions {
        chains,
        seed,
        threads: 1,
        beta: 1.0,
    }
}

/// Splits flat `chains × n` layer values into per-chain rows.
pub fn rows(values: &[f32], n: usize) -> Vec<Vec<f32>> {
    values.chunks_exact(n).map(<[f32]>::to_vec).collect()
}

/// A three-layer machine with a categorical middle layer (binary 3, categorical(3) 2, spin 2).
pub const CAT_DEEP: [(UnitKind, usize); 3] = [
    (UnitKind::Binary, 3),
    (UnitKind::Categorical(3), 2),
    (UnitKind::Spin, 2),
];

/// Largest absolute difference of two equally long vectors.
pub fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}
