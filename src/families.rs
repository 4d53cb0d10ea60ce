//! The model families of the model-file contract, as Rust constructors: `ising2d`,
//! `ising3d`, `potts2d`, Edwards–Anderson spin glasses, Sherrington–Kirkpatrick, binary RBMs
//! and Gaussian grids. Energies carry no β: the sampler's per-chain β multiplies them.
//!
//! The spin and Potts families build through the models crate's [`IsingEBM`] and
//! [`PottsEBM`] constructors (one code path for lattices and disorder streams) after
//! checking their parameters under the model file's field names; [`IsingEBM::to_family_model`]
//! keeps the factor names and order these families have always had, so `info` prints the
//! same and samples are the same bit for bit.

use crate::lattice;
use crate::model_file::ModelFileError;
use blockgibbs_ir::memory::{FactorSize, model_bytes};
use blockgibbs_ir::{MemoryLimit, Model, ModelBuilder, NodeKind};

fn invalid(field: &str, reason: impl Into<String>) -> ModelFileError {
    ModelFileError::InvalidValue {
        key: field.to_string(),
        message: reason.into(),
    }
}

fn check_side(l: usize, max: usize) -> Result<(), ModelFileError> {
    if l < 2 {
        return Err(invalid(
            "model.L",
            format!("lattice side {l} must be at least 2"),
        ));
    }
    if l > max {
        return Err(invalid(
            "model.L",
            format!("lattice side {l} exceeds {max}"),
        ));
    }
    Ok(())
}

fn check_finite(field: &str, v: f32) -> Result<(), ModelFileError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(invalid(field, format!("{v} is not finite")))
    }
}

/// While a family is built, the models-crate object it goes through (edges, couplings,
/// biases) and the model's own copy exist together, so the estimate counts the model twice.
const CONSTRUCTION_COPIES: u64 = 2;

/// Refuses a family model whose estimated size (from its node count and factor sizes,
/// before anything is allocated) is above `limit`; `what` names the parameter that made it
/// large, with its value.
fn check_size(
    limit: MemoryLimit,
    what: impl FnOnce() -> String,
    nodes: u64,
    factors: &[FactorSize],
) -> Result<(), ModelFileError> {
    let bytes = model_bytes(nodes, factors).and_then(|b| b.checked_mul(CONSTRUCTION_COPIES));
    limit.check(what(), bytes).map_err(ModelFileError::from)
}

/// Edges of a `dim`-dimensional lattice of side `l` (periodic: `dim` per site).
fn lattice_edges(dim: u32, l: u64, periodic: bool) -> Option<u64> {
    let per_axis = if periodic { l } else { l.saturating_sub(1) };
    let sites = l.checked_pow(dim)?;
    (sites / l).checked_mul(per_axis)?.checked_mul(dim as u64)
}

/// A factor of `instances` instances of `roles` nodes with one weight each.
fn scalar_factor(instances: u64, roles: u64) -> FactorSize {
    FactorSize {
        instances,
        roles,
        weights: instances,
    }
}

/// Refuses a spin lattice (Ising, Edwards–Anderson, Gaussian grid: one weight per edge and
/// per site) that would not fit under `limit`, naming `model.L`.
fn check_lattice(
    limit: MemoryLimit,
    dim: u32,
    l: usize,
    periodic: bool,
) -> Result<(), ModelFileError> {
    let l64 = l as u64;
    let sites = l64.checked_pow(dim).unwrap_or(u64::MAX);
    let edges = lattice_edges(dim, l64, periodic).unwrap_or(u64::MAX);
    let factors = [scalar_factor(edges, 2), scalar_factor(sites, 1)];
    check_size(
        limit,
        || format!("model.L = {l} ({dim}D lattice)"),
        sites,
        &factors,
    )
}

pub use blockgibbs_models::Disorder;
use blockgibbs_models::ising::draw_couplings;
use blockgibbs_models::{IsingEBM, IsingError, PottsEBM};

/// The families carry no β (the sampler's per-chain β multiplies their energies); the
/// models-crate constructors they build through want one, and ignore it when converting.
const UNIT_BETA: f32 = 1.0;

