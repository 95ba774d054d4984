//! Maintainer tasks for nateq-rs.
//!
//! - `cargo xtask codegen` regenerates the committed snapshot of the client (exactly what
//!   `nateq-api/build.rs` generates, through the same `nateq_codegen::generate`) and the spec
//!   summary beside it, then shows what changed: the code diff and the spec changes, each
//!   classified breaking, ok or docs with its reason and its line of `openapi.yaml`.
//! - `cargo xtask codegen --check` changes nothing and fails when the snapshot is stale,
//!   printing the same and the command to run.
//! - `--format text|markdown|json|github` picks how the spec changes are printed (the default
//!   is text; the others print only the report on stdout, the rest on stderr), and
//!   `--base FILE` compares with another summary or spec (the base branch's) instead of the
//!   committed summary.
//! - `cargo xtask man --out DIR` writes the man pages of `nateq` and its subcommands into `DIR`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use nateq_codegen::summary::locate::Locator;
use nateq_codegen::summary::report::{self, Format};
use nateq_codegen::summary::{Change, FORMAT, Summary};

#[cfg(feature = "man")]
mod man;

/// Paths of the spec and the committed snapshot, relative to the workspace root.
const SPEC: &str = "openapi.yaml";
const SNAPSHOT: &str = "nateq-api/generated";
const SUMMARY: &str = "nateq-api/generated/spec-summary.json";

const USAGE: &str =
    "usage: cargo xtask codegen [--check] [--format text|markdown|json|github] [--base FILE]
       cargo xtask man --out DIR";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("codegen") => match Options::parse(&args[1..]) {
            Ok(options) => codegen(
                &workspace_root(),
                &options,
                &mut std::io::stdout().lock(),
                &mut std::io::stderr().lock(),
            ),
            Err(e) => {
                eprintln!("error: {e}\n{USAGE}");
                return ExitCode::from(2);
            }
        },
        Some("man") => match args.get(1..).unwrap_or_default() {
            [flag, dir] if flag == "--out" => man_pages(Path::new(dir)),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("{USAGE}");
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

/// What `cargo xtask codegen` was asked.
#[derive(Debug, Clone, Default)]
struct Options {
    mode: Mode,
    format: Format,
    /// A summary or spec to compare with, instead of the committed summary.
    base: Option<PathBuf>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--check" => options.mode = Mode::Check,
                "--format" => {
                    let value = args.next().context("--format needs a value")?;
                    options.format = value.parse().map_err(anyhow::Error::msg)?;
                }
                "--base" => {
                    let value = args.next().context("--base needs a file")?;
                    options.base = Some(PathBuf::from(value));
                }
                other => bail!("unknown argument `{other}`"),
            }
        }
        Ok(options)
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    #[default]
    Write,
    Check,
}

/// What the spec generates now, against what is committed.
#[derive(Debug)]
struct Outcome {
    code_diff: Option<String>,
    /// The spec changes since the base, each with its line; `Err` says why there is no list.
    spec_changes: std::result::Result<Vec<Change>, String>,
    /// Each generated file's name (in `SNAPSHOT`) and source.
    new_code: Vec<(&'static str, String)>,
    new_summary: String,
    summary_stale: bool,
}

/// The summary to compare with: a summary file, or a spec (reduced to its summary). `Err`
/// says why there is none to compare with (a summary of an older format).
fn base_summary(text: &str, name: &str) -> Result<std::result::Result<Summary, String>> {
    if text.trim().is_empty() {
        return Ok(Ok(Summary::default()));
    }
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => {
            // Not JSON: a spec (YAML).
            let spec = nateq_codegen::parse_spec(text, Path::new(name))?;
            return Ok(Ok(Summary::of(&spec)));
        }
    };
    if value.get("openapi").is_some() {
        let spec = nateq_codegen::parse_spec(text, Path::new(name))?;
        return Ok(Ok(Summary::of(&spec)));
    }
    let format = value.get("format").and_then(serde_json::Value::as_u64);
    if format != Some(u64::from(FORMAT)) {
        return Ok(Err(format!(
            "{name} was written in summary format {} (this is format {FORMAT}): no list of spec \
             changes this time; it is rewritten in the new format",
            format.unwrap_or(1)
        )));
    }
    let summary =
        serde_json::from_value(value).with_context(|| format!("{name} is not a spec summary"))?;
    Ok(Ok(summary))
}

