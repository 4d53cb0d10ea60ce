//! Every entry point that takes a handle, called with a freed, a mistyped and a foreign one:
//! each answers `BG_STALE_HANDLE` naming its argument, writes nothing through its
//! out-pointers, and leaves the live objects passed beside it as they were.

use super::*;
use crate::checkpoint::bg_sampler_checkpoint;
use crate::moments::*;

/// One call of an entry point on the handle `h` (an address, as C would pass it), with
/// valid other arguments; it asserts itself that its out-values kept their sentinels.
type Call = Box<dyn Fn(usize) -> c_int>;

/// `len` sentinel values that a call must not overwrite.
fn untouched<T: Copy + PartialEq + std::fmt::Debug>(buf: &[T], sentinel: T, what: &str) {
    assert!(
        buf.iter().all(|&v| v == sentinel),
        "{what} written: {buf:?}"
    );
}

fn builder_calls() -> Vec<(&'static str, Call)> {
    vec![
        (
            "bg_builder_add_group",
            Box::new(|h| unsafe {
                let mut first = 77u32;
                let code = bg_builder_add_group(h as _, c("g").as_ptr(), 0, 0, 2, &mut first);
                assert_eq!(first, 77);
                code
            }),
        ),
        (
            "bg_builder_add_factor",
            Box::new(|h| unsafe {
                let (a, b) = ([0u32], [1u32]);
                let roles = [a.as_ptr(), b.as_ptr()];
                let name = c("f");
                let mut index = 77u32;
                let code =
                    bg_builder_add_factor(h as _, &pair_spec(&name, &roles, &[1.0]), &mut index);
                assert_eq!(index, 77);
                code
            }),
        ),
        (
            "bg_builder_clamp",
            Box::new(|h| unsafe { bg_builder_clamp(h as _, 0, 1.0) }),
        ),
        (
            "bg_builder_build",
            Box::new(|h| unsafe {
                let mut out = 0x10 as *mut bg_model;
                let code = bg_builder_build(h as _, &mut out);
                assert_eq!(out as usize, 0x10);
                code
            }),
        ),
        (
            "bg_builder_free",
            Box::new(|h| unsafe { bg_builder_free(h as _) }),
        ),
    ]
}

fn model_calls() -> Vec<(&'static str, Call)> {
    vec![
        (
            "bg_model_node_count",
            Box::new(|h| unsafe {
                let mut n = 77usize;
                let code = bg_model_node_count(h as _, &mut n);
                assert_eq!(n, 77);
                code
            }),
        ),
        (
            "bg_model_factor_count",
            Box::new(|h| unsafe {
                let mut n = 77usize;
                let code = bg_model_factor_count(h as _, &mut n);
                assert_eq!(n, 77);
                code
            }),
        ),
        (
            "bg_model_factor_index",
            Box::new(|h| unsafe {
                let mut n = 77u32;
                let code = bg_model_factor_index(h as _, c("J").as_ptr(), &mut n);
                assert_eq!(n, 77);
                code
            }),
        ),
        (
            "bg_model_group",
            Box::new(|h| unsafe {
                let (mut first, mut len) = (77u32, 77usize);
                let code = bg_model_group(h as _, c("s").as_ptr(), &mut first, &mut len);
                assert_eq!((first, len), (77, 77));
                code
            }),
        ),
        (
            "bg_model_node_kind",
            Box::new(|h| unsafe {
                let (mut kind, mut k) = (77, 77u32);
                let code = bg_model_node_kind(h as _, 0, &mut kind, &mut k);
                assert_eq!((kind, k), (77, 77));
                code
            }),
        ),
        (
            "bg_sampler_new",
            Box::new(|h| unsafe {
                let mut out = 0x10 as *mut bg_sampler;
                let code = bg_sampler_new(h as _, 1, 2, 1, 0, &mut out);
                assert_eq!(out as usize, 0x10);
                code
            }),
        ),
        (
            "bg_model_free",
            Box::new(|h| unsafe { bg_model_free(h as _) }),
        ),
    ]
}

