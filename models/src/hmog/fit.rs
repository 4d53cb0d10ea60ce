//! Fitting hierarchical mixtures: initialisation from the data, closed-form EM with
//! whitening for the analytic variant, and gradient ascent on the average log-likelihood
//! (Adam, the project's optimiser) for the others.

use faer::Mat;

use super::{Hmog, HmogVariant};
use crate::expfam::ExponentialFamily;
use crate::harmonium::{AnalyticEm, Conjugated, HarmoniumError};
use crate::linalg::Cholesky;
use crate::optim::{LrSchedule, Method, Optimizer};
use crate::samples::Samples;

/// How [`Hmog::fit`] runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HmogFitOptions {
    /// Iterations at most (EM steps, or full-batch gradient steps).
    pub max_iter: usize,
    /// Stop when the average log-likelihood changes by less than this.
    pub tol: f64,
    /// Adam's learning rate (gradient variants only).
    pub learning_rate: f64,
    /// Added to the variances of the observable noise and of every latent component at
    /// each EM step (scikit-learn's `reg_covar`): keeps a constant feature (a pixel that is
    /// always 0) from making the noise singular.
    pub reg_covar: f64,
}

impl Default for HmogFitOptions {
    fn default() -> Self {
        HmogFitOptions {
            max_iter: 200,
            tol: 1e-6,
            learning_rate: 0.02,
            reg_covar: 1e-6,
        }
    }
}

/// What a fit did.
#[derive(Clone, Debug, PartialEq)]
pub struct HmogFitReport {
    /// Iterations run.
    pub iterations: usize,
    /// Whether the change fell below the tolerance.
    pub converged: bool,
    /// The final average log-likelihood.
    pub log_likelihood: f64,
    /// The average log-likelihood before each iteration.
    pub history: Vec<f64>,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> HarmoniumError {
    HarmoniumError::Invalid {
        field,
        reason: reason.into(),
    }
}

impl Hmog {
    /// The average of [`Hmog::posterior_statistics`] over the rows of `data` (the E-step).
    pub fn expectation_step(&self, data: &Samples) -> Result<Vec<f64>, HarmoniumError> {
        Ok(self.batch_posterior(data, true)?.statistics)
    }

    /// Reparameterises mean parameters so that the latent `y` has mean 0 and covariance `I`
    /// (each component and the lower cross-statistics transformed alike); the observable
    /// marginal is unchanged.
    pub fn whiten_mean(&self, mean: &[f64]) -> Result<Vec<f64>, HarmoniumError> {
        let (d, k) = (self.observable.data_dim(), self.latent_dim);
        let full = self.bias_family.full();
        let a = self.observable.dim();
        let b = a + d * k;
        let upper_template = self.upper_mixture()?;
        let (weights, comps) = upper_template.split_mean_mixture(&mean[b..])?;
        let (m, c) = full.mean_covariance_from_mean(&mean[b..b + full.dim()])?;
        let l = Cholesky::new(c.as_ref(), "the latent covariance")?;
        let transform = |mu: &[f64], cov: Mat<f64>| -> Vec<f64> {
            let mut centred = Mat::from_fn(k, 1, |i, _| mu[i] - m[i]);
            l.solve_lower_in_place(centred.as_mut());
            let mut s = cov;
            l.solve_lower_in_place(s.as_mut());
            let mut st = s.transpose().to_owned();
            l.solve_lower_in_place(st.as_mut());
            let mu2: Vec<f64> = (0..k).map(|i| centred[(i, 0)]).collect();
            full.mean_from_moments(&mu2, crate::linalg::symmetrize(st.as_ref()).as_ref())
        };
        let new_comps = comps
            .iter()
            .map(|cm| {
                let (mu, cov) = full.mean_covariance_from_mean(cm)?;
                Ok(transform(&mu, cov))
            })
            .collect::<Result<Vec<_>, HarmoniumError>>()?;
        let mut out = mean[..a].to_vec();
        let mut cross = Mat::from_fn(k, d, |j, i| mean[a + i * k + j] - mean[i] * m[j]);
        l.solve_lower_in_place(cross.as_mut());
        for i in 0..d {
            out.extend((0..k).map(|j| cross[(j, i)]));
        }
        out.extend(upper_template.join_mean_mixture(&weights, &new_comps)?);
        Ok(out)
    }

