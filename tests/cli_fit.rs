//! `blockgibbs fit` and `blockgibbs score` end to end on binary RBMs: the JSON lines, the
//! saved model and the scored arrays against exact enumeration, CSV and .npy giving the
//! same fit, AIS beyond the exact limit, and atomic outputs that never replace an input.

mod cli_fit_support;

use cli_fit_support::*;
use std::path::Path;

/// `fit rbm` options shared by the round-trip tests: small, fixed seed, few epochs.
const RBM: [&str; 8] = [
    "--latent-dim",
    "2",
    "--max-iter",
    "30",
    "--learning-rate",
    "0.3",
    "--batch-size",
    "10",
];

/// The rows of [`block_data`] as f64 vectors.
fn rows_f64(rows: &[[u8; 4]]) -> Vec<Vec<f64>> {
    rows.iter()
        .map(|r| r.iter().map(|&x| x as f64).collect())
        .collect()
}

#[test]
fn fit_rbm_on_csv_reports_the_exact_likelihood_of_the_saved_model() {
    let dir = tempfile::tempdir().unwrap();
    let rows = block_data(70);
    let csv = dir.path().join("blocks.csv");
    std::fs::write(&csv, to_csv(&rows)).unwrap();
    let model = dir.path().join("m.safetensors");
    let json = dir.path().join("fit.json");
    let mut args = vec![
        "fit",
        "rbm",
        arg(&csv),
        "--out",
        arg(&model),
        "--json",
        arg(&json),
    ];
    args.extend(RBM);
    let o = blockgibbs(&args);
    let v = json_line(&o);
    assert!(
        stderr(&o).is_empty(),
        "no bar without a terminal: {}",
        stderr(&o)
    );

    // Every documented field, with the values this run must have.
    assert_eq!(v["model"], "rbm");
    assert_eq!(v["file_kind"], "binary_rbm");
    assert_eq!(v["iterations"], 30);
    assert!(
        v["converged"].is_null(),
        "rbm training has no convergence test"
    );
    assert_eq!(v["samples"], 70);
    assert_eq!(v["features"], 4);
    assert_eq!(v["out"], arg(&model));
    assert_eq!(v["data"], arg(&csv));
    assert_eq!(v["log_likelihood_method"], "exact");
    assert!(v["log_likelihood_std_err"].is_null());
    assert!(v["seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(v["latent_dim"], 2);
    assert_eq!(v["seed"], 0);

    // The reported average is the exact one of the saved model, by brute force over the
    // 2⁶ joint states.
    let rbm = load_rbm(&model);
    assert_eq!((rbm.n_visible(), rbm.n_hidden()), (4, 2));
    let exact = brute_force_log_probs(&rbm, &rows_f64(&rows));
    let mean = exact.iter().sum::<f64>() / exact.len() as f64;
    let reported = v["avg_log_likelihood"].as_f64().unwrap();
    assert!(
        (reported - mean).abs() <= 1e-10 * mean.abs(),
        "{reported} vs {mean}"
    );
    // Training happened: the uniform model scores 4 ln ½ = −2.77 per sample. And no model
    // can beat the empirical distribution: the average is at most minus its entropy.
    assert!(reported > -2.0, "{reported}");
    let mut counts = std::collections::HashMap::new();
    for r in &rows {
        *counts.entry(r).or_insert(0usize) += 1;
    }
    let entropy: f64 = counts
        .values()
        .map(|&c| {
            let p = c as f64 / rows.len() as f64;
            -p * p.ln()
        })
        .sum();
    assert!(
        reported <= -entropy + 1e-12,
        "{reported} vs −H = {}",
        -entropy
    );

    // `--json` holds the same line; nothing else is left in the directory.
    let file = std::fs::read_to_string(&json).unwrap();
    assert_eq!(file, stdout(&o));
    assert_eq!(
        dir_names(dir.path()),
        ["blocks.csv", "fit.json", "m.safetensors"]
    );
}

#[test]
fn csv_and_every_npy_form_of_the_same_data_give_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let rows = block_data(40);
    let flat: Vec<f64> = rows.iter().flatten().map(|&x| x as f64).collect();
    let column_major: Vec<u8> = (0..4)
        .flat_map(|c| rows.iter().map(move |r| r[c]))
        .collect();
    let csv = dir.path().join("d.csv");
    std::fs::write(&csv, to_csv(&rows)).unwrap();
    let f64_c = dir.path().join("c.npy");
    write_npy(&f64_c, &[40, 4], false, &flat);
    let u8_f = dir.path().join("f.npy");
    write_npy(&u8_f, &[40, 4], true, &column_major);
    let bools: Vec<bool> = flat.iter().map(|&x| x == 1.0).collect();
    let bool_c = dir.path().join("b.NPY");
    write_npy(&bool_c, &[40, 4], false, &bools);

    let mut models = Vec::new();
    let mut averages = Vec::new();
    for (i, data) in [&csv, &f64_c, &u8_f, &bool_c].iter().enumerate() {
        let out = dir.path().join(format!("m{i}.safetensors"));
        let mut args = vec!["fit", "rbm", arg(data), "--out", arg(&out), "--seed", "3"];
        args.extend(RBM);
        let v = json_line(&blockgibbs(&args));
        assert_eq!(
            (v["samples"].as_u64(), v["features"].as_u64()),
            (Some(40), Some(4))
        );
        averages.push(v["avg_log_likelihood"].as_f64().unwrap());
        models.push(std::fs::read(&out).unwrap());
    }
    assert!(
        models.windows(2).all(|w| w[0] == w[1]),
        "identical model files"
    );
    assert!(averages.windows(2).all(|w| w[0] == w[1]), "{averages:?}");
}

#[test]
fn score_writes_exact_log_probs_and_hidden_posteriors() {
    let dir = tempfile::tempdir().unwrap();
    let rows = block_data(35);
    let csv = dir.path().join("train.csv");
    std::fs::write(&csv, to_csv(&rows)).unwrap();
    let model = dir.path().join("m.safetensors");
    let mut args = vec!["fit", "rbm", arg(&csv), "--out", arg(&model)];
    args.extend(RBM);
    let fitted = json_line(&blockgibbs(&args));

    // Score every one of the 16 visible states (as .npy) and the training data (as CSV).
    let all: Vec<Vec<f64>> = (0..16u32)
        .map(|s| (0..4).map(|k| ((s >> k) & 1) as f64).collect())
        .collect();
    let states = dir.path().join("states.npy");
    write_npy(&states, &[16, 4], false, &all.concat());
    let out = dir.path().join("scores");
    std::fs::create_dir(&out).unwrap();
    let json = dir.path().join("score.json");
    let o = blockgibbs(&[
        "score",
        arg(&model),
        arg(&states),
        "--out-dir",
        arg(&out),
        "--json",
        arg(&json),
    ]);
    let v = json_line(&o);
    assert_eq!(std::fs::read_to_string(&json).unwrap(), stdout(&o));
    assert_eq!(v["model"], "binary_rbm");
    assert_eq!(v["log_likelihood_method"], "exact");
    assert!(v["log_likelihood_std_err"].is_null());
    assert_eq!(
        (v["samples"].as_u64(), v["features"].as_u64()),
        (Some(16), Some(4))
    );
    assert_eq!(v["model_file"], arg(&model));
    assert_eq!(v["files"]["log_prob"], arg(&out.join("log_prob.npy")));
    assert_eq!(
        v["files"]["hidden_probs"],
        arg(&out.join("hidden_probs.npy"))
    );
    assert_eq!(dir_names(&out), ["hidden_probs.npy", "log_prob.npy"]);

    let rbm = load_rbm(&model);
    let (shape, descr, log_prob) = read_npy(&out.join("log_prob.npy"));
    assert_eq!((shape.as_slice(), descr.as_str()), (&[16u64][..], "'<f8'"));
    let exact = brute_force_log_probs(&rbm, &all);
    for (got, want) in log_prob.iter().zip(&exact) {
        assert!((got - want).abs() <= 1e-10 * want.abs(), "{got} vs {want}");
    }
    // A distribution over all 16 states sums to one.
    let total: f64 = log_prob.iter().map(|l| l.exp()).sum();
    assert!((total - 1.0).abs() < 1e-12, "{total}");
    let mean = log_prob.iter().sum::<f64>() / 16.0;
    assert_eq!(v["avg_log_likelihood"].as_f64().unwrap(), mean);

    let (shape, _, hidden) = read_npy(&out.join("hidden_probs.npy"));
    assert_eq!(shape, [16, 2]);
    for (s, v) in all.iter().enumerate() {
        for (got, want) in hidden[2 * s..2 * s + 2].iter().zip(hidden_probs(&rbm, v)) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }

    // Scoring the training data reproduces the fitted average exactly.
    let o = blockgibbs(&["score", arg(&model), arg(&csv), "--out-dir", arg(&out)]);
    let v = json_line(&o);
    assert_eq!(v["avg_log_likelihood"], fitted["avg_log_likelihood"]);
    let (shape, _, _) = read_npy(&out.join("log_prob.npy"));
    assert_eq!(shape, [35]);
}

#[test]
fn beyond_the_exact_limit_the_likelihood_is_labelled_ais_and_agrees_with_enumeration() {
    let dir = tempfile::tempdir().unwrap();
    // 21 visible × 21 hidden: both layers exceed the enumeration limit of 20.
    let n = 21;
    let rows: Vec<f64> = (0..60)
        .flat_map(|r| (0..n).map(move |c| ((r + c) % 3 == 0 || c < r % 5) as u8 as f64))
        .collect();
    let data = dir.path().join("wide.npy");
    write_npy(&data, &[60, n as u64], false, &rows);
    let model = dir.path().join("m.safetensors");
    let v = json_line(&blockgibbs(&[
        "fit",
        "rbm",
        arg(&data),
        "--out",
        arg(&model),
        "--latent-dim",
        "21",
        "--max-iter",
        "20",
        "--learning-rate",
        "0.2",
        "--seed",
        "5",
    ]));
    assert_eq!(v["log_likelihood_method"], "ais");
    let se = v["log_likelihood_std_err"].as_f64().unwrap();
    assert!(se.is_finite() && se >= 0.0, "{se}");
    let rbm = load_rbm(&model);
    // Exact log Z over the 2²¹ visible states; the free energies are exact either way.
    let exact_log_z = visible_enumeration_log_z(&rbm);
    let ais_log_z = v["log_z"].as_f64().unwrap();
    assert!(
        (ais_log_z - exact_log_z).abs() <= 5.0 * se + 1e-9,
        "AIS {ais_log_z} ± {se} vs exact {exact_log_z}"
    );
    let avg = v["avg_log_likelihood"].as_f64().unwrap();
    // log p averages shift by exactly the log Z difference.
    let o = blockgibbs(&[
        "score",
        arg(&model),
        arg(&data),
        "--out-dir",
        arg(dir.path()),
        "--seed",
        "5",
    ]);
    let s = json_line(&o);
    assert_eq!(s["log_likelihood_method"], "ais");
    assert_eq!(s["avg_log_likelihood"].as_f64().unwrap(), avg);
    let exact_avg = avg + ais_log_z - exact_log_z;
    assert!((avg - exact_avg).abs() <= 5.0 * se + 1e-9);
}

#[test]
fn the_default_model_path_is_the_data_stem_in_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    std::fs::create_dir(&data_dir).unwrap();
    let csv = data_dir.join("blocks.csv");
    std::fs::write(&csv, to_csv(&block_data(20))).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let mut args = vec!["fit", "rbm", arg(&csv), "--quiet"];
    args.extend(RBM);
    let v = json_line(&blockgibbs_in(Some(&work), &args));
    assert_eq!(v["out"], "blocks.rbm.safetensors");
    assert_eq!(dir_names(&work), ["blocks.rbm.safetensors"]);
    assert_eq!(dir_names(&data_dir), ["blocks.csv"]);
    // `score` writes into the current directory by default.
    let o = blockgibbs_in(Some(&work), &["score", "blocks.rbm.safetensors", arg(&csv)]);
    let v = json_line(&o);
    assert_eq!(v["files"]["log_prob"], "./log_prob.npy");
    assert_eq!(
        dir_names(&work),
        ["blocks.rbm.safetensors", "hidden_probs.npy", "log_prob.npy"]
    );
}

