//! Checkpoints: the whole state of a run in one safetensors file, and resuming from it on
//! any backend and thread count with results identical bit for bit to the uninterrupted run.
//!
//! A checkpoint holds the model (groups, kinds, factors with their roles and live weights,
//! model clamps, hand-given blocks), every chain's state (padding lanes included), per-chain
//! β, the clamps set at run time, the seed and the sweep counter (which together are the
//! position of the random stream: draws are addressed by seed-derived key, sweep, node and
//! chain), the update rule of every block, the schedule in progress and its cursor, the
//! accumulators of every attached observer, and whatever the application stored with
//! [`crate::Sampler::set_app_metadata`]. The layout is documented in `docs/checkpoint.md`.
//!
//! ```
//! use blockgibbs_ir::{ModelBuilder, NodeKind};
//! use blockgibbs_runtime::{BackendChoice, Moments, Sampler, SamplingSchedule};
//! use std::sync::Arc;
//! let mut b = ModelBuilder::new();
//! let s = b.group("s", NodeKind::Spin, 3).unwrap();
//! b.pair_coupling("j", &[s.node(0), s.node(1)], &[s.node(1), s.node(2)], &[0.5, 0.5]);
//! let model = Arc::new(b.build().unwrap());
//! let path = std::env::temp_dir().join(format!("doc-{}.ckpt", std::process::id()));
//!
//! let mut a = Sampler::builder(model.clone()).chains(4).seed(3).build().unwrap();
//! let moments = a.attach(Moments::new(s.ids(), vec![]));
//! a.start_schedule(SamplingSchedule::new(10, 50, 2));
//! a.advance(40, &mut [], &|| false, &mut |_, _| {}).unwrap();
//! a.checkpoint(&path).unwrap();
//! a.advance(u64::MAX, &mut [], &|| false, &mut |_, _| {}).unwrap();
//!
//! let mut b = Sampler::resume(&path).backend(BackendChoice::Reference).threads(1).open().unwrap();
//! let restored = b.attach_restored(Moments::new(s.ids(), vec![])).unwrap();
//! b.advance(u64::MAX, &mut [], &|| false, &mut |_, _| {}).unwrap();
//! assert_eq!(a.observer(&moments).unwrap().means(), b.observer(&restored).unwrap().means());
//! # std::fs::remove_file(&path).unwrap();
//! ```

mod format;
mod model;
pub(crate) mod observers;
mod resume;
mod state;

pub use format::{FORMAT_NAME, FORMAT_VERSION};
pub use observers::{KIND_ENERGY, KIND_MOMENTS, KIND_SAMPLES, KIND_SCALARS};
pub use resume::ResumeBuilder;
pub use state::{ObserverState, ObserverStateError, StateTensor, TensorData};

use crate::error::RuntimeError;
use crate::sampler::Sampler;
use blockgibbs_ir::{ModelError, UpdateRule};
use format::{ObserverMeta, RunMeta, Writer};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a checkpoint could not be written or read; every variant names the file, and those
/// about its contents name the tensor or field at fault.
#[derive(Debug, Error)]
pub enum CheckpointError {
    /// Reading, writing or renaming the file failed.
    #[error("checkpoint {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a complete safetensors file (truncated, damaged or something else
    /// entirely, such as a text file).
    #[error("checkpoint {}: not a readable safetensors file ({reason}); is it truncated, or not a checkpoint?", path.display())]
    NotSafetensors {
        /// The file.
        path: PathBuf,
        /// What the safetensors reader found.
        reason: String,
    },
    /// A safetensors file that is not a blockgibbs checkpoint (another tool's file, a saved
    /// model).
    #[error("{} is not a blockgibbs checkpoint (its metadata `format` is {}, expected \"{FORMAT_NAME}\")", path.display(), found.as_deref().map_or_else(|| "missing".to_string(), |f| format!("\"{f}\"")))]
    NotACheckpoint {
        /// The file.
        path: PathBuf,
        /// Its `format` metadata, if any.
        found: Option<String>,
    },
    /// A checkpoint of another format version (written by a newer blockgibbs).
    #[error("checkpoint {}: format version \"{found}\" is not supported (this build reads version {supported})", path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: String,
        /// The version this build reads.
        supported: u32,
    },
    /// A tensor or field is missing, of the wrong dtype or shape, or inconsistent.
    #[error("checkpoint {}: `{what}`: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The tensor or JSON field.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The model stored in the file does not validate.
    #[error("checkpoint {}: the stored model is invalid: {source}", path.display())]
    Model {
        /// The file.
        path: PathBuf,
        /// The model error.
        #[source]
        source: Box<ModelError>,
    },
    /// The model stored in the file does not compile.
    #[error("checkpoint {}: the stored model does not compile: {source}", path.display())]
    Compile {
        /// The file.
        path: PathBuf,
        /// The compile error.
        #[source]
        source: Box<blockgibbs_compiler::CompileError>,
    },
    /// The stored state does not fit the sampler rebuilt from the file (values outside a
    /// node's support, invalid β or rule).
    #[error("checkpoint {}: {source}", path.display())]
    Runtime {
        /// The file.
        path: PathBuf,
        /// The runtime error.
        #[source]
        source: Box<RuntimeError>,
    },
    /// Serialising the checkpoint failed.
    #[error("cannot write checkpoint {}: {reason}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An attached observer that cannot save its state.
    #[error(
        "attached observer #{index} cannot be checkpointed (it does not implement Observer::save_state); detach it first"
    )]
    ObserverNotSaveable {
        /// Its position in attach order.
        index: usize,
    },
    /// [`Sampler::attach_restored`] called more often than the checkpoint saved observers.
    #[error(
        "the checkpoint saved {saved} observers; there is none left to restore into observer #{index}"
    )]
    NoSavedObserver {
        /// Position of the observer asked for.
        index: usize,
        /// Number saved.
        saved: usize,
    },
    /// A saved observer state that does not fit the observer given to restore it.
    #[error("restoring saved observer #{index} ({kind}): {source}")]
    ObserverRestore {
        /// Its position in attach order.
        index: usize,
        /// The saved kind.
        kind: String,
        /// What does not fit.
        #[source]
        source: ObserverStateError,
    },
}

