//! TOML model files: a model family with its parameters, a sampling schedule and output
//! options.
//!
//! ```toml
//! [model]
//! family = "ising2d"   # ising2d ising3d potts2d ea2d ea3d sk rbm gaussian_grid graph
//! L = 32
//! beta = 0.44
//! [schedule]           # optional; these are the defaults except chains
//! chains = 16
//! warmup = 1000
//! samples = 1000
//! steps_per_sample = 1
//! seed = 0
//! [output]             # optional: the nodes that --out and node_means cover
//! nodes = [{ group = "spin", index = [0, 1, 2] }]
//! ```
//!
//! Loading goes: read → parse TOML → apply `--set` overrides ([`overrides`]) → deserialise
//! with `deny_unknown_fields` (a misspelt key is a [`ModelFileError::UnknownKey`] naming its
//! full path) → [`ModelFile::build`] the model.

mod error;
pub mod families;
pub mod graph;
pub mod overrides;
pub mod seed;
pub mod tensor;

pub use error::ModelFileError;
use error::classify;
use families::{EaSpec, GaussianGridSpec, IsingSpec, PottsSpec, RbmSpec, SkSpec};
use graph::{GraphSpec, NodeRef};

use blockgibbs_compiler::{BlockSchedule, compile};
use blockgibbs_ir::memory::program_bytes;
use blockgibbs_ir::{MemoryLimit, Model, NodeId, Program, UpdateRule};
use blockgibbs_runtime::{
    BackendChoice, RuntimeError, Sampler, SamplerBuilder, SamplerOptions, SamplingSchedule,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The families a model file may name.
pub const FAMILIES: &[&str] = &[
    "ising2d",
    "ising3d",
    "potts2d",
    "ea2d",
    "ea3d",
    "sk",
    "rbm",
    "gaussian_grid",
    "graph",
];

/// A parsed, schema-checked model file (the model is not built yet).
#[derive(Clone, Debug, PartialEq)]
pub struct ModelFile {
    /// The `[model]` table.
    pub model: ModelSpec,
    /// The `[schedule]` table.
    pub schedule: ScheduleSpec,
    /// The `[output]` table.
    pub output: OutputSpec,
    /// Directory that relative file names (`weights_npy`) are resolved against.
    pub base_dir: PathBuf,
}

/// The `[model]` table, by family.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelSpec {
    /// `ising2d`.
    Ising2d(IsingSpec),
    /// `ising3d`.
    Ising3d(IsingSpec),
    /// `potts2d`.
    Potts2d(PottsSpec),
    /// `ea2d`.
    Ea2d(EaSpec),
    /// `ea3d`.
    Ea3d(EaSpec),
    /// `sk`.
    Sk(SkSpec),
    /// `rbm`.
    Rbm(RbmSpec),
    /// `gaussian_grid`.
    GaussianGrid(GaussianGridSpec),
    /// `graph`.
    Graph(Box<GraphSpec>),
}

/// The `[schedule]` table: chains and THRML's sampling schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleSpec {
    /// Independent chains (default 16).
    pub chains: usize,
    /// Sweeps before the first observation (default 1000).
    pub warmup: u64,
    /// Observations (default 1000).
    pub samples: u64,
    /// Sweeps between observations (default 1).
    pub steps_per_sample: u64,
    /// Seed of all randomness (default 0): any u64; values above 2⁶³ − 1, which TOML
    /// integers cannot hold, may be written as strings (`seed = "18446744073709551615"`),
    /// and `--set schedule.seed=18446744073709551615` works as is.
    #[serde(deserialize_with = "seed::deserialize")]
    pub seed: u64,
}

impl Default for ScheduleSpec {
    fn default() -> Self {
        ScheduleSpec {
            chains: 16,
            warmup: 1000,
            samples: 1000,
            steps_per_sample: 1,
            seed: 0,
        }
    }
}

impl ScheduleSpec {
    /// The sampling schedule.
    pub fn sampling(&self) -> SamplingSchedule {
        SamplingSchedule::new(self.warmup, self.samples, self.steps_per_sample)
    }
}

