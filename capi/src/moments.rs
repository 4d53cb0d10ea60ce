//! `bg_moments`: running means of every node and of its square over observations and
//! chains, fed by `bg_sampler_run` or `bg_moments_observe`.

use crate::args::{Out, slice_mut};
use crate::error::{Error, guard};
use crate::handles::{self, Handle};
use crate::sampler::{bg_sampler, with_sampler};
use blockgibbs_ir::NodeId;
use blockgibbs_runtime::{Moments, Sampler};
use std::ffi::c_int;

/// A moments accumulator (opaque): for every node n, the running means of x_n and x_n² over
/// every chain of every observation. Made by `bg_moments_new`, freed by `bg_moments_free`.
#[allow(non_camel_case_types)]
pub struct bg_moments {
    _opaque: [u8; 0],
}

pub(crate) struct MomentsObject {
    moments: Moments,
    observations: u64,
}

impl Handle for MomentsObject {
    type Opaque = bg_moments;
    const NAME: &'static str = "bg_moments";
}

impl MomentsObject {
    fn observe(&mut self, sampler: &Sampler) -> Result<(), Error> {
        let nodes = sampler.model().node_count();
        if nodes != self.moments.nodes.len() {
            return Err(Error::invalid(format!(
                "argument `sampler`: its model has {nodes} nodes, but the moments track {}",
                self.moments.nodes.len()
            )));
        }
        sampler.observe(self.observations, &mut [&mut self.moments]);
        self.observations += 1;
        Ok(())
    }
}

fn with_moments<R>(
    moments: *const bg_moments,
    f: impl FnOnce(&mut MomentsObject) -> Result<R, Error>,
) -> Result<R, Error> {
    let object = handles::get::<MomentsObject>(moments, "moments")?;
    let mut guard = handles::lock(&object, "moments")?;
    f(&mut guard)
}

/// Makes an empty accumulator for the nodes of `sampler`'s model and writes its handle to
/// `*out`. It can be fed by any sampler with that many nodes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_moments_new(
    sampler: *const bg_sampler,
    out: *mut *mut bg_moments,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let nodes = with_sampler(sampler, |s| Ok(s.model().node_count()))?;
        let ids: Vec<NodeId> = (0..nodes as u32).map(NodeId).collect();
        let squares = ids.iter().map(|&n| (n, n)).collect();
        let handle = handles::register(MomentsObject {
            moments: Moments::new(ids, squares),
            observations: 0,
        })?;
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Frees an accumulator. NULL is a no-op; a handle that is not a live `bg_moments` (a
/// double free) is `BG_STALE_HANDLE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_moments_free(moments: *mut bg_moments) -> c_int {
    guard(|| handles::free::<MomentsObject>(moments, "moments"))
}

/// Adds the current state of every chain of `sampler` to the accumulator (one observation).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_moments_observe(
    moments: *mut bg_moments,
    sampler: *const bg_sampler,
) -> c_int {
    guard(|| {
        // The sampler is locked before the moments, as in bg_sampler_run, so that two
        // threads calling both never wait on each other.
        with_sampler(sampler, |s| with_moments(moments, |m| m.observe(s)))
    })
}

/// Runs `samples` rounds of `sweeps_per_sample` sweeps, adding the state of every chain to
/// `moments` after each round: `samples · sweeps_per_sample` sweeps and `samples`
/// observations in all. A sampling error stops the run (`BG_RUNTIME`); the observations made
/// before it stay.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_run(
    sampler: *mut bg_sampler,
    moments: *mut bg_moments,
    samples: u64,
    sweeps_per_sample: u64,
) -> c_int {
    guard(|| {
        // The moments handle is checked (under the sampler's lock) before the first sweep.
        with_sampler(sampler, |s| {
            with_moments(moments, |m| {
                for _ in 0..samples {
                    s.sweep(sweeps_per_sample).map_err(Error::runtime)?;
                    m.observe(s)?;
                }
                Ok(())
            })
        })
    })
}

/// Copies the mean of every node into `out` (`len` = nodes): over every chain of every
/// observation since the accumulator was made or reset (zeros before any observation).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_moments_means(
    moments: *const bg_moments,
    out: *mut f64,
    len: usize,
) -> c_int {
    guard(|| {
        let out = unsafe { slice_mut(out, len, "out") }?;
        with_moments(moments, |m| copy(&m.moments.means(), out, "means"))
    })
}

/// Copies the mean of the square of every node into `out` (`len` = nodes); with
/// `bg_moments_means`, the variance is `square − mean²`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_moments_squares(
    moments: *const bg_moments,
    out: *mut f64,
    len: usize,
) -> c_int {
    guard(|| {
        let out = unsafe { slice_mut(out, len, "out") }?;
        with_moments(moments, |m| copy(&m.moments.pair_means(), out, "squares"))
    })
}

/// Writes the number of observations accumulated to `*out` (each covers every chain).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_moments_count(moments: *const bg_moments, out: *mut u64) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let n = with_moments(moments, |m| Ok(m.observations))?;
        unsafe { out.write(n) };
        Ok(())
    })
}

/// Forgets every observation (as if just made).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_moments_reset(moments: *mut bg_moments) -> c_int {
    guard(|| {
        with_moments(moments, |m| {
            let nodes = std::mem::take(&mut m.moments.nodes);
            let squares = std::mem::take(&mut m.moments.pairs);
            m.moments = Moments::new(nodes, squares);
            m.observations = 0;
            Ok(())
        })
    })
}

fn copy(values: &[f64], out: &mut [f64], what: &str) -> Result<(), Error> {
    if values.len() != out.len() {
        return Err(Error::length(what, values.len(), out.len()));
    }
    out.copy_from_slice(values);
    Ok(())
}
