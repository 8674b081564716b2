//! `resetd_api::JsonBody<T>`: the body extractor of every operation with a
//! request body.
//!
//! dropshot's `TypedBody<T>` takes a missing `Content-Type` as JSON (so a
//! plain cross-site form post, which needs no CORS preflight, reaches every
//! JSON endpoint), accepts a JSON array for a struct, reads the body with no
//! deadline and polls it (so hyper sends `100 Continue`) before looking at a
//! `Content-Length` over the limit. It also answers its failures itself.
//!
//! `JsonBody<T>` checks the headers when the request arrives (`Content-Type`
//! must be `application/json`, a declared `Content-Length` must fit the body
//! limit) but leaves the body unread: the handler calls [`read`] with the
//! server's deadline and gets `Result<T, HttpError>`, so every failure is
//! answered in the dialect's own form (its error type through
//! `From<HttpError>`, or its envelope). The extractor itself never fails.
//! `metadata` is `TypedBody`'s, so the emitted spec documents the body exactly
//! as for `TypedBody<T>`.
//!
//! The trait method is written out in the shape `#[async_trait]` gives it
//! (dropshot declares `ExclusiveExtractor` with async-trait), which keeps
//! async-trait out of resetd-api's dependencies. The request type is
//! `http::Request<dropshot::Body>`; dropshot does not re-export `http`, so
//! resetd-api depends on `http` 1 (the version dropshot itself uses).
//!
//! [`read`]: JsonBody::read

use proc_macro2::TokenStream;
use quote::quote;

