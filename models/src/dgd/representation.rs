//! [`RepresentationLayer`]: multiDGD's free per-sample latent vectors, and
//! [`fit_representations`], which trains them jointly with the mixture prior under a decoder
//! loss supplied by the caller.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::error::{DgdError, at_least_one, check_vector};
use super::fit::{FitProgress, optimizer};
use super::gradient::PriorGradient;
use super::mixture::GaussianMixturePrior;
use crate::optim::Method;
use crate::samples::Samples;

/// `n_samples` free latent vectors of dimension `dim` (row-major), one per data sample: the
/// DGD has no encoder, so each sample's representation is a parameter learned by gradient
/// descent.
#[derive(Clone, Debug, PartialEq)]
pub struct RepresentationLayer {
    n_samples: usize,
    dim: usize,
    values: Vec<f64>,
}

impl RepresentationLayer {
    /// Every representation at the origin (multiDGD's default `'zero'`).
    pub fn zeros(n_samples: usize, dim: usize) -> Result<RepresentationLayer, DgdError> {
        RepresentationLayer::filled(n_samples, dim, 0.0)
    }

    /// Every coordinate of every representation equal to `value` (finite).
    pub fn filled(
        n_samples: usize,
        dim: usize,
        value: f64,
    ) -> Result<RepresentationLayer, DgdError> {
        at_least_one("n_samples", n_samples)?;
        at_least_one("dim", dim)?;
        if !value.is_finite() {
            return Err(DgdError::InvalidParameter {
                field: "value",
                value,
                reason: "must be finite",
            });
        }
        Ok(RepresentationLayer {
            n_samples,
            dim,
            values: vec![value; n_samples * dim],
        })
    }

    /// Representations from a finite `n_samples × dim` row-major matrix (e.g. points from
    /// [`GaussianMixturePrior::sample_new_points`]).
    pub fn from_matrix(
        n_samples: usize,
        dim: usize,
        values: Vec<f64>,
    ) -> Result<RepresentationLayer, DgdError> {
        at_least_one("n_samples", n_samples)?;
        at_least_one("dim", dim)?;
        check_vector("values", &values, n_samples * dim)?;
        Ok(RepresentationLayer {
            n_samples,
            dim,
            values,
        })
    }

    /// Number of representations.
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// Dimension of each representation.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// All representations, row-major.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The representation of sample `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }

    /// The representations as a data matrix (e.g. to score or cluster them with the prior).
    pub fn to_samples(&self) -> Samples {
        Samples::new(self.values.clone(), self.dim)
            .expect("representations are non-empty and finite by construction")
    }

    fn gather(&self, rows: &[usize]) -> Vec<f64> {
        rows.iter()
            .flat_map(|&i| self.row(i).iter().copied())
            .collect()
    }
}

/// The per-sample loss that drives the representations besides the prior — in multiDGD the
/// decoder's reconstruction loss. Implemented for closures
/// `FnMut(&[usize], &[f64], &mut [f64]) -> Result<f64, String>`.
pub trait RepresentationLoss {
    /// For the samples `rows` with representations `z` (`rows.len() × dim`, row `r` belongs
    /// to sample `rows[r]`), returns `Σ_r ℓ_{rows[r]}(z_r)` and writes `∂/∂z` into `grad` (same
    /// shape, zero on entry). A decoder with parameters of its own may update them here, once
    /// per call, as multiDGD steps its decoder once per mini-batch.
    fn loss_and_gradient(
        &mut self,
        rows: &[usize],
        z: &[f64],
        grad: &mut [f64],
    ) -> Result<f64, String>;
}

impl<F> RepresentationLoss for F
where
    F: FnMut(&[usize], &[f64], &mut [f64]) -> Result<f64, String>,
{
    fn loss_and_gradient(
        &mut self,
        rows: &[usize],
        z: &[f64],
        grad: &mut [f64],
    ) -> Result<f64, String> {
        self(rows, z, grad)
    }
}

