//! Shared oracles of the statistical tests: exact enumeration and sample-size-derived
//! thresholds.
#![allow(dead_code)]

use blockgibbs::prelude::*;
use std::collections::HashMap;

/// Exact distribution over the joint states of `free` discrete nodes (other nodes fixed by
/// `fixed`), p ∝ exp(−β E). Returns (state → probability).
pub fn enumerate(
    model: &Model,
    free: &[NodeId],
    fixed: &[(NodeId, f32)],
    beta: f64,
) -> HashMap<Vec<i32>, f64> {
    let sizes: Vec<i32> = free
        .iter()
        .map(|&n| match model.kind(n) {
            NodeKind::Spin | NodeKind::Binary => 2,
            NodeKind::Categorical(k) => k as i32,
            NodeKind::Gaussian => panic!("cannot enumerate a Gaussian node"),
        })
        .collect();
    let mut state = vec![0.0f32; model.node_count()];
    for &(n, v) in fixed {
        state[n.index()] = v;
    }
    let mut digits = vec![0i32; free.len()];
    let mut out = HashMap::new();
    let mut z = 0.0;
    loop {
        for (i, &n) in free.iter().enumerate() {
            state[n.index()] = value_of(model.kind(n), digits[i]);
        }
        let w = (-beta * model.energy(&state)).exp();
        z += w;
        out.insert(free.iter().map(|&n| state[n.index()] as i32).collect(), w);
        let mut i = 0;
        while i < digits.len() {
            digits[i] += 1;
            if digits[i] < sizes[i] {
                break;
            }
            digits[i] = 0;
            i += 1;
        }
        if i == digits.len() {
            break;
        }
    }
    for p in out.values_mut() {
        *p /= z;
    }
    out
}

fn value_of(kind: NodeKind, digit: i32) -> f32 {
    match kind {
        NodeKind::Spin => 2.0 * digit as f32 - 1.0,
        _ => digit as f32,
    }
}

/// Empirical joint distribution of the collected nodes.
pub fn histogram(samples: &SampleCollector) -> HashMap<Vec<i32>, f64> {
    let [s, c, _] = samples.shape();
    let mut out = HashMap::new();
    for i in 0..s {
        for j in 0..c {
            let key: Vec<i32> = samples.row(i, j).iter().map(|&v| v as i32).collect();
            *out.entry(key).or_insert(0.0) += 1.0;
        }
    }
    let n = (s * c) as f64;
    for p in out.values_mut() {
        *p /= n;
    }
    out
}

/// THRML's statistic: max |p̂ − p| / max p.
pub fn max_relative_error(
    exact: &HashMap<Vec<i32>, f64>,
    empirical: &HashMap<Vec<i32>, f64>,
) -> f64 {
    let pmax = exact.values().cloned().fold(0.0, f64::max);
    let mut worst = 0.0f64;
    for (k, &p) in exact {
        worst = worst.max((empirical.get(k).copied().unwrap_or(0.0) - p).abs());
    }
    for k in empirical.keys() {
        assert!(
            exact.contains_key(k),
            "sampled a state of zero probability: {k:?}"
        );
    }
    worst / pmax
}

/// Threshold for [`max_relative_error`] from the number of draws: `z` standard errors of the
/// most probable state's frequency, with the draws discounted by `inflation` for residual
/// autocorrelation between observations (an integrated autocorrelation time bound).
pub fn threshold(exact: &HashMap<Vec<i32>, f64>, draws: usize, inflation: f64, z: f64) -> f64 {
    let pmax = exact.values().cloned().fold(0.0, f64::max);
    let n_eff = draws as f64 / inflation;
    z * (pmax * (1.0 - pmax) / n_eff).sqrt() / pmax
}

/// Samples every free node of `model` and returns (exact, empirical, draws).
pub fn sample_joint(
    model: std::sync::Arc<Model>,
    free: &[NodeId],
    chains: usize,
    schedule: SamplingSchedule,
    seed: u64,
) -> SampleCollector {
    let options = SamplerOptions {
        chains,
        seed,
        ..Default::default()
    };
    let mut sampler = make_sampler(model, options);
    let mut samples = SampleCollector::new(free.to_vec());
    sampler.run(&schedule, &mut [&mut samples]).unwrap();
    samples
}

