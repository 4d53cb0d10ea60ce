//! Stale, foreign and mistyped handles, double frees, panics and per-thread messages.

use super::*;
use crate::moments::bg_moments_free;

#[test]
fn freed_handles_are_stale_and_double_free_is_an_error() {
    unsafe {
        let m = chain_model();
        let mut s = null_mut();
        ok(bg_sampler_new(m, 1, 1, 1, 0, &mut s));
        ok(bg_sampler_free(s));
        fails(
            bg_sampler_step(s, 1),
            bg_status::BG_STALE_HANDLE,
            "argument `sampler` (0x",
        );
        fails(
            bg_sampler_step(s, 1),
            bg_status::BG_STALE_HANDLE,
            "is not a live bg_sampler handle: it was freed already, or was never returned by blockgibbs",
        );
        fails(
            bg_sampler_free(s),
            bg_status::BG_STALE_HANDLE,
            "not a live bg_sampler handle",
        );
        // The model is still live, and still makes samplers.
        ok(bg_sampler_new(m, 1, 1, 1, 0, &mut s));
        ok(bg_model_free(m));
        fails(
            bg_model_free(m),
            bg_status::BG_STALE_HANDLE,
            "argument `model`",
        );
        ok(bg_sampler_step(s, 1));
        ok(bg_sampler_free(s));
    }
}

#[test]
fn foreign_and_mistyped_handles_are_refused() {
    unsafe {
        let m = chain_model();
        // A model passed where a sampler goes: refused, and the model is not freed by it.
        let as_sampler = m.cast::<bg_sampler>();
        fails(
            bg_sampler_step(as_sampler, 1),
            bg_status::BG_STALE_HANDLE,
            "it is a bg_model handle, not a bg_sampler",
        );
        fails(
            bg_sampler_free(as_sampler),
            bg_status::BG_STALE_HANDLE,
            "it is a bg_model handle",
        );
        fails(
            bg_moments_free(m.cast()),
            bg_status::BG_STALE_HANDLE,
            "not a bg_moments",
        );
        let mut n = 0usize;
        ok(bg_model_node_count(m, &mut n));
        // Any pointer the library did not hand out.
        let local = 0u64;
        let bogus = (&raw const local).cast::<bg_sampler>();
        fails(
            bg_sampler_step(bogus.cast_mut(), 1),
            bg_status::BG_STALE_HANDLE,
            "never returned by blockgibbs",
        );
        ok(bg_model_free(m));
    }
}

#[test]
fn panics_become_status_codes_and_poison_only_their_handle() {
    let code = guard(|| panic!("boom {}", 42));
    fails(
        code,
        bg_status::BG_PANIC,
        "internal panic (a blockgibbs bug): boom 42",
    );
    unsafe {
        let m = chain_model();
        let mut s = null_mut();
        ok(bg_sampler_new(m, 1, 1, 1, 0, &mut s));
        let code = guard(|| with_sampler(s, |_| -> Result<(), Error> { panic!("inside") }));
        fails(code, bg_status::BG_PANIC, "inside");
        fails(
            bg_sampler_step(s, 1),
            bg_status::BG_PANIC,
            "argument `sampler`: this bg_sampler was in use when an internal panic happened",
        );
        // Other handles carry on, and the poisoned one can still be freed.
        let mut n = 0usize;
        ok(bg_model_node_count(m, &mut n));
        ok(bg_sampler_free(s));
        ok(bg_model_free(m));
    }
}

#[test]
fn error_messages_are_per_thread_and_cleared_by_success() {
    unsafe {
        fails(
            bg_builder_new(null_mut()),
            bg_status::BG_NULL_POINTER,
            "`out`",
        );
        std::thread::spawn(|| assert_eq!(message(), ""))
            .join()
            .unwrap();
        assert!(message().contains("`out`"), "this thread's message stays");
        // Functions that return no status leave the message alone.
        let name = CStr::from_ptr(bg_status_name(bg_status::BG_LENGTH_MISMATCH as c_int));
        assert_eq!(name.to_str().unwrap(), "BG_LENGTH_MISMATCH");
        assert_eq!(
            CStr::from_ptr(bg_status_name(99)).to_str().unwrap(),
            "BG_UNKNOWN_STATUS"
        );
        assert!(message().contains("`out`"));
        let mut b = null_mut();
        ok(bg_builder_new(&mut b));
        ok(bg_builder_free(b));
        assert_eq!(
            CStr::from_ptr(crate::bg_version()).to_str().unwrap(),
            env!("CARGO_PKG_VERSION")
        );
    }
}

#[test]
fn one_handle_used_and_freed_from_many_threads() {
    let m = chain_model();
    let mut s = null_mut();
    unsafe { ok(bg_sampler_new(m, 1, 2, 1, 0, &mut s)) };
    // Handles are plain numbers to the caller; each thread steps the same sampler.
    let (sk, mk) = (s as usize, m as usize);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..25 {
                    ok(unsafe { bg_sampler_step(sk as *mut bg_sampler, 1) });
                    let mut n = 0usize;
                    ok(unsafe { bg_model_node_count(mk as *const bg_model, &mut n) });
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let mut done = 0u64;
    unsafe {
        ok(bg_sampler_sweeps_done(s, &mut done));
        assert_eq!(
            done, 100,
            "calls on one handle are serialised, none is lost"
        );
    }
    // A free racing with calls on another thread: each call runs whole or is refused, and
    // once refused the handle stays dead (numbers are never reused).
    let stepper = std::thread::spawn(move || {
        (0..200)
            .map(|_| unsafe { bg_sampler_step(sk as *mut bg_sampler, 1) })
            .collect::<Vec<c_int>>()
    });
    unsafe {
        ok(bg_sampler_free(s));
        ok(bg_model_free(m));
    }
    let codes = stepper.join().unwrap();
    let stale = bg_status::BG_STALE_HANDLE as c_int;
    assert!(codes.iter().all(|&c| c == 0 || c == stale), "{codes:?}");
    let first_stale = codes
        .iter()
        .position(|&c| c == stale)
        .unwrap_or(codes.len());
    assert!(
        codes[first_stale..].iter().all(|&c| c == stale),
        "{codes:?}"
    );
    unsafe {
        fails(
            bg_sampler_step(s, 1),
            bg_status::BG_STALE_HANDLE,
            "not a live bg_sampler",
        )
    };
}
