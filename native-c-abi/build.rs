// Bakes the target triple and profile into `af_build_info()`.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown-target".into());
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown-profile".into());
    println!("cargo:rustc-env=AF_BUILD_TARGET={target}");
    println!("cargo:rustc-env=AF_BUILD_PROFILE={profile}");
    println!("cargo:rerun-if-changed=build.rs");
}
