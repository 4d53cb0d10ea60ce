//! The library side of the hardening examples (the CLI side is `tests/cli_hardening.rs`):
//! memory estimates refused before allocation, thread bounds, typed errors naming the
//! culprit, whole-range seeds, and outputs that refuse links.

use blockgibbs::families;
use blockgibbs::ir::{BlockSpec, MemoryLimit, ModelBuilder, ModelError, NodeKind};
use blockgibbs::model_file::{ModelFile, ModelFileError};
use blockgibbs::runtime::{BackendChoice, RuntimeError, Sampler};
use std::sync::Arc;

const GIB: u64 = 1 << 30;

fn memory(e: ModelFileError) -> blockgibbs::ir::MemoryError {
    match e {
        ModelFileError::Memory(m) => *m,
        other => panic!("expected a memory error, got {other}"),
    }
}

#[test]
fn family_models_are_sized_before_they_are_built() {
    // 1.3 TB of Potts tables: above any machine's available memory.
    let e = memory(families::potts2d(100_000, 4, 1.0, true).unwrap_err());
    assert!(e.what.starts_with("model.q = 100000"), "{e}");
    assert_eq!(
        e.needed,
        2 * 4 * (64 + 32 * 2 + 32 * 10_000_000_000 + 16 + 16 * 100_000)
    );
    let limit = MemoryLimit::bytes(GIB);
    for l in [16_000, 32_768] {
        let e = memory(families::ising2d_within(limit, l, 1.0, 0.0, true).unwrap_err());
        assert!(e.what.starts_with(&format!("model.L = {l}")), "{e}");
        assert_eq!(e.limit, GIB);
        let e = memory(families::gaussian_grid_within(limit, l, 5.0, 1.0, 0.0, true).unwrap_err());
        assert!(e.what.starts_with("model.L"), "{e}");
    }
    let e = memory(families::sk_within(limit, 20_000, 1.0, 0.0, 0).unwrap_err());
    assert!(e.what.starts_with("model.N = 20000"), "{e}");
    // Under the limit, the same constructors build.
    assert!(families::sk_within(limit, 100, 1.0, 0.0, 0).is_ok());
}

fn small_model() -> Arc<blockgibbs::ir::Model> {
    let mut b = ModelBuilder::new();
    let s = b.group("s", NodeKind::Spin, 16).unwrap();
    let ids = s.ids();
    b.pair_coupling("j", &ids[..15], &ids[1..], &[0.3; 15]);
    Arc::new(b.build().unwrap())
}

#[test]
fn the_builder_refuses_chains_and_threads_beyond_its_limits() {
    let builder = || Sampler::builder(small_model()).backend(BackendChoice::Reference);
    let e = builder()
        .chains(1_000_000_000)
        .max_memory(GIB)
        .build()
        .err()
        .expect("refused");
    match e {
        RuntimeError::Memory(m) => {
            assert!(m.what.starts_with("chains = 1000000000"), "{m}");
            assert!(m.needed > GIB && m.limit == GIB);
        }
        other => panic!("{other}"),
    }
    assert!(builder().chains(64).max_memory(GIB).build().is_ok());
    let max = blockgibbs::runtime::max_threads();
    assert!(max >= 1024);
    match builder().threads(65_535.max(max + 1)).build() {
        Err(RuntimeError::TooManyThreads { threads, max: m }) => {
            assert_eq!((threads, m), (65_535.max(max + 1), max));
        }
        other => panic!("{:?}", other.err()),
    }
}

fn parse(text: &str, overrides: &[&str]) -> Result<ModelFile, ModelFileError> {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    ModelFile::parse(text, "<t>", ".".into(), &overrides)
}

const ISING: &str = "[model]\nfamily = \"ising2d\"\nL = 4\n";

#[test]
fn seeds_cover_u64_and_zero_samples_or_f32_overflow_are_refused() {
    let f = parse(ISING, &["schedule.seed=18446744073709551615"]).unwrap();
    assert_eq!(f.schedule.seed, u64::MAX);
    let f = parse(
        &format!("{ISING}[schedule]\nseed = \"18446744073709551615\"\n"),
        &[],
    )
    .unwrap();
    assert_eq!(f.schedule.seed, u64::MAX);
    let sk = "[model]\nfamily = \"sk\"\nN = 4\n";
    let f = parse(sk, &["model.disorder_seed=18446744073709551614"]).unwrap();
    match f.model {
        blockgibbs::model_file::ModelSpec::Sk(s) => assert_eq!(s.disorder_seed, u64::MAX - 1),
        other => panic!("{other:?}"),
    }
    let invalid = |r: Result<ModelFile, ModelFileError>| match r {
        Err(ModelFileError::InvalidValue { key, message }) => (key, message),
        other => panic!("{other:?}"),
    };
    let (key, message) = invalid(parse(ISING, &["schedule.samples=0"]));
    assert_eq!(key, "schedule.samples");
    assert!(message.contains("at least 1"));
    let (key, message) = invalid(parse(ISING, &["model.beta=1e39"]));
    assert_eq!(key, "model.beta");
    assert!(message.contains("overflows f32"), "{message}");
    let (key, _) = invalid(parse(ISING, &["schedule.seed=-3"]));
    assert_eq!(key, "schedule.seed");
}

