//! The `graph` family: a generic factor graph written out in the model file.
//!
//! ```toml
//! [model]
//! family = "graph"
//! beta = 1.0                       # optional, default 1
//!
//! [[model.groups]]                 # node groups, numbered in order
//! name = "s"
//! kind = "spin"                    # spin | binary | categorical | gaussian
//! size = 3
//! # k = 3                          # number of categories (categorical only)
//! clamped = { index = [0], values = [1] }   # optional; `values` may be one number
//!
//! [[model.factors]]                # Σ_i W[i, c…] · Π s · Π b · Π x^p
//! name = "coupling"
//! products = [{ group = "s", index = [0, 1] }, { group = "s", index = [1, 2] }]
//! # categorical = [{ group = "c", index = [..] }]      # axes of W after the instance axis
//! # gaussian = [{ group = "x", index = [..], power = 2 }]   # power 1 (default) or 2
//! weights = [0.5, -0.25]           # or a number, nested lists, or weights_npy = "w.npy"
//!
//! [[model.blocks]]                 # optional hand-given blocks, one superblock each
//! nodes = [{ group = "s", index = [1, 2] }]
//! update = "sample"                # sample (default) | mean | mode
//! # or [[model.superblocks]] with blocks = [{ nodes = [..], update = ".." }, ..]
//! ```
//!
//! A node reference `{ group, index }` lists one node per factor instance; without `index` it
//! means the whole group in order, and `index_npy = "file.npy"` reads the indices from a
//! one-dimensional integer array. Relative `.npy` paths are resolved against the model
//! file's directory.

use super::error::{ModelFileError, join_key};
use super::families::one;
use super::tensor::{self, Tensor};
use blockgibbs_ir::memory::MODEL_BYTES_PER_NODE;
use blockgibbs_ir::{
    BlockSpec, Factor, MemoryLimit, Model, ModelBuilder, NodeGroup, NodeId, NodeKind, Power,
    UpdateRule,
};
use serde::Deserialize;
use std::path::Path;

/// Largest number of nodes a graph model file may declare.
pub const MAX_GRAPH_NODES: usize = 1 << 28;

/// The `[model]` table of the `graph` family.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphSpec {
    /// Inverse temperature (default 1).
    #[serde(default = "one")]
    pub beta: f32,
    /// Node groups, numbered in order.
    pub groups: Vec<GroupSpec>,
    /// Factors.
    #[serde(default)]
    pub factors: Vec<FactorSpec>,
    /// Hand-given blocks, each its own superblock (sequential block Gibbs).
    #[serde(default)]
    pub blocks: Option<Vec<BlockDef>>,
    /// Hand-given superblocks of blocks (blocks of one superblock are updated together).
    #[serde(default)]
    pub superblocks: Option<Vec<SuperblockDef>>,
}

/// Node kind names of the file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KindName {
    /// ±1.
    Spin,
    /// 0/1.
    Binary,
    /// 0..k−1 (needs `k`).
    Categorical,
    /// Real.
    Gaussian,
}

/// One `[[model.groups]]` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Unique name, used by node references.
    pub name: String,
    /// Node kind.
    pub kind: KindName,
    /// Number of nodes.
    pub size: usize,
    /// Number of categories (categorical groups only).
    #[serde(default)]
    pub k: Option<u32>,
    /// Clamped nodes of the group.
    #[serde(default)]
    pub clamped: Option<ClampSpec>,
}

/// Clamped nodes of a group: indices and their values (one per index, or one for all).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClampSpec {
    /// Indices within the group.
    pub index: Vec<i64>,
    /// Values: a list as long as `index`, or one number for all.
    pub values: Tensor,
}

/// A list of nodes of one group: `{ group = "s", index = [..] }`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeRef {
    /// Group name.
    pub group: String,
    /// Indices within the group (default: the whole group in order).
    #[serde(default)]
    pub index: Option<Vec<i64>>,
    /// A `.npy` file of indices instead of `index`.
    #[serde(default)]
    pub index_npy: Option<String>,
}