fn rule_name(rule: UpdateRule) -> &'static str {
    match rule {
        UpdateRule::Sample => "sample",
        UpdateRule::Mean => "mean",
        UpdateRule::Mode => "mode",
    }
}

fn parse_rule(name: &str) -> Option<UpdateRule> {
    match name {
        "sample" => Some(UpdateRule::Sample),
        "mean" => Some(UpdateRule::Mean),
        "mode" => Some(UpdateRule::Mode),
        _ => None,
    }
}

impl Sampler {
    /// Writes the whole run to `path` (see [the module](crate::checkpoint)), atomically: a
    /// temporary file in the same directory is written, flushed to disk and renamed over
    /// `path`, so a reader never sees a partial checkpoint and a failed write leaves the
    /// previous one in place. Every attached observer must implement
    /// [`crate::Observer::save_state`]; observers passed to `run`/`advance` are the caller's
    /// and are not saved.
    pub fn checkpoint(&self, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
        let path = path.as_ref();
        let bytes = self.checkpoint_bytes(path)?;
        write_atomic(path, &bytes)
    }

    fn checkpoint_bytes(&self, path: &Path) -> Result<Vec<u8>, CheckpointError> {
        let mut w = Writer::default();
        let (groups, factors, hand_blocks) = model::write_model(&self.model, &mut w);
        let nodes = self.model.node_count();
        let chains = self.chains();
        let mut states = vec![0.0f32; chains * nodes];
        self.read_states(&mut states)
            .map_err(|source| CheckpointError::Runtime {
                path: path.to_path_buf(),
                source: Box::new(source),
            })?;
        w.f32("states", vec![chains, nodes], &states);
        let padding = self.padding_states();
        let padding_lanes = padding.len() / nodes.max(1);
        w.f32("padding_states", vec![padding_lanes, nodes], &padding);
        let betas: Vec<f32> = (0..chains)
            .map(|c| {
                let (k, l) = self.state.locate(c);
                self.state.chunks[k].betas[l]
            })
            .collect();
        w.f32("betas", vec![chains], &betas);
        let clamps: Vec<u32> = self
            .clamps
            .pairs(self.program())
            .into_iter()
            .flat_map(|(c, n)| [c as u32, n.0])
            .collect();
        w.u32("runtime_clamps", vec![clamps.len() / 2, 2], &clamps);
        let node_of_slot: Vec<u32> = self.program().node_of_slot.iter().map(|n| n.0).collect();
        w.u32(
            "program.node_of_slot",
            vec![node_of_slot.len()],
            &node_of_slot,
        );
        let mut observers = Vec::with_capacity(self.attached.list.len());
        for (index, (_, obs)) in self.attached.list.iter().enumerate() {
            let state = obs
                .save_state()
                .ok_or(CheckpointError::ObserverNotSaveable { index })?;
            for (name, t) in &state.tensors {
                w.data(&format!("observers.{index}.{name}"), t);
            }
            observers.push(ObserverMeta {
                kind: state.kind,
                meta: state.meta,
                tensors: state.tensors.into_keys().collect(),
            });
        }
        let run = RunMeta {
            nodes: nodes as u64,
            chains: chains as u64,
            padding_lanes: padding_lanes as u64,
            seed: self.seed,
            sweeps_done: self.sweep,
            steps_observed: self.steps_observed,
            groups,
            factors,
            hand_blocks,
            rules: self
                .rules
                .iter()
                .map(|&r| rule_name(r).to_string())
                .collect(),
            schedule: self.cursor,
            observers,
            app: self.app_metadata.clone(),
        };
        w.finish(path, &run)
    }

    /// The padding lanes of the last chunk (lanes past the last chain, which run like
    /// chains and are never observed), row-major `[lanes, nodes]`: saved so that a resumed
    /// run is the same machine state, down to a padding lane's divergence error.
    fn padding_states(&self) -> Vec<f32> {
        let Some(last) = self.state.chunks.last() else {
            return Vec::new();
        };
        let slots = &self.program().slot_of;
        let mut out = Vec::with_capacity((last.lanes - last.chains) * slots.len());
        for lane in last.chains..last.lanes {
            out.extend(slots.iter().map(|&s| last.get(s, lane)));
        }
        out
    }
}

/// Writes `bytes` atomically through [`crate::atomic_file::write_atomic`] (regular files
/// only, temporary files removed on every exit path it controls).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    crate::atomic_file::write_atomic(path, bytes).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })
}
