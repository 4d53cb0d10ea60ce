//! Seeds are `u64`, but TOML integers are `i64`: a seed above 2⁶³ − 1 cannot be a TOML
//! integer, and a `--set` value that does not parse as TOML becomes a string. Seed keys
//! therefore accept a non-negative integer or a string of decimal digits, so the whole
//! `u64` range is reachable from a file and from the command line.

use serde::Deserializer;
use serde::de::{self, Visitor};
use std::fmt;

/// Deserialises a seed from an integer in `0..=u64::MAX` or a decimal string of one.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(SeedVisitor)
}

struct SeedVisitor;

impl Visitor<'_> for SeedVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a seed: an integer in 0..=18446744073709551615 (or a string of one)")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom(format!("seed {v} must not be negative")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        v.trim().parse().map_err(|_| {
            E::custom(format!(
                "seed `{v}` is not an integer in 0..=18446744073709551615"
            ))
        })
    }
}
