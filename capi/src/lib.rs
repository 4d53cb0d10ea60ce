//! The C ABI of blockgibbs: build or load a model, sample it over many chains, and steer the
//! chains (clamps, weights, β) between sweeps from a C or C++ program. The header is
//! `capi/include/blockgibbs.h`, generated from this crate by cbindgen.
//!
//! The contract every exported function keeps:
//!
//! - It returns a status code (`bg_status`, as an `int`); on anything but `BG_OK` it leaves a
//!   message for the calling thread in `bg_last_error_message()` and changes nothing (the
//!   few exceptions, a sampling error in the middle of a run, are documented per function).
//!   Results go through out-pointers, written only on success.
//! - No panic crosses the boundary: each body runs under `catch_unwind`, and a panic is
//!   `BG_PANIC` with its message.
//! - NULL pointers, misaligned or oversized buffers, wrong lengths, non-UTF-8 strings and
//!   out-of-range enum values are errors naming the argument, not undefined behaviour.
//! - Handles are registry keys, never dereferenced (see `handles`): a freed, foreign or
//!   mistyped handle is `BG_STALE_HANDLE`, and a double free is an error, not a crash.
//!
//! What the caller must still guarantee: a non-NULL pointer points to as many readable (or
//! writable) values as its length argument says, and strings are NUL-terminated.
#![allow(clippy::missing_safety_doc)] // The safety contract is the one above, for every function.

mod args;
mod builder;
mod checkpoint;
mod error;
mod handles;
mod model;
mod moments;
mod sampler;
#[cfg(test)]
mod tests;

pub use builder::{bg_builder, bg_factor_spec};
pub use error::bg_status;
pub use model::{bg_kind, bg_model};
pub use moments::bg_moments;
pub use sampler::{BG_ALL_CHAINS, bg_backend, bg_sampler};

/// The library's version, `"MAJOR.MINOR.PATCH"`. A static string: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn bg_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Number of live handles of every type; 0 once a program has freed everything it made.
/// For leak checks in tests and debug builds.
#[unsafe(no_mangle)]
pub extern "C" fn bg_live_handles() -> usize {
    handles::live_count()
}
