//! MAP fitting of a [`GaussianMixturePrior`] by mini-batch gradient descent with the project's
//! [`Optimizer`] (Adam by default), as multiDGD trains its mixture.

use std::ops::Range;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::error::{DgdError, at_least_one, positive};
use super::gradient::PriorGradient;
use super::mixture::GaussianMixturePrior;
use crate::optim::{LrSchedule, Method, Optimizer};
use crate::samples::Samples;

/// Settings of [`GaussianMixturePrior::fit`] (and of the supervised fit).
#[derive(Clone, Debug, PartialEq)]
pub struct FitOptions {
    /// Initial learning rate (positive; multiDGD's mixture learning rate is 1e-2).
    pub learning_rate: f64,
    /// Factor applied to the learning rate after every epoch, in (0, 1] (1: constant).
    pub lr_decay: f64,
    /// Passes over the data (at least 1).
    pub epochs: usize,
    /// Samples per step (at least 1; a batch larger than the data is the whole data set).
    pub batch_size: usize,
    /// Seed of the ChaCha8 generator that shuffles the samples every epoch.
    pub seed: u64,
    /// The update rule ([`Method::adam`] by default).
    pub method: Method,
}

impl Default for FitOptions {
    fn default() -> FitOptions {
        FitOptions {
            learning_rate: 1e-2,
            lr_decay: 1.0,
            epochs: 100,
            batch_size: 128,
            seed: 0,
            method: Method::adam(),
        }
    }
}

impl FitOptions {
    /// Checks every setting; the error names the field.
    pub fn validate(&self) -> Result<(), DgdError> {
        self.optimizer(1)?;
        at_least_one("epochs", self.epochs)?;
        at_least_one("batch_size", self.batch_size)?;
        Ok(())
    }

    /// A fresh optimiser with these settings for `steps_per_epoch` steps per epoch.
    pub(crate) fn optimizer(&self, steps_per_epoch: usize) -> Result<Optimizer, DgdError> {
        optimizer(
            "learning_rate",
            self.learning_rate,
            self.lr_decay,
            steps_per_epoch,
            self.method,
        )
    }
}

/// An optimiser whose learning rate starts at `rate` and is multiplied by `decay` every
/// `steps_per_epoch` steps, after checking both; `field` names the rate.
pub(crate) fn optimizer(
    field: &'static str,
    rate: f64,
    decay: f64,
    steps_per_epoch: usize,
    method: Method,
) -> Result<Optimizer, DgdError> {
    positive(field, rate)?;
    if !(decay > 0.0 && decay <= 1.0) {
        return Err(DgdError::InvalidParameter {
            field: "lr_decay",
            value: decay,
            reason: "must be in (0, 1]",
        });
    }
    let schedule = LrSchedule::Step {
        initial: rate,
        factor: decay,
        every: steps_per_epoch.max(1) as u64,
    };
    Optimizer::new(method, schedule).map_err(|e| DgdError::Optimizer {
        field: "method",
        reason: e.to_string(),
    })
}

/// What the progress callback sees after every epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct FitProgress {
    /// Epochs completed (1-based).
    pub epoch: usize,
    /// Epochs asked for.
    pub epochs: usize,
    /// The objective per sample on the whole data set after this epoch.
    pub objective: f64,
}

/// The outcome of a fit.
#[derive(Clone, Debug, PartialEq)]
pub struct FitReport {
    /// Epochs run.
    pub epochs: usize,
    /// Optimiser steps taken.
    pub steps: u64,
    /// The objective per sample before the first step.
    pub initial_objective: f64,
    /// The objective per sample after every epoch (`history.last()` is the final one).
    pub history: Vec<f64>,
}

impl FitReport {
    /// The objective per sample after the last epoch.
    pub fn final_objective(&self) -> f64 {
        *self.history.last().unwrap_or(&self.initial_objective)
    }
}

