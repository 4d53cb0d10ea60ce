//! [`GaussianMixturePrior`]: multiDGD's `GaussianMixture` — parameters, initialisation,
//! densities, the objective, assignments and sampling.

use std::f64::consts::PI;

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::error::{DgdError, at_least_one, check_vector, positive};
use super::priors::{DirichletPrior, LogVariancePrior, SoftballPrior};
use super::special::log_sum_exp;
use crate::expfam::CovarianceType;
use crate::samples::Samples;

/// The settings of a new [`GaussianMixturePrior`], as multiDGD's constructor takes them.
#[derive(Clone, Debug, PartialEq)]
pub struct GmmPriorConfig {
    /// Number of components `K ≥ 1` (multiDGD's `n_mix_comp`).
    pub n_components: usize,
    /// Dimension `d ≥ 1` of the latent space.
    pub dim: usize,
    /// `Diagonal` (multiDGD's default), `Isotropic` or `Fixed` (unit variances).
    pub covariance: CovarianceType,
    /// Radius of the softball prior on the means (`mean_init[0]`).
    pub softball_radius: f64,
    /// Hardness of the softball's edge (`mean_init[1]`).
    pub softball_hardness: f64,
    /// Intended mean of each component's standard deviation (`sd_init[0]`); also the initial σ.
    pub sd_mean: f64,
    /// Intended standard deviation of each component's standard deviation (`sd_init[1]`).
    pub sd_sd: f64,
    /// α of the symmetric Dirichlet prior on the weights (`weight_alpha`).
    pub dirichlet_alpha: f64,
}

impl GmmPriorConfig {
    /// multiDGD's model defaults for `n_components` components in `dim` dimensions: diagonal
    /// covariances, softball radius 2 and hardness 5, `sd_mean = 2 · radius / (10 K)` (without
    /// multiDGD's rounding to two decimals, which gives 0 for K > 80), α = 1, and
    /// `sd_sd = sd_mean · √(e^{1/4} − 1)`, the spread that makes the log-variance prior's
    /// scale exactly 1 — the scale multiDGD's default `sd_sd = 1` gives its prior.
    pub fn new(n_components: usize, dim: usize) -> GmmPriorConfig {
        let radius = 2.0;
        let sd_mean = 2.0 * radius / (10.0 * n_components.max(1) as f64);
        GmmPriorConfig {
            n_components,
            dim,
            covariance: CovarianceType::Diagonal,
            softball_radius: radius,
            softball_hardness: 5.0,
            sd_mean,
            sd_sd: sd_mean * 0.25f64.exp_m1().sqrt(),
            dirichlet_alpha: 1.0,
        }
    }
}

/// How [`GaussianMixturePrior::sample_new_points`] proposes starting representations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResampleType {
    /// The `K` component means (multiDGD's `'mean'`).
    Mean,
    /// `n` draws from every component, `n · K` rows, row `i·K + k` from component `k`
    /// (multiDGD's `'sample'`).
    Sample,
}

/// multiDGD's Gaussian-mixture prior over latent vectors: `K` diagonal Gaussians with softmax
/// weights and MAP priors on the means, log-variances and weights (see [the module
/// docs](super) for the objective and where it differs from multiDGD).
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianMixturePrior {
    pub(crate) dim: usize,
    pub(crate) n_components: usize,
    pub(crate) covariance: CovarianceType,
    /// `K × d`, row-major.
    pub(crate) means: Vec<f64>,
    /// `K × d` (diagonal), `K` (isotropic) or empty (fixed).
    pub(crate) log_var: Vec<f64>,
    /// `K` free logits; the weights are their softmax.
    pub(crate) logits: Vec<f64>,
    pub(crate) mean_prior: SoftballPrior,
    pub(crate) log_var_prior: Option<LogVariancePrior>,
    pub(crate) weight_prior: DirichletPrior,
}

/// Per-evaluation constants of the components: inverse variances, log normalisers, log weights.
pub(crate) struct ComponentCache {
    pub(crate) inv_var: Vec<f64>,
    pub(crate) log_norm: Vec<f64>,
    pub(crate) log_weights: Vec<f64>,
}

