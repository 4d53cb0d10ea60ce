//! The options of `blockgibbs fit`, shared by every model kind, and the usage errors of
//! `fit` and `score` (exit status 2, like clap's own).
//!
//! Each kind declares which options it reads ([`super::kinds::Kind::OPTIONS`]); giving any
//! other is an error, never silently ignored. Values are range-checked by clap when parsed
//! (counts ≥ 1, rates > 0, tolerances ≥ 0, all finite), so a kind only reads them.

use crate::backend::{BackendChoice, EngineChoice};
use blockgibbs_models::expfam::CovarianceType;
use clap::Args;
use std::path::PathBuf;
use thiserror::Error;

/// One option of `fit` that a model kind may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitOption {
    /// `--components`: mixture components (a categorical latent).
    Components,
    /// `--covariance`: covariance type of Gaussian components.
    Covariance,
    /// `--latent-dim`: dimension of a vector latent (factors, hidden units).
    LatentDim,
    /// `--max-iter`: iterations (EM steps, epochs).
    MaxIter,
    /// `--tol`: convergence tolerance.
    Tol,
    /// `--seed`: seed of every random choice.
    Seed,
    /// `--n-init`: restarts, the best kept.
    NInit,
    /// `--reg-covar`: added to covariance diagonals.
    RegCovar,
    /// `--learning-rate`: step size of gradient methods.
    LearningRate,
    /// `--batch-size`: samples per gradient step.
    BatchSize,
    /// `--backend`: the kernels of the kind's Gibbs sampling.
    Backend,
}

impl FitOption {
    /// Every option, in the order of `fit --help`.
    pub const ALL: [FitOption; 11] = [
        FitOption::Components,
        FitOption::Covariance,
        FitOption::LatentDim,
        FitOption::MaxIter,
        FitOption::Tol,
        FitOption::Seed,
        FitOption::NInit,
        FitOption::RegCovar,
        FitOption::LearningRate,
        FitOption::BatchSize,
        FitOption::Backend,
    ];

    /// The flag as typed, e.g. `--max-iter`.
    pub fn flag(self) -> &'static str {
        match self {
            FitOption::Components => "--components",
            FitOption::Covariance => "--covariance",
            FitOption::LatentDim => "--latent-dim",
            FitOption::MaxIter => "--max-iter",
            FitOption::Tol => "--tol",
            FitOption::Seed => "--seed",
            FitOption::NInit => "--n-init",
            FitOption::RegCovar => "--reg-covar",
            FitOption::LearningRate => "--learning-rate",
            FitOption::BatchSize => "--batch-size",
            FitOption::Backend => "--backend",
        }
    }
}

/// The model options of `fit`, each `None` unless given (so that an option a kind does not
/// read can be told from one left out). Kinds fill in their own defaults.
#[derive(Debug, Clone, Default, Args)]
pub struct FitOptions {
    /// Mixture components K (gmm, hmog).
    #[arg(long, value_name = "K", value_parser = count)]
    pub components: Option<usize>,
    /// Covariance type of Gaussian components: full, diag, spherical or fixed (gmm, hmog).
    #[arg(long, value_name = "TYPE", value_parser = covariance)]
    pub covariance: Option<CovarianceType>,
    /// Dimension of the vector latent: factors (fa, ppca, hmog) or hidden units (rbm).
    #[arg(long, value_name = "D", value_parser = count)]
    pub latent_dim: Option<usize>,
    /// Largest number of iterations: EM steps, or epochs for the rbm.
    #[arg(long, value_name = "N", value_parser = count)]
    pub max_iter: Option<usize>,
    /// Convergence tolerance on the average log-likelihood per sample (EM kinds).
    #[arg(long, value_name = "X", value_parser = non_negative)]
    pub tol: Option<f64>,
    /// Seed of initialisation and of every random draw (default 0).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Restarts from different initialisations; the best is kept (gmm).
    #[arg(long, value_name = "N", value_parser = count)]
    pub n_init: Option<usize>,
    /// Added to the diagonal of every covariance; 0 disables it (gmm, hmog).
    #[arg(long, value_name = "X", value_parser = non_negative)]
    pub reg_covar: Option<f64>,
    /// Learning rate of gradient training (rbm).
    #[arg(long, value_name = "X", value_parser = positive)]
    pub learning_rate: Option<f64>,
    /// Samples per mini-batch of gradient training (rbm).
    #[arg(long, value_name = "N", value_parser = count)]
    pub batch_size: Option<usize>,
    /// Kernel backend of the Gibbs sampling (rbm; default: the best available). Every
    /// backend fits the same model bit for bit.
    #[arg(long, value_enum)]
    pub backend: Option<BackendChoice>,
}

impl FitOptions {
    /// Whether `option` was given on the command line.
    pub fn given(&self, option: FitOption) -> bool {
        match option {
            FitOption::Components => self.components.is_some(),
            FitOption::Covariance => self.covariance.is_some(),
            FitOption::LatentDim => self.latent_dim.is_some(),
            FitOption::MaxIter => self.max_iter.is_some(),
            FitOption::Tol => self.tol.is_some(),
            FitOption::Seed => self.seed.is_some(),
            FitOption::NInit => self.n_init.is_some(),
            FitOption::RegCovar => self.reg_covar.is_some(),
            FitOption::LearningRate => self.learning_rate.is_some(),
            FitOption::BatchSize => self.batch_size.is_some(),
            FitOption::Backend => self.backend.is_some(),
        }
    }

