//! Reading `update-many` rows: JSONL or CSV, streamed on a thread of its own into a bounded
//! channel, so memory does not grow with the input and parsing overlaps the requests.

use std::io::{BufRead, Read};

use nateq_api::{ContactId, ContactUpdate};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use std::sync::atomic::Ordering;

use super::progress::ParsedRows;
use super::report::DoneSet;
use crate::cli::InputFormat;
use crate::exit::CliError;
use crate::fields::{self, FieldSet, Kind};

/// The longest JSONL line read; a longer one is reported as a malformed row and skipped.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// One row of the input, or why the input cannot be read further.
#[derive(Debug)]
pub enum Item {
    /// A row, valid or not, with its 1-based line number.
    Row {
        /// Line number in the input (for CSV, the line the record starts on).
        line: u64,
        /// The row.
        row: Row,
    },
    /// A row the report already records as done (with `--resume`).
    Skipped,
    /// A row not done yet (with `--resume`) whose every field a later, done row of the same
    /// contact already set: sending it would overwrite newer values, so it is not sent.
    Superseded {
        /// Line number in the input.
        line: u64,
        /// The contact id.
        id: String,
        /// The fields it would have set.
        fields: FieldSet,
    },
    /// The input cannot be read further (an I/O error, a bad CSV header).
    Fatal(anyhow::Error),
    /// The CSV header, sent first when rows keep their text (`--failed-out`).
    Header(csv::StringRecord),
}

/// A row as the input gave it, kept for `--failed-out`.
#[derive(Debug, Clone)]
pub enum Raw {
    /// A JSONL line, without its line ending.
    Line(String),
    /// A CSV record, every cell as read.
    Record(csv::StringRecord),
}

/// The property a row may carry that is not a field: the error `--failed-out` adds to a failed
/// row. Input ignores it, so a file of failed rows can be fixed and fed back as it is.
pub const ERROR_PROPERTY: &str = "_error";

/// A row of the input.
#[derive(Debug)]
pub enum Row {
    /// A valid row: ready to send.
    Valid {
        /// The contact id.
        id: String,
        /// The fields to change (already validated).
        update: Box<ContactUpdate>,
        /// The names of the fields it sets.
        fields: FieldSet,
        /// The row as given, when kept.
        raw: Option<Raw>,
    },
    /// A malformed row: reported, never sent.
    Invalid {
        /// The id, if the row has one.
        id: Option<String>,
        /// What is wrong with it.
        message: String,
        /// The row as given, when kept.
        raw: Option<Raw>,
    },
}

/// Reads rows from `input` until it ends, the receiver is dropped, or a fatal error.
/// Rows that `done` already has are sent as [`Item::Skipped`]; the fields that later done rows
/// of the same contact set are dropped from the others (see [`against_done`]). With
/// `keep_raw`, each row carries its text as given (and a CSV input's header comes first). The
/// rows parsed are counted in `parsed`, which is marked ended at the end of the input.
pub fn read_rows(
    input: impl Read,
    format: InputFormat,
    done: DoneSet,
    keep_raw: bool,
    parsed: &ParsedRows,
    tx: &mpsc::Sender<Item>,
) {
    let mut emit = |line: u64, row: Row| -> bool {
        parsed.rows.fetch_add(1, Ordering::Relaxed);
        tx.blocking_send(against_done(&done, line, row)).is_ok()
    };
    let result = match format {
        InputFormat::Jsonl => read_jsonl(input, keep_raw, &mut emit),
        InputFormat::Csv => read_csv(input, keep_raw.then_some(tx), &mut emit),
    };
    parsed.ended.store(true, Ordering::Relaxed);
    if let Err(e) = result {
        let _ = tx.blocking_send(Item::Fatal(e));
    }
}

