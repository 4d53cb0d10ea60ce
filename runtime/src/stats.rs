//! Streaming mean and standard error of an autocorrelated series by batch means.
//!
//! Each observation is the average over chains of a per-chain scalar. Consecutive
//! observations are grouped into batches whose size doubles whenever [`MAX_BATCHES`] are
//! full, so between 32 and 64 batches of about n/48 observations are kept in O(1) memory. The
//! variance of the batch means estimates the variance of the mean as long as the
//! autocorrelation time is well below the batch size (the classic non-overlapping batch-means
//! estimator); independent chains enter through the chain average.
//!
//! Batch means cannot see chains that sit in different regions for the whole run (a
//! ferromagnet below T_c keeps each chain's sign): the chain-averaged series is then flat and
//! its batches agree, however wrong the average. So the per-chain means are kept too, and
//! with two or more chains the reported variance of the mean is the larger of the
//! batch-means estimate and the between-chain variance of the chain means divided by the
//! number of chains — the latter is valid for independent chains whatever their
//! autocorrelation.

use serde::Serialize;

/// Batches kept before pairs are merged.
pub const MAX_BATCHES: usize = 64;

/// Fewest complete batches for which a standard error is reported.
pub const MIN_BATCHES: usize = 8;

/// Running batch-means accumulator of one scalar observable.
#[derive(Clone, Debug)]
pub struct BatchMeans {
    batch_size: u64,
    batches: Vec<f64>,
    current_sum: f64,
    current_len: u64,
    n: u64,
    sum: f64,
    /// Σ over observations of the chain-average of the squared per-chain value.
    sum_sq_draws: f64,
    chains: u64,
    /// Σ over observations of each chain's value.
    chain_sums: Vec<f64>,
}

/// Mean, standard error and effective sample size of one observable.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// Mean over all observations and chains.
    pub mean: f64,
    /// Standard error of the mean, accounting for autocorrelation; `None` when there are too
    /// few observations to estimate it honestly.
    pub stderr: Option<f64>,
    /// Effective number of independent draws: per-draw variance / stderr².
    pub ess: Option<f64>,
    /// Number of observations (each an average over chains).
    pub observations: u64,
}

impl Default for BatchMeans {
    fn default() -> Self {
        BatchMeans {
            batch_size: 1,
            batches: Vec::with_capacity(MAX_BATCHES),
            current_sum: 0.0,
            current_len: 0,
            n: 0,
            sum: 0.0,
            sum_sq_draws: 0.0,
            chains: 1,
            chain_sums: Vec::new(),
        }
    }
}

impl BatchMeans {
    /// An empty accumulator.
    pub fn new() -> BatchMeans {
        BatchMeans::default()
    }

    /// Adds one observation: the per-chain values of the observable.
    pub fn push_chains(&mut self, values: &[f64]) {
        let c = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / c;
        let mean_sq = values.iter().map(|v| v * v).sum::<f64>() / c;
        self.chains = values.len().max(1) as u64;
        if self.chain_sums.len() != values.len() {
            self.chain_sums = vec![0.0; values.len()];
        }
        for (s, v) in self.chain_sums.iter_mut().zip(values) {
            *s += v;
        }
        self.push(mean, mean_sq);
    }

    fn push(&mut self, mean: f64, mean_sq: f64) {
        self.n += 1;
        self.sum += mean;
        self.sum_sq_draws += mean_sq;
        self.current_sum += mean;
        self.current_len += 1;
        if self.current_len == self.batch_size {
            self.batches.push(self.current_sum);
            self.current_sum = 0.0;
            self.current_len = 0;
            if self.batches.len() == MAX_BATCHES {
                let merged: Vec<f64> = self.batches.chunks(2).map(|p| p[0] + p[1]).collect();
                self.batches = merged;
                self.batch_size *= 2;
            }
        }
    }

    /// The current estimate.
    pub fn estimate(&self) -> Estimate {
        let n = self.n.max(1) as f64;
        let mean = self.sum / n;
        let b = self.batches.len();
        let stderr = (b >= MIN_BATCHES).then(|| {
            let bs = self.batch_size as f64;
            let means = self.batches.iter().map(|s| s / bs);
            let bm = self.batches.iter().sum::<f64>() / (bs * b as f64);
            let var = means.map(|m| (m - bm) * (m - bm)).sum::<f64>() / (b as f64 - 1.0);
            let within = var / b as f64;
            let c = self.chain_sums.len();
            let between = if c >= 2 {
                let means: Vec<f64> = self.chain_sums.iter().map(|s| s / n).collect();
                let m = means.iter().sum::<f64>() / c as f64;
                means.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (c as f64 - 1.0) / c as f64
            } else {
                0.0
            };
            within.max(between).sqrt()
        });
        let draw_var = (self.sum_sq_draws / n - mean * mean).max(0.0);
        let draws = (self.n * self.chains) as f64;
        let ess = stderr.map(|se| {
            if se > 0.0 {
                (draw_var / (se * se)).min(draws)
            } else {
                draws
            }
        });
        Estimate {
            mean,
            stderr,
            ess,
            observations: self.n,
        }
    }
}

