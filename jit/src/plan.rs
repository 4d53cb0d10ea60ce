//! Compile-time specialisation of interaction groups: what the emitter can fold or unroll
//! because the lowered tables are known when the kernel is built.

use blockgibbs_ir::{BlockProgram, HeadRole, InteractionGroup, NodeKind, Program};

/// Largest per-head term count emitted as straight-line code instead of a loop.
pub const UNROLL_MAX: u32 = 8;

/// Largest weight sub-tensor (head categories × tail categories) folded into constants.
pub const FOLD_MAX: usize = 64;

/// What a specialised kernel folded from one group: the sub-tensor every term shared.
#[derive(Clone, Debug, PartialEq)]
pub struct FoldCheck {
    /// The group's index in its block.
    pub group: usize,
    /// Offsets (from a term's weight base) of the folded values, in table order.
    pub offsets: Vec<usize>,
    /// The folded values.
    pub table: Vec<f32>,
}

impl FoldCheck {
    /// Whether every term of the group still reads exactly the folded values from `weights`
    /// (compared bit for bit, so the folded kernel computes what a general one would).
    pub fn holds(&self, program: &Program, block: &BlockProgram, weights: &[f32]) -> bool {
        let g = &block.groups[self.group];
        weights.len() == program.weights.len()
            && g.weight_base.iter().all(|&base| {
                self.offsets
                    .iter()
                    .zip(&self.table)
                    .all(|(&o, t)| weights[base as usize + o].to_bits() == t.to_bits())
            })
    }
}

/// The folds of a block's plans.
pub fn fold_checks(block: &BlockProgram, plans: &[GroupPlan]) -> Vec<FoldCheck> {
    plans
        .iter()
        .enumerate()
        .filter_map(|(gi, plan)| match &plan.weights {
            WeightSource::Folded { table, tail_dims } => Some(FoldCheck {
                group: gi,
                offsets: fold_offsets(
                    &block.groups[gi],
                    plan.head_values,
                    plan.head_stride,
                    tail_dims,
                ),
                table: table.clone(),
            }),
            WeightSource::Loaded => None,
        })
        .collect()
}

/// The same plans with every weight loaded (valid for any weights).
pub fn without_folding(plans: &[GroupPlan]) -> Vec<GroupPlan> {
    plans
        .iter()
        .map(|p| GroupPlan {
            weights: WeightSource::Loaded,
            ..p.clone()
        })
        .collect()
}

/// How the weights of a group's terms are obtained.
#[derive(Clone, Debug, PartialEq)]
pub enum WeightSource {
    /// Every term has the same sub-tensor: `table[k · tail_combos + tail_index]`, emitted as
    /// constants (selected by lane masks when categorical tails index it).
    Folded {
        table: Vec<f32>,
        tail_dims: Vec<u32>,
    },
    /// Read from the weight array at the term's base (a splat when no categorical tail
    /// indexes it, else one scalar load per lane).
    Loaded,
}

/// The emitter's view of one interaction group.
#[derive(Clone, Debug)]
pub struct GroupPlan {
    /// Terms per head when every head has the same number, else `None`.
    pub uniform_degree: Option<u32>,
    /// Where the weights come from.
    pub weights: WeightSource,
    /// Number of head statistics the group feeds (K for categorical heads, else 1).
    pub head_values: usize,
    /// Weight stride of the head's categories (0 for other heads).
    pub head_stride: u32,
    /// When, within every head, consecutive terms step their weight base and each tail slot
    /// by the same constants (dense layers: RBM weights and contiguous layers), those steps:
    /// the kernel then walks pointers instead of loading indices.
    pub affine: Option<Affine>,
}

/// Constant per-term steps of a group's tables within each head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Affine {
    /// Step of the weight base per term.
    pub base_step: i64,
    /// Step of each tail slot per term.
    pub tail_steps: Vec<i64>,
}

fn affine(g: &InteractionGroup) -> Option<Affine> {
    let arity = g.arity();
    let mut steps: Option<Affine> = None;
    for h in 0..g.offsets.len().saturating_sub(1) {
        let (t0, t1) = (g.offsets[h] as usize, g.offsets[h + 1] as usize);
        if t1 - t0 < 2 {
            continue;
        }
        let here = Affine {
            base_step: g.weight_base[t0 + 1] as i64 - g.weight_base[t0] as i64,
            tail_steps: (0..arity)
                .map(|j| g.tails[(t0 + 1) * arity + j] as i64 - g.tails[t0 * arity + j] as i64)
                .collect(),
        };
        for t in t0..t1 {
            let i = (t - t0) as i64;
            if g.weight_base[t] as i64 != g.weight_base[t0] as i64 + i * here.base_step {
                return None;
            }
            for j in 0..arity {
                if g.tails[t * arity + j] as i64
                    != g.tails[t0 * arity + j] as i64 + i * here.tail_steps[j]
                {
                    return None;
                }
            }
        }
        match &steps {
            None => steps = Some(here),
            Some(s) if *s != here => return None,
            _ => {}
        }
    }
    steps
}

/// Accumulators per head of a block of `kind`: K for categorical, 2 for Gaussian, else 1.
pub fn width(kind: NodeKind) -> usize {
    match kind {
        NodeKind::Categorical(k) => k as usize,
        NodeKind::Gaussian => 2,
        _ => 1,
    }
}

