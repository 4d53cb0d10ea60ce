//! The errors of spin models and the argument checks that produce them.

use blockgibbs_ir::ModelError;
use blockgibbs_runtime::RuntimeError;
use thiserror::Error;

/// What can be wrong with the input of a spin model, its sampling or its training. Every
/// variant names the field at fault.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum IsingError {
    /// Two arrays that must have the same length do not.
    #[error("{field}: length {found}, expected {expected}")]
    LengthMismatch {
        /// The field at fault, e.g. `weights`.
        field: String,
        /// Required length.
        expected: usize,
        /// Given length.
        found: usize,
    },
    /// An edge or node index past the number of nodes.
    #[error("{field}[{index}]: node {node} is out of range (the model has {nodes} nodes)")]
    IndexOutOfRange {
        /// The field at fault, e.g. `edges`.
        field: String,
        /// Position in that field.
        index: usize,
        /// The offending node index.
        node: u32,
        /// Number of nodes.
        nodes: usize,
    },
    /// An edge joining a node to itself.
    #[error("edges[{index}]: self-loop on node {node} (s·s = 1 is a constant)")]
    SelfLoop {
        /// Position of the edge.
        index: usize,
        /// The node.
        node: u32,
    },
    /// A NaN or infinite number.
    #[error("{field}[{index}]: {value} is not finite")]
    NonFinite {
        /// The field at fault, e.g. `weights`.
        field: String,
        /// Position in that field.
        index: usize,
        /// The value.
        value: f64,
    },
    /// β ≤ 0, NaN or infinite.
    #[error("beta: {beta} must be positive and finite")]
    InvalidBeta {
        /// The value given.
        beta: f32,
    },
    /// Any other parameter outside its range.
    #[error("{field}: {reason}")]
    InvalidParameter {
        /// The parameter at fault.
        field: String,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// A model given to a stateful estimator has another structure (node count or edge
    /// list) than the one it was made and compiled for; parameters may change, structure
    /// may not.
    #[error("{field}: {reason} (the structure changed; make a new estimator)")]
    StructureChanged {
        /// The field at fault, e.g. `ebm.edges[3]`.
        field: String,
        /// What differs.
        reason: String,
    },
    /// The model failed validation (should not happen for validated input).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The sampler failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> IsingError {
    IsingError::InvalidParameter {
        field: field.to_string(),
        reason: reason.into(),
    }
}

pub(crate) fn check_len(field: &str, expected: usize, found: usize) -> Result<(), IsingError> {
    if expected == found {
        Ok(())
    } else {
        Err(IsingError::LengthMismatch {
            field: field.to_string(),
            expected,
            found,
        })
    }
}

pub(crate) fn check_finite(field: &str, values: &[f32]) -> Result<(), IsingError> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(IsingError::NonFinite {
            field: field.to_string(),
            index,
            value: values[index] as f64,
        }),
    }
}

pub(crate) fn check_beta(beta: f32) -> Result<(), IsingError> {
    if beta > 0.0 && beta.is_finite() {
        Ok(())
    } else {
        Err(IsingError::InvalidBeta { beta })
    }
}

/// Checks that both ends of every edge are nodes below `n` (self-pairs allowed: moments
/// may ask for ⟨s_i s_i⟩).
pub(crate) fn check_edge_nodes(
    field: &str,
    n: usize,
    edges: &[(u32, u32)],
) -> Result<(), IsingError> {
    for (index, &(a, b)) in edges.iter().enumerate() {
        for node in [a, b] {
            if node as usize >= n {
                return Err(IsingError::IndexOutOfRange {
                    field: field.to_string(),
                    index,
                    node,
                    nodes: n,
                });
            }
        }
    }
    Ok(())
}

/// Checks that every edge joins two distinct nodes below `n`.
pub(crate) fn check_edges(field: &str, n: usize, edges: &[(u32, u32)]) -> Result<(), IsingError> {
    check_edge_nodes(field, n, edges)?;
    for (index, &(a, b)) in edges.iter().enumerate() {
        if a == b {
            return Err(IsingError::SelfLoop { index, node: a });
        }
    }
    Ok(())
}

pub(crate) fn check_side(l: usize) -> Result<(), IsingError> {
    if (2..=1 << 15).contains(&l) {
        Ok(())
    } else {
        Err(invalid(
            "l",
            format!("lattice side {l} must be in 2..=32768"),
        ))
    }
}

/// Checks that every entry of `nodes` is a node index below `n`.
pub(crate) fn check_nodes(field: &str, n: usize, nodes: &[u32]) -> Result<(), IsingError> {
    match nodes.iter().position(|&i| i as usize >= n) {
        None => Ok(()),
        Some(index) => Err(IsingError::IndexOutOfRange {
            field: field.to_string(),
            index,
            node: nodes[index],
            nodes: n,
        }),
    }
}
