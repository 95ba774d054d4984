//! The spec's operations as a Rust enum, so that code which must handle every operation (the
//! SDK's request guard) stops compiling when the spec gains one it does not handle.

use std::path::Path;

use heck::{ToSnakeCase, ToUpperCamelCase};
use openapiv3::OpenAPI;
use quote::{format_ident, quote};

use crate::{Error, HEADER};

/// The operations of a spec: each `operationId` as progenitor names the generated method
/// (snake case) and as an enum variant (upper camel case), in the spec's path order.
pub fn operation_ids(spec: &OpenAPI) -> Vec<(String, String)> {
    spec.paths
        .iter()
        .filter_map(|(_, item)| item.as_item())
        .flat_map(|item| item.iter().map(|(_, op)| op))
        .filter_map(|op| op.operation_id.as_deref())
        .map(|id| (id.to_snake_case(), id.to_upper_camel_case()))
        .collect()
}

/// The generated `operations.rs`: `enum Operation` with one variant per operation, and
/// `Operation::from_id`, which maps progenitor's `OperationInfo::operation_id` onto it.
pub fn generate_operations(spec: &OpenAPI, path: &Path) -> Result<String, Error> {
    let ops = operation_ids(spec);
    let variants: Vec<_> = ops.iter().map(|(_, v)| format_ident!("{v}")).collect();
    let ids: Vec<&str> = ops.iter().map(|(id, _)| id.as_str()).collect();
    let docs: Vec<String> = ops
        .iter()
        .map(|(id, _)| format!(" The operation whose generated method is `{id}`."))
        .collect();
    let tokens = quote! {
        /// The operations of `openapi.yaml`. A `match` on it without a wildcard arm fails to
        /// compile when the spec gains an operation, until the new one is handled.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Operation {
            #( #[doc = #docs] #variants, )*
        }

        impl Operation {
            /// The operation of a generated method's name (`OperationInfo::operation_id`).
            pub fn from_id(id: &str) -> Option<Operation> {
                match id {
                    #( #ids => Some(Operation::#variants), )*
                    _ => None,
                }
            }
        }
    };
    let file = syn::parse2::<syn::File>(tokens).map_err(|source| Error::Syntax {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(format!("{HEADER}\n{}", prettyplease::unparse(&file)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = include_str!("../../openapi.yaml");

    #[test]
    fn each_operation_is_a_variant_named_as_progenitor_names_its_method() {
        let path = Path::new("openapi.yaml");
        let spec = crate::parse_spec(SPEC, path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            operation_ids(&spec),
            [("update_contact".to_owned(), "UpdateContact".to_owned())]
        );
        // A second operation gains a variant (so a `match` without a wildcard stops compiling)
        // and its own arm in `from_id`.
        let two = SPEC.replacen(
            "    put:\n      operationId: updateContact\n",
            "    get:\n      operationId: getContact\n      responses:\n        \"200\":\n          description: OK\n    put:\n      operationId: updateContact\n",
            1,
        );
        assert_ne!(two, SPEC, "the spec no longer has the expected layout");
        let spec = crate::parse_spec(&two, path).unwrap_or_else(|e| panic!("{e}"));
        let code = generate_operations(&spec, path).unwrap_or_else(|e| panic!("{e}"));
        for needle in [
            "GetContact,",
            "UpdateContact,",
            "\"get_contact\" => Some(Operation::GetContact)",
            "\"update_contact\" => Some(Operation::UpdateContact)",
        ] {
            assert!(code.contains(needle), "{needle} not in\n{code}");
        }
    }
}
