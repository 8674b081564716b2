//! `resetd_api::responses::Answer<T, E>`: what every operation with a dialect error type
//! answers, refusals included, so that each answer can carry headers the spec does not
//! describe (CORS) and a 429 can carry `Retry-After`.
//!
//! dropshot 0.18 builds a custom error type's response from its body alone (the blanket
//! `HttpResponseContent` impl; the trait is not exported, so nothing else can be given),
//! and dropshot's own `HttpError`, which can carry headers, has dropshot's body, not the
//! dialect's. The exported `HttpResponse` trait can be implemented, though: a refusal that
//! must carry headers travels on the success path as this type, which sends the error
//! type's status (`HttpResponseError::status_code`) and body, exactly what `Err(E)` would
//! send, plus the headers. Its `response_metadata` is exactly the wrapped success answer's,
//! so the emitted spec is unchanged (every error status is documented, as before, through
//! the trait's error type).

use proc_macro2::TokenStream;
use quote::quote;

pub fn responses_module() -> TokenStream {
    quote! {
        //! Answers dropshot has no type for.

        /// The answer of an operation: the success answer `T` or a refusal with the error
        /// type `E`'s status and body, plus headers the spec does not describe (CORS).
        ///
        /// dropshot gives a custom error type no way to add a header, so refusals are
        /// answered from the success path: the same status and JSON body as `Err(E)`
        /// would send. A refusal for too many requests also sends `Retry-After` in
        /// seconds (RFC 6585 §4, RFC 9110 §10.2.3). The documented success response is
        /// `T`'s; the errors are documented through the trait's error type.
        #[derive(Debug)]
        pub struct Answer<T, E> {
            outcome: Outcome<T, E>,
            headers: ::http::HeaderMap,
        }

        #[derive(Debug)]
        enum Outcome<T, E> {
            Success(T),
            Refused(E),
            TooManyRequests { error: E, retry_after_secs: u64 },
        }

        impl<T, E> Answer<T, E> {
            /// The success answer.
            pub fn success(answer: T) -> Self {
                Self { outcome: Outcome::Success(answer), headers: ::http::HeaderMap::new() }
            }

            /// A refusal: `error`'s status and body.
            pub fn refused(error: E) -> Self {
                Self { outcome: Outcome::Refused(error), headers: ::http::HeaderMap::new() }
            }

            /// The refusal for too many requests: `error`'s body, status 429 whatever
            /// status it names, `Retry-After: retry_after_secs` (at least 1).
            pub fn too_many_requests(error: E, retry_after_secs: u64) -> Self {
                Self {
                    outcome: Outcome::TooManyRequests { error, retry_after_secs },
                    headers: ::http::HeaderMap::new(),
                }
            }

            /// The same answer, also sending `headers` (an answer's own headers win).
            pub fn with_headers(mut self, headers: ::http::HeaderMap) -> Self {
                self.headers.extend(headers);
                self
            }

            /// The success answer passed through `f`; a refusal stays as it is.
            pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Answer<U, E> {
                let outcome = match self.outcome {
                    Outcome::Success(answer) => Outcome::Success(f(answer)),
                    Outcome::Refused(error) => Outcome::Refused(error),
                    Outcome::TooManyRequests { error, retry_after_secs } => {
                        Outcome::TooManyRequests { error, retry_after_secs }
                    }
                };
                Answer { outcome, headers: self.headers }
            }
        }

        impl<T, E> ::std::convert::From<T> for Answer<T, E> {
            fn from(answer: T) -> Self {
                Self::success(answer)
            }
        }

        impl<T, E> ::dropshot::HttpResponse for Answer<T, E>
        where
            T: ::dropshot::HttpResponse,
            E: ::dropshot::HttpResponseError + ::serde::Serialize,
        {
            fn to_result(
                self,
            ) -> ::std::result::Result<::http::Response<::dropshot::Body>, ::dropshot::HttpError> {
                let mut response = match self.outcome {
                    Outcome::Success(answer) => answer.to_result()?,
                    Outcome::Refused(error) => {
                        error_response(error.status_code().as_status(), &error)?
                    }
                    Outcome::TooManyRequests { error, retry_after_secs } => {
                        let mut response =
                            error_response(::http::StatusCode::TOO_MANY_REQUESTS, &error)?;
                        response.headers_mut().insert(
                            ::http::header::RETRY_AFTER,
                            ::http::HeaderValue::from(retry_after_secs.max(1)),
                        );
                        response
                    }
                };
                for (name, value) in self.headers.iter() {
                    if !response.headers().contains_key(name) {
                        response.headers_mut().append(name.clone(), value.clone());
                    }
                }
                ::std::result::Result::Ok(response)
            }

            fn response_metadata() -> ::dropshot::ApiEndpointResponse {
                T::response_metadata()
            }

            fn status_code(&self) -> ::http::StatusCode {
                match &self.outcome {
                    Outcome::Success(answer) => answer.status_code(),
                    Outcome::Refused(error) => error.status_code().as_status(),
                    Outcome::TooManyRequests { .. } => ::http::StatusCode::TOO_MANY_REQUESTS,
                }
            }
        }

        /// `status` with `error`'s JSON body, as dropshot answers an `Err`.
        fn error_response<E: ::serde::Serialize>(
            status: ::http::StatusCode,
            error: &E,
        ) -> ::std::result::Result<::http::Response<::dropshot::Body>, ::dropshot::HttpError> {
            let body = ::serde_json::to_string(error)
                .map_err(|err| ::dropshot::HttpError::for_internal_error(err.to_string()))?;
            ::std::result::Result::Ok(
                ::http::Response::builder()
                    .status(status)
                    .header(::http::header::CONTENT_TYPE, crate::JSON_MEDIA_TYPE)
                    .body(body.into())?,
            )
        }
    }
}
