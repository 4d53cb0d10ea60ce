//! The ABI called directly, as C would: every error a typed status with a message naming
//! the culprit, and nothing changed by a failed call.

mod checkpoint;
mod handles;
mod sampler;
mod stale;

use crate::builder::*;
use crate::error::*;
use crate::model::*;
use crate::sampler::*;
use bg_backend::*;
use bg_kind::*;
use std::ffi::{CStr, CString, c_int};
use std::ptr::{null, null_mut};

pub(super) fn message() -> String {
    let text = unsafe { CStr::from_ptr(bg_last_error_message()) };
    let text = text.to_str().unwrap().to_string();
    assert_eq!(bg_last_error_length(), text.len());
    text
}

#[track_caller]
pub(super) fn ok(code: c_int) {
    assert_eq!(code, 0, "expected BG_OK, got {code}: {}", message());
    assert_eq!(message(), "", "a success clears the message");
}

#[track_caller]
pub(super) fn fails(code: c_int, status: bg_status, needle: &str) {
    let m = message();
    assert_eq!(bg_status::from_code(code), Some(status), "{m}");
    assert!(
        m.contains(needle),
        "message `{m}` does not contain `{needle}`"
    );
}

pub(super) fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// Four spins in a chain: `J` couples (0,1), (1,2), (2,3); `h` biases every spin.
pub(super) fn chain_builder() -> *mut bg_builder {
    let mut b = null_mut();
    let mut first = u32::MAX;
    unsafe {
        ok(bg_builder_new(&mut b));
        ok(bg_builder_add_group(
            b,
            c("s").as_ptr(),
            0,
            0,
            4,
            &mut first,
        ));
    }
    assert_eq!(first, 0);
    let (a, bb) = ([0u32, 1, 2], [1u32, 2, 3]);
    let roles = [a.as_ptr(), bb.as_ptr()];
    let name = c("J");
    let j = [0.5f32, -0.2, 0.8];
    let mut spec = pair_spec(&name, &roles, &j);
    let mut index = u32::MAX;
    unsafe { ok(bg_builder_add_factor(b, &spec, &mut index)) };
    assert_eq!(index, 0);
    let all = [0u32, 1, 2, 3];
    let one = [all.as_ptr()];
    let h = [0.1f32; 4];
    let hname = c("h");
    spec = pair_spec(&hname, &one, &h);
    unsafe { ok(bg_builder_add_factor(b, &spec, &mut index)) };
    assert_eq!(index, 1);
    b
}

pub(super) fn pair_spec(name: &CString, roles: &[*const u32], w: &[f32]) -> bg_factor_spec {
    bg_factor_spec {
        name: name.as_ptr(),
        instances: w.len(),
        categorical_roles: null(),
        n_categorical: 0,
        product_roles: roles.as_ptr(),
        n_product: roles.len(),
        gaussian_roles: null(),
        gaussian_powers: null(),
        n_gaussian: 0,
        weights: w.as_ptr(),
        n_weights: w.len(),
    }
}

pub(super) fn chain_model() -> *mut bg_model {
    let b = chain_builder();
    let mut m = null_mut();
    unsafe {
        ok(bg_builder_build(b, &mut m));
        ok(bg_builder_free(b));
    }
    m
}

#[test]
fn null_pointers_name_the_argument() {
    unsafe {
        fails(
            bg_builder_new(null_mut()),
            bg_status::BG_NULL_POINTER,
            "argument `out` is NULL",
        );
        let m = chain_model();
        let mut n = 0usize;
        fails(
            bg_model_node_count(null(), &mut n),
            bg_status::BG_NULL_POINTER,
            "`model`",
        );
        fails(
            bg_model_factor_index(m, null(), &mut 0),
            bg_status::BG_NULL_POINTER,
            "`name`",
        );
        fails(
            bg_model_load(null(), null(), 0, &mut null_mut()),
            bg_status::BG_NULL_POINTER,
            "`path`",
        );
        // A NULL array with a non-zero length is an error; with length 0 it is empty.
        let b = chain_builder();
        let name = c("empty");
        let spec = bg_factor_spec {
            instances: 2,
            ..pair_spec(&name, &[null()], &[0.0, 0.0])
        };
        fails(
            bg_builder_add_factor(b, &spec, &mut 0),
            bg_status::BG_NULL_POINTER,
            "spec.product_roles[0]",
        );
        fails(
            bg_builder_add_factor(b, null(), &mut 0),
            bg_status::BG_NULL_POINTER,
            "`spec`",
        );
        ok(bg_builder_free(b));
        ok(bg_model_free(m));
        ok(bg_model_free(null_mut()));
    }
}

