//! Generates the client and the field tables from `openapi.yaml` with the shared generator
//! (nateq-codegen).
//!
//! In the workspace (feature `codegen`, which the workspace's crates turn on) the spec sits
//! beside the crate (`../openapi.yaml`) and every edit to it regenerates both. Without the
//! feature, or in a packaged crate that has no spec beside it, they are the committed snapshot
//! `generated/`, which `cargo xtask codegen --check` keeps equal to what the spec generates:
//! consumers never compile the generator.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The generated files, as named in `generated/` and in `OUT_DIR`.
const FILES: [&str; 3] = ["client.rs", "fields.rs", "operations.rs"];

fn main() -> ExitCode {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    println!("cargo::rerun-if-changed=build.rs");

    let files = match generate(&manifest_dir) {
        Some(Ok(files)) => files,
        Some(Err(e)) => {
            // One line naming the file and the problem, not a panic backtrace.
            println!("cargo::error={e}");
            return ExitCode::FAILURE;
        }
        None => match snapshot(&manifest_dir) {
            Ok(files) => files,
            Err(e) => {
                println!("cargo::error={e}");
                return ExitCode::FAILURE;
            }
        },
    };
    for (name, code) in files {
        if let Err(e) = std::fs::write(out_dir.join(&name), code) {
            println!("cargo::error=cannot write the generated {name} to OUT_DIR: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

type Files = Vec<(String, String)>;

/// The committed snapshot.
fn snapshot(manifest_dir: &Path) -> Result<Files, String> {
    FILES
        .iter()
        .map(|name| {
            let path = manifest_dir.join("generated").join(name);
            println!("cargo::rerun-if-changed={}", path.display());
            std::fs::read_to_string(&path)
                .map(|code| (name.to_string(), code))
                .map_err(|e| {
                    format!(
                        "neither ../openapi.yaml nor the snapshot {} can be read: {e}",
                        path.display()
                    )
                })
        })
        .collect()
}

/// The files generated from the spec, when the `codegen` feature is on and the spec is there.
#[cfg(feature = "codegen")]
fn generate(manifest_dir: &Path) -> Option<Result<Files, String>> {
    let spec = manifest_dir.join("../openapi.yaml");
    if !(spec.is_file() && manifest_dir.join("../Cargo.toml").is_file()) {
        return None;
    }
    println!("cargo::rerun-if-changed={}", spec.display());
    Some(
        nateq_codegen::generate_file(&spec)
            .map(|files| {
                files
                    .into_iter()
                    .map(|(name, code)| (name.to_string(), code))
                    .collect()
            })
            .map_err(|e| e.to_string()),
    )
}

#[cfg(not(feature = "codegen"))]
fn generate(_manifest_dir: &Path) -> Option<Result<Files, String>> {
    None
}
