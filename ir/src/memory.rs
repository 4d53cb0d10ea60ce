//! Memory estimates made from sizes before anything is allocated, and the limit they are
//! checked against.
//!
//! A model, its lowered program and its chains are sized by counts known before they are
//! built (nodes, factor instances, roles, weights, chains), so an input that would need more
//! memory than the machine has is refused with a [`MemoryError`] naming the setting that made
//! it large — instead of the process being killed by the allocator. The estimates count the
//! bytes of the arrays that dominate (weights, node lists, interaction tables, chain values);
//! bookkeeping of a few bytes per factor or block is left out, so they are slightly low,
//! never off by an order of magnitude.
//!
//! The default limit is the memory the kernel says is available now (`MemAvailable` of
//! `/proc/meminfo`); where that cannot be read there is no default limit.

use crate::model::Model;
use thiserror::Error;

/// Bytes of one `f32` value or `u32` index: the unit of every table here.
const WORD: u64 = 4;

/// Bytes per node of a model: its kind (8), id in its group and the group tables (8).
pub const MODEL_BYTES_PER_NODE: u64 = 16;

/// Bytes per slot of a lowered program besides its interaction terms: node of slot, slot of
/// node (4 each), kind (8), clamped value (8), and the CSR offset of each head in each group
/// it heads (4, counted once).
pub const PROGRAM_BYTES_PER_SLOT: u64 = 28;

/// A need for memory larger than the limit.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error(
    "{what}: needs about {needed} bytes ({}), more than the memory limit of {limit} bytes ({}){hint}",
    human_bytes(*needed),
    human_bytes(*limit)
)]
pub struct MemoryError {
    /// The setting (key, field or argument) that made the need large, with its value.
    pub what: String,
    /// Bytes the estimate says are needed.
    pub needed: u64,
    /// The limit.
    pub limit: u64,
    /// What to do about it, starting with "; " (may be empty).
    pub hint: String,
}

/// The most memory a model, program and chains may take together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryLimit {
    bytes: u64,
}

impl MemoryLimit {
    /// A limit of `bytes`.
    pub fn bytes(bytes: u64) -> MemoryLimit {
        MemoryLimit { bytes }
    }

    /// No limit (the allocator decides).
    pub fn unlimited() -> MemoryLimit {
        MemoryLimit { bytes: u64::MAX }
    }

    /// The memory available now ([`available_memory`]), or no limit where it is unknown.
    pub fn available() -> MemoryLimit {
        available_memory().map_or_else(MemoryLimit::unlimited, MemoryLimit::bytes)
    }

    /// The limit in bytes.
    pub fn get(self) -> u64 {
        self.bytes
    }

    /// Refuses `needed` bytes (saturated: `None` means the count overflowed) above the
    /// limit, naming `what`.
    pub fn check(self, what: impl Into<String>, needed: Option<u64>) -> Result<(), MemoryError> {
        let needed = needed.unwrap_or(u64::MAX);
        if needed <= self.bytes {
            return Ok(());
        }
        Err(MemoryError {
            what: what.into(),
            needed,
            limit: self.bytes,
            hint: "; the limit is the memory available unless set (--max-memory, max_memory)"
                .into(),
        })
    }
}

/// Bytes of memory available to a new allocation now: `MemAvailable` of `/proc/meminfo`
/// (Linux), `None` elsewhere or if it cannot be read.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line
        .trim_start_matches("MemAvailable:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// Parses a byte count: a plain number of bytes, or a number with a unit `K`, `M`, `G`,
/// `T` (powers of 1000, also `KB`…) or `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024); case
/// and a space before the unit do not matter. Fractions are allowed with a unit (`1.5GiB`).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (&t[..split], t[split..].trim().to_ascii_lowercase());
    let scale: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "ki" | "kib" => 1 << 10,
        "mi" | "mib" => 1 << 20,
        "gi" | "gib" => 1 << 30,
        "ti" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}` (use bytes, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"
            ));
        }
    };
    if let Ok(n) = number.parse::<u64>() {
        return n
            .checked_mul(scale)
            .ok_or_else(|| format!("`{text}` does not fit in 64 bits"));
    }
    let x: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a byte count such as 4GiB or 1000000"))?;
    let bytes = x * scale as f64;
    if !(bytes.is_finite() && bytes < u64::MAX as f64) {
        return Err(format!("`{text}` does not fit in 64 bits"));
    }
    Ok(bytes as u64)
}

/// A byte count for people: `1.5 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut x = bytes as f64;
    let mut unit = 0;
    while x >= 1024.0 && unit + 1 < UNITS.len() {
        x /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{x:.1} {}", UNITS[unit])
    }
}