impl GaussianMixturePrior {
    /// A new mixture initialised as multiDGD does: means uniform in the softball's ball (its
    /// "approximate sample", seeded ChaCha8 with `seed`), every standard deviation `sd_mean`
    /// (log-variance `2 ln sd_mean`), equal weights (logits 0).
    pub fn new(config: &GmmPriorConfig, seed: u64) -> Result<GaussianMixturePrior, DgdError> {
        let (mean_prior, log_var_prior, weight_prior) = priors_of(config)?;
        let (k, d) = (config.n_components, config.dim);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let means = mean_prior.sample_uniform_ball(k, &mut rng);
        let log_var = vec![2.0 * config.sd_mean.ln(); log_var_len(config.covariance, k, d)];
        GaussianMixturePrior::from_parts(
            config.covariance,
            mean_prior,
            log_var_prior,
            weight_prior,
            means,
            log_var,
            vec![0.0; k],
        )
    }

    /// A mixture with given parameters: `means` `K × d` row-major, `log_var` `K × d`
    /// (diagonal), `K` (isotropic) or empty (fixed), `logits` `K`. The priors fix `d` (the
    /// softball's dimension) and `K` (the Dirichlet's); `log_var_prior` must be `None` exactly
    /// for fixed covariances.
    pub fn from_parts(
        covariance: CovarianceType,
        mean_prior: SoftballPrior,
        log_var_prior: Option<LogVariancePrior>,
        weight_prior: DirichletPrior,
        means: Vec<f64>,
        log_var: Vec<f64>,
        logits: Vec<f64>,
    ) -> Result<GaussianMixturePrior, DgdError> {
        check_covariance(covariance)?;
        let (k, d) = (weight_prior.n_components(), mean_prior.dim());
        if (covariance == CovarianceType::Fixed) != log_var_prior.is_none() {
            return Err(DgdError::Shape {
                field: "log_var_prior",
                expected: usize::from(covariance != CovarianceType::Fixed),
                found: usize::from(log_var_prior.is_some()),
            });
        }
        check_vector("means", &means, k * d)?;
        check_vector("log_var", &log_var, log_var_len(covariance, k, d))?;
        check_vector("weight_logits", &logits, k)?;
        Ok(GaussianMixturePrior {
            dim: d,
            n_components: k,
            covariance,
            means,
            log_var,
            logits,
            mean_prior,
            log_var_prior,
            weight_prior,
        })
    }

    /// Replaces the parameters (same layouts as [`GaussianMixturePrior::from_parts`]); leaves
    /// the mixture unchanged on error.
    pub fn set_parameters(
        &mut self,
        means: Vec<f64>,
        log_var: Vec<f64>,
        logits: Vec<f64>,
    ) -> Result<(), DgdError> {
        let (k, d) = (self.n_components, self.dim);
        check_vector("means", &means, k * d)?;
        check_vector("log_var", &log_var, log_var_len(self.covariance, k, d))?;
        check_vector("weight_logits", &logits, k)?;
        self.means = means;
        self.log_var = log_var;
        self.logits = logits;
        Ok(())
    }

    /// Dimension `d` of the latent space.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of components `K`.
    pub fn n_components(&self) -> usize {
        self.n_components
    }

    /// How the covariances are parameterised.
    pub fn covariance_type(&self) -> CovarianceType {
        self.covariance
    }

    /// The means, `K × d` row-major.
    pub fn means(&self) -> &[f64] {
        &self.means
    }

    /// The mean of component `k`.
    pub fn mean(&self, k: usize) -> &[f64] {
        &self.means[k * self.dim..(k + 1) * self.dim]
    }

    /// The log-variance parameters: `K × d` (diagonal), `K` (isotropic) or empty (fixed).
    pub fn log_var(&self) -> &[f64] {
        &self.log_var
    }

    /// The free weight logits (`K`).
    pub fn weight_logits(&self) -> &[f64] {
        &self.logits
    }

    /// The softball prior on the means.
    pub fn mean_prior(&self) -> &SoftballPrior {
        &self.mean_prior
    }

