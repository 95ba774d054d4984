//! The line of `openapi.yaml` that a change points at.
//!
//! `serde_yaml` (which the generator reads the spec with) keeps no positions, so the spec is
//! read a second time with `saphyr`, a maintained YAML 1.2 parser whose `MarkedYamlOwned`
//! nodes carry their span. A change's path is walked key by key (a parameter is found by its
//! `name`, and a `$ref` is followed when the key is not beside it); the line is that of the
//! last key found, so a removed property points at the schema that lost it.

use saphyr::{LoadableYamlNode, MarkedYamlOwned, ScalarOwned, YamlDataOwned};

use super::Change;

/// Finds lines in one spec's text.
#[derive(Debug)]
pub struct Locator {
    root: MarkedYamlOwned,
}

/// How far a path went into the document.
struct Found {
    line: Option<usize>,
    complete: bool,
}

impl Locator {
    /// Parses `text`; `None` when it is not YAML.
    pub fn new(text: &str) -> Option<Locator> {
        let root = MarkedYamlOwned::load_from_str(text)
            .ok()?
            .into_iter()
            .next()?;
        Some(Locator { root })
    }

    /// The 1-based line of the node at `path` (a JSON pointer), or of the deepest node on the
    /// way to it that exists.
    pub fn line(&self, path: &str) -> Option<usize> {
        self.walk(path).line
    }

    /// Fills in every change's `line`.
    pub fn fill(&self, changes: &mut [Change]) {
        for change in changes {
            let first = self.walk(&change.path);
            change.line = if first.complete {
                first.line
            } else {
                change
                    .fallbacks
                    .iter()
                    .map(|p| self.walk(p))
                    .find(|f| f.complete)
                    .map_or(first.line, |f| f.line)
            };
        }
    }

    fn walk(&self, path: &str) -> Found {
        let segments: Vec<String> = path
            .split('/')
            .skip(1)
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect();
        self.walk_from(&self.root, &segments, 0)
    }

    fn walk_from(&self, start: &MarkedYamlOwned, segments: &[String], depth: usize) -> Found {
        let mut node = start;
        let mut line = Some(start.span.start.line());
        for (i, seg) in segments.iter().enumerate() {
            match step(node, seg) {
                Some((key_line, next)) => {
                    line = Some(key_line);
                    node = next;
                }
                None => {
                    // The key may be behind a `$ref` (a shared response, a named schema).
                    let target = reference(node)
                        .and_then(|r| (depth < 8).then(|| self.walk_target(&r)).flatten());
                    if let Some(target) = target {
                        let rest = self.walk_from(target, &segments[i..], depth + 1);
                        if rest.complete {
                            return rest;
                        }
                    }
                    return Found {
                        line,
                        complete: false,
                    };
                }
            }
        }
        Found {
            line,
            complete: true,
        }
    }

    fn walk_target(&self, reference: &str) -> Option<&MarkedYamlOwned> {
        let pointer = reference.strip_prefix('#')?;
        let mut node = &self.root;
        for seg in pointer.split('/').skip(1) {
            let seg = seg.replace("~1", "/").replace("~0", "~");
            node = step(node, &seg)?.1;
        }
        Some(node)
    }
}

fn scalar_text(node: &MarkedYamlOwned) -> Option<String> {
    match &node.data {
        YamlDataOwned::Value(ScalarOwned::String(s)) => Some(s.clone()),
        YamlDataOwned::Value(ScalarOwned::Integer(i)) => Some(i.to_string()),
        YamlDataOwned::Value(ScalarOwned::Boolean(b)) => Some(b.to_string()),
        YamlDataOwned::Value(ScalarOwned::FloatingPoint(f)) => Some(f.to_string()),
        YamlDataOwned::Value(ScalarOwned::Null) => Some("null".to_string()),
        _ => None,
    }
}

fn get<'a>(
    node: &'a MarkedYamlOwned,
    key: &str,
) -> Option<(&'a MarkedYamlOwned, &'a MarkedYamlOwned)> {
    match &node.data {
        YamlDataOwned::Mapping(map) => map
            .iter()
            .find(|(k, _)| scalar_text(k).as_deref() == Some(key)),
        _ => None,
    }
}

fn reference(node: &MarkedYamlOwned) -> Option<String> {
    get(node, "$ref").and_then(|(_, v)| scalar_text(v))
}

/// One step down: the line of the key (or item) and the node under it.
fn step<'a>(node: &'a MarkedYamlOwned, seg: &str) -> Option<(usize, &'a MarkedYamlOwned)> {
    match &node.data {
        YamlDataOwned::Mapping(_) => get(node, seg).map(|(k, v)| (k.span.start.line(), v)),
        YamlDataOwned::Sequence(items) => {
            let item = match seg.parse::<usize>() {
                Ok(index) => items.get(index),
                // A parameter is named, not numbered: the item whose `name` is `seg`.
                Err(_) => items.iter().find(|item| {
                    get(item, "name")
                        .and_then(|(_, v)| scalar_text(v))
                        .as_deref()
                        == Some(seg)
                }),
            }?;
            Some((item.span.start.line(), item))
        }
        _ => None,
    }
}