    /// The seed, 0 when not given.
    pub fn seed_or_default(&self) -> u64 {
        self.seed.unwrap_or(0)
    }

    /// The backend, [`EngineChoice::Auto`] when not given.
    pub fn backend_or_default(&self) -> EngineChoice {
        self.backend.map_or(EngineChoice::Auto, Into::into)
    }
}

/// A command line that cannot run as given: an option the model kind does not read, a
/// required one missing, or an output that would overwrite an input.
#[derive(Debug, Error)]
pub enum UsageError {
    /// An option the kind does not read.
    #[error(
        "{} does not apply to `fit {kind}`{hint}\n(`blockgibbs help fit` lists the options of each kind)",
        option.flag()
    )]
    NotApplicable {
        /// The option.
        option: FitOption,
        /// The model kind.
        kind: &'static str,
        /// What to use instead, starting with "; " (may be empty).
        hint: String,
    },
    /// A required option left out.
    #[error(
        "`fit {kind}` needs {} ({meaning})\n(`blockgibbs help fit` lists the options of each kind)",
        option.flag()
    )]
    Missing {
        /// The option.
        option: FitOption,
        /// The model kind.
        kind: &'static str,
        /// What it sets for this kind.
        meaning: &'static str,
    },
    /// An output path that names an input file (directly, through a link, or as the same
    /// file under another name).
    #[error(
        "{option} {} is the {role} {}; refusing to overwrite an input",
        output.display(),
        input.display()
    )]
    OutputIsInput {
        /// The option or output naming the path, e.g. `--out` or `log_prob.npy`.
        option: String,
        /// The output path.
        output: PathBuf,
        /// What the input is, e.g. "data file" or "`model.factors[0].weights_npy` file".
        role: String,
        /// The input path as given.
        input: PathBuf,
    },
    /// An option that only works together with another.
    #[error("{option} needs {needs}")]
    Requires {
        /// The option given.
        option: String,
        /// The option it needs.
        needs: String,
    },
    /// An output of `resume` that the checkpointed run did not record from the start.
    #[error(
        "{option}: the run in {} did not record {what} (give {option} to `sample` from the start)",
        checkpoint.display()
    )]
    NotRecorded {
        /// The option.
        option: String,
        /// What it would write.
        what: &'static str,
        /// The checkpoint.
        checkpoint: PathBuf,
    },
    /// Two outputs of one command naming the same file.
    #[error("{first} and {second} both name {}", path.display())]
    SameOutput {
        /// The first option.
        first: String,
        /// The second option.
        second: String,
        /// The shared path.
        path: PathBuf,
    },
}

/// A count ≥ 1.
fn count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A finite number.
fn finite(text: &str) -> Result<f64, String> {
    let x: f64 = text
        .parse()
        .map_err(|e: std::num::ParseFloatError| e.to_string())?;
    if x.is_finite() {
        Ok(x)
    } else {
        Err("must be finite".into())
    }
}

/// A finite number > 0.
fn positive(text: &str) -> Result<f64, String> {
    let x = finite(text)?;
    if x > 0.0 {
        Ok(x)
    } else {
        Err("must be positive".into())
    }
}

/// A finite number ≥ 0.
fn non_negative(text: &str) -> Result<f64, String> {
    let x = finite(text)?;
    if x >= 0.0 {
        Ok(x)
    } else {
        Err("must not be negative".into())
    }
}

/// A covariance type by name (see [`CovarianceType::parse`]).
fn covariance(text: &str) -> Result<CovarianceType, String> {
    CovarianceType::parse(text).ok_or_else(|| "expected full, diag, spherical or fixed".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_parsers_check_ranges() {
        assert_eq!(count("3"), Ok(3));
        assert!(count("0").is_err() && count("-1").is_err() && count("x").is_err());
        assert_eq!(positive("0.5"), Ok(0.5));
        for bad in ["0", "-1", "nan", "inf", "x"] {
            assert!(positive(bad).is_err(), "{bad}");
        }
        assert_eq!(non_negative("0"), Ok(0.0));
        assert!(non_negative("-1e-9").is_err() && non_negative("NaN").is_err());
        assert_eq!(covariance("diag"), Ok(CovarianceType::Diagonal));
        assert!(covariance("banded").is_err());
    }

    #[test]
    fn every_option_reports_whether_it_was_given() {
        let none = FitOptions::default();
        assert!(FitOption::ALL.iter().all(|&o| !none.given(o)));
        let all = FitOptions {
            components: Some(1),
            covariance: Some(CovarianceType::Full),
            latent_dim: Some(1),
            max_iter: Some(1),
            tol: Some(0.0),
            seed: Some(0),
            n_init: Some(1),
            reg_covar: Some(0.0),
            learning_rate: Some(1.0),
            batch_size: Some(1),
            backend: Some(BackendChoice::Jit),
        };
        assert!(FitOption::ALL.iter().all(|&o| all.given(o)));
        let flags: std::collections::BTreeSet<_> =
            FitOption::ALL.iter().map(|o| o.flag()).collect();
        assert_eq!(flags.len(), FitOption::ALL.len());
    }
}