/// What to do with a row given the rows a report records as done: skip it if it is done; drop
/// from it the fields that a later done row of the same contact set (it must not overwrite
/// them); if that leaves nothing, it is superseded.
pub fn against_done(done: &DoneSet, line: u64, row: Row) -> Item {
    let Row::Valid {
        id,
        update,
        fields,
        raw,
    } = row
    else {
        return Item::Row { line, row };
    };
    if done.contains(line, &id) {
        return Item::Skipped;
    }
    let newer = fields.intersection(done.set_later(line, &id));
    if newer.is_empty() {
        return Item::Row {
            line,
            row: Row::Valid {
                id,
                update,
                fields,
                raw,
            },
        };
    }
    let left = fields.minus(newer);
    if left.is_empty() {
        return Item::Superseded { line, id, fields };
    }
    let row = match without_fields(*update, newer) {
        Ok(update) => Row::Valid {
            id,
            update: Box::new(update),
            fields: left,
            raw,
        },
        Err(e) => Row::Invalid {
            id: Some(id),
            message: format!("cannot drop the fields set by later rows: {e}"),
            raw,
        },
    };
    Item::Row { line, row }
}

/// The update without the given fields.
fn without_fields(
    update: ContactUpdate,
    drop: FieldSet,
) -> Result<ContactUpdate, serde_json::Error> {
    let mut value = serde_json::to_value(update)?;
    if let Value::Object(object) = &mut value {
        for name in drop.names() {
            object.remove(name);
        }
    }
    serde_json::from_value(value)
}

/// Reads JSONL; `emit` returns false to stop. With `keep_raw`, each row keeps its line.
fn read_jsonl(
    input: impl Read,
    keep_raw: bool,
    emit: &mut impl FnMut(u64, Row) -> bool,
) -> anyhow::Result<()> {
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, input);
    let mut buf = Vec::with_capacity(1024);
    let mut line = 0u64;
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| {
                anyhow::Error::from(e).context(format!("cannot read line {}", line + 1))
            })?;
        if n == 0 {
            return Ok(());
        }
        line += 1;
        let row = if buf.len() > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
            skip_rest_of_line(&mut reader)
                .map_err(|e| anyhow::Error::from(e).context(format!("cannot read line {line}")))?;
            // Not kept: only its first megabyte was read.
            Row::Invalid {
                id: None,
                message: format!("line is longer than {MAX_LINE_BYTES} bytes"),
                raw: None,
            }
        } else {
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let text = buf.trim_ascii_end();
            let mut row = parse_json_row(text);
            if keep_raw {
                row.keep(Raw::Line(String::from_utf8_lossy(text).into_owned()));
            }
            row
        };
        if !emit(line, row) {
            return Ok(());
        }
    }
}

/// Discards input up to and including the next newline.
fn skip_rest_of_line(reader: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        if let Some(pos) = chunk.iter().position(|&b| b == b'\n') {
            reader.consume(pos + 1);
            return Ok(());
        }
        let len = chunk.len();
        reader.consume(len);
    }
}

impl Row {
    /// Keeps the row's text as given.
    fn keep(&mut self, text: Raw) {
        match self {
            Row::Valid { raw, .. } | Row::Invalid { raw, .. } => *raw = Some(text),
        }
    }
}

/// Parses one JSONL row: an object with a string `id` and the fields to change (and, ignored,
/// the `_error` that `--failed-out` adds).
pub fn parse_json_row(bytes: &[u8]) -> Row {
    let mut object: Map<String, Value> = match serde_json::from_slice(bytes) {
        Ok(object) => object,
        Err(e) => {
            return Row::Invalid {
                id: None,
                message: json_syntax_message(&e),
                raw: None,
            };
        }
    };
    object.remove(ERROR_PROPERTY);
    let id = match object.remove("id") {
        Some(Value::String(id)) => id,
        Some(other) => {
            return Row::Invalid {
                id: None,
                message: format!("invalid id: must be a string, not {}", json_type(&other)),
                raw: None,
            };
        }
        None => {
            return Row::Invalid {
                id: None,
                message: "missing id".to_string(),
                raw: None,
            };
        }
    };
    if let Err(message) = check_kinds(&object) {
        return Row::Invalid {
            id: Some(id),
            message,
            raw: None,
        };
    }
    validated(id, object)
}

