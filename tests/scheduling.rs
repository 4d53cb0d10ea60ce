//! Block schedules: colour counts of lattices, proper colourings of random graphs by every
//! method, and the typed rejection of invalid hand-given blocks.
mod common;

use blockgibbs::compiler::colouring::{self, ColouringMethod, InteractionGraph};
use blockgibbs::families;
use blockgibbs::lattice;
use blockgibbs::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn spins_on(n: usize, edges: &[(u32, u32)]) -> Model {
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, n).unwrap();
    let (a, c) = lattice::endpoints(&s, edges);
    b.pair_coupling("j", &a, &c, &vec![1.0; edges.len()]);
    b.build().unwrap()
}

/// Compiles `model` and checks that every block is one kind and holds no interacting pair
/// (independently of the compiler: by re-submitting the automatic blocks as hand-given ones,
/// which the validator accepts only if they are sound) and that blocks cover every free node.
fn colours_of(model: &Model) -> usize {
    let (schedule, program) = compile(model).unwrap();
    let graph = InteractionGraph::of_model(model);
    for block in schedule.superblocks.iter().flatten() {
        for (i, &a) in block.iter().enumerate() {
            assert_eq!(model.kind(a), model.kind(block[0]));
            for &b in &block[i + 1..] {
                assert!(
                    !graph.neighbours(a.index()).contains(&b.0),
                    "{a:?} {b:?} interact"
                );
            }
        }
    }
    assert_eq!(
        program.free_count(),
        model.clamped().iter().filter(|c| c.is_none()).count()
    );
    schedule.superblocks.len()
}

#[test]
fn square_and_cubic_lattices_take_two_colours() {
    for (l, periodic) in [
        (4, true),
        (8, true),
        (16, true),
        (4, false),
        (5, false),
        (7, false),
    ] {
        let model = families::ising2d(l, 1.0, 0.0, periodic).unwrap();
        assert_eq!(colours_of(&model), 2, "square L={l} periodic={periodic}");
        let (schedule, _) = compile(&model).unwrap();
        assert_eq!(schedule.method, Some(ColouringMethod::Bipartite));
    }
    for (l, periodic) in [(4, true), (6, true), (3, false), (4, false)] {
        let model = families::ising3d(l, 1.0, 0.0, periodic).unwrap();
        assert_eq!(colours_of(&model), 2, "cubic L={l} periodic={periodic}");
    }
    // An odd periodic side has odd cycles: not bipartite, yet properly coloured.
    let model = families::ising2d(5, 1.0, 0.0, true).unwrap();
    let graph = InteractionGraph::of_model(&model);
    let free = vec![true; 25];
    assert!(colouring::bipartite(&graph, &free).is_none());
    let c = colouring::colour(&graph, &free);
    assert!(
        colouring::is_proper(&graph, &c) && c.count == 3,
        "{} colours",
        c.count
    );
    // The checkerboard: the two colours are the two parities of x + y.
    let (schedule, _) = compile(&families::ising2d(6, 1.0, 0.0, true).unwrap()).unwrap();
    for sb in &schedule.superblocks {
        let parity = |n: &NodeId| (n.index() % 6 + n.index() / 6) % 2;
        assert!(sb[0].iter().all(|n| parity(n) == parity(&sb[0][0])));
    }
}

#[test]
fn triangular_lattices_take_three_colours() {
    for l in [3, 6, 9, 12] {
        let model = spins_on(l * l, &lattice::triangular(l, true));
        assert_eq!(colours_of(&model), 3, "periodic triangular L={l}");
    }
    let model = spins_on(36, &lattice::triangular(6, false));
    assert_eq!(colours_of(&model), 3, "open triangular L=6");
}

#[test]
fn mixed_kinds_split_colours_into_blocks() {
    // A checkerboard of spins and categoricals on alternating rows: two colours, each
    // holding both kinds, so each superblock has one block per kind.
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 8).unwrap();
    let c = b.group("c", NodeKind::Categorical(3), 8).unwrap();
    let site = |i: usize| {
        if (i / 4).is_multiple_of(2) {
            s.node(i % 4 + 4 * (i / 8))
        } else {
            c.node(i % 4 + 4 * (i / 8))
        }
    };
    for (a, z) in lattice::square(4, true) {
        let (a, z) = (site(a as usize), site(z as usize));
        let f = match (b_kind(&s, a), b_kind(&s, z)) {
            (true, true) => Factor::new("ss").product([a]).product([z]).weights([0.5]),
            (false, false) => Factor::new("cc")
                .categorical([a])
                .categorical([z])
                .weights([0.1; 9]),
            (true, false) => Factor::new("cs")
                .categorical([z])
                .product([a])
                .weights([0.1; 3]),
            (false, true) => Factor::new("cs")
                .categorical([a])
                .product([z])
                .weights([0.1; 3]),
        };
        b.factor(f);
    }
    let model = b.build().unwrap();
    assert_eq!(colours_of(&model), 2);
    let (schedule, program) = compile(&model).unwrap();
    assert!(schedule.superblocks.iter().all(|sb| sb.len() == 2));
    assert!(program.superblocks.iter().all(|sb| !sb.needs_snapshot));
}

