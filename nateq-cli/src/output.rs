//! Writing results on stdout.

use std::io::Write;

use anyhow::Context;
use serde::Serialize;

use crate::cli::OutputFormat;

/// Writes `value` as JSON on stdout, followed by a newline, and flushes.
///
/// A closed stdout surfaces as an `io::Error` of kind `BrokenPipe` in the chain, which `main`
/// treats as success.
pub fn print_json<T: Serialize>(value: &T, format: OutputFormat) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    write_json(&mut stdout, value, format).context("cannot write to stdout")
}

/// Writes `value` as JSON to `out`, followed by a newline, and flushes.
pub fn write_json<T: Serialize>(
    out: &mut impl Write,
    value: &T,
    format: OutputFormat,
) -> std::io::Result<()> {
    let result = match format {
        OutputFormat::Json => serde_json::to_writer(&mut *out, value),
        OutputFormat::Pretty => serde_json::to_writer_pretty(&mut *out, value),
    };
    result.map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_one_line_and_pretty_is_indented() {
        let value = serde_json::json!({"id": "ct_1", "name": "Ada"});
        let mut out = Vec::new();
        write_json(&mut out, &value, OutputFormat::Json).unwrap();
        assert_eq!(out, b"{\"id\":\"ct_1\",\"name\":\"Ada\"}\n");
        out.clear();
        write_json(&mut out, &value, OutputFormat::Pretty).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n  \"id\": \"ct_1\",\n  \"name\": \"Ada\"\n}\n"
        );
    }
}
