//! `bg_sampler`: chains of one model on a backend, stepped, read, written, clamped,
//! re-weighted and re-tempered between sweeps.

use crate::args::{Out, slice, slice_mut, string};
use crate::error::{Error, guard};
use crate::handles::{self, Handle};
use crate::model::{ModelObject, bg_model, factor_index};
use blockgibbs_ir::{FactorId, NodeId};
use blockgibbs_runtime::{BackendChoice, Chains, Sampler};
use std::ffi::{c_char, c_int};

/// Chains of one model with their backend and thread pool (opaque). Made by
/// `bg_sampler_new`, freed by `bg_sampler_free`.
#[allow(non_camel_case_types)]
pub struct bg_sampler {
    _opaque: [u8; 0],
}

/// The kernels a sampler runs (the `backend` argument of `bg_sampler_new`, the result of
/// `bg_sampler_backend`).
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum bg_backend {
    /// The JIT where this machine runs it, else the reference backend.
    BG_BACKEND_AUTO = 0,
    /// Portable Rust, the executable specification.
    BG_BACKEND_REFERENCE = 1,
    /// Cranelift-compiled SIMD kernels, bit-identical to the reference backend; where they
    /// cannot be built, the reference backend runs instead (see `bg_sampler_backend`).
    BG_BACKEND_JIT = 2,
}

/// The `chain` argument that means every chain (`#define BG_ALL_CHAINS SIZE_MAX` in the
/// header, written by hand in cbindgen.toml: cbindgen cannot evaluate `usize::MAX`).
pub const BG_ALL_CHAINS: usize = usize::MAX;

pub(crate) struct SamplerObject {
    pub(crate) sampler: Sampler,
}

impl Handle for SamplerObject {
    type Opaque = bg_sampler;
    const NAME: &'static str = "bg_sampler";
}

/// Runs `f` on the sampler behind `sampler`.
pub(crate) fn with_sampler<R>(
    sampler: *const bg_sampler,
    f: impl FnOnce(&mut Sampler) -> Result<R, Error>,
) -> Result<R, Error> {
    let object = handles::get::<SamplerObject>(sampler, "sampler")?;
    let mut guard = handles::lock(&object, "sampler")?;
    f(&mut guard.sampler)
}

fn chains(chain: usize) -> Chains {
    if chain == BG_ALL_CHAINS {
        Chains::All
    } else {
        Chains::One(chain)
    }
}

/// The backend a C `bg_backend` value asks for (argument `backend`).
pub(crate) fn backend_choice(backend: c_int) -> Result<BackendChoice, Error> {
    match backend {
        0 => Ok(BackendChoice::Auto),
        1 => Ok(BackendChoice::Reference),
        2 => Ok(BackendChoice::Jit),
        other => Err(Error::invalid(format!(
            "argument `backend` is {other}, not a bg_backend (0 auto, 1 reference, 2 jit)"
        ))),
    }
}

/// Makes a sampler of `model` with `chains` chains on `backend` (a `bg_backend`), `threads`
/// worker threads (0: one per core) and all randomness derived from `seed`, and writes its
/// handle to `*out`. Every chain starts at the model's β (1, or the model file's) and at a
/// random state drawn from the seed; results depend only on the model, the seed and the
/// calls made, never on `threads` or the backend. The model may be freed afterwards.
/// Errors: `BG_INVALID_ARGUMENT` (no chains, an unknown backend).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_new(
    model: *const bg_model,
    backend: c_int,
    chains: usize,
    threads: usize,
    seed: u64,
    out: *mut *mut bg_sampler,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let choice = backend_choice(backend)?;
        let object = handles::get::<ModelObject>(model, "model")?;
        let (model, program, rules, beta) = {
            let m = handles::lock(&object, "model")?;
            (m.model.clone(), m.program.clone(), m.rules.clone(), m.beta)
        };
        let mut sampler = Sampler::builder(model)
            .program(program)
            .backend(choice)
            .chains(chains)
            .threads(threads)
            .seed(seed)
            .beta(beta)
            .build()
            .map_err(Error::runtime)?;
        for (b, &rule) in rules.iter().enumerate() {
            sampler.set_rule(b, rule).map_err(Error::runtime)?;
        }
        let handle = handles::register(SamplerObject { sampler })?;
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Frees a sampler and its threads. NULL is a no-op; a handle that is not a live
/// `bg_sampler` (a double free) is `BG_STALE_HANDLE` and frees nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_free(sampler: *mut bg_sampler) -> c_int {
    guard(|| handles::free::<SamplerObject>(sampler, "sampler"))
}

