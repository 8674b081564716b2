//! `JsonSchema` for the component schema types: the source schema itself.
//!
//! typify derives `schemars::JsonSchema` for every type it generates, but the
//! derived schemas do not say what the source says: constrained strings become
//! newtypes whose derived schema loses `minLength`/`maxLength`/`pattern`
//! (typify 0.8 notes this as a TODO), inline enums turn into extra named
//! components, `format: email` and required-but-nullable properties get lost,
//! and every integer gains `format: int64`. dropshot emits whatever
//! `JsonSchema` says, and the server must serve exactly the spec.
//!
//! So for each `components.schemas` entry the derived impl is taken out again
//! and replaced by one whose `json_schema` is the source schema (the merged
//! document's JSON, embedded). Referenced components are registered with the
//! schema generator so that dropshot emits them too. Inline types typify
//! invents keep their derived impls: no component schema refers to them any
//! more, but they stay usable on their own.

use std::collections::{BTreeMap, BTreeSet};

use openapiv3::{OpenAPI, ReferenceOr, Schema};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::error::RegenError;

/// `types` with the derived `JsonSchema` of every component type removed,
/// plus the module with the replacement impls.
pub struct SchemaOverrides {
    pub types: TokenStream,
    pub schemas: TokenStream,
}

pub fn override_component_schemas(
    types: TokenStream,
    doc: &OpenAPI,
) -> Result<SchemaOverrides, RegenError> {
    let components: BTreeMap<&str, &ReferenceOr<Schema>> = doc
        .components
        .iter()
        .flat_map(|components| components.schemas.iter())
        .map(|(name, schema)| (name.as_str(), schema))
        .collect();

    let mut file: syn::File = syn::parse2(types).map_err(|source| RegenError::Syntax {
        file: "typify output".to_string(),
        source,
    })?;
    let mut found = BTreeSet::new();
    file.items.retain_mut(|item| match item {
        syn::Item::Struct(item) if components.contains_key(item.ident.to_string().as_str()) => {
            found.insert(item.ident.to_string());
            strip_json_schema_derive(&mut item.attrs);
            true
        }
        syn::Item::Enum(item) if components.contains_key(item.ident.to_string().as_str()) => {
            found.insert(item.ident.to_string());
            strip_json_schema_derive(&mut item.attrs);
            true
        }
        // typify hand-writes JsonSchema for enum-constrained newtypes.
        syn::Item::Impl(item) => !is_json_schema_impl_for(item, &components),
        _ => true,
    });
    for name in components.keys() {
        if !found.contains(*name) {
            return Err(RegenError::MissingType {
                schema: name.to_string(),
                type_name: name.to_string(),
            });
        }
    }

    let impls = components
        .iter()
        .map(|(name, schema)| schema_impl(name, schema))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SchemaOverrides {
        types: quote! { #file },
        schemas: quote! {
            //! `JsonSchema` for the component schema types: each returns its
            //! schema exactly as `openapi/resetd.yaml` writes it, so the
            //! document dropshot emits matches the source.

            #(#impls)*
        },
    })
}

fn strip_json_schema_derive(attrs: &mut [syn::Attribute]) {
    for attr in attrs.iter_mut() {
        if !attr.path().is_ident("derive") {
            continue;
        }
        let Ok(paths) = attr.parse_args_with(
            syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
        ) else {
            continue;
        };
        let kept = paths
            .into_iter()
            .filter(|path| !path_ends_with(path, "JsonSchema"))
            .collect::<Vec<_>>();
        *attr = syn::parse_quote! { #[derive(#(#kept),*)] };
    }
}

fn path_ends_with(path: &syn::Path, name: &str) -> bool {
    path.segments
        .last()
        .is_some_and(|segment| segment.ident == name)
}

fn is_json_schema_impl_for(
    item: &syn::ItemImpl,
    components: &BTreeMap<&str, &ReferenceOr<Schema>>,
) -> bool {
    let Some((_, trait_path, _)) = &item.trait_ else {
        return false;
    };
    if !path_ends_with(trait_path, "JsonSchema") {
        return false;
    }
    match &*item.self_ty {
        syn::Type::Path(ty) => ty
            .path
            .get_ident()
            .is_some_and(|ident| components.contains_key(ident.to_string().as_str())),
        _ => false,
    }
}

fn schema_impl(name: &str, schema: &ReferenceOr<Schema>) -> Result<TokenStream, RegenError> {
    let json = serde_json::to_value(schema).map_err(|err| RegenError::SchemaJson {
        schema: name.to_string(),
        message: err.to_string(),
    })?;
    // The generated code parses this text at run time; prove here that it
    // parses, so the `expect` below cannot fire.
    if let Err(err) = serde_json::from_value::<schemars::schema::Schema>(json.clone()) {
        return Err(RegenError::SchemaJson {
            schema: name.to_string(),
            message: format!("not expressible as a schemars 0.8 schema: {err}"),
        });
    }
    let mut refs = BTreeSet::new();
    collect_schema_refs(&json, &mut refs);
    let text = serde_json::to_string_pretty(&json).map_err(|err| RegenError::SchemaJson {
        schema: name.to_string(),
        message: err.to_string(),
    })?;
    let ident = format_ident!("{}", name);
    let generator = if refs.is_empty() {
        format_ident!("_generator")
    } else {
        format_ident!("generator")
    };
    let registrations = refs.iter().map(|referenced| {
        let referenced = format_ident!("{}", referenced);
        quote! {
            let _ = #generator.subschema_for::<crate::types::#referenced>();
        }
    });
    let expect = format!("the schema of {name} was checked by `cargo xtask regen`");
    Ok(quote! {
        impl ::schemars::JsonSchema for crate::types::#ident {
            fn schema_name() -> ::std::string::String {
                #name.to_string()
            }

            fn json_schema(
                #generator: &mut ::schemars::r#gen::SchemaGenerator,
            ) -> ::schemars::schema::Schema {
                #(#registrations)*
                ::serde_json::from_str(#text).expect(#expect)
            }
        }
    })
}

/// Names of the component schemas referenced anywhere in `value`.
fn collect_schema_refs(value: &Value, refs: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                if let Some(name) = reference.strip_prefix("#/components/schemas/") {
                    refs.insert(name.to_string());
                }
            }
            map.values()
                .for_each(|child| collect_schema_refs(child, refs));
        }
        Value::Array(items) => items
            .iter()
            .for_each(|child| collect_schema_refs(child, refs)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_schema_text_survives_schemars() {
        // What dropshot sees must carry everything the source says.
        let source = serde_json::json!({
            "type": "object",
            "description": "d",
            "required": ["a"],
            "properties": {
                "a": {"type": "string", "minLength": 6, "maxLength": 64, "format": "email"},
                "b": {"nullable": true, "allOf": [{"$ref": "#/components/schemas/B"}]},
                "c": {"type": "string", "enum": ["x", "y"], "nullable": true, "example": "x"}
            },
            "x-resetd-error-type": {"name": "E"}
        });
        let schema: schemars::schema::Schema =
            serde_json::from_value(source.clone()).expect("parses");
        let back = serde_json::to_value(&schema).expect("serialises");
        assert_eq!(back, source);
        let mut refs = BTreeSet::new();
        collect_schema_refs(&source, &mut refs);
        assert_eq!(refs.into_iter().collect::<Vec<_>>(), ["B"]);
    }
}
