//! The model in a checkpoint: groups and factor roles in the JSON, factor nodes and live
//! weights, model clamps and hand-given blocks as tensors. Reading rebuilds it through
//! [`ModelBuilder`], so a checkpointed model is validated like any other.

use super::CheckpointError;
use super::format::{FactorMeta, GroupMeta, Reader, Writer};
use blockgibbs_ir::{BlockSpec, Factor, Model, ModelBuilder, NodeId, NodeKind, Power};

/// Writes the model's tensors and returns the JSON parts (groups, factors, whether blocks
/// were given by hand).
pub(crate) fn write_model(
    model: &Model,
    w: &mut Writer,
) -> (Vec<GroupMeta>, Vec<FactorMeta>, bool) {
    let groups = model
        .groups()
        .iter()
        .map(|g| {
            let (kind, categories) = match g.kind {
                NodeKind::Spin => ("spin", None),
                NodeKind::Binary => ("binary", None),
                NodeKind::Categorical(k) => ("categorical", Some(k)),
                NodeKind::Gaussian => ("gaussian", None),
            };
            GroupMeta {
                name: g.name.clone(),
                kind: kind.to_string(),
                categories,
                len: g.len as u64,
            }
        })
        .collect();
    let mut factors = Vec::with_capacity(model.factors().len());
    for (f, factor) in model.factors().iter().enumerate() {
        let instances = factor.instances();
        let arity = factor.arity();
        let mut nodes = Vec::with_capacity(instances * arity);
        for i in 0..instances {
            nodes.extend(factor.instance_nodes(i).map(|n| n.0));
        }
        w.u32(
            &format!("factors.{f}.nodes"),
            vec![instances, arity],
            &nodes,
        );
        w.f32(
            &format!("factors.{f}.weights"),
            factor.weight_shape(model.kinds()),
            &factor.weights,
        );
        factors.push(FactorMeta {
            name: factor.name.clone(),
            categorical: factor.categorical.len() as u64,
            products: factor.products.len() as u64,
            gaussian_powers: factor.gaussian.iter().map(|g| g.power.get()).collect(),
        });
    }
    let (clamp_nodes, clamp_values): (Vec<u32>, Vec<f32>) = model
        .clamped()
        .iter()
        .enumerate()
        .filter_map(|(n, v)| v.map(|v| (n as u32, v)))
        .unzip();
    w.u32("model.clamped_nodes", vec![clamp_nodes.len()], &clamp_nodes);
    w.f32(
        "model.clamped_values",
        vec![clamp_values.len()],
        &clamp_values,
    );
    let hand = model.block_spec();
    if let Some(spec) = hand {
        let supers: Vec<u32> = spec.superblocks.iter().map(|s| s.len() as u32).collect();
        let sizes: Vec<u32> = spec
            .superblocks
            .iter()
            .flatten()
            .map(|b| b.len() as u32)
            .collect();
        let nodes: Vec<u32> = spec
            .superblocks
            .iter()
            .flatten()
            .flatten()
            .map(|n| n.0)
            .collect();
        w.u32("model.blocks.superblock_sizes", vec![supers.len()], &supers);
        w.u32("model.blocks.block_sizes", vec![sizes.len()], &sizes);
        w.u32("model.blocks.nodes", vec![nodes.len()], &nodes);
    }
    (groups, factors, hand.is_some())
}

fn kind_of(r: &Reader<'_>, g: &GroupMeta, at: usize) -> Result<NodeKind, CheckpointError> {
    let what = format!("run.groups[{at}].kind");
    match (g.kind.as_str(), g.categories) {
        ("spin", None) => Ok(NodeKind::Spin),
        ("binary", None) => Ok(NodeKind::Binary),
        ("gaussian", None) => Ok(NodeKind::Gaussian),
        ("categorical", Some(k)) => Ok(NodeKind::Categorical(k)),
        ("categorical", None) => Err(r.corrupt(&what, "a categorical group needs `categories`")),
        (other, _) => Err(r.corrupt(
            &what,
            format!("`{other}` is not spin, binary, categorical or gaussian (with `categories` only for categorical)"),
        )),
    }
}