    /// The prior on the log-variances (`None` for fixed covariances).
    pub fn log_var_prior(&self) -> Option<&LogVariancePrior> {
        self.log_var_prior.as_ref()
    }

    /// The Dirichlet prior on the weights.
    pub fn weight_prior(&self) -> &DirichletPrior {
        &self.weight_prior
    }

    /// The mixture weights `π = softmax(a)`.
    pub fn mixture_probs(&self) -> Vec<f64> {
        self.log_mixture_probs().iter().map(|l| l.exp()).collect()
    }

    /// `ln π_k`, computed without forming `π` (no underflow of tiny weights).
    pub fn log_mixture_probs(&self) -> Vec<f64> {
        let lse = log_sum_exp(&self.logits);
        self.logits.iter().map(|a| a - lse).collect()
    }

    /// Log-variance of dimension `j` of component `k` (0 for fixed covariances).
    pub(crate) fn log_var_at(&self, k: usize, j: usize) -> f64 {
        match self.covariance {
            CovarianceType::Diagonal => self.log_var[k * self.dim + j],
            CovarianceType::Isotropic => self.log_var[k],
            _ => 0.0,
        }
    }

    /// The variances `σ²_kj`, `K × d` row-major (an isotropic component repeats its variance;
    /// the covariance matrices are `diag` of the rows).
    pub fn covariance(&self) -> Vec<f64> {
        (0..self.n_components * self.dim)
            .map(|i| self.log_var_at(i / self.dim, i % self.dim).exp())
            .collect()
    }

    /// The standard deviations `σ_kj`, `K × d` row-major.
    pub fn stddev(&self) -> Vec<f64> {
        self.covariance().iter().map(|v| v.sqrt()).collect()
    }

    /// `log p(θ)`: the softball prior of every mean, the Gaussian prior of every log-variance
    /// parameter and the Dirichlet prior of the weights.
    pub fn log_prior(&self) -> f64 {
        let means: f64 = self
            .means
            .chunks_exact(self.dim)
            .map(|m| self.mean_prior.log_prob(m))
            .sum();
        let vars: f64 = match &self.log_var_prior {
            Some(p) => self.log_var.iter().map(|&v| p.log_prob(v)).sum(),
            None => 0.0,
        };
        means
            + vars
            + self
                .weight_prior
                .log_prob_from_log_weights(&self.log_mixture_probs())
    }

    pub(crate) fn cache(&self) -> ComponentCache {
        let (k, d) = (self.n_components, self.dim);
        let mut inv_var = Vec::with_capacity(k * d);
        let mut log_norm = Vec::with_capacity(k);
        for c in 0..k {
            let mut sum_log_var = 0.0;
            for j in 0..d {
                let v = self.log_var_at(c, j);
                sum_log_var += v;
                inv_var.push((-v).exp());
            }
            log_norm.push(-0.5 * d as f64 * (2.0 * PI).ln() - 0.5 * sum_log_var);
        }
        ComponentCache {
            inv_var,
            log_norm,
            log_weights: self.log_mixture_probs(),
        }
    }

    /// `log N(x; μ_k, Σ_k)` for every component into `out` (length `K`).
    pub(crate) fn log_components_row(&self, cache: &ComponentCache, x: &[f64], out: &mut [f64]) {
        let d = self.dim;
        for (k, o) in out.iter_mut().enumerate() {
            let mean = &self.means[k * d..(k + 1) * d];
            let inv = &cache.inv_var[k * d..(k + 1) * d];
            let quad: f64 = x
                .iter()
                .zip(mean)
                .zip(inv)
                .map(|((xi, mi), w)| (xi - mi) * (xi - mi) * w)
                .sum();
            *o = cache.log_norm[k] - 0.5 * quad;
        }
    }

    fn per_row(
        &self,
        x: &Samples,
        mut f: impl FnMut(usize, &[f64], &[f64]) -> Result<(), DgdError>,
    ) -> Result<(), DgdError> {
        x.check_width(self.dim)?;
        let cache = self.cache();
        let mut buf = vec![0.0; self.n_components];
        for (i, row) in x.iter_rows().enumerate() {
            self.log_components_row(&cache, row, &mut buf);
            for (b, lw) in buf.iter_mut().zip(&cache.log_weights) {
                *b += lw;
            }
            f(i, row, &buf)?;
        }
        Ok(())
    }

