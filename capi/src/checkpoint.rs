//! Checkpoints through the C ABI: a sampler's whole run saved to one file, and a new sampler
//! continuing it bit for bit on any backend and thread count. Thin wrappers of the runtime's
//! `Sampler::checkpoint` and `Sampler::resume`, so C and Rust programs (and the command
//! line's `resume`) read and write the same files.

use crate::args::{Out, string};
use crate::error::{Error, guard};
use crate::handles;
use crate::sampler::{SamplerObject, backend_choice, bg_sampler, with_sampler};
use blockgibbs_runtime::Sampler;
use std::ffi::{c_char, c_int};

/// A file name argument: NUL-terminated UTF-8, not empty.
unsafe fn path_arg<'a>(path: *const c_char) -> Result<&'a str, Error> {
    let path = unsafe { string(path, "path") }?;
    if path.is_empty() {
        return Err(Error::invalid("argument `path` is the empty string"));
    }
    Ok(path)
}

/// Writes the whole state of `sampler` to the file `path` (NUL-terminated UTF-8): the model
/// with its live weights, every chain's state, β of every chain, the clamps set at run time,
/// each block's update rule, the seed and the sweep counter. `bg_sampler_resume` continues
/// from it exactly where the sampler is now. The write is atomic: the file is written beside
/// `path` under a temporary name, flushed to disk and renamed over `path`, so a reader never
/// sees half a checkpoint and a failed write leaves the previous file as it was. The sampler
/// does not change. `bg_moments` accumulators are not part of a sampler and are not saved.
///
/// Errors: `BG_NULL_POINTER` (NULL `path`), `BG_INVALID_ARGUMENT` (`path` empty or not
/// UTF-8), `BG_STALE_HANDLE`, `BG_IO` (the file cannot be created, written or renamed: a
/// missing directory, no permission, a full disk, a directory at `path`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_checkpoint(
    sampler: *const bg_sampler,
    path: *const c_char,
) -> c_int {
    guard(|| {
        let path = unsafe { path_arg(path) }?;
        with_sampler(sampler, |s| s.checkpoint(path).map_err(Error::checkpoint))
    })
}

/// Makes a new sampler that continues the run saved in the checkpoint `path` (written by
/// `bg_sampler_checkpoint`, or by the command line's `sample --checkpoint`), on `backend` (a
/// `bg_backend`) with `threads` worker threads (0: one per core), and writes its handle to
/// `*out`. The model, chains, states, β, clamps, update rules, seed and sweep counter come
/// from the file; the backend and thread count do not change any result, so the resumed
/// sampler goes on to produce bit for bit the states the original would have.
///
/// Errors: `BG_NULL_POINTER` (NULL `path` or `out`), `BG_INVALID_ARGUMENT` (`path` empty or
/// not UTF-8, an unknown backend), `BG_IO` (the file cannot be read), `BG_FORMAT` (a
/// truncated or damaged checkpoint, a file that is not a checkpoint, another format
/// version: the message names the file and the field at fault), `BG_RUNTIME` (no worker
/// threads could be started). On error no sampler is made and `*out` is not written.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bg_sampler_resume(
    path: *const c_char,
    backend: c_int,
    threads: usize,
    out: *mut *mut bg_sampler,
) -> c_int {
    guard(|| {
        let out = Out::new(out, "out")?;
        let path = unsafe { path_arg(path) }?;
        let backend = backend_choice(backend)?;
        let sampler = Sampler::resume(path)
            .backend(backend)
            .threads(threads)
            .open()
            .map_err(Error::checkpoint)?;
        let handle = handles::register(SamplerObject { sampler })?;
        unsafe { out.write(handle) };
        Ok(())
    })
}
