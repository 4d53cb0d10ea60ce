//! Layerwise pretraining of deep machines (Salakhutdinov & Hinton, "Deep Boltzmann
//! machines", 2009).
//!
//! In a deep machine a middle layer hears both neighbours, but each pretraining RBM sees only
//! one of them, so the RBMs double the input that stands in for the missing neighbour: the
//! bottom RBM (layers 0, 1) doubles the bottom-up input to layer 1, the top RBM doubles the
//! top-down input to layer `L − 2`, middle RBMs double both. Both directions are applied —
//! paysage reads only one multiplier per RBM, so its bottom doubling is a no-op; not here.
//!
//! **The tied-copies model.** A doubled direction is realised, as Salakhutdinov & Hinton
//! describe it, by two copies of the sending layer with tied parameters: the bottom RBM has
//! visible copies `(v, v′)`, both set to the data, so `p(h | v, v) = cond(2Wᵀφ(v))` while
//! `p(v | h) = cond(Wφ(h))`; the top RBM has hidden copies `(h, h′)`. The copies form an
//! ordinary two-layer [`BoltzmannMachine`] ([`PretrainingRbm::tied_machine`]), so sampling
//! runs on the runtime and CD/PCD estimate a true likelihood gradient; tied parameters get
//! the sum of their copies' gradients ([`PretrainingRbm::untie`]).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::gradient::MachineGradient;
use super::layer::{Conditional, Layer};
use super::{BoltzmannMachine, MachineError, MachineGradientEstimator, Sampling};
use crate::optim::{LrSchedule, Method, Minibatches, Optimizer};

/// Input multipliers of a pretraining RBM: `up` scales the lower layer's input to the upper
/// layer, `down` the upper layer's input to the lower one (1 or 2 each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Doubling {
    /// Copies of the lower layer (1, or 2 to double the bottom-up input).
    pub up: usize,
    /// Copies of the upper layer (1, or 2 to double the top-down input).
    pub down: usize,
}

impl Doubling {
    /// The doubling of the RBM between layers `pair` and `pair + 1` of an `n_layers`-layer
    /// machine: bottom ×2 up, top ×2 down, middle both, none for a two-layer machine.
    pub fn for_pair(pair: usize, n_layers: usize) -> Doubling {
        Doubling {
            up: if pair + 2 < n_layers { 2 } else { 1 },
            down: if pair > 0 { 2 } else { 1 },
        }
    }
}

/// One RBM of layerwise pretraining: layers `lower`, `upper`, weights `W` and a [`Doubling`].
#[derive(Debug, Clone, PartialEq)]
pub struct PretrainingRbm {
    rbm: BoltzmannMachine,
    doubling: Doubling,
}

impl PretrainingRbm {
    /// A pretraining RBM over the two layers of `rbm`.
    pub fn new(rbm: BoltzmannMachine, doubling: Doubling) -> Result<PretrainingRbm, MachineError> {
        if rbm.n_layers() != 2 {
            return Err(MachineError::NotTwoLayers {
                what: "PretrainingRbm",
                layers: rbm.n_layers(),
            });
        }
        for (field, copies) in [
            ("doubling.up", doubling.up),
            ("doubling.down", doubling.down),
        ] {
            if !(1..=2).contains(&copies) {
                return Err(MachineError::InvalidOption {
                    field,
                    reason: format!("{copies} copies; 1 or 2 are allowed"),
                });
            }
        }
        Ok(PretrainingRbm { rbm, doubling })
    }

    /// The RBM between layers `pair` and `pair + 1` of `deep`, doubled as
    /// [`Doubling::for_pair`] says.
    pub fn from_deep(deep: &BoltzmannMachine, pair: usize) -> Result<PretrainingRbm, MachineError> {
        deep.check_layer(pair + 1)?;
        let rbm = BoltzmannMachine::new(
            deep.layers()[pair..pair + 2].to_vec(),
            vec![deep.weights()[pair].clone()],
        )?;
        PretrainingRbm::new(rbm, Doubling::for_pair(pair, deep.n_layers()))
    }

    /// The untied RBM (one copy of each layer).
    pub fn rbm(&self) -> &BoltzmannMachine {
        &self.rbm
    }

    /// The doubling.
    pub fn doubling(&self) -> Doubling {
        self.doubling
    }