/// A Gaussian role: a node reference with a power.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaussianRef {
    /// Group name.
    pub group: String,
    /// Indices within the group (default: the whole group in order).
    #[serde(default)]
    pub index: Option<Vec<i64>>,
    /// A `.npy` file of indices instead of `index`.
    #[serde(default)]
    pub index_npy: Option<String>,
    /// 1 (x) or 2 (x²); default 1.
    #[serde(default = "power_one")]
    pub power: u8,
}

fn power_one() -> u8 {
    1
}

/// One `[[model.factors]]` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactorSpec {
    /// Name, used in error messages.
    pub name: String,
    /// Categorical roles: the axes of the weight tensor after the instance axis.
    #[serde(default)]
    pub categorical: Vec<NodeRef>,
    /// Spin and binary roles (each multiplies by its node's value).
    #[serde(default)]
    pub products: Vec<NodeRef>,
    /// Gaussian roles.
    #[serde(default)]
    pub gaussian: Vec<GaussianRef>,
    /// Inline weights: a number (broadcast), a flat list or nested lists of shape
    /// `[instances, K…]`.
    #[serde(default)]
    pub weights: Option<Tensor>,
    /// Weights from a `.npy` file of shape `[instances, K…]` or flat, float32 or float64
    /// (integer arrays are refused: save them with `dtype=np.float32`).
    #[serde(default)]
    pub weights_npy: Option<String>,
}

/// Update rule names of the file format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleName {
    /// Gibbs sampling.
    #[default]
    Sample,
    /// Conditional expectation (mean field).
    Mean,
    /// Most probable value.
    Mode,
}

impl From<RuleName> for UpdateRule {
    fn from(r: RuleName) -> UpdateRule {
        match r {
            RuleName::Sample => UpdateRule::Sample,
            RuleName::Mean => UpdateRule::Mean,
            RuleName::Mode => UpdateRule::Mode,
        }
    }
}

/// A hand-given block: its nodes and update rule.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockDef {
    /// The block's nodes.
    pub nodes: Vec<NodeRef>,
    /// Update rule (default `sample`).
    #[serde(default)]
    pub update: RuleName,
}

/// A hand-given superblock.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuperblockDef {
    /// Blocks updated from the same pre-superblock state.
    pub blocks: Vec<BlockDef>,
}

/// A built graph model and the update rule of each hand-given block (in block order).
#[derive(Clone, Debug)]
pub struct GraphModel {
    /// The validated model.
    pub model: Model,
    /// One rule per hand-given block; empty when the blocks are automatic.
    pub rules: Vec<UpdateRule>,
}

/// Resolves a node reference against `groups`; `key` names the reference in errors.
pub fn resolve_nodes(
    group: &str,
    index: Option<&[i64]>,
    index_npy: Option<&str>,
    groups: &[NodeGroup],
    key: &str,
    base_dir: &Path,
) -> Result<Vec<NodeId>, ModelFileError> {
    let g =
        groups
            .iter()
            .find(|g| g.name == group)
            .ok_or_else(|| ModelFileError::UnknownGroup {
                key: join_key(key, "group"),
                group: group.to_string(),
                defined: list_names(groups.iter().map(|g| g.name.as_str())),
            })?;
    let from_npy;
    let (indices, index_key) = match (index, index_npy) {
        (Some(_), Some(_)) => {
            return Err(ModelFileError::InvalidValue {
                key: key.to_string(),
                message: "give either `index` or `index_npy`, not both".into(),
            });
        }
        (None, None) => return Ok(g.ids()),
        (Some(i), None) => (i, join_key(key, "index")),
        (None, Some(file)) => {
            let k = join_key(key, "index_npy");
            from_npy = tensor::read_npy_indices(&k, &tensor::resolve(base_dir, file))?;
            (from_npy.as_slice(), k)
        }
    };
    indices
        .iter()
        .map(|&i| {
            usize::try_from(i)
                .ok()
                .and_then(|u| g.get(u))
                .ok_or_else(|| ModelFileError::IndexOutOfRange {
                    key: index_key.clone(),
                    group: g.name.clone(),
                    index: i,
                    size: g.len(),
                })
        })
        .collect()
}

