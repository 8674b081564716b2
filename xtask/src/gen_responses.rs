//! `resetd_api::responses::OrTooManyRequests<T, E>`: the answer of an operation whose
//! spec declares `Retry-After` on its 429.
//!
//! dropshot 0.18 builds a custom error type's response from its body alone (the blanket
//! `HttpResponseContent` impl; the trait is not exported, so nothing else can be given),
//! and dropshot's own `HttpError`, which can carry headers, has dropshot's body, not the
//! dialect's. The exported `HttpResponse` trait can be implemented, though: a 429 that
//! must say when to retry travels on the success path as this type, which sends status
//! 429, the error type's body and `Retry-After`. Its `response_metadata` is exactly the
//! wrapped success answer's, so the emitted spec is unchanged (the 429 is documented,
//! like every error status, through the error type).

use proc_macro2::TokenStream;
use quote::quote;

pub fn responses_module() -> TokenStream {
    quote! {
        //! Answers dropshot has no type for.

        /// The answer of an operation whose 429 carries `Retry-After`: the success
        /// answer `T`, or a refusal for too many requests.
        ///
        /// dropshot gives a custom error type no way to add a header, so the refusal is
        /// answered from the success path: status 429, the error type `E`'s body (the
        /// same JSON as `Err(E)` would send) and `Retry-After` in seconds (RFC 6585 §4,
        /// RFC 9110 §10.2.3). The documented success response is `T`'s.
        #[derive(Debug)]
        pub enum OrTooManyRequests<T, E> {
            Answer(T),
            TooManyRequests {
                /// The dialect's "too many requests" error; sent with status 429 whatever
                /// status it names.
                error: E,
                /// Seconds until the client may try again; sent as at least 1.
                retry_after_secs: u64,
            },
        }

        impl<T, E> OrTooManyRequests<T, E> {
            /// The refusal: `error`'s body, status 429, `Retry-After: retry_after_secs`.
            pub fn too_many_requests(error: E, retry_after_secs: u64) -> Self {
                Self::TooManyRequests { error, retry_after_secs }
            }

            /// The answer passed through `f`; a refusal stays as it is.
            pub fn map<U>(self, f: impl FnOnce(T) -> U) -> OrTooManyRequests<U, E> {
                match self {
                    Self::Answer(answer) => OrTooManyRequests::Answer(f(answer)),
                    Self::TooManyRequests { error, retry_after_secs } => {
                        OrTooManyRequests::TooManyRequests { error, retry_after_secs }
                    }
                }
            }
        }

        impl<T, E> ::std::convert::From<T> for OrTooManyRequests<T, E> {
            fn from(answer: T) -> Self {
                Self::Answer(answer)
            }
        }

        impl<T, E> ::dropshot::HttpResponse for OrTooManyRequests<T, E>
        where
            T: ::dropshot::HttpResponse,
            E: ::serde::Serialize,
        {
            fn to_result(
                self,
            ) -> ::std::result::Result<::http::Response<::dropshot::Body>, ::dropshot::HttpError> {
                match self {
                    Self::Answer(answer) => answer.to_result(),
                    Self::TooManyRequests { error, retry_after_secs } => {
                        let body = ::serde_json::to_string(&error).map_err(|err| {
                            ::dropshot::HttpError::for_internal_error(err.to_string())
                        })?;
                        ::std::result::Result::Ok(
                            ::http::Response::builder()
                                .status(::http::StatusCode::TOO_MANY_REQUESTS)
                                .header(::http::header::CONTENT_TYPE, crate::JSON_MEDIA_TYPE)
                                .header(::http::header::RETRY_AFTER, retry_after_secs.max(1))
                                .body(body.into())?,
                        )
                    }
                }
            }

            fn response_metadata() -> ::dropshot::ApiEndpointResponse {
                T::response_metadata()
            }

            fn status_code(&self) -> ::http::StatusCode {
                match self {
                    Self::Answer(answer) => answer.status_code(),
                    Self::TooManyRequests { .. } => ::http::StatusCode::TOO_MANY_REQUESTS,
                }
            }
        }
    }
}
