//! Our `GaussianMixture` beside scikit-learn's, from the same initial parameters: reads what
//! `scripts/sklearn_mixture.py` wrote (the data, the initial weights/means/precisions of every
//! run, scikit-learn's results and labels), fits each run with the same options, and prints
//! the final average log-likelihood of both with their relative difference, the adjusted Rand
//! index of the two clusterings and against the true labels, iterations, and the median wall
//! time per EM iteration of both.
//!
//! ```text
//! python scripts/sklearn_mixture.py --out target/mixture_bench
//! cargo run --release -p blockgibbs-models --example mixture_bench -- target/mixture_bench [--repeats 5]
//! ```
//!
//! (`scripts/sklearn_mixture.sh` runs both.) Results also go to `OUT/ours.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use blockgibbs_models::expfam::CovarianceType;
use blockgibbs_models::mixture::{
    GaussianMixture, GaussianMixtureOptions, MixtureFit, adjusted_rand_index,
};
use blockgibbs_models::samples::Samples;
use serde_json::{Value, json};

type AnyError = Box<dyn std::error::Error>;

/// A float64 or int64 `.npy` array: its shape and values as `f64`.
fn read_npy(path: &Path) -> Result<(Vec<usize>, Vec<f64>), AnyError> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = npyz::NpyFile::new(&bytes[..])?;
    let shape: Vec<usize> = file.shape().iter().map(|&s| s as usize).collect();
    if file.order() != npyz::Order::C {
        return Err(format!("{}: expected C order", path.display()).into());
    }
    let values = match file.dtype().descr().trim_matches('\'') {
        "<f8" => file.into_vec::<f64>()?,
        "<i8" => file
            .into_vec::<i64>()?
            .into_iter()
            .map(|v| v as f64)
            .collect(),
        other => return Err(format!("{}: unsupported dtype {other}", path.display()).into()),
    };
    Ok((shape, values))
}

fn read_labels(path: &Path) -> Result<Vec<usize>, AnyError> {
    Ok(read_npy(path)?.1.into_iter().map(|v| v as usize).collect())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let m = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[m]
    } else {
        0.5 * (xs[m - 1] + xs[m])
    }
}

struct Args {
    out: PathBuf,
    repeats: usize,
}

fn parse_args() -> Result<Args, AnyError> {
    let mut out = None;
    let mut repeats = 5;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--repeats" => {
                let v = it.next().ok_or("--repeats needs a value")?;
                repeats = v.parse().map_err(|e| format!("--repeats `{v}`: {e}"))?;
            }
            _ if out.is_none() && !a.starts_with('-') => out = Some(PathBuf::from(a)),
            _ => return Err(format!("unexpected argument `{a}`").into()),
        }
    }
    let out = out.ok_or("usage: mixture_bench OUT_DIR [--repeats N]")?;
    Ok(Args {
        out,
        repeats: repeats.max(1),
    })
}

fn field<'a>(run: &'a Value, key: &str) -> Result<&'a Value, AnyError> {
    run.get(key)
        .ok_or_else(|| format!("sklearn.json: run without `{key}`").into())
}

fn main() -> Result<(), AnyError> {
    let args = parse_args()?;
    let summary: Value = serde_json::from_slice(
        &std::fs::read(args.out.join("sklearn.json"))
            .map_err(|e| format!("{}/sklearn.json: {e}", args.out.display()))?,
    )?;
    let runs = summary["runs"].as_array().ok_or("sklearn.json: no runs")?;
    println!(
        "{:22} {:>16} {:>16} {:>9} {:>7} {:>7} {:>7} {:>9} {:>10} {:>10}",
        "run",
        "score (ours)",
        "score (sklearn)",
        "rel.diff",
        "ARI",
        "ARI/true",
        "iters",
        "(sklearn)",
        "ms/it ours",
        "ms/it skl"
    );
    let mut results = Vec::new();
    let mut worst: f64 = 0.0;
    for run in runs {
        let name = field(run, "name")?.as_str().ok_or("name")?;
        let dataset = field(run, "dataset")?.as_str().ok_or("dataset")?;
        let ty = CovarianceType::parse(field(run, "covariance_type")?.as_str().ok_or("type")?)
            .ok_or("unknown covariance type")?;
        let (x_shape, x_values) = read_npy(&args.out.join(format!("{dataset}_x.npy")))?;
        let x = Samples::new(x_values, x_shape[1])?;
        let truth = read_labels(&args.out.join(format!("{dataset}_labels.npy")))?;
        let dir = args.out.join(name);
        let options = GaussianMixtureOptions {
            covariance_type: ty,
            tol: field(run, "tol")?.as_f64().ok_or("tol")?,
            reg_covar: field(run, "reg_covar")?.as_f64().ok_or("reg_covar")?,
            max_iter: field(run, "max_iter")?.as_u64().ok_or("max_iter")? as usize,
            weights_init: Some(read_npy(&dir.join("weights.npy"))?.1),
            means_init: Some(read_npy(&dir.join("means.npy"))?.1),
            precisions_init: Some(read_npy(&dir.join("precisions.npy"))?.1),
            ..GaussianMixtureOptions::new(field(run, "n_components")?.as_u64().ok_or("K")? as usize)
        };
        let mut times = Vec::with_capacity(args.repeats);
        let mut fit: Option<MixtureFit> = None;
        for _ in 0..args.repeats {
            let t0 = Instant::now();
            let f = GaussianMixture::fit(&x, &options).map_err(|e| format!("{name}: {e}"))?;
            times.push(t0.elapsed().as_secs_f64());
            fit = Some(f);
        }
        let fit = fit.expect("at least one repeat");
        let ours = fit.model.score(&x)?;
        let theirs = field(run, "score")?.as_f64().ok_or("score")?;
        let rel = (ours - theirs).abs() / theirs.abs();
        worst = worst.max(rel);
        let sklearn_labels = read_labels(&dir.join("sklearn_labels.npy"))?;
        let ari = adjusted_rand_index(&fit.labels, &sklearn_labels).ok_or("label counts differ")?;
        let ari_truth = adjusted_rand_index(&fit.labels, &truth).ok_or("label counts differ")?;
        let per_iter = median(times.clone()) / fit.report.n_iter.max(1) as f64;
        let theirs_per_iter = field(run, "seconds_per_iter")?.as_f64().ok_or("time")?;
        let sk_iter = field(run, "n_iter")?.as_u64().ok_or("n_iter")?;
        println!(
            "{name:22} {ours:>16.10} {theirs:>16.10} {rel:>9.1e} {ari:>7.4} {ari_truth:>7.4} {:>7} {sk_iter:>9} {:>10.3} {:>10.3}",
            fit.report.n_iter,
            per_iter * 1e3,
            theirs_per_iter * 1e3
        );
        results.push(json!({
            "name": name,
            "score": ours,
            "sklearn_score": theirs,
            "relative_difference": rel,
            "lower_bound": fit.report.lower_bound,
            "n_iter": fit.report.n_iter,
            "converged": fit.report.converged,
            "ari_sklearn": ari,
            "ari_truth": ari_truth,
            "seconds_per_iter": per_iter,
            "fit_seconds": times,
            "sklearn_seconds_per_iter": theirs_per_iter,
        }));
    }
    println!("largest relative difference of the final average log-likelihood: {worst:.2e}");
    let out = json!({ "threads": rayon::current_num_threads(), "runs": results });
    std::fs::write(
        args.out.join("ours.json"),
        serde_json::to_string_pretty(&out)? + "\n",
    )?;
    println!("wrote {}/ours.json", args.out.display());
    Ok(())
}
