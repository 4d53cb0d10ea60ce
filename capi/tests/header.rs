//! The committed header is what cbindgen makes of the crate today.

use std::path::Path;

fn generate() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen parses the crate");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn committed_header_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/blockgibbs.h");
    let fresh = generate();
    if std::env::var_os("BLESS").is_some() {
        let dir = path.parent().unwrap();
        let mut tmp = tempfile::NamedTempFile::new_in(dir).unwrap();
        std::io::Write::write_all(&mut tmp, fresh.as_bytes()).unwrap();
        tmp.persist(&path).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is out of date with the crate's exported items; regenerate it with\n    \
         BLESS=1 cargo test -p blockgibbs-capi --test header\nand commit the result",
        path.display()
    );
}

#[test]
fn every_function_in_the_header_is_documented() {
    let header = generate();
    let lines: Vec<&str> = header.lines().collect();
    let mut functions = 0;
    for (i, line) in lines.iter().enumerate() {
        let declares = line.contains(" bg_") && line.contains('(') && !line.starts_with(' ');
        if declares && !line.starts_with('#') && !line.starts_with('*') && !line.starts_with('/') {
            functions += 1;
            let above = lines[..i].last().copied().unwrap_or("");
            assert!(
                above.trim_start().starts_with("*/") || above.trim_start().starts_with("*"),
                "`{line}` has no doc comment above it"
            );
        }
    }
    assert!(
        functions >= 40,
        "only {functions} functions found in the header"
    );
}
