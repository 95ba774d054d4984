//! The request's field tables, generated from `UpdateContactRequest` in the spec: one entry
//! per property (API name, Rust name, CLI flag, kind, `maxLength`, enum values, description),
//! and the SDK's `ContactUpdate` (fields, setters, docs, conversion) built from them.
//!
//! Everything else that knows a field (the CLI's flags, the emulator's validation and update,
//! the tests' limit tables) reads the table at run time, so a new optional property needs no
//! hand edit anywhere.

use std::path::Path;

use heck::{ToKebabCase, ToSnakeCase};
use openapiv3::{OpenAPI, ReferenceOr, Schema, SchemaKind, Type};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::Error;

/// The request schema the tables describe.
pub const REQUEST_SCHEMA: &str = "UpdateContactRequest";

/// The schema of a contact as the API returns it: a request property it lacks is request-only.
pub const CONTACT_SCHEMA: &str = "Contact";

/// Rust names chosen for API names that are Rust keywords (typify appends `_` instead).
const RUST_NAMES: &[(&str, &str)] = &[("type", "contact_type")];

/// Rust keywords that cannot name a field as they are.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop",
    "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return", "self",
    "static", "struct", "super", "trait", "true", "try", "type", "typeof", "unsafe", "unsized",
    "use", "virtual", "where", "while", "yield",
];

/// One property of the request, as the spec describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldFacts {
    /// The API's name, e.g. `doNotContact`.
    pub name: String,
    /// The name of `ContactUpdate`'s field and setter, e.g. `do_not_contact`.
    pub rust_name: String,
    /// The name of the generated request type's field (typify's), e.g. `type_`.
    pub request_name: String,
    /// The CLI flag, without dashes, e.g. `do-not-contact`.
    pub flag: String,
    /// `string`, `boolean` or `enum`.
    pub kind: Kind,
    /// `maxLength`, in Unicode scalar values.
    pub max_length: Option<usize>,
    /// The allowed values of an enum.
    pub values: Vec<String>,
    /// The description, on one line.
    pub description: String,
    /// Whether the property is absent from the `Contact` schema: it can be sent, but no
    /// response shows it (as `type`).
    pub request_only: bool,
}

/// What a property holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    String,
    /// A boolean.
    Boolean,
    /// One of a fixed set of strings.
    Enum,
}

/// Reads the request's properties from the spec, in the spec's order.
pub fn request_fields(spec: &OpenAPI, path: &Path) -> Result<Vec<FieldFacts>, Error> {
    let unsupported = |reason: String| Error::Fields {
        path: path.to_path_buf(),
        reason,
    };
    let schema = component(spec, REQUEST_SCHEMA)
        .ok_or_else(|| unsupported(format!("schema {REQUEST_SCHEMA} is missing")))?;
    let SchemaKind::Type(Type::Object(object)) = &schema.schema_kind else {
        return Err(unsupported(format!("{REQUEST_SCHEMA} is not an object")));
    };
    let contact = component(spec, CONTACT_SCHEMA)
        .ok_or_else(|| unsupported(format!("schema {CONTACT_SCHEMA} is missing")))?;
    let SchemaKind::Type(Type::Object(contact)) = &contact.schema_kind else {
        return Err(unsupported(format!("{CONTACT_SCHEMA} is not an object")));
    };
    let mut fields = Vec::new();
    for (name, property) in &object.properties {
        let (resolved, own_description) = match property {
            ReferenceOr::Item(item) => (Some(item.as_ref()), item.schema_data.description.clone()),
            ReferenceOr::Reference { reference } => (
                reference
                    .strip_prefix("#/components/schemas/")
                    .and_then(|target| component(spec, target)),
                None,
            ),
        };
        let resolved = resolved
            .ok_or_else(|| unsupported(format!("{REQUEST_SCHEMA}.{name}: unresolved $ref")))?;
        let (kind, max_length, values) = match &resolved.schema_kind {
            SchemaKind::Type(Type::String(s)) if !s.enumeration.is_empty() => (
                Kind::Enum,
                s.max_length,
                s.enumeration.iter().flatten().cloned().collect(),
            ),
            SchemaKind::Type(Type::String(s)) => (Kind::String, s.max_length, Vec::new()),
            SchemaKind::Type(Type::Boolean(_)) => (Kind::Boolean, None, Vec::new()),
            other => {
                return Err(unsupported(format!(
                    "{REQUEST_SCHEMA}.{name}: the field tables support string, boolean and \
                     string-enum properties, not {other:?}"
                )));
            }
        };
        let description = own_description
            .or_else(|| resolved.schema_data.description.clone())
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        fields.push(FieldFacts {
            rust_name: rust_name(name),
            request_name: request_name(name),
            flag: name.to_kebab_case(),
            name: name.clone(),
            kind,
            max_length,
            values,
            description,
            request_only: !contact.properties.contains_key(name),
        });
    }
    Ok(fields)
}

