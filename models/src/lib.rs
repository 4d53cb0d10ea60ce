//! blockgibbs-models: what users come to sample and train, built on the runtime.
//!
//! - [`lattice`]: edge lists of square, cubic and triangular lattices.

pub mod lattice;
