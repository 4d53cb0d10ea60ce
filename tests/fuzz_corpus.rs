//! Replays the fuzz corpora and crash reproducers (`fuzz/corpus/<target>/`,
//! `fuzz/regressions/<target>/`) through the same bodies as the cargo-fuzz targets
//! (`blockgibbs::fuzzing`): every input must load or be refused with an error, without a
//! panic, within a second of CPU time. See FUZZING.md.

use blockgibbs::fuzzing::{self, TARGETS};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the fuzzers allow one input (`-timeout=1`).
const TIME_LIMIT: Duration = Duration::from_secs(1);

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `dir`, sorted (none when it does not exist).
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// CPU time of the calling thread: unlike wall-clock time it does not count the time the
/// thread waits for a core on a loaded machine.
fn thread_cpu_time() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec; the clock id is a constant libc defines.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Runs `target` on `bytes`; panics naming `what` if the body panicked or took too long.
fn replay(target: &str, what: &str, bytes: &[u8]) -> Result<(), String> {
    let start = thread_cpu_time();
    let outcome = std::panic::catch_unwind(|| fuzzing::run(target, bytes));
    let spent = thread_cpu_time() - start;
    let Ok(result) = outcome else {
        panic!("fuzz target {target} panicked on {what}");
    };
    assert!(
        spent < TIME_LIMIT,
        "fuzz target {target} spent {spent:?} on {what}"
    );
    result
}

#[test]
fn every_corpus_and_regression_input_loads_or_is_refused_in_time() {
    for target in TARGETS {
        let mut replayed = 0;
        for kind in ["corpus", "regressions"] {
            for path in files(&fuzz_dir().join(kind).join(target)) {
                let bytes = std::fs::read(&path).expect("a corpus file");
                // Either answer is right; only a panic or a hang is wrong.
                let _ = replay(target, &path.display().to_string(), &bytes);
                replayed += 1;
            }
        }
        assert!(replayed > 0, "no corpus for fuzz target {target}");
    }
}

#[test]
fn the_seeds_of_every_target_load() {
    let seeds = fuzzing::seeds();
    for target in TARGETS {
        assert!(
            seeds.iter().any(|(t, _, _)| *t == target),
            "no seed for {target}"
        );
    }
    for (target, name, bytes) in &seeds {
        if let Err(e) = replay(target, name, bytes) {
            panic!("the {target} seed {name} is refused: {e}");
        }
    }
}

/// Writes the seeds into `fuzz/corpus/<target>/seed-<name>`; run by hand when the formats
/// change (`cargo test --test fuzz_corpus -- --ignored`), see FUZZING.md.
#[test]
#[ignore = "writes the seed corpora into fuzz/corpus"]
fn write_seed_corpora() {
    for (target, name, bytes) in fuzzing::seeds() {
        let dir = fuzz_dir().join("corpus").join(target);
        std::fs::create_dir_all(&dir).expect("the corpus directory");
        std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("a seed file");
    }
}