/// Writes the number of chains to `*out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_chains(sampler: *const bg_sampler, out: *mut usize) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let n = with_sampler(sampler, |s| Ok(s.chains()))?;
        unsafe { out.write(n) };
        Ok(())
    })
}

/// Writes the number of nodes of the sampler's model to `*out` (the row length of the state
/// buffers).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_node_count(
    sampler: *const bg_sampler,
    out: *mut usize,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let n = with_sampler(sampler, |s| Ok(s.model().node_count()))?;
        unsafe { out.write(n) };
        Ok(())
    })
}

/// Writes the backend actually running to `*out`: `BG_BACKEND_JIT` or
/// `BG_BACKEND_REFERENCE` (which also answers when the JIT was asked for but cannot run on
/// this machine).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_backend(sampler: *const bg_sampler, out: *mut c_int) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let b = with_sampler(sampler, |s| {
            Ok(if s.backend_name() == "jit" {
                bg_backend::BG_BACKEND_JIT
            } else {
                bg_backend::BG_BACKEND_REFERENCE
            })
        })?;
        unsafe { out.write(b as c_int) };
        Ok(())
    })
}

/// Runs `sweeps` sweeps of every chain (each sweep updates every free node once, block by
/// block). Errors: `BG_RUNTIME` when an update fails (a Gaussian whose conditional precision
/// is not positive in some state; the message names the node and chain), after which the
/// chains are as the failing sweep left them.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_step(sampler: *mut bg_sampler, sweeps: u64) -> c_int {
    guard(|| with_sampler(sampler, |s| s.sweep(sweeps).map_err(Error::runtime)))
}

/// Writes the number of sweeps run so far to `*out` (every `bg_sampler_step` and
/// `bg_sampler_run` adds to it).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_sweeps_done(
    sampler: *const bg_sampler,
    out: *mut u64,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let n = with_sampler(sampler, |s| Ok(s.sweeps_done()))?;
        unsafe { out.write(n) };
        Ok(())
    })
}

/// Sets a new seed for the update randomness from the next sweep on (the chains' states
/// stay).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_reseed(sampler: *mut bg_sampler, seed: u64) -> c_int {
    guard(|| {
        with_sampler(sampler, |s| {
            s.reseed(seed);
            Ok(())
        })
    })
}

/// Copies every chain's state into `out`, row-major `[chains, nodes]` (row c holds chain
/// c, column n node n): `len` must be `chains · nodes` (else `BG_LENGTH_MISMATCH`, with
/// nothing written). Spins read ±1, binaries 0/1, categories 0..K−1 as floats.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_read_states(
    sampler: *const bg_sampler,
    out: *mut f32,
    len: usize,
) -> c_int {
    guard(|| {
        let out = unsafe { slice_mut(out, len, "out") }?;
        with_sampler(sampler, |s| s.read_states(out).map_err(Error::runtime))
    })
}

/// Sets every chain's state from `values`, row-major `[chains, nodes]` as
/// `bg_sampler_read_states` gives it (`len` = `chains · nodes`). Every value is checked
/// against its node's kind first: a bad one is `BG_INVALID_ARGUMENT` naming the node and
/// chain, and nothing changes. Clamped nodes take the new values and stay clamped.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_write_states(
    sampler: *mut bg_sampler,
    values: *const f32,
    len: usize,
) -> c_int {
    guard(|| {
        let values = unsafe { slice(values, len, "values") }?;
        with_sampler(sampler, |s| s.write_states(values).map_err(Error::runtime))
    })
}

