//! The committed include/alphaforge.h must equal what cbindgen generates from the source.
//! `AF_UPDATE_HEADER=1 cargo test --test header` rewrites it instead of failing.

use std::ffi::CString;
use std::path::Path;

const HEADER: &str = "include/alphaforge.h";

fn generate() -> String {
    let crate_dir = env!("CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(Path::new(crate_dir).join("cbindgen.toml"))
        .expect("cbindgen.toml must parse");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen failed to generate the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("cbindgen output is UTF-8")
}

#[test]
fn header_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(HEADER);
    let generated = generate();
    if std::env::var("AF_UPDATE_HEADER").as_deref() == Ok("1") {
        std::fs::write(&path, &generated).expect("cannot write the header");
        println!("rewrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{HEADER} is stale (it differs from what cbindgen generates from src/).\n\
         Regenerate it with: cd native-c-abi && AF_UPDATE_HEADER=1 cargo test --test header\n\
         and commit the result."
    );
}

/// What cffi's cdef sees: preprocessor lines other than `#define NAME <int>` are stripped.
#[test]
fn header_is_cffi_friendly() {
    let header = generate();
    for line in header.lines().filter(|l| l.trim_start().starts_with('#')) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"#define") && words.len() == 3 {
            assert!(
                words[2].parse::<i64>().is_ok(),
                "non-integer #define: {line}"
            );
        }
    }
    for banned in [
        "inline",
        "extern \"C\"",
        "__cplusplus",
        "uintptr_t",
        "static ",
    ] {
        assert!(!header.contains(banned), "header contains {banned:?}");
    }
}

/// Every `typedef struct X {` in the header must be known to af_layout.
#[test]
fn layout_covers_every_struct() {
    let header = generate();
    let records: Vec<&str> = header
        .lines()
        .filter_map(|l| l.strip_prefix("typedef struct "))
        .filter(|rest| rest.trim_end().ends_with('{'))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    assert!(records.contains(&"AfFixed"), "parsed records: {records:?}");
    for record in records {
        let name = CString::new(record).unwrap();
        let (mut offset, mut size) = (0usize, 0usize);
        let status = unsafe {
            alphaforge_native::af_layout(name.as_ptr(), std::ptr::null(), &mut offset, &mut size)
        };
        assert_eq!(
            status,
            alphaforge_native::AF_OK,
            "af_layout does not know {record}"
        );
        assert!(size > 0);
    }
}
