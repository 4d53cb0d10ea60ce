//! [`SupervisedGaussianMixturePrior`]: multiDGD's `GaussianMixtureSupervised`, a mixture whose
//! components are split among classes, scored with labels where known.

use std::ops::Range;

use rand::Rng;

use super::error::{DgdError, at_least_one};
use super::fit::{FitOptions, FitReport, run_fit};
use super::gradient::PriorGradient;
use super::mixture::{GaussianMixturePrior, GmmPriorConfig, argmax, draw_index};
use super::special::log_sum_exp;
use crate::expfam::CovarianceType;
use crate::samples::Samples;

/// How [`SupervisedGaussianMixturePrior::supervised_sampling`] picks a point of a class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SupervisedSampleType {
    /// A component of the class drawn with the within-class probabilities, then a Gaussian
    /// draw from it (multiDGD's `'random'`).
    Random,
    /// The mean of the class's most probable component (multiDGD's `'origin'`).
    Origin,
}

/// A mixture of `n_class · per_class` components in which class `c` owns components
/// `c·per_class .. (c+1)·per_class` (multiDGD's `view(Nclass, Ncpc)` layout).
///
/// The classes are a partition of the components, so the mixture defines a joint model of
/// a point and its class: `p(x, c | θ) = Σ_{k∈c} π_k N(x; μ_k, Σ_k)`. A labelled sample is
/// scored by `−log p(x, c | θ)` (only its class's components), an unlabelled one by
/// `−log p(x | θ) = −log Σ_c p(x, c | θ)` (all components); the prior is counted once per data set
/// as in the unsupervised mixture. Gradients are those of the unsupervised mixture with the
/// responsibilities restricted to the allowed components.
#[derive(Clone, Debug, PartialEq)]
pub struct SupervisedGaussianMixturePrior {
    mixture: GaussianMixturePrior,
    n_class: usize,
    per_class: usize,
}

impl SupervisedGaussianMixturePrior {
    /// multiDGD's supervised defaults for `n_class` classes of `per_class` components in `dim`
    /// dimensions: [`GmmPriorConfig::new`] with isotropic covariances (its supervised default).
    pub fn default_config(n_class: usize, per_class: usize, dim: usize) -> GmmPriorConfig {
        let mut config = GmmPriorConfig::new(n_class.saturating_mul(per_class), dim);
        config.covariance = CovarianceType::Isotropic;
        config
    }

    /// A new supervised mixture initialised like [`GaussianMixturePrior::new`];
    /// `config.n_components` must equal `n_class · per_class`.
    pub fn new(
        n_class: usize,
        per_class: usize,
        config: &GmmPriorConfig,
        seed: u64,
    ) -> Result<SupervisedGaussianMixturePrior, DgdError> {
        check_classes(n_class, per_class, config.n_components)?;
        SupervisedGaussianMixturePrior::from_mixture(
            n_class,
            per_class,
            GaussianMixturePrior::new(config, seed)?,
        )
    }

    /// Wraps a mixture of `n_class · per_class` components.
    pub fn from_mixture(
        n_class: usize,
        per_class: usize,
        mixture: GaussianMixturePrior,
    ) -> Result<SupervisedGaussianMixturePrior, DgdError> {
        check_classes(n_class, per_class, mixture.n_components())?;
        Ok(SupervisedGaussianMixturePrior {
            mixture,
            n_class,
            per_class,
        })
    }

    /// The underlying mixture (densities, assignments and sampling without labels).
    pub fn mixture(&self) -> &GaussianMixturePrior {
        &self.mixture
    }

    /// The underlying mixture, mutably (e.g. to set parameters).
    pub fn mixture_mut(&mut self) -> &mut GaussianMixturePrior {
        &mut self.mixture
    }

    /// Number of classes.
    pub fn n_class(&self) -> usize {
        self.n_class
    }

    /// Components per class.
    pub fn per_class(&self) -> usize {
        self.per_class
    }

    /// The components of class `c` (not checked: `c < n_class`).
    pub fn class_components(&self, c: usize) -> Range<usize> {
        c * self.per_class..(c + 1) * self.per_class
    }

    /// The class that owns component `k`.
    pub fn class_of_component(&self, k: usize) -> usize {
        k / self.per_class
    }

    /// The within-class probabilities `π_k / Σ_{j∈c} π_j` of class `c`'s components (the
    /// softmax of their logits).
    pub fn label_mixture_probs(&self, c: usize) -> Result<Vec<f64>, DgdError> {
        self.check_label(0, c)?;
        let logits = &self.mixture.weight_logits()[self.class_components(c)];
        let lse = log_sum_exp(logits);
        Ok(logits.iter().map(|a| (a - lse).exp()).collect())
    }

    /// The class probabilities `P(c) = Σ_{k∈c} π_k`.
    pub fn class_probs(&self) -> Vec<f64> {
        self.mixture
            .mixture_probs()
            .chunks_exact(self.per_class)
            .map(|w| w.iter().sum())
            .collect()
    }

    fn check_label(&self, row: usize, label: usize) -> Result<(), DgdError> {
        if label >= self.n_class {
            return Err(DgdError::Label {
                row,
                label,
                n_class: self.n_class,
            });
        }
        Ok(())
    }

    /// The allowed component range of every sample, after checking the labels.
    fn ranges(&self, x: &Samples, labels: &[Option<usize>]) -> Result<Vec<Range<usize>>, DgdError> {
        x.check_width(self.mixture.dim())?;
        if labels.len() != x.rows() {
            return Err(DgdError::LabelCount {
                expected: x.rows(),
                found: labels.len(),
            });
        }
        labels
            .iter()
            .enumerate()
            .map(|(row, label)| match label {
                Some(c) => self
                    .check_label(row, *c)
                    .map(|()| self.class_components(*c)),
                None => Ok(0..self.mixture.n_components()),
            })
            .collect()
    }

