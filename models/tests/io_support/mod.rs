//! Random models, bitwise comparisons, file surgery and an outside (Python) reader shared by
//! the save/load tests.
#![allow(dead_code)]

use blockgibbs_models::ising::{IsingEBM, PottsEBM};
use blockgibbs_models::lattice;
use blockgibbs_models::rbm::BinaryRbm;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::path::Path;

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

/// A file's tensors as (name, dtype, shape, bytes).
pub type Tensors = Vec<(String, Dtype, Vec<usize>, Vec<u8>)>;

/// Decodes a file into editable tensors and metadata.
pub fn explode(bytes: &[u8]) -> (Tensors, HashMap<String, String>) {
    let (_, header) = SafeTensors::read_metadata(bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    let st = SafeTensors::deserialize(bytes).unwrap();
    let mut tensors: Tensors = st
        .tensors()
        .into_iter()
        .map(|(name, v)| (name, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    (tensors, meta)
}

/// Encodes tensors and metadata with `safetensors::serialize`, as another tool would.
pub fn implode(tensors: &Tensors, meta: HashMap<String, String>) -> Vec<u8> {
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.as_str(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, Some(meta)).unwrap()
}

/// The file of `bytes` after `edit`.
pub fn edited(
    bytes: &[u8],
    edit: impl FnOnce(&mut Tensors, &mut HashMap<String, String>),
) -> Vec<u8> {
    let (mut tensors, mut meta) = explode(bytes);
    edit(&mut tensors, &mut meta);
    implode(&tensors, meta)
}

/// Runs the Python `script` on `path` (as `sys.argv[1]`) and parses the JSON it prints;
/// `None` (with a note) when `python3` is not usable here.
pub fn python_json(script: &str, path: &Path) -> Option<serde_json::Value> {
    let usable = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !usable {
        eprintln!("python3 not usable; skipping");
        return None;
    }
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// The tensor called `name`.
pub fn tensor<'a>(
    tensors: &'a mut Tensors,
    name: &str,
) -> &'a mut (String, Dtype, Vec<usize>, Vec<u8>) {
    tensors.iter_mut().find(|t| t.0 == name).unwrap()
}

/// Overwrites element `index` of the f32 tensor `name`.
pub fn set_f32(tensors: &mut Tensors, name: &str, index: usize, value: f32) {
    tensor(tensors, name).3[4 * index..4 * index + 4].copy_from_slice(&value.to_le_bytes());
}
