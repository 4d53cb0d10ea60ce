//! The model families of the model-file contract, as Rust constructors: `ising2d`,
//! `ising3d`, `potts2d`, Edwards–Anderson spin glasses, Sherrington–Kirkpatrick, binary RBMs
//! and Gaussian grids. Energies carry no β: the sampler's per-chain β multiplies them.

use crate::lattice;
use blockgibbs_ir::{Model, ModelBuilder, ModelError, NodeKind};

fn invalid(field: &str, reason: impl Into<String>) -> ModelError {
    ModelError::InvalidParameter {
        field: field.to_string(),
        reason: reason.into(),
    }
}

fn check_side(l: usize, max: usize) -> Result<(), ModelError> {
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

fn check_finite(field: &str, v: f32) -> Result<(), ModelError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(invalid(field, format!("{v} is not finite")))
    }
}

pub use blockgibbs_models::Disorder;
use blockgibbs_models::ising::draw_couplings;

/// Spins on the given edges with couplings `j[e]` and a uniform field `h`:
/// H = −Σ J_e s_a s_b − h Σ s.
fn spin_model(n: usize, edges: &[(u32, u32)], j: &[f32], h: f32) -> Result<Model, ModelError> {
    let mut b = ModelBuilder::new();
    let s = b.group("spin", NodeKind::Spin, n)?;
    let (a, c) = lattice::endpoints(&s, edges);
    b.pair_coupling("coupling", &a, &c, j);
    if h != 0.0 {
        b.linear_bias("field", &s.ids(), &vec![h; n]);
    }
    b.build()
}

/// 2D Ising model on an `l × l` square lattice: H = −J Σ⟨ij⟩ s_i s_j − h Σ s_i.
pub fn ising2d(l: usize, j: f32, h: f32, periodic: bool) -> Result<Model, ModelError> {
    check_side(l, 1 << 15)?;
    check_finite("model.J", j)?;
    check_finite("model.h", h)?;
    let edges = lattice::square(l, periodic);
    spin_model(l * l, &edges, &vec![j; edges.len()], h)
}

/// 3D Ising model on an `l³` cubic lattice.
pub fn ising3d(l: usize, j: f32, h: f32, periodic: bool) -> Result<Model, ModelError> {
    check_side(l, 1024)?;
    check_finite("model.J", j)?;
    check_finite("model.h", h)?;
    let edges = lattice::cubic(l, periodic);
    spin_model(l * l * l, &edges, &vec![j; edges.len()], h)
}

/// q-state Potts model on an `l × l` square lattice: H = −J Σ⟨ij⟩ δ(σ_i, σ_j).
pub fn potts2d(q: u32, l: usize, j: f32, periodic: bool) -> Result<Model, ModelError> {
    check_side(l, 1 << 15)?;
    check_finite("model.J", j)?;
    if q < 2 {
        return Err(invalid("model.q", format!("q = {q} must be at least 2")));
    }
    let edges = lattice::square(l, periodic);
    let mut b = ModelBuilder::new();
    let s = b.group("site", NodeKind::Categorical(q), l * l)?;
    let (a, c) = lattice::endpoints(&s, &edges);
    b.potts_coupling("coupling", &a, &c, &vec![j; edges.len()]);
    b.build()
}

/// Edwards–Anderson spin glass in `dim` = 2 or 3 dimensions: nearest-neighbour couplings
/// drawn from `disorder` with `disorder_seed`.
pub fn edwards_anderson(
    dim: u32,
    l: usize,
    disorder: Disorder,
    disorder_seed: u64,
    h: f32,
    periodic: bool,
) -> Result<Model, ModelError> {
    check_finite("model.h", h)?;
    let (n, edges) = match dim {
        2 => {
            check_side(l, 1 << 15)?;
            (l * l, lattice::square(l, periodic))
        }
        3 => {
            check_side(l, 1024)?;
            (l * l * l, lattice::cubic(l, periodic))
        }
        _ => {
            return Err(invalid(
                "model.family",
                format!("Edwards–Anderson needs 2 or 3 dimensions, not {dim}"),
            ));
        }
    };
    let j = draw_couplings(edges.len(), disorder, 1.0, disorder_seed);
    spin_model(n, &edges, &j, h)
}

/// Sherrington–Kirkpatrick model: all pairs coupled with J_ij ~ N(0, J²/N).
pub fn sk(n: usize, j: f32, h: f32, disorder_seed: u64) -> Result<Model, ModelError> {
    if !(2..=20_000).contains(&n) {
        return Err(invalid(
            "model.N",
            format!("N = {n} must be in 2..=20000 (the model is dense)"),
        ));
    }
    check_finite("model.J", j)?;
    check_finite("model.h", h)?;
    let edges: Vec<(u32, u32)> = (0..n as u32)
        .flat_map(|a| (a + 1..n as u32).map(move |b| (a, b)))
        .collect();
    let couplings = draw_couplings(
        edges.len(),
        Disorder::Gaussian,
        j / (n as f32).sqrt(),
        disorder_seed,
    );
    spin_model(n, &edges, &couplings, h)
}

/// Binary restricted Boltzmann machine: visible and hidden {0,1} units, weights
/// W ~ N(0, weight_std²) drawn with `disorder_seed`, uniform biases.
/// Log-density Σ W_ij v_i h_j + a Σ v + c Σ h.
pub fn rbm(
    n_visible: usize,
    n_hidden: usize,
    weight_std: f32,
    visible_bias: f32,
    hidden_bias: f32,
    disorder_seed: u64,
) -> Result<Model, ModelError> {
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
    b.build()
}

/// Gaussian Markov random field on an `l × l` grid: log-density
/// −½ precision Σ x² + coupling Σ⟨ij⟩ x_i x_j + h Σ x, i.e. Λ = precision·I − coupling·A.
/// Requires precision > 4|coupling| (diagonal dominance, so Λ is positive definite).
pub fn gaussian_grid(
    l: usize,
    precision: f32,
    coupling: f32,
    h: f32,
    periodic: bool,
) -> Result<Model, ModelError> {
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
    b.build()
}
