//! Random models and bitwise comparisons shared by the save/load tests.

use blockgibbs_models::ising::{IsingEBM, PottsEBM};
use blockgibbs_models::lattice;
use blockgibbs_models::rbm::BinaryRbm;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub fn random_vec(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    // Wide dynamic range, both signs, subnormals and zero included, so that any lossy
    // conversion would show.
    (0..n)
        .map(|k| match k % 7 {
            0 => 0.0,
            1 => -0.0,
            2 => f32::MIN_POSITIVE / 3.0 * rng.random::<f32>(),
            3 => rng.random_range(-1e30..1e30),
            _ => rng.random_range(-3.0..3.0),
        })
        .collect()
}

pub fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

pub fn random_ising(seed: u64, l: usize) -> IsingEBM {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let edges = lattice::triangular(l, true);
    let biases = random_vec(&mut rng, l * l);
    let weights = random_vec(&mut rng, edges.len());
    let beta = rng.random_range(1e-3f32..10.0);
    IsingEBM::new(edges, biases, weights, beta).unwrap()
}

pub fn random_potts(seed: u64, q: u32, l: usize) -> PottsEBM {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let edges = lattice::square(l, false);
    let biases = random_vec(&mut rng, l * l * q as usize);
    let weights = random_vec(&mut rng, edges.len());
    let beta = rng.random_range(1e-3f32..10.0);
    PottsEBM::new(l * l, q, edges, biases, weights, beta).unwrap()
}

pub fn random_rbm(seed: u64, nv: usize, nh: usize) -> BinaryRbm {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w = random_vec(&mut rng, nv * nh);
    let a = random_vec(&mut rng, nv);
    let b = random_vec(&mut rng, nh);
    BinaryRbm::new(nv, nh, w, a, b).unwrap()
}

pub fn assert_ising_identical(a: &IsingEBM, b: &IsingEBM) {
    assert_eq!(a.node_count(), b.node_count());
    assert_eq!(a.edges(), b.edges());
    assert_eq!(bits(a.biases()), bits(b.biases()));
    assert_eq!(bits(a.weights()), bits(b.weights()));
    assert_eq!(a.beta().to_bits(), b.beta().to_bits());
}
