//! The dropshot API trait (`resetd_api::ResetdApi`) and the parameter structs
//! its methods take (`resetd_api::params`).
//!
//! One method per operation, named by its operationId, with no default body:
//! an operation added to the spec is a compile error in the server until it is
//! implemented.

use heck::ToSnakeCase;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::model::{Api, IntegerFormat, Operation, Param, ParamSchema, StringFormat};

/// `resetd_api::params`: the `Path<...>` / `Query<...>` structs.
pub fn params_module(api: &Api) -> TokenStream {
    let structs = api.operations.iter().flat_map(|op| {
        let path =
            (!op.path_params.is_empty()).then(|| param_struct(op, "Path", "Path", &op.path_params));
        let query = (!op.query_params.is_empty())
            .then(|| param_struct(op, "Query", "Query", &op.query_params));
        let headers = (!op.success.headers.is_empty()).then(|| headers_struct(op));
        path.into_iter().chain(query).chain(headers)
    });
    let preflights = crate::gen_preflight::params(api);
    quote! {
        //! Path and query parameters of the operations, one struct per
        //! operation and location (`{OperationId}Path`, `{OperationId}Query`),
        //! the headers of success responses that declare some
        //! (`{OperationId}Headers`), and the path variables of the CORS
        //! preflights (`Preflight{Path}Path`).

        #(#structs)*
        #preflights
    }
}

fn path_struct_ident(op: &Operation) -> proc_macro2::Ident {
    format_ident!("{}Path", op.pascal_name())
}

fn query_struct_ident(op: &Operation) -> proc_macro2::Ident {
    format_ident!("{}Query", op.pascal_name())
}

fn param_struct(op: &Operation, suffix: &str, what: &str, params: &[Param]) -> TokenStream {
    let ident = format_ident!("{}{suffix}", op.pascal_name());
    let doc = format!(
        " {what} parameters of `{}` (`{} {}`).",
        op.id,
        op.method.upper(),
        op.path
    );
    let fields = params.iter().map(param_field);
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, ::serde::Deserialize, ::schemars::JsonSchema)]
        pub struct #ident {
            #(#fields)*
        }
    }
}

fn headers_struct_ident(op: &Operation) -> proc_macro2::Ident {
    format_ident!("{}Headers", op.pascal_name())
}

/// `{OperationId}Headers`: one `String` field per declared header, serialized under the
/// header's name; dropshot's `HttpResponseHeaders` sends them and documents them (the
/// field docs become the header descriptions).
fn headers_struct(op: &Operation) -> TokenStream {
    let ident = headers_struct_ident(op);
    let doc = format!(
        " Headers of the {} answer of `{}` (`{} {}`).",
        op.success.status,
        op.id,
        op.method.upper(),
        op.path
    );
    let fields = op.success.headers.iter().map(|header| {
        let name = &header.name;
        let field = format_ident!("{}", name.to_snake_case());
        let docs = doc_lines(header.description.as_deref());
        let (ty, skip) = if header.required {
            (quote! { ::std::string::String }, quote! {})
        } else {
            (
                quote! { ::std::option::Option<::std::string::String> },
                quote! { #[serde(skip_serializing_if = "Option::is_none")] },
            )
        };
        quote! {
            #docs
            #skip
            #[serde(rename = #name)]
            pub #field: #ty,
        }
    });
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, ::serde::Serialize, ::schemars::JsonSchema)]
        pub struct #ident {
            #(#fields)*
        }
    }
}

