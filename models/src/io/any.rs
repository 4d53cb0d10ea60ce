//! [`AnyModel`]: reading a model file of any kind.

use std::path::Path;

use super::atomic::read_file;
use super::*;

/// Any model this module can load, for files of unknown kind.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyModel {
    /// An `ising_ebm` file.
    Ising(IsingEBM),
    /// A `potts_ebm` file.
    Potts(PottsEBM),
    /// A `binary_rbm` file.
    Rbm(BinaryRbm),
    /// A `gaussian_rbm` file.
    GaussianRbm(GaussianRbm),
    /// A `boltzmann_machine` file.
    Machine(BoltzmannMachine),
    /// A `gmm_prior` file.
    GmmPrior(GaussianMixturePrior),
    /// A `gmm_prior_supervised` file.
    SupervisedGmmPrior(SupervisedGaussianMixturePrior),
    /// An `hmog` file.
    Hmog(crate::hmog::Hmog),
    /// A `factor_analysis` file.
    FactorAnalysis(FactorAnalysis),
    /// A `ppca` file.
    Ppca(Ppca),
    /// A `gaussian_mixture` file.
    Mixture(GaussianMixture),
}

impl AnyModel {
    /// The `kind` metadata value of the held model.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyModel::Ising(_) => KIND_ISING,
            AnyModel::Potts(_) => KIND_POTTS,
            AnyModel::Rbm(_) => KIND_RBM,
            AnyModel::GaussianRbm(_) => KIND_GAUSSIAN_RBM,
            AnyModel::Machine(_) => KIND_MACHINE,
            AnyModel::GmmPrior(_) => KIND_GMM_PRIOR,
            AnyModel::SupervisedGmmPrior(_) => KIND_GMM_PRIOR_SUPERVISED,
            AnyModel::Hmog(_) => KIND_HMOG,
            AnyModel::FactorAnalysis(_) => KIND_FACTOR_ANALYSIS,
            AnyModel::Ppca(_) => KIND_PPCA,
            AnyModel::Mixture(_) => KIND_MIXTURE,
        }
    }

    /// Parses a file of any known kind held in memory.
    pub fn from_safetensors(bytes: &[u8]) -> Result<AnyModel, ModelIoError> {
        let file = parse(bytes)?;
        let kind = check_header(&file, None)?;
        match kind {
            KIND_ISING => IsingEBM::from_safetensors(bytes).map(AnyModel::Ising),
            KIND_POTTS => PottsEBM::from_safetensors(bytes).map(AnyModel::Potts),
            KIND_GAUSSIAN_RBM => GaussianRbm::from_safetensors(bytes).map(AnyModel::GaussianRbm),
            KIND_MACHINE => BoltzmannMachine::from_safetensors(bytes).map(AnyModel::Machine),
            KIND_GMM_PRIOR => GaussianMixturePrior::from_safetensors(bytes).map(AnyModel::GmmPrior),
            KIND_GMM_PRIOR_SUPERVISED => SupervisedGaussianMixturePrior::from_safetensors(bytes)
                .map(AnyModel::SupervisedGmmPrior),
            KIND_HMOG => crate::hmog::Hmog::from_safetensors(bytes).map(AnyModel::Hmog),
            KIND_FACTOR_ANALYSIS => {
                FactorAnalysis::from_safetensors(bytes).map(AnyModel::FactorAnalysis)
            }
            KIND_PPCA => Ppca::from_safetensors(bytes).map(AnyModel::Ppca),
            KIND_MIXTURE => GaussianMixture::from_safetensors(bytes).map(AnyModel::Mixture),
            _ => BinaryRbm::from_safetensors(bytes).map(AnyModel::Rbm),
        }
    }

    /// Reads a file of any known kind.
    pub fn load(path: impl AsRef<Path>) -> Result<AnyModel, ModelIoError> {
        AnyModel::from_safetensors(&read_file(path.as_ref())?)
    }

    /// Writes the held model (see [`ModelIo::save`]).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ModelIoError> {
        match self {
            AnyModel::Ising(m) => m.save(path),
            AnyModel::Potts(m) => m.save(path),
            AnyModel::Rbm(m) => m.save(path),
            AnyModel::GaussianRbm(m) => m.save(path),
            AnyModel::Machine(m) => m.save(path),
            AnyModel::GmmPrior(m) => m.save(path),
            AnyModel::SupervisedGmmPrior(m) => m.save(path),
            AnyModel::Hmog(m) => m.save(path),
            AnyModel::FactorAnalysis(m) => m.save(path),
            AnyModel::Ppca(m) => m.save(path),
            AnyModel::Mixture(m) => m.save(path),
        }
    }
}

/// The `kind` of a file held in memory, after checking `format` and `format_version`.
pub fn read_kind(bytes: &[u8]) -> Result<&'static str, ModelIoError> {
    check_header(&parse(bytes)?, None)
}
