//! First-order optimisers (SGD, momentum, Adam) with learning-rate schedules, and their
//! application to the parameters of an [`IsingEBM`] from a [`KlGrad`].
//!
//! Every optimiser minimises: a step moves parameters against the gradient. With the sign
//! convention of [`crate::training`], stepping on a [`KlGrad`] raises the likelihood.

use crate::ising::{IsingEBM, IsingError, check_len, invalid};
use crate::training::KlGrad;

/// Learning rate as a function of the step number t = 0, 1, 2, …
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LrSchedule {
    /// η_t = η.
    Constant(f64),
    /// η_t = η₀ · decay^t.
    Exponential {
        /// Initial rate η₀.
        initial: f64,
        /// Factor per step, in (0, 1].
        decay: f64,
    },
    /// η_t = η₀ · factor^⌊t / every⌋.
    Step {
        /// Initial rate η₀.
        initial: f64,
        /// Factor applied every `every` steps, in (0, 1].
        factor: f64,
        /// Steps between reductions (≥ 1).
        every: u64,
    },
}

impl LrSchedule {
    /// The learning rate at step `t`.
    pub fn rate(&self, t: u64) -> f64 {
        match *self {
            LrSchedule::Constant(lr) => lr,
            LrSchedule::Exponential { initial, decay } => initial * decay.powf(t as f64),
            LrSchedule::Step {
                initial,
                factor,
                every,
            } => initial * factor.powf((t / every.max(1)) as f64),
        }
    }

    fn validate(&self) -> Result<(), IsingError> {
        let (lr, factor) = match *self {
            LrSchedule::Constant(lr) => (lr, 1.0),
            LrSchedule::Exponential { initial, decay } => (initial, decay),
            LrSchedule::Step {
                initial,
                factor,
                every,
            } => {
                if every == 0 {
                    return Err(invalid("lr.every", "must be at least 1"));
                }
                (initial, factor)
            }
        };
        if !(lr > 0.0 && lr.is_finite()) {
            return Err(invalid("lr", format!("{lr} must be positive and finite")));
        }
        if !(factor > 0.0 && factor <= 1.0) {
            return Err(invalid("lr.decay", format!("{factor} must be in (0, 1]")));
        }
        Ok(())
    }
}

/// The update rule of an [`Optimizer`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    /// θ ← θ − η g.
    Sgd,
    /// Heavy-ball momentum: v ← μ v + g; θ ← θ − η v.
    Momentum {
        /// μ in [0, 1).
        mu: f64,
    },
    /// Adam (Kingma & Ba): m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
    /// θ ← θ − η m̂ / (√v̂ + ε) with bias-corrected m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).
    Adam {
        /// β₁ in [0, 1) (0.9 usually).
        beta1: f64,
        /// β₂ in [0, 1) (0.999 usually).
        beta2: f64,
        /// ε > 0 (1e-8 usually).
        eps: f64,
    },
}

impl Method {
    /// Adam with the usual constants β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
    pub fn adam() -> Method {
        Method::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// A stateful first-order optimiser over a fixed-length parameter vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Optimizer {
    method: Method,
    lr: LrSchedule,
    t: u64,
    m: Vec<f64>,
    v: Vec<f64>,
}

impl Optimizer {
    /// An optimiser with `method` and learning-rate schedule `lr`; checks their ranges.
    pub fn new(method: Method, lr: LrSchedule) -> Result<Optimizer, IsingError> {
        lr.validate()?;
        match method {
            Method::Sgd => {}
            Method::Momentum { mu } => {
                if !(0.0..1.0).contains(&mu) {
                    return Err(invalid("mu", format!("{mu} must be in [0, 1)")));
                }
            }
            Method::Adam { beta1, beta2, eps } => {
                if !(0.0..1.0).contains(&beta1) {
                    return Err(invalid("beta1", format!("{beta1} must be in [0, 1)")));
                }
                if !(0.0..1.0).contains(&beta2) {
                    return Err(invalid("beta2", format!("{beta2} must be in [0, 1)")));
                }
                if !(eps > 0.0 && eps.is_finite()) {
                    return Err(invalid("eps", format!("{eps} must be positive")));
                }
            }
        }
        Ok(Optimizer {
            method,
            lr,
            t: 0,
            m: Vec::new(),
            v: Vec::new(),
        })
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// The learning rate the next step will use.
    pub fn current_rate(&self) -> f64 {
        self.lr.rate(self.t)
    }

    /// One step on `params` against `grads` (same length, finite; the length is fixed by the
    /// first step).
    pub fn step(&mut self, params: &mut [f64], grads: &[f64]) -> Result<(), IsingError> {
        check_len("grads", params.len(), grads.len())?;
        if let Some(index) = grads.iter().position(|g| !g.is_finite()) {
            return Err(IsingError::NonFinite {
                field: "grads".into(),
                index,
                value: grads[index],
            });
        }
        if self.t == 0 && self.m.is_empty() {
            self.m = vec![0.0; params.len()];
            self.v = vec![0.0; params.len()];
        }
        check_len("params", self.m.len(), params.len())?;
        let lr = self.lr.rate(self.t);
        self.t += 1;
        match self.method {
            Method::Sgd => {
                for (p, g) in params.iter_mut().zip(grads) {
                    *p -= lr * g;
                }
            }
            Method::Momentum { mu } => {
                for ((p, g), v) in params.iter_mut().zip(grads).zip(&mut self.m) {
                    *v = mu * *v + g;
                    *p -= lr * *v;
                }
            }
            Method::Adam { beta1, beta2, eps } => {
                let c1 = 1.0 - beta1.powf(self.t as f64);
                let c2 = 1.0 - beta2.powf(self.t as f64);
                for (((p, g), m), v) in params
                    .iter_mut()
                    .zip(grads)
                    .zip(&mut self.m)
                    .zip(&mut self.v)
                {
                    *m = beta1 * *m + (1.0 - beta1) * g;
                    *v = beta2 * *v + (1.0 - beta2) * g * g;
                    *p -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                }
            }
        }
        Ok(())
    }
}

/// An optimiser of an [`IsingEBM`]'s couplings and biases (β is not trained).
#[derive(Clone, Debug, PartialEq)]
pub struct IsingOptimizer {
    inner: Optimizer,
}

impl IsingOptimizer {
    /// Wraps an optimiser; its state covers the weights followed by the biases.
    pub fn new(method: Method, lr: LrSchedule) -> Result<IsingOptimizer, IsingError> {
        Ok(IsingOptimizer {
            inner: Optimizer::new(method, lr)?,
        })
    }

