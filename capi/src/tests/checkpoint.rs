//! Checkpoint and resume through the ABI: a run cut at sweep k and resumed on the other
//! backend and thread count ends in the uninterrupted run's states, bit for bit; damaged,
//! foreign and missing files and bad arguments are typed errors that make nothing.

use super::{c, chain_model, fails, message, ok};
use crate::checkpoint::*;
use crate::error::*;
use crate::model::*;
use crate::sampler::*;
use bg_backend::*;
use std::ffi::{CString, c_int};
use std::path::Path;
use std::ptr::{null, null_mut};

fn load(file: &str, sets: &[&str]) -> *mut bg_model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(file);
    let path = c(path.to_str().unwrap());
    let sets: Vec<CString> = sets.iter().map(|s| c(s)).collect();
    let ptrs: Vec<_> = sets.iter().map(|s| s.as_ptr()).collect();
    let mut m = null_mut();
    unsafe {
        ok(bg_model_load(
            path.as_ptr(),
            ptrs.as_ptr(),
            ptrs.len(),
            &mut m,
        ))
    };
    m
}

unsafe fn states(s: *const bg_sampler) -> Vec<u32> {
    let (mut chains, mut nodes) = (0usize, 0usize);
    unsafe {
        ok(bg_sampler_chains(s, &mut chains));
        ok(bg_sampler_node_count(s, &mut nodes));
        let mut v = vec![0.0f32; chains * nodes];
        ok(bg_sampler_read_states(s, v.as_mut_ptr(), v.len()));
        v.into_iter().map(f32::to_bits).collect()
    }
}

/// What a C simulator does before it saves: per-chain β, a node held in one chain, a
/// changed coupling, some sweeps — so that the checkpoint has more to carry than a seed.
unsafe fn steer(s: *mut bg_sampler, sweeps: u64) {
    unsafe {
        let mut chains = 0usize;
        ok(bg_sampler_chains(s, &mut chains));
        let betas: Vec<f32> = (0..chains).map(|c| 0.5 + 0.05 * c as f32).collect();
        ok(bg_sampler_set_betas(s, betas.as_ptr(), betas.len()));
        // Node 0 is a spin in one model and a 3-category site in the other: 1 fits both.
        ok(bg_sampler_clamp(s, &0, &1.0, 1, 3));
        let mut n = 0usize;
        ok(bg_sampler_weight_count(s, 0, &mut n));
        let mut w = vec![0.0f32; n];
        ok(bg_sampler_get_weights(s, 0, w.as_mut_ptr(), n));
        w.iter_mut().for_each(|x| *x *= 0.9);
        ok(bg_sampler_set_weights(s, 0, w.as_ptr(), n));
        ok(bg_sampler_step(s, sweeps));
    }
}

const CHAINS: usize = 20; // a full 16-lane chunk and a part one, with padding lanes
const K: u64 = 37;
const TOTAL: u64 = 100;

unsafe fn sampler(model: *const bg_model, backend: c_int, threads: usize) -> *mut bg_sampler {
    let mut s = null_mut();
    unsafe { ok(bg_sampler_new(model, backend, CHAINS, threads, 11, &mut s)) };
    s
}

