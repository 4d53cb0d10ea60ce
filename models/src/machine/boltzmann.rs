//! [`BoltzmannMachine`]: a stack of layers with weights between neighbours, its energy,
//! conditionals, free energies and lowering to a blockgibbs model.

use blockgibbs_ir::{BlockSpec, Factor, Model, ModelBuilder, NodeGroup, NodeKind, Power};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::layer::{Conditional, Layer, UnitKind};
use super::{MachineError, check_finite, check_len};

/// A Boltzmann machine: layers `0 … L−1` (layer 0 is the visible layer) and, between layers
/// `l` and `l + 1`, weights `W_l` of shape `[dim_l × dim_{l+1}]` row-major, where `dim` is the
/// number of units (times K for categorical layers; entry `(i·K + c, ·)` belongs to category
/// `c` of unit `i`). The energy is documented on the [module](super).
///
/// ```
/// use blockgibbs_models::machine::{BoltzmannMachine, Layer};
/// let v = Layer::gaussian(vec![0.5, -0.5], vec![0.0, 0.0]).unwrap();
/// let h = Layer::binary(vec![0.1, 0.2, 0.3]).unwrap();
/// let rbm = BoltzmannMachine::new(vec![v, h], vec![vec![0.1; 6]]).unwrap();
/// let model = rbm.to_model().unwrap();
/// assert_eq!(model.node_count(), 5);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BoltzmannMachine {
    layers: Vec<Layer>,
    weights: Vec<Vec<f32>>,
}

/// A lowered machine: the model, each layer's node group and each free layer's block index.
pub(crate) struct Lowered {
    pub model: Model,
    pub groups: Vec<NodeGroup>,
    pub block_of_layer: Vec<Option<usize>>,
}

impl BoltzmannMachine {
    /// A validated machine: at least two layers and `layers.len() − 1` finite weight matrices
    /// of the right shapes.
    pub fn new(
        layers: Vec<Layer>,
        weights: Vec<Vec<f32>>,
    ) -> Result<BoltzmannMachine, MachineError> {
        if layers.len() < 2 {
            return Err(MachineError::TooFewLayers {
                found: layers.len(),
            });
        }
        if weights.len() != layers.len() - 1 {
            return Err(MachineError::ShapeMismatch {
                field: "weights".into(),
                expected: layers.len() - 1,
                found: weights.len(),
            });
        }
        for (l, w) in weights.iter().enumerate() {
            let field = || format!("weights[{l}]");
            let expected = layers[l]
                .dim()
                .checked_mul(layers[l + 1].dim())
                .ok_or_else(|| MachineError::InvalidOption {
                    field: "weights",
                    reason: format!("layers {l} and {} are too large to connect", l + 1),
                })?;
            check_len(field, w, expected)?;
            check_finite(field, w)?;
        }
        Ok(BoltzmannMachine { layers, weights })
    }

    /// A machine with these layers and weights `W ~ N(0, weight_std²)` drawn from ChaCha8
    /// seeded with `seed` (layer parameters are kept as given).
    pub fn random(
        layers: Vec<Layer>,
        weight_std: f32,
        seed: u64,
    ) -> Result<BoltzmannMachine, MachineError> {
        check_finite(|| "weight_std".into(), &[weight_std])?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut normal = || {
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = rng.random::<f64>();
            ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
        };
        let mut weights = Vec::with_capacity(layers.len().saturating_sub(1));
        for (l, p) in layers.windows(2).enumerate() {
            let count =
                p[0].dim()
                    .checked_mul(p[1].dim())
                    .ok_or_else(|| MachineError::InvalidOption {
                        field: "weights",
                        reason: format!("layers {l} and {} are too large to connect", l + 1),
                    })?;
            weights.push((0..count).map(|_| normal() * weight_std).collect());
        }
        BoltzmannMachine::new(layers, weights)
    }

    /// The layers, visible first.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Number of layers.
    pub fn n_layers(&self) -> usize {
        self.layers.len()
    }

