//! `bg_builder`: a model described from C arrays (groups of nodes, factors in the general
//! form, clamps), validated into a `bg_model` by `bg_builder_build`.

use crate::args::{Out, slice, string};
use crate::error::{Error, guard};
use crate::handles::{self, Handle};
use crate::model::{ModelObject, bg_model, kind_from_c};
use blockgibbs_ir::{Factor, ModelBuilder, NodeGroup, NodeId, NodeKind, Power};
use std::ffi::{c_char, c_int};
use std::sync::Arc;

/// A model under construction (opaque). Made by `bg_builder_new`, freed by
/// `bg_builder_free`.
#[allow(non_camel_case_types)]
pub struct bg_builder {
    _opaque: [u8; 0],
}

/// One factor in the general form `Σ_i W[i, c…] · Π s · Π b · Π x^p` over `instances`
/// instances `i`. Each role is an array of `instances` node ids, one node per instance:
/// categorical roles index the weight tensor, product roles (spin or binary nodes) multiply
/// by the node's value, Gaussian roles multiply by `x` or `x²` (`gaussian_powers[j]` is 1 or
/// 2). `weights` is the row-major tensor `[instances, K_1, …, K_n]` over the categorical
/// roles' category counts (just `instances` values when there is no categorical role).
/// A pair coupling `Σ J_i a_i b_i` is two product roles `{a, b}` and `instances` weights.
/// Unused role arrays may be NULL when their count is 0.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct bg_factor_spec {
    /// Name, for messages and `bg_model_factor_index` (NUL-terminated UTF-8).
    pub name: *const c_char,
    /// Number of instances: the length of every role array.
    pub instances: usize,
    /// `n_categorical` arrays of categorical node ids, in weight-tensor axis order.
    pub categorical_roles: *const *const u32,
    /// Number of categorical roles.
    pub n_categorical: usize,
    /// `n_product` arrays of spin or binary node ids.
    pub product_roles: *const *const u32,
    /// Number of product roles.
    pub n_product: usize,
    /// `n_gaussian` arrays of Gaussian node ids.
    pub gaussian_roles: *const *const u32,
    /// `n_gaussian` powers, 1 (x) or 2 (x²), one per Gaussian role.
    pub gaussian_powers: *const u8,
    /// Number of Gaussian roles.
    pub n_gaussian: usize,
    /// The weight tensor, row-major `[instances, K_1, …, K_n]`; finite values.
    pub weights: *const f32,
    /// Number of weights.
    pub n_weights: usize,
}

pub(crate) struct BuilderObject {
    builder: ModelBuilder,
    groups: Vec<NodeGroup>,
    nodes: usize,
    factors: u32,
}

impl Handle for BuilderObject {
    type Opaque = bg_builder;
    const NAME: &'static str = "bg_builder";
}

impl BuilderObject {
    fn kind(&self, node: u32) -> Option<NodeKind> {
        self.groups
            .iter()
            .find(|g| node >= g.first.0 && node - g.first.0 < g.len)
            .map(|g| g.kind)
    }

    fn unknown_node(&self, context: &str, node: u32) -> Error {
        Error::invalid(format!(
            "{context}: unknown node id {node} (the builder has {} nodes so far)",
            self.nodes
        ))
    }
}

fn with_builder<R>(
    builder: *const bg_builder,
    f: impl FnOnce(&mut BuilderObject) -> Result<R, Error>,
) -> Result<R, Error> {
    let object = handles::get::<BuilderObject>(builder, "builder")?;
    let mut guard = handles::lock(&object, "builder")?;
    f(&mut guard)
}

/// Makes an empty model builder and writes its handle to `*out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_builder_new(out: *mut *mut bg_builder) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let handle = handles::register(BuilderObject {
            builder: ModelBuilder::new(),
            groups: Vec::new(),
            nodes: 0,
            factors: 0,
        })?;
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Frees a builder (the models built from it stay). NULL is a no-op; a handle that is not a
/// live `bg_builder` (a double free) is `BG_STALE_HANDLE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_builder_free(builder: *mut bg_builder) -> c_int {
    guard(|| handles::free::<BuilderObject>(builder, "builder"))
}

/// Adds a group of `len` nodes of one `kind` (a `bg_kind`) called `name` and writes the id
/// of its first node to `*first` (its nodes are `first .. first + len - 1`). `categories` is
/// K ≥ 2 for `BG_KIND_CATEGORICAL` and must be 0 for the other kinds. A duplicate name or
/// K < 2 is `BG_MODEL`; an unknown kind is `BG_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_builder_add_group(
    builder: *mut bg_builder,
    name: *const c_char,
    kind: c_int,
    categories: u32,
    len: usize,
    first: *mut u32,
) -> c_int {
    guard(|| {
        let first = Out::new(first, "first")?;
        let name = unsafe { string(name, "name") }?;
        let kind = kind_from_c(kind, categories)?;
        let id = with_builder(builder, |b| {
            let group = b.builder.group(name, kind, len).map_err(Error::model)?;
            b.nodes += len;
            let id = group.first.0;
            b.groups.push(group);
            Ok(id)
        })?;
        unsafe { first.write(id) };
        Ok(())
    })
}