#[test]
fn resume_on_the_other_backend_and_thread_count_continues_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    // Spins and Gaussians in hand-given blocks with mean-field rules; a Potts lattice whose
    // folded coupling the weight change unfolds.
    let models = [
        ("graph_blocks.toml", load("graph_blocks.toml", &[])),
        ("potts2d.toml", load("potts2d.toml", &["model.L=6"])),
    ];
    let runs = [
        (BG_BACKEND_REFERENCE, 1, BG_BACKEND_JIT, 2),
        (BG_BACKEND_JIT, 2, BG_BACKEND_REFERENCE, 1),
    ];
    for (name, model) in models {
        for (first, first_threads, then, then_threads) in runs {
            let what = format!("{name}: {first:?}/{first_threads} → {then:?}/{then_threads}");
            let path = dir.path().join("run.ckpt");
            let p = c(path.to_str().unwrap());
            unsafe {
                let whole = sampler(model, first as c_int, first_threads);
                steer(whole, K);
                ok(bg_sampler_step(whole, TOTAL - K));
                let expected = states(whole);

                let cut = sampler(model, first as c_int, first_threads);
                steer(cut, K);
                let at_cut = states(cut);
                let mut energy_at_cut = 0.0;
                ok(bg_sampler_energy(cut, 3, &mut energy_at_cut));
                ok(bg_sampler_checkpoint(cut, p.as_ptr()));
                ok(bg_sampler_free(cut));

                let mut resumed = null_mut();
                ok(bg_sampler_resume(
                    p.as_ptr(),
                    then as c_int,
                    then_threads,
                    &mut resumed,
                ));
                let mut running = -1;
                ok(bg_sampler_backend(resumed, &mut running));
                let jit = blockgibbs_runtime::jit_supported();
                let wanted = if jit { then } else { BG_BACKEND_REFERENCE };
                assert_eq!(running, wanted as c_int, "{what}");
                let (mut chains, mut done) = (0usize, 0u64);
                ok(bg_sampler_chains(resumed, &mut chains));
                ok(bg_sampler_sweeps_done(resumed, &mut done));
                assert_eq!((chains, done), (CHAINS, K), "{what}");
                assert_eq!(states(resumed), at_cut, "{what}: the states at the cut");
                let mut energy = 0.0;
                ok(bg_sampler_energy(resumed, 3, &mut energy));
                assert_eq!(energy.to_bits(), energy_at_cut.to_bits(), "{what}");
                let mut beta = 0.0;
                ok(bg_sampler_get_beta(resumed, 7, &mut beta));
                assert_eq!(beta, 0.5 + 0.05 * 7.0, "{what}");

                ok(bg_sampler_step(resumed, TOTAL - K));
                let got = states(resumed);
                assert_ne!(
                    got, at_cut,
                    "{what}: the sweeps after the cut moved nothing"
                );
                assert_eq!(got, expected, "{what}: resumed states differ");
                // The clamp came back: node 0 of chain 3 is still held at 1.
                let nodes = got.len() / CHAINS;
                assert_eq!(f32::from_bits(got[3 * nodes]), 1.0, "{what}");
                ok(bg_sampler_free(resumed));
                ok(bg_sampler_free(whole));
            }
        }
        unsafe { ok(bg_model_free(model)) };
    }
}

/// A checkpoint of the four-spin chain model, as bytes.
fn checkpoint_bytes(dir: &Path) -> Vec<u8> {
    let path = dir.join("good.ckpt");
    unsafe {
        let m = chain_model();
        let mut s = null_mut();
        ok(bg_sampler_new(m, 0, 5, 1, 3, &mut s));
        ok(bg_sampler_step(s, 4));
        ok(bg_sampler_checkpoint(s, c(path.to_str().unwrap()).as_ptr()));
        ok(bg_sampler_free(s));
        ok(bg_model_free(m));
    }
    std::fs::read(path).unwrap()
}

/// Resumes `bytes` written to a file and expects `status` with `needle` and the file's
/// name in the message, and no sampler made.
#[track_caller]
fn refused(dir: &Path, bytes: &[u8], status: bg_status, needle: &str) {
    let path = dir.join("bad.ckpt");
    std::fs::write(&path, bytes).unwrap();
    let mut untouched = 0x10 as *mut bg_sampler;
    let code = unsafe {
        bg_sampler_resume(
            c(path.to_str().unwrap()).as_ptr(),
            BG_BACKEND_AUTO as c_int,
            1,
            &mut untouched,
        )
    };
    fails(code, status, needle);
    assert!(message().contains("bad.ckpt"), "{}", message());
    assert_eq!(untouched as usize, 0x10, "out is written only on success");
}

#[test]
fn truncated_checkpoints_are_format_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = checkpoint_bytes(dir.path());
    let header = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    for cut in [0, 5, 8 + header / 2, 8 + header, good.len() - 1] {
        refused(
            dir.path(),
            &good[..cut],
            bg_status::BG_FORMAT,
            "not a readable safetensors file",
        );
    }
}

/// The `data_offsets` of tensor `name` in a safetensors file.
fn offsets(bytes: &[u8], name: &str) -> (usize, usize) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let o = &header[name]["data_offsets"];
    let at = |i: usize| 8 + n + o[i].as_u64().unwrap() as usize;
    (at(0), at(1))
}