    /// The analytic HMoG whose joint mean parameters (full coordinates) are `mean`: the
    /// mixture's and the linear Gaussian model's closed-form maps, with the lower model's
    /// conjugation parameters taken out of the `y`-bias.
    pub fn natural_from_mean(&self, mean: &[f64]) -> Result<Hmog, HarmoniumError> {
        self.require_analytic("the mean → natural map")?;
        let (d, k) = (self.observable.data_dim(), self.latent_dim);
        let a = self.observable.dim();
        let b = a + d * k;
        let full = self.bias_family.full();
        let upper = self.upper_mixture()?.to_natural_harmonium(&mean[b..])?;
        let lgm_mean = [&mean[..a], &mean[b..b + full.dim()], &mean[a..b]].concat();
        let lgm = self.lower_harmonium()?.to_natural_harmonium(&lgm_mean)?;
        let rho = lgm.conjugation_parameters()?;
        let mut h = self.clone();
        h.observable_bias = lgm.observable_bias().to_vec();
        h.interaction = lgm.interaction().to_vec();
        h.latent_bias = upper
            .observable_bias()
            .iter()
            .zip(&rho)
            .map(|(u, r)| u - r)
            .collect();
        h.mixture_interaction = upper.interaction().to_vec();
        h.category_bias = upper.latent_bias().to_vec();
        Ok(h)
    }

    /// The same observable marginal with the latent prior whitened (`y` of mean 0 and
    /// covariance `I`); analytic variant only.
    pub fn whiten(&self) -> Result<Hmog, HarmoniumError> {
        self.natural_from_mean(&self.whiten_mean(&self.mean_parameters()?)?)
    }

    /// One EM step with whitening (goal-jax's `expectation_maximization`); the average
    /// log-likelihood never decreases. Analytic variant only.
    pub fn em_step(&self, data: &Samples) -> Result<Hmog, HarmoniumError> {
        self.em_step_regularised(data, 0.0)
    }

    /// [`Hmog::em_step`] with `reg` added to every observable noise variance and latent
    /// component variance (the M-step of a slightly widened model: the likelihood may then
    /// fall by up to about `reg` per feature).
    pub fn em_step_regularised(&self, data: &Samples, reg: f64) -> Result<Hmog, HarmoniumError> {
        self.require_analytic("EM")?;
        if !(reg >= 0.0 && reg.is_finite()) {
            return Err(invalid(
                "reg_covar",
                format!("{reg} must be finite and ≥ 0"),
            ));
        }
        let mut q = self.whiten_mean(&self.expectation_step(data)?)?;
        if reg > 0.0 {
            self.widen_mean(&mut q, reg)?;
        }
        self.natural_from_mean(&q)
    }

    /// Adds `reg` to the variances implied by joint mean parameters: the observable's
    /// second moments and each latent component's.
    fn widen_mean(&self, q: &mut [f64], reg: f64) -> Result<(), HarmoniumError> {
        let (d, k) = (self.observable.data_dim(), self.latent_dim);
        let x = self.observable;
        let (mx, cx) = x.mean_covariance_from_mean(&q[..x.dim()])?;
        let cx = Mat::from_fn(d, d, |i, j| cx[(i, j)] + if i == j { reg } else { 0.0 });
        q[..x.dim()].copy_from_slice(&x.mean_from_moments(&mx, cx.as_ref()));
        let b = x.dim() + d * k;
        let upper = self.upper_mixture()?;
        let y = *upper.observable();
        let (weights, comps) = upper.split_mean_mixture(&q[b..])?;
        let widened = comps
            .iter()
            .map(|c| {
                let (m, s) = y.mean_covariance_from_mean(c)?;
                let s = Mat::from_fn(k, k, |i, j| s[(i, j)] + if i == j { reg } else { 0.0 });
                Ok(y.mean_from_moments(&m, s.as_ref()))
            })
            .collect::<Result<Vec<_>, HarmoniumError>>()?;
        q[b..].copy_from_slice(&upper.join_mean_mixture(&weights, &widened)?);
        Ok(())
    }

