//! Lowering: a model and its block schedule become a [`Program`] of per-block interaction
//! tables (CSR over heads, one group per term shape).

use crate::error::CompileError;
use crate::schedule::BlockSchedule;
use blockgibbs_ir::{
    BlockProgram, Factor, HeadRole, InteractionGroup, Model, NodeId, NodeKind, Power, Program,
    SuperblockProgram,
};
use std::collections::HashMap;

/// The shape shared by all terms of one interaction group.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct GroupKey {
    head: HeadRole,
    cat_strides: Vec<u32>,
    product_tails: u32,
    gaussian_powers: Vec<Power>,
}

/// A factor's roles flattened into canonical order, with what lowering needs per role.
struct FlatFactor<'a> {
    roles: Vec<&'a [NodeId]>,
    /// Group key when the node of role `r` is the head.
    keys: Vec<u32>,
    per_instance: usize,
    offset: u32,
}

fn flatten<'a>(
    f: &'a Factor,
    model: &Model,
    offset: u32,
    keys: &mut HashMap<GroupKey, u32>,
) -> FlatFactor<'a> {
    let dims: Vec<u32> = f
        .categorical
        .iter()
        .map(|r| match r.first().map(|&n| model.kind(n)) {
            Some(NodeKind::Categorical(k)) => k,
            _ => 1,
        })
        .collect();
    let mut strides = vec![1u32; dims.len()];
    for j in (0..dims.len().saturating_sub(1)).rev() {
        strides[j] = strides[j + 1] * dims[j + 1];
    }
    let powers: Vec<Power> = f.gaussian.iter().map(|g| g.power).collect();
    let (nc, np) = (f.categorical.len(), f.products.len());
    let mut flat_keys = Vec::with_capacity(f.arity());
    for r in 0..f.arity() {
        let key = if r < nc {
            let mut cs = strides.clone();
            cs.remove(r);
            GroupKey {
                head: HeadRole::Categorical { stride: strides[r] },
                cat_strides: cs,
                product_tails: np as u32,
                gaussian_powers: powers.clone(),
            }
        } else if r < nc + np {
            GroupKey {
                head: HeadRole::Product,
                cat_strides: strides.clone(),
                product_tails: np as u32 - 1,
                gaussian_powers: powers.clone(),
            }
        } else {
            let mut gp = powers.clone();
            let power = gp.remove(r - nc - np);
            GroupKey {
                head: HeadRole::Gaussian { power },
                cat_strides: strides.clone(),
                product_tails: np as u32,
                gaussian_powers: gp,
            }
        };
        let next = keys.len() as u32;
        flat_keys.push(*keys.entry(key).or_insert(next));
    }
    let roles = f
        .categorical
        .iter()
        .map(Vec::as_slice)
        .chain(f.products.iter().map(Vec::as_slice))
        .chain(f.gaussian.iter().map(|g| g.nodes.as_slice()))
        .collect();
    FlatFactor {
        roles,
        keys: flat_keys,
        per_instance: dims.iter().map(|&k| k as usize).product(),
        offset,
    }
}

/// Per-block lowering state: which key maps to which group, and the groups' tables.
struct BlockBuild {
    group_of_key: Vec<u32>,
    groups: Vec<InteractionGroup>,
}