#[test]
fn outputs_never_replace_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    let text = to_csv(&block_data(20));
    std::fs::write(&csv, &text).unwrap();
    let unchanged = |p: &Path| assert_eq!(std::fs::read_to_string(p).unwrap(), text);
    let link = dir.path().join("link.csv");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&csv, &link).unwrap();
    let dotted = dir.path().join(".").join("d.csv");
    let mut targets = vec![csv.clone(), dotted];
    if cfg!(unix) {
        targets.push(link);
    }
    for target in &targets {
        let elsewhere = dir.path().join("m.safetensors");
        for flag in ["--out", "--json"] {
            let mut args = vec!["fit", "rbm", arg(&csv), flag, arg(target)];
            if flag == "--json" {
                args.extend(["--out", arg(&elsewhere)]);
            }
            args.extend(RBM);
            assert_fails(
                &blockgibbs(&args),
                2,
                &[flag, "refusing to overwrite", "data file"],
            );
            unchanged(&csv);
        }
    }
    // `--out` and `--json` naming one file.
    let same = dir.path().join("m.safetensors");
    let mut args = vec![
        "fit",
        "rbm",
        arg(&csv),
        "--out",
        arg(&same),
        "--json",
        arg(&same),
    ];
    args.extend(RBM);
    assert_fails(&blockgibbs(&args), 2, &["--out and --json"]);
    // A missing output directory is found before fitting.
    let lost = dir.path().join("no/such/dir/m.safetensors");
    let mut args = vec!["fit", "rbm", arg(&csv), "--out", arg(&lost)];
    args.extend(RBM);
    assert_fails(
        &blockgibbs(&args),
        1,
        &["no/such/dir", "directory does not exist"],
    );

    // score: a data file or a model file named like an output in --out-dir is refused.
    let model = dir.path().join("m.safetensors");
    let mut args = vec!["fit", "rbm", arg(&csv), "--out", arg(&model)];
    args.extend(RBM);
    json_line(&blockgibbs(&args));
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let data_as_output = out.join("log_prob.npy");
    let rows: Vec<f64> = block_data(20).iter().flatten().map(|&x| x as f64).collect();
    write_npy(&data_as_output, &[20, 4], false, &rows);
    let before = std::fs::read(&data_as_output).unwrap();
    let o = blockgibbs(&[
        "score",
        arg(&model),
        arg(&data_as_output),
        "--out-dir",
        arg(&out),
    ]);
    assert_fails(
        &o,
        2,
        &["log_prob.npy", "refusing to overwrite", "data file"],
    );
    assert_eq!(std::fs::read(&data_as_output).unwrap(), before);
    let model_as_output = out.join("hidden_probs.npy");
    std::fs::copy(&model, &model_as_output).unwrap();
    let o = blockgibbs(&[
        "score",
        arg(&model_as_output),
        arg(&csv),
        "--out-dir",
        arg(&out),
    ]);
    assert_fails(&o, 2, &["hidden_probs.npy", "model file"]);
    assert_eq!(dir_names(&out), ["hidden_probs.npy", "log_prob.npy"]);
    assert_eq!(
        std::fs::read(&model_as_output).unwrap(),
        std::fs::read(&model).unwrap()
    );
    let o = blockgibbs(&["score", arg(&model), arg(&csv), "--out-dir", arg(&lost)]);
    assert_fails(&o, 1, &["directory does not exist"]);
}