#[test]
fn the_ir_names_conflicting_clamps_and_repeated_block_nodes() {
    let spins = |b: &mut ModelBuilder| b.group("s", NodeKind::Spin, 3).unwrap().ids();
    let mut b = ModelBuilder::new();
    let s = spins(&mut b);
    b.clamp(s[1], 1.0).clamp(s[1], -1.0);
    assert_eq!(
        b.build().unwrap_err(),
        ModelError::ConflictingClamp {
            node: "s[1]".into(),
            first: 1.0,
            second: -1.0
        }
    );
    // The same value twice is one clamp.
    let mut b = ModelBuilder::new();
    let s = spins(&mut b);
    b.clamp(s[1], 1.0).clamp(s[1], 1.0);
    assert!(b.build().is_ok());
    let mut b = ModelBuilder::new();
    let s = spins(&mut b);
    b.blocks(BlockSpec::sequential(vec![
        vec![s[0], s[1], s[0]],
        vec![s[2]],
    ]));
    assert_eq!(
        b.build().unwrap_err(),
        ModelError::NodeTwiceInBlock {
            node: "s[0]".into(),
            block: 0
        }
    );
}

#[test]
fn graph_files_refuse_duplicate_factor_names() {
    let text = "[model]\nfamily = \"graph\"\n[[model.groups]]\nname = \"s\"\nkind = \"spin\"\nsize = 2\n\
        [[model.factors]]\nname = \"h\"\nproducts = [{ group = \"s\" }]\nweights = 0.1\n\
        [[model.factors]]\nname = \"h\"\nproducts = [{ group = \"s\" }]\nweights = 0.2\n";
    match parse(text, &[]).unwrap().build() {
        Err(ModelFileError::InvalidValue { key, message }) => {
            assert_eq!(key, "model.factors[1].name");
            assert!(message.contains("model.factors[0]"), "{message}");
        }
        other => panic!("{:?}", other.err()),
    }
}

#[test]
fn truncated_npy_weights_are_typed_errors_with_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.npy");
    blockgibbs::output::write_npy_f32(&path, &[4], &[1.0, 2.0, 3.0, 4.0]).unwrap();
    let full = std::fs::read(&path).unwrap();
    std::fs::write(&path, &full[..full.len() - 6]).unwrap();
    match blockgibbs::model_file::tensor::read_npy_f32("k", &path) {
        Err(ModelFileError::Npy { key, file, reason }) => {
            assert_eq!((key.as_str(), file), ("k", path.clone()));
            assert!(
                reason.contains("needs 16 bytes, the file holds 10"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[cfg(unix)]
#[test]
fn checkpoints_refuse_links_and_leave_their_targets() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    std::fs::write(&target, b"keep").unwrap();
    let link = dir.path().join("run.ckpt");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let sampler = Sampler::builder(small_model())
        .backend(BackendChoice::Reference)
        .build()
        .unwrap();
    let e = sampler.checkpoint(&link).unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
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

/// The reason of a `.npy` weights error.
fn npy_reason(path: &std::path::Path) -> String {
    match blockgibbs::model_file::tensor::read_npy_f32("k", path) {
        Err(ModelFileError::Npy { file, reason, .. }) => {
            assert_eq!(file, path);
            reason
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn npy_weights_with_a_huge_shape_or_integers_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.npy");
    // 10¹¹ float32 would be 400 GB; the file holds 16 bytes, so nothing is allocated.
    std::fs::write(&path, raw_npy("<f4", "(100000000000,)", &[0; 16])).unwrap();
    let reason = npy_reason(&path);
    assert!(
        reason.contains("needs 400000000000 bytes, the file holds 16"),
        "{reason}"
    );
    let ints: Vec<u8> = [1i64, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&path, raw_npy("<i8", "(2,)", &ints)).unwrap();
    let reason = npy_reason(&path);
    assert!(
        reason.contains("'<i8'") && reason.contains("use float32 or float64"),
        "{reason}"
    );
    // float64 weights become f32, and one beyond f32's range is named by its index.
    let floats: Vec<u8> = [0.5f64, 1e39]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(&path, raw_npy("<f8", "(2,)", &floats)).unwrap();
    let reason = npy_reason(&path);
    assert!(
        reason.contains("element 1") && reason.contains("overflows f32"),
        "{reason}"
    );
}

#[cfg(unix)]
#[test]
fn device_files_are_not_output_targets() {
    use blockgibbs::runtime::atomic_file::check_target;
    // Only checked, never written: a broken check must not be able to touch /dev/null.
    let e = check_target(std::path::Path::new("/dev/null")).unwrap_err();
    assert!(e.to_string().contains("a device file"), "{e}");
    assert!(check_target(std::path::Path::new("/definitely/not/here")).is_ok());
}