fn param_field(param: &Param) -> TokenStream {
    let field_name = param.name.to_snake_case();
    // Keywords (`type`, `ref`) get a trailing underscore; serde keeps the
    // wire name.
    let field_name = if syn::parse_str::<syn::Ident>(&field_name).is_ok() {
        field_name
    } else {
        format!("{field_name}_")
    };
    let ident = format_ident!("{}", field_name);
    let rename = (field_name != param.name).then(|| {
        let name = &param.name;
        quote! { #[serde(rename = #name)] }
    });
    let docs = doc_lines(param.description.as_deref());
    let (ty, constraints) = param_type(&param.schema);
    let ty = if param.required {
        ty
    } else {
        quote! { ::std::option::Option<#ty> }
    };
    quote! {
        #docs
        #rename
        #constraints
        pub #ident: #ty,
    }
}

/// The Rust type of a parameter plus the schemars attributes that put its
/// constraints into the emitted schema (dropshot documents them; the core
/// enforces them).
fn param_type(schema: &ParamSchema) -> (TokenStream, TokenStream) {
    match schema {
        ParamSchema::Named(name) => {
            let ident = format_ident!("{}", name);
            (quote! { crate::types::#ident }, quote! {})
        }
        ParamSchema::String {
            format,
            min_length,
            max_length,
            pattern,
        } => {
            let ty = match format {
                StringFormat::Plain => quote! { ::std::string::String },
                StringFormat::Uuid => quote! { ::uuid::Uuid },
                StringFormat::DateTime => quote! { ::chrono::DateTime<::chrono::Utc> },
                StringFormat::Date => quote! { ::chrono::NaiveDate },
            };
            let mut bounds = Vec::new();
            if let Some(min) = min_length {
                let min = Literal::usize_unsuffixed(*min);
                bounds.push(quote! { min = #min });
            }
            if let Some(max) = max_length {
                let max = Literal::usize_unsuffixed(*max);
                bounds.push(quote! { max = #max });
            }
            let length = (!bounds.is_empty()).then(|| quote! { #[schemars(length(#(#bounds),*))] });
            let regex = pattern
                .as_ref()
                .map(|pattern| quote! { #[schemars(regex(pattern = #pattern))] });
            (ty, quote! { #length #regex })
        }
        ParamSchema::Integer {
            format,
            minimum,
            maximum,
        } => {
            let ty = match format {
                IntegerFormat::Int32 => quote! { i32 },
                IntegerFormat::Int64 => quote! { i64 },
            };
            let min = minimum.map(|min| {
                let min = Literal::i64_unsuffixed(min);
                quote! { min = #min }
            });
            let max = maximum.map(|max| {
                let max = Literal::i64_unsuffixed(max);
                quote! { max = #max }
            });
            (ty, range_attr(min, max))
        }
        ParamSchema::Number { minimum, maximum } => {
            let min = minimum.map(|min| {
                let min = Literal::f64_unsuffixed(min);
                quote! { min = #min }
            });
            let max = maximum.map(|max| {
                let max = Literal::f64_unsuffixed(max);
                quote! { max = #max }
            });
            (quote! { f64 }, range_attr(min, max))
        }
        ParamSchema::Boolean => (quote! { bool }, quote! {}),
    }
}

fn range_attr(min: Option<TokenStream>, max: Option<TokenStream>) -> TokenStream {
    let bounds: Vec<_> = min.into_iter().chain(max).collect();
    if bounds.is_empty() {
        quote! {}
    } else {
        quote! { #[schemars(range(#(#bounds),*))] }
    }
}

/// `#[doc]` attributes for a piece of spec text, one per line.
fn doc_lines(text: Option<&str>) -> TokenStream {
    let Some(text) = text else {
        return quote! {};
    };
    let lines = text.trim_end().lines().map(|line| {
        let line = if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        };
        quote! { #[doc = #line] }
    });
    quote! { #(#lines)* }
}

/// `resetd_api`'s trait module.
pub fn trait_module(api: &Api) -> TokenStream {
    let tags = api.tags.iter().map(|tag| {
        let name = &tag.name;
        match &tag.description {
            Some(description) => quote! { #name = { description = #description } },
            None => quote! { #name = {} },
        }
    });
    let methods = api.operations.iter().map(method);
    let preflights = crate::gen_preflight::trait_items(api);
    let ids = api.operations.iter().map(|op| op.id.as_str());
    quote! {
        //! The resetd API as a dropshot API trait.

        /// The resetd API: one method per operation of `openapi/resetd.yaml`,
        /// named by its operationId.
        ///
        /// `resetd_api_mod::api_description::<Impl>()` builds the server's
        /// endpoints from an implementation; `stub_api_description()` builds the
        /// OpenAPI document without one.
        #[::dropshot::api_description {
            tag_config = {
                allow_other_tags = true,
                tags = { #(#tags),* },
            },
        }]
        pub trait ResetdApi {
            /// The server state every endpoint receives.
            type Context: Send + Sync + 'static;

            #(#methods)*

            #preflights
        }

        #[cfg(test)]
        mod tests {
            /// Every endpoint registers (dropshot checks parameter and body
            /// shapes at registration) and the document lists every operation.
            #[test]
            fn stub_api_description_emits_every_operation() {
                let api = super::resetd_api_mod::stub_api_description()
                    .expect("the generated endpoints register");
                let doc = api
                    .openapi("resetd", ::dropshot::semver::Version::new(0, 0, 0))
                    .json()
                    .expect("the document serialises");
                let mut ids = ::std::vec::Vec::new();
                for item in doc["paths"].as_object().into_iter().flat_map(|paths| paths.values()) {
                    for operation in item.as_object().into_iter().flat_map(|item| item.values()) {
                        if let Some(id) = operation["operationId"].as_str() {
                            ids.push(id.to_string());
                        }
                    }
                }
                ids.sort();
                let mut expected = ::std::vec![#(#ids.to_string()),*];
                expected.sort();
                assert_eq!(ids, expected);
            }
        }
    }
}

fn method(op: &Operation) -> TokenStream {
    let name = format_ident!("{}", op.id);
    let method = format_ident!("{}", op.method.upper());
    let path = &op.path;
    let tags = &op.tags;
    let deprecated = op.deprecated.then(|| quote! { deprecated = true, });
    let max_body = op.max_body_bytes.map(|bytes| {
        let bytes = Literal::u64_unsuffixed(bytes);
        quote! { request_body_max_bytes = #bytes, }
    });

    // dropshot reads the first doc paragraph as the operation's summary and
    // the rest as its description.
    let summary = op
        .summary
        .as_ref()
        .map(|summary| summary.split_whitespace().collect::<Vec<_>>().join(" "));
    let mut docs = doc_lines(summary.as_deref());
    if let Some(description) = &op.description {
        if summary.is_some() {
            docs.extend(quote! { #[doc = ""] });
        }
        docs.extend(doc_lines(Some(description)));
    }

    let path_arg = (!op.path_params.is_empty()).then(|| {
        let ident = path_struct_ident(op);
        quote! { path: ::dropshot::Path<crate::params::#ident>, }
    });
    let query_arg = (!op.query_params.is_empty()).then(|| {
        let ident = query_struct_ident(op);
        quote! { query: ::dropshot::Query<crate::params::#ident>, }
    });
    let body_arg = op.body.as_ref().map(|body| {
        let ident = format_ident!("{}", body);
        quote! { body: crate::JsonBody<crate::types::#ident>, }
    });

    let success = match (op.success.status, &op.success.schema) {
        (204, _) | (_, None) => quote! { ::dropshot::HttpResponseUpdatedNoContent },
        (status, Some(schema)) => {
            let ident = format_ident!("{}", schema);
            let wrapper = match status {
                201 => format_ident!("HttpResponseCreated"),
                202 => format_ident!("HttpResponseAccepted"),
                _ => format_ident!("HttpResponseOk"),
            };
            quote! { ::dropshot::#wrapper<crate::types::#ident> }
        }
    };
    let success = if op.success.headers.is_empty() {
        success
    } else {
        let headers = headers_struct_ident(op);
        quote! { ::dropshot::HttpResponseHeaders<#success, crate::params::#headers> }
    };
    let error = match &op.error_type {
        Some(name) => {
            let ident = format_ident!("{}", name);
            quote! { crate::errors::#ident }
        }
        None => quote! { ::dropshot::HttpError },
    };
    // Every answer, refusals included, goes through `responses::Answer` so it can carry
    // headers (CORS, `Retry-After`) that a custom error type cannot; see `responses`.
    let success = if op.error_type.is_some() {
        quote! { crate::responses::Answer<#success, #error> }
    } else {
        success
    };

    quote! {
        #docs
        #[endpoint {
            method = #method,
            path = #path,
            tags = [#(#tags),*],
            #deprecated
            #max_body
        }]
        async fn #name(
            rqctx: ::dropshot::RequestContext<Self::Context>,
            #path_arg
            #query_arg
            #body_arg
        ) -> ::std::result::Result<#success, #error>;
    }
}
