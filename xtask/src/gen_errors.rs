//! `resetd_api::errors`: one Rust error type per schema carrying
//! `x-resetd-error-type`.
//!
//! dropshot 0.18 accepts any handler error type that is
//! `HttpResponseContent + From<HttpError> + Display` and implements
//! `HttpResponseError`; `HttpResponseContent` comes for free with
//! `Serialize + JsonSchema + Send + Sync + 'static`. `Serialize` and `JsonSchema`
//! delegate to the body type, so the emitted spec references the very schema
//! the source names. `From<HttpError>` also receives dropshot's own extractor
//! failures (malformed JSON, wrong content type), which is how those come out
//! in the dialect's error shape.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use serde_json::Value;

use crate::model::{Api, ErrorType};

pub fn errors_module(api: &Api) -> TokenStream {
    let types = api.error_types.iter().map(error_type);
    let tests = api.error_types.iter().map(error_test);
    let client_message = client_message_fn();
    let body_is_malformed = body_is_malformed_fn();
    let client_message_test = client_message_test();
    quote! {
        //! Error types of the dialects, one per error schema in the spec
        //! (`x-resetd-error-type`).

        #(#types)*

        #client_message

        #body_is_malformed

        #[cfg(test)]
        mod tests {
            #(#tests)*
            #client_message_test
        }
    }
}

fn error_type(error: &ErrorType) -> TokenStream {
    let name = format_ident!("{}", error.type_name);
    let body = format_ident!("{}", error.schema);
    let doc = format!(
        " The error answer of the operations whose error responses use `{}`: an \
         error status with that body.",
        error.schema
    );
    let template = json_tokens(&error.template);
    let expect = format!(
        "the from-http-error template of {} was checked against its schema by `cargo xtask regen`",
        error.schema
    );
    let message_doc = format!(
        " The body's client-facing message (the `$message` slot of `{}`'s from-http-error), if any.",
        error.schema
    );
    let message_fn = match &error.message_pointer {
        Some(pointer) => quote! {
            #[doc = #message_doc]
            pub fn message(&self) -> ::std::option::Option<::std::string::String> {
                let body = ::serde_json::to_value(&self.body).ok()?;
                body.pointer(#pointer)?.as_str().map(::std::borrow::ToOwned::to_owned)
            }
        },
        None => quote! {
            #[doc = #message_doc]
            pub fn message(&self) -> ::std::option::Option<::std::string::String> {
                ::std::option::Option::None
            }
        },
    };
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone)]
        pub struct #name {
            /// The HTTP status the error is answered with (always 4xx or 5xx).
            pub status: ::dropshot::ErrorStatusCode,
            /// The response body.
            pub body: crate::types::#body,
        }

        impl #name {
            /// An error answered with `status` and `body`.
            pub fn new(status: ::dropshot::ErrorStatusCode, body: crate::types::#body) -> Self {
                Self { status, body }
            }

            #message_fn
        }

        // Display is what ends up in logs: the status and the message the
        // client sees anyway, never anything else from the body.
        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self.message() {
                    ::std::option::Option::Some(message) => write!(f, "{}: {}", self.status, message),
                    ::std::option::Option::None => write!(f, "{}", self.status),
                }
            }
        }

        impl ::std::error::Error for #name {}

        impl ::serde::Serialize for #name {
            fn serialize<S>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error>
            where
                S: ::serde::Serializer,
            {
                ::serde::Serialize::serialize(&self.body, serializer)
            }
        }

        impl ::schemars::JsonSchema for #name {
            fn schema_name() -> ::std::string::String {
                <crate::types::#body as ::schemars::JsonSchema>::schema_name()
            }

            fn schema_id() -> ::std::borrow::Cow<'static, str> {
                <crate::types::#body as ::schemars::JsonSchema>::schema_id()
            }

            fn is_referenceable() -> bool {
                <crate::types::#body as ::schemars::JsonSchema>::is_referenceable()
            }

            fn json_schema(
                generator: &mut ::schemars::r#gen::SchemaGenerator,
            ) -> ::schemars::schema::Schema {
                <crate::types::#body as ::schemars::JsonSchema>::json_schema(generator)
            }
        }

        impl ::std::convert::From<::dropshot::HttpError> for #name {
            fn from(error: ::dropshot::HttpError) -> Self {
                let body = ::serde_json::json!(#template);
                let body = ::serde_json::from_value(body).expect(#expect);
                Self {
                    status: error.status_code,
                    body,
                }
            }
        }

        impl ::dropshot::HttpResponseError for #name {
            fn status_code(&self) -> ::dropshot::ErrorStatusCode {
                self.status
            }
        }
    }
}

