//! `blockgibbs info`: what a model file describes and what it compiles to.

use super::{CliError, ModelArgs};
use crate::model_file::ModelFile;
use blockgibbs_compiler::{BlockSchedule, ColouringMethod};
use blockgibbs_ir::{Model, NodeKind, Program};
use std::fmt::Write;
use std::time::Instant;

/// Longest list printed in full (groups, factors, superblocks).
const LIST_LIMIT: usize = 16;

/// `blockgibbs info`.
pub(super) fn info(args: &ModelArgs) -> Result<(), CliError> {
    let file = ModelFile::load(&args.model, &args.set)?;
    let built = file.build_within(args.memory_limit())?;
    let t = Instant::now();
    let (schedule, program) = built.compile()?;
    let compile_seconds = t.elapsed().as_secs_f64();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "model: {} ({}), beta = {}",
        file.family(),
        args.model.display(),
        built.beta
    );
    describe_model(&mut out, &built.model);
    describe_blocks(&mut out, &schedule, &program, &built.rules);
    let bytes = program.memory_bytes();
    let terms: usize = program
        .blocks
        .iter()
        .flat_map(|b| &b.groups)
        .map(|g| g.term_count())
        .sum();
    let _ = writeln!(
        out,
        "program: {terms} terms, {} weights, {bytes} bytes ({}), compiled in {compile_seconds:.3} s",
        program.weights.len(),
        human_bytes(bytes as u64)
    );
    print!("{out}");
    Ok(())
}

fn kind_name(kind: NodeKind) -> String {
    kind.to_string()
}

/// Counts per kind, in first-seen order.
fn count_kinds(kinds: impl Iterator<Item = NodeKind>) -> Vec<(NodeKind, usize)> {
    let mut counts: Vec<(NodeKind, usize)> = Vec::new();
    for k in kinds {
        match counts.iter_mut().find(|(kk, _)| *kk == k) {
            Some((_, c)) => *c += 1,
            None => counts.push((k, 1)),
        }
    }
    counts
}

fn join_counts(counts: &[(NodeKind, usize)]) -> String {
    counts
        .iter()
        .map(|(k, c)| format!("{} {c}", kind_name(*k)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_model(out: &mut String, model: &Model) {
    let clamped = model.clamped().iter().filter(|c| c.is_some()).count();
    let _ = writeln!(
        out,
        "nodes: {} ({}), {} free, {clamped} clamped",
        model.node_count(),
        join_counts(&count_kinds(model.kinds().iter().copied())),
        model.node_count() - clamped
    );
    let _ = writeln!(out, "groups: {}", model.groups().len());
    for g in model.groups().iter().take(LIST_LIMIT) {
        let _ = writeln!(
            out,
            "  {:<20} {:<16} {} nodes",
            g.name,
            kind_name(g.kind),
            g.len
        );
    }
    more(out, model.groups().len());
    let _ = writeln!(out, "factors: {}", model.factors().len());
    for f in model.factors().iter().take(LIST_LIMIT) {
        let _ = writeln!(
            out,
            "  {:<20} {} instances, arity {}, {} weights",
            f.name,
            f.instances(),
            f.arity(),
            f.weights.len()
        );
    }
    more(out, model.factors().len());
}

fn describe_blocks(
    out: &mut String,
    schedule: &BlockSchedule,
    program: &Program,
    rules: &[blockgibbs_ir::UpdateRule],
) {
    let method = match schedule.method {
        None => "hand-given",
        Some(ColouringMethod::Bipartite) => "colouring: bipartite (breadth-first 2-colouring)",
        Some(ColouringMethod::Dsatur) => "colouring: DSATUR",
        Some(ColouringMethod::Greedy) => "colouring: greedy",
    };
    let _ = writeln!(
        out,
        "blocks: {} superblocks (colours), {} blocks, {method}",
        program.superblocks.len(),
        program.blocks.len()
    );
    let per_kind = count_kinds(program.blocks.iter().map(|b| b.kind));
    let _ = writeln!(out, "  blocks per kind: {}", join_counts(&per_kind));
    for (s, sb) in program.superblocks.iter().enumerate().take(LIST_LIMIT) {
        let blocks: Vec<String> = sb
            .blocks
            .clone()
            .map(|b| {
                let block = &program.blocks[b];
                let rule = rules
                    .get(b)
                    .map(|r| format!(" ({r:?})").to_lowercase())
                    .unwrap_or_default();
                format!("{} × {}{rule}", block.len, kind_name(block.kind))
            })
            .collect();
        let _ = writeln!(out, "  superblock {s}: {}", blocks.join(", "));
    }
    more(out, program.superblocks.len());
}

fn more(out: &mut String, len: usize) {
    if len > LIST_LIMIT {
        let _ = writeln!(out, "  … ({} more)", len - LIST_LIMIT);
    }
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}
