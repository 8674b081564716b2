//! CORS preflights: an unpublished `OPTIONS` endpoint for every path of the spec.
//!
//! dropshot 0.18 has no middleware and answers `OPTIONS` on a path without such an
//! endpoint with 405, so a browser's preflight needs one endpoint per path. They are
//! `unpublished` (not in `openapi.json`, the spec stays as written) and all call the
//! trait's one `preflight` function with the path's methods; the server implements that
//! function once. A path variable is taken as a `String`: a preflight never reads it.

use std::collections::BTreeMap;

use heck::ToSnakeCase;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::{Api, HttpMethod};

/// One path of the spec and the methods its operations use.
struct PreflightPath {
    path: String,
    methods: Vec<HttpMethod>,
    variables: Vec<String>,
    /// The stem of the endpoint's and its path struct's names.
    stem: String,
}

/// The paths to answer preflights for, in the spec's order; a path with its own `OPTIONS`
/// operation is left to it.
fn preflight_paths(api: &Api) -> Vec<PreflightPath> {
    let mut paths: Vec<PreflightPath> = Vec::new();
    for op in &api.operations {
        match paths.iter_mut().find(|p| p.path == op.path) {
            Some(known) => known.methods.push(op.method),
            None => paths.push(PreflightPath {
                path: op.path.clone(),
                methods: vec![op.method],
                variables: path_variables(&op.path),
                stem: String::new(),
            }),
        }
    }
    paths.retain(|p| !p.methods.contains(&HttpMethod::Options));
    // `/a/b/` and `/a/b` would share a stem: number the later ones.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for path in &mut paths {
        let base = path.path.replace(['{', '}'], "").to_snake_case();
        let count = seen.entry(base.clone()).or_insert(0);
        *count += 1;
        path.stem = match *count {
            1 => base,
            n => format!("{base}_{n}"),
        };
    }
    paths
}

fn path_variables(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_owned)
        .collect()
}

fn path_struct_ident(path: &PreflightPath) -> proc_macro2::Ident {
    use heck::ToUpperCamelCase;
    format_ident!("Preflight{}Path", path.stem.to_upper_camel_case())
}

/// The path structs of the preflight endpoints whose path has variables (for `params`).
pub fn params(api: &Api) -> TokenStream {
    let structs = preflight_paths(api)
        .into_iter()
        .filter(|p| !p.variables.is_empty())
        .map(|p| {
            let ident = path_struct_ident(&p);
            let doc = format!(" Path parameters of the CORS preflight of `{}`.", p.path);
            let fields = p.variables.iter().map(|name| {
                let field = format_ident!("{}", name.to_snake_case());
                quote! {
                    #[serde(rename = #name)]
                    pub #field: ::std::string::String,
                }
            });
            quote! {
                #[doc = #doc]
                #[derive(Debug, Clone, ::serde::Deserialize, ::schemars::JsonSchema)]
                pub struct #ident {
                    #(#fields)*
                }
            }
        });
    quote! { #(#structs)* }
}

/// The trait's `preflight` function and one unpublished `OPTIONS` endpoint per path.
pub fn trait_items(api: &Api) -> TokenStream {
    let endpoints = preflight_paths(api).into_iter().map(|p| {
        let name = format_ident!("preflight_{}", p.stem);
        let path = &p.path;
        let doc = format!(" The CORS preflight of `{path}`.");
        let methods = p.methods.iter().map(|m| format_ident!("{}", m.upper()));
        let path_arg = (!p.variables.is_empty()).then(|| {
            let ident = path_struct_ident(&p);
            quote! { _path: ::dropshot::Path<crate::params::#ident>, }
        });
        quote! {
            #[doc = #doc]
            #[endpoint {
                method = OPTIONS,
                path = #path,
                unpublished = true,
            }]
            async fn #name(
                rqctx: ::dropshot::RequestContext<Self::Context>,
                #path_arg
            ) -> ::std::result::Result<::http::Response<::dropshot::Body>, ::dropshot::HttpError> {
                ::std::result::Result::Ok(Self::preflight(&rqctx, &[#(::http::Method::#methods),*]))
            }
        }
    });
    quote! {
        /// Answers a CORS preflight (`OPTIONS`) for a path whose operations use `methods`.
        /// Every generated `preflight_*` endpoint calls it.
        fn preflight(
            rqctx: &::dropshot::RequestContext<Self::Context>,
            methods: &'static [::http::Method],
        ) -> ::http::Response<::dropshot::Body>;

        #(#endpoints)*
    }
}