#[test]
fn builder_rejects_bad_factors_and_stays_usable() {
    unsafe {
        let b = chain_builder();
        let (a, bb) = ([0u32], [7u32]);
        let roles = [a.as_ptr(), bb.as_ptr()];
        let name = c("far");
        let spec = pair_spec(&name, &roles, &[1.0]);
        fails(
            bg_builder_add_factor(b, &spec, &mut 0),
            bg_status::BG_INVALID_ARGUMENT,
            "factor `far` product[1]: unknown node id 7 (the builder has 4 nodes so far)",
        );
        let bb = [3u32];
        let roles = [a.as_ptr(), bb.as_ptr()];
        let spec = pair_spec(&name, &roles, &[f32::NAN]);
        fails(
            bg_builder_add_factor(b, &spec, &mut 0),
            bg_status::BG_INVALID_ARGUMENT,
            "factor `far`: weight 0 is NaN",
        );
        // Neither failed call added a factor: the next one gets index 2.
        let mut index = 0;
        ok(bg_builder_add_factor(
            b,
            &pair_spec(&name, &roles, &[0.3]),
            &mut index,
        ));
        assert_eq!(index, 2);
        fails(
            bg_builder_clamp(b, 1, 0.5),
            bg_status::BG_INVALID_ARGUMENT,
            "clamp of node s[1]: 0.5 is not a valid spin value",
        );
        fails(
            bg_builder_clamp(b, 9, 1.0),
            bg_status::BG_INVALID_ARGUMENT,
            "unknown node id 9",
        );
        fails(
            bg_builder_add_group(b, c("s").as_ptr(), 0, 0, 2, &mut 0),
            bg_status::BG_MODEL,
            "node group `s` is defined twice",
        );
        fails(
            bg_builder_add_group(b, c("k").as_ptr(), 7, 0, 2, &mut 0),
            bg_status::BG_INVALID_ARGUMENT,
            "argument `kind` is 7",
        );
        fails(
            bg_builder_add_group(b, c("k").as_ptr(), 0, 3, 2, &mut 0),
            bg_status::BG_INVALID_ARGUMENT,
            "spin nodes have no categories",
        );
        let bad = [0xffu8, 0xfe, 0];
        fails(
            bg_builder_add_group(b, bad.as_ptr().cast(), 0, 0, 2, &mut 0),
            bg_status::BG_INVALID_ARGUMENT,
            "argument `name` is not valid UTF-8",
        );
        let mut m = null_mut();
        ok(bg_builder_build(b, &mut m));
        let mut n = 0usize;
        ok(bg_model_factor_count(m, &mut n));
        assert_eq!(n, 3);
        ok(bg_model_free(m));
        ok(bg_builder_free(b));
    }
}

