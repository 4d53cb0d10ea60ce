//! Helpers shared by the `fit`/`score` command-line tests: running the binary, writing data
//! files, and an exact binary-RBM density by brute-force enumeration of the joint states
//! (independent of the library's free energies and Gray-code enumeration).
#![allow(dead_code)]

use blockgibbs::models::BinaryRbm;
use blockgibbs::models::io::ModelIo;
use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary with `args` in the current directory of the test process.
pub fn blockgibbs(args: &[&str]) -> Output {
    blockgibbs_in(None, args)
}

/// Runs the binary with `args` in directory `cwd` (or the test's own).
pub fn blockgibbs_in(cwd: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_blockgibbs"));
    command.args(args);
    if let Some(dir) = cwd {
        command.current_dir(dir);
    }
    command.output().expect("the binary runs")
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The single JSON line on stdout of a successful run.
pub fn json_line(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "failed: {}", stderr(o));
    let text = stdout(o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON line expected: {text}");
    serde_json::from_str(lines[0]).expect("valid JSON")
}

/// Asserts a failed run with exit status `code` whose message contains every `needle`.
pub fn assert_fails(o: &Output, code: i32, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(code),
        "stderr: {err}\nstdout: {}",
        stdout(o)
    );
    assert!(stdout(o).is_empty(), "no JSON on failure: {}", stdout(o));
    for needle in needles {
        assert!(err.contains(needle), "`{needle}` missing from: {err}");
    }
}

/// `s` as an argument.
pub fn arg(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temporary path")
}

/// Binary training data: `rows` samples of two 2-unit blocks that are on together,
/// `[1,1,0,0]` or `[0,0,1,1]`, with every seventh sample of a third pattern `[1,0,1,0]`.
pub fn block_data(rows: usize) -> Vec<[u8; 4]> {
    (0..rows)
        .map(|i| match (i % 7, i % 2) {
            (6, _) => [1, 0, 1, 0],
            (_, 0) => [1, 1, 0, 0],
            _ => [0, 0, 1, 1],
        })
        .collect()
}

/// `rows` as CSV text with a header, comments and blank lines (all to be ignored).
pub fn to_csv(rows: &[[u8; 4]]) -> String {
    let mut text = String::from("# two blocks of two pixels\nv0,v1,v2,v3\n\n");
    for (i, r) in rows.iter().enumerate() {
        text.push_str(&format!("{},{},{},{}", r[0], r[1], r[2], r[3]));
        text.push_str(if i % 5 == 0 { "  # a comment\n" } else { "\n" });
    }
    text
}