/// Settings of [`fit_representations`].
#[derive(Clone, Debug, PartialEq)]
pub struct RepresentationFitOptions {
    /// Learning rate of the representations (multiDGD: 1e-2).
    pub representation_lr: f64,
    /// Learning rate of the mixture prior (multiDGD: 1e-2).
    pub prior_lr: f64,
    /// Factor applied to both learning rates after every epoch, in (0, 1] (1: constant).
    pub lr_decay: f64,
    /// Passes over the samples (at least 1).
    pub epochs: usize,
    /// Samples per mini-batch (at least 1).
    pub batch_size: usize,
    /// Seed of the ChaCha8 generator that shuffles the samples every epoch.
    pub seed: u64,
    /// Update rule of both optimisers ([`Method::adam`] by default).
    pub method: Method,
    /// Whether the prior's parameters are trained too (`false`: representations only, as when
    /// multiDGD maps new data onto a trained model).
    pub train_prior: bool,
}

impl Default for RepresentationFitOptions {
    fn default() -> RepresentationFitOptions {
        RepresentationFitOptions {
            representation_lr: 1e-2,
            prior_lr: 1e-2,
            lr_decay: 1.0,
            epochs: 100,
            batch_size: 128,
            seed: 0,
            method: Method::adam(),
            train_prior: true,
        }
    }
}

/// The outcome of [`fit_representations`].
#[derive(Clone, Debug, PartialEq)]
pub struct RepresentationReport {
    /// Epochs run.
    pub epochs: usize,
    /// Per epoch, the objective per sample accumulated over its mini-batches (each batch
    /// scored with the prior as it was at that batch, as multiDGD logs its losses).
    pub history: Vec<f64>,
    /// After the last epoch: the decoder loss summed over all samples.
    pub final_loss: f64,
    /// After the last epoch: `−Σ_i log p(z_i | θ)`.
    pub final_prior_nll: f64,
    /// After the last epoch: the objective per sample
    /// `(final_loss + final_prior_nll − log p(θ)) / N`.
    pub final_objective: f64,
}

/// Trains the representations (and, with `train_prior`, the prior) to minimise
/// `(Σ_i ℓ_i(z_i) − Σ_i log p(z_i | θ) − log p(θ)) / N`, multiDGD's DGD objective with the prior
/// counted once.
///
/// As in multiDGD, every epoch visits the samples in shuffled mini-batches; after each batch
/// the prior takes one optimiser step on the batch's unbiased gradient estimate, while the
/// representations' gradients (`∂ℓ_i/∂z_i − ∂ log p(z_i | θ)/∂z_i`, each sample's own) are
/// collected over the epoch and applied in one step at its end. `progress` is called after
/// every epoch. On error, the layer and prior keep their last good values.
pub fn fit_representations(
    layer: &mut RepresentationLayer,
    prior: &mut GaussianMixturePrior,
    loss: &mut impl RepresentationLoss,
    options: &RepresentationFitOptions,
    mut progress: impl FnMut(&FitProgress),
) -> Result<RepresentationReport, DgdError> {
    if layer.dim != prior.dim() {
        return Err(DgdError::Shape {
            field: "representation dim",
            expected: prior.dim(),
            found: layer.dim,
        });
    }
    at_least_one("epochs", options.epochs)?;
    at_least_one("batch_size", options.batch_size)?;
    let (n, d) = (layer.n_samples, layer.dim);
    let mut rep_opt = optimizer(
        "representation_lr",
        options.representation_lr,
        options.lr_decay,
        1,
        options.method,
    )?;
    let mut prior_opt = optimizer(
        "prior_lr",
        options.prior_lr,
        options.lr_decay,
        n.div_ceil(options.batch_size),
        options.method,
    )?;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut order: Vec<usize> = (0..n).collect();
    let mut prior_params = prior.flat_parameters();
    let mut history = Vec::with_capacity(options.epochs);
    for epoch in 0..options.epochs {
        order.shuffle(&mut rng);
        let mut rep_grad = vec![0.0; n * d];
        let mut epoch_total = 0.0;
        for batch in order.chunks(options.batch_size) {
            let (value, batch_grad) = batch_terms(layer, prior, loss, batch, options.train_prior)?;
            epoch_total += value;
            for (r, &i) in batch.iter().enumerate() {
                let (dst, src) = (&mut rep_grad[i * d..(i + 1) * d], &batch_grad.0[r * d..]);
                dst.iter_mut().zip(src).for_each(|(a, b)| *a += b);
            }
            if options.train_prior {
                let mut grad = batch_grad.1;
                prior.accumulate_prior(1.0 / n as f64, &mut grad);
                step(&mut prior_opt, &mut prior_params, &grad.to_flat(), epoch)?;
                prior.set_flat_parameters(&prior_params);
            }
        }
        let mut values = layer.values.clone();
        step(&mut rep_opt, &mut values, &rep_grad, epoch)?;
        layer.values = values;
        let objective = (epoch_total - prior.log_prior()) / n as f64;
        history.push(objective);
        progress(&FitProgress {
            epoch: epoch + 1,
            epochs: options.epochs,
            objective,
        });
    }
    let all: Vec<usize> = (0..n).collect();
    let z = layer.to_samples();
    let mut unused = PriorGradient::zeros(prior);
    let final_prior_nll = prior.accumulate_rows(
        &z,
        &all,
        &vec![0..prior.n_components(); n],
        0.0,
        &mut unused,
        None,
    )?;
    let mut scratch = vec![0.0; n * d];
    let final_loss = call_loss(loss, &all, layer.values(), &mut scratch)?;
    Ok(RepresentationReport {
        epochs: options.epochs,
        history,
        final_loss,
        final_prior_nll,
        final_objective: (final_loss + final_prior_nll - prior.log_prior()) / n as f64,
    })
}

