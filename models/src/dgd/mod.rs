//! multiDGD's Gaussian-mixture latent prior: the prior over the per-sample representations of
//! the (multi-modal) Deep Generative Decoder, with MAP priors on the mixture's own parameters,
//! fitted by gradient descent (Adam), its supervised variant, and the representation layer.
//!
//! # The model
//!
//! A mixture of `K` Gaussians in `d` dimensions with diagonal covariances:
//! `p(z | θ) = Σ_k π_k N(z; μ_k, diag σ²_k)`, parameterised by the means `μ_k`, the
//! log-variances `v_k = ln σ²_k` (one per dimension for [`CovarianceType::Diagonal`], one per
//! component for [`CovarianceType::Isotropic`], none — unit variances — for
//! [`CovarianceType::Fixed`]) and free weight logits `a` with `π = softmax(a)`. The parameters
//! carry the priors of [`priors`]:
//!
//! - each mean a [`SoftballPrior`] (a mollified uniform distribution on a ball of radius `r`
//!   whose edge has hardness `s`),
//! - each log-variance a Gaussian [`LogVariancePrior`], given as multiDGD's constructor takes it:
//!   the mean and spread of the standard deviation σ,
//! - the weights a symmetric [`DirichletPrior`]`(α)`.
//!
//! `log p(θ) = Σ_k log p_ball(μ_k) + Σ_{k,j} log N(v_kj; loc, scale²) + log Dir(π; α)` is
//! [`GaussianMixturePrior::log_prior`].
//!
//! # The objective and how the prior is scaled per sample
//!
//! For data (or representations) `x_1 … x_N`, the MAP objective is the negative log posterior
//! `−Σ_i log p(x_i | θ) − log p(θ)`: the prior counted **once per data set**. Per sample,
//! [`GaussianMixturePrior::forward`] returns `−log p(x_i | θ) − log p(θ) / N`, so that the sum
//! of `forward` over the data set is exactly the negative log joint `−log p(x_1…x_N, θ)`
//! ([`GaussianMixturePrior::log_prob`] is its negation). With `forward(x)`, `N` is the number
//! of rows of `x`; [`GaussianMixturePrior::forward_with_total`] takes `N` explicitly for a
//! mini-batch of a larger data set. The objective the fitting reports is the mean of `forward`
//! over the data set, `(−Σ_i log p(x_i | θ) − log p(θ)) / N`; a mini-batch `B` gives the unbiased
//! gradient estimate `(1/|B|) Σ_{i∈B} ∇(−log p(x_i|θ)) − ∇ log p(θ) / N`.
//!
//! # Where this differs from multiDGD, and why
//!
//! multiDGD (`multiDGD/latent/_gmm.py`, inherited from the DGD's `Prior.py`) is reproduced
//! except for the following, each a quirk or bug of that code whose mathematically correct
//! version is implemented here:
//!
//! 1. **Softball normalisation.** multiDGD normalises `1 / (1 + exp(s(|z|/r − 1)))` by the volume
//!    of the hard ball, `Γ(1 + d/2) / (π^{d/2} r^d)`, which is the right constant only as
//!    `s → ∞`; at its class default `s = 1` the "density" integrates to far more than 1. Here
//!    the exact constant is used: `∫ dz / (1 + e^{s(|z|/r − 1)}) = S_{d−1} (r/s)^d Γ(d) F_d(s)`
//!    with `S_{d−1} = 2π^{d/2}/Γ(d/2)` the area of the unit sphere and `F_d(s) = −Li_d(−e^s)`
//!    the complete Fermi–Dirac integral (see [`SoftballPrior`]). multiDGD's `log(1 + exp(·))`
//!    also overflows to `−∞` far outside the ball; a stable softplus is used.
//! 2. **Log-variance prior in terms of σ.** multiDGD's `sd_init = (m, s)` is documented as the
//!    "mean and (approximately) sd of the standard deviation", but its prior on the negative
//!    log-variance is `N(−2 ln m, s²)`: `s` is used as the spread of `ln σ²`, not of σ (σ then
//!    has mean `m e^{s²/8}` and spread ≈ `m s / 2`). Here σ = `e^{v/2}` is log-normal with mean
//!    exactly `m` and standard deviation exactly `s`: with `τ² = ln(1 + s²/m²)`,
//!    `v ~ N(2 ln m − τ², 4τ²)` ([`LogVariancePrior::from_sd_moments`]). The parameter is the
//!    log-variance `v = ln σ²` itself; multiDGD stores `−ln σ²` under the name `neglogvar`
//!    (whose comment calls it `log(σ²)`).
//! 3. **Prior counted once, not once per sample.** multiDGD adds the whole `log p(θ)` to every
//!    sample's log density and training sums over the mini-batch, so the prior's weight is the
//!    batch size (and changes with a short last batch). Here it is scaled by `1/N` per sample
//!    (see above), so the objective is the negative log posterior whatever the batching.
//! 4. **Fixed covariance.** multiDGD's `'fixed'` leaves the log-variances uninitialised
//!    (`torch.empty`) and never sets the log-variance prior, so `forward` raises. Here `Fixed`
//!    means unit variances, no variance parameters and no variance prior.
//! 5. **Supervised scoring.** For a labelled sample multiDGD *sums* the log densities of the
//!    class's components and multiplies by the number of classes ("replacement for logsumexp"),
//!    and with missing labels (coded 999) takes the absolute value of that. Here a sample with
//!    label `c` scores `log Σ_{k∈c} π_k N(x; μ_k, Σ_k) = log p(x, c | θ)`, the joint density of the
//!    sample and its label under the mixture whose classes own disjoint components, and an
//!    unlabelled sample (`None`) scores `log p(x | θ) = log Σ_c p(x, c | θ)`: both are log
//!    likelihoods of what was observed under one model (see [`SupervisedGaussianMixturePrior`]).
//! 6. **`label_mixture_probs` and `supervised_sampling`.** multiDGD takes the softmax of the
//!    single logit `weight[label]` (always 1) and samples component number `label` rather than
//!    a component of class `label`. Here `label_mixture_probs(c)` are the within-class
//!    probabilities `π_k / Σ_{j∈c} π_j` of class `c`'s components, and supervised sampling draws
//!    a component of class `c` with those probabilities, then a point from it.
//! 7. **`sample_probs`.** multiDGD's `sample_probs` multiplies by the mixture weights and
//!    exponentiates log densities (underflowing in high dimension). Here
//!    [`GaussianMixturePrior::sample_probs`] are the component densities `N(x_i; μ_k, Σ_k)`
//!    without the weights, [`GaussianMixturePrior::log_sample_probs`] their logarithms, and
//!    [`GaussianMixturePrior::clustering`] the posterior mode `argmax_k π_k N(x_i; μ_k, Σ_k)`.
//! 8. **No weight decay.** multiDGD's Adam applies weight decay `1e-4` to the mixture's
//!    parameters, an unstated extra Gaussian prior on the means, log-variances and logits; the
//!    priors above are the only regularisers here.
//! 9. **Defaults.** multiDGD's class defaults `mean_init = (0, 1)` give a ball of radius 0
//!    (`log 0`); its model defaults (radius 2, hardness 5, `sd_mean = round(0.4/K, 2)`, which is
//!    0 for `K > 80`) are used without the rounding ([`GmmPriorConfig::new`]).
//!
//! The softball "sample" of multiDGD, used to initialise the means, is a uniform draw from the
//! hard ball of radius `r`, not a draw from the softball density; it is kept (and named
//! [`SoftballPrior::sample_uniform_ball`]) because it is an initialisation, not an inference.
//!
//! # Parts
//!
//! - [`priors`]: the three priors, with closed-form log densities and gradients.
//! - [`GaussianMixturePrior`] (`mixture`, `gradient`): densities, sampling, assignments,
//!   analytic gradients of the objective.
//! - [`fit`]: MAP fitting with the project's [`Optimizer`](crate::optim::Optimizer) (Adam).
//! - [`SupervisedGaussianMixturePrior`]: classes owning components; labelled, unlabelled and
//!   mixed data.
//! - [`RepresentationLayer`] and [`fit_representations`]: free per-sample latent vectors
//!   trained jointly with the prior under a user-supplied decoder loss.
//! - Files: kinds `gmm_prior` and `gmm_prior_supervised` in [`crate::io::gmm_prior`].

mod error;
pub mod fit;
mod gradient;
mod harmonium;
mod mixture;
pub mod priors;
mod representation;
mod special;
mod supervised;

pub use crate::expfam::CovarianceType;
pub use error::DgdError;
pub use fit::{FitOptions, FitProgress, FitReport};
pub use gradient::PriorGradient;
pub use mixture::{GaussianMixturePrior, GmmPriorConfig, ResampleType};
pub use priors::{DirichletPrior, LogVariancePrior, SoftballPrior};
pub use representation::{
    RepresentationFitOptions, RepresentationLayer, RepresentationLoss, RepresentationReport,
    fit_representations,
};
pub use supervised::{SupervisedGaussianMixturePrior, SupervisedSampleType};
