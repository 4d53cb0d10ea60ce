//! Reading a checkpoint back into a running sampler. Everything is checked against the file
//! before use — sizes before any allocation, node ids, values against their node's kind,
//! the program layout against the one the file was written with — so a damaged or foreign
//! file is a typed error naming the file and the field, never a panic.

use super::format::Reader;
use super::state::ObserverState;
use super::{CheckpointError, parse_rule};
use crate::builder::{BackendChoice, make_backend};
use crate::error::RuntimeError;
use crate::sampler::{Sampler, SamplerOptions};
use blockgibbs_ir::NodeId;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Sets up resuming a checkpoint: the backend and thread count are not stored (any of them
/// continues the run identically), then [`ResumeBuilder::open`].
#[derive(Clone, Debug)]
#[must_use = "a resume builder does nothing until `open` is called"]
pub struct ResumeBuilder {
    path: PathBuf,
    backend: BackendChoice,
    threads: usize,
}

impl Sampler {
    /// Starts resuming the run saved in `path` by [`Sampler::checkpoint`].
    pub fn resume(path: impl AsRef<Path>) -> ResumeBuilder {
        ResumeBuilder {
            path: path.as_ref().to_path_buf(),
            backend: BackendChoice::Auto,
            threads: 0,
        }
    }
}

impl ResumeBuilder {
    /// The backend to continue on (default: the best available).
    pub fn backend(mut self, backend: BackendChoice) -> Self {
        self.backend = backend;
        self
    }

    /// Worker threads; 0 (the default) means one per core.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Reads the file, rebuilds and compiles the model, and returns the sampler exactly
    /// where the checkpoint left it. Saved observer states wait for
    /// [`Sampler::attach_restored`]; the schedule in progress, if any, goes on with
    /// [`Sampler::advance`].
    pub fn open(self) -> Result<Sampler, CheckpointError> {
        let bytes = std::fs::read(&self.path).map_err(|source| CheckpointError::Io {
            path: self.path.clone(),
            source,
        })?;
        self.open_bytes(&bytes)
    }

    /// [`ResumeBuilder::open`] of a checkpoint's bytes held in memory: the path given to
    /// [`Sampler::resume`] only names the file in errors (the fuzz targets come in here).
    pub fn open_bytes(self, bytes: &[u8]) -> Result<Sampler, CheckpointError> {
        let path = &self.path;
        let r = Reader::new(path, bytes)?;
        let runtime = |source: RuntimeError| CheckpointError::Runtime {
            path: path.clone(),
            source: Box::new(source),
        };
        // The state tensor bounds the node and chain counts by the file's size.
        let shape = r.shape("states")?;
        if shape.len() != 2
            || shape[0] as u64 != r.run.chains
            || shape[1] as u64 != r.run.nodes
            || shape[0] == 0
        {
            return Err(r.corrupt(
                "states",
                format!(
                    "shape {shape:?}, expected [{}, {}] (chains, nodes) with at least one chain",
                    r.run.chains, r.run.nodes
                ),
            ));
        }
        let (chains, nodes) = (shape[0], shape[1]);
        // With no nodes the state tensor is empty whatever the chain count; the β tensor
        // bounds it by the file's size before any chain is allocated.
        let betas = r.f32("betas", &[chains])?;
        let model = Arc::new(super::model::read_model(&r, nodes)?);
        let (_, program) =
            blockgibbs_compiler::compile(&model).map_err(|source| CheckpointError::Compile {
                path: path.clone(),
                source: Box::new(source),
            })?;
        let layout = r.u32("program.node_of_slot", &[nodes])?;
        if program
            .node_of_slot
            .iter()
            .map(|n| n.0)
            .ne(layout.iter().copied())
        {
            return Err(r.corrupt(
                "program.node_of_slot",
                "the model compiles to another layout than the one the run was written with \
                 (a checkpoint of another blockgibbs version?); it cannot continue identically",
            ));
        }
        let (backend, fallback) = make_backend(self.backend, Arc::new(program));
        let options = SamplerOptions {
            chains,
            seed: r.run.seed,
            threads: self.threads,
            beta: 1.0,
        };
        let mut s = Sampler::from_parts(model, backend, fallback, options).map_err(runtime)?;
        let states = r.f32("states", &[chains, nodes])?;
        s.write_states(&states).map_err(runtime)?;
        restore_padding(&mut s, &r, nodes)?;
        s.set_betas(&betas).map_err(runtime)?;
        restore_rules(&mut s, &r)?;
        let clamp_shape = r.shape("runtime_clamps")?;
        if clamp_shape.len() != 2 || clamp_shape[1] != 2 {
            return Err(r.corrupt(
                "runtime_clamps",
                format!("shape {clamp_shape:?}, expected [clamps, 2]"),
            ));
        }
        let pairs: Vec<(usize, NodeId)> = r
            .u32("runtime_clamps", &clamp_shape)?
            .chunks_exact(2)
            .map(|p| (p[0] as usize, NodeId(p[1])))
            .collect();
        s.restore_clamps(&pairs).map_err(runtime)?;
        if let Some(cursor) = r.run.schedule {
            cursor
                .check()
                .map_err(|reason| r.corrupt("run.schedule", reason))?;
        }
        s.cursor = r.run.schedule;
        s.sweep = r.run.sweeps_done;
        s.steps_observed = r.run.steps_observed;
        s.app_metadata = r.run.app.clone();
        s.attached.pending = read_observers(&r)?;
        Ok(s)
    }
}

/// Writes the saved padding lanes into the last chunk (after the chains, whose writes
/// mirrored the last chain into them).
fn restore_padding(s: &mut Sampler, r: &Reader<'_>, nodes: usize) -> Result<(), CheckpointError> {
    let chains = s.chains();
    let (last_chains, lanes) = s
        .state
        .chunks
        .last()
        .map_or((0, 0), |c| (c.chains, c.lanes));
    let expected = lanes - last_chains;
    if r.run.padding_lanes != expected as u64 {
        return Err(r.corrupt(
            "run.padding_lanes",
            format!(
                "{} padding lanes, expected {expected} for {chains} chains",
                r.run.padding_lanes
            ),
        ));
    }
    let padding = r.f32("padding_states", &[expected, nodes])?;
    let program = s.program().clone();
    let model = s.model.clone();
    for (i, row) in padding.chunks_exact(nodes.max(1)).enumerate() {
        for (n, &v) in row.iter().enumerate() {
            let kind = model.kinds()[n];
            if !kind.admits(v) {
                return Err(r.corrupt(
                    "padding_states",
                    format!(
                        "padding lane {i}: {v} is not a valid {kind} value of node {}",
                        model.node_name(NodeId(n as u32))
                    ),
                ));
            }
        }
    }
    if let Some(last) = s.state.chunks.last_mut() {
        for (i, row) in padding.chunks_exact(nodes.max(1)).enumerate() {
            let lane = last_chains + i;
            for (n, &v) in row.iter().enumerate() {
                let slot = program.slot_of[n] as usize;
                last.values[slot * last.lanes + lane] = v;
            }
        }
    }
    Ok(())
}

fn restore_rules(s: &mut Sampler, r: &Reader<'_>) -> Result<(), CheckpointError> {
    let blocks = s.rules().len();
    if r.run.rules.len() != blocks {
        return Err(r.corrupt(
            "run.rules",
            format!(
                "{} rules for the {blocks} blocks of the program",
                r.run.rules.len()
            ),
        ));
    }
    for (b, name) in r.run.rules.iter().enumerate() {
        let rule = parse_rule(name).ok_or_else(|| {
            r.corrupt(
                &format!("run.rules[{b}]"),
                format!("`{name}` is not sample, mean or mode"),
            )
        })?;
        s.set_rule(b, rule)
            .map_err(|source| CheckpointError::Runtime {
                path: r.path().to_path_buf(),
                source: Box::new(source),
            })?;
    }
    Ok(())
}

/// The saved observer states, in attach order.
fn read_observers(r: &Reader<'_>) -> Result<Vec<ObserverState>, CheckpointError> {
    let mut out = Vec::with_capacity(r.run.observers.len());
    for (i, o) in r.run.observers.iter().enumerate() {
        if !o.meta.is_object() {
            return Err(r.corrupt(&format!("run.observers[{i}].meta"), "not a JSON object"));
        }
        let mut state = ObserverState::new(&o.kind);
        state.meta = o.meta.clone();
        for name in &o.tensors {
            let t = r.state_tensor(&format!("observers.{i}.{name}"))?;
            state.tensors.insert(name.clone(), t);
        }
        out.push(state);
    }
    Ok(out)
}