/// The raw state of a [`BatchMeans`], as checkpoints store it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BatchMeansParts {
    /// `[batch_size, current_len, n, chains]`.
    pub counts: [u64; 4],
    /// `[current_sum, sum, sum_sq_draws]`.
    pub sums: [f64; 3],
    /// Sums of the complete batches.
    pub batches: Vec<f64>,
    /// Per-chain sums.
    pub chain_sums: Vec<f64>,
}

impl BatchMeans {
    /// The raw state, for a checkpoint.
    pub(crate) fn to_parts(&self) -> BatchMeansParts {
        BatchMeansParts {
            counts: [self.batch_size, self.current_len, self.n, self.chains],
            sums: [self.current_sum, self.sum, self.sum_sq_draws],
            batches: self.batches.clone(),
            chain_sums: self.chain_sums.clone(),
        }
    }

    /// An accumulator from its raw state, checked for consistency (the batch size a power
    /// of two, fewer than [`MAX_BATCHES`] complete batches, the observation count equal to
    /// the batches' plus the current one's) so that a damaged checkpoint cannot make later
    /// pushes misbehave.
    pub(crate) fn from_parts(parts: BatchMeansParts) -> Result<BatchMeans, String> {
        let [batch_size, current_len, n, chains] = parts.counts;
        if !batch_size.is_power_of_two() {
            return Err(format!("batch size {batch_size} is not a power of two"));
        }
        if parts.batches.len() >= MAX_BATCHES {
            return Err(format!(
                "{} complete batches (at most {} are kept)",
                parts.batches.len(),
                MAX_BATCHES - 1
            ));
        }
        if current_len >= batch_size {
            return Err(format!(
                "the current batch holds {current_len} of {batch_size} observations"
            ));
        }
        let expected = (parts.batches.len() as u64)
            .checked_mul(batch_size)
            .and_then(|b| b.checked_add(current_len));
        if expected != Some(n) {
            return Err(format!(
                "{n} observations do not fill {} batches of {batch_size} and {current_len} more",
                parts.batches.len()
            ));
        }
        if chains == 0 || (!parts.chain_sums.is_empty() && parts.chain_sums.len() as u64 != chains)
        {
            return Err(format!(
                "{chains} chains but {} per-chain sums",
                parts.chain_sums.len()
            ));
        }
        let [current_sum, sum, sum_sq_draws] = parts.sums;
        Ok(BatchMeans {
            batch_size,
            batches: parts.batches,
            current_sum,
            current_len,
            n,
            sum,
            sum_sq_draws,
            chains,
            chain_sums: parts.chain_sums,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// An AR(1) series x_t = ρ x_{t−1} + ε_t has Var(mean) ≈ σ²/(1−ρ)² / n for large n.
    #[test]
    fn stderr_accounts_for_autocorrelation() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let rho: f64 = 0.9;
        let n = 400_000;
        let mut bm = BatchMeans::new();
        let mut x = 0.0f64;
        for _ in 0..n {
            let e: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
            x = rho * x + e;
            bm.push_chains(&[x]);
        }
        let est = bm.estimate();
        let exact = (1.0 / (1.0 - rho) / (n as f64).sqrt()).abs();
        let se = est.stderr.unwrap();
        // With 32–64 batches the relative error of a standard error is about 1/sqrt(2·32) ≈ 13%;
        // allow 3 of those.
        assert!(
            (se / exact - 1.0).abs() < 0.4,
            "stderr {se} vs exact {exact}"
        );
        // iid-draw variance is 1/(1−ρ²) ≈ 5.26; ESS ≈ n (1−ρ)² / (1−ρ²) · ... ≈ n (1−ρ)/(1+ρ).
        let ess = est.ess.unwrap();
        let ess_exact = n as f64 * (1.0 - rho) / (1.0 + rho);
        assert!(
            (ess / ess_exact - 1.0).abs() < 0.8,
            "ess {ess} vs {ess_exact}"
        );
    }

    /// Chains stuck at different constant values: batch means alone would report zero.
    #[test]
    fn stuck_chains_enter_through_the_between_chain_variance() {
        let mut bm = BatchMeans::new();
        let values = [0.6, -0.6, 0.6, 0.6];
        for _ in 0..1000 {
            bm.push_chains(&values);
        }
        let est = bm.estimate();
        // Chain means 0.6, −0.6, 0.6, 0.6: sample variance 0.36, over 4 chains → se = 0.3.
        assert!((est.stderr.unwrap() - 0.3).abs() < 1e-9, "{est:?}");
        assert!(est.ess.unwrap() < 10.0, "{est:?}");
    }

    #[test]
    fn too_few_observations_give_no_stderr() {
        let mut bm = BatchMeans::new();
        for i in 0..5 {
            bm.push_chains(&[i as f64, 1.0]);
        }
        let est = bm.estimate();
        assert_eq!(est.stderr, None);
        assert!((est.mean - 1.5).abs() < 1e-12);
    }
}
