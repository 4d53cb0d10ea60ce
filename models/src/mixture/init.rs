//! Initial responsibilities, as scikit-learn's `init_params`: one-hot at k-means++ seeds
//! (`k-means++`), one-hot at the labels of Lloyd's k-means seeded by k-means++ (`kmeans`,
//! scikit-learn's default), normalised uniform noise (`random`), or one-hot at distinct
//! random samples (`random_from_data`). The draws come from the fit's seeded ChaCha8
//! stream, so they are reproducible but not numpy's.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::estep::Design;

/// How the initial parameters are computed when they are not all given (scikit-learn's
/// `init_params`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum InitParams {
    /// Responsibilities from the labels of k-means (k-means++ seeding, then Lloyd's
    /// iterations as scikit-learn's `KMeans(n_init=1)`: at most 300, until the labels stop
    /// changing or the centres move less than `1e-4` of the mean feature variance).
    #[default]
    KMeans,
    /// Responsibilities one-hot at the greedy k-means++ seeds (scikit-learn's `k-means++`):
    /// each component starts as one sample with covariance `reg_covar · I`.
    KMeansPlusPlus,
    /// Uniform random responsibilities, normalised per sample (scikit-learn's `random`).
    Random,
    /// Responsibilities one-hot at `K` distinct samples drawn uniformly
    /// (scikit-learn's `random_from_data`).
    RandomFromData,
}

impl InitParams {
    /// scikit-learn's name: `kmeans`, `k-means++`, `random`, `random_from_data`.
    pub fn name(self) -> &'static str {
        match self {
            InitParams::KMeans => "kmeans",
            InitParams::KMeansPlusPlus => "k-means++",
            InitParams::Random => "random",
            InitParams::RandomFromData => "random_from_data",
        }
    }

    /// Parses scikit-learn's names.
    pub fn parse(name: &str) -> Option<InitParams> {
        match name {
            "kmeans" => Some(InitParams::KMeans),
            "k-means++" => Some(InitParams::KMeansPlusPlus),
            "random" => Some(InitParams::Random),
            "random_from_data" => Some(InitParams::RandomFromData),
            _ => None,
        }
    }
}