    /// `p(upper | lower)` with the bottom-up input multiplied by `doubling.up`.
    pub fn up_conditional(&self, lower: &[f32]) -> Result<Conditional, MachineError> {
        let l = &self.rbm.layers()[0];
        l.check_state(|| "lower".into(), lower)?;
        let phi: Vec<f64> = l
            .phi(lower)
            .iter()
            .map(|p| p * self.doubling.up as f64)
            .collect();
        Ok(self.rbm.layers()[1].conditional(&self.rbm.field(1, Some(&phi), None)))
    }

    /// `p(lower | upper)` with the top-down input multiplied by `doubling.down`.
    pub fn down_conditional(&self, upper: &[f32]) -> Result<Conditional, MachineError> {
        let u = &self.rbm.layers()[1];
        u.check_state(|| "upper".into(), upper)?;
        let phi: Vec<f64> = u
            .phi(upper)
            .iter()
            .map(|p| p * self.doubling.down as f64)
            .collect();
        Ok(self.rbm.layers()[0].conditional(&self.rbm.field(0, None, Some(&phi))))
    }

    /// The tied-copies machine: `doubling.up` copies of the lower layer, `doubling.down`
    /// copies of the upper one, every copy pair connected by `W`.
    pub fn tied_machine(&self) -> Result<BoltzmannMachine, MachineError> {
        let (lo, up) = (&self.rbm.layers()[0], &self.rbm.layers()[1]);
        let (cl, cu) = (self.doubling.up, self.doubling.down);
        let copies = |l: &Layer, c: usize| {
            Layer::new(
                l.kind(),
                l.len() * c,
                l.bias().repeat(c),
                l.log_var().repeat(c),
            )
        };
        let w = &self.rbm.weights()[0];
        let mut tied = Vec::with_capacity(w.len() * cl * cu);
        for _ in 0..cl {
            for row in w.chunks_exact(up.dim()) {
                for _ in 0..cu {
                    tied.extend_from_slice(row);
                }
            }
        }
        BoltzmannMachine::new(vec![copies(lo, cl)?, copies(up, cu)?], vec![tied])
    }

    /// Lower-layer data for the tied machine: each row repeated once per lower copy.
    pub fn tie_data(&self, data: &[f32]) -> Vec<f32> {
        let n = self.rbm.layers()[0].len();
        data.chunks(n)
            .flat_map(|r| r.repeat(self.doubling.up))
            .collect()
    }

    /// Folds a gradient (or statistics) of the tied machine onto the RBM's parameters: each
    /// tied parameter gets the sum over its copies.
    pub fn untie(&self, tied: &MachineGradient) -> MachineGradient {
        let mut out = MachineGradient::zeros(&self.rbm);
        for l in 0..2 {
            for (dst, src) in [
                (&mut out.bias[l], &tied.bias[l]),
                (&mut out.log_var[l], &tied.log_var[l]),
            ] {
                let n = dst.len();
                for (k, &g) in src.iter().enumerate() {
                    dst[k % n] += g;
                }
            }
        }
        let (dl, du) = (self.rbm.layers()[0].dim(), self.rbm.layers()[1].dim());
        let tied_cols = du * self.doubling.down;
        for (a, row) in tied.weights[0].chunks_exact(tied_cols).enumerate() {
            for (b, &g) in row.iter().enumerate() {
                out.weights[0][(a % dl) * du + b % du] += g;
            }
        }
        out
    }
}

/// Settings of [`pretrain`]; every RBM is trained with the same ones.
#[derive(Debug, Clone, PartialEq)]
pub struct PretrainOptions {
    /// CD-k or PCD for each RBM.
    pub sampling: Sampling,
    /// Update rule.
    pub method: Method,
    /// Learning-rate schedule (per mini-batch).
    pub lr: LrSchedule,
    /// Passes over the data per RBM (≥ 1).
    pub epochs: usize,
    /// Examples per mini-batch (≥ 1).
    pub batch_size: usize,
    /// Seed of shuffling, sampling and the upward propagation of data.
    pub seed: u64,
}

