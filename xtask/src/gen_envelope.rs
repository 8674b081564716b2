//! `resetd_api::EnvelopeBody<T>`: the body extractor of operations marked
//! `x-resetd-envelope-errors: true`.
//!
//! Envelope dialects answer every outcome with HTTP 200 and their envelope,
//! malformed bodies included. `TypedBody<T>` rejects a malformed body before
//! the handler runs (with dropshot's 400), so this extractor runs `TypedBody`
//! itself and hands the handler the `Result`. `metadata` is `TypedBody`'s, so
//! the emitted spec documents the body schema exactly as for `TypedBody<T>`.
//!
//! The trait method is written out in the shape `#[async_trait]` gives it
//! (dropshot declares `ExclusiveExtractor` with async-trait), which keeps
//! async-trait out of resetd-api's dependencies. The request type is
//! `http::Request<dropshot::Body>`; dropshot does not re-export `http`, so
//! resetd-api depends on `http` 1 (the version dropshot itself uses).

use proc_macro2::TokenStream;
use quote::quote;

pub fn envelope_module() -> TokenStream {
    quote! {
        //! The request body extractor of envelope dialects.

        use ::std::future::Future;
        use ::std::pin::Pin;

        /// A JSON request body whose parse failure reaches the handler instead
        /// of being answered by dropshot.
        ///
        /// Used for operations marked `x-resetd-envelope-errors: true`: the
        /// dialect answers malformed JSON inside its own envelope (HTTP 200).
        /// The OpenAPI document describes the body exactly as `TypedBody<T>`
        /// would.
        #[derive(Debug)]
        pub struct EnvelopeBody<T>
        where
            T: ::schemars::JsonSchema + ::serde::de::DeserializeOwned + Send + Sync,
        {
            inner: ::std::result::Result<T, ::dropshot::HttpError>,
        }

        impl<T> EnvelopeBody<T>
        where
            T: ::schemars::JsonSchema + ::serde::de::DeserializeOwned + Send + Sync,
        {
            /// The parsed body, or the error `TypedBody<T>` would have answered
            /// with (its status and message describe what was wrong).
            pub fn into_inner(self) -> ::std::result::Result<T, ::dropshot::HttpError> {
                self.inner
            }
        }

        /// Lets tests build the extractor without a request.
        impl<T> ::std::convert::From<::std::result::Result<T, ::dropshot::HttpError>> for EnvelopeBody<T>
        where
            T: ::schemars::JsonSchema + ::serde::de::DeserializeOwned + Send + Sync,
        {
            fn from(inner: ::std::result::Result<T, ::dropshot::HttpError>) -> Self {
                Self { inner }
            }
        }

        impl<T> ::dropshot::ExclusiveExtractor for EnvelopeBody<T>
        where
            T: ::schemars::JsonSchema + ::serde::de::DeserializeOwned + Send + Sync + 'static,
        {
            fn from_request<'life0, 'async_trait, Context>(
                rqctx: &'life0 ::dropshot::RequestContext<Context>,
                request: ::http::Request<::dropshot::Body>,
            ) -> Pin<Box<dyn Future<Output = ::std::result::Result<Self, ::dropshot::HttpError>> + Send + 'async_trait>>
            where
                Context: ::dropshot::ServerContext + 'async_trait,
                'life0: 'async_trait,
            {
                Box::pin(async move {
                    let body = <::dropshot::TypedBody<T> as ::dropshot::ExclusiveExtractor>::from_request(rqctx, request).await;
                    Ok(Self {
                        inner: body.map(::dropshot::TypedBody::into_inner),
                    })
                })
            }

            fn metadata(
                content_type: ::dropshot::ApiEndpointBodyContentType,
            ) -> ::dropshot::ExtractorMetadata {
                <::dropshot::TypedBody<T> as ::dropshot::ExclusiveExtractor>::metadata(content_type)
            }
        }
    }
}