    /// `log N(x_i; μ_k, Σ_k)`, `n × K` row-major: the component log densities, without the
    /// weights.
    pub fn log_sample_probs(&self, x: &Samples) -> Result<Vec<f64>, DgdError> {
        x.check_width(self.dim)?;
        let cache = self.cache();
        let mut out = vec![0.0; x.rows() * self.n_components];
        for (row, o) in x.iter_rows().zip(out.chunks_exact_mut(self.n_components)) {
            self.log_components_row(&cache, row, o);
        }
        Ok(out)
    }

    /// `N(x_i; μ_k, Σ_k)`, `n × K` row-major: the component densities without the weights.
    pub fn sample_probs(&self, x: &Samples) -> Result<Vec<f64>, DgdError> {
        Ok(self
            .log_sample_probs(x)?
            .into_iter()
            .map(f64::exp)
            .collect())
    }

    /// `log p(x_i | θ) = log Σ_k π_k N(x_i; μ_k, Σ_k)` per sample (the mixture alone, no
    /// parameter prior; scikit-learn's `score_samples`).
    pub fn log_density(&self, x: &Samples) -> Result<Vec<f64>, DgdError> {
        let mut out = Vec::with_capacity(x.rows());
        self.per_row(x, |_, _, joint| {
            out.push(log_sum_exp(joint));
            Ok(())
        })?;
        Ok(out)
    }

    /// multiDGD's `forward`, with the prior counted once per data set: per sample
    /// `−log p(x_i | θ) − log p(θ) / n` with `n` the number of rows of `x`, so that the sum over
    /// the rows is `−log p(x_1…x_n, θ)`.
    pub fn forward(&self, x: &Samples) -> Result<Vec<f64>, DgdError> {
        self.forward_with_total(x, x.rows())
    }

    /// [`GaussianMixturePrior::forward`] for a mini-batch `x` of a data set of `n_total ≥ 1`
    /// samples: per sample `−log p(x_i | θ) − log p(θ) / n_total`.
    pub fn forward_with_total(&self, x: &Samples, n_total: usize) -> Result<Vec<f64>, DgdError> {
        at_least_one("n_total", n_total)?;
        let share = self.log_prior() / n_total as f64;
        Ok(self
            .log_density(x)?
            .into_iter()
            .map(|l| -l - share)
            .collect())
    }

    /// `−forward(x)`: per sample `log p(x_i | θ) + log p(θ) / n`.
    pub fn log_prob(&self, x: &Samples) -> Result<Vec<f64>, DgdError> {
        Ok(self.forward(x)?.into_iter().map(|v| -v).collect())
    }

    /// The MAP objective per sample, `(−Σ_i log p(x_i | θ) − log p(θ)) / n`: the mean of
    /// [`GaussianMixturePrior::forward`], what fitting minimises.
    pub fn objective(&self, x: &Samples) -> Result<f64, DgdError> {
        let f = self.forward(x)?;
        Ok(f.iter().sum::<f64>() / f.len() as f64)
    }

    /// Posterior component probabilities `p(k | x_i) ∝ π_k N(x_i; μ_k, Σ_k)`, `n × K`
    /// row-major (soft assignments, scikit-learn's `predict_proba`).
    pub fn responsibilities(&self, x: &Samples) -> Result<Vec<f64>, DgdError> {
        let mut out = Vec::with_capacity(x.rows() * self.n_components);
        self.per_row(x, |i, _, joint| {
            let lse = log_sum_exp(joint);
            if lse == f64::NEG_INFINITY {
                return Err(DgdError::ZeroDensity { row: i });
            }
            out.extend(joint.iter().map(|l| (l - lse).exp()));
            Ok(())
        })?;
        Ok(out)
    }

    /// The most probable component of each sample, `argmax_k π_k N(x_i; μ_k, Σ_k)` (ties to the
    /// lower index).
    pub fn clustering(&self, x: &Samples) -> Result<Vec<usize>, DgdError> {
        let mut out = Vec::with_capacity(x.rows());
        self.per_row(x, |_, _, joint| {
            out.push(argmax(joint));
            Ok(())
        })?;
        Ok(out)
    }