fn list_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

impl GraphSpec {
    /// The `.npy` files the graph reads (weights and node indices), each with its key,
    /// resolved against `base_dir`.
    pub fn referenced_files(&self, base_dir: &Path) -> Vec<(String, std::path::PathBuf)> {
        let mut files = Vec::new();
        let mut add = |key: String, file: &Option<String>| {
            if let Some(f) = file {
                files.push((key, tensor::resolve(base_dir, f)));
            }
        };
        for (i, f) in self.factors.iter().enumerate() {
            let key = format!("model.factors[{i}]");
            add(format!("{key}.weights_npy"), &f.weights_npy);
            for (j, r) in f.categorical.iter().enumerate() {
                add(format!("{key}.categorical[{j}].index_npy"), &r.index_npy);
            }
            for (j, r) in f.products.iter().enumerate() {
                add(format!("{key}.products[{j}].index_npy"), &r.index_npy);
            }
            for (j, r) in f.gaussian.iter().enumerate() {
                add(format!("{key}.gaussian[{j}].index_npy"), &r.index_npy);
            }
        }
        let blocks = self
            .blocks
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, b)| (format!("model.blocks[{i}]"), b));
        let nested = self
            .superblocks
            .iter()
            .flatten()
            .enumerate()
            .flat_map(|(s, sb)| {
                sb.blocks
                    .iter()
                    .enumerate()
                    .map(move |(i, b)| (format!("model.superblocks[{s}].blocks[{i}]"), b))
            });
        for (key, block) in blocks.chain(nested) {
            for (j, r) in block.nodes.iter().enumerate() {
                add(format!("{key}.nodes[{j}].index_npy"), &r.index_npy);
            }
        }
        files
    }

    /// Builds and validates the model; `.npy` paths are resolved against `base_dir`. Node
    /// groups and broadcast weights larger than `limit` are refused before they are
    /// allocated (inline and `.npy` weights are as large as the files that hold them).
    pub fn build(&self, base_dir: &Path, limit: MemoryLimit) -> Result<GraphModel, ModelFileError> {
        let mut b = ModelBuilder::new();
        let groups = self.build_groups(&mut b, base_dir, limit)?;
        let mut names = std::collections::HashMap::with_capacity(self.factors.len());
        for (i, f) in self.factors.iter().enumerate() {
            let key = format!("model.factors[{i}]");
            // Errors, `info` and weight updates find factors by name: two with one name
            // would make them ambiguous.
            if let Some(first) = names.insert(f.name.as_str(), i) {
                return Err(ModelFileError::InvalidValue {
                    key: format!("{key}.name"),
                    message: format!(
                        "factor name `{}` is already used by model.factors[{first}]; factor names must be unique",
                        f.name
                    ),
                });
            }
            let factor = build_factor(f, &groups, &key, base_dir, limit)?;
            b.factor(factor);
        }
        let rules = match (&self.blocks, &self.superblocks) {
            (Some(_), Some(_)) => {
                return Err(ModelFileError::InvalidValue {
                    key: "model.superblocks".into(),
                    message: "give either `blocks` or `superblocks`, not both".into(),
                });
            }
            (None, None) => Vec::new(),
            (Some(blocks), None) => {
                let sbs: Vec<&[BlockDef]> = blocks.iter().map(std::slice::from_ref).collect();
                let keys = (0..blocks.len()).map(|i| format!("model.blocks[{i}]"));
                hand_blocks(&mut b, &groups, &sbs, keys.collect(), base_dir)?
            }
            (None, Some(sbs)) => {
                let keys = sbs
                    .iter()
                    .enumerate()
                    .flat_map(|(s, sb)| {
                        (0..sb.blocks.len())
                            .map(move |i| format!("model.superblocks[{s}].blocks[{i}]"))
                    })
                    .collect();
                let lists: Vec<&[BlockDef]> = sbs.iter().map(|s| s.blocks.as_slice()).collect();
                hand_blocks(&mut b, &groups, &lists, keys, base_dir)?
            }
        };
        Ok(GraphModel {
            model: b.build()?,
            rules,
        })
    }

    fn build_groups(
        &self,
        b: &mut ModelBuilder,
        base_dir: &Path,
        limit: MemoryLimit,
    ) -> Result<Vec<NodeGroup>, ModelFileError> {
        if self.groups.is_empty() {
            return Err(ModelFileError::InvalidValue {
                key: "model.groups".into(),
                message: "a graph needs at least one node group".into(),
            });
        }
        let mut total = 0usize;
        let mut groups = Vec::with_capacity(self.groups.len());
        for (i, g) in self.groups.iter().enumerate() {
            let key = format!("model.groups[{i}]");
            total = total.saturating_add(g.size);
            if total > MAX_GRAPH_NODES {
                return Err(ModelFileError::InvalidValue {
                    key: format!("{key}.size"),
                    message: format!("the graph exceeds {MAX_GRAPH_NODES} nodes"),
                });
            }
            let bytes = (total as u64).checked_mul(MODEL_BYTES_PER_NODE);
            limit.check(
                format!("{key}.size = {} ({total} nodes so far)", g.size),
                bytes,
            )?;
            let kind = match (g.kind, g.k) {
                (KindName::Categorical, Some(k)) => NodeKind::Categorical(k),
                (KindName::Categorical, None) => {
                    return Err(ModelFileError::MissingKey {
                        key: format!("{key}.k"),
                    });
                }
                (_, Some(_)) => {
                    return Err(ModelFileError::InvalidValue {
                        key: format!("{key}.k"),
                        message: "`k` is only for categorical groups".into(),
                    });
                }
                (KindName::Spin, None) => NodeKind::Spin,
                (KindName::Binary, None) => NodeKind::Binary,
                (KindName::Gaussian, None) => NodeKind::Gaussian,
            };
            let group = b.group(&g.name, kind, g.size)?;
            groups.push(group);
            if let Some(c) = &g.clamped {
                let ckey = format!("{key}.clamped");
                let nodes = resolve_nodes(&g.name, Some(&c.index), None, &groups, &ckey, base_dir)?;
                let vkey = format!("{ckey}.values");
                let values = c.values.to_dense(&vkey)?;
                let values = match values.shape.len() {
                    0 => vec![values.data[0]; nodes.len()],
                    1 if values.data.len() == nodes.len() => values.data,
                    _ => {
                        return Err(ModelFileError::ShapeMismatch {
                            key: vkey,
                            expected: vec![nodes.len()],
                            found: values.shape,
                        });
                    }
                };
                for (n, v) in nodes.into_iter().zip(values) {
                    b.clamp(n, v);
                }
            }
        }
        Ok(groups)
    }
}