    /// The weight matrices; `weights()[l]` connects layers `l` and `l + 1`.
    pub fn weights(&self) -> &[Vec<f32>] {
        &self.weights
    }

    /// Every parameter as one `f64` vector, in [`super::MachineGradient::flatten`]'s layout
    /// (per layer `bias` then `log_var`, then the weight matrices), for optimisers.
    pub fn flat_params(&self) -> Vec<f64> {
        let mut out = Vec::new();
        for layer in &self.layers {
            out.extend(
                layer
                    .bias()
                    .iter()
                    .chain(layer.log_var())
                    .map(|&x| x as f64),
            );
        }
        for w in &self.weights {
            out.extend(w.iter().map(|&x| x as f64));
        }
        out
    }

    /// The machine with every parameter replaced from `params` (the layout of
    /// [`BoltzmannMachine::flat_params`]), rounded to `f32` and validated.
    pub fn with_flat_params(&self, params: &[f64]) -> Result<BoltzmannMachine, MachineError> {
        let expected = self
            .layers
            .iter()
            .map(|l| l.bias().len() + l.log_var().len())
            .sum::<usize>()
            + self.weights.iter().map(Vec::len).sum::<usize>();
        if params.len() != expected {
            return Err(MachineError::ShapeMismatch {
                field: "params".into(),
                expected,
                found: params.len(),
            });
        }
        let mut rest = params;
        let mut take = |n: usize| {
            let (head, tail) = rest.split_at(n);
            rest = tail;
            head.iter().map(|&x| x as f32).collect::<Vec<f32>>()
        };
        let mut layers = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let bias = take(layer.bias().len());
            let log_var = take(layer.log_var().len());
            layers.push(layer.with_params(bias, log_var)?);
        }
        let weights = self.weights.iter().map(|w| take(w.len())).collect();
        BoltzmannMachine::new(layers, weights)
    }

    pub(crate) fn check_layer(&self, layer: usize) -> Result<(), MachineError> {
        if layer < self.layers.len() {
            Ok(())
        } else {
            Err(MachineError::LayerOutOfRange {
                layer,
                layers: self.layers.len(),
            })
        }
    }

    fn check_layer_count<T>(&self, states: &[T]) -> Result<(), MachineError> {
        if states.len() == self.layers.len() {
            Ok(())
        } else {
            Err(MachineError::ShapeMismatch {
                field: "states".into(),
                expected: self.layers.len(),
                found: states.len(),
            })
        }
    }

    /// Checks a state of layer `l`; `relaxed` admits any finite value for non-categorical
    /// units (mean-field states are expectations, not states).
    fn check_values(&self, l: usize, x: &[f32], relaxed: bool) -> Result<(), MachineError> {
        let layer = &self.layers[l];
        let field = || format!("states[{l}]");
        if relaxed && !matches!(layer.kind(), UnitKind::Categorical(_)) {
            check_len(field, x, layer.len())?;
            check_finite(field, x)
        } else {
            layer.check_state(field, x)
        }
    }

    /// Energy of a full configuration (one state per layer), in `f64`.
    pub fn energy(&self, states: &[Vec<f32>]) -> Result<f64, MachineError> {
        self.check_layer_count(states)?;
        for (l, x) in states.iter().enumerate() {
            self.check_values(l, x, false)?;
        }
        let phis: Vec<Vec<f64>> = self
            .layers
            .iter()
            .zip(states)
            .map(|(l, x)| l.phi(x))
            .collect();
        let mut e: f64 = self
            .layers
            .iter()
            .zip(states)
            .map(|(l, x)| l.self_energy(x))
            .sum();
        for (l, w) in self.weights.iter().enumerate() {
            e -= bilinear(w, &phis[l], &phis[l + 1]);
        }
        Ok(e)
    }

    /// The field `W_{l−1}ᵀ φ_{l−1} + W_l φ_{l+1}` into layer `l` from the statistics of its
    /// neighbours (`None` for a neighbour that is absent or summed out).
    pub(crate) fn field(&self, l: usize, below: Option<&[f64]>, above: Option<&[f64]>) -> Vec<f64> {
        let dim = self.layers[l].dim();
        let mut f = vec![0.0; dim];
        if let (Some(phi), true) = (below, l > 0) {
            let w = &self.weights[l - 1];
            for (a, &p) in phi.iter().enumerate() {
                if p != 0.0 {
                    for (fb, &wab) in f.iter_mut().zip(&w[a * dim..(a + 1) * dim]) {
                        *fb += p * wab as f64;
                    }
                }
            }
        }
        if let (Some(phi), true) = (above, l + 1 < self.layers.len()) {
            let w = &self.weights[l];
            let d_up = phi.len();
            for (a, fa) in f.iter_mut().enumerate() {
                *fa += w[a * d_up..(a + 1) * d_up]
                    .iter()
                    .zip(phi)
                    .map(|(&w, &p)| w as f64 * p)
                    .sum::<f64>();
            }
        }
        f
    }

    /// The distribution of layer `layer` given its neighbours' states in `states` (one
    /// entry per layer; the entries of `layer` itself and of non-neighbours are not read and
    /// may be empty). Non-categorical neighbours may hold any finite values — e.g. mean-field
    /// means, which enter through `φ` linearly.
    pub fn conditional(
        &self,
        layer: usize,
        states: &[Vec<f32>],
    ) -> Result<Conditional, MachineError> {
        self.check_layer(layer)?;
        self.check_layer_count(states)?;
        let phi_of = |l: usize| -> Result<Vec<f64>, MachineError> {
            self.check_values(l, &states[l], true)?;
            Ok(self.layers[l].phi(&states[l]))
        };
        let below = if layer > 0 {
            Some(phi_of(layer - 1)?)
        } else {
            None
        };
        let above = if layer + 1 < self.layers.len() {
            Some(phi_of(layer + 1)?)
        } else {
            None
        };
        let f = self.field(layer, below.as_deref(), above.as_deref());
        Ok(self.layers[layer].conditional(&f))
    }

    /// Free energy of the layers given in `states` with the layers marked `None` summed (or,
    /// for Gaussian layers, integrated) out in closed form, so that the marginal of the kept
    /// layers is `exp(−F) / Z`. Summed-out layers must not be adjacent (their sum does not
    /// factorise otherwise): e.g. `[Some(v), None]` is an RBM's visible free energy, and
    /// `[None, Some(h1), None]` a three-layer machine's marginal of its middle layer.
    pub fn free_energy(&self, states: &[Option<&[f32]>]) -> Result<f64, MachineError> {
        self.check_layer_count(states)?;
        for l in 1..states.len() {
            if states[l - 1].is_none() && states[l].is_none() {
                return Err(MachineError::AdjacentMarginalised { a: l - 1, b: l });
            }
        }
        let mut phis = Vec::with_capacity(states.len());
        let mut f = 0.0;
        for (l, x) in states.iter().enumerate() {
            phis.push(match x {
                Some(x) => {
                    self.check_values(l, x, false)?;
                    f += self.layers[l].self_energy(x);
                    Some(self.layers[l].phi(x))
                }
                None => None,
            });
        }
        for (l, w) in self.weights.iter().enumerate() {
            if let (Some(a), Some(b)) = (&phis[l], &phis[l + 1]) {
                f -= bilinear(w, a, b);
            }
        }
        for l in (0..states.len()).filter(|&l| phis[l].is_none()) {
            let below = if l > 0 { phis[l - 1].as_deref() } else { None };
            let above = phis.get(l + 1).and_then(|p| p.as_deref());
            f -= self.layers[l].log_partition(&self.field(l, below, above));
        }
        Ok(f)
    }

    /// The blockgibbs factor graph of the machine: a group `layer{l}` per layer (binary,
    /// spin, gaussian or categorical(K) nodes), and blocks given by hand — one block per layer,
    /// odd layers in the first superblock and even layers in the second (layers of one parity
    /// are conditionally independent given the others, so a sweep is exact block Gibbs and,
    /// for an RBM, runs `h | v` then `v | h`, as paysage's alternating update does).
    /// `Model::energy` equals [`BoltzmannMachine::energy`] up to the constant
    /// `−Σ ½ loc²/σ²` of the Gaussian layers, dropped by the lowering.
    pub fn to_model(&self) -> Result<Model, MachineError> {
        Ok(self.lower(&[])?.model)
    }

    /// [`BoltzmannMachine::to_model`] with the layers in `clamped` clamped (left out of the
    /// blocks; their nodes start at 0, or +1 for spins).
    pub(crate) fn lower(&self, clamped: &[usize]) -> Result<Lowered, MachineError> {
        let mut b = ModelBuilder::new();
        let mut groups = Vec::with_capacity(self.layers.len());
        let mut weights = self.factor_weights().into_iter();
        let mut next = || weights.next().unwrap_or_default();
        for (l, layer) in self.layers.iter().enumerate() {
            let kind = match layer.kind() {
                UnitKind::Binary => NodeKind::Binary,
                UnitKind::Spin => NodeKind::Spin,
                UnitKind::Gaussian => NodeKind::Gaussian,
                UnitKind::Categorical(k) => {
                    NodeKind::Categorical(u32::try_from(k).map_err(|_| {
                        MachineError::InvalidOption {
                            field: "k",
                            reason: format!(
                                "layer {l} has {k} categories; the runtime takes < 2^32"
                            ),
                        }
                    })?)
                }
            };
            let g = b.group(&format!("layer{l}"), kind, layer.len())?;
            let ids = g.ids();
            let factor = |name: String| Factor::new(name);
            match layer.kind() {
                UnitKind::Binary | UnitKind::Spin => {
                    b.factor(factor(format!("bias{l}")).product(ids).weights(next()));
                }
                UnitKind::Categorical(_) => {
                    b.factor(factor(format!("bias{l}")).categorical(ids).weights(next()));
                }
                UnitKind::Gaussian => {
                    let precision =
                        factor(format!("precision{l}")).gaussian(ids.clone(), Power::Two);
                    b.factor(precision.weights(next()));
                    let loc = factor(format!("loc{l}")).gaussian(ids, Power::One);
                    b.factor(loc.weights(next()));
                }
            }
            groups.push(g);
        }
        for l in 0..self.weights.len() {
            b.factor(self.coupling_factor(l, &groups[l], &groups[l + 1], next()));
        }
        for &l in clamped {
            self.check_layer(l)?;
            let value = if self.layers[l].kind() == UnitKind::Spin {
                1.0
            } else {
                0.0
            };
            for id in groups[l].ids() {
                b.clamp(id, value);
            }
        }
        let mut block_of_layer = vec![None; self.layers.len()];
        let mut superblocks = Vec::new();
        let mut next = 0;
        for parity in [1, 0] {
            let mut sb = Vec::new();
            for l in (parity..self.layers.len()).step_by(2) {
                if !clamped.contains(&l) {
                    block_of_layer[l] = Some(next);
                    next += 1;
                    sb.push(groups[l].ids());
                }
            }
            if !sb.is_empty() {
                superblocks.push(sb);
            }
        }
        b.blocks(BlockSpec { superblocks });
        Ok(Lowered {
            model: b.build()?,
            groups,
            block_of_layer,
        })
    }

    /// The weights of every factor of the lowered machine, in factor order: per layer its
    /// bias (`bias{l}`; Gaussian layers `precision{l}`, `−½/σ²`, then `loc{l}`, `loc/σ²`),
    /// then the couplings `weights{l}`. [`super::MachineSampler::set_machine`] hands them to
    /// a running sampler, so they are the one definition of what a machine's model holds.
    pub(crate) fn factor_weights(&self) -> Vec<Vec<f32>> {
        let mut out = Vec::with_capacity(2 * self.layers.len());
        for layer in &self.layers {
            if layer.kind() == UnitKind::Gaussian {
                let n = layer.len();
                out.push((0..n).map(|i| -0.5 * layer.inv_var(i) as f32).collect());
                out.push(
                    (0..n)
                        .map(|i| (layer.bias()[i] as f64 * layer.inv_var(i)) as f32)
                        .collect(),
                );
            } else {
                out.push(layer.bias().to_vec());
            }
        }
        for l in 0..self.weights.len() {
            out.push(self.coupling_weights(l));
        }
        out
    }

    /// The weight tensor of `φ(x_l)ᵀ W_l φ(x_{l+1})`: one instance per unit pair (`i`, `j`),
    /// `[K_a × K_b]` entries each, with the Gaussian ends' `1/σ²` folded in.
    fn coupling_weights(&self, l: usize) -> Vec<f32> {
        let (la, lb) = (&self.layers[l], &self.layers[l + 1]);
        let w = &self.weights[l];
        let plain = |layer: &Layer| layer.kind().width() == 1 && layer.kind() != UnitKind::Gaussian;
        if plain(la) && plain(lb) {
            // One weight per pair, no scaling: the matrix itself, row-major as the pairs.
            return w.clone();
        }
        let (ka, kb) = (la.kind().width(), lb.kind().width());
        let (na, nb, dim_b) = (la.len(), lb.len(), lb.dim());
        let mut tensor = Vec::with_capacity(na * nb * ka * kb);
        for i in 0..na {
            for j in 0..nb {
                let scale = la.inv_var(i) * lb.inv_var(j);
                for ca in 0..ka {
                    for cb in 0..kb {
                        let wab = w[(i * ka + ca) * dim_b + j * kb + cb] as f64;
                        tensor.push((wab * scale) as f32);
                    }
                }
            }
        }
        tensor
    }

    /// The factor `φ(x_l)ᵀ W_l φ(x_{l+1})` in the general form, with `tensor` from
    /// [`BoltzmannMachine::coupling_weights`]: categorical ends index the weight tensor,
    /// binary/spin ends multiply, Gaussian ends multiply by `x`.
    fn coupling_factor(
        &self,
        l: usize,
        ga: &NodeGroup,
        gb: &NodeGroup,
        tensor: Vec<f32>,
    ) -> Factor {
        let (la, lb) = (&self.layers[l], &self.layers[l + 1]);
        let (na, nb) = (la.len(), lb.len());
        let mut a_nodes = Vec::with_capacity(na * nb);
        let mut b_nodes = Vec::with_capacity(na * nb);
        for i in 0..na {
            for j in 0..nb {
                a_nodes.push(ga.node(i));
                b_nodes.push(gb.node(j));
            }
        }
        let mut f = Factor::new(format!("weights{l}"));
        for (layer, nodes) in [(la, a_nodes), (lb, b_nodes)] {
            f = match layer.kind() {
                UnitKind::Categorical(_) => f.categorical(nodes),
                UnitKind::Binary | UnitKind::Spin => f.product(nodes),
                UnitKind::Gaussian => f.gaussian(nodes, Power::One),
            };
        }
        f.weights(tensor)
    }
}

/// `aᵀ W b` for `W` of shape `[a.len() × b.len()]` row-major.
pub(crate) fn bilinear(w: &[f32], a: &[f64], b: &[f64]) -> f64 {
    let d = b.len();
    a.iter()
        .enumerate()
        .filter(|(_, x)| **x != 0.0)
        .map(|(i, &x)| {
            x * w[i * d..(i + 1) * d]
                .iter()
                .zip(b)
                .map(|(&w, &y)| w as f64 * y)
                .sum::<f64>()
        })
        .sum()
}