#[test]
fn foreign_damaged_and_newer_files_are_format_errors_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    refused(
        dir.path(),
        b"[model]\nfamily = \"ising2d\"\n",
        bg_status::BG_FORMAT,
        "not a readable safetensors file",
    );
    // Another tool's safetensors file: valid container, no blockgibbs metadata.
    let json =
        br#"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let mut foreign = (json.len() as u64).to_le_bytes().to_vec();
    foreign.extend_from_slice(json);
    foreign.extend_from_slice(&1.0f32.to_le_bytes());
    refused(
        dir.path(),
        &foreign,
        bg_status::BG_FORMAT,
        "is not a blockgibbs checkpoint (its metadata `format` is \"pt\"",
    );

    let good = checkpoint_bytes(dir.path());
    let version = br#""format_version":"1""#;
    let at = good
        .windows(version.len())
        .position(|w| w == version)
        .expect("the version is in the header");
    let mut newer = good.clone();
    newer[at + version.len() - 2] = b'9';
    refused(
        dir.path(),
        &newer,
        bg_status::BG_FORMAT,
        "format version \"9\" is not supported",
    );

    // A spin stored as 0.5: the container is sound, the state is not.
    let (start, _) = offsets(&good, "states");
    let mut damaged = good.clone();
    damaged[start..start + 4].copy_from_slice(&0.5f32.to_le_bytes());
    refused(
        dir.path(),
        &damaged,
        bg_status::BG_FORMAT,
        "node s[0], chain 0: 0.5 is not a valid spin value",
    );
    let (start, _) = offsets(&good, "betas");
    let mut damaged = good.clone();
    damaged[start..start + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    refused(
        dir.path(),
        &damaged,
        bg_status::BG_FORMAT,
        "chain 0: inverse temperature NaN must be positive and finite",
    );
}

#[test]
fn checkpoint_and_resume_check_their_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let path = c(dir.path().join("run.ckpt").to_str().unwrap());
    let not_utf8 = CString::new(vec![b'r', 0xff, b'n']).unwrap();
    unsafe {
        let m = chain_model();
        let mut s = null_mut();
        ok(bg_sampler_new(m, 0, 2, 1, 0, &mut s));
        let mut out = 0x10 as *mut bg_sampler;
        // Each message is checked right after its call: it is the last error of this thread.
        fails(
            bg_sampler_checkpoint(s, null()),
            bg_status::BG_NULL_POINTER,
            "argument `path` is NULL",
        );
        fails(
            bg_sampler_checkpoint(s, not_utf8.as_ptr()),
            bg_status::BG_INVALID_ARGUMENT,
            "argument `path` is not valid UTF-8",
        );
        fails(
            bg_sampler_checkpoint(s, c("").as_ptr()),
            bg_status::BG_INVALID_ARGUMENT,
            "argument `path` is the empty string",
        );
        fails(
            bg_sampler_checkpoint(null(), path.as_ptr()),
            bg_status::BG_NULL_POINTER,
            "argument `sampler` is NULL",
        );
        fails(
            bg_sampler_resume(null(), 0, 1, &mut out),
            bg_status::BG_NULL_POINTER,
            "argument `path` is NULL",
        );
        fails(
            bg_sampler_resume(not_utf8.as_ptr(), 0, 1, &mut out),
            bg_status::BG_INVALID_ARGUMENT,
            "argument `path` is not valid UTF-8",
        );
        fails(
            bg_sampler_resume(path.as_ptr(), 0, 1, null_mut()),
            bg_status::BG_NULL_POINTER,
            "argument `out` is NULL",
        );
        fails(
            bg_sampler_resume(path.as_ptr(), 0, 1, &mut out),
            bg_status::BG_IO,
            "run.ckpt",
        );
        ok(bg_sampler_checkpoint(s, path.as_ptr()));
        fails(
            bg_sampler_resume(path.as_ptr(), 3, 1, &mut out),
            bg_status::BG_INVALID_ARGUMENT,
            "argument `backend` is 3, not a bg_backend",
        );
        assert_eq!(out as usize, 0x10, "out is written only on success");
        ok(bg_sampler_free(s));
        fails(
            bg_sampler_checkpoint(s, path.as_ptr()),
            bg_status::BG_STALE_HANDLE,
            "not a live bg_sampler handle",
        );
        ok(bg_model_free(m));
    }
}

#[test]
fn a_failed_checkpoint_write_leaves_no_file_behind() {
    let dir = tempfile::tempdir().unwrap();
    let taken = dir.path().join("taken");
    std::fs::create_dir(&taken).unwrap();
    let listing = || {
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let before = listing();
    unsafe {
        let m = chain_model();
        let mut s = null_mut();
        ok(bg_sampler_new(m, 0, 2, 1, 0, &mut s));
        let missing_dir = dir.path().join("no/such/dir/run.ckpt");
        fails(
            bg_sampler_checkpoint(s, c(missing_dir.to_str().unwrap()).as_ptr()),
            bg_status::BG_IO,
            "no/such/dir/run.ckpt",
        );
        // A directory where the file should go: written under a temporary name, then the
        // rename fails and the temporary file goes.
        fails(
            bg_sampler_checkpoint(s, c(taken.to_str().unwrap()).as_ptr()),
            bg_status::BG_IO,
            "taken",
        );
        ok(bg_sampler_free(s));
        ok(bg_model_free(m));
    }
    assert_eq!(listing(), before);
    assert_eq!(std::fs::read_dir(&taken).unwrap().count(), 0);
}