/// The `[output]` table.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Nodes written by `--out` and summarised in `node_means` (default: all, in id order).
    #[serde(default)]
    pub nodes: Option<Vec<NodeRef>>,
}

/// A built model with what the file says about running it.
#[derive(Clone, Debug)]
pub struct BuiltModel {
    /// The validated model.
    pub model: Arc<Model>,
    /// Update rule of each hand-given block, in block order (empty: every block samples).
    pub rules: Vec<UpdateRule>,
    /// Inverse temperature of every chain.
    pub beta: f32,
    /// Nodes covered by samples output and node means.
    pub output_nodes: Vec<NodeId>,
    /// The memory limit the model was built under; compiling and samplers keep to it.
    pub max_memory: MemoryLimit,
}

impl BuiltModel {
    /// Colours (or checks the hand-given blocks of) the model and lowers it, after checking
    /// that the program's estimated size fits under [`BuiltModel::max_memory`].
    pub fn compile(&self) -> Result<(BlockSchedule, Program), ModelFileError> {
        let nodes = self.model.node_count() as u64;
        let bytes = program_bytes(nodes, &self.model.factor_sizes());
        let what = format!(
            "the program lowered from the model ({nodes} nodes, {} factors)",
            self.model.factors().len()
        );
        self.max_memory.check(what, bytes)?;
        Ok(compile(&self.model)?)
    }

    /// A sampler builder of this model under its memory limit.
    pub fn sampler_builder(&self) -> SamplerBuilder {
        Sampler::builder(self.model.clone()).max_memory(self.max_memory.get())
    }

    /// Applies the file's per-block update rules to a sampler of this model.
    pub fn configure(&self, sampler: &mut Sampler) -> Result<(), RuntimeError> {
        self.rules
            .iter()
            .enumerate()
            .try_for_each(|(b, &r)| sampler.set_rule(b, r))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    model: toml::Table,
    #[serde(default)]
    schedule: ScheduleSpec,
    #[serde(default)]
    output: OutputSpec,
}

/// Deserialises `value`, naming keys below `prefix` in errors.
fn deserialize<T: DeserializeOwned>(value: toml::Value, prefix: &str) -> Result<T, ModelFileError> {
    serde_path_to_error::deserialize(value).map_err(|e| classify(prefix, e))
}

impl ModelFile {
    /// Reads `path`, applies `overrides` (`KEY=VALUE`) and checks the schema.
    pub fn load(path: impl AsRef<Path>, overrides: &[String]) -> Result<ModelFile, ModelFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ModelFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
        ModelFile::parse(&text, &path.display().to_string(), base, overrides)
    }

    /// Parses model-file text; `name` labels syntax errors and `base_dir` resolves
    /// relative file names.
    pub fn parse(
        text: &str,
        name: &str,
        base_dir: PathBuf,
        overrides: &[String],
    ) -> Result<ModelFile, ModelFileError> {
        let mut doc: toml::Table = toml::from_str(text).map_err(|e| ModelFileError::Syntax {
            file: name.to_string(),
            source: Box::new(e),
        })?;
        overrides::apply_all(&mut doc, overrides)?;
        ModelFile::from_table(doc, base_dir)
    }

    /// Checks a TOML document against the schema.
    pub fn from_table(doc: toml::Table, base_dir: PathBuf) -> Result<ModelFile, ModelFileError> {
        check_f32_range(&toml::Value::Table(doc.clone()), "")?;
        let doc: Document = deserialize(toml::Value::Table(doc), "")?;
        let model = ModelSpec::from_table(doc.model)?;
        let s = &doc.schedule;
        if s.chains == 0 {
            return Err(invalid("schedule.chains", "at least one chain is needed"));
        }
        if s.steps_per_sample == 0 {
            return Err(invalid("schedule.steps_per_sample", "must be at least 1"));
        }
        if s.samples == 0 {
            return Err(invalid(
                "schedule.samples",
                "must be at least 1: with no observation there is no estimate to report",
            ));
        }
        Ok(ModelFile {
            model,
            schedule: doc.schedule,
            output: doc.output,
            base_dir,
        })
    }

