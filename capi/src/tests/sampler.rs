//! Sampler calls: states, β, clamps, weights, energies and moments, and their errors.

use super::*;
use crate::moments::*;

fn chain_sampler(chains: usize) -> *mut bg_sampler {
    let m = chain_model();
    let mut s = null_mut();
    unsafe {
        ok(bg_sampler_new(m, 1, chains, 1, 11, &mut s));
        ok(bg_model_free(m));
    }
    s
}

fn states(s: *const bg_sampler, chains: usize) -> Vec<f32> {
    let mut out = vec![0f32; chains * 4];
    unsafe { ok(bg_sampler_read_states(s, out.as_mut_ptr(), out.len())) };
    out
}

#[test]
fn states_round_trip_and_bad_buffers_change_nothing() {
    unsafe {
        let s = chain_sampler(3);
        ok(bg_sampler_step(s, 3));
        let mine = [
            1f32, -1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0, 1.0, 1.0, -1.0, 1.0,
        ];
        ok(bg_sampler_write_states(s, mine.as_ptr(), 12));
        assert_eq!(states(s, 3), mine);
        // Energy of chain 0 (+1 −1 +1 +1): −(0.5·(−1) − 0.2·(−1) + 0.8·1 + 0.1·2) = −0.7.
        let mut e = 0.0;
        ok(bg_sampler_energy(s, 0, &mut e));
        assert!((e + 0.7).abs() < 1e-6, "{e}");
        fails(
            bg_sampler_energy(s, 3, &mut e),
            bg_status::BG_INVALID_ARGUMENT,
            "chain 3 out of range (the sampler has 3 chains)",
        );

        let mut short = [7f32; 11];
        fails(
            bg_sampler_read_states(s, short.as_mut_ptr(), 11),
            bg_status::BG_LENGTH_MISMATCH,
            "state buffer: expected 12 values, found 11",
        );
        assert_eq!(short, [7.0; 11], "nothing written on error");
        let mut bad = mine;
        bad[6] = 0.5;
        fails(
            bg_sampler_write_states(s, bad.as_ptr(), 12),
            bg_status::BG_INVALID_ARGUMENT,
            "node s[2], chain 1: 0.5 is not a valid spin value",
        );
        assert_eq!(states(s, 3), mine, "state unchanged");
        fails(
            bg_sampler_write_states(s, null(), 12),
            bg_status::BG_NULL_POINTER,
            "`values`",
        );
        let bytes = [0u8; 64];
        let odd = bytes.as_ptr().wrapping_add(1).cast::<f32>();
        fails(
            bg_sampler_write_states(s, odd, 12),
            bg_status::BG_INVALID_ARGUMENT,
            "is not aligned to 4 bytes",
        );
        fails(
            bg_sampler_read_states(s, short.as_mut_ptr(), usize::MAX / 2),
            bg_status::BG_INVALID_ARGUMENT,
            "larger than any buffer",
        );

        let mut means = [0f64; 4];
        ok(bg_sampler_means(s, means.as_mut_ptr(), 4));
        assert_eq!(means, [1.0 / 3.0, -1.0 / 3.0, -1.0 / 3.0, 1.0 / 3.0]);
        fails(
            bg_sampler_means(s, means.as_mut_ptr(), 5),
            bg_status::BG_LENGTH_MISMATCH,
            "means: expected 4 values, found 5",
        );
        ok(bg_sampler_free(s));
    }
}