pub fn body_module() -> TokenStream {
    quote! {
        //! The request body extractor of every operation with a body.

        use ::std::future::Future;
        use ::std::marker::PhantomData;
        use ::std::pin::Pin;
        use ::std::time::Duration;

        use ::dropshot::{ClientErrorStatusCode, HttpError};
        use ::http_body_util::BodyExt as _;

        /// The only media type a body may be sent as. `+json` types
        /// (`application/merge-patch+json`, ...) are refused too: the spec
        /// declares `application/json` alone and no client of the four products
        /// sends anything else, so accepting more would only widen what reaches
        /// the parser.
        pub const JSON_MEDIA_TYPE: &str = "application/json";

        /// A JSON object request body: headers checked on arrival, the body
        /// read by the handler under a deadline ([`JsonBody::read`]).
        ///
        /// The OpenAPI document describes the body exactly as `TypedBody<T>`
        /// would.
        #[derive(Debug)]
        pub struct JsonBody<T> {
            unread: ::std::result::Result<Unread, Refused>,
            // fn() -> T: the extractor holds no T, so it is Send and Sync for any T.
            parsed: PhantomData<fn() -> T>,
        }

        #[derive(Debug)]
        struct Unread {
            body: ::dropshot::Body,
            max_bytes: usize,
        }

        /// A body refused on its headers, and the body itself when the client
        /// sends it anyway (it did not ask with `Expect: 100-continue`).
        #[derive(Debug)]
        struct Refused {
            error: HttpError,
            linger: Option<::dropshot::Body>,
        }

        /// How much of a refused body is read and dropped before the answer.
        /// Closing a connection with unread bytes in its buffer resets it, and
        /// a client still sending then loses the refusal it was about to read;
        /// so, like nginx's lingering close, the rest of a body up to this size
        /// is read first (within the read deadline).
        const LINGER_BYTES: usize = 1 << 20;

        impl<T> JsonBody<T>
        where
            T: ::serde::de::DeserializeOwned,
        {
            /// Reads the body (at most the endpoint's body limit, 413 past it)
            /// within `timeout` (408 past it) and parses it as one JSON object
            /// of type `T` (400 otherwise); or the header check's error (415
            /// for a missing or non-JSON `Content-Type`, 413 for a declared
            /// length over the limit). On a timeout the rest of the body is
            /// never read: hyper closes the connection after the answer.
            pub async fn read(self, timeout: Duration) -> ::std::result::Result<T, HttpError> {
                let Unread { body, max_bytes } = match self.unread {
                    Ok(unread) => unread,
                    Err(Refused { error, linger }) => {
                        if let Some(body) = linger {
                            // Whatever this gets to: the answer is the refusal.
                            let _ = ::tokio::time::timeout(timeout, drain(body)).await;
                        }
                        return Err(error);
                    }
                };
                let bytes = ::tokio::time::timeout(timeout, collect(body, max_bytes))
                    .await
                    .map_err(|_| {
                        HttpError::for_client_error(
                            None,
                            ClientErrorStatusCode::REQUEST_TIMEOUT,
                            "request body not received in time".to_string(),
                        )
                    })??;
                parse(&bytes)
            }
        }

        impl<T> ::dropshot::ExclusiveExtractor for JsonBody<T>
        where
            T: ::schemars::JsonSchema + ::serde::de::DeserializeOwned + Send + Sync + 'static,
        {
            fn from_request<'life0, 'async_trait, Context>(
                rqctx: &'life0 ::dropshot::RequestContext<Context>,
                request: ::http::Request<::dropshot::Body>,
            ) -> Pin<Box<dyn Future<Output = ::std::result::Result<Self, HttpError>> + Send + 'async_trait>>
            where
                Context: ::dropshot::ServerContext + 'async_trait,
                'life0: 'async_trait,
            {
                let max_bytes = rqctx.request_body_max_bytes();
                Box::pin(async move {
                    let (parts, body) = request.into_parts();
                    // A client that asked first gets the refusal instead of
                    // `100 Continue`, and sends nothing more to drain.
                    let asked_first = parts.headers.contains_key(::http::header::EXPECT);
                    let unread = match check_headers(&parts.headers, max_bytes) {
                        Ok(()) => Ok(Unread { body, max_bytes }),
                        Err(error) => Err(Refused { error, linger: (!asked_first).then_some(body) }),
                    };
                    Ok(Self { unread, parsed: PhantomData })
                })
            }

            fn metadata(
                content_type: ::dropshot::ApiEndpointBodyContentType,
            ) -> ::dropshot::ExtractorMetadata {
                <::dropshot::TypedBody<T> as ::dropshot::ExclusiveExtractor>::metadata(content_type)
            }
        }

        /// 415 unless there is exactly one `Content-Type` and it is
        /// `application/json` (any case, parameters such as `charset` allowed);
        /// 413 for a declared `Content-Length` over `max_bytes`, decided before
        /// the body is polled, so hyper never answers `Expect: 100-continue`
        /// with `100 Continue` for a body that would be refused.
        fn check_headers(
            headers: &::http::HeaderMap,
            max_bytes: usize,
        ) -> ::std::result::Result<(), HttpError> {
            let mut types = headers.get_all(::http::header::CONTENT_TYPE).iter();
            let json = match (types.next(), types.next()) {
                (Some(value), None) => value
                    .to_str()
                    .ok()
                    .and_then(|value| value.split(';').next())
                    .is_some_and(|media| media.trim().eq_ignore_ascii_case(JSON_MEDIA_TYPE)),
                _ => false,
            };
            if !json {
                return Err(HttpError::for_client_error(
                    None,
                    ClientErrorStatusCode::UNSUPPORTED_MEDIA_TYPE,
                    ::std::format!("unsupported content type: send the body as {JSON_MEDIA_TYPE}"),
                ));
            }
            let declared = headers
                .get(::http::header::CONTENT_LENGTH)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok());
            if declared.is_some_and(|len| len > max_bytes as u64) {
                return Err(too_large(max_bytes));
            }
            Ok(())
        }

        fn too_large(max_bytes: usize) -> HttpError {
            HttpError::for_client_error(
                None,
                ClientErrorStatusCode::PAYLOAD_TOO_LARGE,
                ::std::format!("request body exceeded maximum size of {max_bytes} bytes"),
            )
        }

        /// The whole body, refused with 413 as soon as it grows past `max_bytes`
        /// (a chunked body declares no length).
        async fn collect(
            mut body: ::dropshot::Body,
            max_bytes: usize,
        ) -> ::std::result::Result<Vec<u8>, HttpError> {
            let mut out = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| {
                    HttpError::for_bad_request(None, ::std::format!("error streaming request body: {e}"))
                })?;
                // Trailers carry no body bytes.
                let Ok(data) = frame.into_data() else { continue };
                if out.len() + data.len() > max_bytes {
                    return Err(too_large(max_bytes));
                }
                out.extend_from_slice(&data);
            }
            Ok(out)
        }

        /// Reads and drops the body, up to [`LINGER_BYTES`].
        async fn drain(mut body: ::dropshot::Body) {
            let mut read = 0;
            while let Some(Ok(frame)) = body.frame().await {
                read += frame.data_ref().map_or(0, |data| data.len());
                if read > LINGER_BYTES {
                    return;
                }
            }
        }

        /// `bytes` as one JSON object of type `T`, with nothing after it. The
        /// messages are dropshot's (`unable to parse JSON body: ...`, serde's
        /// text with the field path); a body that is JSON but not an object is
        /// described in serde's words (`invalid type: array, expected a JSON
        /// object`), since a derived struct would otherwise accept an array.
        fn parse<T>(bytes: &[u8]) -> ::std::result::Result<T, HttpError>
        where
            T: ::serde::de::DeserializeOwned,
        {
            let bad = |message: ::std::string::String| {
                HttpError::for_bad_request(None, ::std::format!("unable to parse JSON body: {message}"))
            };
            let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
            if first != Some(&b'{') {
                return Err(bad(match ::serde_json::from_slice::<::serde_json::Value>(bytes) {
                    Err(e) => e.to_string(),
                    Ok(value) => ::std::format!(
                        "invalid type: {}, expected a JSON object",
                        json_kind(&value)
                    ),
                }));
            }
            let mut de = ::serde_json::Deserializer::from_slice(bytes);
            let value = ::serde_path_to_error::deserialize(&mut de).map_err(|e| bad(e.to_string()))?;
            de.end().map_err(|e| bad(e.to_string()))?;
            Ok(value)
        }

        fn json_kind(value: &::serde_json::Value) -> &'static str {
            match value {
                ::serde_json::Value::Null => "null",
                ::serde_json::Value::Bool(_) => "boolean",
                ::serde_json::Value::Number(_) => "number",
                ::serde_json::Value::String(_) => "string",
                ::serde_json::Value::Array(_) => "array",
                ::serde_json::Value::Object(_) => "object",
            }
        }

        #[cfg(test)]
        mod tests {
            #[derive(Debug, ::serde::Deserialize)]
            struct Login {
                #[allow(dead_code)]
                email: ::std::string::String,
            }

            fn headers(pairs: &[(&str, &str)]) -> ::http::HeaderMap {
                let mut map = ::http::HeaderMap::new();
                for (name, value) in pairs {
                    map.append(
                        ::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                        ::http::HeaderValue::from_str(value).expect("value"),
                    );
                }
                map
            }

            #[test]
            fn only_application_json_passes_the_header_check() {
                for ok in ["application/json", "Application/JSON; charset=utf-8", "application/json;charset=UTF-8"] {
                    assert!(super::check_headers(&headers(&[("content-type", ok)]), 100).is_ok(), "{ok}");
                }
                for refused in [
                    &[][..],
                    &[("content-type", "text/plain")][..],
                    &[("content-type", "application/x-www-form-urlencoded")][..],
                    &[("content-type", "application/merge-patch+json")][..],
                    &[("content-type", "application/jsonx")][..],
                    &[("content-type", "application/json"), ("content-type", "text/plain")][..],
                ] {
                    let error = super::check_headers(&headers(refused), 100).expect_err("refused");
                    assert_eq!(error.status_code.as_u16(), 415, "{refused:?}");
                }
                let error = super::check_headers(
                    &headers(&[("content-type", "application/json"), ("content-length", "101")]),
                    100,
                )
                .expect_err("too long");
                assert_eq!(error.status_code.as_u16(), 413);
            }

            #[test]
            fn only_one_json_object_parses() {
                assert!(super::parse::<Login>(br#" {"email": "a@b.c"} "#).is_ok());
                for (body, message) in [
                    (&br#"["a@b.c"]"#[..], "invalid type: array, expected a JSON object"),
                    (b"null", "invalid type: null, expected a JSON object"),
                    (b"", "EOF while parsing a value"),
                    (b"{not json", "key must be a string"),
                    (br#"{"email": "a@b.c"} {}"#, "trailing characters"),
                    (br#"{"email": 5}"#, "email: invalid type: integer"),
                ] {
                    let error = super::parse::<Login>(body).expect_err("refused");
                    assert_eq!(error.status_code.as_u16(), 400);
                    assert!(
                        error.external_message.starts_with("unable to parse JSON body: ")
                            && error.external_message.contains(message),
                        "{}",
                        error.external_message
                    );
                }
            }
        }
    }
}