/// One mini-batch: the summed decoder loss and prior negative log density, the gradient with
/// respect to the batch's representations (`batch.len() × d`) and, when `with_prior_grad`, the
/// prior's gradient averaged over the batch (without the parameter prior's term; zero
/// otherwise).
fn batch_terms(
    layer: &RepresentationLayer,
    prior: &GaussianMixturePrior,
    loss: &mut impl RepresentationLoss,
    batch: &[usize],
    with_prior_grad: bool,
) -> Result<(f64, (Vec<f64>, PriorGradient)), DgdError> {
    let d = layer.dim;
    let z = layer.gather(batch);
    let mut gz = vec![0.0; z.len()];
    let decoder = call_loss(loss, batch, &z, &mut gz)?;
    let zs = Samples::new(z, d)?;
    let rows: Vec<usize> = (0..batch.len()).collect();
    let ranges = vec![0..prior.n_components(); batch.len()];
    let mut grad = PriorGradient::zeros(prior);
    let weight = if with_prior_grad {
        1.0 / batch.len() as f64
    } else {
        0.0
    };
    let nll = prior
        .accumulate_rows(&zs, &rows, &ranges, weight, &mut grad, Some(&mut gz))
        .map_err(|e| match e {
            DgdError::ZeroDensity { row } => DgdError::ZeroDensity { row: batch[row] },
            other => other,
        })?;
    Ok((decoder + nll, (gz, grad)))
}

/// Calls the user's loss and checks what it returns.
fn call_loss(
    loss: &mut impl RepresentationLoss,
    rows: &[usize],
    z: &[f64],
    grad: &mut [f64],
) -> Result<f64, DgdError> {
    let value = loss
        .loss_and_gradient(rows, z, grad)
        .map_err(|reason| DgdError::LossHook { reason })?;
    if !value.is_finite() {
        return Err(DgdError::LossNonFinite {
            what: "loss",
            row: rows.first().copied().unwrap_or(0),
            col: 0,
            value,
        });
    }
    let d = z.len() / rows.len().max(1);
    if let Some(i) = grad.iter().position(|g| !g.is_finite()) {
        return Err(DgdError::LossNonFinite {
            what: "gradient",
            row: rows[i / d],
            col: i % d,
            value: grad[i],
        });
    }
    Ok(value)
}

/// One optimiser step with divergence checks.
fn step(
    opt: &mut crate::optim::Optimizer,
    params: &mut Vec<f64>,
    grad: &[f64],
    epoch: usize,
) -> Result<(), DgdError> {
    if grad.iter().any(|g| !g.is_finite()) {
        return Err(DgdError::Diverged {
            epoch,
            what: "the gradient",
        });
    }
    let mut next = params.clone();
    opt.step(&mut next, grad).map_err(|e| DgdError::Optimizer {
        field: "method",
        reason: e.to_string(),
    })?;
    if next.iter().any(|p| !p.is_finite()) {
        return Err(DgdError::Diverged {
            epoch,
            what: "a parameter",
        });
    }
    *params = next;
    Ok(())
}