    /// The family name.
    pub fn family(&self) -> &'static str {
        self.model.family()
    }

    /// The files the model file reads besides itself (`.npy` weights and node indices),
    /// each with the key naming it: inputs that no output may replace.
    pub fn referenced_files(&self) -> Vec<(String, PathBuf)> {
        let mut files = match &self.model {
            ModelSpec::Graph(g) => g.referenced_files(&self.base_dir),
            _ => Vec::new(),
        };
        for (i, r) in self.output.nodes.iter().flatten().enumerate() {
            if let Some(f) = &r.index_npy {
                let key = format!("output.nodes[{i}].index_npy");
                files.push((key, tensor::resolve(&self.base_dir, f)));
            }
        }
        files
    }

    /// Builds and validates the model and resolves the output nodes, refusing a model
    /// larger than the memory available.
    pub fn build(&self) -> Result<BuiltModel, ModelFileError> {
        self.build_within(MemoryLimit::available())
    }

    /// [`ModelFile::build`] under a memory limit: the model's size is estimated from the
    /// family's parameters before its tensors are allocated, and a larger need is a
    /// [`ModelFileError::Memory`] naming the key that made it large.
    pub fn build_within(&self, max_memory: MemoryLimit) -> Result<BuiltModel, ModelFileError> {
        let (model, rules) = self.model.build(&self.base_dir, max_memory)?;
        let output_nodes = match &self.output.nodes {
            None => (0..model.node_count() as u32).map(NodeId).collect(),
            Some(refs) => {
                let mut nodes = Vec::new();
                for (i, r) in refs.iter().enumerate() {
                    nodes.extend(graph::resolve_nodes(
                        &r.group,
                        r.index.as_deref(),
                        r.index_npy.as_deref(),
                        model.groups(),
                        &format!("output.nodes[{i}]"),
                        &self.base_dir,
                    )?);
                }
                nodes
            }
        };
        Ok(BuiltModel {
            model: Arc::new(model),
            rules,
            beta: self.model.beta(),
            output_nodes,
            max_memory,
        })
    }

    /// Sampler options for this file's schedule (`threads` = 0: one per core).
    pub fn sampler_options(&self, threads: usize) -> SamplerOptions {
        SamplerOptions {
            chains: self.schedule.chains,
            seed: self.schedule.seed,
            threads,
            beta: self.model.beta(),
        }
    }

    /// Builds, compiles and returns a configured sampler on the reference backend, with the
    /// built model.
    pub fn sampler(&self, threads: usize) -> Result<(Sampler, BuiltModel), ModelFileError> {
        let built = self.build()?;
        let mut sampler = built
            .sampler_builder()
            .backend(BackendChoice::Reference)
            .options(self.sampler_options(threads))
            .build()
            .map_err(in_file_terms)?;
        built.configure(&mut sampler)?;
        Ok((sampler, built))
    }
}

