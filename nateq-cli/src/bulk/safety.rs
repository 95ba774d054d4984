//! Safety rails of `update-many` on production data: a one-line banner before the first
//! request, and, on a terminal, a confirmation unless `--yes`.

use std::fs::File;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;

use anyhow::Context;

use crate::cli::InputFormat;
use crate::exit::{CliError, Exit};

/// What to do before a run on production data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Show the banner and go on.
    Banner,
    /// Show the banner and ask for a confirmation first.
    Ask,
}

/// Asks only when someone can answer: stdin and stderr are terminals, and `--yes` was not given.
pub fn guard(yes: bool, stdin_terminal: bool, stderr_terminal: bool) -> Guard {
    if !yes && stdin_terminal && stderr_terminal {
        Guard::Ask
    } else {
        Guard::Banner
    }
}

/// The banner: the environment, the number of rows when it is known, and where they go.
pub fn banner(rows: Option<u64>, base_url: &str) -> String {
    let rows = match rows {
        Some(1) => "1 row".to_string(),
        Some(n) => format!("{n} rows"),
        None => "an unknown number of rows (stdin)".to_string(),
    };
    format!("update-many: PRODUCTION key (tg_live_): updating {rows} on {base_url}")
}

/// The rows of the input, counted cheaply as its non-empty lines (less the header for CSV);
/// `None` for stdin.
pub fn count_rows(path: &Path, format: InputFormat) -> anyhow::Result<Option<u64>> {
    if path == Path::new("-") {
        return Ok(None);
    }
    let file = File::open(path).with_context(|| format!("cannot open input {}", path.display()))?;
    let lines =
        count_lines(file).with_context(|| format!("cannot read input {}", path.display()))?;
    Ok(Some(match format {
        InputFormat::Csv => lines.saturating_sub(1),
        InputFormat::Jsonl => lines,
    }))
}

/// Lines that hold something other than whitespace.
fn count_lines(input: impl Read) -> std::io::Result<u64> {
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, input);
    let (mut lines, mut blank) = (0u64, true);
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        for &byte in chunk {
            if byte == b'\n' {
                lines += u64::from(!blank);
                blank = true;
            } else if !byte.is_ascii_whitespace() {
                blank = false;
            }
        }
        let len = chunk.len();
        reader.consume(len);
    }
    Ok(lines + u64::from(!blank))
}

/// Shows the banner on stderr and, if `guard` says so, asks on the terminal; an answer other
/// than `y` or `yes` stops the run before anything is sent.
pub fn confirm(guard: Guard, banner: &str) -> anyhow::Result<()> {
    eprintln!("{banner}");
    if guard == Guard::Banner {
        return Ok(());
    }
    eprint!("continue? [y/N] ");
    std::io::stderr()
        .flush()
        .context("cannot write to stderr")?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    if is_yes(&answer) {
        Ok(())
    } else {
        Err(CliError {
            exit: Exit::Other,
            message: "not confirmed: nothing was sent".to_string(),
        }
        .into())
    }
}

/// Whether the terminals can answer a question.
pub fn terminals() -> (bool, bool) {
    (
        std::io::stdin().is_terminal(),
        std::io::stderr().is_terminal(),
    )
}

fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_terminal_without_yes_is_asked() {
        assert_eq!(guard(false, true, true), Guard::Ask);
        assert_eq!(guard(true, true, true), Guard::Banner);
        assert_eq!(guard(false, false, true), Guard::Banner);
        assert_eq!(guard(false, true, false), Guard::Banner);
        assert_eq!(guard(false, false, false), Guard::Banner);
    }

    #[test]
    fn the_banner_names_the_environment_and_the_rows() {
        assert_eq!(
            banner(Some(1200), "https://api.nateq.io/api/v1"),
            "update-many: PRODUCTION key (tg_live_): updating 1200 rows on https://api.nateq.io/api/v1"
        );
        assert!(banner(Some(1), "u").contains("updating 1 row on"));
        assert!(banner(None, "u").contains("an unknown number of rows (stdin)"));
    }

    #[test]
    fn rows_are_counted_without_blank_lines_or_the_csv_header() {
        assert_eq!(count_lines(&b"a\n\n  \nb\r\nc"[..]).unwrap(), 3);
        assert_eq!(count_lines(&b""[..]).unwrap(), 0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.csv");
        std::fs::write(&path, "id,name\nct_1,a\nct_2,b\n").unwrap();
        assert_eq!(count_rows(&path, InputFormat::Csv).unwrap(), Some(2));
        assert_eq!(count_rows(&path, InputFormat::Jsonl).unwrap(), Some(3));
        assert_eq!(
            count_rows(Path::new("-"), InputFormat::Jsonl).unwrap(),
            None
        );
    }

    #[test]
    fn only_yes_confirms() {
        assert!(is_yes("y\n"));
        assert!(is_yes(" YES \n"));
        assert!(!is_yes("\n"));
        assert!(!is_yes("no\n"));
        assert!(!is_yes("yess\n"));
    }
}