/// The facade checks its own parameters first (with the model file's field names), so an
/// error from the models crate means a limit the facade does not know about.
fn from_models(e: IsingError) -> ModelFileError {
    match e {
        IsingError::Model(e) => e.into(),
        other => invalid("model", other.to_string()),
    }
}

/// The family model of `ebm` (see [`IsingEBM::to_family_model`]) with the uniform field
/// `h` on every spin (0 leaves the `field` factor out).
fn spin_family(ebm: Result<IsingEBM, IsingError>, h: f32) -> Result<Model, ModelFileError> {
    let mut ebm = ebm.map_err(from_models)?;
    if h != 0.0 {
        let field = vec![h; ebm.node_count()];
        ebm.set_biases(&field).map_err(from_models)?;
    }
    ebm.to_family_model().map_err(from_models)
}

/// 2D Ising model on an `l × l` square lattice: H = −J Σ⟨ij⟩ s_i s_j − h Σ s_i.
/// Refused (a [`ModelFileError::Memory`] naming `model.L`) if it would not fit in the memory
/// available.
pub fn ising2d(l: usize, j: f32, h: f32, periodic: bool) -> Result<Model, ModelFileError> {
    ising2d_within(MemoryLimit::available(), l, j, h, periodic)
}

/// [`ising2d`] under a memory limit.
pub fn ising2d_within(
    limit: MemoryLimit,
    l: usize,
    j: f32,
    h: f32,
    periodic: bool,
) -> Result<Model, ModelFileError> {
    check_side(l, 1 << 15)?;
    check_finite("model.J", j)?;
    check_finite("model.h", h)?;
    check_lattice(limit, 2, l, periodic)?;
    spin_family(IsingEBM::square(l, periodic, j, 0.0, UNIT_BETA), h)
}

/// 3D Ising model on an `l³` cubic lattice (refused like [`ising2d`] if too large).
pub fn ising3d(l: usize, j: f32, h: f32, periodic: bool) -> Result<Model, ModelFileError> {
    ising3d_within(MemoryLimit::available(), l, j, h, periodic)
}

/// [`ising3d`] under a memory limit.
pub fn ising3d_within(
    limit: MemoryLimit,
    l: usize,
    j: f32,
    h: f32,
    periodic: bool,
) -> Result<Model, ModelFileError> {
    check_side(l, 1024)?;
    check_finite("model.J", j)?;
    check_finite("model.h", h)?;
    check_lattice(limit, 3, l, periodic)?;
    spin_family(IsingEBM::cubic(l, periodic, j, 0.0, UNIT_BETA), h)
}

/// q-state Potts model on an `l × l` square lattice: H = −J Σ⟨ij⟩ δ(σ_i, σ_j). Every
/// edge holds a `q × q` weight table, so the size grows as `q²`: refused (naming `model.q`,
/// or `model.L` when the lattice dominates) if it would not fit in the memory available.
pub fn potts2d(q: u32, l: usize, j: f32, periodic: bool) -> Result<Model, ModelFileError> {
    potts2d_within(MemoryLimit::available(), q, l, j, periodic)
}

/// [`potts2d`] under a memory limit.
pub fn potts2d_within(
    limit: MemoryLimit,
    q: u32,
    l: usize,
    j: f32,
    periodic: bool,
) -> Result<Model, ModelFileError> {
    check_side(l, 1 << 15)?;
    check_finite("model.J", j)?;
    if q < 2 {
        return Err(invalid("model.q", format!("q = {q} must be at least 2")));
    }
    let sites = (l as u64).pow(2);
    let edges = lattice_edges(2, l as u64, periodic).unwrap_or(u64::MAX);
    let q64 = q as u64;
    let tables = edges.saturating_mul(q64 * q64);
    // The model keeps per-site biases (`q` each) in the EBM, and a `q × q` table per edge.
    let factors = [
        FactorSize {
            instances: edges,
            roles: 2,
            weights: tables,
        },
        FactorSize {
            instances: sites,
            roles: 1,
            weights: sites.saturating_mul(q64),
        },
    ];
    let what = if q64 * q64 > 16 {
        format!("model.q = {q} (a {q} × {q} table on each of {edges} edges, model.L = {l})")
    } else {
        format!("model.L = {l} (2D lattice, q = {q})")
    };
    check_size(limit, || what, sites, &factors)?;
    // PottsEBM's layout (`coupling`, plus `bias` only for non-zero biases) is the family's.
    let ebm = PottsEBM::square(q, l, periodic, j, UNIT_BETA).map_err(from_models)?;
    ebm.to_model().map_err(from_models)
}

