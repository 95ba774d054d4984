//! Maintainer tasks for nateq-rs.
//!
//! - `cargo xtask codegen` regenerates the committed snapshot of the client (exactly what
//!   `nateq-api/build.rs` generates, through the same `nateq_codegen::generate`) and the spec
//!   summary beside it, then shows what changed.
//! - `cargo xtask codegen --check` changes nothing and fails when the snapshot is stale,
//!   printing a unified diff, a summary of the spec changes (breaking ones marked) and the
//!   command to run.
//! - `cargo xtask man --out DIR` writes the man pages of `nateq` and its subcommands into `DIR`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use nateq_codegen::summary::{Change, Summary};

#[cfg(feature = "man")]
mod man;

/// Paths of the spec and the committed snapshot, relative to the workspace root.
const SPEC: &str = "openapi.yaml";
const SNAPSHOT: &str = "nateq-api/generated";
const SUMMARY: &str = "nateq-api/generated/spec-summary.json";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["codegen"] => codegen(&workspace_root(), Mode::Write),
        ["codegen", "--check"] => codegen(&workspace_root(), Mode::Check),
        ["man", "--out", dir] => man_pages(Path::new(dir)),
        _ => {
            eprintln!("usage: cargo xtask codegen [--check]\n       cargo xtask man --out DIR");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the man pages and lists them.
#[cfg(feature = "man")]
fn man_pages(out: &Path) -> Result<()> {
    for page in man::man(out)? {
        println!("{}", page.display());
    }
    Ok(())
}

/// Runs xtask again with the `man` feature, which compiles the CLI: codegen alone never does.
#[cfg(not(feature = "man"))]
fn man_pages(out: &Path) -> Result<()> {
    let out = std::env::current_dir()
        .context("cannot read the current directory")?
        .join(out);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args([
            "run",
            "--quiet",
            "--locked",
            "--package",
            "xtask",
            "--features",
            "man",
        ])
        .args(["--", "man", "--out"])
        .arg(&out)
        .current_dir(workspace_root())
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("writing the man pages failed ({status})");
    }
    Ok(())
}

fn workspace_root() -> PathBuf {
    // xtask lives one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Write,
    Check,
}

