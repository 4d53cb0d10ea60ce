//! Bad checkpoint files are typed errors naming the file and what is wrong — never a panic —
//! and bad observer states are refused without touching the observer.

use blockgibbs_ir::{ModelBuilder, NodeId, NodeKind};
use blockgibbs_runtime::{
    BackendChoice, CheckpointError, EnergyObserver, Moments, Observer, ObserverStateError,
    SampleCollector, Sampler, SamplingSchedule, ScalarObservables, StateView,
};
use safetensors::SafeTensors;
use safetensors::tensor::TensorView;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn sampler() -> Sampler {
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 4).unwrap();
    let x = b.group("x", NodeKind::Gaussian, 2).unwrap();
    b.pair_coupling("j", &s.ids()[..3], &s.ids()[1..], &[0.5; 3]);
    b.gaussian_precision("l", &x.ids(), &[1.0, 2.0]);
    let mut s = Sampler::builder(Arc::new(b.build().unwrap()))
        .chains(5)
        .seed(2)
        .threads(1)
        .build()
        .unwrap();
    let all: Vec<NodeId> = (0..6).map(NodeId).collect();
    s.attach(SampleCollector::new(all.clone()));
    s.attach(Moments::new(all, vec![(NodeId(0), NodeId(1))]));
    s.start_schedule(SamplingSchedule::new(3, 10, 2));
    s.advance(8, &mut [], &|| false, &mut |_, _| {}).unwrap();
    s
}

/// A good checkpoint in a fresh directory.
fn good() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    sampler().checkpoint(&path).unwrap();
    (dir, path)
}

fn open(path: &Path) -> CheckpointError {
    match Sampler::resume(path).threads(1).open() {
        Ok(_) => panic!("{} opened", path.display()),
        Err(e) => {
            // Every message names the file.
            let text = e.to_string();
            assert!(
                text.contains(&path.display().to_string()),
                "{text} does not name the file"
            );
            e
        }
    }
}

/// Rewrites the checkpoint at `path` with `edit` applied to its metadata and tensors.
fn rewrite(
    path: &Path,
    edit: impl FnOnce(
        &mut HashMap<String, String>,
        &mut Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)>,
    ),
) {
    let bytes = std::fs::read(path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut meta = header.metadata().clone().unwrap_or_default();
    let mut tensors: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    edit(&mut meta, &mut tensors);
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    std::fs::write(path, safetensors::serialize(views, Some(meta)).unwrap()).unwrap();
}

fn edit_run(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    rewrite(path, |meta, _| {
        let mut run: serde_json::Value = serde_json::from_str(&meta["run"]).unwrap();
        edit(&mut run);
        meta.insert("run".into(), run.to_string());
    });
}

#[test]
fn missing_truncated_text_and_foreign_files_are_named() {
    let (dir, path) = good();
    assert!(matches!(
        open(&dir.path().join("none.ckpt")),
        CheckpointError::Io { .. }
    ));

    let bytes = std::fs::read(&path).unwrap();
    for cut in [0, 5, 8, 100, bytes.len() / 2, bytes.len() - 1] {
        let p = dir.path().join(format!("cut{cut}.ckpt"));
        std::fs::write(&p, &bytes[..cut]).unwrap();
        assert!(
            matches!(open(&p), CheckpointError::NotSafetensors { .. }),
            "cut at {cut}"
        );
    }

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "warmup = 1000\nsamples = 1000\n".repeat(20)).unwrap();
    assert!(matches!(
        open(&text),
        CheckpointError::NotSafetensors { .. }
    ));

    // Another tool's safetensors file: valid container, no format key.
    let foreign = dir.path().join("model.safetensors");
    let data = [0u8; 16];
    let view = TensorView::new(safetensors::Dtype::F32, vec![2, 2], &data).unwrap();
    std::fs::write(
        &foreign,
        safetensors::serialize([("w", view)], None).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        open(&foreign),
        CheckpointError::NotACheckpoint { found: None, .. }
    ));
    // A blockgibbs model file (format "blockgibbs") is not a checkpoint either.
    rewrite(&foreign, |meta, _| {
        meta.insert("format".into(), "blockgibbs".into());
    });
    let e = open(&foreign);
    assert!(e.to_string().contains("\"blockgibbs\""), "{e}");
}

