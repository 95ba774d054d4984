//! Test helpers: the real `openapi.yaml` with one edit applied through `serde_yaml::Value`.
//!
//! A path is written like a JSON pointer (`/components/schemas/Contact/properties/name`,
//! `~1` for a `/` inside a key); a number indexes a sequence.

use serde_yaml::Value;

/// The workspace's spec, as committed.
pub const SPEC: &str = include_str!("../../../openapi.yaml");

/// The real spec as a YAML value.
pub fn spec_value() -> Value {
    serde_yaml::from_str(SPEC).unwrap_or_else(|e| panic!("openapi.yaml does not parse: {e}"))
}

/// Parses a YAML snippet (`"255"`, `"{type: string}"`, `"[id, name]"`).
pub fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap_or_else(|e| panic!("`{text}` is not YAML: {e}"))
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn step<'a>(node: &'a mut Value, seg: &str, path: &str) -> &'a mut Value {
    match node {
        Value::Sequence(items) => {
            let index: usize = seg
                .parse()
                .unwrap_or_else(|_| panic!("{path}: `{seg}` does not index a sequence"));
            items
                .get_mut(index)
                .unwrap_or_else(|| panic!("{path}: no item {index}"))
        }
        Value::Mapping(map) => map
            .get_mut(seg)
            .unwrap_or_else(|| panic!("{path}: no key `{seg}`")),
        _ => panic!("{path}: `{seg}` is below a scalar"),
    }
}

/// The node at `path`, which must exist.
pub fn at<'a>(root: &'a mut Value, path: &str) -> &'a mut Value {
    segments(path)
        .iter()
        .fold(root, |node, seg| step(node, seg, path))
}

fn split(path: &str) -> (&str, String) {
    let (parent, last) = path
        .rsplit_once('/')
        .unwrap_or_else(|| panic!("{path}: no parent"));
    (parent, last.replace("~1", "/").replace("~0", "~"))
}

/// Sets (or adds) the key at `path` to `value`; the parent must exist.
pub fn set(root: &mut Value, path: &str, value: Value) {
    let (parent, key) = split(path);
    match at(root, parent) {
        Value::Mapping(map) => {
            map.insert(Value::String(key), value);
        }
        Value::Sequence(items) => {
            let index: usize = key
                .parse()
                .unwrap_or_else(|_| panic!("{path}: not an index"));
            if index == items.len() {
                items.push(value);
            } else {
                items[index] = value;
            }
        }
        _ => panic!("{path}: the parent is a scalar"),
    }
}

/// Removes the key (or sequence item) at `path`, which must exist.
pub fn remove(root: &mut Value, path: &str) {
    let (parent, key) = split(path);
    let removed = match at(root, parent) {
        Value::Mapping(map) => map.remove(key.as_str()).is_some(),
        Value::Sequence(items) => {
            let index: usize = key
                .parse()
                .unwrap_or_else(|_| panic!("{path}: not an index"));
            index < items.len() && {
                items.remove(index);
                true
            }
        }
        _ => false,
    };
    assert!(removed, "{path}: nothing to remove");
}

/// Renames the key at `path` to `new_key`, keeping its value.
pub fn rename(root: &mut Value, path: &str, new_key: &str) {
    let value = at(root, path).clone();
    remove(root, path);
    let (parent, _) = split(path);
    set(
        root,
        &format!("{parent}/{}", new_key.replace('/', "~1")),
        value,
    );
}

/// Appends `value` to the sequence at `path`, creating the sequence when the key is absent.
pub fn push(root: &mut Value, path: &str, value: Value) {
    let (parent, key) = split(path);
    let Value::Mapping(map) = at(root, parent) else {
        panic!("{path}: the parent is not a mapping");
    };
    match map
        .entry(Value::String(key))
        .or_insert_with(|| Value::Sequence(Vec::new()))
    {
        Value::Sequence(items) => items.push(value),
        _ => panic!("{path}: not a sequence"),
    }
}

/// The real spec with `edit` applied, as an OpenAPI document.
pub fn edited(edit: impl FnOnce(&mut Value)) -> openapiv3::OpenAPI {
    let mut value = spec_value();
    edit(&mut value);
    serde_yaml::from_value(value).unwrap_or_else(|e| panic!("the edited spec is not OpenAPI: {e}"))
}

/// The real spec as an OpenAPI document.
pub fn real() -> openapiv3::OpenAPI {
    edited(|_| {})
}

/// The edit that changes nothing (the real spec).
pub fn remove_nothing(_: &mut Value) {}
