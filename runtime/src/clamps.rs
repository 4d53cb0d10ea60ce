//! Clamps set at run time: any free node held at its value in chosen chains, and released
//! again, without rebuilding anything; and whole states read and written as one buffer.

use crate::error::RuntimeError;
use crate::sampler::Sampler;
use blockgibbs_ir::{NodeId, Program};
use std::collections::BTreeSet;
use std::ops::Range;

/// The free nodes held at their current value, per block, as `(chain, slot)` pairs (sorted by
/// chain so that a chunk finds its own with one range query).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuntimeClamps {
    by_block: Vec<BTreeSet<(u32, u32)>>,
}

impl RuntimeClamps {
    /// No clamps, for a program with `blocks` blocks.
    pub(crate) fn new(blocks: usize) -> RuntimeClamps {
        RuntimeClamps {
            by_block: vec![BTreeSet::new(); blocks],
        }
    }

    /// The clamped `(chain, slot)` pairs of `block` among `chains`.
    pub(crate) fn in_block(
        &self,
        block: usize,
        chains: Range<u32>,
    ) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.by_block[block]
            .range((chains.start, 0)..(chains.end, 0))
            .copied()
    }

    /// Every clamp as `(chain, node)`, sorted.
    pub fn pairs(&self, program: &Program) -> Vec<(usize, NodeId)> {
        let mut all: Vec<(usize, NodeId)> = self
            .by_block
            .iter()
            .flatten()
            .map(|&(c, s)| (c as usize, program.node_of_slot[s as usize]))
            .collect();
        all.sort_unstable();
        all
    }

    /// Number of (chain, node) clamps.
    pub fn len(&self) -> usize {
        self.by_block.iter().map(BTreeSet::len).sum()
    }

    /// Whether nothing is clamped at run time.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which chains a clamp or release applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chains {
    /// Every chain.
    All,
    /// One chain.
    One(usize),
}

impl Sampler {
    /// The block of a free node, or `None` for a node clamped in the model.
    fn block_of(&self, node: NodeId) -> Option<usize> {
        let slot = self.program().slot_of[node.index()];
        self.program()
            .blocks
            .iter()
            .position(|b| b.head_slots().contains(&slot))
    }

    fn chain_list(&self, chains: Chains) -> Result<Range<usize>, RuntimeError> {
        match chains {
            Chains::All => Ok(0..self.chains()),
            Chains::One(c) => {
                self.check_chain(c)?;
                Ok(c..c + 1)
            }
        }
    }

    /// Holds `nodes[i]` at `values[i]` in `chains` from now on (a sensor reading arrives, a
    /// boundary condition changes): sweeps leave them as they are, every other node sees them
    /// as clamped. Nodes clamped in the model take the value too (their clamp is permanent).
    /// Values are checked against each node's kind first; on any error nothing changes.
    pub fn clamp_nodes(
        &mut self,
        nodes: &[NodeId],
        values: &[f32],
        chains: Chains,
    ) -> Result<(), RuntimeError> {
        if nodes.len() != values.len() {
            return Err(RuntimeError::LengthMismatch {
                what: "clamp values",
                expected: nodes.len(),
                found: values.len(),
            });
        }
        let range = self.chain_list(chains)?;
        for (&node, &value) in nodes.iter().zip(values) {
            self.check_value(node, value)?;
        }
        for (&node, &value) in nodes.iter().zip(values) {
            let slot = self.program().slot_of[node.index()];
            let block = self.block_of(node);
            for chain in range.clone() {
                self.state.set(slot, chain, value);
                if let Some(b) = block {
                    self.clamps.by_block[b].insert((chain as u32, slot));
                }
            }
        }
        Ok(())
    }

    /// Holds one node at `value` in `chains` (see [`Sampler::clamp_nodes`]).
    pub fn clamp(&mut self, node: NodeId, value: f32, chains: Chains) -> Result<(), RuntimeError> {
        self.clamp_nodes(&[node], &[value], chains)
    }