impl GaussianMixturePrior {
    /// Fits the mixture to `x` by MAP: minimises the objective per sample
    /// `(−Σ_i log p(x_i | θ) − log p(θ)) / N` ([`GaussianMixturePrior::objective`]) with
    /// mini-batch steps of the unbiased gradient
    /// [`GaussianMixturePrior::gradient_with_total`]. `progress` is called after every
    /// epoch. On error the mixture keeps the parameters of the last good step.
    ///
    /// Like EM, gradient descent finds local optima (e.g. one broad component covering two
    /// clusters); the result depends on the initial means. Full batches (`batch_size ≥ N`) with
    /// a decaying learning rate reach a stationary point; with mini-batches Adam settles close
    /// to it but not exactly, since its per-coordinate normalisation is not linear in the
    /// fluctuating batch gradients.
    pub fn fit(
        &mut self,
        x: &Samples,
        options: &FitOptions,
        progress: impl FnMut(&FitProgress),
    ) -> Result<FitReport, DgdError> {
        x.check_width(self.dim)?;
        let all = 0..self.n_components;
        run_fit(self, x, &|_| all.clone(), options, progress)
    }
}

/// The fitting loop shared by the unsupervised and supervised mixtures: `allowed(i)` is the
/// range of components sample `i` may belong to, and the objective is
/// `(Σ_i −ln Σ_{k∈allowed(i)} π_k N(x_i; k) − log p(θ)) / N`.
pub(crate) fn run_fit(
    prior: &mut GaussianMixturePrior,
    x: &Samples,
    allowed: &dyn Fn(usize) -> Range<usize>,
    options: &FitOptions,
    mut progress: impl FnMut(&FitProgress),
) -> Result<FitReport, DgdError> {
    options.validate()?;
    let n = x.rows();
    let mut optimizer = options.optimizer(n.div_ceil(options.batch_size))?;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut order: Vec<usize> = (0..n).collect();
    let initial_objective = objective(prior, x, allowed, 0)?;
    let mut history = Vec::with_capacity(options.epochs);
    let mut params = prior.flat_parameters();
    for epoch in 0..options.epochs {
        order.shuffle(&mut rng);
        for batch in order.chunks(options.batch_size) {
            let ranges: Vec<Range<usize>> = batch.iter().map(|&i| allowed(i)).collect();
            let mut grad = PriorGradient::zeros(prior);
            prior.accumulate_rows(x, batch, &ranges, 1.0 / batch.len() as f64, &mut grad, None)?;
            prior.accumulate_prior(1.0 / n as f64, &mut grad);
            let flat = grad.to_flat();
            if flat.iter().any(|g| !g.is_finite()) {
                return Err(DgdError::Diverged {
                    epoch,
                    what: "the gradient",
                });
            }
            optimizer
                .step(&mut params, &flat)
                .map_err(|e| DgdError::Optimizer {
                    field: "method",
                    reason: e.to_string(),
                })?;
            if params.iter().any(|p| !p.is_finite()) {
                return Err(DgdError::Diverged {
                    epoch,
                    what: "a parameter",
                });
            }
            prior.set_flat_parameters(&params);
        }
        let value = objective(prior, x, allowed, epoch)?;
        history.push(value);
        progress(&FitProgress {
            epoch: epoch + 1,
            epochs: options.epochs,
            objective: value,
        });
    }
    Ok(FitReport {
        epochs: options.epochs,
        steps: optimizer.steps(),
        initial_objective,
        history,
    })
}

/// The objective per sample with each sample restricted to its allowed components.
pub(crate) fn objective(
    prior: &GaussianMixturePrior,
    x: &Samples,
    allowed: &dyn Fn(usize) -> Range<usize>,
    epoch: usize,
) -> Result<f64, DgdError> {
    let rows: Vec<usize> = (0..x.rows()).collect();
    let ranges: Vec<Range<usize>> = rows.iter().map(|&i| allowed(i)).collect();
    // The gradient is discarded: one routine computes the restricted densities for both.
    let mut scratch = PriorGradient::zeros(prior);
    let total = prior.accumulate_rows(x, &rows, &ranges, 0.0, &mut scratch, None)?;
    let value = (total - prior.log_prior()) / x.rows() as f64;
    if !value.is_finite() {
        return Err(DgdError::Diverged {
            epoch,
            what: "the objective",
        });
    }
    Ok(value)
}
