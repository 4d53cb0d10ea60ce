//! Colouring of the interaction graph of free nodes: two nodes interact when they share a
//! factor instance; nodes of one colour can be updated together.
//!
//! Strategy, cheapest first: a breadth-first 2-colouring proves bipartite graphs (square and
//! cubic lattices with even sides, RBMs, chains) 2-colourable in O(N + E) — the closed form
//! for lattices without needing to be told the geometry; otherwise petgraph's DSATUR on
//! graphs up to [`DSATUR_LIMIT`] nodes (few colours, e.g. 3 on a triangular lattice), and a
//! first-fit greedy pass in decreasing-degree order beyond.

use blockgibbs_ir::{Model, NodeId};
use petgraph::graph::UnGraph;

/// Largest graph (in free nodes) coloured with DSATUR; its heap and hash sets cost about a
/// microsecond per node, so beyond this the greedy pass is used.
pub const DSATUR_LIMIT: usize = 50_000;

/// Which algorithm produced a colouring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColouringMethod {
    /// Breadth-first 2-colouring of a bipartite graph (optimal).
    Bipartite,
    /// petgraph's DSATUR.
    Dsatur,
    /// First-fit greedy in decreasing-degree order.
    Greedy,
}

/// Adjacency of the free nodes in compressed sparse row form, without duplicate edges.
#[derive(Clone, Debug)]
pub struct InteractionGraph {
    /// `neighbours[offsets[n]..offsets[n+1]]` are the neighbours of node `n`.
    pub offsets: Vec<u64>,
    /// Concatenated neighbour lists (node ids).
    pub neighbours: Vec<u32>,
}

impl InteractionGraph {
    /// Builds the graph of a model; clamped nodes are left out (they are never updated, so
    /// they constrain nobody's colour).
    pub fn of_model(model: &Model) -> InteractionGraph {
        let n = model.node_count();
        let free = |id: NodeId| !model.is_clamped(id);
        let mut degree = vec![0u64; n + 1];
        let mut members = Vec::new();
        let for_each_pair = |f: &mut dyn FnMut(u32, u32), members: &mut Vec<u32>| {
            for factor in model.factors() {
                for i in 0..factor.instances() {
                    members.clear();
                    members.extend(
                        factor
                            .instance_nodes(i)
                            .filter(|&id| free(id))
                            .map(|id| id.0),
                    );
                    for a in 0..members.len() {
                        for b in a + 1..members.len() {
                            f(members[a], members[b]);
                        }
                    }
                }
            }
        };
        for_each_pair(
            &mut |a, b| {
                degree[a as usize] += 1;
                degree[b as usize] += 1;
            },
            &mut members,
        );
        let mut offsets = vec![0u64; n + 1];
        for i in 0..n {
            offsets[i + 1] = offsets[i] + degree[i];
        }
        let mut cursor = offsets.clone();
        let mut neighbours = vec![0u32; offsets[n] as usize];
        for_each_pair(
            &mut |a, b| {
                neighbours[cursor[a as usize] as usize] = b;
                cursor[a as usize] += 1;
                neighbours[cursor[b as usize] as usize] = a;
                cursor[b as usize] += 1;
            },
            &mut members,
        );
        // Remove duplicate edges (the same pair in several factors) in place.
        let mut write = 0usize;
        let mut new_offsets = vec![0u64; n + 1];
        for v in 0..n {
            let (lo, hi) = (offsets[v] as usize, offsets[v + 1] as usize);
            neighbours[lo..hi].sort_unstable();
            let start = write;
            for r in lo..hi {
                if r == lo || neighbours[r] != neighbours[r - 1] {
                    neighbours[write] = neighbours[r];
                    write += 1;
                }
            }
            new_offsets[v] = start as u64;
            new_offsets[v + 1] = write as u64;
        }
        neighbours.truncate(write);
        neighbours.shrink_to_fit();
        InteractionGraph {
            offsets: new_offsets,
            neighbours,
        }
    }

    /// Neighbours of node `v`.
    pub fn neighbours(&self, v: usize) -> &[u32] {
        &self.neighbours[self.offsets[v] as usize..self.offsets[v + 1] as usize]
    }

    /// Number of nodes (free or not).
    pub fn node_count(&self) -> usize {
        self.offsets.len() - 1
    }
}

