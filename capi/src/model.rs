//! `bg_model`: a validated model, loaded from a TOML model file or built from arrays by a
//! `bg_builder`; read-only once made, shared by the samplers made from it.

use crate::args::{Out, slice, string};
use crate::error::{Error, guard};
use crate::handles::{self, Handle};
use blockgibbs_facade::model_file::ModelFile;
use blockgibbs_ir::{Model, NodeId, NodeKind, Program, UpdateRule};
use std::ffi::{c_char, c_int};
use std::sync::Arc;

/// A validated model (opaque). Made by `bg_model_load` or `bg_builder_build`, freed by
/// `bg_model_free`; samplers keep what they need of it, so it may be freed before them.
#[allow(non_camel_case_types)]
pub struct bg_model {
    _opaque: [u8; 0],
}

/// The kind of a node (the `kind` argument of `bg_builder_add_group`, the result of
/// `bg_model_node_kind`).
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum bg_kind {
    /// s ∈ {−1, +1}.
    BG_KIND_SPIN = 0,
    /// b ∈ {0, 1}.
    BG_KIND_BINARY = 1,
    /// c ∈ {0, …, K−1}, K ≥ 2 categories.
    BG_KIND_CATEGORICAL = 2,
    /// x ∈ ℝ.
    BG_KIND_GAUSSIAN = 3,
}

/// What a model handle holds: the model and what its file says about running it.
pub(crate) struct ModelObject {
    pub(crate) model: Arc<Model>,
    /// The model lowered once, shared by every sampler made from it.
    pub(crate) program: Arc<Program>,
    /// Update rule of each hand-given block (empty: every block samples).
    pub(crate) rules: Vec<UpdateRule>,
    /// Initial inverse temperature of every chain.
    pub(crate) beta: f32,
}

impl Handle for ModelObject {
    type Opaque = bg_model;
    const NAME: &'static str = "bg_model";
}

/// Runs `f` on the model behind `model`.
pub(crate) fn with_model<R>(
    model: *const bg_model,
    f: impl FnOnce(&ModelObject) -> Result<R, Error>,
) -> Result<R, Error> {
    let object = handles::get::<ModelObject>(model, "model")?;
    let guard = handles::lock(&object, "model")?;
    f(&guard)
}

/// Converts a node kind and category count given in C.
pub(crate) fn kind_from_c(kind: c_int, categories: u32) -> Result<NodeKind, Error> {
    let plain = |k: NodeKind| {
        if categories == 0 {
            Ok(k)
        } else {
            Err(Error::invalid(format!(
                "argument `categories` is {categories}, but {k} nodes have no categories (pass 0)"
            )))
        }
    };
    match kind {
        0 => plain(NodeKind::Spin),
        1 => plain(NodeKind::Binary),
        2 => Ok(NodeKind::Categorical(categories)),
        3 => plain(NodeKind::Gaussian),
        other => Err(Error::invalid(format!(
            "argument `kind` is {other}, not a bg_kind (0 spin, 1 binary, 2 categorical, 3 gaussian)"
        ))),
    }
}

/// Loads a TOML model file (any family of the `blockgibbs` command line: `ising2d`,
/// `potts2d`, `rbm`, `graph`, …) and validates the model. `overrides` are `n_overrides`
/// strings `KEY=VALUE` applied to the file first, as `--set` does on the command line
/// (`"model.L=64"`); it may be NULL when `n_overrides` is 0. The file's `[model]` β and
/// hand-given update rules carry over to samplers made from the model; its `[schedule]` is
/// ignored (samplers take chains and seed as arguments). Relative file names inside the file
/// resolve against the file's directory.
///
/// Errors: `BG_IO` (the file or a `.npy` it names cannot be read), `BG_MODEL` (invalid TOML,
/// an unknown or misspelt key, a bad value or an invalid model, the key or node named).
/// `*out` is written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_model_load(
    path: *const c_char,
    overrides: *const *const c_char,
    n_overrides: usize,
    out: *mut *mut bg_model,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let path = unsafe { string(path, "path") }?;
        let pointers = unsafe { slice(overrides, n_overrides, "overrides") }?;
        let mut sets = Vec::with_capacity(pointers.len());
        for (i, &p) in pointers.iter().enumerate() {
            sets.push(unsafe { string(p, &format!("overrides[{i}]")) }?.to_string());
        }
        let file = ModelFile::load(path, &sets).map_err(Error::model_file)?;
        let built = file.build().map_err(Error::model_file)?;
        // Compiled once here: a model whose blocks cannot be formed fails at load, not at
        // sampler creation, and every sampler shares the program.
        let (_, program) = built.compile().map_err(Error::model_file)?;
        let handle = handles::register(ModelObject {
            model: built.model,
            program: Arc::new(program),
            rules: built.rules,
            beta: built.beta,
        })?;
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Frees a model. NULL is a no-op; a handle that is not a live `bg_model` (freed already:
/// a double free) is `BG_STALE_HANDLE` and frees nothing. Samplers made from the model are
/// not affected.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_model_free(model: *mut bg_model) -> c_int {
    guard(|| handles::free::<ModelObject>(model, "model"))
}

