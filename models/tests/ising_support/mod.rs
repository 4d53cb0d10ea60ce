//! Fixtures shared by the spin-model training tests.
#![allow(dead_code)]

use blockgibbs_models::{HintonRule, InitMode, IsingEBM, SamplingOptions};
use blockgibbs_runtime::BackendChoice;

/// The weakly coupled open 4-spin chain the exact-gradient tests enumerate.
pub fn chain4() -> IsingEBM {
    IsingEBM::new(
        vec![(0, 1), (1, 2), (2, 3)],
        vec![0.2, -0.1, 0.3, -0.2],
        vec![0.5, -0.4, 0.6],
        0.8,
    )
    .unwrap()
}

/// `chains` chains on one thread from THRML's Hinton initial state.
pub fn options(chains: usize, seed: u64) -> SamplingOptions {
    SamplingOptions {
        chains,
        seed,
        threads: 1,
        init: InitMode::Hinton(HintonRule::Thrml),
        backend: BackendChoice::Reference,
    }
}