fn b_kind(s: &NodeGroup, n: NodeId) -> bool {
    s.get((n.0 - s.first.0) as usize).is_some_and(|m| m == n)
}

/// A random graph on `n` nodes: each pair an edge with probability `p`; with `bipartite`, only
/// pairs of different parity.
fn random_edges(n: usize, p: f64, bipartite: bool, seed: u64) -> Vec<(u32, u32)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut edges = Vec::new();
    for a in 0..n as u32 {
        for b in a + 1..n as u32 {
            if (!bipartite || (a + b) % 2 == 1) && rng.random::<f64>() < p {
                edges.push((a, b));
            }
        }
    }
    edges
}

#[test]
fn random_graphs_are_properly_coloured_by_every_method() {
    for seed in 0..20u64 {
        let n = 20 + 15 * seed as usize;
        let p = [0.05, 0.1, 0.3][seed as usize % 3];
        let model = spins_on(n, &random_edges(n, p, false, seed));
        let graph = InteractionGraph::of_model(&model);
        // Some nodes clamped: they take no colour and constrain nobody.
        let free: Vec<bool> = (0..n).map(|v| v % 7 != 3).collect();
        let max_degree = (0..n).map(|v| graph.neighbours(v).len()).max().unwrap_or(0) as u32;
        for c in [
            colouring::dsatur(&graph, &free),
            colouring::greedy(&graph, &free),
        ] {
            assert!(
                colouring::is_proper(&graph, &c),
                "seed {seed} {:?}",
                c.method
            );
            assert!(
                c.count <= max_degree + 1,
                "seed {seed}: {} colours",
                c.count
            );
            for (colour, free) in c.colour.iter().zip(&free) {
                assert_eq!(*colour == u32::MAX, !free);
            }
        }
        let c = colouring::colour(&graph, &free);
        assert!(colouring::is_proper(&graph, &c));
        if let Some(bip) = colouring::bipartite(&graph, &free) {
            assert!(colouring::is_proper(&graph, &bip) && bip.count <= 2);
        }
        assert!(colours_of(&model) >= 2);
        // The same graph restricted to even–odd pairs is bipartite: two colours.
        let model = spins_on(n, &random_edges(n, 3.0 * p, true, seed));
        let graph = InteractionGraph::of_model(&model);
        let bip = colouring::bipartite(&graph, &vec![true; n]).expect("bipartite");
        assert!(
            colouring::is_proper(&graph, &bip) && bip.count == 2,
            "seed {seed}"
        );
    }
    // is_proper really checks something.
    let model = spins_on(3, &[(0, 1), (1, 2)]);
    let graph = InteractionGraph::of_model(&model);
    let mut c = colouring::greedy(&graph, &[true; 3]);
    c.colour = vec![0, 0, 1];
    assert!(!colouring::is_proper(&graph, &c));
}

/// A 4-spin chain s0–s1–s2–s3, a 3-body factor (s0, s2, s3), a categorical c coupled to s1
/// and a clamped spin k coupled to s0, with hand-given blocks.
fn with_blocks(spec: BlockSpec) -> Result<Model, ModelError> {
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 4).unwrap();
    let c = b.group("c", NodeKind::Categorical(3), 1).unwrap();
    let k = b.group("k", NodeKind::Spin, 1).unwrap();
    let ids = s.ids();
    b.pair_coupling("chain", &ids[..3], &ids[1..], &[1.0; 3]);
    b.factor(
        Factor::new("triple")
            .product([ids[0]])
            .product([ids[2]])
            .product([ids[3]])
            .weights([0.5]),
    );
    b.factor(
        Factor::new("cs")
            .categorical([c.node(0)])
            .product([ids[1]])
            .weights([0.1, 0.2, 0.3]),
    );
    b.pair_coupling("to_k", &[k.node(0)], &[ids[0]], &[0.7]);
    b.clamp(k.node(0), 1.0);
    b.blocks(spec);
    b.build()
}

/// [`with_blocks`], which must build, then compiled: the compiler's own checks.
fn compile_with_blocks(spec: BlockSpec) -> Result<Model, CompileError> {
    let model = with_blocks(spec).expect("the model builds");
    compile(&model)?;
    Ok(model)
}

fn id(i: u32) -> NodeId {
    NodeId(i)
}

