//! The `blockgibbs` binary end to end: sample (.npy and stats JSON), bench, info, errors.

mod cli_support;
use cli_support::{blockgibbs, example, stderr, stdout};

const FAST: [&str; 8] = [
    "--set",
    "schedule.warmup=20",
    "--set",
    "schedule.samples=40",
    "--set",
    "schedule.chains=5",
    "--set",
    "model.L=6",
];

#[test]
fn sample_writes_npy_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("samples.npy");
    let stats = dir.path().join("stats.json");
    let model = example("ising2d.toml");
    let mut args = vec!["sample", model.to_str().unwrap()];
    args.extend(FAST);
    args.extend([
        "--out",
        npy.to_str().unwrap(),
        "--stats",
        stats.to_str().unwrap(),
        "--threads",
        "2",
    ]);
    let o = blockgibbs(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for name in ["energy_per_node", "magnetization", "abs_magnetization", "±"] {
        assert!(text.contains(name), "summary lacks {name}: {text}");
    }

    // The samples: shape [samples, chains, nodes], f32 spins.
    let bytes = std::fs::read(&npy).unwrap();
    let file = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(file.shape(), &[40, 5, 36]);
    assert_eq!(file.order(), npyz::Order::C);
    assert_eq!(file.dtype().descr(), "'<f4'");
    let data = file.into_vec::<f32>().unwrap();
    assert_eq!(data.len(), 40 * 5 * 36);
    assert!(data.iter().all(|&v| v == 1.0 || v == -1.0));

    // The statistics.
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    for name in ["energy_per_node", "magnetization", "abs_magnetization"] {
        let o = &v["observables"][name];
        for key in ["mean", "stderr", "ess"] {
            assert!(o.get(key).is_some(), "{name} lacks {key}: {o}");
        }
        assert!(o["mean"].as_f64().unwrap().is_finite());
        assert!(o["stderr"].as_f64().unwrap() >= 0.0);
    }
    let e = v["observables"]["energy_per_node"]["mean"]
        .as_f64()
        .unwrap();
    assert!((-2.0..=2.0).contains(&e), "energy per node {e}");
    let m = v["observables"]["abs_magnetization"]["mean"]
        .as_f64()
        .unwrap();
    assert!((0.0..=1.0).contains(&m));
    let means = v["node_means"].as_array().unwrap();
    assert_eq!(means.len(), 36);
    assert!(means.iter().all(|x| x.as_f64().unwrap().abs() <= 1.0));
    assert_eq!(v["seed"], 1);
    assert_eq!(v["chains"], 5);
    assert_eq!(v["sweeps"], 20 + 39);
    assert_eq!(v["backend"], default_backend_name());
    assert_eq!(v["threads"], 2);
    assert!(v["seconds"].as_f64().unwrap() >= 0.0);

    // Written atomically: no temporary files left beside the outputs.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["samples.npy", "stats.json"]);
}

