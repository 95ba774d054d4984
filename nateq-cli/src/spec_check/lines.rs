//! Where each node of `openapi.yaml` is: the line of every key and list item, by JSON pointer,
//! so a finding can name the spec line to edit.

use std::collections::HashMap;

use anyhow::Context;
use saphyr_parser::{Event, Parser};

/// The line (1-based) of every node of a YAML document, by its JSON pointer: a mapping value
/// is at the line of its key, a list item at the line where it starts.
#[derive(Debug, Default)]
pub struct Lines {
    lines: HashMap<String, usize>,
}

/// One open mapping or list while the events are read.
enum Frame {
    Map {
        pointer: String,
        /// The key whose value comes next; `None` while a key is expected.
        key: Option<String>,
    },
    List {
        pointer: String,
        next: usize,
    },
}

impl Lines {
    /// Reads the positions of `yaml`'s nodes.
    pub fn parse(yaml: &str) -> anyhow::Result<Lines> {
        let mut lines = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        for event in Parser::new_from_str(yaml) {
            let (event, span) = event.context("the spec is not valid YAML")?;
            let line = span.start.line();
            match event {
                Event::Scalar(..) | Event::Alias(_) => {
                    let text = match &event {
                        Event::Scalar(value, ..) => value.to_string(),
                        _ => String::new(),
                    };
                    match stack.last_mut() {
                        // A value ends a pair (a key is next); a key opens one.
                        Some(Frame::Map { pointer, key }) => {
                            let was_value = key.take().is_some();
                            if !was_value {
                                lines.insert(child(pointer, &text), line);
                                *key = Some(text);
                            }
                        }
                        Some(Frame::List { pointer, next }) => {
                            lines.insert(child(pointer, &next.to_string()), line);
                            *next += 1;
                        }
                        None => {}
                    }
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    let pointer = match stack.last_mut() {
                        // A value: its line is its key's.
                        Some(Frame::Map { pointer, key }) => match key.take() {
                            Some(key) => child(pointer, &key),
                            // A complex key (a mapping as a key): not addressable by a pointer.
                            None => child(pointer, "?"),
                        },
                        Some(Frame::List { pointer, next }) => {
                            let item = child(pointer, &next.to_string());
                            lines.insert(item.clone(), line);
                            *next += 1;
                            item
                        }
                        None => {
                            lines.insert(String::new(), line);
                            String::new()
                        }
                    };
                    stack.push(if matches!(event, Event::MappingStart(..)) {
                        Frame::Map { pointer, key: None }
                    } else {
                        Frame::List { pointer, next: 0 }
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                _ => {}
            }
        }
        Ok(Lines { lines })
    }

    /// The line of the node at `pointer` (a JSON pointer such as
    /// `/components/schemas/Contact/properties/id`), if the document has it.
    pub fn line(&self, pointer: &str) -> Option<usize> {
        self.lines.get(pointer).copied()
    }
}

/// The pointer of `parent`'s child `token` (escaped as RFC 6901 says).
pub fn child(parent: &str, token: &str) -> String {
    format!("{parent}/{}", token.replace('~', "~0").replace('/', "~1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_items_have_their_lines() {
        let yaml = "\
a: 1
paths:
  /contacts/{id}:
    put:
      tags:
        - contacts
        - {x: 1}
b:
  c: d
";
        let lines = Lines::parse(yaml).unwrap();
        assert_eq!(lines.line(""), Some(1));
        assert_eq!(lines.line("/a"), Some(1));
        assert_eq!(lines.line("/paths"), Some(2));
        assert_eq!(lines.line("/paths/~1contacts~1{id}"), Some(3));
        assert_eq!(lines.line("/paths/~1contacts~1{id}/put/tags"), Some(5));
        assert_eq!(lines.line("/paths/~1contacts~1{id}/put/tags/0"), Some(6));
        assert_eq!(lines.line("/paths/~1contacts~1{id}/put/tags/1"), Some(7));
        assert_eq!(lines.line("/paths/~1contacts~1{id}/put/tags/1/x"), Some(7));
        assert_eq!(lines.line("/b/c"), Some(9));
        assert_eq!(lines.line("/b/d"), None);
    }

    #[test]
    fn the_repository_spec_is_mapped() {
        let spec = include_str!("../../../openapi.yaml");
        let lines = Lines::parse(spec).unwrap();
        let contact = lines.line("/components/schemas/Contact").unwrap();
        let id = lines
            .line("/components/schemas/Contact/properties/id")
            .unwrap();
        let text: Vec<&str> = spec.lines().collect();
        assert_eq!(text[contact - 1].trim(), "Contact:");
        assert_eq!(text[id - 1].trim(), "id:");
        assert!(id > contact);
    }
}