#[test]
fn a_failed_fit_leaves_an_earlier_model_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    std::fs::write(&csv, to_csv(&block_data(20))).unwrap();
    let model = dir.path().join("m.safetensors");
    let mut args = vec!["fit", "rbm", arg(&csv), "--out", arg(&model)];
    args.extend(RBM);
    json_line(&blockgibbs(&args));
    let before = std::fs::read(&model).unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "1,0,1,0\n0,1,0.5,1\n").unwrap();
    let mut args = vec!["fit", "rbm", arg(&bad), "--out", arg(&model)];
    args.extend(RBM);
    assert_fails(
        &blockgibbs(&args),
        1,
        &["bad.csv", "line 2, column 3", "binary"],
    );
    assert_eq!(std::fs::read(&model).unwrap(), before);
    assert_eq!(dir_names(dir.path()), ["bad.csv", "d.csv", "m.safetensors"]);
}

#[test]
fn fit_rbm_writes_the_same_bytes_on_the_reference_and_the_jit_backend() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("blocks.csv");
    std::fs::write(&csv, to_csv(&block_data(40))).unwrap();
    // 21 × 21 units past the enumeration limit: AIS runs on the backend asked for too.
    let n = 21;
    let rows: Vec<f64> = (0..30)
        .flat_map(|r| (0..n).map(move |c| ((r + c) % 3 == 0 || c < r % 5) as u8 as f64))
        .collect();
    let wide = dir.path().join("wide.npy");
    write_npy(&wide, &[30, n as u64], false, &rows);
    let small = ["--latent-dim", "2", "--max-iter", "5", "--batch-size", "10"];
    let large = ["--latent-dim", "21", "--max-iter", "2"];
    for (data, options, method) in [(&csv, &small[..], "exact"), (&wide, &large[..], "ais")] {
        let fit = |backend: &str| {
            let model = dir.path().join(format!("{backend}.safetensors"));
            let mut args = vec!["fit", "rbm", arg(data), "--out", arg(&model)];
            args.extend(["--seed", "4", "--backend", backend]);
            args.extend(options);
            let v = json_line(&blockgibbs(&args));
            (std::fs::read(&model).unwrap(), v)
        };
        let (reference, r) = fit("reference");
        let (jit, j) = fit("jit");
        assert_eq!(r["log_likelihood_method"], method);
        assert!(reference == jit, "{method}: the model files differ");
        for field in ["avg_log_likelihood", "log_z", "log_likelihood_std_err"] {
            assert_eq!(r[field], j[field], "{method}: {field}");
        }
    }
    // Kinds without Gibbs sampling do not take the option.
    let o = blockgibbs(&[
        "fit",
        "gmm",
        arg(&csv),
        "--components",
        "2",
        "--backend",
        "jit",
    ]);
    assert_fails(&o, 2, &["--backend", "does not apply to `fit gmm`"]);
}