#[test]
fn a_future_version_is_refused_by_number() {
    let (_dir, path) = good();
    rewrite(&path, |meta, _| {
        meta.insert("format_version".into(), "2".into());
    });
    match open(&path) {
        CheckpointError::UnsupportedVersion {
            found, supported, ..
        } => assert_eq!((found.as_str(), supported), ("2", 1)),
        other => panic!("{other}"),
    }
}

#[test]
fn damaged_contents_name_the_field() {
    let corrupt_field = |e: CheckpointError| match e {
        CheckpointError::Corrupt { what, .. } => what,
        other => panic!("{other}"),
    };
    // Claims of huge sizes are checked against the tensors before anything is allocated.
    let (_d, path) = good();
    edit_run(&path, |run| run["nodes"] = (u64::MAX / 2).into());
    assert_eq!(corrupt_field(open(&path)), "states");
    // An empty state tensor of 2^40 chains and no nodes: the β tensor bounds the chains.
    let (_d, path) = good();
    rewrite(&path, |meta, tensors| {
        let t = tensors.iter_mut().find(|t| t.0 == "states").unwrap();
        t.2 = vec![1 << 40, 0];
        t.3.clear();
        let mut run: serde_json::Value = serde_json::from_str(&meta["run"]).unwrap();
        run["chains"] = (1u64 << 40).into();
        run["nodes"] = 0.into();
        meta.insert("run".into(), run.to_string());
    });
    assert_eq!(corrupt_field(open(&path)), "betas");
    let (_d, path) = good();
    edit_run(&path, |run| run["groups"][0]["len"] = (1u64 << 40).into());
    assert_eq!(corrupt_field(open(&path)), "run.groups");
    let (_d, path) = good();
    edit_run(&path, |run| run["groups"][1]["kind"] = "complex".into());
    assert_eq!(corrupt_field(open(&path)), "run.groups[1].kind");
    let (_d, path) = good();
    edit_run(&path, |run| run["rules"][0] = "gibbs".into());
    assert_eq!(corrupt_field(open(&path)), "run.rules[0]");
    let (_d, path) = good();
    edit_run(&path, |run| {
        run["schedule"]["observations_done"] = 11.into()
    });
    assert_eq!(corrupt_field(open(&path)), "run.schedule");
    let (_d, path) = good();
    edit_run(&path, |run| run["seed"] = "seven".into());
    assert_eq!(corrupt_field(open(&path)), "run");
    let (_d, path) = good();
    rewrite(&path, |_, tensors| tensors.retain(|t| t.0 != "betas"));
    assert_eq!(corrupt_field(open(&path)), "betas");
    let (_d, path) = good();
    rewrite(&path, |_, tensors| {
        let t = tensors.iter_mut().find(|t| t.0 == "betas").unwrap();
        t.1 = safetensors::Dtype::I32;
    });
    assert_eq!(corrupt_field(open(&path)), "betas");
    let (_d, path) = good();
    rewrite(&path, |_, tensors| {
        let t = tensors
            .iter_mut()
            .find(|t| t.0 == "factors.0.nodes")
            .unwrap();
        t.3[0..4].copy_from_slice(&99u32.to_le_bytes());
    });
    assert!(matches!(open(&path), CheckpointError::Model { .. }));
    // A spin of 0.5 in chain 2: the node and chain are named.
    let (_d, path) = good();
    rewrite(&path, |_, tensors| {
        let t = tensors.iter_mut().find(|t| t.0 == "states").unwrap();
        let at = (2 * 6 + 1) * 4;
        t.3[at..at + 4].copy_from_slice(&0.5f32.to_le_bytes());
    });
    let e = open(&path);
    assert!(matches!(e, CheckpointError::Runtime { .. }), "{e}");
    assert!(
        e.to_string().contains("s[1]") && e.to_string().contains("chain 2"),
        "{e}"
    );
    let (_d, path) = good();
    rewrite(&path, |_, tensors| {
        let t = tensors.iter_mut().find(|t| t.0 == "betas").unwrap();
        t.3[0..4].copy_from_slice(&f32::NAN.to_le_bytes());
    });
    assert!(matches!(open(&path), CheckpointError::Runtime { .. }));
}