/// Writes the model's number of nodes to `*out`. Nodes are numbered 0.. in the order their
/// groups were added (a model file's groups in file order).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_model_node_count(model: *const bg_model, out: *mut usize) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let n = with_model(model, |m| Ok(m.model.node_count()))?;
        unsafe { out.write(n) };
        Ok(())
    })
}

/// Writes the model's number of factors to `*out`. Factors are numbered 0.. in the order
/// they were added.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_model_factor_count(model: *const bg_model, out: *mut usize) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let n = with_model(model, |m| Ok(m.model.factors().len()))?;
        unsafe { out.write(n) };
        Ok(())
    })
}

/// Looks a factor up by name: writes the index of the first factor called `name` to `*out`
/// (the index that `bg_sampler_set_weights` takes). An unknown name is
/// `BG_INVALID_ARGUMENT`, and the message lists the factors that exist.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_model_factor_index(
    model: *const bg_model,
    name: *const c_char,
    out: *mut u32,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let name = unsafe { string(name, "name") }?;
        let id = with_model(model, |m| factor_index(&m.model, name))?;
        unsafe { out.write(id) };
        Ok(())
    })
}

/// The index of the factor called `name`, or an error listing the names there are.
pub(crate) fn factor_index(model: &Model, name: &str) -> Result<u32, Error> {
    model.factor_id(name).map(|f| f.0).ok_or_else(|| {
        let mut known: Vec<&str> = model.factors().iter().map(|f| f.name.as_str()).collect();
        let more = known.len().saturating_sub(20);
        known.truncate(20);
        let tail = if more > 0 {
            format!(", and {more} more")
        } else {
            String::new()
        };
        Error::invalid(format!(
            "no factor is named `{name}`; the model's factors are: {}{tail}",
            known.join(", ")
        ))
    })
}

/// Looks a node group up by name: writes the id of its first node to `*first` and its
/// number of nodes to `*len` (its nodes are `first .. first + len - 1`). For models loaded
/// from a file, whose groups the file's family names (`"spin"` for `ising2d`). An unknown
/// name is `BG_INVALID_ARGUMENT`, and the message lists the groups that exist.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_model_group(
    model: *const bg_model,
    name: *const c_char,
    first: *mut u32,
    len: *mut usize,
) -> c_int {
    guard(|| {
        let first = Out::new(first, "first")?;
        let len = Out::new(len, "len")?;
        let name = unsafe { string(name, "name") }?;
        let (f, n) = with_model(model, |m| {
            let group = m.model.group(name).ok_or_else(|| {
                let known: Vec<&str> = m.model.groups().iter().map(|g| g.name.as_str()).collect();
                Error::invalid(format!(
                    "no node group is named `{name}`; the model's groups are: {}",
                    known.join(", ")
                ))
            })?;
            Ok((group.first.0, group.len()))
        })?;
        unsafe {
            first.write(f);
            len.write(n);
        }
        Ok(())
    })
}

/// Writes the kind of node `node` to `*kind` (a `bg_kind`) and its number of categories to
/// `*categories` (0 unless it is categorical). An unknown node is `BG_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_model_node_kind(
    model: *const bg_model,
    node: u32,
    kind: *mut c_int,
    categories: *mut u32,
) -> c_int {
    guard(|| {
        let kind_out = Out::new(kind, "kind")?;
        let categories_out = Out::new(categories, "categories")?;
        let k = with_model(model, |m| {
            if node as usize >= m.model.node_count() {
                return Err(Error::invalid(format!(
                    "unknown node id {node} (the model has {} nodes)",
                    m.model.node_count()
                )));
            }
            Ok(m.model.kind(NodeId(node)))
        })?;
        let (code, k) = match k {
            NodeKind::Spin => (bg_kind::BG_KIND_SPIN, 0),
            NodeKind::Binary => (bg_kind::BG_KIND_BINARY, 0),
            NodeKind::Categorical(k) => (bg_kind::BG_KIND_CATEGORICAL, k),
            NodeKind::Gaussian => (bg_kind::BG_KIND_GAUSSIAN, 0),
        };
        unsafe {
            kind_out.write(code as c_int);
            categories_out.write(k);
        }
        Ok(())
    })
}
