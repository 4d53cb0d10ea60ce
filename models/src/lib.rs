//! blockgibbs-models: what users come to sample and train, built on the runtime.
//!
//! - [`lattice`]: edge lists of square, cubic and triangular lattices.
//! - [`ising`]: THRML's `IsingEBM` (lattices, Edwards–Anderson, SK), `PottsEBM`, `hinton_init`.
//! - [`training`]: `estimate_moments`, `IsingTrainingSpec`, `estimate_kl_grad` (also for
//!   chosen nodes/edges with a persistent negative phase).
//! - [`optim`]: SGD, momentum and Adam with learning-rate schedules.
//! - [`tempering`]: parallel tempering (replica exchange) and simulated annealing.
//! - [`rbm`]: binary and Gaussian–Bernoulli RBMs: exact log-likelihood, AIS,
//!   pseudo-likelihood, reconstruction, CD/PCD, mean-field and TAP2 free energies.
//! - [`datasets`]: the UCI handwritten digits (8×8, 1,797 images) shipped in the repository.
//! - [`machine`]: layered Boltzmann machines of binary, spin, Gaussian and categorical
//!   units: energies, conditionals, lowering, paysage's sampling modes, CD/PCD gradients.
//! - [`mixture`]: Gaussian mixtures fitted by EM, as scikit-learn's `GaussianMixture`.
//! - [`io`]: save/load of every model as documented safetensors files.

pub mod datasets;
pub mod expfam;
pub mod io;
pub mod ising;
pub mod lattice;
pub mod linalg;
pub mod machine;
pub mod mixture;
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
    PersistentChains, SamplerFactory, SamplingOptions, estimate_kl_grad, estimate_kl_grad_targeted,
    estimate_moments, estimate_moments_clamped,
};