#[test]
fn sample_respects_output_nodes_and_gaussian_means() {
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("v.npy");
    let stats = dir.path().join("s.json");
    let model = example("rbm.toml");
    let o = blockgibbs(&[
        "sample",
        model.to_str().unwrap(),
        "--set",
        "schedule.warmup=5",
        "--set",
        "schedule.samples=7",
        "--set",
        "schedule.chains=3",
        "--out",
        npy.to_str().unwrap(),
        "--stats",
        stats.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&npy).unwrap();
    let file = npyz::NpyFile::new(&bytes[..]).unwrap();
    // [output] nodes = the visible group only.
    assert_eq!(file.shape(), &[7, 3, 196]);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert!(v["observables"].get("energy_per_node").is_some());
    assert!(v["observables"].get("magnetization").is_none());
    assert_eq!(v["node_means"].as_array().unwrap().len(), 196);

    // A Gaussian grid's node means approach h / (precision − 4 coupling) = 0.5.
    let model = example("gaussian_grid.toml");
    let o = blockgibbs(&[
        "sample",
        model.to_str().unwrap(),
        "--set",
        "model.L=4",
        "--stats",
        stats.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let means: Vec<f64> = v["node_means"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(means.len(), 16);
    let avg = means.iter().sum::<f64>() / 16.0;
    assert!((avg - 0.5).abs() < 0.05, "mean {avg}");
}

#[test]
fn bench_prints_one_json_line() {
    let model = example("ising2d.toml");
    let mut args = vec!["bench", model.to_str().unwrap(), "--threads", "1"];
    args.extend(FAST);
    let o = blockgibbs(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    for key in [
        "updates",
        "seconds",
        "updates_per_ns",
        "build_seconds",
        "compile_seconds",
        "peak_rss_bytes",
        "threads",
        "backend",
        "model",
        "nodes",
        "chains",
        "sweeps",
    ] {
        assert!(v.get(key).is_some(), "bench line lacks {key}: {text}");
    }
    assert_eq!(v["model"], "ising2d");
    assert_eq!(v["nodes"], 36);
    assert_eq!(v["sweeps"], 59);
    assert_eq!(v["updates"], 59 * 36 * 5);
    assert_eq!(v["threads"], 1);
    assert_eq!(v["backend"], default_backend_name());
    assert!(v["peak_rss_bytes"].as_u64().unwrap() > 0);
    assert!(v["updates_per_ns"].as_f64().unwrap() > 0.0);
}

/// What `--backend` defaults to on this machine.
fn default_backend_name() -> &'static str {
    if blockgibbs_jit::is_supported() {
        "jit"
    } else {
        "reference"
    }
}

#[test]
fn backend_flag_selects_the_kernels_and_compare_prints_the_ratio() {
    let model = example("ising2d.toml");
    for name in ["reference", "jit"] {
        let mut args = vec!["bench", model.to_str().unwrap(), "--backend", name];
        args.extend(FAST);
        let o = blockgibbs(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        let expected = if name == "jit" {
            default_backend_name()
        } else {
            "reference"
        };
        assert_eq!(v["backend"], expected);
    }
    let mut args = vec!["bench", model.to_str().unwrap(), "--compare"];
    args.extend(FAST);
    let o = blockgibbs(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{}", stdout(&o));
    assert_eq!(lines[0]["backend"], "reference");
    assert_eq!(lines[1]["backend"], default_backend_name());
    let ratio = lines[2]["updates_per_ns_ratio"].as_f64().unwrap();
    let expected =
        lines[1]["updates_per_ns"].as_f64().unwrap() / lines[0]["updates_per_ns"].as_f64().unwrap();
    assert!(
        (ratio / expected - 1.0).abs() < 1e-2,
        "{ratio} vs {expected}"
    );
}

#[test]
fn info_describes_nodes_factors_blocks_and_memory() {
    let o = blockgibbs(&["info", example("ising2d.toml").to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for want in [
        "nodes: 1024",
        "coupling",
        "2048 instances, arity 2",
        "2 superblocks",
        "bipartite",
        "blocks per kind: spin 2",
        "bytes",
    ] {
        assert!(text.contains(want), "info lacks `{want}`:\n{text}");
    }
    let o = blockgibbs(&["info", example("graph_blocks.toml").to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("hand-given"), "{text}");
    assert!(text.contains("(mean)"), "{text}");
    let o = blockgibbs(&[
        "info",
        example("potts2d.toml").to_str().unwrap(),
        "--set",
        "model.L=6",
    ]);
    assert!(
        stdout(&o).contains("nodes: 36 (categorical(3) 36)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn errors_exit_nonzero_with_a_message() {
    let model = example("ising2d.toml");
    let o = blockgibbs(&["sample", model.to_str().unwrap(), "--set", "model.Lx=3"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("model.Lx"), "{}", stderr(&o));
    let o = blockgibbs(&["info", "/no/such/file.toml"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("/no/such/file.toml"), "{}", stderr(&o));
    let o = blockgibbs(&["sample", model.to_str().unwrap(), "--backend", "gpu"]);
    assert!(!o.status.success());
}

#[test]
fn oversized_npy_output_is_refused_before_sampling() {
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("huge.npy");
    let model = example("ising2d.toml");
    // 1000 samples × 256 chains × 128² nodes × 4 bytes = 16 GiB.
    let o = blockgibbs(&[
        "sample",
        model.to_str().unwrap(),
        "--set",
        "model.L=128",
        "--set",
        "schedule.chains=256",
        "--out",
        npy.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("exceed"), "{}", stderr(&o));
    assert!(!npy.exists());
}
