//! Factor analysis by EM beside scikit-learn's FactorAnalysis: fits the shipped digits
//! (1,797 × 64) with 2 and 10 factors and, given `--iris`, iris (150 × 4) with 1 and 2,
//! from scikit-learn's start (noise variances one, loadings its first iteration computes:
//! [`Init::Sklearn`]), and prints one JSON line per fit: final average log-likelihood,
//! iterations, convergence and wall time per iteration. With `--sklearn-dir` (the output
//! of `scripts/sklearn_fa.py`) it also loads scikit-learn's fitted models, scores them with
//! our log-density, and prints the differences. Run it through `scripts/sklearn_fa.sh`.
//!
//! ```text
//! cargo run --release -p blockgibbs-models --example lgm_bench -- [options]
//!   --tol X            stop at a per-sample log-likelihood change below X (default 1e-9)
//!   --max-iter N       EM step cap (default 100000)
//!   --iris FILE        iris as a float64 .npy matrix (150 × 4), e.g. from sklearn_fa.py
//!   --sklearn-dir DIR  scikit-learn's fitted models and sklearn_results.jsonl
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use blockgibbs_models::datasets::{DIGITS_PIXELS, digits};
use blockgibbs_models::io::ModelIo;
use blockgibbs_models::lgm::{FactorAnalysis, FitOptions, Init};
use blockgibbs_models::samples::Samples;
use serde_json::{Value, json};

type AnyError = Box<dyn Error>;

struct Args {
    tol: f64,
    max_iter: usize,
    iris: Option<PathBuf>,
    sklearn_dir: Option<PathBuf>,
}

fn parse_args() -> Result<Args, AnyError> {
    let mut args = Args {
        tol: 1e-9,
        max_iter: 100_000,
        iris: None,
        sklearn_dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--tol" => args.tol = value()?.parse()?,
            "--max-iter" => args.max_iter = value()?.parse()?,
            "--iris" => args.iris = Some(PathBuf::from(value()?)),
            "--sklearn-dir" => args.sklearn_dir = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(args)
}

/// A C-ordered float64 `.npy` matrix.
fn read_npy(path: &Path) -> Result<Samples, AnyError> {
    let npy = npyz::NpyFile::new(std::io::BufReader::new(std::fs::File::open(path)?))?;
    let shape = npy.shape().to_vec();
    if shape.len() != 2 || npy.order() != npyz::Order::C {
        return Err(format!(
            "{}: expected a C-ordered matrix, got {shape:?}",
            path.display()
        )
        .into());
    }
    Ok(Samples::new(npy.into_vec::<f64>()?, shape[1] as usize)?)
}

/// scikit-learn's record for (`dataset`, `k`) from `sklearn_results.jsonl`.
fn sklearn_record(dir: &Path, dataset: &str, k: usize) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join("sklearn_results.jsonl")).ok()?;
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|r| r["dataset"] == dataset && r["k"] == k)
}

fn run(name: &str, x: &Samples, k: usize, args: &Args) -> Result<(), AnyError> {
    let options = FitOptions {
        tol: args.tol,
        max_iter: args.max_iter,
        init: Init::Sklearn {
            noise_variance: None,
        },
        ..FitOptions::default()
    };
    let start = Instant::now();
    let (fa, report) = FactorAnalysis::fit(x, k, &options)?;
    let wall = start.elapsed().as_secs_f64();
    let ours = fa.score(x)?;
    let record = json!({
        "impl": "blockgibbs",
        "dataset": name,
        "k": k,
        "avg_log_likelihood": ours,
        "iterations": report.iterations,
        "converged": report.converged,
        "wall_s": wall,
        "ms_per_iter": 1000.0 * wall / report.iterations as f64,
    });
    println!("{record}");
    let Some(dir) = &args.sklearn_dir else {
        return Ok(());
    };
    let path = dir.join(format!("sklearn_{name}_k{k}.safetensors"));
    if !path.exists() {
        eprintln!("{}: missing, no comparison", path.display());
        return Ok(());
    }
    let theirs = FactorAnalysis::load(&path)?;
    let their_ll_by_us = theirs.score(x)?;
    let (a, b) = (fa.get_covariance()?, theirs.get_covariance()?);
    let cov_diff = a
        .iter()
        .zip(&b)
        .map(|(u, v)| (u - v).abs())
        .fold(0.0, f64::max);
    let their = sklearn_record(dir, name, k);
    let their_ll = their
        .as_ref()
        .and_then(|r| r["avg_log_likelihood"].as_f64());
    let compare = json!({
        "compare": format!("{name} k={k}"),
        "ours": ours,
        "sklearn_own_score": their_ll,
        "sklearn_params_scored_by_us": their_ll_by_us,
        "scoring_rel_diff": their_ll.map(|t| (t - their_ll_by_us).abs() / t.abs()),
        "fit_rel_diff": their_ll.map(|t| (ours - t).abs() / t.abs()),
        "max_abs_covariance_diff": cov_diff,
        "sklearn_iterations": their.as_ref().map(|r| r["iterations"].clone()),
        "sklearn_ms_per_iter": their.as_ref().map(|r| r["ms_per_iter"].clone()),
    });
    println!("{compare}");
    Ok(())
}

fn main() -> Result<(), AnyError> {
    let args = parse_args()?;
    let digits = digits()?;
    let pixels: Vec<f64> = digits.pixels.iter().map(|&p| f64::from(p)).collect();
    let x = Samples::new(pixels, DIGITS_PIXELS)?;
    for k in [2, 10] {
        run("digits", &x, k, &args)?;
    }
    if let Some(path) = &args.iris {
        let iris = read_npy(path)?;
        for k in [1, 2] {
            run("iris", &iris, k, &args)?;
        }
    }
    Ok(())
}