/// The backend the statistical tests run on: `BLOCKGIBBS_TEST_BACKEND=reference|jit`, by
/// default the library's default (the JIT where supported). CI runs the suite both ways.
pub fn test_backend() -> blockgibbs::runtime::BackendChoice {
    use blockgibbs::runtime::BackendChoice;
    match std::env::var("BLOCKGIBBS_TEST_BACKEND").as_deref() {
        Ok("reference") => BackendChoice::Reference,
        Ok("jit") => BackendChoice::Jit,
        Ok(other) => panic!("BLOCKGIBBS_TEST_BACKEND={other}: use reference or jit"),
        Err(_) => BackendChoice::Auto,
    }
}

/// A sampler for `model` on [`test_backend`]; panics if the JIT was asked for but fell back.
pub fn make_sampler(model: std::sync::Arc<Model>, options: SamplerOptions) -> Sampler {
    let sampler = Sampler::builder(model)
        .backend(test_backend())
        .options(options)
        .build()
        .unwrap();
    assert!(sampler.fallback().is_none(), "{:?}", sampler.fallback());
    sampler
}

// ---------------------------------------------------------------------------------------
// Helpers added for the exact-answer suite.

use blockgibbs::ir::Program;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` weights uniform in [−scale, scale] from a seeded ChaCha8 (reproducible "random" models).
pub fn random_weights(n: usize, scale: f32, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

/// The superblocks of a lowered program as node lists, in update order.
pub fn superblocks_of(program: &Program) -> Vec<Vec<Vec<NodeId>>> {
    program
        .superblocks
        .iter()
        .map(|sb| {
            sb.blocks
                .clone()
                .map(|b| {
                    let blk = &program.blocks[b];
                    let s = blk.first_slot as usize;
                    program.node_of_slot[s..s + blk.len as usize].to_vec()
                })
                .collect()
        })
        .collect()
}

/// Prints and checks a THRML-style comparison: `max |p̂ − p| / max p < threshold(...)`.
/// Returns (statistic, threshold).
pub fn assert_distribution(
    label: &str,
    exact: &HashMap<Vec<i32>, f64>,
    empirical: &HashMap<Vec<i32>, f64>,
    draws: usize,
    inflation: f64,
    z: f64,
) -> (f64, f64) {
    let err = max_relative_error(exact, empirical);
    let thr = threshold(exact, draws, inflation, z);
    println!(
        "{label}: max|p̂-p|/max p = {err:.5} vs threshold {thr:.5} (draws {draws}, τ {inflation:.3}, z {z})"
    );
    assert!(err < thr, "{label}: statistic {err} ≥ threshold {thr}");
    (err, thr)
}

/// The exact transition operator of one block-Gibbs sweep over the joint states of the free
/// nodes of a small discrete model, built from `Model::energy` (not from the lowered program):
/// superblocks follow one another; inside a superblock every node is drawn from its exact
/// conditional given the state *before* the superblock (the Jacobi semantics of superblocks,
/// see ARCHITECTURE.md, which for non-interacting blocks coincides with sequential updates).
pub struct Kernel {
    /// Free nodes, in the order of the superblocks (digit order of the state index).
    pub free: Vec<NodeId>,
    radix: Vec<usize>,
    stride: Vec<usize>,
    kinds: Vec<NodeKind>,
    /// Per superblock: `succ[x · m + j]` = (successor state, probability), m per superblock.
    steps: Vec<(usize, Vec<(u32, f64)>)>,
    states: usize,
}

fn cardinality(kind: NodeKind) -> usize {
    match kind {
        NodeKind::Spin | NodeKind::Binary => 2,
        NodeKind::Categorical(k) => k as usize,
        NodeKind::Gaussian => panic!("cannot enumerate a Gaussian node"),
    }
}

impl Kernel {
    /// The sweep kernel at inverse temperature `beta` with the nodes of `fixed` held at the
    /// given values (clamped nodes must all be listed in `fixed`).
    pub fn new(
        model: &Model,
        superblocks: &[Vec<Vec<NodeId>>],
        fixed: &[(NodeId, f32)],
        beta: f64,
    ) -> Kernel {
        let free: Vec<NodeId> = superblocks.iter().flatten().flatten().copied().collect();
        let kinds: Vec<NodeKind> = free.iter().map(|&n| model.kind(n)).collect();
        let radix: Vec<usize> = kinds.iter().map(|&k| cardinality(k)).collect();
        let mut stride = vec![1usize; free.len() + 1];
        for i in 0..free.len() {
            stride[i + 1] = stride[i] * radix[i];
        }
        let states = stride[free.len()];
        let mut state = vec![0.0f32; model.node_count()];
        for &(n, v) in fixed {
            state[n.index()] = v;
        }
        let mut pos = 0usize;
        let mut steps = Vec::new();
        for sb in superblocks {
            let members: Vec<usize> = (pos..pos + sb.iter().map(Vec::len).sum::<usize>()).collect();
            pos += members.len();
            let m: usize = members.iter().map(|&i| radix[i]).product();
            let mut succ = Vec::with_capacity(states * m);
            for x in 0..states {
                for (i, &n) in free.iter().enumerate() {
                    state[n.index()] = value_of(kinds[i], ((x / stride[i]) % radix[i]) as i32);
                }
                let conds: Vec<Vec<f64>> = members
                    .iter()
                    .map(|&i| {
                        let n = free[i];
                        let old = state[n.index()];
                        let e: Vec<f64> = (0..radix[i])
                            .map(|d| {
                                state[n.index()] = value_of(kinds[i], d as i32);
                                model.energy(&state)
                            })
                            .collect();
                        state[n.index()] = old;
                        let emin = e.iter().cloned().fold(f64::INFINITY, f64::min);
                        let w: Vec<f64> = e.iter().map(|e| (-beta * (e - emin)).exp()).collect();
                        let z: f64 = w.iter().sum();
                        w.into_iter().map(|w| w / z).collect()
                    })
                    .collect();
                let base = x - members
                    .iter()
                    .map(|&i| ((x / stride[i]) % radix[i]) * stride[i])
                    .sum::<usize>();
                for j in 0..m {
                    let (mut y, mut p, mut r) = (base, 1.0, j);
                    for (c, &i) in members.iter().enumerate() {
                        let d = r % radix[i];
                        r /= radix[i];
                        y += d * stride[i];
                        p *= conds[c][d];
                    }
                    succ.push((y as u32, p));
                }
            }
            steps.push((m, succ));
        }
        Kernel {
            free,
            radix,
            stride,
            kinds,
            steps,
            states,
        }
    }

    /// Number of joint states.
    pub fn states(&self) -> usize {
        self.states
    }

    /// One sweep applied to a distribution (row vector): p ↦ p T.
    pub fn forward(&self, p: &[f64]) -> Vec<f64> {
        let mut p = p.to_vec();
        for (m, succ) in &self.steps {
            let mut q = vec![0.0; self.states];
            for (x, &px) in p.iter().enumerate() {
                for &(y, w) in &succ[x * m..(x + 1) * m] {
                    q[y as usize] += px * w;
                }
            }
            p = q;
        }
        p
    }

    /// One sweep applied to a function (column vector): f ↦ T f.
    pub fn backward(&self, f: &[f64]) -> Vec<f64> {
        let mut f = f.to_vec();
        for (m, succ) in self.steps.iter().rev() {
            f = (0..self.states)
                .map(|x| {
                    succ[x * m..(x + 1) * m]
                        .iter()
                        .map(|&(y, w)| w * f[y as usize])
                        .sum()
                })
                .collect();
        }
        f
    }

    /// The stationary distribution of the sweep, by power iteration to 1e-14 in L1.
    pub fn stationary(&self) -> Vec<f64> {
        let mut p = vec![1.0 / self.states as f64; self.states];
        for _ in 0..200_000 {
            let q = self.forward(&p);
            let diff: f64 = q.iter().zip(&p).map(|(a, b)| (a - b).abs()).sum();
            p = q;
            if diff < 1e-14 {
                return p;
            }
        }
        panic!("power iteration did not converge");
    }

    /// The values of the free nodes in state `x`.
    pub fn values(&self, x: usize) -> Vec<f32> {
        (0..self.free.len())
            .map(|i| value_of(self.kinds[i], ((x / self.stride[i]) % self.radix[i]) as i32))
            .collect()
    }

    /// A distribution over states as a map keyed by the values of `nodes` (as i32), the key
    /// format of [`histogram`]; `nodes` must be free nodes of the kernel.
    pub fn distribution(&self, p: &[f64], nodes: &[NodeId]) -> HashMap<Vec<i32>, f64> {
        let pos: Vec<usize> = nodes
            .iter()
            .map(|n| {
                self.free
                    .iter()
                    .position(|f| f == n)
                    .expect("not a free node")
            })
            .collect();
        let mut out = HashMap::new();
        for (x, &px) in p.iter().enumerate() {
            let v = self.values(x);
            *out.entry(pos.iter().map(|&i| v[i] as i32).collect())
                .or_insert(0.0) += px;
        }
        out
    }

    /// Integrated autocorrelation time `1 + 2 Σ_k ρ_k` of `f(X)` observed every `stride`
    /// sweeps in stationarity `pi`: the factor by which autocorrelation inflates the variance
    /// of the mean of `f` over a run.
    pub fn tau(&self, f: &[f64], pi: &[f64], stride: usize) -> f64 {
        let mean: f64 = f.iter().zip(pi).map(|(f, p)| f * p).sum();
        let fc: Vec<f64> = f.iter().map(|f| f - mean).collect();
        let var: f64 = fc.iter().zip(pi).map(|(f, p)| f * f * p).sum();
        let mut v = fc.clone();
        let mut sum = 0.0;
        for _ in 0..100_000 {
            for _ in 0..stride {
                v = self.backward(&v);
            }
            let rho = fc
                .iter()
                .zip(&v)
                .zip(pi)
                .map(|((a, b), p)| a * b * p)
                .sum::<f64>()
                / var;
            sum += rho;
            if rho.abs() < 1e-9 {
                break;
            }
        }
        1.0 + 2.0 * sum
    }

    /// The largest [`Kernel::tau`] over the indicators of the `top` most probable states:
    /// the autocorrelation inflation used for [`threshold`].
    pub fn max_state_tau(&self, pi: &[f64], stride: usize, top: usize) -> f64 {
        let mut order: Vec<usize> = (0..self.states).collect();
        order.sort_by(|&a, &b| pi[b].total_cmp(&pi[a]));
        order
            .iter()
            .take(top)
            .map(|&x| {
                let f: Vec<f64> = (0..self.states).map(|y| (y == x) as u8 as f64).collect();
                self.tau(&f, pi, stride)
            })
            .fold(1.0, f64::max)
    }
}

// ---------------------------------------------------------------------------------------
// Small dense linear algebra in f64 (the Gaussian oracles).

/// A square matrix as rows.
pub type Mat = Vec<Vec<f64>>;

/// The inverse of `a` by Gauss–Jordan elimination with partial pivoting (panics if singular).
pub fn invert(a: &Mat) -> Mat {
    let n = a.len();
    let mut m: Mat = a
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut row = r.clone();
            row.extend((0..n).map(|j| (i == j) as u8 as f64));
            row
        })
        .collect();
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| m[i][c].abs().total_cmp(&m[j][c].abs()))
            .unwrap();
        assert!(m[p][c].abs() > 1e-300, "singular matrix");
        m.swap(c, p);
        let d = m[c][c];
        m[c].iter_mut().for_each(|v| *v /= d);
        for r in 0..n {
            if r != c {
                let f = m[r][c];
                let pivot = m[c].clone();
                m[r].iter_mut().zip(&pivot).for_each(|(v, p)| *v -= f * p);
            }
        }
    }
    m.into_iter().map(|r| r[n..].to_vec()).collect()
}

/// The Cholesky factor of `a`, or `None` if `a` is not positive definite.
pub fn cholesky(a: &Mat) -> Option<Mat> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    Some(l)
}

/// `a · b`.
pub fn mat_mul(a: &Mat, b: &Mat) -> Mat {
    let (n, k, m) = (a.len(), b.len(), b[0].len());
    (0..n)
        .map(|i| {
            (0..m)
                .map(|j| (0..k).map(|t| a[i][t] * b[t][j]).sum())
                .collect()
        })
        .collect()
}

/// `a · v`.
pub fn mat_vec(a: &Mat, v: &[f64]) -> Vec<f64> {
    a.iter()
        .map(|r| r.iter().zip(v).map(|(x, y)| x * y).sum())
        .collect()
}

/// Empirical joint distribution of the collected nodes over the chains for which `keep`
/// holds (e.g. the chains sharing one set of clamped values).
pub fn histogram_chains(
    samples: &SampleCollector,
    keep: impl Fn(usize) -> bool,
) -> (HashMap<Vec<i32>, f64>, usize) {
    let [s, c, _] = samples.shape();
    let mut out = HashMap::new();
    let mut n = 0usize;
    for i in 0..s {
        for j in (0..c).filter(|&j| keep(j)) {
            let key: Vec<i32> = samples.row(i, j).iter().map(|&v| v as i32).collect();
            *out.entry(key).or_insert(0.0) += 1.0;
            n += 1;
        }
    }
    for p in out.values_mut() {
        *p /= n as f64;
    }
    (out, n)
}

/// Largest absolute difference between two distributions over the same keys.
pub fn max_abs_diff(a: &HashMap<Vec<i32>, f64>, b: &HashMap<Vec<i32>, f64>) -> f64 {
    a.keys()
        .chain(b.keys())
        .map(|k| (a.get(k).copied().unwrap_or(0.0) - b.get(k).copied().unwrap_or(0.0)).abs())
        .fold(0.0, f64::max)
}

/// A sampler on [`test_backend`] with `chains` chains and `seed` (β = 1, one thread per core).
pub fn sampler(model: &std::sync::Arc<Model>, chains: usize, seed: u64) -> Sampler {
    make_sampler(
        model.clone(),
        SamplerOptions {
            chains,
            seed,
            ..Default::default()
        },
    )
}

/// A random 6-node-style Gaussian MRF on `n ≥ 5` nodes: a ring plus two chords with couplings
/// in [−0.6, 0.6], a diagonally dominant (hence positive definite) diagonal and a linear term
/// h in [−1, 1]. Returns the model (one group `x`), Λ and h, both from the f32 weights.
pub fn gaussian_mrf(n: usize, seed: u64) -> (Model, Mat, Vec<f64>) {
    let mut edges: Vec<(usize, usize)> = (0..n).map(|i| (i, (i + 1) % n)).collect();
    edges.extend([(0, 3), (1, 4)]);
    let w = random_weights(edges.len() + 2 * n, 1.0, seed);
    let coupling: Vec<f32> = w[..edges.len()].iter().map(|v| 0.6 * v).collect();
    let h: Vec<f32> = w[edges.len()..edges.len() + n].to_vec();
    let mut lambda = vec![vec![0.0f64; n]; n];
    for (&(a, b), &c) in edges.iter().zip(&coupling) {
        lambda[a][b] = -(c as f64);
        lambda[b][a] = -(c as f64);
    }
    let diag: Vec<f32> = (0..n)
        .map(|i| {
            let off: f64 = (0..n).map(|j| lambda[i][j].abs()).sum();
            (off + 0.3 + 0.5 * w[edges.len() + n + i].abs() as f64) as f32
        })
        .collect();
    for i in 0..n {
        // gaussian_precision stores −½λ as f32; Λ_ii is exactly −2 times that weight.
        lambda[i][i] = -2.0 * (-0.5 * diag[i]) as f64;
    }
    assert!(cholesky(&lambda).is_some(), "Λ must be positive definite");
    let mut b = ModelBuilder::new();
    let x = b.group("x", NodeKind::Gaussian, n).unwrap();
    let ids = x.ids();
    b.gaussian_precision("diag", &ids, &diag);
    let (ea, eb): (Vec<NodeId>, Vec<NodeId>) = edges.iter().map(|&(a, c)| (ids[a], ids[c])).unzip();
    b.gaussian_coupling("coupling", &ea, &eb, &coupling);
    b.gaussian_linear("h", &ids, &h);
    (
        b.build().unwrap(),
        lambda,
        h.iter().map(|&v| v as f64).collect(),
    )
}