/// Writes row-major `values` of `shape` as a `.npy` file with the element type's dtype,
/// in C or Fortran order (values given in that storage order).
pub fn write_npy<T: npyz::AutoSerialize + Copy>(
    path: &Path,
    shape: &[u64],
    fortran: bool,
    values: &[T],
) {
    use npyz::WriterBuilder;
    let mut bytes = Vec::new();
    let order = if fortran {
        npyz::Order::Fortran
    } else {
        npyz::Order::C
    };
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .order(order)
        .writer(&mut bytes)
        .begin_nd()
        .unwrap();
    w.extend(values.iter().copied()).unwrap();
    w.finish().unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Reads a `.npy` file: shape, dtype descr and values as f64.
pub fn read_npy(path: &Path) -> (Vec<u64>, String, Vec<f64>) {
    let bytes = std::fs::read(path).unwrap();
    let file = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = file.shape().to_vec();
    let descr = file.dtype().descr();
    let values = if descr.contains("i8") {
        file.into_vec::<i64>()
            .unwrap()
            .into_iter()
            .map(|v| v as f64)
            .collect()
    } else {
        file.into_vec::<f64>().unwrap()
    };
    (shape, descr, values)
}

/// `log Σ exp` of a slice.
fn log_sum_exp(xs: &[f64]) -> f64 {
    let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// The bits of `state` as 0/1 values.
fn bits(state: u64, n: usize) -> Vec<f64> {
    (0..n).map(|k| ((state >> k) & 1) as f64).collect()
}

/// `aᵀv + bᵀh + vᵀWh` in f64.
fn log_weight(rbm: &BinaryRbm, v: &[f64], h: &[f64]) -> f64 {
    let nh = rbm.n_hidden();
    let mut s: f64 = v
        .iter()
        .zip(rbm.visible_bias())
        .map(|(x, &a)| x * a as f64)
        .sum::<f64>()
        + h.iter()
            .zip(rbm.hidden_bias())
            .map(|(x, &b)| x * b as f64)
            .sum::<f64>();
    for (i, vi) in v.iter().enumerate() {
        for (j, hj) in h.iter().enumerate() {
            s += vi * hj * rbm.weights()[i * nh + j] as f64;
        }
    }
    s
}

/// Exact `log p(v)` of each row by summing `exp(aᵀv + bᵀh + vᵀWh)` over every hidden
/// state (numerator) and every joint state (`Z`): only for tiny machines.
pub fn brute_force_log_probs(rbm: &BinaryRbm, rows: &[Vec<f64>]) -> Vec<f64> {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    assert!(nv + nh <= 16, "brute force is for tiny machines");
    let hidden: Vec<Vec<f64>> = (0..1u64 << nh).map(|s| bits(s, nh)).collect();
    let log_marginal = |v: &[f64]| {
        let terms: Vec<f64> = hidden.iter().map(|h| log_weight(rbm, v, h)).collect();
        log_sum_exp(&terms)
    };
    let all: Vec<f64> = (0..1u64 << nv)
        .map(|s| log_marginal(&bits(s, nv)))
        .collect();
    let log_z = log_sum_exp(&all);
    rows.iter().map(|v| log_marginal(v) - log_z).collect()
}

/// Exact `log Z` of a machine too large for [`brute_force_log_probs`] but with few visible
/// units: the visible states are enumerated and each hidden unit summed out as
/// `ln(1 + exp(b_j + Σ_i v_i W_ij))`, written here independently of the library.
pub fn visible_enumeration_log_z(rbm: &BinaryRbm) -> f64 {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    assert!(nv <= 22);
    let w: Vec<f64> = rbm.weights().iter().map(|&x| x as f64).collect();
    let mut terms = Vec::with_capacity(1 << nv);
    let mut field = vec![0.0f64; nh];
    for state in 0..1u64 << nv {
        field
            .iter_mut()
            .zip(rbm.hidden_bias())
            .for_each(|(f, &b)| *f = b as f64);
        let mut linear = 0.0;
        for i in (0..nv).filter(|&i| (state >> i) & 1 == 1) {
            linear += rbm.visible_bias()[i] as f64;
            for (f, wij) in field.iter_mut().zip(&w[i * nh..(i + 1) * nh]) {
                *f += wij;
            }
        }
        let hidden: f64 = field
            .iter()
            .map(|&x| {
                if x > 0.0 {
                    x + (-x).exp().ln_1p()
                } else {
                    x.exp().ln_1p()
                }
            })
            .sum();
        terms.push(linear + hidden);
    }
    log_sum_exp(&terms)
}

/// `σ(b_j + Σ_i v_i W_ij)` for every hidden unit.
pub fn hidden_probs(rbm: &BinaryRbm, v: &[f64]) -> Vec<f64> {
    let nh = rbm.n_hidden();
    (0..nh)
        .map(|j| {
            let x = rbm.hidden_bias()[j] as f64
                + v.iter()
                    .enumerate()
                    .map(|(i, vi)| vi * rbm.weights()[i * nh + j] as f64)
                    .sum::<f64>();
            1.0 / (1.0 + (-x).exp())
        })
        .collect()
}

/// Loads a saved binary RBM.
pub fn load_rbm(path: &Path) -> BinaryRbm {
    BinaryRbm::load(path).expect("a binary_rbm file")
}

/// The names of the files in `dir`, sorted.
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
