//! The `blockgibbs` binary on hostile input: resources checked before they are taken,
//! outputs that never destroy what they should not, and messages that say what is wrong.
//! Every example is run as a user would run it; the library side is in `tests/hardening.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

mod cli_support;
use cli_support::{blockgibbs, example, stderr};

/// Runs `sample` on an example with overrides and expects an error (exit 1) whose message
/// contains every one of `needles`.
fn refused(example_name: &str, extra: &[&str], needles: &[&str]) {
    let model = example(example_name);
    let mut args = vec!["sample", model.to_str().unwrap()];
    args.extend(extra);
    let o = blockgibbs(&args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: `{n}` not in: {err}");
    }
}

const TINY: [&str; 6] = [
    "--set",
    "schedule.warmup=2",
    "--set",
    "schedule.samples=3",
    "--set",
    "schedule.chains=2",
];

// ---- Resources are checked before they are taken ----

#[test]
fn potts_with_q_100000_is_refused_under_the_default_limit() {
    // 32 edges × 10¹⁰ weights: 1.3 TB, above any machine's available memory.
    let set = ["--set", "model.q=100000", "--set", "model.L=4"];
    refused(
        "potts2d.toml",
        &set,
        &["model.q = 100000", "bytes", "memory limit"],
    );
}

#[test]
fn huge_lattices_and_sk_are_refused_naming_their_key() {
    let limit = ["--max-memory", "1GiB"];
    for (file, set, key) in [
        ("ising2d.toml", "model.L=16000", "model.L = 16000"),
        ("ising2d.toml", "model.L=32768", "model.L = 32768"),
        ("ea2d.toml", "model.L=32768", "model.L = 32768"),
        ("gaussian_grid.toml", "model.L=32768", "model.L = 32768"),
        ("sk.toml", "model.N=20000", "model.N = 20000"),
    ] {
        let mut args = vec!["--set", set];
        args.extend(limit);
        refused(file, &args, &[key, "1073741824 bytes"]);
    }
}

#[test]
fn a_billion_chains_are_refused_naming_schedule_chains() {
    let args = [
        "--set",
        "schedule.chains=1000000000",
        "--set",
        "model.L=4",
        "--max-memory",
        "1GiB",
    ];
    refused(
        "ising2d.toml",
        &args,
        &["schedule.chains = 1000000000", "bytes"],
    );
}