/// Names the first field whose value has the wrong JSON type (serde's message would not).
pub fn check_kinds(object: &Map<String, Value>) -> Result<(), String> {
    for (name, value) in object {
        let expected = match fields::kind_of(name) {
            Some(Kind::Bool) if !value.is_boolean() => "true or false",
            Some(Kind::Text) if !value.is_string() => "a string",
            _ => continue,
        };
        let hint = if value.is_null() {
            " (leave the field out to keep its value)"
        } else {
            ""
        };
        return Err(format!(
            "invalid {name}: expected {expected}, not {}{hint}",
            json_type(value)
        ));
    }
    Ok(())
}

/// Builds the update from the row's fields and checks it, and the id, as the SDK would before
/// sending.
fn validated(id: String, object: Map<String, Value>) -> Row {
    let fields = FieldSet::from_names(object.keys().map(String::as_str));
    let update = match serde_json::from_value::<ContactUpdate>(Value::Object(object)) {
        Ok(update) => update,
        Err(e) => {
            return Row::Invalid {
                id: Some(id),
                message: e.to_string(),
                raw: None,
            };
        }
    };
    let check = ContactId::new(&id).and_then(|_| update.to_request().map(drop));
    match check {
        Ok(()) => Row::Valid {
            id,
            update: Box::new(update),
            fields,
            raw: None,
        },
        Err(e) => Row::Invalid {
            id: Some(id),
            message: e.to_string(),
            raw: None,
        },
    }
}

/// A serde_json syntax error without its `at line 1 column N` suffix (a row is one line).
fn json_syntax_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let reason = match text.rsplit_once(" at line ") {
        Some((reason, _)) => reason,
        None => &text,
    };
    if error.is_data() {
        // Valid JSON, but not an object.
        "not a JSON object".to_string()
    } else {
        format!("invalid JSON at column {}: {reason}", error.column())
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// How the CSV header's columns map onto the request body.
#[derive(Debug)]
struct Columns {
    id: usize,
    /// (column index, field name, kind) of every other column.
    fields: Vec<(usize, &'static str, Kind)>,
}

impl Columns {
    /// Checks the header: an `id` column, known field names, no duplicates.
    fn from_header(header: &csv::StringRecord) -> Result<Columns, CliError> {
        let mut id = None;
        let mut fields: Vec<(usize, &'static str, Kind)> = Vec::new();
        for (index, name) in header.iter().enumerate() {
            let name = name.trim();
            if name == ERROR_PROPERTY {
                continue;
            }
            if name == "id" {
                if id.replace(index).is_some() {
                    return Err(CliError::validation("line 1: column \"id\" appears twice"));
                }
                continue;
            }
            let Some((known, kind)) = fields::find(name) else {
                let names: Vec<&str> = fields::names().collect();
                return Err(CliError::validation(format!(
                    "line 1: unknown column {name:?}; the columns are id, {}",
                    names.join(", ")
                )));
            };
            if fields.iter().any(|(_, n, _)| *n == known) {
                return Err(CliError::validation(format!(
                    "line 1: column {name:?} appears twice"
                )));
            }
            fields.push((index, known, kind));
        }
        let id =
            id.ok_or_else(|| CliError::validation("line 1: the header has no \"id\" column"))?;
        Ok(Columns { id, fields })
    }

    /// Converts a record; empty cells leave their field unset.
    fn row(&self, record: &csv::StringRecord) -> Row {
        let id = record.get(self.id).unwrap_or_default().to_string();
        let mut object = Map::new();
        for &(index, name, kind) in &self.fields {
            let cell = record.get(index).unwrap_or_default();
            if cell.is_empty() {
                continue;
            }
            let value = match kind {
                Kind::Text => Value::String(cell.to_string()),
                Kind::Bool if cell.eq_ignore_ascii_case("true") => Value::Bool(true),
                Kind::Bool if cell.eq_ignore_ascii_case("false") => Value::Bool(false),
                Kind::Bool => {
                    return Row::Invalid {
                        id: Some(id),
                        message: format!("invalid {name}: {cell:?} is not true or false"),
                        raw: None,
                    };
                }
            };
            object.insert(name.to_string(), value);
        }
        validated(id, object)
    }
}

/// Reads CSV with a header row; `emit` returns false to stop. With `header_to`, the header is
/// sent there first and each row keeps its record.
fn read_csv(
    input: impl Read,
    header_to: Option<&mpsc::Sender<Item>>,
    emit: &mut impl FnMut(u64, Row) -> bool,
) -> anyhow::Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .buffer_capacity(64 * 1024)
        .from_reader(input);
    let header = reader.headers().map_err(|e| csv_fatal(e, 1))?.clone();
    let columns = Columns::from_header(&header)?;
    if let Some(tx) = header_to
        && tx.blocking_send(Item::Header(header.clone())).is_err()
    {
        return Ok(());
    }
    let keep_raw = header_to.is_some();
    let mut record = csv::StringRecord::new();
    loop {
        let line_hint = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = record.position().map_or(line_hint, csv::Position::line);
                let mut row = if record.iter().all(str::is_empty) && record.len() <= 1 {
                    continue;
                } else if record.len() != header.len() {
                    Row::Invalid {
                        id: record.get(columns.id).map(str::to_string),
                        message: format!(
                            "the row has {} fields, the header {}",
                            record.len(),
                            header.len()
                        ),
                        raw: None,
                    }
                } else {
                    columns.row(&record)
                };
                if keep_raw {
                    row.keep(Raw::Record(record.clone()));
                }
                if !emit(line, row) {
                    return Ok(());
                }
            }
            Err(e) => match e.kind() {
                csv::ErrorKind::Utf8 { .. } => {
                    let line = e.position().map_or(line_hint, csv::Position::line);
                    // Not kept: its text is not UTF-8.
                    let row = Row::Invalid {
                        id: None,
                        message: "the row is not valid UTF-8".to_string(),
                        raw: None,
                    };
                    if !emit(line, row) {
                        return Ok(());
                    }
                }
                _ => return Err(csv_fatal(e, line_hint)),
            },
        }
    }
}