/// Layerwise pretraining: trains the RBMs of `deep` bottom to top on `data` (flat layer-0
/// states), each on the tied-copies machine of its [`PretrainingRbm`], and feeds the next one
/// samples of its upper layer drawn from [`PretrainingRbm::up_conditional`] (doubled input
/// included) given each training row. Returns `deep` with the trained weights; a middle
/// layer, trained as the upper layer of one RBM and the lower layer of the next, gets the mean
/// of the two trained parameter sets.
pub fn pretrain(
    deep: &BoltzmannMachine,
    data: &[f32],
    options: &PretrainOptions,
) -> Result<BoltzmannMachine, MachineError> {
    if options.epochs == 0 || options.batch_size == 0 {
        return Err(MachineError::InvalidOption {
            field: if options.epochs == 0 {
                "epochs"
            } else {
                "batch_size"
            },
            reason: "must be at least 1".into(),
        });
    }
    let n_pairs = deep.n_layers() - 1;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut layer_data = data.to_vec();
    let mut trained = Vec::with_capacity(n_pairs);
    for pair in 0..n_pairs {
        let mut prbm = PretrainingRbm::from_deep(deep, pair)?;
        let n = prbm.rbm.layers()[0].len();
        if layer_data.is_empty() || !layer_data.len().is_multiple_of(n) {
            return Err(MachineError::DataShape {
                len: layer_data.len(),
                units: n,
            });
        }
        let rows: Vec<&[f32]> = layer_data.chunks_exact(n).collect();
        let mut optimizer = Optimizer::new(options.method, options.lr).map_err(|e| {
            MachineError::InvalidOption {
                field: "method/lr",
                reason: e.to_string(),
            }
        })?;
        let mut estimator = MachineGradientEstimator::new(options.sampling, rng.random())?;
        let mut params = prbm.rbm.flat_params();
        let mut batches = Minibatches::new(&layer_data, n, options.batch_size);
        for _ in 0..options.epochs {
            batches.epoch(&mut rng, |batch| {
                let tied = prbm.tied_machine()?;
                let est = estimator.estimate(&tied, &prbm.tie_data(batch))?;
                let grad = prbm.untie(&est.gradient).flatten();
                optimizer
                    .step(&mut params, &grad)
                    .map_err(|e| MachineError::InvalidOption {
                        field: "method/lr",
                        reason: e.to_string(),
                    })?;
                prbm = PretrainingRbm::new(prbm.rbm.with_flat_params(&params)?, prbm.doubling)?;
                Ok::<(), MachineError>(())
            })?;
        }
        let mut next = Vec::with_capacity(rows.len() * prbm.rbm.layers()[1].len());
        for row in &rows {
            next.extend(sample(&prbm.up_conditional(row)?, &mut rng));
        }
        layer_data = next;
        trained.push(prbm.rbm);
    }
    let mut layers = Vec::with_capacity(deep.n_layers());
    for l in 0..deep.n_layers() {
        let as_upper = (l > 0).then(|| &trained[l - 1].layers()[1]);
        let as_lower = trained.get(l).map(|r| &r.layers()[0]);
        layers.push(match (as_lower, as_upper) {
            (Some(a), Some(b)) => {
                let mean =
                    |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| 0.5 * (p + q)).collect();
                a.with_params(mean(a.bias(), b.bias()), mean(a.log_var(), b.log_var()))?
            }
            (Some(a), None) | (None, Some(a)) => a.clone(),
            (None, None) => unreachable!("every layer belongs to an RBM"),
        });
    }
    BoltzmannMachine::new(
        layers,
        trained.iter().map(|r| r.weights()[0].clone()).collect(),
    )
}

/// One draw from a conditional (ChaCha8 uniforms; Box–Muller for Gaussian units).
fn sample(c: &Conditional, rng: &mut ChaCha8Rng) -> Vec<f32> {
    match c {
        Conditional::Binary(p) => p
            .iter()
            .map(|&p| (rng.random::<f64>() < p) as u8 as f32)
            .collect(),
        Conditional::Spin(p) => p
            .iter()
            .map(|&p| if rng.random::<f64>() < p { 1.0 } else { -1.0 })
            .collect(),
        Conditional::Gaussian { mean, var } => mean
            .iter()
            .zip(var)
            .map(|(&m, &v)| {
                let u1: f64 = 1.0 - rng.random::<f64>();
                let u2: f64 = rng.random();
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                (m + v.sqrt() * z) as f32
            })
            .collect(),
        Conditional::Categorical { k, probs } => probs
            .chunks_exact(*k)
            .map(|row| {
                let u: f64 = rng.random();
                let mut acc = 0.0;
                row.iter()
                    .position(|&p| {
                        acc += p;
                        u < acc
                    })
                    .unwrap_or(k - 1) as f32
            })
            .collect(),
    }
}