    /// Releases `nodes` in `chains`: they are sampled again from the next sweep on, starting
    /// from the value they were held at. Releasing a node that is not clamped does nothing; a
    /// node clamped in the model cannot be released (it belongs to no block) and is an error.
    pub fn release_nodes(&mut self, nodes: &[NodeId], chains: Chains) -> Result<(), RuntimeError> {
        let range = self.chain_list(chains)?;
        let mut blocks = Vec::with_capacity(nodes.len());
        for &node in nodes {
            self.check_node(node)?;
            match self.block_of(node) {
                Some(b) => blocks.push(b),
                None => {
                    return Err(RuntimeError::ClampedInModel {
                        node: self.model.node_name(node),
                    });
                }
            }
        }
        for (&node, b) in nodes.iter().zip(blocks) {
            let slot = self.program().slot_of[node.index()];
            for chain in range.clone() {
                self.clamps.by_block[b].remove(&(chain as u32, slot));
            }
        }
        Ok(())
    }

    /// Releases one node in `chains` (see [`Sampler::release_nodes`]).
    pub fn release(&mut self, node: NodeId, chains: Chains) -> Result<(), RuntimeError> {
        self.release_nodes(&[node], chains)
    }

    /// Whether `node` is held in `chain` (clamped in the model or at run time).
    pub fn is_held(&self, node: NodeId, chain: usize) -> Result<bool, RuntimeError> {
        self.check_node(node)?;
        self.check_chain(chain)?;
        let slot = self.program().slot_of[node.index()];
        Ok(match self.block_of(node) {
            None => true,
            Some(b) => self.clamps.by_block[b].contains(&(chain as u32, slot)),
        })
    }

    /// Holds `(chain, node)` pairs at their current values (a checkpoint's clamps, after its
    /// states are written). Every pair is checked first; on error nothing changes.
    pub(crate) fn restore_clamps(&mut self, pairs: &[(usize, NodeId)]) -> Result<(), RuntimeError> {
        let mut located = Vec::with_capacity(pairs.len());
        for &(chain, node) in pairs {
            self.check_chain(chain)?;
            self.check_node(node)?;
            let block = self
                .block_of(node)
                .ok_or_else(|| RuntimeError::ClampedInModel {
                    node: self.model.node_name(node),
                })?;
            located.push((block, (chain as u32, self.program().slot_of[node.index()])));
        }
        for (b, pair) in located {
            self.clamps.by_block[b].insert(pair);
        }
        Ok(())
    }

    /// The clamps set at run time.
    pub fn runtime_clamps(&self) -> &RuntimeClamps {
        &self.clamps
    }

    /// Copies every chain's state into `out`, row-major `[chains, nodes]` (node ids index the
    /// columns); `out` must hold exactly `chains · nodes` values.
    pub fn read_states(&self, out: &mut [f32]) -> Result<(), RuntimeError> {
        let nodes = self.model.node_count();
        self.check_len("state buffer", self.chains() * nodes, out.len())?;
        let slots = &self.program().slot_of;
        for (chain, row) in out.chunks_exact_mut(nodes.max(1)).enumerate() {
            for (v, &slot) in row.iter_mut().zip(slots) {
                *v = self.state.get(slot, chain);
            }
        }
        Ok(())
    }

    /// Sets every chain's state from `values`, row-major `[chains, nodes]`. Every value is
    /// checked against its node's kind before anything is written; the first bad one is named
    /// (node and chain) and the state is left unchanged. Clamped nodes take the new values and
    /// stay clamped.
    pub fn write_states(&mut self, values: &[f32]) -> Result<(), RuntimeError> {
        let nodes = self.model.node_count();
        self.check_len("state buffer", self.chains() * nodes, values.len())?;
        for (chain, row) in values.chunks_exact(nodes.max(1)).enumerate() {
            for (n, &v) in row.iter().enumerate() {
                let node = NodeId(n as u32);
                if !self.model.kind(node).admits(v) {
                    return Err(RuntimeError::InvalidValueInChain {
                        node: self.model.node_name(node),
                        chain,
                        value: v,
                        kind: self.model.kind(node).to_string(),
                    });
                }
            }
        }
        let program = self.program().clone();
        for (chain, row) in values.chunks_exact(nodes.max(1)).enumerate() {
            for (&v, &slot) in row.iter().zip(&program.slot_of) {
                self.state.set(slot, chain, v);
            }
        }
        Ok(())
    }

    fn check_len(
        &self,
        what: &'static str,
        expected: usize,
        found: usize,
    ) -> Result<(), RuntimeError> {
        if expected == found {
            Ok(())
        } else {
            Err(RuntimeError::LengthMismatch {
                what,
                expected,
                found,
            })
        }
    }
}