/// A colour per node (`u32::MAX` for nodes not coloured, i.e. clamped), the number of colours
/// and the method used.
#[derive(Clone, Debug)]
pub struct Colouring {
    /// Colour of each node.
    pub colour: Vec<u32>,
    /// Number of colours.
    pub count: u32,
    /// Algorithm used.
    pub method: ColouringMethod,
}

/// Colours the free nodes of `graph`; `free[v]` says which nodes take part.
pub fn colour(graph: &InteractionGraph, free: &[bool]) -> Colouring {
    if let Some(c) = bipartite(graph, free) {
        return c;
    }
    if free.iter().filter(|&&f| f).count() <= DSATUR_LIMIT {
        return dsatur(graph, free);
    }
    greedy(graph, free)
}

/// Breadth-first 2-colouring, or `None` if some component has an odd cycle.
pub fn bipartite(graph: &InteractionGraph, free: &[bool]) -> Option<Colouring> {
    let n = graph.node_count();
    let mut colour = vec![u32::MAX; n];
    let mut queue = std::collections::VecDeque::new();
    let mut count = 0;
    for start in 0..n {
        if !free[start] || colour[start] != u32::MAX {
            continue;
        }
        colour[start] = 0;
        count = count.max(1);
        queue.push_back(start as u32);
        while let Some(v) = queue.pop_front() {
            let cv = colour[v as usize];
            for &w in graph.neighbours(v as usize) {
                let cw = &mut colour[w as usize];
                if *cw == u32::MAX {
                    *cw = 1 - cv;
                    count = 2;
                    queue.push_back(w);
                } else if *cw == cv {
                    return None;
                }
            }
        }
    }
    Some(Colouring {
        colour,
        count,
        method: ColouringMethod::Bipartite,
    })
}

/// DSATUR through petgraph.
pub fn dsatur(graph: &InteractionGraph, free: &[bool]) -> Colouring {
    let n = graph.node_count();
    let mut g = UnGraph::<(), ()>::with_capacity(n, graph.neighbours.len() / 2);
    let idx: Vec<_> = (0..n).map(|_| g.add_node(())).collect();
    for v in 0..n {
        for &w in graph.neighbours(v) {
            if (v as u32) < w {
                g.add_edge(idx[v], idx[w as usize], ());
            }
        }
    }
    let (map, _) = petgraph::algo::dsatur_coloring(&g);
    let mut colour = vec![u32::MAX; n];
    for v in (0..n).filter(|&v| free[v]) {
        colour[v] = map[&idx[v]] as u32;
    }
    compact(colour, ColouringMethod::Dsatur)
}

/// First-fit greedy colouring in decreasing-degree order (Welsh–Powell).
pub fn greedy(graph: &InteractionGraph, free: &[bool]) -> Colouring {
    let n = graph.node_count();
    let mut order: Vec<u32> = (0..n as u32).filter(|&v| free[v as usize]).collect();
    order.sort_by_key(|&v| std::cmp::Reverse(graph.neighbours(v as usize).len()));
    let mut colour = vec![u32::MAX; n];
    let mut stamp: Vec<u32> = Vec::new();
    for (round, &v) in order.iter().enumerate() {
        let mark = round as u32 + 1;
        for &w in graph.neighbours(v as usize) {
            let c = colour[w as usize];
            if c != u32::MAX {
                if stamp.len() <= c as usize {
                    stamp.resize(c as usize + 1, 0);
                }
                stamp[c as usize] = mark;
            }
        }
        let c = (0..)
            .find(|&c| stamp.get(c).is_none_or(|&s| s != mark))
            .unwrap_or(0);
        colour[v as usize] = c as u32;
    }
    compact(colour, ColouringMethod::Greedy)
}

/// Renumbers colours densely from 0 in order of first appearance.
fn compact(mut colour: Vec<u32>, method: ColouringMethod) -> Colouring {
    let mut map = std::collections::HashMap::new();
    for c in colour.iter_mut().filter(|c| **c != u32::MAX) {
        let next = map.len() as u32;
        *c = *map.entry(*c).or_insert(next);
    }
    Colouring {
        count: map.len() as u32,
        colour,
        method,
    }
}

/// Whether no two adjacent free nodes share a colour.
pub fn is_proper(graph: &InteractionGraph, colouring: &Colouring) -> bool {
    (0..graph.node_count()).all(|v| {
        let c = colouring.colour[v];
        c == u32::MAX
            || graph
                .neighbours(v)
                .iter()
                .all(|&w| colouring.colour[w as usize] != c)
    })
}