/// Lowers `model` under `schedule` into a program.
pub fn lower(model: &Model, schedule: &BlockSchedule) -> Result<Program, CompileError> {
    let n = model.node_count();
    let too_large = |what: &str| CompileError::TooLarge {
        what: what.to_string(),
    };
    // Slots: block heads in schedule order, then clamped nodes.
    let mut node_of_slot = Vec::with_capacity(n);
    let mut block_of = vec![u32::MAX; n];
    let mut blocks = Vec::new();
    let mut superblocks = Vec::new();
    for sb in &schedule.superblocks {
        let start = blocks.len();
        for nodes in sb {
            let b = blocks.len() as u32;
            let first_slot = node_of_slot.len() as u32;
            for &node in nodes {
                block_of[node.index()] = b;
                node_of_slot.push(node);
            }
            blocks.push(BlockProgram {
                kind: nodes.first().map_or(NodeKind::Spin, |&n| model.kind(n)),
                first_slot,
                len: nodes.len() as u32,
                groups: Vec::new(),
            });
        }
        superblocks.push(SuperblockProgram {
            blocks: start..blocks.len(),
            needs_snapshot: false,
        });
    }
    node_of_slot.extend((0..n as u32).map(NodeId).filter(|&id| model.is_clamped(id)));
    if node_of_slot.len() != n {
        return Err(too_large(
            "block schedule does not cover every free node exactly once",
        ));
    }
    let mut slot_of = vec![0u32; n];
    for (s, node) in node_of_slot.iter().enumerate() {
        slot_of[node.index()] = s as u32;
    }

    // Weights and flattened factors.
    let total_weights: usize = model.factors().iter().map(|f| f.weights.len()).sum();
    if total_weights >= u32::MAX as usize {
        return Err(too_large("more than 2^32 weights"));
    }
    let mut weights = Vec::with_capacity(total_weights);
    let mut keys = HashMap::new();
    let mut flats = Vec::with_capacity(model.factors().len());
    for f in model.factors() {
        flats.push(flatten(f, model, weights.len() as u32, &mut keys));
        weights.extend_from_slice(&f.weights);
    }
    let mut key_list = vec![None; keys.len()];
    for (k, id) in keys {
        key_list[id as usize] = Some(k);
    }
    let key_list: Vec<GroupKey> = key_list.into_iter().map(Option::unwrap).collect();

    let mut builds: Vec<BlockBuild> = blocks
        .iter()
        .map(|_| BlockBuild {
            group_of_key: vec![u32::MAX; key_list.len()],
            groups: Vec::new(),
        })
        .collect();

    // Pass 1: count terms per (block, group, head).
    for flat in &flats {
        for (r, role) in flat.roles.iter().enumerate() {
            for &node in role.iter() {
                let b = block_of[node.index()];
                if b == u32::MAX {
                    continue;
                }
                let build = &mut builds[b as usize];
                let block = &blocks[b as usize];
                let key = flat.keys[r] as usize;
                if build.group_of_key[key] == u32::MAX {
                    build.group_of_key[key] = build.groups.len() as u32;
                    let k = &key_list[key];
                    build.groups.push(InteractionGroup {
                        head: k.head,
                        cat_strides: k.cat_strides.clone(),
                        product_tails: k.product_tails,
                        gaussian_powers: k.gaussian_powers.clone(),
                        offsets: vec![0; block.len as usize + 1],
                        weight_base: Vec::new(),
                        tails: Vec::new(),
                    });
                }
                let g = &mut build.groups[build.group_of_key[key] as usize];
                g.offsets[(slot_of[node.index()] - block.first_slot) as usize + 1] += 1;
            }
        }
    }
    for build in &mut builds {
        for g in &mut build.groups {
            for h in 1..g.offsets.len() {
                g.offsets[h] += g.offsets[h - 1];
            }
            let terms = *g.offsets.last().unwrap_or(&0) as usize;
            g.weight_base = vec![0; terms];
            g.tails = vec![0; terms * g.arity()];
        }
    }

    // Pass 2: fill the terms.
    let mut cursors: Vec<Vec<Vec<u32>>> = builds
        .iter()
        .map(|b| {
            b.groups
                .iter()
                .map(|g| g.offsets[..g.offsets.len() - 1].to_vec())
                .collect()
        })
        .collect();
    for flat in &flats {
        let instances = flat.roles.first().map_or(0, |r| r.len());
        for i in 0..instances {
            for (r, role) in flat.roles.iter().enumerate() {
                let node = role[i];
                let b = block_of[node.index()];
                if b == u32::MAX {
                    continue;
                }
                let build = &mut builds[b as usize];
                let gi = build.group_of_key[flat.keys[r] as usize] as usize;
                let g = &mut build.groups[gi];
                let local = (slot_of[node.index()] - blocks[b as usize].first_slot) as usize;
                let t = cursors[b as usize][gi][local] as usize;
                cursors[b as usize][gi][local] += 1;
                let base = flat.offset as u64 + (i * flat.per_instance) as u64;
                g.weight_base[t] = base as u32;
                let arity = g.arity();
                let mut w = t * arity;
                for (r2, role2) in flat.roles.iter().enumerate() {
                    if r2 != r {
                        g.tails[w] = slot_of[role2[i].index()];
                        w += 1;
                    }
                }
            }
        }
    }
    for (block, build) in blocks.iter_mut().zip(builds) {
        block.groups = build.groups;
    }
    mark_snapshots(&flats, &block_of, &blocks, &mut superblocks);
    let program = Program {
        kind_of_slot: node_of_slot.iter().map(|&id| model.kind(id)).collect(),
        clamped_of_slot: node_of_slot
            .iter()
            .map(|&id| model.clamped()[id.index()])
            .collect(),
        node_of_slot,
        slot_of,
        weights,
        blocks,
        superblocks,
    };
    check_static_precisions(model, &program, &program.weights)?;
    Ok(program)
}