/// Bytes changed anywhere in the header or data give an error or a valid sampler, never a
/// panic.
#[test]
fn flipped_bytes_never_panic() {
    let (dir, path) = good();
    let bytes = std::fs::read(&path).unwrap();
    let p = dir.path().join("flipped.ckpt");
    for i in (0..bytes.len()).step_by(7) {
        let mut b = bytes.clone();
        b[i] ^= 0x5a;
        std::fs::write(&p, &b).unwrap();
        // The reference backend: the JIT's compile time would dominate hundreds of opens.
        let _ = Sampler::resume(&p)
            .backend(BackendChoice::Reference)
            .threads(1)
            .open();
    }
}

struct Silent;
impl Observer for Silent {
    fn observe(&mut self, _: &StateView<'_>) {}
}

#[test]
fn observer_states_must_fit_and_unsaveable_observers_are_named() {
    let (dir, path) = good();
    let mut r = Sampler::resume(&path).threads(1).open().unwrap();
    assert_eq!(r.saved_observers().len(), 2);
    assert_eq!(r.saved_observers()[0].kind, "sample_collector");
    // Another kind first: refused, nothing attached, the state stays to be claimed.
    let e = r.attach_restored(EnergyObserver::default()).unwrap_err();
    assert!(
        matches!(
            e,
            CheckpointError::ObserverRestore {
                index: 0,
                source: ObserverStateError::WrongKind { .. },
                ..
            }
        ),
        "{e}"
    );
    // Other nodes than were saved.
    let e = r
        .attach_restored(SampleCollector::new(vec![NodeId(0)]))
        .unwrap_err();
    assert!(matches!(e, CheckpointError::ObserverRestore { .. }), "{e}");
    assert_eq!(r.attached_count(), 0);
    let all: Vec<NodeId> = (0..6).map(NodeId).collect();
    let h = r
        .attach_restored(SampleCollector::new(all.clone()))
        .unwrap();
    assert_eq!(r.observer(&h).unwrap().samples, 3);
    let e = r
        .attach_restored(Moments::new(all.clone(), vec![]))
        .unwrap_err();
    assert!(e.to_string().contains("pairs"), "{e}");
    r.attach_restored(Moments::new(all.clone(), vec![(NodeId(0), NodeId(1))]))
        .unwrap();
    assert!(matches!(
        r.attach_restored(ScalarObservables::new()),
        Err(CheckpointError::NoSavedObserver { index: 2, saved: 2 })
    ));
    // An observer without save_state cannot be checkpointed; detached, it is fine again.
    let silent = r.attach(Silent);
    let out = dir.path().join("again.ckpt");
    assert!(matches!(
        r.checkpoint(&out),
        Err(CheckpointError::ObserverNotSaveable { index: 2 })
    ));
    assert!(!out.exists());
    assert!(r.detach(silent).is_some());
    r.checkpoint(&out).unwrap();
}

#[test]
fn scalar_observables_restore_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.ckpt");
    let mut s = sampler();
    let mut obs = ScalarObservables::new();
    obs.add("first", Box::new(|v, c| v.value(NodeId(0), c) as f64));
    obs.add("energy", Box::new(|v, c| v.energy(c)));
    let h = s.attach(obs);
    s.advance(5, &mut [], &|| false, &mut |_, _| {}).unwrap();
    let saved = s.observer(&h).unwrap().estimates();
    s.checkpoint(&path).unwrap();
    let mut r = Sampler::resume(&path).threads(1).open().unwrap();
    let all: Vec<NodeId> = (0..6).map(NodeId).collect();
    r.attach_restored(SampleCollector::new(all.clone()))
        .unwrap();
    r.attach_restored(Moments::new(all, vec![(NodeId(0), NodeId(1))]))
        .unwrap();
    // Insertion order may differ: accumulators follow the names.
    let mut missing = ScalarObservables::new();
    missing.add("energy", Box::new(|v, c| v.energy(c)));
    missing.add("other", Box::new(|_, _| 0.0));
    let e = r.attach_restored(missing).unwrap_err();
    assert!(e.to_string().contains("other"), "{e}");
    let mut fewer = ScalarObservables::new();
    fewer.add("energy", Box::new(|v, c| v.energy(c)));
    let e = r.attach_restored(fewer).unwrap_err();
    assert!(e.to_string().contains("first"), "{e}");
    let mut swapped = ScalarObservables::new();
    swapped.add("energy", Box::new(|v, c| v.energy(c)));
    swapped.add("first", Box::new(|v, c| v.value(NodeId(0), c) as f64));
    let h = r.attach_restored(swapped).unwrap();
    let mut back = r.observer(&h).unwrap().estimates();
    back.reverse();
    assert_eq!(back, saved);
}