/// Resolves hand-given blocks into the builder; returns the rule of each block in order.
fn hand_blocks(
    b: &mut ModelBuilder,
    groups: &[NodeGroup],
    superblocks: &[&[BlockDef]],
    keys: Vec<String>,
    base_dir: &Path,
) -> Result<Vec<UpdateRule>, ModelFileError> {
    let mut keys = keys.into_iter();
    let mut spec = BlockSpec::default();
    let mut rules = Vec::new();
    for sb in superblocks {
        let mut blocks = Vec::with_capacity(sb.len());
        for block in sb.iter() {
            let key = keys.next().unwrap_or_default();
            let mut nodes = Vec::new();
            for (j, r) in block.nodes.iter().enumerate() {
                nodes.extend(resolve_nodes(
                    &r.group,
                    r.index.as_deref(),
                    r.index_npy.as_deref(),
                    groups,
                    &format!("{key}.nodes[{j}]"),
                    base_dir,
                )?);
            }
            blocks.push(nodes);
            rules.push(block.update.into());
        }
        spec.superblocks.push(blocks);
    }
    b.blocks(spec);
    Ok(rules)
}

/// Builds one factor: resolves its roles and fits its weights to `[instances, K…]`.
fn build_factor(
    f: &FactorSpec,
    groups: &[NodeGroup],
    key: &str,
    base_dir: &Path,
    limit: MemoryLimit,
) -> Result<Factor, ModelFileError> {
    let mut factor = Factor::new(f.name.clone());
    let mut dims = Vec::new();
    let resolve = |group: &str, index: &Option<Vec<i64>>, npy: &Option<String>, rkey: String| {
        resolve_nodes(
            group,
            index.as_deref(),
            npy.as_deref(),
            groups,
            &rkey,
            base_dir,
        )
    };
    for (j, r) in f.categorical.iter().enumerate() {
        let nodes = resolve(
            &r.group,
            &r.index,
            &r.index_npy,
            format!("{key}.categorical[{j}]"),
        )?;
        dims.push(
            match groups.iter().find(|g| g.name == r.group).map(|g| g.kind) {
                Some(NodeKind::Categorical(k)) => Some(k as usize),
                _ => None,
            },
        );
        factor = factor.categorical(nodes);
    }
    for (j, r) in f.products.iter().enumerate() {
        let nodes = resolve(
            &r.group,
            &r.index,
            &r.index_npy,
            format!("{key}.products[{j}]"),
        )?;
        factor = factor.product(nodes);
    }
    for (j, r) in f.gaussian.iter().enumerate() {
        let nodes = resolve(
            &r.group,
            &r.index,
            &r.index_npy,
            format!("{key}.gaussian[{j}]"),
        )?;
        let power = Power::from_u8(r.power).ok_or_else(|| ModelFileError::InvalidValue {
            key: format!("{key}.gaussian[{j}].power"),
            message: format!(
                "factor `{}`: Gaussian power {} is not supported (use 1 or 2)",
                f.name, r.power
            ),
        })?;
        factor = factor.gaussian(nodes, power);
    }
    // The expected shape, when the roles agree on the instance count and every categorical
    // role is categorical; otherwise model validation reports the problem precisely.
    let instances = factor.instances();
    let consistent = factor.roles().all(|(_, nodes)| nodes.len() == instances);
    let expected: Option<Vec<usize>> = consistent
        .then(|| {
            std::iter::once(Some(instances))
                .chain(dims)
                .collect::<Option<Vec<usize>>>()
        })
        .flatten();
    let dense = match (&f.weights, &f.weights_npy) {
        (Some(_), Some(_)) => {
            return Err(ModelFileError::InvalidValue {
                key: key.to_string(),
                message: "give either `weights` or `weights_npy`, not both".into(),
            });
        }
        (None, None) => {
            return Err(ModelFileError::MissingKey {
                key: join_key(key, "weights"),
            });
        }
        (Some(t), None) => (
            t.to_dense(&join_key(key, "weights"))?,
            join_key(key, "weights"),
        ),
        (None, Some(file)) => {
            let k = join_key(key, "weights_npy");
            (
                tensor::read_npy_f32(&k, &tensor::resolve(base_dir, file))?,
                k,
            )
        }
    };
    if let Some(shape) = &expected {
        let len = tensor::checked_len(shape, &dense.1)?;
        let what = format!("{} (shape {shape:?})", dense.1);
        limit.check(what, (len as u64).checked_mul(4))?;
    }
    let weights = dense.0.fit(expected.as_deref(), &dense.1)?;
    Ok(factor.weights(weights))
}