/// Edwards–Anderson spin glass in `dim` = 2 or 3 dimensions: nearest-neighbour couplings
/// drawn from `disorder` with `disorder_seed` (the stream of
/// [`blockgibbs_models::ising::draw_couplings`], one draw per edge in lattice order).
/// Refused like [`ising2d`] if too large.
pub fn edwards_anderson(
    dim: u32,
    l: usize,
    disorder: Disorder,
    disorder_seed: u64,
    h: f32,
    periodic: bool,
) -> Result<Model, ModelFileError> {
    let limit = MemoryLimit::available();
    edwards_anderson_within(limit, dim, l, disorder, disorder_seed, h, periodic)
}

/// [`edwards_anderson`] under a memory limit.
pub fn edwards_anderson_within(
    limit: MemoryLimit,
    dim: u32,
    l: usize,
    disorder: Disorder,
    disorder_seed: u64,
    h: f32,
    periodic: bool,
) -> Result<Model, ModelFileError> {
    check_finite("model.h", h)?;
    match dim {
        2 => check_side(l, 1 << 15)?,
        3 => check_side(l, 1024)?,
        _ => {
            return Err(invalid(
                "model.family",
                format!("Edwards–Anderson needs 2 or 3 dimensions, not {dim}"),
            ));
        }
    }
    check_lattice(limit, dim, l, periodic)?;
    let ebm = IsingEBM::edwards_anderson(dim, l, periodic, disorder, disorder_seed, UNIT_BETA);
    spin_family(ebm, h)
}

/// Sherrington–Kirkpatrick model: all pairs coupled with J_ij ~ N(0, J²/N). Its
/// `N(N − 1)/2` couplings are refused (naming `model.N`) if they would not fit in the memory
/// available.
pub fn sk(n: usize, j: f32, h: f32, disorder_seed: u64) -> Result<Model, ModelFileError> {
    sk_within(MemoryLimit::available(), n, j, h, disorder_seed)
}

/// [`sk`] under a memory limit.
pub fn sk_within(
    limit: MemoryLimit,
    n: usize,
    j: f32,
    h: f32,
    disorder_seed: u64,
) -> Result<Model, ModelFileError> {
    if !(2..=20_000).contains(&n) {
        return Err(invalid(
            "model.N",
            format!("N = {n} must be in 2..=20000 (the model is dense)"),
        ));
    }
    check_finite("model.J", j)?;
    check_finite("model.h", h)?;
    let n64 = n as u64;
    let pairs = n64 * (n64 - 1) / 2;
    let factors = [scalar_factor(pairs, 2), scalar_factor(n64, 1)];
    check_size(
        limit,
        || format!("model.N = {n} ({pairs} couplings)"),
        n64,
        &factors,
    )?;
    spin_family(IsingEBM::sk(n, j, disorder_seed, UNIT_BETA), h)
}

/// Binary restricted Boltzmann machine: visible and hidden {0,1} units, weights
/// W ~ N(0, weight_std²) drawn with `disorder_seed`, uniform biases.
/// Log-density Σ W_ij v_i h_j + a Σ v + c Σ h. Refused (naming both layer sizes) if it would
/// not fit in the memory available.
pub fn rbm(
    n_visible: usize,
    n_hidden: usize,
    weight_std: f32,
    visible_bias: f32,
    hidden_bias: f32,
    disorder_seed: u64,
) -> Result<Model, ModelFileError> {
    let limit = MemoryLimit::available();
    let biases = (visible_bias, hidden_bias);
    rbm_within(
        limit,
        n_visible,
        n_hidden,
        weight_std,
        biases,
        disorder_seed,
    )
}