/// Sets the inverse temperature β of chain `chain`, or of every chain when `chain` is
/// `BG_ALL_CHAINS`. β must be positive and finite and the chain must exist (else
/// `BG_INVALID_ARGUMENT`, with nothing changed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_set_beta(
    sampler: *mut bg_sampler,
    chain: usize,
    beta: f32,
) -> c_int {
    guard(|| {
        with_sampler(sampler, |s| {
            let betas = match chains(chain) {
                Chains::All => 0..s.chains(),
                Chains::One(c) => c..c + 1,
            };
            // β is checked once before any chain changes, so that an error changes nothing.
            s.set_beta(betas.start, beta).map_err(Error::runtime)?;
            for c in betas {
                s.set_beta(c, beta).map_err(Error::runtime)?;
            }
            Ok(())
        })
    })
}

/// Sets the β of every chain from `betas`, one per chain (`len` = chains, else
/// `BG_LENGTH_MISMATCH`). A β that is not positive and finite is `BG_INVALID_ARGUMENT`
/// naming its chain, and no chain changes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_set_betas(
    sampler: *mut bg_sampler,
    betas: *const f32,
    len: usize,
) -> c_int {
    guard(|| {
        let betas = unsafe { slice(betas, len, "betas") }?;
        with_sampler(sampler, |s| {
            if betas.len() != s.chains() {
                return Err(Error::length("betas", s.chains(), betas.len()));
            }
            if let Some((c, &b)) = betas
                .iter()
                .enumerate()
                .find(|(_, b)| !(**b > 0.0 && b.is_finite()))
            {
                return Err(Error::invalid(format!(
                    "chain {c}: inverse temperature {b} must be positive and finite"
                )));
            }
            s.set_betas(betas).map_err(Error::runtime)
        })
    })
}

/// Writes the β of chain `chain` to `*out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_get_beta(
    sampler: *const bg_sampler,
    chain: usize,
    out: *mut f32,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let b = with_sampler(sampler, |s| s.beta(chain).map_err(Error::runtime))?;
        unsafe { out.write(b) };
        Ok(())
    })
}

/// Holds `nodes[i]` at `values[i]` (both `len` long) in chain `chain`, or in every chain
/// when `chain` is `BG_ALL_CHAINS`, from now on: sweeps leave them as they are and every
/// other node sees them as clamped (a boundary condition, a sensor reading). Clamping a node
/// that is held already just changes its value. An unknown node or chain, or a value a
/// node's kind does not admit, is `BG_INVALID_ARGUMENT` naming it, with nothing changed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_clamp(
    sampler: *mut bg_sampler,
    nodes: *const u32,
    values: *const f32,
    len: usize,
    chain: usize,
) -> c_int {
    guard(|| {
        let nodes = unsafe { slice(nodes, len, "nodes") }?;
        let values = unsafe { slice(values, len, "values") }?;
        let ids: Vec<NodeId> = nodes.iter().map(|&n| NodeId(n)).collect();
        with_sampler(sampler, |s| {
            s.clamp_nodes(&ids, values, chains(chain))
                .map_err(Error::runtime)
        })
    })
}

/// Releases `nodes` (`len` of them) in chain `chain`, or in every chain when `chain` is
/// `BG_ALL_CHAINS`: they are sampled again from the next sweep on, starting from the value
/// they were held at. Releasing a free node does nothing; a node clamped in the model
/// itself cannot be released (`BG_INVALID_ARGUMENT`, with nothing changed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_release(
    sampler: *mut bg_sampler,
    nodes: *const u32,
    len: usize,
    chain: usize,
) -> c_int {
    guard(|| {
        let nodes = unsafe { slice(nodes, len, "nodes") }?;
        let ids: Vec<NodeId> = nodes.iter().map(|&n| NodeId(n)).collect();
        with_sampler(sampler, |s| {
            s.release_nodes(&ids, chains(chain)).map_err(Error::runtime)
        })
    })
}