/// The sampler's calls, for a sampler of the four-spin chain with two chains.
fn sampler_calls() -> Vec<(&'static str, Call)> {
    vec![
        (
            "bg_sampler_chains",
            Box::new(|h| unsafe {
                let mut n = 77usize;
                let code = bg_sampler_chains(h as _, &mut n);
                assert_eq!(n, 77);
                code
            }),
        ),
        (
            "bg_sampler_node_count",
            Box::new(|h| unsafe {
                let mut n = 77usize;
                let code = bg_sampler_node_count(h as _, &mut n);
                assert_eq!(n, 77);
                code
            }),
        ),
        (
            "bg_sampler_backend",
            Box::new(|h| unsafe {
                let mut b = 77;
                let code = bg_sampler_backend(h as _, &mut b);
                assert_eq!(b, 77);
                code
            }),
        ),
        (
            "bg_sampler_step",
            Box::new(|h| unsafe { bg_sampler_step(h as _, 3) }),
        ),
        (
            "bg_sampler_sweeps_done",
            Box::new(|h| unsafe {
                let mut n = 77u64;
                let code = bg_sampler_sweeps_done(h as _, &mut n);
                assert_eq!(n, 77);
                code
            }),
        ),
        (
            "bg_sampler_reseed",
            Box::new(|h| unsafe { bg_sampler_reseed(h as _, 9) }),
        ),
        (
            "bg_sampler_read_states",
            Box::new(|h| unsafe {
                let mut out = [7f32; 8];
                let code = bg_sampler_read_states(h as _, out.as_mut_ptr(), 8);
                untouched(&out, 7.0, "states");
                code
            }),
        ),
        (
            "bg_sampler_write_states",
            Box::new(|h| unsafe { bg_sampler_write_states(h as _, [1f32; 8].as_ptr(), 8) }),
        ),
        (
            "bg_sampler_set_beta",
            Box::new(|h| unsafe { bg_sampler_set_beta(h as _, BG_ALL_CHAINS, 0.5) }),
        ),
        (
            "bg_sampler_set_betas",
            Box::new(|h| unsafe { bg_sampler_set_betas(h as _, [0.5f32; 2].as_ptr(), 2) }),
        ),
        (
            "bg_sampler_get_beta",
            Box::new(|h| unsafe {
                let mut b = 77f32;
                let code = bg_sampler_get_beta(h as _, 0, &mut b);
                assert_eq!(b, 77.0);
                code
            }),
        ),
        (
            "bg_sampler_clamp",
            Box::new(|h| unsafe {
                bg_sampler_clamp(h as _, [0u32].as_ptr(), [1f32].as_ptr(), 1, BG_ALL_CHAINS)
            }),
        ),
        (
            "bg_sampler_release",
            Box::new(|h| unsafe { bg_sampler_release(h as _, [0u32].as_ptr(), 1, BG_ALL_CHAINS) }),
        ),
        (
            "bg_sampler_factor_index",
            Box::new(|h| unsafe {
                let mut n = 77u32;
                let code = bg_sampler_factor_index(h as _, c("J").as_ptr(), &mut n);
                assert_eq!(n, 77);
                code
            }),
        ),
        (
            "bg_sampler_weight_count",
            Box::new(|h| unsafe {
                let mut n = 77usize;
                let code = bg_sampler_weight_count(h as _, 0, &mut n);
                assert_eq!(n, 77);
                code
            }),
        ),
        (
            "bg_sampler_get_weights",
            Box::new(|h| unsafe {
                let mut w = [7f32; 3];
                let code = bg_sampler_get_weights(h as _, 0, w.as_mut_ptr(), 3);
                untouched(&w, 7.0, "weights");
                code
            }),
        ),
        (
            "bg_sampler_set_weights",
            Box::new(|h| unsafe { bg_sampler_set_weights(h as _, 0, [2f32; 3].as_ptr(), 3) }),
        ),
        (
            "bg_sampler_set_instance_weights",
            Box::new(|h| unsafe {
                bg_sampler_set_instance_weights(h as _, 0, 1, [2f32].as_ptr(), 1)
            }),
        ),
        (
            "bg_sampler_energy",
            Box::new(|h| unsafe {
                let mut e = 77f64;
                let code = bg_sampler_energy(h as _, 0, &mut e);
                assert_eq!(e, 77.0);
                code
            }),
        ),
        (
            "bg_sampler_means",
            Box::new(|h| unsafe {
                let mut out = [7f64; 4];
                let code = bg_sampler_means(h as _, out.as_mut_ptr(), 4);
                untouched(&out, 7.0, "means");
                code
            }),
        ),
        (
            "bg_moments_new",
            Box::new(|h| unsafe {
                let mut out = 0x10 as *mut bg_moments;
                let code = bg_moments_new(h as _, &mut out);
                assert_eq!(out as usize, 0x10);
                code
            }),
        ),
        (
            "bg_sampler_checkpoint",
            // A file that must never appear: the call fails before any I/O.
            Box::new(|h| unsafe {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("never.ckpt");
                let code = bg_sampler_checkpoint(h as _, c(path.to_str().unwrap()).as_ptr());
                assert!(!path.exists(), "a checkpoint was written");
                code
            }),
        ),
        (
            "bg_sampler_free",
            Box::new(|h| unsafe { bg_sampler_free(h as _) }),
        ),
    ]
}

/// The moments' calls (`live_sampler` for the ones that also take a sampler).
fn moments_calls(live_sampler: usize) -> Vec<(&'static str, Call)> {
    vec![
        (
            "bg_moments_observe",
            Box::new(move |h| unsafe { bg_moments_observe(h as _, live_sampler as _) }),
        ),
        (
            "bg_sampler_run",
            Box::new(move |h| unsafe { bg_sampler_run(live_sampler as _, h as _, 2, 1) }),
        ),
        (
            "bg_moments_means",
            Box::new(|h| unsafe {
                let mut out = [7f64; 4];
                let code = bg_moments_means(h as _, out.as_mut_ptr(), 4);
                untouched(&out, 7.0, "means");
                code
            }),
        ),
        (
            "bg_moments_squares",
            Box::new(|h| unsafe {
                let mut out = [7f64; 4];
                let code = bg_moments_squares(h as _, out.as_mut_ptr(), 4);
                untouched(&out, 7.0, "squares");
                code
            }),
        ),
        (
            "bg_moments_count",
            Box::new(|h| unsafe {
                let mut n = 77u64;
                let code = bg_moments_count(h as _, &mut n);
                assert_eq!(n, 77);
                code
            }),
        ),
        (
            "bg_moments_reset",
            Box::new(|h| unsafe { bg_moments_reset(h as _) }),
        ),
        (
            "bg_moments_free",
            Box::new(|h| unsafe { bg_moments_free(h as _) }),
        ),
    ]
}

