//! Saving and restoring the built-in observers' accumulators. Every restore checks the whole
//! saved state against the observer before changing anything, so a failed restore leaves
//! the observer as it was.

use super::state::{ObserverState, ObserverStateError, TensorData, invalid};
use crate::observers::{EnergyObserver, Moments, SampleCollector, ScalarObservables};
use crate::stats::{BatchMeans, BatchMeansParts};
use blockgibbs_ir::NodeId;

/// Kind name of a saved [`SampleCollector`].
pub const KIND_SAMPLES: &str = "sample_collector";
/// Kind name of saved [`Moments`].
pub const KIND_MOMENTS: &str = "moments";
/// Kind name of a saved [`EnergyObserver`].
pub const KIND_ENERGY: &str = "energy";
/// Kind name of saved [`ScalarObservables`].
pub const KIND_SCALARS: &str = "scalar_observables";

fn ids(nodes: &[NodeId]) -> Vec<u32> {
    nodes.iter().map(|n| n.0).collect()
}

/// Errors unless the saved node list `name` is `nodes`: a resumed observer must record the
/// same nodes, or its columns would silently change meaning.
fn same_nodes(state: &ObserverState, name: &str, nodes: &[u32]) -> Result<(), ObserverStateError> {
    let saved = state.u32s(name)?;
    if saved == nodes {
        Ok(())
    } else {
        Err(invalid(
            name,
            &format!(
                "the observer records {} other nodes than the saved {} (it must be built with the same ones)",
                nodes.len(),
                saved.len()
            ),
        ))
    }
}

fn count(state: &ObserverState, key: &str) -> Result<usize, ObserverStateError> {
    usize::try_from(state.meta_u64(key)?).map_err(|_| invalid(key, "too large"))
}

pub(crate) fn save_collector(c: &SampleCollector) -> ObserverState {
    let mut s = ObserverState::new(KIND_SAMPLES);
    s.set_meta("samples", c.samples as u64);
    s.set_meta("chains", c.chains as u64);
    s.put("nodes", vec![c.nodes.len()], TensorData::U32(ids(&c.nodes)));
    s.put(
        "data",
        vec![c.samples, c.chains, c.nodes.len()],
        TensorData::F32(c.data.clone()),
    );
    s
}

pub(crate) fn restore_collector(
    c: &mut SampleCollector,
    state: &ObserverState,
) -> Result<(), ObserverStateError> {
    state.expect_kind(KIND_SAMPLES)?;
    same_nodes(state, "nodes", &ids(&c.nodes))?;
    let samples = count(state, "samples")?;
    let chains = count(state, "chains")?;
    let len = samples
        .checked_mul(chains)
        .and_then(|x| x.checked_mul(c.nodes.len()))
        .ok_or_else(|| invalid("data", "shape overflows"))?;
    let data = state.f32s("data", len)?;
    c.samples = samples;
    c.chains = chains;
    c.data = data.to_vec();
    Ok(())
}

pub(crate) fn save_moments(m: &Moments) -> ObserverState {
    let mut s = ObserverState::new(KIND_MOMENTS);
    s.set_meta("count", m.count);
    s.put("nodes", vec![m.nodes.len()], TensorData::U32(ids(&m.nodes)));
    let pairs: Vec<u32> = m.pairs.iter().flat_map(|&(a, b)| [a.0, b.0]).collect();
    s.put("pairs", vec![m.pairs.len(), 2], TensorData::U32(pairs));
    s.put(
        "first",
        vec![m.first.len()],
        TensorData::F64(m.first.clone()),
    );
    s.put(
        "second",
        vec![m.second.len()],
        TensorData::F64(m.second.clone()),
    );
    s
}

pub(crate) fn restore_moments(
    m: &mut Moments,
    state: &ObserverState,
) -> Result<(), ObserverStateError> {
    state.expect_kind(KIND_MOMENTS)?;
    same_nodes(state, "nodes", &ids(&m.nodes))?;
    let pairs: Vec<u32> = m.pairs.iter().flat_map(|&(a, b)| [a.0, b.0]).collect();
    same_nodes(state, "pairs", &pairs)?;
    let first = state.f64s("first", Some(m.nodes.len()))?;
    let second = state.f64s("second", Some(m.pairs.len()))?;
    let count = state.meta_u64("count")?;
    m.first = first.to_vec();
    m.second = second.to_vec();
    m.count = count;
    Ok(())
}