    /// The average log-likelihood of `data` and its gradient in the variant's parameter
    /// layout: `E[s | x] − E[s]` averaged over the data, read through the embedding.
    pub fn gradient(&self, data: &Samples) -> Result<(f64, Vec<f64>), HarmoniumError> {
        let ll = self.average_log_observable_density(data)?;
        let posterior = self.expectation_step(data)?;
        let model = self.mean_parameters()?;
        let diff: Vec<f64> = posterior.iter().zip(&model).map(|(p, m)| p - m).collect();
        Ok((ll, self.project_full(&diff)))
    }

    fn require_analytic(&self, what: &'static str) -> Result<(), HarmoniumError> {
        if self.variant != HmogVariant::Analytic {
            return Err(HarmoniumError::Unsupported {
                operation: what,
                reason: format!("needs the analytic variant, not {:?}", self.variant),
            });
        }
        Ok(())
    }

    /// Fits the model to `data` from its current parameters: EM for the analytic variant
    /// (each step never lowers the likelihood), Adam on the average log-likelihood otherwise
    /// (returning the best iterate). `progress` sees each iteration's number
    /// and average log-likelihood.
    pub fn fit(
        &self,
        data: &Samples,
        options: &HmogFitOptions,
        progress: &mut dyn FnMut(usize, f64),
    ) -> Result<(Hmog, HmogFitReport), HarmoniumError> {
        if options.max_iter == 0 {
            return Err(invalid("max_iter", "must be at least 1"));
        }
        if !(options.tol >= 0.0 && options.tol.is_finite()) {
            return Err(invalid(
                "tol",
                format!("{} must be finite and ≥ 0", options.tol),
            ));
        }
        data.check_width(self.observable.data_dim())?;
        let mut model = self.clone();
        let mut history: Vec<f64> = Vec::new();
        let mut optimizer = match self.variant {
            HmogVariant::Analytic => None,
            _ => Some(
                Optimizer::new(Method::adam(), LrSchedule::Constant(options.learning_rate))
                    .map_err(|e| invalid("learning_rate", e.to_string()))?,
            ),
        };
        let mut converged = false;
        // Adam is not monotone: the gradient variants return the best iterate seen.
        let mut best: Option<(f64, Hmog)> = None;
        for it in 0..options.max_iter {
            let (ll, next) = match optimizer.as_mut() {
                None => (
                    model.average_log_observable_density(data)?,
                    model.em_step_regularised(data, options.reg_covar)?,
                ),
                Some(opt) => {
                    let (ll, grad) = model.gradient(data)?;
                    (ll, adam_step(&model, opt, &grad)?)
                }
            };
            progress(it + 1, ll);
            if optimizer.is_some() && best.as_ref().is_none_or(|(b, _)| ll > *b) {
                best = Some((ll, model.clone()));
            }
            let done = history
                .last()
                .is_some_and(|&prev: &f64| (ll - prev).abs() < options.tol);
            history.push(ll);
            if done {
                converged = true;
                break;
            }
            model = next;
        }
        let mut log_likelihood = model.average_log_observable_density(data)?;
        if let Some((b, m)) = best
            && b > log_likelihood
        {
            model = m;
            log_likelihood = b;
        }
        Ok((
            model,
            HmogFitReport {
                iterations: history.len(),
                converged,
                log_likelihood,
                history,
            },
        ))
    }
}

/// One Adam ascent step; a step that leaves the domain (the prior is no longer
/// normalisable) is retried at half the size, up to 30 times.
fn adam_step(model: &Hmog, opt: &mut Optimizer, grad: &[f64]) -> Result<Hmog, HarmoniumError> {
    let descent: Vec<f64> = grad.iter().map(|g| -g).collect();
    let start = model.params();
    let mut trial_opt = opt.clone();
    let mut params = start.clone();
    trial_opt
        .step(&mut params, &descent)
        .map_err(|e| invalid("gradient", e.to_string()))?;
    for _ in 0..30 {
        let candidate = model.with_params(&params)?;
        if candidate.log_partition().is_ok() {
            *opt = trial_opt;
            return Ok(candidate);
        }
        for (p, s) in params.iter_mut().zip(&start) {
            *p = 0.5 * (*p + s);
        }
    }
    Err(invalid(
        "learning_rate",
        "every step along the gradient left the model's domain; lower the learning rate",
    ))
}
