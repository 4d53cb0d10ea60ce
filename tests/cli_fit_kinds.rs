//! `fit`/`score` for factor analysis, PPCA and HMoG through the kinds' extension point: the
//! saved model, the JSON line and the scored arrays against an independent Gaussian density
//! and posterior mean (a Cholesky factorisation written here), internal consistency of the
//! HMoG's assignments, and the kinds' option and data checks.

mod cli_fit_support;

use blockgibbs::models::io::ModelIo;
use blockgibbs::models::lgm::{FactorAnalysis, Ppca};
use cli_fit_support::*;
use std::path::Path;

/// Lower Cholesky factor of a small symmetric positive-definite `d × d` matrix.
fn cholesky(c: &[f64], d: usize) -> Vec<f64> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * d + k] * l[j * d + k]).sum();
            l[i * d + j] = if i == j {
                (c[i * d + i] - s).sqrt()
            } else {
                (c[i * d + j] - s) / l[j * d + j]
            };
        }
    }
    l
}

/// `C⁻¹ v` through the Cholesky factor `l`.
fn solve(l: &[f64], d: usize, v: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; d];
    for i in 0..d {
        y[i] = (v[i] - (0..i).map(|k| l[i * d + k] * y[k]).sum::<f64>()) / l[i * d + i];
    }
    let mut x = vec![0.0; d];
    for i in (0..d).rev() {
        x[i] = (y[i] - (i + 1..d).map(|k| l[k * d + i] * x[k]).sum::<f64>()) / l[i * d + i];
    }
    x
}

/// `log N(x; μ, C)` of every row, and `Aᵀ C⁻¹ (x − μ)` (the posterior mean of a factor
/// model with prior N(0, I)) with loadings `a` (`d × k` row-major).
fn gaussian_reference(
    rows: &[Vec<f64>],
    mean: &[f64],
    cov: &[f64],
    a: &[f64],
    k: usize,
) -> (Vec<f64>, Vec<f64>) {
    let d = mean.len();
    let l = cholesky(cov, d);
    let log_det: f64 = (0..d).map(|i| 2.0 * l[i * d + i].ln()).sum();
    let mut log_p = Vec::new();
    let mut z = Vec::new();
    for x in rows {
        let r: Vec<f64> = x.iter().zip(mean).map(|(x, m)| x - m).collect();
        let w = solve(&l, d, &r);
        let quad: f64 = r.iter().zip(&w).map(|(a, b)| a * b).sum();
        log_p.push(-0.5 * (d as f64 * (2.0 * std::f64::consts::PI).ln() + log_det + quad));
        z.extend((0..k).map(|j| (0..d).map(|i| a[i * k + j] * w[i]).sum::<f64>()));
    }
    (log_p, z)
}

/// Writes `n` samples of a planted 1-factor model in 3 features as `.npy`; returns rows.
fn planted(path: &Path, n: usize) -> Vec<Vec<f64>> {
    let truth = FactorAnalysis::new(
        vec![1.0, -2.0, 0.5],
        vec![1.0, 0.8, -0.6],
        1,
        vec![0.2, 0.3, 0.4],
    )
    .unwrap();
    let x = truth.sample(n, 11).unwrap();
    write_npy(path, &[n as u64, 3], false, x.as_slice());
    x.iter_rows().map(<[f64]>::to_vec).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + b.abs())
}