#[test]
fn beta_per_chain_and_for_all_chains() {
    unsafe {
        let s = chain_sampler(3);
        let mut b = 0f32;
        ok(bg_sampler_set_beta(s, 1, 0.25));
        ok(bg_sampler_get_beta(s, 1, &mut b));
        assert_eq!(b, 0.25);
        ok(bg_sampler_get_beta(s, 0, &mut b));
        assert_eq!(b, 1.0);
        ok(bg_sampler_set_beta(s, BG_ALL_CHAINS, 2.0));
        for chain in 0..3 {
            ok(bg_sampler_get_beta(s, chain, &mut b));
            assert_eq!(b, 2.0);
        }
        fails(
            bg_sampler_set_beta(s, BG_ALL_CHAINS, f32::NAN),
            bg_status::BG_INVALID_ARGUMENT,
            "inverse temperature NaN must be positive and finite",
        );
        fails(
            bg_sampler_set_beta(s, 5, 1.0),
            bg_status::BG_INVALID_ARGUMENT,
            "chain 5 out of range",
        );
        fails(
            bg_sampler_set_betas(s, [1.0f32, -1.0, 1.0].as_ptr(), 3),
            bg_status::BG_INVALID_ARGUMENT,
            "chain 1: inverse temperature -1 must be positive",
        );
        fails(
            bg_sampler_set_betas(s, [1.0f32; 2].as_ptr(), 2),
            bg_status::BG_LENGTH_MISMATCH,
            "betas: expected 3 values, found 2",
        );
        ok(bg_sampler_get_beta(s, 0, &mut b));
        assert_eq!(b, 2.0, "a failed set_betas changes no chain");
        ok(bg_sampler_set_betas(s, [0.5f32, 1.5, 2.5].as_ptr(), 3));
        ok(bg_sampler_get_beta(s, 2, &mut b));
        assert_eq!(b, 2.5);
        ok(bg_sampler_free(s));
    }
}

#[test]
fn clamps_hold_nodes_and_bad_values_change_nothing() {
    unsafe {
        let s = chain_sampler(4);
        let nodes = [0u32, 3];
        ok(bg_sampler_clamp(
            s,
            nodes.as_ptr(),
            [1f32, -1.0].as_ptr(),
            2,
            BG_ALL_CHAINS,
        ));
        ok(bg_sampler_clamp(s, nodes.as_ptr(), [-1f32].as_ptr(), 1, 2));
        let before = states(s, 4);
        fails(
            bg_sampler_clamp(s, nodes.as_ptr(), [1f32, 0.5].as_ptr(), 2, BG_ALL_CHAINS),
            bg_status::BG_INVALID_ARGUMENT,
            "node s[3]: 0.5 is not a valid spin value",
        );
        fails(
            bg_sampler_clamp(s, [4u32].as_ptr(), [1f32].as_ptr(), 1, 0),
            bg_status::BG_INVALID_ARGUMENT,
            "unknown node id 4",
        );
        fails(
            bg_sampler_clamp(s, nodes.as_ptr(), [1f32, 1.0].as_ptr(), 2, 4),
            bg_status::BG_INVALID_ARGUMENT,
            "chain 4 out of range",
        );
        assert_eq!(states(s, 4), before, "failed clamps change nothing");
        ok(bg_sampler_step(s, 20));
        let after = states(s, 4);
        for (chain, row) in after.chunks(4).enumerate() {
            let first = if chain == 2 { -1.0 } else { 1.0 };
            assert_eq!((row[0], row[3]), (first, -1.0), "chain {chain}");
        }
        ok(bg_sampler_release(s, nodes.as_ptr(), 2, BG_ALL_CHAINS));
        fails(
            bg_sampler_release(s, nodes.as_ptr(), 2, 9),
            bg_status::BG_INVALID_ARGUMENT,
            "chain 9",
        );
        ok(bg_sampler_free(s));
    }
}