/// Reads the roles of one kind from C: `n` arrays of `instances` node ids, each id checked
/// against the nodes added so far.
unsafe fn read_roles(
    b: &BuilderObject,
    factor: &str,
    what: &str,
    roles: *const *const u32,
    n: usize,
    instances: usize,
) -> Result<Vec<Vec<NodeId>>, Error> {
    let arrays = unsafe { slice(roles, n, &format!("spec.{what}_roles")) }?;
    let mut out = Vec::with_capacity(n);
    for (j, &p) in arrays.iter().enumerate() {
        let role = format!("factor `{factor}` {what}[{j}]");
        let ids = unsafe { slice(p, instances, &format!("spec.{what}_roles[{j}]")) }?;
        // Groups number nodes densely from 0, so an id is known iff it is below the count.
        if let Some(&bad) = ids.iter().find(|&&n| n as usize >= b.nodes) {
            return Err(b.unknown_node(&role, bad));
        }
        out.push(ids.iter().map(|&n| NodeId(n)).collect());
    }
    Ok(out)
}

/// Adds a factor (see `bg_factor_spec`) and writes its index to `*index` (factors are
/// numbered 0.. in the order they are added). Node ids past the nodes added so far, a
/// Gaussian power other than 1 or 2 and non-finite weights are `BG_INVALID_ARGUMENT` here,
/// naming the factor, role or weight; kinds that do not fit a role and a weight count that
/// does not fit the shape are reported by `bg_builder_build` (`BG_MODEL`, naming the
/// factor). On error the builder is unchanged.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_builder_add_factor(
    builder: *mut bg_builder,
    spec: *const bg_factor_spec,
    index: *mut u32,
) -> c_int {
    guard(|| {
        let index = Out::new(index, "index")?;
        if spec.is_null() {
            return Err(Error::null("spec"));
        }
        // SAFETY: non-NULL; a readable bg_factor_spec by the caller's contract.
        let spec = unsafe { &*spec };
        let name = unsafe { string(spec.name, "spec.name") }?.to_string();
        let id = with_builder(builder, |b| {
            let (n, i) = (&name, spec.instances);
            let categorical = unsafe {
                read_roles(
                    b,
                    n,
                    "categorical",
                    spec.categorical_roles,
                    spec.n_categorical,
                    i,
                )
            }?;
            let products =
                unsafe { read_roles(b, n, "product", spec.product_roles, spec.n_product, i) }?;
            let gaussian =
                unsafe { read_roles(b, n, "gaussian", spec.gaussian_roles, spec.n_gaussian, i) }?;
            let powers = unsafe {
                slice(
                    spec.gaussian_powers,
                    spec.n_gaussian,
                    "spec.gaussian_powers",
                )
            }?;
            let weights = unsafe { slice(spec.weights, spec.n_weights, "spec.weights") }?;
            if let Some((j, &w)) = weights.iter().enumerate().find(|(_, w)| !w.is_finite()) {
                return Err(Error::invalid(format!(
                    "factor `{name}`: weight {j} is {w} (weights must be finite)"
                )));
            }
            let mut factor = Factor::new(name.as_str()).weights(weights);
            for role in categorical {
                factor = factor.categorical(role);
            }
            for role in products {
                factor = factor.product(role);
            }
            for (j, (role, &p)) in gaussian.into_iter().zip(powers).enumerate() {
                let power = Power::from_u8(p).ok_or_else(|| {
                    Error::invalid(format!(
                        "factor `{name}` gaussian[{j}]: power {p} is not supported (use 1 or 2)"
                    ))
                })?;
                factor = factor.gaussian(role, power);
            }
            b.builder.factor(factor);
            b.factors += 1;
            Ok(b.factors - 1)
        })?;
        unsafe { index.write(id) };
        Ok(())
    })
}

/// Clamps node `node` to `value` in the model: it is never sampled, and every chain starts
/// with it at `value` (samplers may set other values per chain with `bg_sampler_clamp`).
/// An unknown node, or a value its kind does not admit (a spin at 0.5), is
/// `BG_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_builder_clamp(
    builder: *mut bg_builder,
    node: u32,
    value: f32,
) -> c_int {
    guard(|| {
        with_builder(builder, |b| {
            let kind = b.kind(node).ok_or_else(|| b.unknown_node("clamp", node))?;
            if !kind.admits(value) {
                let name = b
                    .groups
                    .iter()
                    .find(|g| node >= g.first.0 && node - g.first.0 < g.len)
                    .map_or_else(String::new, |g| format!("{}[{}]", g.name, node - g.first.0));
                return Err(Error::invalid(format!(
                    "clamp of node {name}: {value} is not a valid {kind} value"
                )));
            }
            b.builder.clamp(NodeId(node), value);
            Ok(())
        })
    })
}

/// Validates the description and writes the model's handle to `*out`. The builder is left
/// as it was (it may be built again, or extended and built again) and must still be freed.
/// An invalid model is `BG_MODEL` with a message naming the node, factor or group at fault.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_builder_build(
    builder: *const bg_builder,
    out: *mut *mut bg_model,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let model = with_builder(builder, |b| b.builder.clone().build().map_err(Error::model))?;
        // Compiled once here: blocks that cannot be formed (Gaussian precisions, hand-given
        // blocks) are a model error now rather than at sampler creation, and every sampler
        // shares the program.
        let (_, program) = blockgibbs_facade::compiler::compile(&model).map_err(Error::compile)?;
        let handle = handles::register(ModelObject {
            model: Arc::new(model),
            program: Arc::new(program),
            rules: Vec::new(),
            beta: 1.0,
        })?;
        unsafe { out.write(handle) };
        Ok(())
    })
}
