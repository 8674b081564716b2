//! The `resetd-api` crate: `Cargo.toml`, a trivial `lib.rs`, and one module
//! file per concern.
//!
//! prettyplease output is not rustfmt output, so `lib.rs` (which rustfmt
//! checks) contains only module declarations, and every bulk module is
//! declared `#[rustfmt::skip]`. Clippy lints that generated code cannot
//! reasonably satisfy are allowed on the declarations, not globally.

use openapiv3::OpenAPI;
use quote::quote;

use crate::error::RegenError;
use crate::model::Api;
use crate::output::FileSet;
use crate::render::{rust_file, TOML_HEADER};
use crate::{gen_body, gen_errors, gen_responses, gen_schemas, gen_trait, gen_types};

const DIR: &str = "generated/api";

pub fn api_files(doc: &OpenAPI, api: &Api, files: &mut FileSet) -> Result<(), RegenError> {
    let types = gen_types::api_types(doc)?;
    let overrides = gen_schemas::override_component_schemas(types.tokens, doc)?;
    let modules = [
        ("types.rs", overrides.types),
        ("schemas.rs", overrides.schemas),
        ("errors.rs", gen_errors::errors_module(api)),
        ("params.rs", gen_trait::params_module(api)),
        ("responses.rs", gen_responses::responses_module()),
        ("body.rs", gen_body::body_module()),
        ("api.rs", gen_trait::trait_module(api)),
    ];
    let mut all_code = String::new();
    for (name, tokens) in modules {
        let path = format!("{DIR}/src/{name}");
        let text = rust_file(&path, tokens)?;
        all_code.push_str(&text);
        files.insert(path, text);
    }
    let lib = quote! {
        //! The resetd API, generated from `openapi/resetd.yaml` by
        //! `cargo xtask regen`: the schema types, the dialects' error types, the
        //! 429 answer that says when to retry and the dropshot API trait
        //! [`ResetdApi`].

        #[rustfmt::skip]
        #[allow(clippy::all)]
        pub mod types;

        #[rustfmt::skip]
        mod schemas;

        #[rustfmt::skip]
        pub mod errors;

        #[rustfmt::skip]
        pub mod params;

        #[rustfmt::skip]
        pub mod responses;

        #[rustfmt::skip]
        mod body;

        #[rustfmt::skip]
        mod api;

        pub use api::*;
        pub use body::{JsonBody, JSON_MEDIA_TYPE};
    };
    let lib_path = format!("{DIR}/src/lib.rs");
    files.insert(lib_path.clone(), rust_file(&lib_path, lib)?);
    files.insert(format!("{DIR}/Cargo.toml"), cargo_toml(&all_code));
    Ok(())
}

fn cargo_toml(code: &str) -> String {
    let optional = |krate: &str| -> String {
        if code.contains(&format!("{krate}::")) {
            format!("{krate}.workspace = true\n")
        } else {
            String::new()
        }
    };
    format!(
        r#"{TOML_HEADER}[package]
name = "resetd-api"
version = "0.1.0"
edition.workspace = true
rust-version.workspace = true
license.workspace = true
publish = false
description = "The resetd API as schema types and a dropshot API trait, generated from openapi/resetd.yaml"

# Doc comments carry spec text, which is not Rust: never run it as doctests.
[lib]
doctest = false

[dependencies]
{chrono}dropshot.workspace = true
# http::Request names the request type of dropshot's ExclusiveExtractor (JsonBody);
# dropshot does not re-export it. JsonBody reads the body itself (http-body-util), under a
# deadline (tokio), with dropshot's error messages (serde_path_to_error).
http = "1"
http-body-util = "0.1"
{regress}schemars.workspace = true
serde.workspace = true
serde_json.workspace = true
serde_path_to_error = "0.1"
tokio.workspace = true
{uuid}"#,
        chrono = optional("chrono"),
        regress = optional("regress"),
        uuid = optional("uuid"),
    )
}