/// What the spec generates now, against what is committed.
#[derive(Debug)]
struct Outcome {
    code_diff: Option<String>,
    spec_changes: Vec<Change>,
    /// Each generated file's name (in `SNAPSHOT`) and source.
    new_code: Vec<(&'static str, String)>,
    new_summary: String,
}

fn compute(root: &Path) -> Result<Outcome> {
    let spec_path = root.join(SPEC);
    let text = std::fs::read_to_string(&spec_path)
        .with_context(|| format!("cannot read {}", spec_path.display()))?;
    let new_code = nateq_codegen::generate_all(&text, Path::new(SPEC))?;
    let spec = nateq_codegen::parse_spec(&text, Path::new(SPEC))?;
    let new_summary_value = Summary::of(&spec);
    let new_summary = format!("{}\n", serde_json::to_string_pretty(&new_summary_value)?);

    let old_summary_text = read_normalised(&root.join(SUMMARY))?;
    let old_summary: Summary = if old_summary_text.is_empty() {
        Summary::default()
    } else {
        serde_json::from_str(&old_summary_text)
            .with_context(|| format!("{SUMMARY} is not a spec summary"))?
    };

    let mut diffs = String::new();
    for (name, code) in &new_code {
        let old_code = read_normalised(&root.join(SNAPSHOT).join(name))?;
        if old_code != *code {
            let file = format!("{SNAPSHOT}/{name}");
            diffs.push_str(
                &similar::TextDiff::from_lines(&old_code, code)
                    .unified_diff()
                    .context_radius(3)
                    .header(&file, &format!("{file} (from {SPEC})"))
                    .to_string(),
            );
        }
    }
    let code_diff = (!diffs.is_empty()).then_some(diffs);
    let spec_changes = Summary::diff(&old_summary, &new_summary_value);
    Ok(Outcome {
        code_diff,
        spec_changes,
        new_code,
        new_summary: if old_summary_text == new_summary {
            old_summary_text
        } else {
            new_summary
        },
    })
}

/// Reads a file with `\r\n` turned into `\n`; a missing file reads as empty.
fn read_normalised(path: &Path) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s.replace("\r\n", "\n")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn print_spec_changes(changes: &[Change]) {
    if changes.is_empty() {
        println!("spec: no change to operations, properties, types, limits, enums or required");
        return;
    }
    let breaking = changes.iter().filter(|c| c.breaking).count();
    println!(
        "spec: {} change(s), {breaking} breaking for existing callers:",
        changes.len()
    );
    for change in changes {
        println!("  {change}");
    }
}

fn codegen(root: &Path, mode: Mode) -> Result<()> {
    let outcome = compute(root)?;
    let summary_stale = read_normalised(&root.join(SUMMARY))? != outcome.new_summary;
    if outcome.code_diff.is_none() && !summary_stale {
        println!("{SNAPSHOT} is up to date with {SPEC}");
        return Ok(());
    }
    if let Some(diff) = &outcome.code_diff {
        println!("{diff}");
    }
    print_spec_changes(&outcome.spec_changes);
    match mode {
        Mode::Check => bail!(
            "{SNAPSHOT} or {SUMMARY} is stale: {SPEC} changed since the snapshot was generated; \
             run `cargo xtask codegen` and commit the result"
        ),
        Mode::Write => {
            for (name, code) in &outcome.new_code {
                write(&root.join(SNAPSHOT).join(name), code)?;
            }
            write(&root.join(SUMMARY), &outcome.new_summary)?;
            println!("wrote {SNAPSHOT} and {SUMMARY}");
            Ok(())
        }
    }
}

fn write(path: &Path, contents: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed snapshot must equal what the spec generates, so a plain `cargo test`
    /// catches a spec edit without `cargo xtask codegen`.
    #[test]
    fn snapshot_is_fresh() -> Result<()> {
        let outcome = compute(&workspace_root())?;
        if let Some(diff) = outcome.code_diff {
            panic!("{SNAPSHOT} is stale; run `cargo xtask codegen`\n{diff}");
        }
        let stored = read_normalised(&workspace_root().join(SUMMARY))?;
        assert_eq!(
            stored, outcome.new_summary,
            "{SUMMARY} is stale; run `cargo xtask codegen`"
        );
        Ok(())
    }

    /// A real spec edit (a tightened `maxLength`) makes the check fail with a diff and a
    /// summary that calls it breaking; regenerating makes it pass again.
    #[test]
    fn drift_check_fails_after_a_spec_edit_and_passes_after_codegen() -> Result<()> {
        let real = workspace_root();
        let tmp = std::env::temp_dir().join(format!("nateq-xtask-drift-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let spec = std::fs::read_to_string(real.join(SPEC))?;
        let edited = spec.replacen("maxLength: 255", "maxLength: 200", 1);
        assert_ne!(spec, edited, "the spec has no `maxLength: 255` to edit");
        write(&tmp.join(SPEC), &edited)?;
        for name in ["client.rs", "fields.rs", "operations.rs"] {
            write(
                &tmp.join(SNAPSHOT).join(name),
                &std::fs::read_to_string(real.join(SNAPSHOT).join(name))?,
            )?;
        }
        write(
            &tmp.join(SUMMARY),
            &std::fs::read_to_string(real.join(SUMMARY))?,
        )?;

        let err = codegen(&tmp, Mode::Check).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("run `cargo xtask codegen`")),
            "check passed on a stale snapshot: {err:?}"
        );
        let outcome = compute(&tmp)?;
        let diff = outcome.code_diff.unwrap_or_default();
        assert!(
            diff.contains("-                return Err(\"longer than 255 characters\".into());")
        );
        assert!(
            diff.contains("+                return Err(\"longer than 200 characters\".into());")
        );
        // The field table follows the same edit.
        assert!(
            diff.contains("+        max_length: Some(200usize),"),
            "{diff}"
        );
        let breaking: Vec<String> = outcome
            .spec_changes
            .iter()
            .filter(|c| c.breaking)
            .map(ToString::to_string)
            .collect();
        assert_eq!(breaking.len(), 1, "{breaking:?}");
        assert!(
            breaking[0].contains("maxLength 255 -> 200 (tightened)"),
            "{breaking:?}"
        );

        codegen(&tmp, Mode::Write)?;
        codegen(&tmp, Mode::Check)?;
        std::fs::remove_dir_all(&tmp)?;
        Ok(())
    }
}
