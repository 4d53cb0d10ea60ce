#![cfg(unix)]
//! The C example (examples/c/ising_film.c) compiled with the system C compiler against the
//! library cargo built, through the pkg-config file, then run: plainly, statically linked,
//! on both backends, and under valgrind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The directory cargo put `libblockgibbs.so` in: this test runs from `<profile>/deps/`, and
/// the library is uplifted into `<profile>/` (whatever CARGO_TARGET_DIR is).
fn lib_dir() -> PathBuf {
    let name = format!(
        "{}blockgibbs{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
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
        let so = format!(
            "{}blockgibbs{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        );
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

/// The example linked against the shared library, flags from pkg-config.
fn example() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let exe = scratch().join("ising_film");
        run(Command::new("cc")
            .args(CFLAGS)
            .args(pkg_config(&["--cflags"]))
            .arg(repo().join("examples/c/ising_film.c"))
            .args(pkg_config(&["--libs"]))
            .arg(format!("-Wl,-rpath,{}", prefix().join("lib").display()))
            .arg("-o")
            .arg(&exe));
        exe
    })
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
fn statically_linked_example_runs() {
    let dir = lib_dir();
    let exe = scratch().join("ising_film_static");
    let private: Vec<String> = pkg_config(&["--libs-only-l", "--static"])
        .into_iter()
        .filter(|f| f != "-lblockgibbs")
        .collect();
    run(Command::new("cc")
        .args(CFLAGS)
        .arg(format!("-I{}", repo().join("capi/include").display()))
        .arg(repo().join("examples/c/ising_film.c"))
        .arg(dir.join("libblockgibbs.a"))
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

#[test]
fn example_is_clean_under_valgrind() {
    if std::env::var_os("BLOCKGIBBS_SKIP_VALGRIND").is_some() {
        eprintln!("BLOCKGIBBS_SKIP_VALGRIND is set: not running valgrind");
        return;
    }
    let supp = repo().join("capi/tests/valgrind.supp");
    // Both backends: under the JIT, valgrind also checks the memory the generated kernels
    // touch.
    for backend in ["reference", "jit"] {
        let out = Command::new("valgrind")
            .args(["--error-exitcode=1", "--leak-check=full", "-q"])
            .arg(format!("--suppressions={}", supp.display()))
            .arg(example())
            .args(["20", backend])
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run valgrind ({e}); install it (apt-get install valgrind) or set BLOCKGIBBS_SKIP_VALGRIND=1")
            });
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "valgrind reports errors or leaks on the {backend} backend ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        check_error_lines(&stdout);
    }
}