#[test]
fn build_names_the_factor_whose_kinds_or_shape_do_not_fit() {
    unsafe {
        let b = chain_builder();
        let mut first = 0;
        ok(bg_builder_add_group(
            b,
            c("x").as_ptr(),
            3,
            0,
            2,
            &mut first,
        ));
        assert_eq!(first, 4);
        let (s, x) = ([0u32], [4u32]);
        let roles = [s.as_ptr(), x.as_ptr()];
        let name = c("mixed");
        ok(bg_builder_add_factor(
            b,
            &pair_spec(&name, &roles, &[1.0]),
            &mut 0,
        ));
        let mut m = null_mut();
        fails(
            bg_builder_build(b, &mut m),
            bg_status::BG_MODEL,
            "factor `mixed`: role product[1] needs spin or binary nodes, but x[0] is gaussian",
        );
        assert!(m.is_null(), "no model is written on error");
        ok(bg_builder_free(b));

        // One instance, two weights: a shape the factor's roles do not have.
        let b = chain_builder();
        let (s, t) = ([0u32], [1u32]);
        let roles = [s.as_ptr(), t.as_ptr()];
        let name = c("short");
        let two = [1.0f32, 2.0];
        let spec = bg_factor_spec {
            weights: two.as_ptr(),
            n_weights: 2,
            ..pair_spec(&name, &roles, &[1.0])
        };
        ok(bg_builder_add_factor(b, &spec, &mut 0));
        fails(
            bg_builder_build(b, &mut m),
            bg_status::BG_MODEL,
            "factor `short`: weights have 2 entries, expected 1",
        );
        assert!(m.is_null(), "no model is written on error");
        ok(bg_builder_free(b));
    }
}

#[test]
fn categorical_and_gaussian_roles_build_and_sample() {
    unsafe {
        let mut b = null_mut();
        let (mut c0, mut x0) = (0, 0);
        ok(bg_builder_new(&mut b));
        ok(bg_builder_add_group(
            b,
            c("c").as_ptr(),
            BG_KIND_CATEGORICAL as c_int,
            3,
            2,
            &mut c0,
        ));
        ok(bg_builder_add_group(
            b,
            c("x").as_ptr(),
            BG_KIND_GAUSSIAN as c_int,
            0,
            2,
            &mut x0,
        ));
        // A gated mean W[i, c_i] · x_i and a precision −½ x².
        let (cs, xs) = ([c0, c0 + 1], [x0, x0 + 1]);
        let cat = [cs.as_ptr()];
        let gauss = [xs.as_ptr()];
        let w = [0.0f32, 1.0, -1.0, 0.5, 0.0, 2.0];
        let name = c("mean");
        let mut spec = bg_factor_spec {
            name: name.as_ptr(),
            instances: 2,
            categorical_roles: cat.as_ptr(),
            n_categorical: 1,
            product_roles: null(),
            n_product: 0,
            gaussian_roles: gauss.as_ptr(),
            gaussian_powers: [1u8].as_ptr(),
            n_gaussian: 1,
            weights: w.as_ptr(),
            n_weights: 6,
        };
        ok(bg_builder_add_factor(b, &spec, &mut 0));
        let p = [-0.5f32, -0.5];
        let pname = c("precision");
        spec = bg_factor_spec {
            name: pname.as_ptr(),
            categorical_roles: null(),
            n_categorical: 0,
            gaussian_powers: [2u8].as_ptr(),
            weights: p.as_ptr(),
            n_weights: 2,
            ..spec
        };
        ok(bg_builder_add_factor(b, &spec, &mut 0));
        spec.gaussian_powers = [3u8].as_ptr();
        fails(
            bg_builder_add_factor(b, &spec, &mut 0),
            bg_status::BG_INVALID_ARGUMENT,
            "factor `precision` gaussian[0]: power 3 is not supported",
        );
        ok(bg_builder_clamp(b, c0 + 1, 2.0));
        fails(
            bg_builder_clamp(b, c0, 3.0),
            bg_status::BG_INVALID_ARGUMENT,
            "3 is not a valid categorical(3) value",
        );
        let mut m = null_mut();
        ok(bg_builder_build(b, &mut m));
        ok(bg_builder_free(b));
        let (mut kind, mut k) = (-1, 99);
        ok(bg_model_node_kind(m, c0, &mut kind, &mut k));
        assert_eq!((kind, k), (BG_KIND_CATEGORICAL as c_int, 3));
        ok(bg_model_node_kind(m, x0, &mut kind, &mut k));
        assert_eq!((kind, k), (BG_KIND_GAUSSIAN as c_int, 0));
        fails(
            bg_model_node_kind(m, 4, &mut kind, &mut k),
            bg_status::BG_INVALID_ARGUMENT,
            "unknown node id 4",
        );
        let mut s = null_mut();
        ok(bg_sampler_new(m, 1, 4, 1, 3, &mut s));
        ok(bg_sampler_step(s, 5));
        let mut states = [0f32; 16];
        ok(bg_sampler_read_states(s, states.as_mut_ptr(), 16));
        for row in states.chunks(4) {
            assert_eq!(row[1], 2.0, "the clamped category stays");
            assert!(row[0] == 0.0 || row[0] == 1.0 || row[0] == 2.0);
        }
        // Values the kinds do not admit, at run time: nothing clamped, nothing written.
        fails(
            bg_sampler_clamp(s, &x0, &f32::NAN, 1, BG_ALL_CHAINS),
            bg_status::BG_INVALID_ARGUMENT,
            "node x[0]: NaN is not a valid gaussian value",
        );
        fails(
            bg_sampler_clamp(s, &c0, &1.5, 1, 0),
            bg_status::BG_INVALID_ARGUMENT,
            "node c[0]: 1.5 is not a valid categorical(3) value",
        );
        let mut bad = states;
        bad[4 + 2] = f32::INFINITY;
        fails(
            bg_sampler_write_states(s, bad.as_ptr(), 16),
            bg_status::BG_INVALID_ARGUMENT,
            "node x[0], chain 1: inf is not a valid gaussian value",
        );
        let mut again = [0f32; 16];
        ok(bg_sampler_read_states(s, again.as_mut_ptr(), 16));
        assert_eq!(
            again.map(f32::to_bits),
            states.map(f32::to_bits),
            "refused clamps and writes change no state"
        );
        // Making the precision negative is a model error, and the old weights stay.
        let f = 1u32;
        fails(
            bg_sampler_set_weights(s, f, [0.5f32, -0.5].as_ptr(), 2),
            bg_status::BG_MODEL,
            "x[0]",
        );
        let mut now = [0f32; 2];
        ok(bg_sampler_get_weights(s, f, now.as_mut_ptr(), 2));
        assert_eq!(now, [-0.5, -0.5]);
        ok(bg_sampler_free(s));
        ok(bg_model_free(m));
    }
}

