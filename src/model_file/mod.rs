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
pub mod tensor;

pub use error::ModelFileError;
use error::classify;
use families::{EaSpec, GaussianGridSpec, IsingSpec, PottsSpec, RbmSpec, SkSpec};
use graph::{GraphSpec, NodeRef};

use blockgibbs_compiler::{BlockSchedule, CompileError, compile};
use blockgibbs_ir::{Model, NodeId, Program, UpdateRule};
use blockgibbs_runtime::{BackendChoice, RuntimeError, Sampler, SamplerOptions, SamplingSchedule};
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
    /// Seed of all randomness (default 0).
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
}

impl BuiltModel {
    /// Colours (or checks the hand-given blocks of) the model and lowers it.
    pub fn compile(&self) -> Result<(BlockSchedule, Program), CompileError> {
        compile(&self.model)
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
        let doc: Document = deserialize(toml::Value::Table(doc), "")?;
        let model = ModelSpec::from_table(doc.model)?;
        let s = &doc.schedule;
        if s.chains == 0 {
            return Err(invalid("schedule.chains", "at least one chain is needed"));
        }
        if s.steps_per_sample == 0 {
            return Err(invalid("schedule.steps_per_sample", "must be at least 1"));
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

    /// Builds and validates the model and resolves the output nodes.
    pub fn build(&self) -> Result<BuiltModel, ModelFileError> {
        let (model, rules) = self.model.build(&self.base_dir)?;
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
        let mut sampler = Sampler::builder(built.model.clone())
            .backend(BackendChoice::Reference)
            .options(self.sampler_options(threads))
            .build()?;
        built.configure(&mut sampler)?;
        Ok((sampler, built))
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

    /// Builds the model and the update rules of its hand-given blocks (graph only).
    pub fn build(&self, base_dir: &Path) -> Result<(Model, Vec<UpdateRule>), ModelFileError> {
        let model = match self {
            ModelSpec::Ising2d(s) => s.build(2)?,
            ModelSpec::Ising3d(s) => s.build(3)?,
            ModelSpec::Potts2d(s) => s.build()?,
            ModelSpec::Ea2d(s) => s.build(2)?,
            ModelSpec::Ea3d(s) => s.build(3)?,
            ModelSpec::Sk(s) => s.build()?,
            ModelSpec::Rbm(s) => s.build()?,
            ModelSpec::GaussianGrid(s) => s.build()?,
            ModelSpec::Graph(g) => {
                let built = g.build(base_dir)?;
                return Ok((built.model, built.rules));
            }
        };
        Ok((model, Vec::new()))
    }
}