/// Looks a factor up by name in the sampler's model (as `bg_model_factor_index`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_factor_index(
    sampler: *const bg_sampler,
    name: *const c_char,
    out: *mut u32,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let name = unsafe { string(name, "name") }?;
        let id = with_sampler(sampler, |s| factor_index(s.model(), name))?;
        unsafe { out.write(id) };
        Ok(())
    })
}

/// Writes the number of weights of factor `factor` to `*out` (`instances · K_1 · …`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_weight_count(
    sampler: *const bg_sampler,
    factor: u32,
    out: *mut usize,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let n = with_sampler(sampler, |s| {
            s.weights(FactorId(factor))
                .map(<[f32]>::len)
                .map_err(Error::runtime)
        })?;
        unsafe { out.write(n) };
        Ok(())
    })
}

/// Copies the live weights of factor `factor` into `out` (`len` = its weight count),
/// row-major `[instances, K_1, …]`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_get_weights(
    sampler: *const bg_sampler,
    factor: u32,
    out: *mut f32,
    len: usize,
) -> c_int {
    guard(|| {
        let out = unsafe { slice_mut(out, len, "out") }?;
        with_sampler(sampler, |s| {
            let w = s.weights(FactorId(factor)).map_err(Error::runtime)?;
            if w.len() != out.len() {
                return Err(Error::length("weights", w.len(), out.len()));
            }
            out.copy_from_slice(w);
            Ok(())
        })
    })
}

/// Replaces all weights of factor `factor` (`len` values, row-major `[instances, K_1, …]` as
/// given to the builder); they take effect at the next sweep, with no recompilation. A wrong
/// count is `BG_LENGTH_MISMATCH`; a non-finite weight or an unknown factor is
/// `BG_INVALID_ARGUMENT`; weights that make a Gaussian's precision non-positive are
/// `BG_MODEL`. On error the old weights stay.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_set_weights(
    sampler: *mut bg_sampler,
    factor: u32,
    weights: *const f32,
    len: usize,
) -> c_int {
    guard(|| {
        let weights = unsafe { slice(weights, len, "weights") }?;
        with_sampler(sampler, |s| {
            s.set_weights(FactorId(factor), weights)
                .map_err(Error::runtime)
        })
    })
}

/// Replaces the weights of one instance of factor `factor` (its `[K_1, …]` sub-tensor: one
/// value when the factor has no categorical role); see `bg_sampler_set_weights`. An
/// instance past the factor's instances is `BG_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_set_instance_weights(
    sampler: *mut bg_sampler,
    factor: u32,
    instance: usize,
    weights: *const f32,
    len: usize,
) -> c_int {
    guard(|| {
        let weights = unsafe { slice(weights, len, "weights") }?;
        with_sampler(sampler, |s| {
            s.set_instance_weights(FactorId(factor), instance, weights)
                .map_err(Error::runtime)
        })
    })
}

/// Writes the energy of chain `chain`'s current state to `*out`: minus the sum of every
/// factor's terms, without β, computed in double precision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_energy(
    sampler: *const bg_sampler,
    chain: usize,
    out: *mut f64,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let e = with_sampler(sampler, |s| s.energy(chain).map_err(Error::runtime))?;
        unsafe { out.write(e) };
        Ok(())
    })
}

/// Writes the mean of every node over the chains, at the current state, to `out` (`len` =
/// nodes). For averages over time as well, use a `bg_moments` accumulator.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_means(
    sampler: *const bg_sampler,
    out: *mut f64,
    len: usize,
) -> c_int {
    guard(|| {
        let out = unsafe { slice_mut(out, len, "out") }?;
        with_sampler(sampler, |s| {
            let nodes = s.model().node_count();
            if out.len() != nodes {
                return Err(Error::length("means", nodes, out.len()));
            }
            let mut states = vec![0.0f32; s.chains() * nodes];
            s.read_states(&mut states).map_err(Error::runtime)?;
            out.fill(0.0);
            for row in states.chunks_exact(nodes.max(1)) {
                for (m, &v) in out.iter_mut().zip(row) {
                    *m += f64::from(v);
                }
            }
            let chains = s.chains() as f64;
            out.iter_mut().for_each(|m| *m /= chains);
            Ok(())
        })
    })
}