fn component<'a>(spec: &'a OpenAPI, name: &str) -> Option<&'a Schema> {
    match spec.components.as_ref()?.schemas.get(name)? {
        ReferenceOr::Item(schema) => Some(schema),
        ReferenceOr::Reference { .. } => None,
    }
}

fn rust_name(api: &str) -> String {
    if let Some((_, rust)) = RUST_NAMES.iter().find(|(a, _)| *a == api) {
        return (*rust).to_string();
    }
    request_name(api)
}

fn request_name(api: &str) -> String {
    let snake = api.to_snake_case();
    if KEYWORDS.contains(&snake.as_str()) {
        format!("{snake}_")
    } else {
        snake
    }
}

/// The generated `fields.rs`: the table and `ContactUpdate`, formatted, with the header.
pub fn generate_fields(spec: &OpenAPI, path: &Path) -> Result<String, Error> {
    let fields = request_fields(spec, path)?;
    let entries = fields.iter().map(|f| {
        let FieldFacts {
            name,
            rust_name,
            flag,
            description,
            request_only,
            ..
        } = f;
        let kind = match f.kind {
            Kind::String => quote!(crate::fields::FieldKind::String),
            Kind::Boolean => quote!(crate::fields::FieldKind::Boolean),
            Kind::Enum => quote!(crate::fields::FieldKind::Enum),
        };
        let max_length = match f.max_length {
            Some(n) => quote!(Some(#n)),
            None => quote!(None),
        };
        let values = &f.values;
        quote! {
            crate::fields::Field {
                name: #name,
                rust_name: #rust_name,
                flag: #flag,
                kind: #kind,
                max_length: #max_length,
                values: &[#(#values),*],
                description: #description,
                request_only: #request_only,
            }
        }
    });
    let struct_fields = fields.iter().map(|f| {
        let ident = format_ident!("{}", f.rust_name);
        let name = &f.name;
        let ty = value_type(f.kind);
        let doc = field_doc(f);
        quote! {
            #[doc = #doc]
            #[serde(rename = #name, default, skip_serializing_if = "Option::is_none")]
            pub #ident: Option<#ty>,
        }
    });
    let setters = fields.iter().map(|f| {
        let ident = format_ident!("{}", f.rust_name);
        let doc = format!("Sets `{}`: {}", f.name, f.description);
        match f.kind {
            Kind::String => quote! {
                #[doc = #doc]
                pub fn #ident(mut self, value: impl Into<String>) -> Self {
                    self.#ident = Some(value.into());
                    self
                }
            },
            Kind::Boolean => quote! {
                #[doc = #doc]
                pub fn #ident(mut self, value: bool) -> Self {
                    self.#ident = Some(value);
                    self
                }
            },
            Kind::Enum => {
                let doc = format!(
                    "{doc}\n\nTakes the generated enum or its text; other values are refused when the update is validated."
                );
                quote! {
                    #[doc = #doc]
                    pub fn #ident(mut self, value: impl std::fmt::Display) -> Self {
                        self.#ident = Some(value.to_string());
                        self
                    }
                }
            }
        }
    });
    let conversions = fields.iter().enumerate().map(|(i, f)| {
        let ident = format_ident!("{}", f.rust_name);
        let request = format_ident!("{}", f.request_name);
        quote! { #request: crate::fields::convert(self.#ident, &UPDATE_CONTACT_FIELDS[#i])?, }
    });
    let tokens: TokenStream = quote! {
        /// The properties of `UpdateContactRequest` in `openapi.yaml`, in the spec's order.
        pub const UPDATE_CONTACT_FIELDS: &[crate::fields::Field] = &[#(#entries),*];

        /// The fields to change on a contact; unset fields are left as they are.
        ///
        /// Generated from `UpdateContactRequest` in `openapi.yaml`: one field and one setter per
        /// property. Nothing is checked until the update is sent (or
        /// [`to_request`](Self::to_request) is called): then every length limit and enum value is
        /// checked before any network I/O, and the first field at fault is named in a
        /// [`ValidationError`](crate::ValidationError).
        ///
        /// It (de)serializes with the API's field names and refuses unknown fields, so JSON rows
        /// map onto it directly:
        ///
        /// ```
        /// use nateq_api::{ContactUpdate, types::ContactType};
        ///
        /// let update = ContactUpdate::new()
        ///     .name("Ada Lovelace")
        ///     .email("ada@example.com")
        ///     .do_not_contact(true)
        ///     .contact_type(ContactType::Customer);
        /// let json = serde_json::to_string(&update)?;
        /// assert_eq!(json, r#"{"doNotContact":true,"email":"ada@example.com","name":"Ada Lovelace","type":"customer"}"#);
        /// assert_eq!(serde_json::from_str::<ContactUpdate>(&json)?, update);
        /// assert!(serde_json::from_str::<ContactUpdate>(r#"{"nmae":"typo"}"#).is_err());
        ///
        /// let too_long = ContactUpdate::new().language("x".repeat(11));
        /// assert_eq!(
        ///     too_long.to_request().unwrap_err().to_string(),
        ///     "invalid language: 11 characters is longer than the limit of 10"
        /// );
        /// # Ok::<(), serde_json::Error>(())
        /// ```
        #[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[non_exhaustive]
        pub struct ContactUpdate {
            #(#struct_fields)*
        }

        impl ContactUpdate {
            #(#setters)*

            /// Like [`to_request`](Self::to_request), consuming the update (no copies of its
            /// strings).
            pub fn into_request(
                self,
            ) -> Result<crate::types::UpdateContactRequest, crate::ValidationError> {
                Ok(crate::types::UpdateContactRequest {
                    #(#conversions)*
                })
            }
        }
    };
    let file = syn::parse2::<syn::File>(tokens).map_err(|source| Error::Syntax {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(format!(
        "{}\n{}",
        crate::HEADER,
        prettyplease::unparse(&file)
    ))
}

fn value_type(kind: Kind) -> TokenStream {
    match kind {
        Kind::Boolean => quote!(bool),
        Kind::String | Kind::Enum => quote!(String),
    }
}

fn field_doc(f: &FieldFacts) -> String {
    let mut doc = format!("`{}`: {}", f.name, f.description);
    if f.kind == Kind::Enum {
        doc.push_str(&format!(" One of {}.", f.values.join(", ")));
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = include_str!("../../openapi.yaml");

    fn request_only(text: &str) -> Vec<(String, bool)> {
        let path = Path::new("openapi.yaml");
        let spec = crate::parse_spec(text, path).unwrap_or_else(|e| panic!("{e}"));
        request_fields(&spec, path)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|f| (f.name, f.request_only))
            .collect()
    }

    /// A request property the `Contact` schema lacks is request-only; the table says so for
    /// `type` and for a property added to the request alone, not for one added to both.
    #[test]
    fn request_only_means_absent_from_the_contact() {
        let table = request_only(SPEC);
        let only: Vec<&str> = table
            .iter()
            .filter(|(_, only)| *only)
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(only, ["type"]);
        assert!(table.iter().any(|(name, only)| name == "name" && !only));

        let request = "      properties:\n        avatar:\n";
        let request_alone = SPEC.replace(
            request,
            "      properties:\n        timezone:\n          type: string\n        avatar:\n",
        );
        let contact = "      properties:\n        activities:\n";
        let both = request_alone.replace(
            contact,
            "      properties:\n        timezone:\n          type: string\n          nullable: true\n        activities:\n",
        );
        assert_eq!(
            SPEC.matches(request).count(),
            1,
            "the spec's layout changed"
        );
        assert_eq!(
            SPEC.matches(contact).count(),
            1,
            "the spec's layout changed"
        );
        let timezone = |text: &str| {
            request_only(text)
                .into_iter()
                .find(|(name, _)| name == "timezone")
                .map(|(_, only)| only)
        };
        assert_eq!(timezone(&request_alone), Some(true));
        assert_eq!(timezone(&both), Some(false));
    }
}