/// Rebuilds the model of a checkpoint with `nodes` nodes (already checked against the state
/// tensor, which bounds every allocation below by the file's size).
pub(crate) fn read_model(r: &Reader<'_>, nodes: usize) -> Result<Model, CheckpointError> {
    let run = &r.run;
    let total = run
        .groups
        .iter()
        .try_fold(0u64, |acc, g| acc.checked_add(g.len));
    if total != Some(nodes as u64) {
        return Err(r.corrupt(
            "run.groups",
            format!("the groups do not add up to the {nodes} nodes of the state"),
        ));
    }
    let mut b = ModelBuilder::new();
    for (at, g) in run.groups.iter().enumerate() {
        let kind = kind_of(r, g, at)?;
        b.group(&g.name, kind, g.len as usize)
            .map_err(|e| model_error(r, e))?;
    }
    for (f, meta) in run.factors.iter().enumerate() {
        b.factor(read_factor(r, f, meta)?);
    }
    let clamp_count = r.shape("model.clamped_nodes")?;
    if clamp_count.len() != 1 {
        return Err(r.corrupt(
            "model.clamped_nodes",
            format!("shape {clamp_count:?}, expected [clamped nodes]"),
        ));
    }
    let clamp_nodes = r.u32("model.clamped_nodes", &clamp_count)?;
    let clamp_values = r.f32("model.clamped_values", &clamp_count)?;
    for (&n, &v) in clamp_nodes.iter().zip(&clamp_values) {
        b.clamp(NodeId(n), v);
    }
    if run.hand_blocks {
        b.blocks(read_blocks(r)?);
    }
    b.build().map_err(|e| model_error(r, e))
}

fn model_error(r: &Reader<'_>, e: blockgibbs_ir::ModelError) -> CheckpointError {
    CheckpointError::Model {
        path: r.path().to_path_buf(),
        source: Box::new(e),
    }
}

fn read_factor(r: &Reader<'_>, f: usize, meta: &FactorMeta) -> Result<Factor, CheckpointError> {
    let name = format!("factors.{f}.nodes");
    let shape = r.shape(&name)?;
    let arity = meta.categorical as usize + meta.products as usize + meta.gaussian_powers.len();
    if shape.len() != 2 || shape[1] != arity {
        return Err(r.corrupt(
            &name,
            format!(
                "shape {shape:?}, expected [instances, {arity}] for the roles in run.factors[{f}]"
            ),
        ));
    }
    let instances = shape[0];
    let nodes = r.u32(&name, &shape)?;
    let column = |j: usize| -> Vec<NodeId> {
        (0..instances)
            .map(|i| NodeId(nodes[i * arity + j]))
            .collect()
    };
    let mut factor = Factor::new(meta.name.clone());
    let mut j = 0;
    for _ in 0..meta.categorical {
        factor = factor.categorical(column(j));
        j += 1;
    }
    for _ in 0..meta.products {
        factor = factor.product(column(j));
        j += 1;
    }
    for (g, &p) in meta.gaussian_powers.iter().enumerate() {
        let power = Power::from_u8(p).ok_or_else(|| {
            r.corrupt(
                &format!("run.factors[{f}].gaussian_powers[{g}]"),
                format!("power {p} is not 1 or 2"),
            )
        })?;
        factor = factor.gaussian(column(j), power);
        j += 1;
    }
    let wname = format!("factors.{f}.weights");
    let wshape = r.shape(&wname)?;
    if wshape.len() != 1 + meta.categorical as usize || wshape[0] != instances {
        return Err(r.corrupt(
            &wname,
            format!(
                "shape {wshape:?}, expected [{instances}, K_1, …] with one K per categorical role"
            ),
        ));
    }
    Ok(factor.weights(r.f32(&wname, &wshape)?))
}

fn read_blocks(r: &Reader<'_>) -> Result<BlockSpec, CheckpointError> {
    let s_shape = r.shape("model.blocks.superblock_sizes")?;
    let supers = r.u32("model.blocks.superblock_sizes", &s_shape)?;
    let b_shape = r.shape("model.blocks.block_sizes")?;
    let sizes = r.u32("model.blocks.block_sizes", &b_shape)?;
    let n_shape = r.shape("model.blocks.nodes")?;
    let nodes = r.u32("model.blocks.nodes", &n_shape)?;
    if supers.iter().map(|&s| s as u64).sum::<u64>() != sizes.len() as u64 {
        return Err(r.corrupt(
            "model.blocks.superblock_sizes",
            "the superblocks do not add up to the blocks",
        ));
    }
    if sizes.iter().map(|&s| s as u64).sum::<u64>() != nodes.len() as u64 {
        return Err(r.corrupt(
            "model.blocks.block_sizes",
            "the blocks do not add up to the nodes listed",
        ));
    }
    let mut spec = BlockSpec::default();
    let (mut b, mut n) = (0usize, 0usize);
    for &s in &supers {
        let mut blocks = Vec::with_capacity(s as usize);
        for &len in &sizes[b..b + s as usize] {
            blocks.push(
                nodes[n..n + len as usize]
                    .iter()
                    .map(|&x| NodeId(x))
                    .collect(),
            );
            n += len as usize;
        }
        b += s as usize;
        spec.superblocks.push(blocks);
    }
    Ok(spec)
}
