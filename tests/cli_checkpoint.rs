//! `sample --checkpoint`, `resume` and Ctrl-C end to end: a run stopped anywhere and resumed
//! (on another backend and thread count) writes byte for byte the samples of the
//! uninterrupted run and the same statistics.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod cli_support;
use cli_support::{blockgibbs, example, stderr};

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

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The statistics without what legitimately differs between sessions (time, backend and
/// threads of the last session).
fn stats(path: &Path) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    for key in ["seconds", "backend", "threads"] {
        v.as_object_mut().unwrap().remove(key);
    }
    v
}

fn partial(path: &Path) -> bool {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["partial"].as_bool().unwrap()
}

/// The uninterrupted run's samples and statistics.
fn uninterrupted(dir: &Path, model: &Path, set: &[&str]) -> (Vec<u8>, serde_json::Value) {
    let npy = dir.join("whole.npy");
    let json = dir.join("whole.json");
    let mut args = vec!["sample", s(model)];
    args.extend(set);
    args.extend(["--out", s(&npy), "--stats", s(&json), "--threads", "1"]);
    let o = blockgibbs(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!partial(&json));
    (std::fs::read(&npy).unwrap(), stats(&json))
}

#[test]
fn sample_checkpoint_resume_equals_the_uninterrupted_sample() {
    let dir = tempfile::tempdir().unwrap();
    let model = example("ising2d.toml");
    let (npy, json) = uninterrupted(dir.path(), &model, &FAST);

    let out = dir.path().join("run.npy");
    let st = dir.path().join("run.json");
    let ckpt = dir.path().join("run.ckpt");
    let mut args = vec!["sample", s(&model)];
    args.extend(FAST);
    args.extend([
        "--out",
        s(&out),
        "--stats",
        s(&st),
        "--checkpoint",
        s(&ckpt),
        "--checkpoint-every",
        "7",
        "--max-sweeps",
        "30",
        "--backend",
        "jit",
        "--threads",
        "2",
    ]);
    let o = blockgibbs(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("blockgibbs resume"), "{}", stderr(&o));
    // The partial outputs: 30 sweeps = warmup 20 and 10 more, so 11 samples.
    assert!(partial(&st));
    let v = stats(&st);
    assert_eq!(
        (v["sweeps_done"].as_u64(), v["samples_done"].as_u64()),
        (Some(30), Some(11))
    );
    let bytes = std::fs::read(&out).unwrap();
    let file = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(file.shape(), &[11, 5, 36]);

    // Resume in two pieces, from another directory, on the other backend and thread count.
    let elsewhere = tempfile::tempdir().unwrap();
    let resume = |extra: &[&str]| {
        let mut args = vec![
            "resume",
            s(&ckpt),
            "--backend",
            "reference",
            "--threads",
            "1",
        ];
        args.extend(extra);
        Command::new(env!("CARGO_BIN_EXE_blockgibbs"))
            .args(&args)
            .current_dir(elsewhere.path())
            .output()
            .unwrap()
    };
    let o = resume(&["--max-sweeps", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(partial(&st));
    let o = resume(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("energy_per_node"));
    assert_eq!(std::fs::read(&out).unwrap(), npy, "samples differ");
    assert_eq!(stats(&st), json);
    // Resuming the finished run writes the same outputs again, elsewhere if asked.
    let copy = dir.path().join("copy.npy");
    let o = resume(&["--out", s(&copy)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&copy).unwrap(), npy);
    // Nothing but the outputs in the directory: every write went through a rename.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let expected = [
        "copy.npy",
        "run.ckpt",
        "run.json",
        "run.npy",
        "whole.json",
        "whole.npy",
    ];
    assert_eq!(names, expected);
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

#[test]
fn checkpoint_usage_errors_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let model = example("ising2d.toml");
    let mut args = vec!["sample", s(&model), "--checkpoint-every", "5"];
    args.extend(FAST);
    let o = blockgibbs(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--checkpoint-every needs --checkpoint"),
        "{}",
        stderr(&o)
    );
    // The checkpoint must not replace the model file.
    let mut args = vec!["sample", s(&model), "--checkpoint", s(&model)];
    args.extend(FAST);
    assert_eq!(blockgibbs(&args).status.code(), Some(2));

    // Resuming what is not a checkpoint names the file.
    let o = blockgibbs(&["resume", s(&model)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(s(&model)), "{}", stderr(&o));
    // --stats on resume needs a run that recorded its statistics from the start.
    let ckpt = dir.path().join("c.ckpt");
    let mut args = vec!["sample", s(&model), "--checkpoint", s(&ckpt)];
    args.extend(FAST);
    assert!(blockgibbs(&args).status.success());
    let st = dir.path().join("s.json");
    let o = blockgibbs(&["resume", s(&ckpt), "--stats", s(&st)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("did not record"), "{}", stderr(&o));
    assert!(!st.exists());
}

/// The long run of the Ctrl-C test: a few seconds, checkpointing every 50 000 sweeps.
const LONG: [&str; 10] = [
    "--set",
    "model.L=8",
    "--set",
    "schedule.chains=4",
    "--set",
    "schedule.warmup=600000",
    "--set",
    "schedule.samples=2000",
    "--set",
    "schedule.steps_per_sample=300",
];

/// Starts the long run and sends it `signals` SIGINTs once its first periodic checkpoint
/// exists (so the handlers are installed and it is sampling).
fn interrupted_run(dir: &Path, signals: usize) -> (Output, PathBuf, PathBuf, PathBuf) {
    let model = example("ising2d.toml");
    let out = dir.join("run.npy");
    let st = dir.join("run.json");
    let ckpt = dir.join("run.ckpt");
    let mut args = vec!["sample", s(&model)];
    args.extend(LONG);
    args.extend([
        "--out",
        s(&out),
        "--stats",
        s(&st),
        "--checkpoint",
        s(&ckpt),
        "--checkpoint-every",
        "50000",
        "--threads",
        "1",
    ]);
    let child = Command::new(env!("CARGO_BIN_EXE_blockgibbs"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !ckpt.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no checkpoint appeared"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    for _ in 0..signals {
        let kill = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
    }
    (child.wait_with_output().unwrap(), out, st, ckpt)
}

/// One Ctrl-C: the run stops after the current sweep, writes its checkpoint and partial
/// outputs and exits with 130. Two in a row: the second exits at once, also with 130, and
/// leaves whole files — the checkpoint on disk (the last periodic one or the final one)
/// resumes to the uninterrupted result either way.
#[test]
fn ctrl_c_checkpoints_writes_partial_outputs_and_resumes_to_the_same_result() {
    let whole = tempfile::tempdir().unwrap();
    let (npy, json) = uninterrupted(whole.path(), &example("ising2d.toml"), &LONG);
    for signals in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        let (o, out, st, ckpt) = interrupted_run(dir.path(), signals);
        assert_eq!(o.status.code(), Some(130), "{signals}: {}", stderr(&o));
        if signals == 1 {
            assert!(stderr(&o).contains("interrupted after"), "{}", stderr(&o));
            assert!(partial(&st));
            let done = stats(&st)["samples_done"].as_u64().unwrap();
            let bytes = std::fs::read(&out).unwrap();
            let file = npyz::NpyFile::new(&bytes[..]).unwrap();
            assert_eq!(file.shape(), &[done, 4, 64]);
        } else {
            // Whatever was written before the exit is whole.
            if st.exists() {
                assert!(partial(&st));
            }
            if out.exists() {
                let bytes = std::fs::read(&out).unwrap();
                npyz::NpyFile::new(&bytes[..]).unwrap();
            }
        }
        let o = blockgibbs(&["resume", s(&ckpt)]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(std::fs::read(&out).unwrap(), npy, "samples differ");
        assert_eq!(stats(&st), json);
    }
}
