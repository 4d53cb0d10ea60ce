//! Compile-time specialisation of interaction groups: what the emitter can fold or unroll
//! because the lowered tables are known when the kernel is built.

use blockgibbs_ir::{HeadRole, InteractionGroup, Program};

/// Largest per-head term count emitted as straight-line code instead of a loop.
pub const UNROLL_MAX: u32 = 8;

/// Largest weight sub-tensor (head categories × tail categories) folded into constants.
pub const FOLD_MAX: usize = 64;

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
        }
    }
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
    let offsets: Vec<usize> = (0..head_values)
        .flat_map(|k| {
            let dims = &dims;
            (0..combos).map(move |mut c| {
                let mut off = k * head_stride as usize;
                for (j, &d) in dims.iter().enumerate().rev() {
                    off += (c % d as usize) * g.cat_strides[j] as usize;
                    c /= d as usize;
                }
                off
            })
        })
        .collect();
    let read = |t: usize| -> Vec<u32> {
        offsets
            .iter()
            .map(|&o| program.weights[g.weight_base[t] as usize + o].to_bits())
            .collect()
    };
    let first = read(0);
    if (1..g.term_count()).all(|t| read(t) == first) {
        Some(WeightSource::Folded {
            table: first.into_iter().map(f32::from_bits).collect(),
            tail_dims: dims,
        })
    } else {
        None
    }
}
