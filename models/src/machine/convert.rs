//! Two-layer machines of the `rbm` module as layered machines and back, so that a binary or
//! Gaussian–Bernoulli RBM can use the runtime paths of this module (sampling modes, CD/PCD on
//! either backend, save/load as `boltzmann_machine`). Parameters are copied bit for bit; the
//! energies agree exactly (both use paysage's convention for Gaussian units).

use super::{BoltzmannMachine, Layer, MachineError, UnitKind};
use crate::rbm::BinaryRbm;
use crate::rbm::gaussian::GaussianRbm;

impl TryFrom<&BinaryRbm> for BoltzmannMachine {
    type Error = MachineError;

    /// Binary visible and hidden layers with the RBM's biases and weights.
    fn try_from(rbm: &BinaryRbm) -> Result<BoltzmannMachine, MachineError> {
        let v = Layer::binary(rbm.visible_bias().to_vec())?;
        let h = Layer::binary(rbm.hidden_bias().to_vec())?;
        BoltzmannMachine::new(vec![v, h], vec![rbm.weights().to_vec()])
    }
}

impl TryFrom<&GaussianRbm> for BoltzmannMachine {
    type Error = MachineError;

    /// A Gaussian visible layer (`loc`, `log_var`) and a binary hidden layer. Fails only where
    /// the layered machine's limits are narrower (|log_var| ≤ 30).
    fn try_from(rbm: &GaussianRbm) -> Result<BoltzmannMachine, MachineError> {
        let v = Layer::gaussian(rbm.loc().to_vec(), rbm.log_var().to_vec())?;
        let h = Layer::binary(rbm.hidden_bias().to_vec())?;
        BoltzmannMachine::new(vec![v, h], vec![rbm.weights().to_vec()])
    }
}

/// Why a layered machine is not a two-layer machine of the wanted kinds.
fn not_this_shape(machine: &BoltzmannMachine, wanted: &str) -> MachineError {
    let kinds: Vec<String> = machine
        .layers()
        .iter()
        .map(|l| format!("{:?}", l.kind()))
        .collect();
    MachineError::InvalidOption {
        field: "layers",
        reason: format!("expected {wanted}, found [{}]", kinds.join(", ")),
    }
}

impl TryFrom<&BoltzmannMachine> for BinaryRbm {
    type Error = MachineError;

    /// The machine as a [`BinaryRbm`] if it has exactly two binary layers.
    fn try_from(m: &BoltzmannMachine) -> Result<BinaryRbm, MachineError> {
        match m.layers() {
            [v, h] if v.kind() == UnitKind::Binary && h.kind() == UnitKind::Binary => {
                BinaryRbm::new(
                    v.len(),
                    h.len(),
                    m.weights()[0].clone(),
                    v.bias().to_vec(),
                    h.bias().to_vec(),
                )
                .map_err(|e| MachineError::InvalidOption {
                    field: "layers",
                    reason: e.to_string(),
                })
            }
            _ => Err(not_this_shape(m, "[Binary, Binary]")),
        }
    }
}

impl TryFrom<&BoltzmannMachine> for GaussianRbm {
    type Error = MachineError;

    /// The machine as a [`GaussianRbm`] if it has a Gaussian layer under a binary one.
    fn try_from(m: &BoltzmannMachine) -> Result<GaussianRbm, MachineError> {
        match m.layers() {
            [v, h] if v.kind() == UnitKind::Gaussian && h.kind() == UnitKind::Binary => {
                GaussianRbm::new(
                    v.len(),
                    h.len(),
                    m.weights()[0].clone(),
                    v.bias().to_vec(),
                    v.log_var().to_vec(),
                    h.bias().to_vec(),
                )
                .map_err(|e| MachineError::InvalidOption {
                    field: "layers",
                    reason: e.to_string(),
                })
            }
            _ => Err(not_this_shape(m, "[Gaussian, Binary]")),
        }
    }
}
