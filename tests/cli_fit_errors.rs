//! `blockgibbs fit` and `score` refuse bad command lines (exit 2, naming the option) and bad
//! data (exit 1, naming the file and the line and column or element), and write nothing.

mod cli_fit_support;

use blockgibbs::models::io::ModelIo;
use cli_fit_support::*;
use std::path::Path;

/// A directory holding a valid 4-column binary CSV, `good.csv`.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.csv"), to_csv(&block_data(20))).unwrap();
    dir
}

/// `fit rbm DATA --out DIR/m.safetensors --latent-dim 2 --max-iter 2` plus `extra`.
fn fit_rbm(dir: &Path, data: &Path, extra: &[&str]) -> std::process::Output {
    let out = dir.join("m.safetensors");
    let mut args = vec!["fit", "rbm", arg(data), "--out", arg(&out)];
    args.extend(["--latent-dim", "2", "--max-iter", "2"]);
    args.extend(extra);
    blockgibbs(&args)
}

#[test]
fn options_the_rbm_does_not_read_are_refused_before_the_data_are_read() {
    let dir = setup();
    // A data file that does not exist: the option error must come first.
    let missing = dir.path().join("missing.csv");
    for (extra, hint) in [
        (&["--components", "3"][..], Some("--latent-dim")),
        (&["--tol", "1e-3"][..], Some("no convergence test")),
        (&["--covariance", "full"][..], None),
        (&["--n-init", "2"][..], None),
        (&["--reg-covar", "1e-6"][..], None),
    ] {
        let o = fit_rbm(dir.path(), &missing, extra);
        let mut needles = vec![extra[0], "does not apply to `fit rbm`"];
        needles.extend(hint);
        assert_fails(&o, 2, &needles);
    }
    assert_eq!(dir_names(dir.path()), ["good.csv"]);
}

#[test]
fn required_options_and_ranges_are_checked() {
    let dir = setup();
    let good = dir.path().join("good.csv");
    let out = dir.path().join("m.safetensors");
    let o = blockgibbs(&["fit", "rbm", arg(&good), "--out", arg(&out)]);
    assert_fails(&o, 2, &["`fit rbm` needs --latent-dim", "hidden units"]);
    for option in [
        "--max-iter=0",
        "--latent-dim=0",
        "--batch-size=-3",
        "--learning-rate=0",
        "--learning-rate=nan",
        "--learning-rate=inf",
        "--seed=-1",
        "--tol=-1",
        "--covariance=banded",
    ] {
        // clap checks values while parsing, before `--latent-dim` is found missing.
        let o = blockgibbs(&["fit", "rbm", arg(&good), "--out", arg(&out), option]);
        let flag = option.split('=').next().unwrap();
        assert_fails(&o, 2, &[flag, "invalid value"]);
    }
    // A kind that does not exist: clap lists the ones that do.
    let o = blockgibbs(&["fit", "lda", arg(&good)]);
    assert_fails(&o, 2, &["lda", "rbm", "gmm", "hmog"]);
    let o = blockgibbs(&["fit", "gmm", arg(&good), "--out", arg(&out)]);
    assert_fails(&o, 2, &["`fit gmm` needs --components"]);
    assert_eq!(dir_names(dir.path()), ["good.csv"]);
}

#[test]
fn fit_help_lists_each_kind_with_the_options_it_reads() {
    let o = blockgibbs(&["fit", "--help"]);
    assert!(o.status.success());
    let text = stdout(&o);
    for want in [
        "rbm:",
        "--latent-dim",
        "hidden units",
        "epochs",
        "avg_log_likelihood",
    ] {
        assert!(
            text.contains(want),
            "`{want}` missing from fit --help:\n{text}"
        );
    }
}

