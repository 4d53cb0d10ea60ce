//! Models and comparisons shared by the runtime's integration tests.
#![allow(dead_code)]

use blockgibbs_ir::{Model, ModelBuilder, NodeGroup, NodeId, NodeKind};
use blockgibbs_runtime::{BackendChoice, Sampler};
use std::sync::Arc;

/// Both backends (the JIT only where this machine runs it).
pub fn backends() -> Vec<BackendChoice> {
    let mut all = vec![BackendChoice::Reference];
    if blockgibbs_runtime::jit_supported() {
        all.push(BackendChoice::Jit);
    }
    all
}

/// A sampler of `model` on `backend`.
pub fn sampler(
    model: &Arc<Model>,
    backend: BackendChoice,
    chains: usize,
    threads: usize,
    seed: u64,
) -> Sampler {
    Sampler::builder(model.clone())
        .backend(backend)
        .chains(chains)
        .threads(threads)
        .seed(seed)
        .build()
        .unwrap()
}

/// Every chain's state as bits, `[chains, nodes]`.
pub fn state_bits(s: &Sampler) -> Vec<u32> {
    let mut out = vec![0.0f32; s.chains() * s.model().node_count()];
    s.read_states(&mut out).unwrap();
    out.iter().map(|v| v.to_bits()).collect()
}

/// Every chain's state, `[chains, nodes]`.
pub fn states(s: &Sampler) -> Vec<f32> {
    let mut out = vec![0.0f32; s.chains() * s.model().node_count()];
    s.read_states(&mut out).unwrap();
    out
}

/// The right and down bonds of every site of a periodic `l × l` lattice laid out row-major
/// in `g`, as the two ends of a pair factor.
fn periodic_bonds(g: &NodeGroup, l: usize) -> (Vec<NodeId>, Vec<NodeId>) {
    let (mut a, mut c) = (Vec::new(), Vec::new());
    for y in 0..l {
        for x in 0..l {
            let i = y * l + x;
            a.extend([g.node(i), g.node(i)]);
            c.extend([g.node(y * l + (x + 1) % l), g.node(((y + 1) % l) * l + x)]);
        }
    }
    (a, c)
}

/// Periodic `l × l` Ising lattice: one uniform coupling factor `j` (its weights fold into
/// the JIT's constants) and a field `h`.
pub fn ising(l: usize, j: f32, h: f32) -> Model {
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, l * l).unwrap();
    let (a, c) = periodic_bonds(&s, l);
    b.pair_coupling("j", &a, &c, &vec![j; a.len()]);
    b.linear_bias("h", &s.ids(), &vec![h; l * l]);
    b.build().unwrap()
}

/// Periodic `l × l` Potts lattice with `q` states (a folded diagonal coupling).
pub fn potts(l: usize, q: u32, j: f32) -> Model {
    let mut b = ModelBuilder::new();
    let s = b.group("p", NodeKind::Categorical(q), l * l).unwrap();
    let (a, c) = periodic_bonds(&s, l);
    b.potts_coupling("j", &a, &c, &vec![j; a.len()]);
    let theta: Vec<f32> = (0..l * l * q as usize)
        .map(|i| (i % 5) as f32 * 0.1)
        .collect();
    b.categorical_bias("theta", &s.ids(), &theta);
    b.build().unwrap()
}

/// A dense binary RBM (its couplings are read through the affine walk).
pub fn rbm(nv: usize, nh: usize) -> Model {
    let mut b = ModelBuilder::new();
    let v = b.group("v", NodeKind::Binary, nv).unwrap();
    let h = b.group("h", NodeKind::Binary, nh).unwrap();
    let (mut a, mut c, mut w) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..nv {
        for j in 0..nh {
            a.push(v.node(i));
            c.push(h.node(j));
            w.push(((i * 7 + j * 3) % 11) as f32 * 0.05 - 0.25);
        }
    }
    b.pair_coupling("w", &a, &c, &w);
    b.linear_bias("bv", &v.ids(), &vec![0.1; nv]);
    b.linear_bias("bh", &h.ids(), &vec![-0.1; nh]);
    b.build().unwrap()
}

/// A Gaussian chain gated by categorical nodes: precisions, couplings, gated means.
pub fn gaussian_mixture_chain(n: usize) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.group("x", NodeKind::Gaussian, n).unwrap();
    let z = b.group("z", NodeKind::Categorical(3), n).unwrap();
    b.gaussian_precision("prec", &x.ids(), &vec![2.0; n]);
    let xs: Vec<NodeId> = x.ids();
    b.gaussian_coupling("c", &xs[..n - 1], &xs[1..], &vec![0.3; n - 1]);
    let means: Vec<f32> = (0..3 * n).map(|i| (i % 3) as f32 - 1.0).collect();
    b.gated_gaussian_mean("mean", &z.ids(), &xs, &means);
    b.gaussian_linear("lin", &xs, &vec![0.2; n]);
    b.build().unwrap()
}
