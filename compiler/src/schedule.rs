//! Block schedules: automatic (colour classes split by node kind) or hand-given (validated).

use crate::colouring::{self, Colouring, ColouringMethod, InteractionGraph};
use crate::error::CompileError;
use blockgibbs_ir::{BlockSpec, Model, NodeId, NodeKind};

/// The blocks of a model grouped into superblocks, plus how they were obtained.
#[derive(Clone, Debug)]
pub struct BlockSchedule {
    /// `superblocks[s][b]` lists the nodes of block `b` of superblock `s`.
    pub superblocks: Vec<Vec<Vec<NodeId>>>,
    /// The colouring method, or `None` for hand-given blocks.
    pub method: Option<ColouringMethod>,
}

impl BlockSchedule {
    /// The model's hand-given blocks after checking that no block holds two interacting
    /// nodes, or else blocks from a colouring of its interaction graph.
    pub fn for_model(model: &Model) -> Result<BlockSchedule, CompileError> {
        match model.block_spec() {
            Some(spec) => {
                validate_interactions(model, spec)?;
                Ok(BlockSchedule {
                    superblocks: spec.superblocks.clone(),
                    method: None,
                })
            }
            None => Ok(Self::coloured(model)),
        }
    }

    /// Blocks from colouring the interaction graph: every colour becomes a superblock whose
    /// blocks are its nodes split by kind.
    pub fn coloured(model: &Model) -> BlockSchedule {
        let graph = InteractionGraph::of_model(model);
        let free: Vec<bool> = model.clamped().iter().map(Option::is_none).collect();
        let colouring = colouring::colour(&graph, &free);
        Self::from_colouring(model, &colouring)
    }

    /// Superblocks from a given colouring (one per colour, blocks split by kind).
    pub fn from_colouring(model: &Model, colouring: &Colouring) -> BlockSchedule {
        let mut by_colour: Vec<Vec<(NodeKind, Vec<NodeId>)>> =
            vec![Vec::new(); colouring.count as usize];
        for (v, &c) in colouring.colour.iter().enumerate() {
            if c == u32::MAX {
                continue;
            }
            let kind = model.kinds()[v];
            let blocks = &mut by_colour[c as usize];
            match blocks.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, nodes)) => nodes.push(NodeId(v as u32)),
                None => blocks.push((kind, vec![NodeId(v as u32)])),
            }
        }
        let superblocks = by_colour
            .into_iter()
            .filter(|b| !b.is_empty())
            .map(|mut blocks| {
                blocks.sort_by_key(|(k, _)| kind_order(*k));
                blocks.into_iter().map(|(_, nodes)| nodes).collect()
            })
            .collect();
        BlockSchedule {
            superblocks,
            method: Some(colouring.method),
        }
    }

    /// Number of blocks.
    pub fn block_count(&self) -> usize {
        self.superblocks.iter().map(Vec::len).sum()
    }
}

fn kind_order(kind: NodeKind) -> (u8, u32) {
    match kind {
        NodeKind::Spin => (0, 0),
        NodeKind::Binary => (1, 0),
        NodeKind::Categorical(k) => (2, k),
        NodeKind::Gaussian => (3, 0),
    }
}

/// Rejects a block holding two nodes that share a factor instance.
fn validate_interactions(model: &Model, spec: &BlockSpec) -> Result<(), CompileError> {
    let mut block_of = vec![u32::MAX; model.node_count()];
    for (b, block) in spec.superblocks.iter().flatten().enumerate() {
        for &n in block {
            block_of[n.index()] = b as u32;
        }
    }
    let mut members: Vec<NodeId> = Vec::new();
    for factor in model.factors() {
        for i in 0..factor.instances() {
            members.clear();
            members.extend(
                factor
                    .instance_nodes(i)
                    .filter(|n| block_of[n.index()] != u32::MAX),
            );
            for a in 0..members.len() {
                for b in a + 1..members.len() {
                    let (na, nb) = (members[a], members[b]);
                    if block_of[na.index()] == block_of[nb.index()] {
                        return Err(CompileError::InteractingNodesInBlock {
                            block: block_of[na.index()] as usize,
                            a: model.node_name(na),
                            b: model.node_name(nb),
                            factor: factor.name.clone(),
                        });
                    }
                }
            }
        }
    }
    Ok(())
}