#[test]
fn weights_by_name_whole_or_per_instance() {
    unsafe {
        let s = chain_sampler(2);
        let mut j = u32::MAX;
        ok(bg_sampler_factor_index(s, c("J").as_ptr(), &mut j));
        assert_eq!(j, 0);
        fails(
            bg_sampler_factor_index(s, c("K").as_ptr(), &mut j),
            bg_status::BG_INVALID_ARGUMENT,
            "no factor is named `K`; the model's factors are: J, h",
        );
        let mut n = 0usize;
        ok(bg_sampler_weight_count(s, 0, &mut n));
        assert_eq!(n, 3);
        ok(bg_sampler_set_instance_weights(
            s,
            0,
            1,
            [0.7f32].as_ptr(),
            1,
        ));
        let mut w = [0f32; 3];
        ok(bg_sampler_get_weights(s, 0, w.as_mut_ptr(), 3));
        assert_eq!(w, [0.5, 0.7, 0.8]);
        fails(
            bg_sampler_set_weights(s, 0, [1.0f32, f32::NAN, 1.0].as_ptr(), 3),
            bg_status::BG_INVALID_ARGUMENT,
            "factor `J`: weight 1 is NaN",
        );
        fails(
            bg_sampler_set_weights(s, 0, [1.0f32; 2].as_ptr(), 2),
            bg_status::BG_LENGTH_MISMATCH,
            "factor `J`: weights have 2 entries, expected 3",
        );
        fails(
            bg_sampler_set_instance_weights(s, 0, 3, [1.0f32].as_ptr(), 1),
            bg_status::BG_INVALID_ARGUMENT,
            "factor `J`: instance 3 out of range (it has 3)",
        );
        fails(
            bg_sampler_set_weights(s, 2, [1.0f32].as_ptr(), 1),
            bg_status::BG_INVALID_ARGUMENT,
            "unknown factor id 2 (the model has 2 factors)",
        );
        ok(bg_sampler_get_weights(s, 0, w.as_mut_ptr(), 3));
        assert_eq!(w, [0.5, 0.7, 0.8], "failed calls keep the old weights");
        // New weights change the energy of the same state.
        ok(bg_sampler_write_states(s, [1f32; 8].as_ptr(), 8));
        ok(bg_sampler_set_weights(s, 0, [1.0f32, 1.0, 1.0].as_ptr(), 3));
        let mut e = 0.0;
        ok(bg_sampler_energy(s, 1, &mut e));
        assert!((e + 3.4).abs() < 1e-6, "{e}");
        ok(bg_sampler_free(s));
    }
}

#[test]
fn moments_accumulate_over_runs_and_reset() {
    unsafe {
        let s = chain_sampler(2);
        // Every node held at +1: the means are exactly 1 whatever the sweeps do.
        ok(bg_sampler_clamp(
            s,
            [0u32, 1, 2, 3].as_ptr(),
            [1f32; 4].as_ptr(),
            4,
            BG_ALL_CHAINS,
        ));
        let mut m = null_mut();
        ok(bg_moments_new(s, &mut m));
        ok(bg_sampler_run(s, m, 5, 2));
        ok(bg_moments_observe(m, s));
        let mut count = 0u64;
        ok(bg_moments_count(m, &mut count));
        assert_eq!(count, 6);
        let (mut means, mut squares) = ([0f64; 4], [0f64; 4]);
        ok(bg_moments_means(m, means.as_mut_ptr(), 4));
        ok(bg_moments_squares(m, squares.as_mut_ptr(), 4));
        assert_eq!((means, squares), ([1.0; 4], [1.0; 4]));
        fails(
            bg_moments_means(m, means.as_mut_ptr(), 3),
            bg_status::BG_LENGTH_MISMATCH,
            "means: expected 4 values, found 3",
        );
        ok(bg_moments_reset(m));
        ok(bg_moments_count(m, &mut count));
        assert_eq!(count, 0);
        ok(bg_moments_means(m, means.as_mut_ptr(), 4));
        assert_eq!(means, [0.0; 4]);
        fails(
            bg_sampler_run(s, null_mut(), 1, 1),
            bg_status::BG_NULL_POINTER,
            "`moments`",
        );
        ok(bg_moments_free(m));
        ok(bg_sampler_free(s));
    }
}

#[test]
fn sampler_arguments_are_checked() {
    unsafe {
        let m = chain_model();
        let mut s = null_mut();
        fails(
            bg_sampler_new(m, 5, 1, 1, 0, &mut s),
            bg_status::BG_INVALID_ARGUMENT,
            "argument `backend` is 5",
        );
        fails(
            bg_sampler_new(m, 0, 0, 1, 0, &mut s),
            bg_status::BG_INVALID_ARGUMENT,
            "at least one chain",
        );
        assert!(s.is_null());
        ok(bg_sampler_new(m, 2, 1, 1, 0, &mut s));
        let mut backend = -1;
        ok(bg_sampler_backend(s, &mut backend));
        assert!(backend == BG_BACKEND_JIT as c_int || backend == BG_BACKEND_REFERENCE as c_int);
        let (mut chains, mut nodes) = (0usize, 0usize);
        ok(bg_sampler_chains(s, &mut chains));
        ok(bg_sampler_node_count(s, &mut nodes));
        assert_eq!((chains, nodes), (1, 4));
        ok(bg_sampler_reseed(s, 5));
        ok(bg_sampler_free(s));
        ok(bg_model_free(m));
    }
}