    /// Draws one point of component `k` into `out` (length `d`).
    pub(crate) fn draw_from<R: Rng + ?Sized>(&self, k: usize, rng: &mut R, out: &mut [f64]) {
        for (j, o) in out.iter_mut().enumerate() {
            let z: f64 = rng.sample(StandardNormal);
            *o = self.means[k * self.dim + j] + (0.5 * self.log_var_at(k, j)).exp() * z;
        }
    }

    /// `n` i.i.d. draws from the mixture (`n × d` row-major) and the component of each.
    pub fn sample_with_components<R: Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
    ) -> (Vec<f64>, Vec<usize>) {
        let weights = self.mixture_probs();
        let mut points = vec![0.0; n * self.dim];
        let mut components = Vec::with_capacity(n);
        for row in points.chunks_exact_mut(self.dim.max(1)) {
            let k = draw_index(&weights, rng);
            self.draw_from(k, rng, row);
            components.push(k);
        }
        (points, components)
    }

    /// `n` i.i.d. draws from the mixture, `n × d` row-major (ancestral: a component from the
    /// weights, then a Gaussian draw).
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Vec<f64> {
        self.sample_with_components(n, rng).0
    }

    /// `n` draws from every component, `[n, K, d]` row-major (entry `(i, k, j)` at
    /// `(i·K + k)·d + j`).
    pub fn component_sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Vec<f64> {
        let mut out = vec![0.0; n * self.n_components * self.dim];
        for (i, row) in out.chunks_exact_mut(self.dim).enumerate() {
            self.draw_from(i % self.n_components, rng, row);
        }
        out
    }

    /// Candidate starting representations for new data: the `K` means (`Mean`; `n` is
    /// ignored) or `n` draws from every component, `n·K` rows (`Sample`); `rows × d` row-major.
    pub fn sample_new_points<R: Rng + ?Sized>(
        &self,
        kind: ResampleType,
        n: usize,
        rng: &mut R,
    ) -> Vec<f64> {
        match kind {
            ResampleType::Mean => self.means.clone(),
            ResampleType::Sample => self.component_sample(n, rng),
        }
    }
}

/// The three priors of a configuration, validated.
pub(crate) fn priors_of(
    config: &GmmPriorConfig,
) -> Result<(SoftballPrior, Option<LogVariancePrior>, DirichletPrior), DgdError> {
    check_covariance(config.covariance)?;
    at_least_one("n_components", config.n_components)?;
    let mean_prior =
        SoftballPrior::new(config.dim, config.softball_radius, config.softball_hardness)?;
    // Validated even for fixed covariances: sd_mean is the initial σ of the other types.
    positive("sd_mean", config.sd_mean)?;
    let log_var_prior = match config.covariance {
        CovarianceType::Fixed => None,
        _ => Some(LogVariancePrior::from_sd_moments(
            config.sd_mean,
            config.sd_sd,
        )?),
    };
    let weight_prior = DirichletPrior::new(config.n_components, config.dirichlet_alpha)?;
    Ok((mean_prior, log_var_prior, weight_prior))
}

fn check_covariance(covariance: CovarianceType) -> Result<(), DgdError> {
    match covariance {
        CovarianceType::Full => Err(DgdError::UnsupportedCovariance(covariance)),
        _ => Ok(()),
    }
}

/// Length of the log-variance parameter vector.
pub(crate) fn log_var_len(covariance: CovarianceType, k: usize, d: usize) -> usize {
    match covariance {
        CovarianceType::Diagonal => k * d,
        CovarianceType::Isotropic => k,
        _ => 0,
    }
}

/// Index of the largest value (the first of ties).
pub(crate) fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

/// An index drawn with probabilities `weights` (summing to 1).
pub(crate) fn draw_index<R: Rng + ?Sized>(weights: &[f64], rng: &mut R) -> usize {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w;
        if u < acc {
            return i;
        }
    }
    // Rounding can leave the total a hair below 1: the last positive weight takes the rest.
    weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
}