#[test]
fn fa_and_ppca_report_and_score_the_exact_gaussian_density() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("x.npy");
    let rows = planted(&data, 400);
    for kind in ["fa", "ppca"] {
        let model = dir.path().join(format!("{kind}.safetensors"));
        let v = json_line(&blockgibbs(&[
            "fit",
            kind,
            arg(&data),
            "--latent-dim",
            "1",
            "--out",
            arg(&model),
        ]));
        assert_eq!(v["model"], kind);
        assert_eq!(v["log_likelihood_method"], "exact");
        assert_eq!(v["converged"], true);
        assert!(v["iterations"].as_u64().unwrap() >= 1);
        let (mean, cov, a) = if kind == "fa" {
            let m = FactorAnalysis::load(&model).unwrap();
            (
                m.mean().to_vec(),
                m.get_covariance().unwrap(),
                m.loadings().to_vec(),
            )
        } else {
            let m = Ppca::load(&model).unwrap();
            (
                m.mean().to_vec(),
                m.get_covariance().unwrap(),
                m.loadings().to_vec(),
            )
        };
        let (log_p, z) = gaussian_reference(&rows, &mean, &cov, &a, 1);
        let avg = log_p.iter().sum::<f64>() / rows.len() as f64;
        let reported = v["avg_log_likelihood"].as_f64().unwrap();
        assert!(close(reported, avg), "{kind}: {reported} vs {avg}");

        let out = dir.path().join(kind);
        std::fs::create_dir(&out).unwrap();
        let s = json_line(&blockgibbs(&[
            "score",
            arg(&model),
            arg(&data),
            "--out-dir",
            arg(&out),
        ]));
        assert!(close(s["avg_log_likelihood"].as_f64().unwrap(), avg));
        assert_eq!(dir_names(&out), ["latent_mean.npy", "log_prob.npy"]);
        let (_, _, got) = read_npy(&out.join("log_prob.npy"));
        assert!(got.iter().zip(&log_p).all(|(g, w)| close(*g, *w)));
        let (shape, _, got) = read_npy(&out.join("latent_mean.npy"));
        assert_eq!(shape, [400, 1]);
        assert!(
            got.iter().zip(&z).all(|(g, w)| close(*g, *w)),
            "{kind} E[z|x]"
        );
    }
}

#[test]
fn hmog_writes_consistent_assignments() {
    let dir = tempfile::tempdir().unwrap();
    // Two well separated clusters along a 1-D factor in 3 features.
    let rows: Vec<f64> = (0..120)
        .flat_map(|i| {
            let c = if i % 2 == 0 { -4.0 } else { 4.0 };
            let t = c + ((i * 37 % 17) as f64 / 17.0 - 0.5);
            let e = |s: usize| ((i * s % 13) as f64 / 13.0 - 0.5) * 0.3;
            [t + e(3), 0.5 * t + e(5), -t + e(7)]
        })
        .collect();
    let data = dir.path().join("x.npy");
    write_npy(&data, &[120, 3], false, &rows);
    let model = dir.path().join("h.safetensors");
    let v = json_line(&blockgibbs(&[
        "fit",
        "hmog",
        arg(&data),
        "--components",
        "2",
        "--latent-dim",
        "1",
        "--max-iter",
        "100",
        "--out",
        arg(&model),
    ]));
    assert_eq!(
        (v["model"].as_str(), v["file_kind"].as_str()),
        (Some("hmog"), Some("hmog"))
    );
    assert_eq!(v["components"], 2);
    let out = dir.path().join("s");
    std::fs::create_dir(&out).unwrap();
    let s = json_line(&blockgibbs(&[
        "score",
        arg(&model),
        arg(&data),
        "--out-dir",
        arg(&out),
    ]));
    assert!(close(
        s["avg_log_likelihood"].as_f64().unwrap(),
        v["avg_log_likelihood"].as_f64().unwrap()
    ));
    let (shape, _, proba) = read_npy(&out.join("proba.npy"));
    assert_eq!(shape, [120, 2]);
    let (shape, descr, labels) = read_npy(&out.join("labels.npy"));
    assert_eq!((shape.as_slice(), descr.as_str()), (&[120u64][..], "'<i8'"));
    for (p, l) in proba.chunks_exact(2).zip(&labels) {
        assert!((p[0] + p[1] - 1.0).abs() < 1e-12);
        assert_eq!(*l, if p[1] > p[0] { 1.0 } else { 0.0 });
    }
    // The clusters are recovered: every sample of a cluster shares its label.
    let even = labels[0];
    for (i, l) in labels.iter().enumerate() {
        assert_eq!(*l == even, i % 2 == 0, "sample {i}");
    }
}

