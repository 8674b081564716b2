//! Step 2: merge the per-dialect sources into one document.
//!
//! Rules (openapi/README.md): a path+method belongs to exactly one source; a
//! component name may appear in several sources only with identical content;
//! tags are united. The result is sorted (paths and every component map by
//! name) so that the merged YAML and everything generated from it is stable.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use openapiv3::{Components, Info, OpenAPI, PathItem, Paths, ReferenceOr};
use serde::Serialize;

use crate::sources::Source;

/// The merged document plus where each piece came from, so that validation
/// can name the file a problem is in.
#[derive(Debug, Clone)]
pub struct Merged {
    pub doc: OpenAPI,
    pub origins: Origins,
}

#[derive(Debug, Clone, Default)]
pub struct Origins {
    /// (path, lower-case method) -> source file.
    operations: BTreeMap<(String, String), String>,
    /// (component kind, name) -> every source file that defines it.
    components: BTreeMap<(String, String), Vec<String>>,
}

impl Origins {
    pub fn operation(&self, path: &str, method: &str) -> &str {
        self.operations
            .get(&(path.to_string(), method.to_string()))
            .map(String::as_str)
            .unwrap_or("?")
    }

    pub fn component(&self, kind: &str, name: &str) -> String {
        self.components
            .get(&(kind.to_string(), name.to_string()))
            .map(|files| files.join(", "))
            .unwrap_or_else(|| "?".to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeConflict {
    #[error("{method} {path} is defined in both {first} and {second}")]
    DuplicateOperation {
        method: String,
        path: String,
        first: String,
        second: String,
    },

    #[error(
        "{kind} `{name}` is defined differently in {first} and {second}; \
         make them identical or rename one with its dialect prefix"
    )]
    Component {
        kind: &'static str,
        name: String,
        first: String,
        second: String,
    },

    #[error("path {path}: path-level `{field}` differs between {first} and {second}")]
    PathItem {
        path: String,
        field: &'static str,
        first: String,
        second: String,
    },

    #[error("path {path} in {file} is a $ref; path items must be written inline")]
    PathRef { path: String, file: String },

    #[error("tag `{name}` is described differently in {first} and {second}")]
    Tag {
        name: String,
        first: String,
        second: String,
    },

    #[error("top-level extension `{name}` differs between {first} and {second}")]
    Extension {
        name: String,
        first: String,
        second: String,
    },
}

/// The file whose `info.version` becomes the merged document's version.
const OWN_SOURCE: &str = "resetd.yaml";
const DEFAULT_VERSION: &str = "0.1.0";

pub fn merge(sources: &[Source]) -> Result<Merged, Vec<MergeConflict>> {
    let mut conflicts = Vec::new();
    let mut origins = Origins::default();

    let own = sources.iter().find(|source| source.file == OWN_SOURCE);
    let file_list = sources
        .iter()
        .map(|source| source.file.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let info = Info {
        title: "resetd".to_string(),
        description: Some(format!(
            "Self-hosted password reset and account recovery speaking four public reset \
             APIs (IPCola, Strapi, Cloudreve v4, SelfCommunity v2) plus its own.\n\n\
             Merged by `cargo xtask regen` from openapi/sources/ ({file_list})."
        )),
        version: own
            .map(|source| source.doc.info.version.clone())
            .unwrap_or_else(|| DEFAULT_VERSION.to_string()),
        terms_of_service: own.and_then(|s| s.doc.info.terms_of_service.clone()),
        contact: own.and_then(|s| s.doc.info.contact.clone()),
        license: own.and_then(|s| s.doc.info.license.clone()),
        extensions: IndexMap::new(),
    };

    let mut doc = OpenAPI {
        openapi: "3.0.3".to_string(),
        info,
        servers: Vec::new(),
        paths: Paths::default(),
        components: None,
        security: None,
        tags: Vec::new(),
        external_docs: own.and_then(|s| s.doc.external_docs.clone()),
        extensions: IndexMap::new(),
    };
    let mut components = Components::default();
    let mut path_files: BTreeMap<String, String> = BTreeMap::new();
    let mut tag_files: BTreeMap<String, String> = BTreeMap::new();
    let mut extension_files: BTreeMap<String, String> = BTreeMap::new();

    for source in sources {
        let file = source.file.as_str();

        for server in &source.doc.servers {
            if !doc.servers.contains(server) {
                doc.servers.push(server.clone());
            }
        }

        for tag in &source.doc.tags {
            match doc.tags.iter().find(|known| known.name == tag.name) {
                None => {
                    tag_files.insert(tag.name.clone(), file.to_string());
                    doc.tags.push(tag.clone());
                }
                Some(known) if known == tag => {}
                Some(_) => conflicts.push(MergeConflict::Tag {
                    name: tag.name.clone(),
                    first: tag_files.get(&tag.name).cloned().unwrap_or_default(),
                    second: file.to_string(),
                }),
            }
        }

        for (name, value) in &source.doc.extensions {
            match doc.extensions.get(name) {
                None => {
                    extension_files.insert(name.clone(), file.to_string());
                    doc.extensions.insert(name.clone(), value.clone());
                }
                Some(known) if known == value => {}
                Some(_) => conflicts.push(MergeConflict::Extension {
                    name: name.clone(),
                    first: extension_files.get(name).cloned().unwrap_or_default(),
                    second: file.to_string(),
                }),
            }
        }

        for (path, item) in &source.doc.paths.paths {
            let ReferenceOr::Item(item) = item else {
                conflicts.push(MergeConflict::PathRef {
                    path: path.clone(),
                    file: file.to_string(),
                });
                continue;
            };
            let mut item = item.clone();
            // A source's top-level `security` applies to its own operations
            // only; in the merged document it would leak onto every other
            // dialect, so it is pushed down onto the operations.
            if let Some(security) = &source.doc.security {
                for operation in operations_mut(&mut item) {
                    if operation.security.is_none() {
                        operation.security = Some(security.clone());
                    }
                }
            }
            merge_path_item(
                &mut doc.paths,
                path,
                item,
                file,
                &mut path_files,
                &mut origins,
                &mut conflicts,
            );
        }
        for (name, value) in &source.doc.paths.extensions {
            doc.paths
                .extensions
                .entry(name.clone())
                .or_insert_with(|| value.clone());
        }

        if let Some(theirs) = &source.doc.components {
            merge_components(&mut components, theirs, file, &mut origins, &mut conflicts);
        }
    }

    doc.paths.paths.sort_keys();
    sort_components(&mut components);
    if components != Components::default() {
        doc.components = Some(components);
    }

    if conflicts.is_empty() {
        Ok(Merged { doc, origins })
    } else {
        Err(conflicts)
    }
}

/// The methods of a path item, lower-case, in a fixed order, with mutable
/// access to the operation.
fn operations_mut(item: &mut PathItem) -> Vec<&mut openapiv3::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn method_slots(item: &mut PathItem) -> [(&'static str, &mut Option<openapiv3::Operation>); 8] {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("options", &mut item.options),
        ("head", &mut item.head),
        ("patch", &mut item.patch),
        ("trace", &mut item.trace),
    ]
}

fn merge_path_item(
    paths: &mut Paths,
    path: &str,
    mut item: PathItem,
    file: &str,
    path_files: &mut BTreeMap<String, String>,
    origins: &mut Origins,
    conflicts: &mut Vec<MergeConflict>,
) {
    for (method, slot) in method_slots(&mut item) {
        if slot.is_some() {
            let key = (path.to_string(), method.to_string());
            if let Some(first) = origins.operations.get(&key) {
                conflicts.push(MergeConflict::DuplicateOperation {
                    method: method.to_uppercase(),
                    path: path.to_string(),
                    first: first.clone(),
                    second: file.to_string(),
                });
                *slot = None;
            } else {
                origins.operations.insert(key, file.to_string());
            }
        }
    }

    let Some(existing) = paths.paths.get_mut(path) else {
        path_files.insert(path.to_string(), file.to_string());
        paths
            .paths
            .insert(path.to_string(), ReferenceOr::Item(item));
        return;
    };
    let ReferenceOr::Item(existing) = existing else {
        return;
    };
    let first = path_files.get(path).cloned().unwrap_or_default();
    let mut differs = |field: &'static str, same: bool| {
        if !same {
            conflicts.push(MergeConflict::PathItem {
                path: path.to_string(),
                field,
                first: first.clone(),
                second: file.to_string(),
            });
        }
    };
    // Path-level fields apply to every method of the path, so two sources
    // sharing a path must agree on them (or leave them out).
    differs(
        "summary",
        item.summary.is_none() || existing.summary == item.summary,
    );
    differs(
        "description",
        item.description.is_none() || existing.description == item.description,
    );
    differs(
        "parameters",
        item.parameters.is_empty() || existing.parameters == item.parameters,
    );
    differs(
        "servers",
        item.servers.is_empty() || existing.servers == item.servers,
    );
    if existing.summary.is_none() {
        existing.summary = item.summary.take();
    }
    if existing.description.is_none() {
        existing.description = item.description.take();
    }
    if existing.parameters.is_empty() {
        existing.parameters = std::mem::take(&mut item.parameters);
    }
    if existing.servers.is_empty() {
        existing.servers = std::mem::take(&mut item.servers);
    }
    for (name, value) in std::mem::take(&mut item.extensions) {
        existing.extensions.entry(name).or_insert(value);
    }
    for ((_, slot), (_, theirs)) in method_slots(existing)
        .into_iter()
        .zip(method_slots(&mut item))
    {
        if slot.is_none() {
            *slot = theirs.take();
        }
    }
}

fn merge_components(
    ours: &mut Components,
    theirs: &Components,
    file: &str,
    origins: &mut Origins,
    conflicts: &mut Vec<MergeConflict>,
) {
    // A macro rather than a closure: the maps hold different value types.
    macro_rules! merge {
        ($kind:literal, $field:ident) => {
            merge_named(
                $kind,
                &mut ours.$field,
                &theirs.$field,
                file,
                origins,
                conflicts,
            )
        };
    }
    merge!("schema", schemas);
    merge!("response", responses);
    merge!("parameter", parameters);
    merge!("example", examples);
    merge!("request body", request_bodies);
    merge!("header", headers);
    merge!("security scheme", security_schemes);
    merge!("link", links);
    merge!("callback", callbacks);
    merge!("extension", extensions);
}

/// Adds `theirs` to `ours`; a name already present must carry identical
/// content. Content is compared as JSON so that the comparison does not depend
/// on how openapiv3 happens to model a schema.
fn merge_named<T: Serialize + Clone>(
    kind: &'static str,
    ours: &mut IndexMap<String, T>,
    theirs: &IndexMap<String, T>,
    file: &str,
    origins: &mut Origins,
    conflicts: &mut Vec<MergeConflict>,
) {
    for (name, value) in theirs {
        let key = (kind.to_string(), name.clone());
        match ours.get(name) {
            None => {
                ours.insert(name.clone(), value.clone());
                origins.components.insert(key, vec![file.to_string()]);
            }
            Some(known) => {
                let same = serde_json::to_value(known).ok() == serde_json::to_value(value).ok();
                let files = origins.components.entry(key).or_default();
                if same {
                    files.push(file.to_string());
                } else {
                    conflicts.push(MergeConflict::Component {
                        kind,
                        name: name.clone(),
                        first: files.first().cloned().unwrap_or_default(),
                        second: file.to_string(),
                    });
                }
            }
        }
    }
}

fn sort_components(components: &mut Components) {
    components.schemas.sort_keys();
    components.responses.sort_keys();
    components.parameters.sort_keys();
    components.examples.sort_keys();
    components.request_bodies.sort_keys();
    components.headers.sort_keys();
    components.security_schemes.sort_keys();
    components.links.sort_keys();
    components.callbacks.sort_keys();
    components.extensions.sort_keys();
}

/// The merged document as written to `openapi/resetd.yaml`.
pub fn to_yaml(doc: &OpenAPI) -> Result<String, serde_yaml::Error> {
    let body = serde_yaml::to_string(doc)?;
    Ok(format!(
        "# generated by `cargo xtask regen`, do not edit; the sources are openapi/sources/*.yaml\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::parse;

    fn source(file: &str, text: &str) -> Source {
        parse(file, text).expect("fixture parses")
    }

    const A: &str = r##"
openapi: 3.0.3
info: {title: a, version: 9.9.9}
tags: [{name: a}]
paths:
  /b:
    post:
      operationId: a_b
      responses: {'204': {description: ok}}
  /a:
    get:
      operationId: a_a
      responses: {'204': {description: ok}}
components:
  schemas:
    Shared: {type: object, properties: {x: {type: string}}}
    Zed: {type: string}
"##;

    const B_CONFLICT: &str = r##"
openapi: 3.0.3
info: {title: b, version: 1.0.0}
paths:
  /c:
    get:
      operationId: b_c
      responses: {'204': {description: ok}}
components:
  schemas:
    Shared: {type: object, properties: {x: {type: integer}}}
"##;

    #[test]
    fn conflicting_schema_names_both_files() {
        let err = merge(&[source("alpha.yaml", A), source("beta.yaml", B_CONFLICT)])
            .expect_err("conflict refused");
        let text = err
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(text.contains("`Shared`"), "{text}");
        assert!(
            text.contains("alpha.yaml") && text.contains("beta.yaml"),
            "{text}"
        );
    }

    #[test]
    fn identical_schemas_are_shared_and_output_is_sorted() {
        let b_same = B_CONFLICT.replace("type: integer", "type: string");
        let merged = merge(&[source("alpha.yaml", A), source("beta.yaml", &b_same)])
            .expect("identical schemas merge");
        let paths: Vec<_> = merged.doc.paths.paths.keys().cloned().collect();
        assert_eq!(paths, ["/a", "/b", "/c"]);
        let components = merged.doc.components.as_ref().expect("components");
        let names: Vec<_> = components.schemas.keys().cloned().collect();
        assert_eq!(names, ["Shared", "Zed"]);
        assert_eq!(
            merged.origins.component("schema", "Shared"),
            "alpha.yaml, beta.yaml"
        );
        assert_eq!(merged.doc.info.title, "resetd");
        assert_eq!(merged.doc.info.version, DEFAULT_VERSION);
    }

    #[test]
    fn duplicate_path_and_method_names_both_files() {
        let dup = A.replace("a_b", "other_b").replace("a_a", "other_a");
        let err = merge(&[source("alpha.yaml", A), source("omega.yaml", &dup)])
            .expect_err("duplicate refused");
        let text = err[0].to_string();
        assert!(
            text.contains("POST /b") && text.contains("alpha.yaml") && text.contains("omega.yaml"),
            "{text}"
        );
    }

    #[test]
    fn version_comes_from_the_resetd_source() {
        let merged = merge(&[source("resetd.yaml", A)]).expect("merges");
        assert_eq!(merged.doc.info.version, "9.9.9");
    }
}