    /// The underlying optimiser.
    pub fn optimizer(&self) -> &Optimizer {
        &self.inner
    }

    /// One descent step of `ebm`'s weights and biases along `grad` (from
    /// [`crate::estimate_kl_grad`]); leaves `ebm` unchanged on error.
    pub fn step(&mut self, ebm: &mut IsingEBM, grad: &KlGrad) -> Result<(), IsingError> {
        let m = ebm.weights().len();
        check_len("grad.weights", m, grad.weights.len())?;
        check_len("grad.biases", ebm.node_count(), grad.biases.len())?;
        let mut params: Vec<f64> = ebm
            .weights()
            .iter()
            .chain(ebm.biases())
            .map(|&x| x as f64)
            .collect();
        let grads: Vec<f64> = grad.weights.iter().chain(&grad.biases).copied().collect();
        let saved = self.inner.clone();
        self.inner.step(&mut params, &grads)?;
        let as_f32: Vec<f32> = params.iter().map(|&x| x as f32).collect();
        let mut next = ebm.clone();
        let result = next
            .set_weights(&as_f32[..m])
            .and_then(|()| next.set_biases(&as_f32[m..]));
        match result {
            Ok(()) => {
                *ebm = next;
                Ok(())
            }
            Err(e) => {
                self.inner = saved;
                Err(e)
            }
        }
    }
}

/// The shuffled mini-batches of a flat data set, epoch after epoch: the loop every gradient
/// trainer of the machines runs (RBM [`crate::rbm::fit`], deep
/// [`crate::machine::fit_deep`], layerwise [`crate::machine::pretrain`]).
pub(crate) struct Minibatches<'a> {
    data: &'a [f32],
    width: usize,
    size: usize,
    order: Vec<usize>,
    batch: Vec<f32>,
}

impl<'a> Minibatches<'a> {
    /// Batches of `size` rows (the last of an epoch may be smaller) of `data`, rows of
    /// `width` values (both checked by the caller: `width ≥ 1`, `size ≥ 1`).
    pub(crate) fn new(data: &'a [f32], width: usize, size: usize) -> Minibatches<'a> {
        let rows = data.len() / width;
        Minibatches {
            data,
            width,
            size,
            order: (0..rows).collect(),
            batch: Vec::with_capacity(size.min(rows) * width),
        }
    }

    /// One epoch: shuffles the row order with `rng` (continuing from the previous epoch's
    /// order) and calls `step` with every batch, its rows gathered into one flat slice.
    /// Returns the number of batches.
    pub(crate) fn epoch<R: rand::Rng, E>(
        &mut self,
        rng: &mut R,
        mut step: impl FnMut(&[f32]) -> Result<(), E>,
    ) -> Result<usize, E> {
        use rand::seq::SliceRandom;
        self.order.shuffle(rng);
        let mut batches = 0;
        for idx in self.order.chunks(self.size) {
            self.batch.clear();
            for &r in idx {
                self.batch
                    .extend_from_slice(&self.data[r * self.width..(r + 1) * self.width]);
            }
            step(&self.batch)?;
            batches += 1;
        }
        Ok(batches)
    }
}