fn row<'a>(design: &'a Design<'_>, i: usize) -> &'a [f64] {
    &design.x[i * design.d..(i + 1) * design.d]
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Greedy k-means++ (scikit-learn's `kmeans_plusplus`): the first seed uniformly, each
/// next one the best of `2 + ⌊ln K⌋` candidates drawn proportionally to the squared
/// distance to the nearest seed, best meaning the smallest total squared distance after
/// adding it. Returns the seeds' sample indices.
pub(crate) fn kmeans_plusplus(design: &Design<'_>, k: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let n = design.n;
    let trials = 2 + (k as f64).ln() as usize;
    let first = rng.random_range(0..n);
    let mut seeds = vec![first];
    let mut closest: Vec<f64> = (0..n)
        .map(|i| dist2(row(design, i), row(design, first)))
        .collect();
    let mut potential: f64 = closest.iter().sum();
    let mut cumulative = vec![0.0; n];
    for _ in 1..k {
        let mut acc = 0.0;
        for (c, d) in cumulative.iter_mut().zip(&closest) {
            acc += d;
            *c = acc;
        }
        let mut best: Option<(f64, usize, Vec<f64>)> = None;
        for _ in 0..trials {
            let target = rng.random::<f64>() * potential;
            let candidate = cumulative.partition_point(|&c| c < target).min(n - 1);
            let dists: Vec<f64> = (0..n)
                .map(|i| closest[i].min(dist2(row(design, i), row(design, candidate))))
                .collect();
            let pot: f64 = dists.iter().sum();
            if best.as_ref().is_none_or(|b| pot < b.0) {
                best = Some((pot, candidate, dists));
            }
        }
        let (pot, candidate, dists) = best.expect("at least two trials");
        potential = pot;
        closest = dists;
        seeds.push(candidate);
    }
    seeds
}

/// Lloyd's k-means from k-means++ seeds; returns each sample's label.
fn kmeans_labels(design: &Design<'_>, k: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    const MAX_ITER: usize = 300;
    let (n, d) = (design.n, design.d);
    let mut centres: Vec<f64> = kmeans_plusplus(design, k, rng)
        .iter()
        .flat_map(|&i| row(design, i).to_vec())
        .collect();
    // scikit-learn's tolerance: 1e-4 of the mean per-feature variance.
    let mut var_sum = 0.0;
    for j in 0..d {
        let mean = (0..n).map(|i| design.x[i * d + j]).sum::<f64>() / n as f64;
        var_sum += (0..n)
            .map(|i| (design.x[i * d + j] - mean).powi(2))
            .sum::<f64>()
            / n as f64;
    }
    let tol = 1e-4 * var_sum / d as f64;
    let assign = |centres: &[f64]| -> Vec<usize> {
        (0..n)
            .map(|i| {
                let x = row(design, i);
                (0..k)
                    .map(|c| dist2(x, &centres[c * d..(c + 1) * d]))
                    .enumerate()
                    .fold(
                        (0, f64::INFINITY),
                        |b, (c, v)| if v < b.1 { (c, v) } else { b },
                    )
                    .0
            })
            .collect()
    };
    let mut previous: Option<Vec<usize>> = None;
    for _ in 0..MAX_ITER {
        let labels = assign(&centres);
        let mut sums = vec![0.0; k * d];
        let mut counts = vec![0usize; k];
        for (i, &l) in labels.iter().enumerate() {
            counts[l] += 1;
            for j in 0..d {
                sums[l * d + j] += design.x[i * d + j];
            }
        }
        relocate_empty(design, &centres, &labels, &mut sums, &mut counts);
        let mut shift = 0.0;
        for c in 0..k {
            for j in 0..d {
                let new = sums[c * d + j] / counts[c] as f64;
                shift += (new - centres[c * d + j]).powi(2);
                centres[c * d + j] = new;
            }
        }
        if previous.as_ref() == Some(&labels) {
            return labels;
        }
        if shift <= tol {
            break;
        }
        previous = Some(labels);
    }
    assign(&centres)
}

/// scikit-learn's relocation of empty clusters: each takes one of the samples farthest
/// from their centres, removed from its old cluster.
fn relocate_empty(
    design: &Design<'_>,
    centres: &[f64],
    labels: &[usize],
    sums: &mut [f64],
    counts: &mut [usize],
) {
    let d = design.d;
    let empty: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] == 0).collect();
    if empty.is_empty() {
        return;
    }
    let mut far: Vec<(f64, usize)> = (0..design.n)
        .map(|i| {
            let l = labels[i];
            (dist2(row(design, i), &centres[l * d..(l + 1) * d]), i)
        })
        .collect();
    far.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (&c, &(_, i)) in empty.iter().zip(&far) {
        let old = labels[i];
        if counts[old] <= 1 {
            continue;
        }
        for j in 0..d {
            let x = design.x[i * d + j];
            sums[old * d + j] -= x;
            sums[c * d + j] = x;
        }
        counts[old] -= 1;
        counts[c] = 1;
    }
}

/// One-hot responsibilities (`n × K` row-major) with sample `indices[c]` in column `c`.
fn one_hot_at(n: usize, k: usize, indices: &[usize]) -> Vec<f64> {
    let mut resp = vec![0.0; n * k];
    for (c, &i) in indices.iter().enumerate() {
        resp[i * k + c] = 1.0;
    }
    resp
}