#[test]
fn max_memory_takes_units_and_a_small_run_fits() {
    let model = example("ising2d.toml");
    let mut args = vec!["sample", model.to_str().unwrap(), "--set", "model.L=4"];
    args.extend(TINY);
    args.extend(["--max-memory", "64MiB"]);
    let o = blockgibbs(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    args.pop();
    args.push("1KiB");
    let o = blockgibbs(&args);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("memory limit of 1024 bytes"),
        "{}",
        stderr(&o)
    );
    let o = blockgibbs(&["info", model.to_str().unwrap(), "--max-memory", "4 parsecs"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--max-memory"), "{}", stderr(&o));
}

#[test]
fn too_many_threads_are_a_usage_error_naming_threads() {
    let model = example("ising2d.toml");
    let o = blockgibbs(&["sample", model.to_str().unwrap(), "--threads", "65535"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--threads"), "{}", stderr(&o));
    assert!(stderr(&o).contains("more than the limit"), "{}", stderr(&o));
}

/// A graph model file with one factor over four spins, its weights given by `weights`.
fn graph_file(dir: &Path, weights: &str) -> PathBuf {
    let text = format!(
        "[model]\nfamily = \"graph\"\n[[model.groups]]\nname = \"s\"\nkind = \"spin\"\nsize = 4\n\
         [[model.factors]]\nname = \"h\"\nproducts = [{{ group = \"s\" }}]\n{weights}\n\
         [schedule]\nwarmup = 2\nsamples = 3\nchains = 2\n"
    );
    let path = dir.join("g.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// An `.npy` v1 file with `descr`, `shape` (Python tuple text) and raw `data`.
fn raw_npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    bytes
}

#[test]
fn a_huge_npy_shape_is_reported_not_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let model = graph_file(dir.path(), "weights_npy = \"w.npy\"");
    std::fs::write(
        dir.path().join("w.npy"),
        raw_npy("<f4", "(100000000000,)", &[0; 16]),
    )
    .unwrap();
    let o = blockgibbs(&["sample", model.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for n in [
        "w.npy",
        "model.factors[0].weights_npy",
        "400000000000 bytes",
        "holds 16",
    ] {
        assert!(err.contains(n), "`{n}` not in {err}");
    }
}

// ---- Messages that say what is wrong ----

#[test]
fn truncated_npy_weights_name_the_file_and_the_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let model = graph_file(dir.path(), "weights_npy = \"w.npy\"");
    let w = dir.path().join("w.npy");
    // Data cut short: four f32 need 16 bytes.
    std::fs::write(&w, raw_npy("<f4", "(4,)", &[0; 10])).unwrap();
    let o = blockgibbs(&["sample", model.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(
        err.contains("w.npy") && err.contains("needs 16 bytes, the file holds 10"),
        "{err}"
    );
    assert!(!err.contains("failed to fill whole buffer"), "{err}");
    // Header cut short.
    let full = raw_npy("<f4", "(4,)", &[0; 16]);
    std::fs::write(&w, &full[..30]).unwrap();
    let o = blockgibbs(&["sample", model.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(
        err.contains("w.npy") && err.contains("truncated header"),
        "{err}"
    );
    assert!(
        err.contains("announces 118 bytes of header, the file holds 20"),
        "{err}"
    );
}

#[test]
fn int64_npy_weights_are_refused_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let model = graph_file(dir.path(), "weights_npy = \"w.npy\"");
    let data: Vec<u8> = [1i64, 2, 3, 4]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(dir.path().join("w.npy"), raw_npy("<i8", "(4,)", &data)).unwrap();
    let o = blockgibbs(&["sample", model.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("'<i8'") && err.contains("use float32 or float64"),
        "{err}"
    );
}

#[test]
fn values_beyond_f32_say_they_overflow() {
    refused(
        "ising2d.toml",
        &["--set", "model.beta=1e39"],
        &["model.beta", "overflows f32"],
    );
    let dir = tempfile::tempdir().unwrap();
    let model = graph_file(dir.path(), "weights = [1e39, 0, 0, 0]");
    let o = blockgibbs(&["sample", model.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(
        err.contains("model.factors[0].weights[0]") && err.contains("overflows f32"),
        "{err}"
    );
    // The same through a float64 .npy file names the element.
    let model = graph_file(dir.path(), "weights_npy = \"w.npy\"");
    let data: Vec<u8> = [0.5f64, 1e39, 0.0, 0.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(dir.path().join("w.npy"), raw_npy("<f8", "(4,)", &data)).unwrap();
    let o = blockgibbs(&["sample", model.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(
        err.contains("element 1") && err.contains("overflows f32"),
        "{err}"
    );
}

#[test]
fn seeds_take_the_whole_u64_range() {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("s.json");
    let model = example("ising2d.toml");
    let mut args = vec!["sample", model.to_str().unwrap(), "--set", "model.L=4"];
    args.extend(TINY);
    args.extend(["--set", "schedule.seed=18446744073709551615"]);
    args.extend(["--stats", stats.to_str().unwrap()]);
    let o = blockgibbs(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(v["seed"], serde_json::json!(u64::MAX), "{v}");
    refused(
        "ising2d.toml",
        &["--set", "schedule.seed=-1"],
        &["schedule.seed", "negative"],
    );
}

#[test]
fn zero_samples_are_refused() {
    refused(
        "ising2d.toml",
        &["--set", "schedule.samples=0"],
        &["schedule.samples", "at least 1"],
    );
}

/// A graph with two spins and `extra` TOML appended.
fn spins_with(dir: &Path, extra: &str) -> PathBuf {
    let text = format!(
        "[model]\nfamily = \"graph\"\n[[model.groups]]\nname = \"s\"\nkind = \"spin\"\nsize = 3\n{extra}"
    );
    let path = dir.join("m.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn graph_mistakes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let factor = |name: &str| {
        format!(
            "[[model.factors]]\nname = \"{name}\"\nproducts = [{{ group = \"s\" }}]\nweights = 0.1\n"
        )
    };
    for (extra, needles) in [
        (
            "[[model.blocks]]\nnodes = [{ group = \"s\", index = [0, 1, 0] }]\n\
             [[model.blocks]]\nnodes = [{ group = \"s\", index = [2] }]\n"
                .to_string(),
            vec!["node s[0] is listed twice in block 0"],
        ),
        (
            format!("{}{}", factor("h"), factor("h")),
            vec![
                "model.factors[1].name",
                "`h` is already used by model.factors[0]",
            ],
        ),
        (
            "clamped = { index = [1, 1], values = [1, -1] }\n".to_string(),
            vec!["node s[1] is clamped twice, to 1 and to -1"],
        ),
    ] {
        let model = spins_with(dir.path(), &extra);
        let o = blockgibbs(&["info", model.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{extra}: {err}");
        for n in needles {
            assert!(err.contains(n), "`{n}` not in {err}");
        }
    }
}

// ---- Outputs never destroy what they should not ----

/// Arguments of a small `sample` run of `model` writing `--out out` (and more).
fn sample_args<'a>(model: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["sample", model, "--set", "model.L=4"];
    args.extend(TINY);
    args.extend(rest);
    args
}

#[cfg(unix)]
#[test]
fn outputs_onto_links_and_fifos_are_refused_and_leave_them_whole() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let model = example("ising2d.toml");
    let target = dir.path().join("precious.txt");
    std::fs::write(&target, b"keep me").unwrap();
    let link = dir.path().join("link.npy");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let fifo = dir.path().join("fifo.npy");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for (flag, path, what) in [
        ("--out", &link, "symbolic link"),
        ("--stats", &link, "symbolic link"),
        ("--out", &fifo, "FIFO"),
        ("--checkpoint", &fifo, "FIFO"),
    ] {
        let o = blockgibbs(&sample_args(
            model.to_str().unwrap(),
            &[flag, path.to_str().unwrap()],
        ));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{flag} {what}: {err}");
        assert!(err.contains(what), "{err}");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
}

/// A character device (the null device's numbers) made inside `dir`, or `None` where this
/// process may not make device nodes. The test never aims outputs at the real `/dev/null`:
/// run as root, a broken check could replace it.
#[cfg(unix)]
fn device_in(dir: &Path) -> Option<PathBuf> {
    let path = dir.join("null");
    let made = Command::new("mknod")
        .args([path.to_str().unwrap(), "c", "1", "3"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    made.then_some(path)
}

#[cfg(unix)]
#[test]
fn outputs_onto_device_files_are_refused_and_leave_them_whole() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let dir = tempfile::tempdir().unwrap();
    let Some(device) = device_in(dir.path()) else {
        eprintln!("skipped: cannot make a device node here (the library check covers /dev/null)");
        return;
    };
    let rdev = std::fs::symlink_metadata(&device).unwrap().rdev();
    let model = example("ising2d.toml");
    for flag in ["--out", "--stats", "--checkpoint"] {
        let o = blockgibbs(&sample_args(
            model.to_str().unwrap(),
            &[flag, device.to_str().unwrap()],
        ));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{flag}: {err}");
        assert!(err.contains("a device file"), "{err}");
        let meta = std::fs::symlink_metadata(&device).unwrap();
        assert!(meta.file_type().is_char_device() && meta.rdev() == rdev);
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn outputs_naming_an_input_or_each_other_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("ising.toml");
    std::fs::copy(example("ising2d.toml"), &model).unwrap();
    let model_bytes = std::fs::read(&model).unwrap();
    let m = model.to_str().unwrap();
    let o = blockgibbs(&sample_args(m, &["--out", m]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("refusing to overwrite an input"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&model).unwrap(), model_bytes);
    // --out and --stats naming one existing file: it stays as it was.
    let shared = dir.path().join("both.json");
    std::fs::write(&shared, b"earlier").unwrap();
    let s = shared.to_str().unwrap();
    let o = blockgibbs(&sample_args(m, &["--out", s, "--stats", s]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--out and --stats both name"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&shared).unwrap(), b"earlier");
    // A weights file the model reads.
    let graph = graph_file(dir.path(), "weights_npy = \"w.npy\"");
    let w = dir.path().join("w.npy");
    let npy = raw_npy("<f4", "(4,)", &[0; 16]);
    std::fs::write(&w, &npy).unwrap();
    let o = blockgibbs(&[
        "sample",
        graph.to_str().unwrap(),
        "--out",
        w.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("model.factors[0].weights_npy"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&w).unwrap(), npy);
}

/// Names of `.blockgibbs-*` files in `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".blockgibbs-"))
        .collect()
}

#[test]
fn stale_temporaries_of_dead_runs_are_cleaned_and_others_kept() {
    let dir = tempfile::tempdir().unwrap();
    // Pid 4194305 is above Linux's largest pid, so its run is certainly gone.
    let stale = dir.path().join(".blockgibbs-4194305-x1y2.tmp");
    std::fs::write(&stale, b"left by a killed run").unwrap();
    let alive = dir
        .path()
        .join(format!(".blockgibbs-{}-abcd.tmp", std::process::id()));
    std::fs::write(&alive, b"a live run's").unwrap();
    let out = dir.path().join("s.npy");
    let model = example("ising2d.toml");
    let o = blockgibbs(&sample_args(
        model.to_str().unwrap(),
        &["--out", out.to_str().unwrap()],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    if Path::new("/proc/self").exists() {
        assert!(!stale.exists());
    }
    assert!(alive.exists());
}

#[cfg(unix)]
#[test]
fn signals_leave_no_temporary_files() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let model = example("ising2d.toml");
    let out = dir.path().join("s.json");
    let ckpt = dir.path().join("r.ckpt");
    // Checkpoints written every sweep of a long run, so signals arrive while files are
    // being written; whatever moment they hit, nothing temporary may stay.
    let args = [
        "sample",
        model.to_str().unwrap(),
        "--set",
        "model.L=64",
        "--set",
        "schedule.samples=1000000",
        "--stats",
        out.to_str().unwrap(),
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--checkpoint-every",
        "1",
    ];
    for signal in ["-INT", "-TERM"] {
        let child = Command::new(env!("CARGO_BIN_EXE_blockgibbs"))
            .args(args)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let pid = child.id().to_string();
        for _ in 0..2 {
            Command::new("kill").args([signal, &pid]).status().unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        let status = child.wait_with_output().unwrap().status;
        assert_eq!(status.code(), Some(130), "{signal}: {status:?}");
        assert_eq!(temporaries(dir.path()), Vec::<String>::new(), "{signal}");
    }
}
