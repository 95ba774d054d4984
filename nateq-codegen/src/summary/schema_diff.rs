//! The part of the classifier that compares two schemas (or properties) in one direction:
//! type, `required`, `nullable`, format, limits, `pattern`, enum values, closed objects,
//! properties and items, and the Rust type the generator makes of them.

use serde_json::json;

use super::classify::{Diff, Place, opt_json, text};
use super::{Direction, Facts};

impl Diff<'_> {
    /// Compares one schema (or property) in `direction`; `property` says whether it is a
    /// property of an object (so that `required` and `Option` apply).
    pub(super) fn facts(
        &mut self,
        place: &Place,
        o: &Facts,
        n: &Facts,
        direction: Direction,
        property: bool,
    ) {
        self.docs(place, &o.docs, &n.docs);
        let typed = o.type_name() != n.type_name();
        if typed {
            self.push(
                "type-changed",
                direction,
                &place.child("", &["type"]),
                format!("type {} -> {}", o.type_name(), n.type_name()),
                Some(json!(o.type_name())),
                Some(json!(n.type_name())),
            );
        }
        if property && o.required != n.required {
            let kind = if n.required {
                "property-became-required"
            } else {
                "property-became-optional"
            };
            self.push(
                kind,
                direction,
                place,
                format!("required {} -> {}", o.required, n.required),
                Some(json!(o.required)),
                Some(json!(n.required)),
            );
        }
        if o.nullable != n.nullable {
            let kind = if n.nullable {
                "became-nullable"
            } else {
                "became-not-nullable"
            };
            self.push(
                kind,
                direction,
                &place.child("", &["nullable"]),
                format!("nullable {} -> {}", o.nullable, n.nullable),
                Some(json!(o.nullable)),
                Some(json!(n.nullable)),
            );
        }
        if !typed {
            self.constraints(place, o, n, direction);
            if property
                && matches!(
                    direction,
                    Direction::Response | Direction::Both | Direction::None
                )
            {
                let (before, after) = (rust_type(o, property), rust_type(n, property));
                if before != after && o.enum_values.is_empty() == n.enum_values.is_empty() {
                    self.push(
                        "generated-type-changed",
                        Direction::Response,
                        place,
                        format!("generated field {before} -> {after}"),
                        Some(json!(before)),
                        Some(json!(after)),
                    );
                }
            }
        }
        // Items that are the same named schema are compared once, under `schemas`.
        match (&o.items, &n.items) {
            (Some(oi), Some(ni)) if oi.reference.is_none() || ni.reference.is_none() => {
                self.facts(&place.child("[]", &["items"]), oi, ni, direction, false);
            }
            _ => {}
        }
        for (prop, op) in &o.properties {
            let at = place.child(&format!(".{prop}"), &["properties", prop]);
            match n.properties.get(prop) {
                None => self.push(
                    "property-removed",
                    direction,
                    &at,
                    "removed".into(),
                    Some(json!(prop)),
                    None,
                ),
                Some(np) => self.facts(&at, op, np, direction, true),
            }
        }
        for (prop, np) in &n.properties {
            if o.properties.contains_key(prop) {
                continue;
            }
            let kind = if np.required {
                "property-added-required"
            } else {
                "property-added-optional"
            };
            self.push(
                kind,
                direction,
                &place.child(&format!(".{prop}"), &["properties", prop]),
                format!(
                    "added ({}{})",
                    np.type_name(),
                    if np.required { ", required" } else { "" }
                ),
                None,
                Some(json!(prop)),
            );
        }
    }

    fn constraints(&mut self, place: &Place, o: &Facts, n: &Facts, direction: Direction) {
        match (&o.format, &n.format) {
            (None, Some(f)) => self.push(
                "format-added",
                direction,
                &place.child("", &["format"]),
                format!("format {f} added"),
                None,
                Some(json!(f)),
            ),
            (Some(f), None) => self.push(
                "format-removed",
                direction,
                &place.child("", &["format"]),
                format!("format {f} removed"),
                Some(json!(f)),
                None,
            ),
            (Some(a), Some(b)) if a != b => self.push(
                "format-changed",
                direction,
                &place.child("", &["format"]),
                format!("format {a} -> {b}"),
                Some(json!(a)),
                Some(json!(b)),
            ),
            _ => {}
        }
        if o.max_length != n.max_length {
            let tightened = match (o.max_length, n.max_length) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(a), Some(b)) => b < a,
            };
            let kind = if tightened {
                "max-length-decreased"
            } else {
                "max-length-increased"
            };
            self.push(
                kind,
                direction,
                &place.child("", &["maxLength"]),
                format!(
                    "maxLength {} -> {}",
                    text(&o.max_length),
                    text(&n.max_length)
                ),
                opt_json(&o.max_length),
                opt_json(&n.max_length),
            );
        }
        let (omin, nmin) = (o.min_length.unwrap_or(0), n.min_length.unwrap_or(0));
        if omin != nmin {
            let kind = if nmin > omin {
                "min-length-increased"
            } else {
                "min-length-decreased"
            };
            self.push(
                kind,
                direction,
                &place.child("", &["minLength"]),
                format!(
                    "minLength {} -> {}",
                    text(&o.min_length),
                    text(&n.min_length)
                ),
                opt_json(&o.min_length),
                opt_json(&n.min_length),
            );
        }
        let kind = match (&o.pattern, &n.pattern) {
            (None, Some(_)) => Some("pattern-added"),
            (Some(_), None) => Some("pattern-removed"),
            (Some(a), Some(b)) if a != b => Some("pattern-changed"),
            _ => None,
        };
        if let Some(kind) = kind {
            self.push(
                kind,
                direction,
                &place.child("", &["pattern"]),
                format!("pattern {} -> {}", text(&o.pattern), text(&n.pattern)),
                opt_json(&o.pattern),
                opt_json(&n.pattern),
            );
        }
        match (o.enum_values.is_empty(), n.enum_values.is_empty()) {
            (true, false) => self.push(
                "enum-set",
                direction,
                &place.child("", &["enum"]),
                format!("now one of {}", n.enum_values.join(", ")),
                None,
                Some(json!(n.enum_values)),
            ),
            (false, true) => self.push(
                "enum-unset",
                direction,
                &place.child("", &["enum"]),
                format!("no longer one of {}", o.enum_values.join(", ")),
                Some(json!(o.enum_values)),
                None,
            ),
            (false, false) => {
                for v in o.enum_values.iter().filter(|v| !n.enum_values.contains(v)) {
                    self.push(
                        "enum-value-removed",
                        direction,
                        &place.child("", &["enum"]),
                        format!("enum value `{v}` removed"),
                        Some(json!(v)),
                        None,
                    );
                }
                for v in n.enum_values.iter().filter(|v| !o.enum_values.contains(v)) {
                    self.push(
                        "enum-value-added",
                        direction,
                        &place.child("", &["enum"]),
                        format!("enum value `{v}` added"),
                        None,
                        Some(json!(v)),
                    );
                }
            }
            (true, true) => {}
        }
        let closed = |f: &Facts| f.additional_properties == Some(false);
        if o.ty == "object" && n.ty == "object" && closed(o) != closed(n) {
            let kind = if closed(n) {
                "additional-properties-closed"
            } else {
                "additional-properties-opened"
            };
            self.push(
                kind,
                direction,
                &place.child("", &["additionalProperties"]),
                format!(
                    "additionalProperties {} -> {}",
                    text(&o.additional_properties),
                    text(&n.additional_properties)
                ),
                opt_json(&o.additional_properties),
                opt_json(&n.additional_properties),
            );
        }
    }
}