/// Writes `name` with `text` into `dir` and returns its path.
fn file(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn bad_csv_data_is_named_by_file_line_and_column() {
    let dir = setup();
    let d = dir.path();
    for (name, text, needles) in [
        (
            "nan.csv",
            "1,0,1,0\n0,1,NaN,1\n",
            &["nan.csv", "line 2, column 3 is NaN", "finite"][..],
        ),
        (
            "inf.csv",
            "a,b,c,d\n1,0,1,0\n0,1,1,-inf\n",
            &["line 3, column 4 is -inf"][..],
        ),
        (
            "ragged.csv",
            "1,0,1,0\n0,1\n",
            &["ragged.csv", "line 2 has 2 fields, line 1 has 4"][..],
        ),
        (
            "word.csv",
            "1,0,1,0\n0,one,1,1\n",
            &["line 2, column 2: `one` is not a number"][..],
        ),
        ("semi.csv", "1;0;1;0\n", &["separated by commas"][..]),
        (
            "hole.csv",
            "1,0,1,0\n0,,1,1\n",
            &["line 2, column 2 is empty"][..],
        ),
        ("empty.csv", "", &["empty.csv", "no data"][..]),
        ("header.csv", "a,b,c,d\n", &["only a header, on line 1"][..]),
        (
            "half.csv",
            "# comment\n1,0,1,0\n0,1,0.5,1\n",
            &["line 3, column 3 is 0.5", "binary data"][..],
        ),
        (
            "data.txt",
            "1,0,1,0\n",
            &["data.txt", "give a .npy or a .csv file"][..],
        ),
    ] {
        let path = file(d, name, text);
        assert_fails(&fit_rbm(d, &path, &[]), 1, needles);
    }
    let missing = d.join("missing.csv");
    assert_fails(
        &fit_rbm(d, &missing, &[]),
        1,
        &["cannot read", "missing.csv"],
    );
    let latin1 = d.join("latin1.csv");
    std::fs::write(&latin1, b"1,0,1,0\n0,1,1,\xe9\n").unwrap();
    assert_fails(&fit_rbm(d, &latin1, &[]), 1, &["line 2 is not UTF-8"]);
    assert!(!d.join("m.safetensors").exists());
}

#[test]
fn bad_npy_data_is_named_by_file_and_element() {
    let dir = setup();
    let d = dir.path();
    let nan = d.join("nan.npy");
    write_npy(&nan, &[2, 2], true, &[1.0, 0.0, f64::NAN, 1.0]);
    assert_fails(
        &fit_rbm(d, &nan, &[]),
        1,
        &["nan.npy", "element [0, 1] is NaN"],
    );
    let cube = d.join("cube.npy");
    write_npy(&cube, &[2, 2, 2], false, &[0.0f32; 8]);
    assert_fails(
        &fit_rbm(d, &cube, &[]),
        1,
        &["cube.npy", "[2, 2, 2]", "not a data matrix"],
    );
    let half = d.join("half.npy");
    write_npy(&half, &[3], false, &[0.0f32, 1.0, 0.25]);
    assert_fails(
        &fit_rbm(d, &half, &[]),
        1,
        &["element [2] is 0.25", "binary data"],
    );
    let truncated = d.join("truncated.npy");
    write_npy(&truncated, &[4, 4], false, &[0u8; 16]);
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() - 3]).unwrap();
    assert_fails(
        &fit_rbm(d, &truncated, &[]),
        1,
        &["truncated.npy", "not a readable .npy"],
    );
    let empty = d.join("empty.npy");
    write_npy::<f64>(&empty, &[0, 4], false, &[]);
    assert_fails(&fit_rbm(d, &empty, &[]), 1, &["empty.npy", "no data"]);
    assert!(!d.join("m.safetensors").exists());
}

#[test]
fn score_checks_the_model_and_the_data_against_it() {
    let dir = setup();
    let d = dir.path();
    let good = d.join("good.csv");
    let model = d.join("m.safetensors");
    assert!(fit_rbm(d, &good, &[]).status.success());
    let out = d.join("out");
    std::fs::create_dir(&out).unwrap();
    let score = |model: &Path, data: &Path| {
        blockgibbs(&["score", arg(model), arg(data), "--out-dir", arg(&out)])
    };
    let wide = file(d, "wide.csv", "1,0,1,0,1\n");
    assert_fails(
        &score(&model, &wide),
        1,
        &["wide.csv", "5 columns", "binary_rbm model has 4 features"],
    );
    let half = file(d, "half.csv", "x,y,z,w\n1,0,1,0\n1,0,0.5,0\n");
    assert_fails(&score(&model, &half), 1, &["line 3, column 3 is 0.5"]);
    let nan = file(d, "nan.csv", "1,0,1,0\nnan,0,0,0\n");
    assert_fails(&score(&model, &nan), 1, &["line 2, column 1 is NaN"]);
    // Not a model file, a damaged one, and a model kind score does not handle.
    assert_fails(&score(&good, &good), 1, &["cannot load model", "good.csv"]);
    let damaged = d.join("damaged.safetensors");
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&damaged, &bytes[..bytes.len() / 2]).unwrap();
    assert_fails(
        &score(&damaged, &good),
        1,
        &["cannot load model", "damaged.safetensors"],
    );
    let ising = d.join("ising.safetensors");
    let edges = vec![(0, 1), (1, 2)];
    blockgibbs::models::IsingEBM::new(edges, vec![0.0; 3], vec![0.5, 0.5], 1.0)
        .unwrap()
        .save(&ising)
        .unwrap();
    assert_fails(&score(&ising, &good), 1, &["cannot score ising_ebm"]);
    assert!(dir_names(&out).is_empty(), "{:?}", dir_names(&out));
}
