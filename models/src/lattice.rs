//! Edge lists of regular lattices, with nodes numbered row-major (x fastest).

use blockgibbs_ir::{NodeGroup, NodeId};

/// Nearest-neighbour edges of an `l × l` square lattice. With `periodic`, the boundaries wrap
/// (a torus); for `l = 2` that doubles each bond, as on the 2 × 2 torus.
pub fn square(l: usize, periodic: bool) -> Vec<(u32, u32)> {
    let id = |x: usize, y: usize| (y * l + x) as u32;
    let mut edges = Vec::with_capacity(2 * l * l);
    for y in 0..l {
        for x in 0..l {
            if x + 1 < l || (periodic && l > 1) {
                edges.push((id(x, y), id((x + 1) % l, y)));
            }
            if y + 1 < l || (periodic && l > 1) {
                edges.push((id(x, y), id(x, (y + 1) % l)));
            }
        }
    }
    edges
}

/// Nearest-neighbour edges of an `l × l × l` cubic lattice.
pub fn cubic(l: usize, periodic: bool) -> Vec<(u32, u32)> {
    let id = |x: usize, y: usize, z: usize| ((z * l + y) * l + x) as u32;
    let mut edges = Vec::with_capacity(3 * l * l * l);
    let wraps = periodic && l > 1;
    for z in 0..l {
        for y in 0..l {
            for x in 0..l {
                if x + 1 < l || wraps {
                    edges.push((id(x, y, z), id((x + 1) % l, y, z)));
                }
                if y + 1 < l || wraps {
                    edges.push((id(x, y, z), id(x, (y + 1) % l, z)));
                }
                if z + 1 < l || wraps {
                    edges.push((id(x, y, z), id(x, y, (z + 1) % l)));
                }
            }
        }
    }
    edges
}

/// Nearest-neighbour edges of an `l × l` triangular lattice (square lattice plus the
/// (x+1, y−1) diagonal). Periodic triangular lattices are 3-colourable when 3 divides `l`.
pub fn triangular(l: usize, periodic: bool) -> Vec<(u32, u32)> {
    let mut edges = square(l, periodic);
    let id = |x: usize, y: usize| (y * l + x) as u32;
    for y in 0..l {
        for x in 0..l {
            let right = x + 1 < l || (periodic && l > 1);
            let up = y > 0 || (periodic && l > 1);
            if right && up {
                edges.push((id(x, y), id((x + 1) % l, (y + l - 1) % l)));
            }
        }
    }
    edges
}

/// Splits an edge list over the nodes of `group` into the two endpoint columns a pairwise
/// factor takes.
pub fn endpoints(group: &NodeGroup, edges: &[(u32, u32)]) -> (Vec<NodeId>, Vec<NodeId>) {
    edges
        .iter()
        .map(|&(a, b)| (group.node(a as usize), group.node(b as usize)))
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_counts() {
        assert_eq!(square(4, true).len(), 32);
        assert_eq!(square(4, false).len(), 24);
        assert_eq!(cubic(3, true).len(), 81);
        assert_eq!(cubic(3, false).len(), 54);
        assert_eq!(triangular(3, true).len(), 27);
        assert_eq!(triangular(3, false).len(), 12 + 4);
    }
}