#[test]
fn invalid_hand_given_blocks_are_rejected_with_typed_errors() {
    let seq = |blocks: Vec<Vec<u32>>| {
        BlockSpec::sequential(
            blocks
                .into_iter()
                .map(|b| b.into_iter().map(id).collect())
                .collect(),
        )
    };
    // Valid: {s0}, {s1, s3}, {s2}, {c}... s1–s3 do not interact.
    let ok = with_blocks(seq(vec![vec![0], vec![1, 3], vec![2], vec![4]])).unwrap();
    let (schedule, _) = compile(&ok).unwrap();
    assert_eq!(schedule.method, None);
    assert_eq!(schedule.block_count(), 4);
    // Two interacting nodes in one block: the error names both and a factor they share.
    assert_eq!(
        compile_with_blocks(seq(vec![vec![0], vec![1, 2], vec![3], vec![4]])).unwrap_err(),
        CompileError::InteractingNodesInBlock {
            block: 1,
            a: "s[1]".into(),
            b: "s[2]".into(),
            factor: "chain".into()
        }
    );
    // Through the 3-body factor only (s0 and s3 share no pair factor).
    let e = compile_with_blocks(seq(vec![vec![0, 3], vec![1], vec![2], vec![4]])).unwrap_err();
    assert_eq!(
        e,
        CompileError::InteractingNodesInBlock {
            block: 0,
            a: "s[0]".into(),
            b: "s[3]".into(),
            factor: "triple".into()
        }
    );
    assert!(
        e.to_string().contains("s[0]") && e.to_string().contains("s[3]"),
        "{e}"
    );
    // Blocks are numbered across superblocks: here block 2 is the second of superblock 1.
    let spec = BlockSpec {
        superblocks: vec![
            vec![vec![id(4)]],
            vec![vec![id(0)], vec![id(2), id(3)]],
            vec![vec![id(1)]],
        ],
    };
    assert_eq!(
        compile_with_blocks(spec).unwrap_err(),
        CompileError::InteractingNodesInBlock {
            block: 2,
            a: "s[2]".into(),
            b: "s[3]".into(),
            factor: "chain".into()
        }
    );
    // A free node in no block.
    assert_eq!(
        with_blocks(seq(vec![vec![0], vec![1, 3], vec![4]])).unwrap_err(),
        ModelError::NodeWithoutBlock {
            node: "s[2]".into()
        }
    );
    // The clamped node in a block.
    assert_eq!(
        with_blocks(seq(vec![vec![0], vec![1, 3], vec![2], vec![4], vec![5]])).unwrap_err(),
        ModelError::ClampedNodeInBlock {
            node: "k[0]".into(),
            block: 4
        }
    );
    // Mixed kinds (spin s2 and categorical c do not interact, but kinds differ).
    assert_eq!(
        with_blocks(seq(vec![vec![0], vec![1, 3], vec![2, 4]])).unwrap_err(),
        ModelError::MixedKindBlock {
            block: 2,
            a: "s[2]".into(),
            kind_a: "spin".into(),
            b: "c[0]".into(),
            kind_b: "categorical(3)".into()
        }
    );
    // A node in two blocks, and twice in one.
    assert_eq!(
        with_blocks(seq(vec![vec![0], vec![1, 3], vec![2, 0], vec![4]])).unwrap_err(),
        ModelError::NodeInTwoBlocks {
            node: "s[0]".into(),
            first: 0,
            second: 2
        }
    );
    assert_eq!(
        with_blocks(seq(vec![vec![0], vec![1, 3, 1], vec![2], vec![4]])).unwrap_err(),
        ModelError::NodeTwiceInBlock {
            node: "s[1]".into(),
            block: 1
        }
    );
    // An empty block and an unknown node.
    assert_eq!(
        with_blocks(seq(vec![vec![0], vec![], vec![1, 3], vec![2], vec![4]])).unwrap_err(),
        ModelError::EmptyBlock { block: 1 }
    );
    assert!(matches!(
        with_blocks(seq(vec![vec![0], vec![1, 3], vec![2], vec![4], vec![9]])),
        Err(ModelError::UnknownNode {
            id: 9,
            count: 6,
            ..
        })
    ));
    // The sampler reports the compile error as RuntimeError::Compile.
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 2).unwrap();
    b.pair_coupling("j", &[s.node(0)], &[s.node(1)], &[1.0]);
    b.blocks(BlockSpec::sequential(vec![s.ids()]));
    let model = std::sync::Arc::new(b.build().unwrap());
    assert!(matches!(
        Sampler::builder(model)
            .backend(BackendChoice::Reference)
            .options(SamplerOptions::default())
            .build(),
        Err(RuntimeError::Compile(
            CompileError::InteractingNodesInBlock { .. }
        ))
    ));
}