#[test]
fn the_new_kinds_check_options_and_sample_counts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("x.npy");
    planted(&data, 4);
    let out = dir.path().join("m.safetensors");
    let run = |extra: &[&str]| {
        let mut args = vec!["fit"];
        args.extend(extra);
        args.extend([arg(&data), "--out", arg(&out)]);
        blockgibbs(&args)
    };
    assert_fails(
        &run(&["fa", "--components", "2"]),
        2,
        &["--components", "--latent-dim"],
    );
    assert_fails(&run(&["ppca", "--seed", "1"]), 2, &["--seed", "not random"]);
    assert_fails(
        &run(&["hmog", "--latent-dim", "1"]),
        2,
        &["`fit hmog` needs --components"],
    );
    assert_fails(
        &run(&["fa", "--latent-dim", "4"]),
        1,
        &["4 samples", "needs at least 5"],
    );
    assert_fails(
        &run(&["hmog", "--latent-dim", "1", "--components", "5"]),
        1,
        &["x.npy: 4 samples; an hmog of 5 components needs at least 5"],
    );
    assert!(!out.exists());
}

#[test]
fn gmm_reports_the_exact_mixture_density_and_consistent_assignments() {
    use blockgibbs::models::mixture::GaussianMixture;
    let dir = tempfile::tempdir().unwrap();
    // Two clusters in 2-D, deterministic jitter.
    let rows: Vec<f64> = (0..120)
        .flat_map(|i| {
            let c = if i % 2 == 0 { -3.0 } else { 3.0 };
            let e = |s: usize| ((i * s % 17) as f64 / 17.0 - 0.5) * 1.2;
            [c + e(5), 0.5 * c + e(11)]
        })
        .collect();
    let data = dir.path().join("x.npy");
    write_npy(&data, &[120, 2], false, &rows);
    let model = dir.path().join("g.safetensors");
    let v = json_line(&blockgibbs(&[
        "fit",
        "gmm",
        arg(&data),
        "--components",
        "2",
        "--covariance",
        "diag",
        "--out",
        arg(&model),
    ]));
    assert_eq!(v["file_kind"].as_str(), Some("gaussian_mixture"));
    // The reported average is the diagonal-Gaussian mixture density written out.
    let gm = GaussianMixture::load(&model).unwrap();
    let var = gm.covariance();
    let mut total = 0.0;
    for x in rows.chunks_exact(2) {
        let p: f64 = (0..2)
            .map(|k| {
                gm.weights()[k]
                    * (0..2)
                        .map(|j| {
                            let s2 = var[k * 4 + j * 2 + j];
                            (-(x[j] - gm.mean(k)[j]).powi(2) / (2.0 * s2)).exp()
                                / (2.0 * std::f64::consts::PI * s2).sqrt()
                        })
                        .product::<f64>()
            })
            .sum();
        total += p.ln();
    }
    assert!(close(
        v["avg_log_likelihood"].as_f64().unwrap(),
        total / 120.0
    ));
    let out = dir.path().join("s");
    std::fs::create_dir(&out).unwrap();
    blockgibbs(&["score", arg(&model), arg(&data), "--out-dir", arg(&out)]);
    let (shape, _, proba) = read_npy(&out.join("proba.npy"));
    assert_eq!(shape, [120, 2]);
    let (_, _, labels) = read_npy(&out.join("labels.npy"));
    for (i, (p, l)) in proba.chunks_exact(2).zip(&labels).enumerate() {
        assert!((p[0] + p[1] - 1.0).abs() < 1e-12);
        assert_eq!(*l, if p[1] > p[0] { 1.0 } else { 0.0 });
        assert_eq!(*l == labels[0], i % 2 == 0, "sample {i}");
    }
    // Options a mixture does not read, and more components than samples.
    assert_fails(
        &blockgibbs(&[
            "fit",
            "gmm",
            arg(&data),
            "--components",
            "2",
            "--latent-dim",
            "3",
        ]),
        2,
        &["--latent-dim"],
    );
    assert_fails(
        &blockgibbs(&[
            "fit",
            "gmm",
            arg(&data),
            "--components",
            "500",
            "--out",
            arg(&model),
        ]),
        1,
        &["500"],
    );
}
