//! One change to what progenitor generates, made on the syntax tree (never by editing the
//! output): a builder setter of a replacement type (the spec's `ContactId` is `nateq-api`'s
//! own type) keeps the conversion's error message instead of a fixed "conversion to
//! `crate :: ContactId` for id failed", so a refused id says what is wrong with it.

use quote::ToTokens;
use syn::visit_mut::VisitMut;

/// The text progenitor puts in such a setter's `map_err`.
const FIXED_MESSAGE: &str = "conversion to `crate ::";

/// Rewrites every setter whose conversion error is replaced by a fixed message; returns how
/// many it rewrote.
pub fn keep_conversion_errors(file: &mut syn::File) -> usize {
    let mut visitor = Setters { patched: 0 };
    visitor.visit_file_mut(file);
    visitor.patched
}

struct Setters {
    patched: usize,
}

impl VisitMut for Setters {
    fn visit_impl_item_fn_mut(&mut self, f: &mut syn::ImplItemFn) {
        if let Some(patched) = patched_setter(f) {
            *f = patched;
            self.patched += 1;
        }
    }
}

/// `pub fn x<V>(mut self, value: V) -> Self where V: TryInto<T>` that maps the error to a fixed
/// message, rewritten to require `Display` of the error and keep its text.
fn patched_setter(f: &syn::ImplItemFn) -> Option<syn::ImplItemFn> {
    if !f
        .block
        .to_token_stream()
        .to_string()
        .contains(FIXED_MESSAGE)
    {
        return None;
    }
    let predicate = f.sig.generics.where_clause.as_ref()?.predicates.first()?;
    let syn::WherePredicate::Type(bound) = predicate else {
        return None;
    };
    let target = bound.bounds.iter().find_map(|b| match b {
        syn::TypeParamBound::Trait(t) => {
            let last = t.path.segments.last()?;
            if last.ident != "TryInto" {
                return None;
            }
            match &last.arguments {
                syn::PathArguments::AngleBracketed(args) => match args.args.first()? {
                    syn::GenericArgument::Type(ty) => Some(ty.clone()),
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    })?;
    let name = &f.sig.ident;
    let attrs = &f.attrs;
    let vis = &f.vis;
    Some(syn::parse_quote! {
        #(#attrs)*
        #vis fn #name<V>(mut self, value: V) -> Self
        where
            V: std::convert::TryInto<#target>,
            <V as std::convert::TryInto<#target>>::Error: std::fmt::Display,
        {
            self.#name = value.try_into().map_err(|e| e.to_string());
            self
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_setter_with_the_fixed_message_is_rewritten_to_keep_the_error() {
        let mut file: syn::File = syn::parse_quote! {
            impl<'a> UpdateContact<'a> {
                pub fn id<V>(mut self, value: V) -> Self
                where
                    V: std::convert::TryInto<crate::ContactId>,
                {
                    self.id = value
                        .try_into()
                        .map_err(|_| "conversion to `crate :: ContactId` for id failed".to_string());
                    self
                }
                pub fn body<V>(mut self, value: V) -> Self
                where
                    V: std::convert::TryInto<types::UpdateContactRequest>,
                {
                    self.body = value.try_into().map_err(|s| format!("failed: {}", s));
                    self
                }
            }
        };
        assert_eq!(keep_conversion_errors(&mut file), 1);
        let expected: syn::File = syn::parse_quote! {
            impl<'a> UpdateContact<'a> {
                pub fn id<V>(mut self, value: V) -> Self
                where
                    V: std::convert::TryInto<crate::ContactId>,
                    <V as std::convert::TryInto<crate::ContactId>>::Error: std::fmt::Display,
                {
                    self.id = value.try_into().map_err(|e| e.to_string());
                    self
                }
                pub fn body<V>(mut self, value: V) -> Self
                where
                    V: std::convert::TryInto<types::UpdateContactRequest>,
                {
                    self.body = value.try_into().map_err(|s| format!("failed: {}", s));
                    self
                }
            }
        };
        assert_eq!(
            file.to_token_stream().to_string(),
            expected.to_token_stream().to_string()
        );
        // A second pass finds nothing left to change.
        assert_eq!(keep_conversion_errors(&mut file), 0);
    }
}