/// Shape of one factor for estimates: instances, roles (nodes per instance) and weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FactorSize {
    /// Instances.
    pub instances: u64,
    /// Nodes per instance.
    pub roles: u64,
    /// Weights (all instances).
    pub weights: u64,
}

impl FactorSize {
    /// Bytes a model holds for the factor: one node id per role and instance, one `f32` per
    /// weight.
    pub fn model_bytes(self) -> Option<u64> {
        let ids = self.instances.checked_mul(self.roles)?;
        ids.checked_add(self.weights)?.checked_mul(WORD)
    }

    /// Bytes the lowered program holds for the factor: every instance is one term for each
    /// of its free roles (each end of an edge heads it), a term stores its weight base and
    /// `roles − 1` tail slots; the weights are copied once.
    pub fn program_bytes(self) -> Option<u64> {
        let terms = self.instances.checked_mul(self.roles)?;
        let per_term = self.roles.max(1);
        terms
            .checked_mul(per_term)?
            .checked_add(self.weights)?
            .checked_mul(WORD)
    }
}

/// Bytes of a model of `nodes` nodes and the given factors.
pub fn model_bytes(nodes: u64, factors: &[FactorSize]) -> Option<u64> {
    factors
        .iter()
        .try_fold(nodes.checked_mul(MODEL_BYTES_PER_NODE)?, |acc, f| {
            acc.checked_add(f.model_bytes()?)
        })
}

/// Bytes of the program lowered from a model of `nodes` nodes and the given factors.
pub fn program_bytes(nodes: u64, factors: &[FactorSize]) -> Option<u64> {
    factors
        .iter()
        .try_fold(nodes.checked_mul(PROGRAM_BYTES_PER_SLOT)?, |acc, f| {
            acc.checked_add(f.program_bytes()?)
        })
}

/// Bytes of the chain state of `chains` chains over `nodes` nodes: one `f32` per node and
/// chain (chains padded to groups of four lanes), and one β per lane.
pub fn chain_bytes(chains: u64, nodes: u64) -> Option<u64> {
    let lanes = chains.checked_add(3)? / 4 * 4;
    lanes.checked_mul(nodes.checked_add(1)?)?.checked_mul(WORD)
}

impl Model {
    /// The sizes of the model's factors, for estimates.
    pub fn factor_sizes(&self) -> Vec<FactorSize> {
        self.factors()
            .iter()
            .map(|f| FactorSize {
                instances: f.instances() as u64,
                roles: f.arity() as u64,
                weights: f.weights.len() as u64,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_parse_with_units() {
        assert_eq!(parse_bytes("4GiB"), Ok(4 << 30));
        assert_eq!(parse_bytes("4 gib"), Ok(4 << 30));
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert_eq!(parse_bytes("2MB"), Ok(2_000_000));
        assert_eq!(parse_bytes("1.5KiB"), Ok(1536));
        assert!(parse_bytes("4 parsecs").is_err());
        assert!(parse_bytes("").is_err());
        assert!(parse_bytes("-1").is_err());
        assert!(parse_bytes("99999999999TiB").is_err());
    }

    #[test]
    fn limits_refuse_above_and_name_the_setting() {
        let limit = MemoryLimit::bytes(1000);
        assert!(limit.check("x", Some(1000)).is_ok());
        let e = limit.check("model.q = 9", Some(1001)).unwrap_err();
        assert_eq!((e.needed, e.limit), (1001, 1000));
        assert!(
            e.to_string()
                .starts_with("model.q = 9: needs about 1001 bytes")
        );
        // An overflowing count is refused as the largest need.
        assert_eq!(limit.check("x", None).unwrap_err().needed, u64::MAX);
        assert!(MemoryLimit::unlimited().check("x", Some(u64::MAX)).is_ok());
    }

    #[test]
    fn estimates_count_words() {
        // 32 Potts edges of q = 100000: 32 · 10¹⁰ weights of 4 bytes.
        let potts = FactorSize {
            instances: 32,
            roles: 2,
            weights: 32 * 100_000 * 100_000,
        };
        assert_eq!(potts.model_bytes(), Some(4 * (64 + 32 * 10_000_000_000)));
        assert_eq!(chain_bytes(5, 3), Some(8 * 4 * 4));
        assert_eq!(chain_bytes(u64::MAX, 3), None);
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(12), "12 B");
    }
}
