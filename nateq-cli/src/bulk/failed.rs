//! `--failed-out FILE`: every failed row in the input's own format, with its error, ready to be
//! fixed and fed back with `--input` (which ignores the error).
//!
//! - JSONL: the row's line as given (its properties and values, in their order), plus an
//!   `_error` object: `{"line":12,"kind":"api","status":404,"code":"NOT_FOUND","message":"...",
//!   "requestId":"req_7"}` (and `details` for a `400`). A line that is not a JSON object is
//!   written as given, without `_error` (nothing can be added to it): its error is in the
//!   report and on stderr.
//! - CSV: the input's header plus an `_error` column, then each failed row's cells as given,
//!   with the error as text in that column (`line 12: 404 NOT_FOUND: contact ct_9 not found
//!   (request req_7)`): a spreadsheet shows it, and input ignores the column.
//!
//! An `_error` the row already had (a file of failed rows fed back) is replaced, not repeated.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use serde_json::value::RawValue;

use super::input::{ERROR_PROPERTY, Raw};
use super::report::ReportLine;
use crate::cli::InputFormat;

/// The file of failed rows.
#[derive(Debug)]
pub struct FailedOut {
    path: PathBuf,
    sink: Sink,
}

#[derive(Debug)]
enum Sink {
    Jsonl(BufWriter<File>),
    Csv {
        out: Box<csv::Writer<File>>,
        /// The index of the `_error` column: the input's own, or one past its header.
        error_column: Option<usize>,
    },
}

/// The `_error` object of a JSONL row.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorInfo<'a> {
    line: u64,
    kind: Option<&'a str>,
    status: Option<u16>,
    code: Option<&'a str>,
    message: Option<&'a str>,
    request_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Value>,
}

impl FailedOut {
    /// Creates (or replaces) the file; for CSV, the header is written by
    /// [`header`](Self::header) once the input's is read.
    pub fn create(path: &Path, format: InputFormat) -> anyhow::Result<FailedOut> {
        let file = File::create(path)
            .with_context(|| format!("cannot create --failed-out {}", path.display()))?;
        let sink = match format {
            InputFormat::Jsonl => Sink::Jsonl(BufWriter::new(file)),
            InputFormat::Csv => Sink::Csv {
                out: Box::new(csv::WriterBuilder::new().flexible(true).from_writer(file)),
                error_column: None,
            },
        };
        Ok(FailedOut {
            path: path.to_path_buf(),
            sink,
        })
    }

    /// Writes the CSV header: the input's, with an `_error` column (the input's own, if it has
    /// one, else a new last one).
    pub fn header(&mut self, header: &csv::StringRecord) -> anyhow::Result<()> {
        let Sink::Csv { out, error_column } = &mut self.sink else {
            return Ok(());
        };
        let own = header.iter().position(|c| c.trim() == ERROR_PROPERTY);
        *error_column = Some(own.unwrap_or(header.len()));
        let result = if own.is_some() {
            out.write_record(header)
        } else {
            out.write_record(header.iter().chain([ERROR_PROPERTY]))
        };
        result
            .and_then(|()| out.flush().map_err(csv::Error::from))
            .with_context(|| format!("cannot write --failed-out {}", self.path.display()))
    }

    /// Writes one failed row (if its text was kept) with the error of its report line.
    pub fn write(&mut self, raw: Option<&Raw>, entry: &ReportLine) -> anyhow::Result<()> {
        let Some(raw) = raw else {
            return Ok(());
        };
        let result = match (&mut self.sink, raw) {
            (Sink::Jsonl(out), Raw::Line(text)) => {
                let line = with_error(text, entry);
                out.write_all(line.as_bytes())
                    .and_then(|()| out.write_all(b"\n"))
                    .and_then(|()| out.flush())
            }
            (Sink::Csv { out, error_column }, Raw::Record(record)) => {
                let column = error_column.unwrap_or(record.len());
                let text = error_text(entry);
                let mut cells: Vec<&str> = record.iter().collect();
                if column < cells.len() {
                    cells[column] = &text;
                } else {
                    cells.resize(column, "");
                    cells.push(&text);
                }
                out.write_record(&cells)
                    .and_then(|()| out.flush().map_err(csv::Error::from))
                    .map_err(std::io::Error::other)
            }
            // A row kept in the other format cannot happen: one input, one format.
            _ => Ok(()),
        };
        result.with_context(|| format!("cannot write --failed-out {}", self.path.display()))
    }
}

