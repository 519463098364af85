//! Builds tests/c/test_abi.c against include/alphaforge.h and the cdylib cargo just built for
//! this test run, then runs it. Skips (with a message) when gcc is not installed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The cdylib of this test run: cargo builds it next to the test binary (target/<profile>/deps),
/// so the same profile and CARGO_TARGET_DIR are used without a nested cargo invocation.
fn cdylib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe
        .parent()
        .expect("test binary has a parent dir")
        .to_path_buf();
    let name = format!(
        "{}alphaforge_native{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    for dir in [
        deps.clone(),
        deps.parent().map(Path::to_path_buf).unwrap_or_default(),
    ] {
        if dir.join(&name).is_file() {
            return dir;
        }
    }
    panic!(
        "{name} not found next to {}; was the cdylib built?",
        exe.display()
    );
}

#[test]
fn c_program_passes() {
    if Command::new("gcc").arg("--version").output().is_err() {
        println!("SKIPPED c_program_passes: gcc not found");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib_dir = cdylib_dir();
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let exe = out_dir.join("test_abi");

    let compile = Command::new("gcc")
        .args(["-Wall", "-Wextra", "-Werror", "-std=c11", "-O1"])
        .arg("-I")
        .arg(root.join("include"))
        .arg(root.join("tests/c/test_abi.c"))
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(&lib_dir)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg("-lalphaforge_native")
        .output()
        .expect("failed to run gcc");
    assert!(
        compile.status.success(),
        "gcc failed:\n{}",
        String::from_utf8_lossy(&compile.stderr)
    );

    let run = Command::new(&exe)
        .env("LD_LIBRARY_PATH", &lib_dir)
        .output()
        .expect("failed to run test_abi");
    let stdout = String::from_utf8_lossy(&run.stdout);
    print!("{stdout}");
    assert!(
        run.status.success(),
        "test_abi failed ({}):\n{stdout}\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("ok all"));
}