#[test]
fn model_files_load_with_overrides_and_errors_name_the_file_or_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ising.toml");
    std::fs::write(&path, "[model]\nfamily = \"ising2d\"\nL = 4\nbeta = 0.3\n").unwrap();
    let p = c(path.to_str().unwrap());
    unsafe {
        let mut m = null_mut();
        ok(bg_model_load(p.as_ptr(), null(), 0, &mut m));
        let (mut first, mut len) = (9, 0usize);
        ok(bg_model_group(m, c("spin").as_ptr(), &mut first, &mut len));
        assert_eq!((first, len), (0, 16));
        fails(
            bg_model_group(m, c("spins").as_ptr(), &mut first, &mut len),
            bg_status::BG_INVALID_ARGUMENT,
            "no node group is named `spins`; the model's groups are: spin",
        );
        // The file's β carries over to the sampler.
        let mut s = null_mut();
        ok(bg_sampler_new(m, 0, 2, 1, 0, &mut s));
        let mut beta = 0.0;
        ok(bg_sampler_get_beta(s, 1, &mut beta));
        assert_eq!(beta, 0.3);
        ok(bg_sampler_free(s));
        ok(bg_model_free(m));

        let set = c("model.L=6");
        let sets = [set.as_ptr()];
        ok(bg_model_load(p.as_ptr(), sets.as_ptr(), 1, &mut m));
        let mut n = 0usize;
        ok(bg_model_node_count(m, &mut n));
        assert_eq!(n, 36);
        ok(bg_model_free(m));

        let missing = c(dir.path().join("none.toml").to_str().unwrap());
        let mut untouched = 0x10 as *mut bg_model;
        fails(
            bg_model_load(missing.as_ptr(), null(), 0, &mut untouched),
            bg_status::BG_IO,
            "none.toml",
        );
        assert_eq!(untouched as usize, 0x10, "out is written only on success");
        let typo = c("model.Lx=6");
        let sets = [typo.as_ptr()];
        fails(
            bg_model_load(p.as_ptr(), sets.as_ptr(), 1, &mut m),
            bg_status::BG_MODEL,
            "model.Lx",
        );
    }
}