/// A JSONL row as given with `_error` set to the row's error: its other properties and their
/// values are kept as they were written, in their order.
fn with_error(text: &str, entry: &ReportLine) -> String {
    let Ok(OrderedObject(properties)) = serde_json::from_str::<OrderedObject<'_>>(text) else {
        return text.to_string();
    };
    let info = ErrorInfo {
        line: entry.line,
        kind: entry.kind.as_deref(),
        status: entry.status,
        code: entry.code.as_deref(),
        message: entry.message.as_deref(),
        request_id: entry.request_id.as_deref(),
        details: entry.details.as_ref(),
    };
    let mut out = String::with_capacity(text.len() + 128);
    out.push('{');
    for (name, value) in properties.iter().filter(|(n, _)| n != ERROR_PROPERTY) {
        out.push_str(&serde_json::Value::from(name.as_str()).to_string());
        out.push(':');
        out.push_str(value.get());
        out.push(',');
    }
    out.push_str(&serde_json::Value::from(ERROR_PROPERTY).to_string());
    out.push(':');
    out.push_str(&serde_json::to_string(&info).unwrap_or_else(|_| "null".into()));
    out.push('}');
    out
}

/// A JSON object's properties in their order, each value as its text.
#[derive(Debug)]
struct OrderedObject<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for OrderedObject<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = OrderedObject<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, &'a RawValue>()? {
                    pairs.push(pair);
                }
                Ok(OrderedObject(pairs))
            }
        }
        deserializer.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

/// The error of a failed row as one line of text: `line 12: 404 NOT_FOUND: contact ct_9 not
/// found (request req_7)`.
pub fn error_text(entry: &ReportLine) -> String {
    let mut text = format!("line {}: {}", entry.line, super::failure_text(entry));
    if let Some(request) = &entry.request_id {
        text.push_str(&format!(" (request {request})"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bulk::report::Outcome;

    fn failed(line: u64) -> ReportLine {
        ReportLine {
            kind: Some("api".into()),
            status: Some(404),
            code: Some("NOT_FOUND".into()),
            message: Some("contact ct_9 not found".into()),
            request_id: Some("req_7".into()),
            ..ReportLine::new(line, Some("ct_9".into()), Outcome::Error)
        }
    }

    #[test]
    fn a_jsonl_row_keeps_its_text_and_gains_one_error() {
        let error = r#""_error":{"line":3,"kind":"api","status":404,"code":"NOT_FOUND","message":"contact ct_9 not found","requestId":"req_7"}"#;
        assert_eq!(
            with_error(r#"{"id": "ct_9",  "name":"Z\u00e9", "n":1.50}"#, &failed(3)),
            format!(r#"{{"id":"ct_9","name":"Z\u00e9","n":1.50,{error}}}"#)
        );
        // Fed back and failed again: the old error is replaced, not repeated.
        let again = with_error(
            r#"{"_error":{"line":1},"id":"ct_9","type":"guest"}"#,
            &failed(3),
        );
        assert_eq!(again, format!(r#"{{"id":"ct_9","type":"guest",{error}}}"#));
        assert_eq!(again.matches("_error").count(), 1);
        assert_eq!(with_error("{}", &failed(3)), format!("{{{error}}}"));
        // Not an object: as given.
        assert_eq!(with_error("{not json", &failed(3)), "{not json");
        assert_eq!(with_error("[1,2]", &failed(3)), "[1,2]");
    }

    #[test]
    fn the_csv_error_text_names_the_line_status_code_and_request() {
        assert_eq!(
            error_text(&failed(12)),
            "line 12: 404 NOT_FOUND: contact ct_9 not found (request req_7)"
        );
    }
}