/// [`rbm`] under a memory limit; `biases` are the visible and hidden biases.
pub fn rbm_within(
    limit: MemoryLimit,
    n_visible: usize,
    n_hidden: usize,
    weight_std: f32,
    (visible_bias, hidden_bias): (f32, f32),
    disorder_seed: u64,
) -> Result<Model, ModelFileError> {
    if n_visible == 0 || n_hidden == 0 {
        return Err(invalid(
            "model.n_visible",
            "both layers need at least one unit",
        ));
    }
    if !(weight_std >= 0.0 && weight_std.is_finite()) {
        return Err(invalid(
            "model.weight_std",
            format!("{weight_std} must be finite and ≥ 0"),
        ));
    }
    check_finite("model.visible_bias", visible_bias)?;
    check_finite("model.hidden_bias", hidden_bias)?;
    let (nv, nh) = (n_visible as u64, n_hidden as u64);
    let pairs = nv.saturating_mul(nh);
    let factors = [scalar_factor(pairs, 2), scalar_factor(nv + nh, 1)];
    let what = || format!("model.n_visible × model.n_hidden = {n_visible} × {n_hidden}");
    check_size(limit, what, nv + nh, &factors)?;
    let mut b = ModelBuilder::new();
    let v = b.group("visible", NodeKind::Binary, n_visible)?;
    let hdn = b.group("hidden", NodeKind::Binary, n_hidden)?;
    let mut a = Vec::with_capacity(n_visible * n_hidden);
    let mut c = Vec::with_capacity(n_visible * n_hidden);
    for i in 0..n_visible {
        for j in 0..n_hidden {
            a.push(v.node(i));
            c.push(hdn.node(j));
        }
    }
    let w = draw_couplings(a.len(), Disorder::Gaussian, weight_std, disorder_seed);
    b.pair_coupling("weights", &a, &c, &w);
    if visible_bias != 0.0 {
        b.linear_bias("visible_bias", &v.ids(), &vec![visible_bias; n_visible]);
    }
    if hidden_bias != 0.0 {
        b.linear_bias("hidden_bias", &hdn.ids(), &vec![hidden_bias; n_hidden]);
    }
    Ok(b.build()?)
}

/// Gaussian Markov random field on an `l × l` grid: log-density
/// −½ precision Σ x² + coupling Σ⟨ij⟩ x_i x_j + h Σ x, i.e. Λ = precision·I − coupling·A.
/// Requires precision > 4|coupling| (diagonal dominance, so Λ is positive definite).
/// Refused like [`ising2d`] if too large.
pub fn gaussian_grid(
    l: usize,
    precision: f32,
    coupling: f32,
    h: f32,
    periodic: bool,
) -> Result<Model, ModelFileError> {
    gaussian_grid_within(
        MemoryLimit::available(),
        l,
        precision,
        coupling,
        h,
        periodic,
    )
}

/// [`gaussian_grid`] under a memory limit.
pub fn gaussian_grid_within(
    limit: MemoryLimit,
    l: usize,
    precision: f32,
    coupling: f32,
    h: f32,
    periodic: bool,
) -> Result<Model, ModelFileError> {
    check_side(l, 1 << 15)?;
    check_finite("model.coupling", coupling)?;
    check_finite("model.h", h)?;
    if !(precision > 0.0 && precision.is_finite()) {
        return Err(invalid(
            "model.precision",
            format!("{precision} must be positive and finite"),
        ));
    }
    if 4.0 * coupling.abs() >= precision {
        return Err(invalid(
            "model.coupling",
            format!(
                "|coupling| = {} must be below precision / 4 = {} for a proper density",
                coupling.abs(),
                precision / 4.0
            ),
        ));
    }
    check_lattice(limit, 2, l, periodic)?;
    let edges = lattice::square(l, periodic);
    let mut b = ModelBuilder::new();
    let x = b.group("x", NodeKind::Gaussian, l * l)?;
    let ids = x.ids();
    b.gaussian_precision("precision", &ids, &vec![precision; ids.len()]);
    let (a, c) = lattice::endpoints(&x, &edges);
    b.gaussian_coupling("coupling", &a, &c, &vec![coupling; edges.len()]);
    if h != 0.0 {
        b.gaussian_linear("field", &ids, &vec![h; ids.len()]);
    }
    Ok(b.build()?)
}