    /// Per sample `−log p(x_i, c_i | θ) − log p(θ)/n` for a labelled sample and
    /// `−log p(x_i | θ) − log p(θ)/n` for an unlabelled one (`None`), `n` the number of rows.
    pub fn forward(&self, x: &Samples, labels: &[Option<usize>]) -> Result<Vec<f64>, DgdError> {
        self.forward_with_total(x, labels, x.rows())
    }

    /// [`SupervisedGaussianMixturePrior::forward`] for a mini-batch of a data set of
    /// `n_total ≥ 1` samples.
    pub fn forward_with_total(
        &self,
        x: &Samples,
        labels: &[Option<usize>],
        n_total: usize,
    ) -> Result<Vec<f64>, DgdError> {
        at_least_one("n_total", n_total)?;
        let ranges = self.ranges(x, labels)?;
        let share = self.mixture.log_prior() / n_total as f64;
        let cache = self.mixture.cache();
        let mut logs = vec![0.0; self.mixture.n_components()];
        let mut out = Vec::with_capacity(x.rows());
        for (row, range) in x.iter_rows().zip(ranges) {
            self.mixture.log_components_row(&cache, row, &mut logs);
            let allowed: Vec<f64> = range.map(|k| logs[k] + cache.log_weights[k]).collect();
            out.push(-log_sum_exp(&allowed) - share);
        }
        Ok(out)
    }

    /// `−forward(x, labels)`.
    pub fn log_prob(&self, x: &Samples, labels: &[Option<usize>]) -> Result<Vec<f64>, DgdError> {
        Ok(self.forward(x, labels)?.into_iter().map(|v| -v).collect())
    }

    /// The objective per sample, the mean of [`SupervisedGaussianMixturePrior::forward`].
    pub fn objective(&self, x: &Samples, labels: &[Option<usize>]) -> Result<f64, DgdError> {
        let f = self.forward(x, labels)?;
        Ok(f.iter().sum::<f64>() / f.len() as f64)
    }

    /// The gradient of [`SupervisedGaussianMixturePrior::objective`] with respect to the
    /// mixture's parameters.
    pub fn gradient(
        &self,
        x: &Samples,
        labels: &[Option<usize>],
    ) -> Result<PriorGradient, DgdError> {
        let ranges = self.ranges(x, labels)?;
        let rows: Vec<usize> = (0..x.rows()).collect();
        let mut grad = PriorGradient::zeros(&self.mixture);
        let scale = 1.0 / x.rows() as f64;
        self.mixture
            .accumulate_rows(x, &rows, &ranges, scale, &mut grad, None)?;
        self.mixture.accumulate_prior(scale, &mut grad);
        Ok(grad)
    }

    /// Fits by MAP on labelled, unlabelled or mixed data (see
    /// [`GaussianMixturePrior::fit`]); on error the mixture keeps its last good parameters.
    pub fn fit(
        &mut self,
        x: &Samples,
        labels: &[Option<usize>],
        options: &FitOptions,
        progress: impl FnMut(&super::fit::FitProgress),
    ) -> Result<FitReport, DgdError> {
        let ranges = self.ranges(x, labels)?;
        run_fit(
            &mut self.mixture,
            x,
            &|i| ranges[i].clone(),
            options,
            progress,
        )
    }

    /// The most probable class of each sample, `argmax_c p(x_i, c | θ)`.
    pub fn predict_class(&self, x: &Samples) -> Result<Vec<usize>, DgdError> {
        let resp = self.mixture.responsibilities(x)?;
        Ok(resp
            .chunks_exact(self.mixture.n_components())
            .map(|r| {
                let by_class: Vec<f64> = r
                    .chunks_exact(self.per_class)
                    .map(|c| c.iter().sum())
                    .collect();
                argmax(&by_class)
            })
            .collect())
    }

    /// One point of class `labels[i]` per label, `labels.len() × d` row-major (see
    /// [`SupervisedSampleType`]).
    pub fn supervised_sampling<R: Rng + ?Sized>(
        &self,
        labels: &[usize],
        kind: SupervisedSampleType,
        rng: &mut R,
    ) -> Result<Vec<f64>, DgdError> {
        for (row, &c) in labels.iter().enumerate() {
            self.check_label(row, c)?;
        }
        let d = self.mixture.dim();
        let within: Vec<Vec<f64>> = (0..self.n_class)
            .map(|c| self.label_mixture_probs(c))
            .collect::<Result<_, _>>()?;
        let mut out = vec![0.0; labels.len() * d];
        for (row, &c) in out.chunks_exact_mut(d).zip(labels) {
            let start = self.class_components(c).start;
            match kind {
                SupervisedSampleType::Random => {
                    let k = start + draw_index(&within[c], rng);
                    self.mixture.draw_from(k, rng, row);
                }
                SupervisedSampleType::Origin => {
                    row.copy_from_slice(self.mixture.mean(start + argmax(&within[c])));
                }
            }
        }
        Ok(out)
    }
}

fn check_classes(n_class: usize, per_class: usize, n_components: usize) -> Result<(), DgdError> {
    at_least_one("n_class", n_class)?;
    at_least_one("per_class", per_class)?;
    if n_class.checked_mul(per_class) != Some(n_components) {
        return Err(DgdError::InvalidCount {
            field: "n_components",
            value: n_components,
            reason: "must equal n_class · per_class",
        });
    }
    Ok(())
}