/// The initial responsibilities of `method`, `n × K` row-major.
pub(crate) fn responsibilities(
    method: InitParams,
    design: &Design<'_>,
    k: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    let n = design.n;
    match method {
        InitParams::KMeansPlusPlus => one_hot_at(n, k, &kmeans_plusplus(design, k, rng)),
        InitParams::RandomFromData => {
            one_hot_at(n, k, &rand::seq::index::sample(rng, n, k).into_vec())
        }
        InitParams::Random => {
            // `1 − u` lies in (0, 1], so no row sums to zero.
            let mut resp: Vec<f64> = (0..n * k).map(|_| 1.0 - rng.random::<f64>()).collect();
            for r in resp.chunks_exact_mut(k) {
                let s: f64 = r.iter().sum();
                r.iter_mut().for_each(|v| *v /= s);
            }
            resp
        }
        InitParams::KMeans => {
            let mut resp = vec![0.0; n * k];
            for (i, l) in kmeans_labels(design, k, rng).into_iter().enumerate() {
                resp[i * k + l] = 1.0;
            }
            resp
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::expfam::CovarianceType;
    use crate::mixture::{GaussianMixture, adjusted_rand_index};
    use crate::samples::Samples;

    /// Three far-apart blobs and the component of each sample.
    fn blobs() -> (Samples, Vec<usize>) {
        let gm = GaussianMixture::new(
            CovarianceType::Isotropic,
            vec![0.2, 0.3, 0.5],
            vec![-20.0, 0.0, 0.0, 20.0, 20.0, 0.0],
            vec![1.0, 2.0, 0.5],
        )
        .unwrap();
        gm.sample(600, 4).unwrap()
    }

    #[test]
    fn seeds_land_in_distinct_blobs_and_k_means_recovers_them() {
        let (x, truth) = blobs();
        let design = Design::new(&x, CovarianceType::Full);
        for seed in 0..5 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut blobs: Vec<usize> = kmeans_plusplus(&design, 3, &mut rng)
                .into_iter()
                .map(|i| truth[i])
                .collect();
            blobs.sort_unstable();
            assert_eq!(blobs, vec![0, 1, 2], "seed {seed}");
            let labels = kmeans_labels(&design, 3, &mut rng);
            assert_eq!(adjusted_rand_index(&labels, &truth).unwrap(), 1.0);
        }
    }

    #[test]
    fn responsibilities_are_distributions_over_components() {
        let (x, _) = blobs();
        let design = Design::new(&x, CovarianceType::Diagonal);
        for method in [
            InitParams::KMeans,
            InitParams::KMeansPlusPlus,
            InitParams::Random,
            InitParams::RandomFromData,
        ] {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let resp = responsibilities(method, &design, 3, &mut rng);
            assert_eq!(resp.len(), 600 * 3);
            assert!(resp.iter().all(|&r| (0.0..=1.0).contains(&r)));
            let sums: Vec<f64> = resp.chunks(3).map(|r| r.iter().sum()).collect();
            match method {
                // One sample per component.
                InitParams::KMeansPlusPlus | InitParams::RandomFromData => {
                    assert_eq!(sums.iter().filter(|&&s| s == 1.0).count(), 3);
                    assert_eq!(sums.iter().filter(|&&s| s == 0.0).count(), 597);
                }
                _ => assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-12)),
            }
            assert_eq!(InitParams::parse(method.name()), Some(method));
        }
    }

    #[test]
    fn empty_clusters_take_the_farthest_samples() {
        // Two identical centres: one cluster would be empty; it takes the farthest sample.
        let x = Samples::new(vec![0.0, 0.1, 0.2, 10.0], 1).unwrap();
        let design = Design::new(&x, CovarianceType::Full);
        let centres = [0.0, 0.0];
        let labels = [0, 0, 0, 0];
        let (mut sums, mut counts) = (vec![10.3, 0.0], vec![4, 0]);
        relocate_empty(&design, &centres, &labels, &mut sums, &mut counts);
        assert_eq!(counts, vec![3, 1]);
        assert!((sums[0] - 0.3).abs() < 1e-12 && sums[1] == 10.0);
    }
}