/// Refuses any float of the document that is finite but beyond f32's range: every real
/// number of a model file (β, couplings, fields, weights) is an f32 in the model, where it
/// would silently become infinite.
fn check_f32_range(value: &toml::Value, key: &str) -> Result<(), ModelFileError> {
    match value {
        toml::Value::Float(v) => {
            tensor::f64_to_f32(*v).map_err(|message| invalid(key, &message))?;
        }
        toml::Value::Table(t) => {
            for (k, v) in t {
                check_f32_range(v, &error::join_key(key, k))?;
            }
        }
        toml::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                check_f32_range(v, &format!("{key}[{i}]"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A sampler error of a model file's run, with the builder's field named by the file's key
/// (`chains` is `schedule.chains` there).
pub fn in_file_terms(e: RuntimeError) -> ModelFileError {
    match e {
        RuntimeError::Memory(mut m) => {
            if m.what.starts_with("chains") {
                m.what = format!("schedule.{}", m.what);
            }
            m.into()
        }
        other => other.into(),
    }
}

fn invalid(field: &str, reason: &str) -> ModelFileError {
    ModelFileError::InvalidValue {
        key: field.to_string(),
        message: reason.to_string(),
    }
}

impl ModelSpec {
    /// Reads the `[model]` table: its `family` picks the schema of the other keys.
    pub fn from_table(mut table: toml::Table) -> Result<ModelSpec, ModelFileError> {
        let family = match table.remove("family") {
            None => {
                return Err(ModelFileError::MissingKey {
                    key: "model.family".into(),
                });
            }
            Some(toml::Value::String(s)) => s,
            Some(other) => {
                return Err(ModelFileError::InvalidValue {
                    key: "model.family".into(),
                    message: format!(
                        "expected a family name string, found a {}",
                        other.type_str()
                    ),
                });
            }
        };
        let v = toml::Value::Table(table);
        let p = "model";
        let spec = match family.as_str() {
            "ising2d" => ModelSpec::Ising2d(deserialize(v, p)?),
            "ising3d" => ModelSpec::Ising3d(deserialize(v, p)?),
            "potts2d" => ModelSpec::Potts2d(deserialize(v, p)?),
            "ea2d" => ModelSpec::Ea2d(deserialize(v, p)?),
            "ea3d" => ModelSpec::Ea3d(deserialize(v, p)?),
            "sk" => ModelSpec::Sk(deserialize(v, p)?),
            "rbm" => ModelSpec::Rbm(deserialize(v, p)?),
            "gaussian_grid" => ModelSpec::GaussianGrid(deserialize(v, p)?),
            "graph" => ModelSpec::Graph(Box::new(deserialize(v, p)?)),
            _ => {
                return Err(ModelFileError::UnknownFamily {
                    family,
                    known: FAMILIES.join(", "),
                });
            }
        };
        let beta = spec.beta();
        if !(beta > 0.0 && beta.is_finite()) {
            return Err(invalid(
                "model.beta",
                &format!("{beta} must be positive and finite"),
            ));
        }
        Ok(spec)
    }

    /// The family name.
    pub fn family(&self) -> &'static str {
        match self {
            ModelSpec::Ising2d(_) => "ising2d",
            ModelSpec::Ising3d(_) => "ising3d",
            ModelSpec::Potts2d(_) => "potts2d",
            ModelSpec::Ea2d(_) => "ea2d",
            ModelSpec::Ea3d(_) => "ea3d",
            ModelSpec::Sk(_) => "sk",
            ModelSpec::Rbm(_) => "rbm",
            ModelSpec::GaussianGrid(_) => "gaussian_grid",
            ModelSpec::Graph(_) => "graph",
        }
    }

    /// The inverse temperature.
    pub fn beta(&self) -> f32 {
        match self {
            ModelSpec::Ising2d(s) | ModelSpec::Ising3d(s) => s.beta,
            ModelSpec::Potts2d(s) => s.beta,
            ModelSpec::Ea2d(s) | ModelSpec::Ea3d(s) => s.beta,
            ModelSpec::Sk(s) => s.beta,
            ModelSpec::Rbm(s) => s.beta,
            ModelSpec::GaussianGrid(s) => s.beta,
            ModelSpec::Graph(s) => s.beta,
        }
    }

    /// Builds the model and the update rules of its hand-given blocks (graph only), refusing
    /// a model whose estimated size is above `limit` before allocating it.
    pub fn build(
        &self,
        base_dir: &Path,
        limit: MemoryLimit,
    ) -> Result<(Model, Vec<UpdateRule>), ModelFileError> {
        let model = match self {
            ModelSpec::Ising2d(s) => s.build(2, limit)?,
            ModelSpec::Ising3d(s) => s.build(3, limit)?,
            ModelSpec::Potts2d(s) => s.build(limit)?,
            ModelSpec::Ea2d(s) => s.build(2, limit)?,
            ModelSpec::Ea3d(s) => s.build(3, limit)?,
            ModelSpec::Sk(s) => s.build(limit)?,
            ModelSpec::Rbm(s) => s.build(limit)?,
            ModelSpec::GaussianGrid(s) => s.build(limit)?,
            ModelSpec::Graph(g) => {
                let built = g.build(base_dir, limit)?;
                return Ok((built.model, built.rules));
            }
        };
        Ok((model, Vec::new()))
    }
}