fn compute(root: &Path, base: Option<&Path>) -> Result<Outcome> {
    let spec_path = root.join(SPEC);
    let text = std::fs::read_to_string(&spec_path)
        .with_context(|| format!("cannot read {}", spec_path.display()))?;
    let new_code = nateq_codegen::generate_all(&text, Path::new(SPEC))?;
    let spec = nateq_codegen::parse_spec(&text, Path::new(SPEC))?;
    let new_summary_value = Summary::of(&spec);
    let new_summary = format!("{}\n", serde_json::to_string_pretty(&new_summary_value)?);

    let committed = read_normalised(&root.join(SUMMARY))?;
    let base_summary = match base {
        Some(path) => {
            let base_text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            base_summary(&base_text, &path.display().to_string())?
        }
        None => base_summary(&committed, SUMMARY)?,
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
    let locator =
        Locator::new(&text).context("openapi.yaml: cannot read the lines of its nodes")?;
    let spec_changes = base_summary.map(|old| {
        let mut changes = Summary::diff(&old, &new_summary_value);
        locator.fill(&mut changes);
        changes
    });
    Ok(Outcome {
        code_diff,
        spec_changes,
        new_code,
        summary_stale: committed != new_summary,
        new_summary,
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

/// Runs `cargo xtask codegen`: the report (and, as text, the code diff) on `out`, the rest
/// on `err`.
fn codegen(root: &Path, options: &Options, out: &mut dyn Write, err: &mut dyn Write) -> Result<()> {
    let outcome = compute(root, options.base.as_deref())?;
    let stale = outcome.code_diff.is_some() || outcome.summary_stale;
    let text = options.format == Format::Text;
    // As text, everything goes to stdout, as before; otherwise stdout is the report alone.
    let notes: &mut dyn Write = if text { &mut *out } else { &mut *err };
    if !stale {
        writeln!(notes, "{SNAPSHOT} is up to date with {SPEC}")?;
    }
    if let Some(diff) = &outcome.code_diff {
        writeln!(notes, "{diff}")?;
    }
    let changes = match &outcome.spec_changes {
        Ok(changes) => changes.as_slice(),
        Err(note) => {
            writeln!(notes, "{note}")?;
            &[]
        }
    };
    // As text, an up-to-date snapshot compared with itself, or a summary too old to compare
    // with, has nothing more to say.
    let nothing_to_say = (!stale && options.base.is_none()) || outcome.spec_changes.is_err();
    if !(text && nothing_to_say) {
        write!(out, "{}", report::render(options.format, SPEC, changes))?;
    }
    if !stale {
        return Ok(());
    }
    match options.mode {
        Mode::Check => bail!(
            "{SNAPSHOT} or {SUMMARY} is stale: {SPEC} changed since the snapshot was generated; \
             run `cargo xtask codegen` and commit the result"
        ),
        Mode::Write => {
            for (name, code) in &outcome.new_code {
                write(&root.join(SNAPSHOT).join(name), code)?;
            }
            write(&root.join(SUMMARY), &outcome.new_summary)?;
            let notes: &mut dyn Write = if text { out } else { err };
            writeln!(notes, "wrote {SNAPSHOT} and {SUMMARY}")?;
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
    use nateq_codegen::summary::report::JsonReport;

    use super::*;

    /// The committed snapshot must equal what the spec generates, so a plain `cargo test`
    /// catches a spec edit without `cargo xtask codegen`.
    #[test]
    fn snapshot_is_fresh() -> Result<()> {
        let outcome = compute(&workspace_root(), None)?;
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

    /// A copy of the workspace's spec (edited by `edit`), snapshot and summary in a
    /// directory of its own.
    fn scratch(name: &str, edit: impl FnOnce(&str) -> String) -> Result<PathBuf> {
        let real = workspace_root();
        let tmp = std::env::temp_dir().join(format!("nateq-xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let spec = std::fs::read_to_string(real.join(SPEC))?;
        let edited = edit(&spec);
        assert_ne!(spec, edited, "the edit changed nothing");
        write(&tmp.join(SPEC), &edited)?;
        for name in [
            "client.rs",
            "fields.rs",
            "operations.rs",
            "spec-summary.json",
        ] {
            write(
                &tmp.join(SNAPSHOT).join(name),
                &std::fs::read_to_string(real.join(SNAPSHOT).join(name))?,
            )?;
        }
        Ok(tmp)
    }

    /// The email's `maxLength: 255` (the first in the spec) becomes 200.
    fn tighten(spec: &str) -> String {
        spec.replacen("maxLength: 255", "maxLength: 200", 1)
    }

    /// The 1-based line of the first occurrence of `needle` in `dir`'s spec.
    fn line_of(dir: &Path, needle: &str) -> Result<usize> {
        let text = std::fs::read_to_string(dir.join(SPEC))?;
        let index = text.find(needle).context("needle not in the spec")?;
        Ok(text[..index].matches('\n').count() + 1)
    }

    fn run(dir: &Path, args: &[&str]) -> (Result<()>, String, String) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let result = Options::parse(&args).and_then(|o| codegen(dir, &o, &mut out, &mut err));
        (
            result,
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        )
    }

    /// A real spec edit (a tightened `maxLength`) makes the check fail with a diff and a
    /// summary that calls it breaking; regenerating makes it pass again.
    #[test]
    fn drift_check_fails_after_a_spec_edit_and_passes_after_codegen() -> Result<()> {
        let tmp = scratch("drift", tighten)?;
        let (result, out, _) = run(&tmp, &["--check"]);
        let err = result.err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("run `cargo xtask codegen`")),
            "check passed on a stale snapshot: {err:?}"
        );
        assert!(
            out.contains("[BREAKING] schema UpdateContactRequest.email: maxLength 255 -> 200"),
            "{out}"
        );
        let outcome = compute(&tmp, None)?;
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
        let changes = outcome.spec_changes.map_err(anyhow::Error::msg)?;
        let breaking: Vec<String> = changes
            .iter()
            .filter(|c| c.is_breaking())
            .map(ToString::to_string)
            .collect();
        assert_eq!(breaking.len(), 1, "{breaking:?}");
        assert!(breaking[0].contains("maxLength 255 -> 200"), "{breaking:?}");

        let (result, _, _) = run(&tmp, &[]);
        result?;
        let (result, out, _) = run(&tmp, &["--check"]);
        result?;
        assert_eq!(out, format!("{SNAPSHOT} is up to date with {SPEC}\n"));
        std::fs::remove_dir_all(&tmp)?;
        Ok(())
    }

    /// `--format json` prints the published shape alone on stdout (the code diff goes to
    /// stderr), with the line of the edited key; `--check` still fails.
    #[test]
    fn json_format_prints_the_report_alone_with_the_spec_line() -> Result<()> {
        let tmp = scratch("json", tighten)?;
        let (result, out, err) = run(&tmp, &["--check", "--format", "json"]);
        assert!(result.is_err(), "check passed on a stale snapshot");
        assert!(err.contains("longer than 200 characters"), "{err}");
        let report: JsonReport = serde_json::from_str(&out).context(out.clone())?;
        assert_eq!(report.version, 1);
        assert_eq!((report.counts.breaking, report.counts.ok), (1, 0));
        let change = &report.changes[0];
        assert_eq!(change.kind, "max-length-decreased");
        assert_eq!(
            change.path,
            "/components/schemas/UpdateContactRequest/properties/email/maxLength"
        );
        assert_eq!(change.before, Some(serde_json::json!(255)));
        assert_eq!(change.after, Some(serde_json::json!(200)));
        assert_eq!(change.line, Some(line_of(&tmp, "maxLength: 200")?));
        std::fs::remove_dir_all(&tmp)?;
        Ok(())
    }

    /// `--format github` prints one workflow command per change, an error for a breaking one,
    /// pointing at the line of `openapi.yaml`.
    #[test]
    fn github_format_annotates_the_line_of_the_spec() -> Result<()> {
        let tmp = scratch("github", |s| {
            tighten(s).replace(
                "        isAnonymous:\n          type: boolean\n          description: Whether the contact is anonymous (no known identity).\n",
                "        isAnonymous:\n          type: boolean\n          description: Whether the contact is anonymous.\n",
            )
        })?;
        let (result, out, _) = run(&tmp, &["--format", "github"]);
        result?;
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        let error = format!(
            "::error file=openapi.yaml,line={},title=max-length-decreased::schema UpdateContactRequest.email: maxLength 255 -> 200 (",
            line_of(&tmp, "maxLength: 200")?
        );
        assert!(lines[0].starts_with(&error), "{out}");
        let notice = format!(
            "::notice file=openapi.yaml,line={},title=description-changed::",
            line_of(&tmp, "description: Whether the contact is anonymous.")?
        );
        assert!(lines[1].starts_with(&notice), "{out}");
        std::fs::remove_dir_all(&tmp)?;
        Ok(())
    }

    /// `--base` compares with another summary or spec (the base branch's), so a pull request
    /// whose snapshot is fresh still gets its change list; `--format markdown` is its comment.
    #[test]
    fn base_lists_the_changes_of_a_fresh_snapshot_as_markdown() -> Result<()> {
        let tmp = scratch("base", tighten)?;
        let base = tmp.join("base-openapi.yaml");
        std::fs::copy(workspace_root().join(SPEC), &base)?;
        run(&tmp, &[]).0?;
        let (result, out, _) = run(&tmp, &["--check"]);
        result?;
        assert!(!out.contains("maxLength"), "{out}");
        let base_arg = base.display().to_string();
        let (result, out, err) = run(
            &tmp,
            &["--check", "--format", "markdown", "--base", &base_arg],
        );
        result?;
        assert!(
            out.starts_with("### Spec changes: 1 breaking, 0 ok, 0 docs\n"),
            "{out}"
        );
        let row = format!(
            "| **breaking** | `schema UpdateContactRequest.email` | maxLength 255 -> 200 | longer values that were accepted are refused | `openapi.yaml:{}` |",
            line_of(&tmp, "maxLength: 200")?
        );
        assert!(out.contains(&row), "{out}");
        assert!(err.contains("up to date"), "{err}");
        std::fs::remove_dir_all(&tmp)?;
        Ok(())
    }

    /// A summary written before summary format 2 cannot be compared fact by fact: it is
    /// rewritten with a note instead of a list of spurious changes.
    #[test]
    fn a_summary_of_an_older_format_is_rewritten_without_a_change_list() -> Result<()> {
        let tmp = scratch("older", tighten)?;
        write(
            &tmp.join(SUMMARY),
            "{\"operations\": {}, \"schemas\": {\"Contact\": {\"ty\": \"object\"}}}\n",
        )?;
        let (result, out, _) = run(&tmp, &[]);
        result?;
        assert!(
            out.contains("written in summary format 1 (this is format 2)"),
            "{out}"
        );
        assert!(!out.contains("[BREAKING]"), "{out}");
        let rewritten: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(tmp.join(SUMMARY))?)?;
        assert_eq!(rewritten["format"], serde_json::json!(2));
        run(&tmp, &["--check"]).0?;
        std::fs::remove_dir_all(&tmp)?;
        Ok(())
    }

    #[test]
    fn bad_arguments_are_refused_by_name() {
        for (args, message) in [
            (vec!["--format", "yaml"], "unknown format `yaml`"),
            (vec!["--format"], "--format needs a value"),
            (vec!["--verbose"], "unknown argument `--verbose`"),
        ] {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            let err = Options::parse(&args).err().map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains(message)),
                "{err:?}"
            );
        }
    }
}