fn csv_fatal(error: csv::Error, line: u64) -> anyhow::Error {
    let line = error.position().map_or(line, csv::Position::line);
    if error.is_io_error() {
        anyhow::Error::from(error).context(format!("cannot read line {line}"))
    } else {
        anyhow::Error::from(error).context(format!("cannot parse csv at line {line}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` with serde's list of the request's fields (which grows with the spec) replaced
    /// by a placeholder; the list must be exactly the generated table's.
    fn without_field_list(text: &str) -> String {
        let list: Vec<String> = nateq_api::fields::UPDATE_CONTACT_FIELDS
            .iter()
            .map(|f| format!("`{}`", f.name))
            .collect();
        text.replace(
            &format!("expected one of {}", list.join(", ")),
            "expected one of <every field of the spec>",
        )
    }

    fn collect(input: &str, format: InputFormat) -> Vec<(u64, String)> {
        let mut rows = Vec::new();
        let mut emit = |line, row: Row| {
            let text = match row {
                Row::Valid { id, update, .. } => {
                    format!("ok {id} {}", serde_json::to_string(&update).unwrap())
                }
                Row::Invalid { id, message, .. } => format!("invalid {id:?}: {message}"),
            };
            rows.push((line, without_field_list(&text)));
            true
        };
        match format {
            InputFormat::Jsonl => read_jsonl(input.as_bytes(), false, &mut emit).unwrap(),
            InputFormat::Csv => read_csv(input.as_bytes(), None, &mut emit).unwrap(),
        }
        rows
    }

    #[test]
    fn jsonl_rows_keep_their_line_numbers_and_bad_rows_do_not_stop_the_rest() {
        let input = concat!(
            "{\"id\":\"ct_1\",\"name\":\"Ada\",\"doNotContact\":true}\n",
            "\n",
            "{\"id\":\"ct_2\",\"nmae\":\"typo\"}\n",
            "{\"id\":\"ct_3\",\"language\":\"abcdefghijk\"}\n",
            "{not json}\n",
            "[1,2]\n",
            "{\"name\":\"no id\"}\n",
            "{\"id\":7}\n",
            "{\"id\":\"..\"}\n",
            "{\"id\":\"ct_4\",\"type\":\"vip\"}\n",
            "{\"id\":\"ct_5\",\"type\":\"guest\"}\r\n",
            "{\"id\":\"ct_6\",\"doNotContact\":\"yes\"}\n",
            "{\"id\":\"ct_7\",\"name\":null}\n",
            "{\"id\":\"ct_8\",\"name\":",
        );
        insta::assert_debug_snapshot!(collect(input, InputFormat::Jsonl));
    }

    #[test]
    fn csv_rows_map_columns_to_fields_and_empty_cells_to_unset() {
        let input = concat!(
            "id,name,doNotContact,isAnonymous,type\n",
            "ct_1,Ada,true,,customer\n",
            "ct_2,,FALSE,,\n",
            "ct_3,\"Quoted, with comma\",yes,,\n",
            "ct_4,Too,many,fields,here,extra\n",
            "\"ct_5\",\"multi\nline\",,,\n",
            "ct_6,Last,,true,\n",
        );
        insta::assert_debug_snapshot!(collect(input, InputFormat::Csv));
    }

    #[test]
    fn csv_headers_are_checked_up_front() {
        for (header, message) in [
            ("id,nmae\n", "unknown column \"nmae\""),
            ("name,email\n", "no \"id\" column"),
            ("id,name,name\n", "column \"name\" appears twice"),
        ] {
            let mut emit = |_, _| true;
            let err = read_csv(header.as_bytes(), None, &mut emit).unwrap_err();
            assert!(err.to_string().contains(message), "{err}");
        }
    }

    #[test]
    fn resume_drops_the_fields_later_done_rows_set_or_supersedes_the_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.jsonl");
        std::fs::write(
            &path,
            "{\"line\":5,\"id\":\"ct_1\",\"result\":\"ok\",\"fields\":[\"name\",\"email\"],\"attempts\":1}\n",
        )
        .unwrap();
        let (done, _) = super::super::report::resume(&path, false).unwrap();
        let row = |text: &str| parse_json_row(text.as_bytes());
        let outcome = |line, text: &str| match against_done(&done, line, row(text)) {
            Item::Row {
                row: Row::Valid {
                    id, update, fields, ..
                },
                ..
            } => format!(
                "send {id} {} {:?}",
                serde_json::to_string(&update).unwrap(),
                fields.names().collect::<Vec<_>>()
            ),
            Item::Superseded { id, fields, .. } => {
                format!("superseded {id} {:?}", fields.names().collect::<Vec<_>>())
            }
            Item::Skipped => "skipped".to_string(),
            other => format!("{other:?}"),
        };
        assert_eq!(
            outcome(2, r#"{"id":"ct_1","name":"Old","phone":"+1"}"#),
            r#"send ct_1 {"phone":"+1"} ["phone"]"#
        );
        assert_eq!(
            outcome(3, r#"{"id":"ct_1","email":"old@example.com"}"#),
            r#"superseded ct_1 ["email"]"#
        );
        assert_eq!(outcome(5, r#"{"id":"ct_1","name":"Done"}"#), "skipped");
        assert_eq!(
            outcome(6, r#"{"id":"ct_1","name":"Newer"}"#),
            r#"send ct_1 {"name":"Newer"} ["name"]"#
        );
        assert_eq!(
            outcome(2, r#"{"id":"ct_2","name":"Other"}"#),
            r#"send ct_2 {"name":"Other"} ["name"]"#
        );
        // A row with no field has nothing to overwrite: it is sent as it is.
        assert_eq!(outcome(1, r#"{"id":"ct_1"}"#), r#"send ct_1 {} []"#);
    }

    #[test]
    fn overlong_lines_are_rows_of_their_own() {
        let mut input = String::from("{\"id\":\"ct_1\",\"name\":\"");
        input.push_str(&"x".repeat(MAX_LINE_BYTES));
        input.push_str("\"}\n{\"id\":\"ct_2\"}\n");
        let rows = collect(&input, InputFormat::Jsonl);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, 1);
        assert!(rows[0].1.contains("longer than"), "{}", rows[0].1);
        assert_eq!(rows[1], (2, "ok ct_2 {}".to_string()));
    }
}
