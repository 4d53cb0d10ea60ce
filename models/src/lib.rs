//! blockgibbs-models: what users come to sample and train, built on the runtime.
//!
//! - [`lattice`]: edge lists of square, cubic and triangular lattices.
//! - [`ising`]: THRML's `IsingEBM` (lattices, Edwards–Anderson, SK), `PottsEBM`, `hinton_init`.
//! - [`training`]: `estimate_moments`, `IsingTrainingSpec`, `estimate_kl_grad` (also for
//!   chosen nodes/edges with a persistent negative phase) and `KlGradEstimator`, which keeps
//!   its compiled samplers for a whole training run.
//! - [`optim`]: SGD, momentum and Adam with learning-rate schedules.
//! - [`tempering`]: parallel tempering (replica exchange) and simulated annealing.
//! - [`rbm`]: binary and Gaussian–Bernoulli RBMs: exact log-likelihood, AIS,
//!   pseudo-likelihood, reconstruction, CD/PCD, mean-field and TAP2 free energies.
//! - [`datasets`]: the UCI handwritten digits (8×8, 1,797 images) shipped in the repository.
//! - [`machine`]: layered Boltzmann machines of binary, spin, Gaussian and categorical
//!   units: energies, conditionals, lowering, paysage's sampling modes, CD/PCD gradients.
//! - [`lgm`]: factor analysis and probabilistic PCA (linear Gaussian harmoniums, EM, whitening).
//! - [`mixture`]: Gaussian mixtures fitted by EM, as scikit-learn's `GaussianMixture`.
//! - [`io`]: save/load of every model as documented safetensors files.
//!
//! Models II (exponential families and what is built from them):
//!
//! - [`expfam`]: Bernoulli, spin, categorical, Gaussian (full, diagonal, isotropic, fixed)
//!   and small Boltzmann families behind one [`expfam::ExponentialFamily`] trait.
//! - [`harmonium`]: harmoniums over any two families, their lowering to the engine, Gibbs
//!   chains and contrastive divergence on the runtime, conjugated harmoniums and EM.
//! - [`hmog`]: goal-jax's hierarchical mixtures of Gaussians (analytic, symmetric,
//!   differentiable).
//! - [`dgd`]: multiDGD's Gaussian-mixture latent prior, its MAP priors, supervised variant
//!   and representation layer.
//! - [`samples`] (validated data matrices), [`linalg`] (faer behind checked wrappers),
//!   [`metrics`] (adjusted Rand index), [`numeric`] (sigmoid, softplus, log-sum-exp).

pub mod datasets;
pub mod dgd;
pub mod expfam;
pub mod harmonium;
pub mod hmog;
pub mod io;
pub mod ising;
pub mod lattice;
pub mod lgm;
pub mod linalg;
pub mod machine;
pub mod metrics;
pub mod mixture;
pub mod numeric;
pub mod optim;
pub mod rbm;
pub mod samples;
pub mod tempering;
pub mod training;

pub use io::{AnyModel, ModelIo, ModelIoError};
pub use ising::{Disorder, HintonRule, IsingEBM, IsingError, PottsEBM, hinton_init};
pub use machine::{BoltzmannMachine, Layer, MachineError, MachineSampler, SamplingMode, UnitKind};
pub use optim::{IsingOptimizer, LrSchedule, Method, Optimizer};
pub use rbm::{BinaryRbm, RbmError};
pub use tempering::{
    AnnealingResult, AnnealingSchedule, BetaLadder, PairStats, ParallelTempering, SwapEvent,
    TemperingError, TemperingOptions, anneal,
};
pub use training::{
    GradTargets, InitMode, IsingMoments, IsingTrainingSpec, KlGrad, KlGradEstimate,
    KlGradEstimator, PersistentChains, SamplingOptions, estimate_kl_grad,
    estimate_kl_grad_targeted, estimate_moments, estimate_moments_clamped,
};