/// Calls each entry point with every handle in `bad` and checks the refusal.
fn refused_by_all(calls: &[(&str, Call)], bad: &[(usize, &str)]) {
    for (name, call) in calls {
        for &(h, why) in bad {
            let code = call(h);
            let m = message();
            assert_eq!(
                bg_status::from_code(code),
                Some(bg_status::BG_STALE_HANDLE),
                "{name} on a {why} handle: {m}"
            );
            assert!(
                m.contains(&format!("({h:#x}) is not a live bg_")),
                "{name} on a {why} handle: `{m}` names no handle"
            );
        }
    }
}

/// Everything observable about the live sampler, the model and the moments, bit for bit.
unsafe fn snapshot(s: usize, m: usize, mo: usize) -> (Vec<u32>, u64, Vec<u32>, usize, u64) {
    unsafe {
        let mut states = [0f32; 8];
        ok(bg_sampler_read_states(s as _, states.as_mut_ptr(), 8));
        let mut done = 0;
        ok(bg_sampler_sweeps_done(s as _, &mut done));
        let mut w = [0f32; 3];
        ok(bg_sampler_get_weights(s as _, 0, w.as_mut_ptr(), 3));
        let mut betas = Vec::new();
        for chain in 0..2 {
            let mut b = 0f32;
            ok(bg_sampler_get_beta(s as _, chain, &mut b));
            betas.push(b.to_bits());
        }
        let mut nodes = 0;
        ok(bg_model_node_count(m as _, &mut nodes));
        let mut count = 0;
        ok(bg_moments_count(mo as _, &mut count));
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let mut all = bits(&states);
        all.extend(betas);
        (all, done, bits(&w), nodes, count)
    }
}

#[test]
fn every_entry_point_refuses_freed_mistyped_and_foreign_handles_and_changes_nothing() {
    unsafe {
        // Live objects of each type, and a freed one of each.
        let b = chain_builder();
        let m = chain_model();
        let mut s = null_mut();
        ok(bg_sampler_new(m, 1, 2, 1, 5, &mut s));
        ok(bg_sampler_step(s, 4));
        let mut mo = null_mut();
        ok(bg_moments_new(s, &mut mo));
        ok(bg_moments_observe(mo, s));
        let (freed_b, freed_m) = (chain_builder(), chain_model());
        let (mut freed_s, mut freed_mo) = (null_mut(), null_mut());
        ok(bg_sampler_new(m, 1, 2, 1, 5, &mut freed_s));
        ok(bg_moments_new(s, &mut freed_mo));
        ok(bg_builder_free(freed_b));
        ok(bg_model_free(freed_m));
        ok(bg_sampler_free(freed_s));
        ok(bg_moments_free(freed_mo));
        let local = 0u64;
        let foreign = &raw const local as usize;
        let (b, m, s, mo) = (b as usize, m as usize, s as usize, mo as usize);

        let before = snapshot(s, m, mo);
        refused_by_all(
            &builder_calls(),
            &[
                (freed_b as usize, "freed"),
                (m, "bg_model"),
                (foreign, "foreign"),
            ],
        );
        refused_by_all(
            &model_calls(),
            &[
                (freed_m as usize, "freed"),
                (s, "bg_sampler"),
                (foreign, "foreign"),
            ],
        );
        refused_by_all(
            &sampler_calls(),
            &[
                (freed_s as usize, "freed"),
                (mo, "bg_moments"),
                (foreign, "foreign"),
            ],
        );
        refused_by_all(
            &moments_calls(s),
            &[
                (freed_mo as usize, "freed"),
                (b, "bg_builder"),
                (foreign, "foreign"),
            ],
        );
        // A live moments handle with a stale sampler: refused too, nothing observed.
        fails(
            bg_moments_observe(mo as _, freed_s),
            bg_status::BG_STALE_HANDLE,
            "argument `sampler`",
        );
        fails(
            bg_sampler_run(freed_s, mo as _, 2, 1),
            bg_status::BG_STALE_HANDLE,
            "argument `sampler`",
        );
        assert_eq!(
            snapshot(s, m, mo),
            before,
            "a refused call changed a live object"
        );

        // Every live handle survived being passed where another type belongs.
        let mut built = null_mut();
        ok(bg_builder_build(b as _, &mut built));
        ok(bg_model_free(built));
        ok(bg_moments_free(mo as _));
        ok(bg_sampler_free(s as _));
        ok(bg_model_free(m as _));
        ok(bg_builder_free(b as _));
    }
}
