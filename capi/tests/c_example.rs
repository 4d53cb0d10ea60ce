#![cfg(unix)]
//! The C examples (examples/c/ising_film.c, examples/c/checkpoint_resume.c) compiled with
//! the system C compiler against the library cargo built, through the pkg-config file, then
//! run: plainly, statically linked, on both backends, and under valgrind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The C library's name (`-lblockgibbs_c`): not the facade crate's `blockgibbs`, whose
/// rlib would otherwise share a file name with this crate's in `target/<profile>/`.
const LIB: &str = "blockgibbs_c";

/// The shared library's file name on this platform.
fn shared_lib() -> String {
    format!(
        "{}{LIB}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// The directory cargo put `libblockgibbs_c.so` in: this test runs from `<profile>/deps/`,
/// and the library is uplifted into `<profile>/` (whatever CARGO_TARGET_DIR is).
fn lib_dir() -> PathBuf {
    let name = shared_lib();
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .skip(1)
        .take(3)
        .find(|d| d.join(&name).is_file())
        .unwrap_or_else(|| panic!("{name} not found next to {}", exe.display()))
        .to_path_buf()
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A scratch directory for this test binary, beside the library in the target directory:
/// laid anew at every run and never left behind in /tmp (a `static` is never dropped, so a
/// temporary directory held by one would never be removed).
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = lib_dir().join("capi-c-example");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

/// An install prefix made of links to the built library and the header, with the
/// pkg-config file made from capi/blockgibbs.pc.in, as `make install` would lay it out.
fn prefix() -> &'static Path {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let prefix = scratch().join("prefix");
        let lib = prefix.join("lib");
        std::fs::create_dir_all(lib.join("pkgconfig")).unwrap();
        std::fs::create_dir_all(prefix.join("include")).unwrap();
        let so = shared_lib();
        std::os::unix::fs::symlink(lib_dir().join(&so), lib.join(&so)).unwrap();
        std::os::unix::fs::symlink(
            repo().join("capi/include/blockgibbs.h"),
            prefix.join("include/blockgibbs.h"),
        )
        .unwrap();
        let pc = std::fs::read_to_string(repo().join("capi/blockgibbs.pc.in")).unwrap();
        let pc = pc
            .replace("@PREFIX@", prefix.to_str().unwrap())
            .replace("@VERSION@", env!("CARGO_PKG_VERSION"));
        std::fs::write(lib.join("pkgconfig/blockgibbs.pc"), pc).unwrap();
        prefix
    })
}

fn pkg_config(args: &[&str]) -> Vec<String> {
    let out = run(Command::new("pkg-config")
        .args(args)
        .arg("blockgibbs")
        .env("PKG_CONFIG_PATH", prefix().join("lib/pkgconfig")));
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

const CFLAGS: &[&str] = &[
    "-O2",
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pedantic",
];

/// examples/c/`name`.c linked against the shared library, flags from pkg-config.
fn compile(name: &str) -> PathBuf {
    let exe = scratch().join(name);
    run(Command::new("cc")
        .args(CFLAGS)
        .args(pkg_config(&["--cflags"]))
        .arg(repo().join(format!("examples/c/{name}.c")))
        .args(pkg_config(&["--libs"]))
        .arg(format!("-Wl,-rpath,{}", prefix().join("lib").display()))
        .arg("-o")
        .arg(&exe));
    exe
}

/// The Ising film simulator.
fn example() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| compile("ising_film"))
}

/// The checkpoint-and-resume program.
fn checkpoint_example() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| compile("checkpoint_resume"))
}

/// What checkpoint_resume prints when the resumed run ended in the uninterrupted run's
/// states (it exits with 1 otherwise) and the truncated copy was refused.
fn check_checkpoint_lines(stdout: &str, file: &Path, first: &str, then: &str) {
    assert!(
        stdout.starts_with(&format!(
            "cut at sweep 80 on {first}, resumed on {then} with 1 thread: final states equal \
             the uninterrupted run's\n"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "\nexpected error: BG_FORMAT: checkpoint {}.truncated: not a readable safetensors \
             file",
            file.display()
        )),
        "{stdout}"
    );
    assert!(stdout.ends_with("live handles: 0\n"), "{stdout}");
}

/// The interior magnetisation of each phase line.
fn magnetisations(stdout: &str) -> Vec<f64> {
    stdout
        .lines()
        .filter(|l| l.starts_with("phase "))
        .map(|l| {
            let m = l.split("interior magnetisation = ").nth(1).unwrap();
            m.split(',').next().unwrap().trim().parse().unwrap()
        })
        .collect()
}

fn check_error_lines(stdout: &str) {
    assert!(
        stdout.contains(
            "expected error: BG_INVALID_ARGUMENT: node s[0]: 0.5 is not a valid spin value\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with(
            "expected error: BG_STALE_HANDLE: argument `moments` (0x"
        ) && l.ends_with("is not a live bg_moments handle: it was freed already, or was never returned by blockgibbs")),
        "{stdout}"
    );
    assert!(stdout.ends_with("live handles: 0\n"), "{stdout}");
}

