//! Generates the client from `openapi.yaml` with the shared generator (nateq-codegen).
//!
//! In the workspace (feature `codegen`, which the workspace's crates turn on) the spec sits
//! beside the crate (`../openapi.yaml`) and every edit to it regenerates the client. Without
//! the feature, or in a packaged crate that has no spec beside it, the client is the committed
//! snapshot `generated/client.rs`, which `cargo xtask codegen --check` keeps equal to what the
//! spec generates: consumers never compile the generator.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let spec = manifest_dir.join("../openapi.yaml");
    let snapshot = manifest_dir.join("generated/client.rs");
    println!("cargo::rerun-if-changed=build.rs");

    let code = if let Some(generated) = generate(&spec, &manifest_dir) {
        match generated {
            Ok(code) => code,
            Err(e) => {
                // One line naming the file and the problem, not a panic backtrace.
                println!("cargo::error={e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        println!("cargo::rerun-if-changed={}", snapshot.display());
        match std::fs::read_to_string(&snapshot) {
            Ok(code) => code,
            Err(e) => {
                println!(
                    "cargo::error=neither ../openapi.yaml nor the snapshot {} can be read: {e}",
                    snapshot.display()
                );
                return ExitCode::FAILURE;
            }
        }
    };
    if let Err(e) = std::fs::write(out_dir.join("client.rs"), code) {
        println!("cargo::error=cannot write the generated client to OUT_DIR: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The client generated from the spec, when the `codegen` feature is on and the spec is there.
#[cfg(feature = "codegen")]
fn generate(
    spec: &std::path::Path,
    manifest_dir: &std::path::Path,
) -> Option<Result<String, String>> {
    if !(spec.is_file() && manifest_dir.join("../Cargo.toml").is_file()) {
        return None;
    }
    println!("cargo::rerun-if-changed={}", spec.display());
    Some(nateq_codegen::generate_file(spec).map_err(|e| e.to_string()))
}

#[cfg(not(feature = "codegen"))]
fn generate(
    _spec: &std::path::Path,
    _manifest_dir: &std::path::Path,
) -> Option<Result<String, String>> {
    None
}