/// The plans of every group of `block` (shared by all kernels of the block).
pub fn block_plans(program: &Program, block: &BlockProgram) -> Vec<GroupPlan> {
    let head_values = match block.kind {
        NodeKind::Categorical(k) => k as usize,
        _ => 1,
    };
    block
        .groups
        .iter()
        .map(|g| GroupPlan::new(program, g, head_values))
        .collect()
}

impl GroupPlan {
    /// Inspects `g` (its tables and the weights it reads).
    pub fn new(program: &Program, g: &InteractionGroup, head_values: usize) -> GroupPlan {
        let degrees = g.offsets.windows(2).map(|w| w[1] - w[0]);
        let first = g.offsets.get(1).copied().unwrap_or(0);
        let uniform_degree = degrees.clone().all(|d| d == first).then_some(first);
        let head_stride = match g.head {
            HeadRole::Categorical { stride } => stride,
            _ => 0,
        };
        // Categorical tails must have strides that enumerate a dense sub-tensor for folding:
        // we recover their dimensions from the kinds of the first term's tail nodes.
        let tail_dims: Option<Vec<u32>> = if g.term_count() == 0 {
            None
        } else {
            g.tails[..g.cat_strides.len()]
                .iter()
                .map(|&slot| match program.kind_of_slot[slot as usize] {
                    blockgibbs_ir::NodeKind::Categorical(k) => Some(k),
                    _ => None,
                })
                .collect()
        };
        let weights = tail_dims
            .and_then(|dims| fold(program, g, head_values, head_stride, dims))
            .unwrap_or(WeightSource::Loaded);
        GroupPlan {
            uniform_degree,
            weights,
            head_values,
            head_stride,
            affine: affine(g),
        }
    }
}

/// Offsets from a term's weight base of its sub-tensor, head value major, then tail
/// categories row-major.
fn fold_offsets(
    g: &InteractionGroup,
    head_values: usize,
    head_stride: u32,
    dims: &[u32],
) -> Vec<usize> {
    let combos: usize = dims.iter().map(|&d| d as usize).product();
    (0..head_values)
        .flat_map(|k| {
            (0..combos).map(move |mut c| {
                let mut off = k * head_stride as usize;
                for (j, &d) in dims.iter().enumerate().rev() {
                    off += (c % d as usize) * g.cat_strides[j] as usize;
                    c /= d as usize;
                }
                off
            })
        })
        .collect()
}

/// The shared sub-tensor of all terms, if every term reads the same values.
fn fold(
    program: &Program,
    g: &InteractionGroup,
    head_values: usize,
    head_stride: u32,
    dims: Vec<u32>,
) -> Option<WeightSource> {
    let nc = dims.len();
    let arity = g.arity();
    let same_dims = (0..g.term_count()).all(|t| {
        g.tails[t * arity..t * arity + nc]
            .iter()
            .zip(&dims)
            .all(|(&slot, &d)| {
                program.kind_of_slot[slot as usize] == blockgibbs_ir::NodeKind::Categorical(d)
            })
    });
    if !same_dims {
        return None;
    }
    let combos: usize = dims.iter().map(|&d| d as usize).product();
    if combos * head_values > FOLD_MAX {
        return None;
    }
    let offsets = fold_offsets(g, head_values, head_stride, &dims);
    let value = |t: usize, o: usize| program.weights[g.weight_base[t] as usize + o].to_bits();
    let same = (1..g.term_count()).all(|t| offsets.iter().all(|&o| value(t, o) == value(0, o)));
    if same {
        Some(WeightSource::Folded {
            table: offsets
                .iter()
                .map(|&o| f32::from_bits(value(0, o)))
                .collect(),
            tail_dims: dims,
        })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blockgibbs_ir::{ModelBuilder, NodeKind};

    fn plans(model: blockgibbs_ir::Model) -> Vec<GroupPlan> {
        let (_, program) = blockgibbs_compiler::compile(&model).unwrap();
        program
            .blocks
            .iter()
            .flat_map(|b| {
                b.groups
                    .iter()
                    .map(|g| GroupPlan::new(&program, g, 1))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn dense_bipartite_layers_are_affine_and_lattices_fold_uniform_weights() {
        let mut b = ModelBuilder::new();
        let v = b.group("v", NodeKind::Binary, 10).unwrap();
        let h = b.group("h", NodeKind::Binary, 12).unwrap();
        let (mut a, mut c) = (Vec::new(), Vec::new());
        for i in 0..10 {
            for j in 0..12 {
                a.push(v.node(i));
                c.push(h.node(j));
            }
        }
        let w: Vec<f32> = (0..120).map(|i| i as f32 * 0.01).collect();
        b.pair_coupling("w", &a, &c, &w);
        let p = plans(b.build().unwrap());
        assert_eq!(p.len(), 2);
        for plan in &p {
            assert_eq!(plan.weights, WeightSource::Loaded);
            let affine = plan.affine.as_ref().expect("dense layer is affine");
            assert_eq!(affine.tail_steps, vec![1]);
        }
        assert_eq!(
            p[0].uniform_degree.unwrap() * p[1].uniform_degree.unwrap(),
            120
        );

        let mut b = ModelBuilder::new();
        let s = b.group("s", NodeKind::Spin, 4).unwrap();
        b.pair_coupling(
            "ring",
            &s.ids(),
            &[s.node(1), s.node(2), s.node(3), s.node(0)],
            &[0.5; 4],
        );
        for plan in plans(b.build().unwrap()) {
            assert_eq!(plan.uniform_degree, Some(2));
            assert!(
                matches!(plan.weights, WeightSource::Folded { ref table, .. } if table == &[0.5])
            );
        }
    }
}