#[test]
fn interior_follows_the_boundary_and_melts_when_the_coupling_drops() {
    let out = run(&mut Command::new(example()));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let m = magnetisations(&stdout);
    assert_eq!(m.len(), 4, "{stdout}");
    // β = 0.6 is below the critical temperature: the interior orders along the boundary,
    // flips when the boundary flips, and (βJ = 0.06) is nearly free when J drops to 0.1.
    assert!(m[0] > 0.9, "boundary +1: {stdout}");
    assert!(m[1] < -0.9, "boundary -1: {stdout}");
    assert!(m[2].abs() < 0.1, "J = 0.1: {stdout}");
    assert!(m[3] > 0.9, "boundary +1 again: {stdout}");
    check_error_lines(&stdout);
}

#[test]
fn both_backends_print_the_same_numbers_through_the_c_api() {
    let phases = |backend: &str| {
        let out = run(Command::new(example()).args(["200", backend]));
        let stdout = String::from_utf8(out.stdout).unwrap();
        check_error_lines(&stdout);
        stdout
            .lines()
            .filter(|l| l.starts_with("phase "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let reference = phases("reference");
    assert_eq!(reference.len(), 4);
    assert_eq!(reference, phases("jit"));
}

#[test]
fn c_program_resumes_a_checkpoint_on_the_other_backend_bit_for_bit() {
    // JIT first, then reference first: each resumes on the other. Without the JIT on this
    // machine both run the reference backend, and the cut still has to be invisible.
    let jit = blockgibbs_runtime::jit_supported();
    for (first, then) in [("jit", "reference"), ("reference", "jit")] {
        let file = scratch().join(format!("from-{first}.ckpt"));
        let out = run(Command::new(checkpoint_example()).arg(&file).arg(first));
        let name = |b: &'static str| if jit { b } else { "reference" };
        check_checkpoint_lines(
            &String::from_utf8(out.stdout).unwrap(),
            &file,
            name(first),
            name(then),
        );
        assert!(file.is_file(), "the checkpoint stays for the caller");
        std::fs::remove_file(&file).unwrap();
    }
}

#[test]
fn statically_linked_example_runs() {
    let dir = lib_dir();
    let exe = scratch().join("ising_film_static");
    let private: Vec<String> = pkg_config(&["--libs-only-l", "--static"])
        .into_iter()
        .filter(|f| *f != format!("-l{LIB}"))
        .collect();
    run(Command::new("cc")
        .args(CFLAGS)
        .arg(format!("-I{}", repo().join("capi/include").display()))
        .arg(repo().join("examples/c/ising_film.c"))
        .arg(dir.join(format!("lib{LIB}.a")))
        .args(private)
        // Without the library's debug information (hundreds of MB) and unused sections.
        .args(["-s", "-Wl,--gc-sections"])
        .arg("-o")
        .arg(&exe));
    let out = run(Command::new(&exe).args(["10", "reference"]));
    // Statically linked, the program carries the whole library: do not keep it.
    std::fs::remove_file(&exe).unwrap();
    check_error_lines(&String::from_utf8(out.stdout).unwrap());
}

#[test]
fn header_compiles_as_cpp() {
    let src = scratch().join("include.cpp");
    std::fs::write(
        &src,
        "#include <blockgibbs.h>\nint main() { return bg_status_name(BG_OK)[0] == 'B' ? 0 : 1; }\n",
    )
    .unwrap();
    run(Command::new("c++")
        .args(["-std=c++11", "-Wall", "-Werror", "-fsyntax-only"])
        .arg(format!("-I{}", repo().join("capi/include").display()))
        .arg(&src));
}

/// Runs `exe` with `args` under valgrind (leak check, errors fail) and returns its stdout.
fn valgrind(exe: &Path, args: &[&std::ffi::OsStr], what: &str) -> String {
    let supp = repo().join("capi/tests/valgrind.supp");
    let out = Command::new("valgrind")
        .args(["--error-exitcode=1", "--leak-check=full", "-q"])
        .arg(format!("--suppressions={}", supp.display()))
        .arg(exe)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run valgrind ({e}); install it (apt-get install valgrind) or set BLOCKGIBBS_SKIP_VALGRIND=1")
        });
    assert!(
        out.status.success(),
        "valgrind reports errors or leaks in {what} ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn examples_are_clean_under_valgrind() {
    if std::env::var_os("BLOCKGIBBS_SKIP_VALGRIND").is_some() {
        eprintln!("BLOCKGIBBS_SKIP_VALGRIND is set: not running valgrind");
        return;
    }
    // Both backends: under the JIT, valgrind also checks the memory the generated kernels
    // touch.
    for backend in ["reference", "jit"] {
        let stdout = valgrind(
            example(),
            &["20".as_ref(), backend.as_ref()],
            &format!("ising_film on the {backend} backend"),
        );
        check_error_lines(&stdout);
    }
    // Writing, resuming (on the other backend) and refusing a truncated checkpoint.
    let file = scratch().join("valgrind.ckpt");
    let stdout = valgrind(
        checkpoint_example(),
        &[file.as_os_str(), "reference".as_ref()],
        "checkpoint_resume",
    );
    let other = if blockgibbs_runtime::jit_supported() {
        "jit"
    } else {
        "reference"
    };
    check_checkpoint_lines(&stdout, &file, "reference", other);
    std::fs::remove_file(&file).unwrap();
}