/// A test in the generated crate that runs every `From<HttpError>` once for a
/// client and a server error, so a template/schema mismatch that slipped past
/// the generator's type check fails `cargo test -p resetd-api`, not a request.
fn error_test(error: &ErrorType) -> TokenStream {
    let name = format_ident!("{}", error.type_name);
    let test = format_ident!(
        "{}_from_http_error",
        heck::ToSnakeCase::to_snake_case(error.type_name.as_str())
    );
    let message_check = error.message_pointer.as_ref().map(|_| {
        quote! {
            assert_eq!(error.message().as_deref(), Some("unable to parse JSON body"));
        }
    });
    quote! {
        #[test]
        fn #test() {
            let error = super::#name::from(::dropshot::HttpError::for_bad_request(
                None,
                "unable to parse JSON body".to_string(),
            ));
            assert_eq!(error.status.as_u16(), 400);
            #message_check
            let error = super::#name::from(::dropshot::HttpError::for_internal_error(
                "secret detail".to_string(),
            ));
            assert_eq!(error.status.as_u16(), 500);
            assert!(!error.to_string().contains("secret detail"));
        }
    }
}

/// The template as the argument of `serde_json::json!`, with `$status` and
/// `$message` replaced by expressions over the `HttpError`.
fn json_tokens(value: &Value) -> TokenStream {
    match value {
        Value::Null => quote! { null },
        Value::Bool(true) => quote! { true },
        Value::Bool(false) => quote! { false },
        Value::Number(number) => {
            let literal = if let Some(n) = number.as_i64() {
                Literal::i64_unsuffixed(n)
            } else if let Some(n) = number.as_u64() {
                Literal::u64_unsuffixed(n)
            } else {
                Literal::f64_unsuffixed(number.as_f64().unwrap_or_default())
            };
            quote! { #literal }
        }
        Value::String(text) if text == "$status" => quote! { (error.status_code.as_u16()) },
        // `external_message` is what dropshot itself would show the client;
        // `internal_message` may carry details and is never copied.
        Value::String(text) if text == "$message" => {
            quote! { (crate::errors::client_message(&error)) }
        }
        Value::String(text) => quote! { #text },
        value if crate::validate::by_body_kind(value).is_some() => {
            let (malformed, invalid) = crate::validate::by_body_kind(value)
                .map(|(m, i)| (json_tokens(m), json_tokens(i)))
                .unwrap_or_default();
            quote! {
                (if crate::errors::body_is_malformed(&error) { #malformed } else { #invalid })
            }
        }
        Value::Array(items) => {
            let items = items.iter().map(json_tokens);
            quote! { [ #(#items),* ] }
        }
        Value::Object(map) => {
            let entries = map.iter().map(|(key, value)| {
                let value = json_tokens(value);
                quote! { #key: #value }
            });
            quote! { { #(#entries),* } }
        }
    }
}

/// `client_message`: the message of an `HttpError` as a client may see it. A body that
/// fails to parse is described by serde, which quotes the offending value (``invalid
/// type: integer `98765432` ``): that value may be a password, so quoted values are
/// replaced, except the field names of "missing field `x`" and the like.
fn client_message_fn() -> TokenStream {
    quote! {
        /// The client-facing message of `error`, with every value quoted from the request
        /// body replaced by `…` (a body's values may be passwords or tokens); quoted field
        /// names stay, so the message still says which field was wrong.
        ///
        /// serde does not escape backticks inside `` `value` `` (unknown variants), so a
        /// value may contain its own closing quote: a value runs to the last
        /// `` `, expected `` (or `", expected`), where serde's schema-only text begins, and
        /// with no such end the rest of the message is dropped.
        pub fn client_message(error: &::dropshot::HttpError) -> ::std::string::String {
            let message = error.external_message.as_str();
            let mut out = ::std::string::String::with_capacity(message.len());
            let mut rest = message;
            while let ::std::option::Option::Some(start) = rest.find(['`', '"']) {
                let quote = rest[start..].chars().next().unwrap_or('"');
                let before = &rest[..start];
                let after = &rest[start + 1..];
                out.push_str(before);
                out.push(quote);
                if before.ends_with("field ") {
                    let ::std::option::Option::Some(len) = after.find(quote) else {
                        out.push_str(after);
                        return out;
                    };
                    out.push_str(&after[..len]);
                    out.push(quote);
                    rest = &after[len + 1..];
                    continue;
                }
                out.push('…');
                out.push(quote);
                let end = ::std::format!("{quote}, expected");
                // What follows "expected" describes the schema, never the body.
                if let ::std::option::Option::Some(len) = after.rfind(&end) {
                    out.push_str(&after[len + 1..]);
                }
                return out;
            }
            out.push_str(rest);
            out
        }
    }
}

/// `body_is_malformed`, for `{$malformed: a, $invalid: b}` template slots. dropshot
/// reports both kinds as one "unable to parse JSON body" error, so the kind is read from
/// serde's and typify's wording of schema mismatches.
fn body_is_malformed_fn() -> TokenStream {
    quote! {
        /// Whether `error` says the request body is not JSON (or not JSON at all, e.g. the
        /// wrong content type), rather than JSON that does not fit the schema (a missing
        /// field, a wrong type, a string outside its length limits).
        pub fn body_is_malformed(error: &::dropshot::HttpError) -> bool {
            const SCHEMA_MISMATCH: [&str; 10] = [
                "missing field",
                "unknown field",
                "duplicate field",
                "invalid type",
                "invalid value",
                "invalid length",
                "unknown variant",
                "shorter than",
                "longer than",
                "doesn't match pattern",
            ];
            !SCHEMA_MISMATCH
                .iter()
                .any(|phrase| error.external_message.contains(phrase))
        }
    }
}

fn client_message_test() -> TokenStream {
    quote! {
        #[test]
        fn client_message_hides_quoted_values_but_not_field_names() {
            let cases = [
                (
                    "password: invalid type: integer `98765432`, expected a string at line 1 column 20",
                    "password: invalid type: integer `…`, expected a string at line 1 column 20",
                ),
                (
                    "password: invalid value: string \"hun\\\"ter2\", expected a string at line 1",
                    "password: invalid value: string \"…\", expected a string at line 1",
                ),
                // serde leaves backticks in a variant unescaped.
                (
                    "dialect: unknown variant `ab`cd`ef`, expected one of `ipcola`, `strapi` at line 1",
                    "dialect: unknown variant `…`, expected one of `ipcola`, `strapi` at line 1",
                ),
                (
                    "missing field `secret` at line 1 column 2",
                    "missing field `secret` at line 1 column 2",
                ),
                ("unknown variant `no end in sight", "unknown variant `…`"),
            ];
            for (message, shown) in cases {
                let error = ::dropshot::HttpError::for_bad_request(
                    ::std::option::Option::None,
                    ::std::format!("unable to parse JSON body: {message}"),
                );
                assert_eq!(
                    super::client_message(&error),
                    ::std::format!("unable to parse JSON body: {shown}")
                );
            }
        }
    }
}