pub(crate) fn save_energies(e: &EnergyObserver) -> ObserverState {
    let mut s = ObserverState::new(KIND_ENERGY);
    let rows: Vec<u64> = e.energies.iter().map(|r| r.len() as u64).collect();
    let flat: Vec<f64> = e.energies.iter().flatten().copied().collect();
    s.put("row_lengths", vec![rows.len()], TensorData::U64(rows));
    s.put("energies", vec![flat.len()], TensorData::F64(flat));
    s
}

pub(crate) fn restore_energies(
    e: &mut EnergyObserver,
    state: &ObserverState,
) -> Result<(), ObserverStateError> {
    state.expect_kind(KIND_ENERGY)?;
    let rows = state.u64s("row_lengths", None)?;
    let flat = state.f64s("energies", None)?;
    let total = rows.iter().try_fold(0u64, |acc, &r| acc.checked_add(r));
    if total != Some(flat.len() as u64) {
        return Err(invalid(
            "row_lengths",
            &format!("the rows do not add up to the {} energies", flat.len()),
        ));
    }
    let mut energies = Vec::with_capacity(rows.len());
    let mut at = 0usize;
    for &r in rows {
        energies.push(flat[at..at + r as usize].to_vec());
        at += r as usize;
    }
    e.energies = energies;
    Ok(())
}

pub(crate) fn save_scalars(o: &ScalarObservables) -> ObserverState {
    let mut s = ObserverState::new(KIND_SCALARS);
    let names: Vec<&str> = o.entries.iter().map(|(n, _, _)| n.as_str()).collect();
    s.set_meta("names", names);
    for (j, (_, _, stats)) in o.entries.iter().enumerate() {
        let p = stats.to_parts();
        s.put(
            &format!("{j}.counts"),
            vec![4],
            TensorData::U64(p.counts.to_vec()),
        );
        s.put(
            &format!("{j}.sums"),
            vec![3],
            TensorData::F64(p.sums.to_vec()),
        );
        s.put(
            &format!("{j}.batches"),
            vec![p.batches.len()],
            TensorData::F64(p.batches),
        );
        s.put(
            &format!("{j}.chain_sums"),
            vec![p.chain_sums.len()],
            TensorData::F64(p.chain_sums),
        );
    }
    s
}

pub(crate) fn restore_scalars(
    o: &mut ScalarObservables,
    state: &ObserverState,
) -> Result<(), ObserverStateError> {
    state.expect_kind(KIND_SCALARS)?;
    let names = state.meta_strings("names")?;
    if let Some((name, _, _)) = o.entries.iter().find(|(n, _, _)| !names.contains(n)) {
        return Err(invalid(
            name,
            "this observable was not saved in the checkpoint",
        ));
    }
    let mut restored: Vec<BatchMeans> = Vec::with_capacity(o.entries.len());
    for (i, (name, _, _)) in o.entries.iter().enumerate() {
        // The k-th observable of a name takes the k-th saved one of that name (names may
        // repeat).
        let k = o.entries[..i].iter().filter(|(n, _, _)| n == name).count();
        let j = names
            .iter()
            .enumerate()
            .filter(|(_, n)| *n == name)
            .nth(k)
            .map(|(j, _)| j)
            .ok_or_else(|| invalid(name, "saved fewer times than it is present"))?;
        let field = |what: &str| format!("{j}.{what}");
        let counts = state.u64s(&field("counts"), Some(4))?;
        let sums = state.f64s(&field("sums"), Some(3))?;
        let parts = BatchMeansParts {
            counts: [counts[0], counts[1], counts[2], counts[3]],
            sums: [sums[0], sums[1], sums[2]],
            batches: state.f64s(&field("batches"), None)?.to_vec(),
            chain_sums: state.f64s(&field("chain_sums"), None)?.to_vec(),
        };
        restored.push(BatchMeans::from_parts(parts).map_err(|reason| invalid(name, &reason))?);
    }
    if names.len() != o.entries.len()
        && let Some(extra) = names.iter().find(|n| {
            let saved = names.iter().filter(|m| m == n).count();
            saved > o.entries.iter().filter(|(m, _, _)| m == *n).count()
        })
    {
        return Err(invalid(
            extra,
            "saved in the checkpoint but not among this observer's observables",
        ));
    }
    for ((_, _, stats), r) in o.entries.iter_mut().zip(restored) {
        *stats = r;
    }
    Ok(())
}