/// The Rust type typify generates for a schema (as progenitor 0.15 / typify 0.8 do): a
/// string with a known format is a typed value, one with limits a validating newtype, and a
/// property that may be absent or `null` an `Option`.
pub fn rust_type(f: &Facts, property: bool) -> String {
    let inner = match (f.reference.as_deref(), f.ty.as_str(), f.format.as_deref()) {
        (Some(name), _, _) => name.to_string(),
        (None, "string", Some("uuid")) => "Uuid".into(),
        (None, "string", Some("date")) => "NaiveDate".into(),
        (None, "string", Some("date-time")) => "DateTime<Utc>".into(),
        (None, "string", Some("ip")) => "IpAddr".into(),
        (None, "string", Some("ipv4")) => "Ipv4Addr".into(),
        (None, "string", Some("ipv6")) => "Ipv6Addr".into(),
        (None, "string", _) if !f.enum_values.is_empty() => "an enum".into(),
        (None, "string", _)
            if f.max_length.is_some() || f.min_length.is_some() || f.pattern.is_some() =>
        {
            "a validating newtype over String".into()
        }
        (None, "string", _) => "String".into(),
        (None, "integer", Some("int8")) => "i8".into(),
        (None, "integer", Some("int16")) => "i16".into(),
        (None, "integer", Some("int32" | "int")) => "i32".into(),
        (None, "integer", Some("uint8")) => "u8".into(),
        (None, "integer", Some("uint16")) => "u16".into(),
        (None, "integer", Some("uint32" | "uint")) => "u32".into(),
        (None, "integer", Some("uint64")) => "u64".into(),
        (None, "integer", _) => "i64".into(),
        (None, "number", Some("float")) => "f32".into(),
        (None, "number", _) => "f64".into(),
        (None, "boolean", _) => "bool".into(),
        (None, "array", _) => format!(
            "Vec<{}>",
            f.items
                .as_ref()
                .map_or_else(|| "Value".to_string(), |i| rust_type(i, false))
        ),
        (None, other, _) => other.to_string(),
    };
    if (property && !f.required) || f.nullable {
        format!("Option<{inner}>")
    } else {
        inner
    }
}