/// Marks superblocks whose blocks interact with each other: those must read a snapshot.
fn mark_snapshots(
    flats: &[FlatFactor],
    block_of: &[u32],
    blocks: &[BlockProgram],
    superblocks: &mut [SuperblockProgram],
) {
    let mut superblock_of_block = vec![0usize; blocks.len()];
    for (s, sb) in superblocks.iter().enumerate() {
        for b in sb.blocks.clone() {
            superblock_of_block[b] = s;
        }
    }
    if superblocks.iter().all(|s| s.blocks.len() < 2) {
        return;
    }
    for flat in flats {
        let instances = flat.roles.first().map_or(0, |r| r.len());
        for i in 0..instances {
            for (a, ra) in flat.roles.iter().enumerate() {
                let ba = block_of[ra[i].index()];
                if ba == u32::MAX {
                    continue;
                }
                for rb in &flat.roles[a + 1..] {
                    let bb = block_of[rb[i].index()];
                    if bb != u32::MAX && bb != ba {
                        let (sa, sb) = (
                            superblock_of_block[ba as usize],
                            superblock_of_block[bb as usize],
                        );
                        if sa == sb {
                            superblocks[sa].needs_snapshot = true;
                        }
                    }
                }
            }
        }
    }
}

/// Rejects Gaussian heads whose precision is constant and not positive (or has no quadratic
/// term at all) under `weights` (laid out as [`Program::weights`]): lowering checks the
/// compiled weights, the runtime every update of live weights. Precisions that depend on
/// other nodes are checked at every update instead.
pub fn check_static_precisions(
    model: &Model,
    program: &Program,
    weights: &[f32],
) -> Result<(), CompileError> {
    for block in program
        .blocks
        .iter()
        .filter(|b| b.kind == NodeKind::Gaussian)
    {
        for h in 0..block.len as usize {
            let mut constant = 0.0f64;
            let mut dynamic = false;
            for g in &block.groups {
                if g.head != (HeadRole::Gaussian { power: Power::Two }) {
                    continue;
                }
                let terms = g.offsets[h] as usize..g.offsets[h + 1] as usize;
                if g.arity() == 0 {
                    constant += terms
                        .map(|t| weights[g.weight_base[t] as usize] as f64)
                        .sum::<f64>();
                } else if !terms.is_empty() {
                    dynamic = true;
                }
            }
            if !dynamic && constant >= 0.0 {
                let node = program.node_of_slot[block.first_slot as usize + h];
                return Err(CompileError::NonPositivePrecision {
                    node: model.node_name(node),
                    precision: -2.0 * constant,
                });
            }
        }
    }
    Ok(())
}
