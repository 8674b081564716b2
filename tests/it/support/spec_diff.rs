//! Compares two OpenAPI 3.0 documents as JSON values, operation by operation, and lists
//! every difference that changes what a client may send or receive.
//!
//! The two sides are the spec (`openapi/resetd.yaml`) and the document dropshot emits for
//! the server. They are written by different hands (a YAML merger and schemars), so the
//! comparison normalises what legitimately differs between them:
//! - paths are keyed with the trailing slash stripped (dropshot drops it when emitting);
//! - `$ref`s are resolved on both sides, and `allOf: [one schema]` is that schema;
//! - descriptions, examples, tags, parameter `style`, length limits and error statuses are
//!   not compared; errors are compared only by the schema they use (dropshot writes them as
//!   `4XX`/`5XX` references, the spec as explicit statuses);
//! - in response bodies `nullable` and `required` are not compared (dropshot marks an
//!   `Option<T>` field nullable and not required, the spec may list it as required).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Guards the schema walk against a recursive schema; resetd's are a few levels deep.
const MAX_DEPTH: usize = 32;

/// Every difference between `spec` and `server`, one readable line each, sorted by
/// operation. Empty when the server serves the spec.
pub fn differences(spec: &Value, server: &Value) -> Vec<String> {
    let spec_ops = operations(spec);
    let server_ops = operations(server);
    let mut cmp = Comparer {
        spec,
        server,
        out: Vec::new(),
        op: String::new(),
    };
    for (key, spec_op) in &spec_ops {
        match server_ops.get(key) {
            None => cmp
                .out
                .push(format!("missing in server: {}", spec_op.title(key))),
            Some(server_op) => {
                cmp.op = spec_op.title(key);
                cmp.operation(spec_op, server_op);
            }
        }
    }
    for (key, server_op) in &server_ops {
        if !spec_ops.contains_key(key) {
            cmp.out
                .push(format!("extra in server: {}", server_op.title(key)));
        }
    }
    cmp.out
}

/// `differences` as one message for a failing test.
pub fn report(differences: &[String]) -> String {
    format!(
        "{} difference(s) between the spec (openapi/resetd.yaml) and the server:\n  - {}",
        differences.len(),
        differences.join("\n  - ")
    )
}

/// (path without trailing slash, METHOD): sorts an operation's lines by path.
type OpKey = (String, String);

struct Operation<'a> {
    path: &'a str,
    op: &'a Value,
    /// Parameters of the path item and the operation (the latter win), resolved later.
    parameters: Vec<&'a Value>,
}

impl Operation<'_> {
    /// `PATCH /user/reset/{user_id} (cloudreve_reset_password)`, as the document spells it.
    fn title(&self, key: &OpKey) -> String {
        let id = self.op["operationId"].as_str().unwrap_or("no operationId");
        format!("{} {} ({id})", key.1, self.path)
    }
}

fn operations(doc: &Value) -> BTreeMap<OpKey, Operation<'_>> {
    let mut ops = BTreeMap::new();
    let Some(paths) = doc["paths"].as_object() else {
        return ops;
    };
    for (path, item) in paths {
        let shared = item["parameters"].as_array().into_iter().flatten();
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let own = op["parameters"].as_array().into_iter().flatten();
            let stripped = match path.strip_suffix('/') {
                Some(p) if !p.is_empty() => p,
                _ => path.as_str(),
            };
            let key = (stripped.to_string(), method.to_uppercase());
            ops.insert(
                key,
                Operation {
                    path,
                    op,
                    parameters: shared.clone().chain(own).collect(),
                },
            );
        }
    }
    ops
}

struct Comparer<'a> {
    spec: &'a Value,
    server: &'a Value,
    out: Vec<String>,
    /// Title of the operation being compared, the prefix of every line.
    op: String,
}

impl Comparer<'_> {
    fn report(&mut self, what: impl std::fmt::Display) {
        self.out.push(format!("{}: {what}", self.op));
    }

    fn operation(&mut self, spec: &Operation, server: &Operation) {
        let id = |op: &Value| op["operationId"].as_str().unwrap_or("none").to_string();
        let (spec_id, server_id) = (id(spec.op), id(server.op));
        if spec_id != server_id {
            self.report(format!("operationId: spec {spec_id}, server {server_id}"));
        }
        self.parameters(spec, server);
        self.request_body(spec.op.get("requestBody"), server.op.get("requestBody"));
        self.success_response(spec.op, server.op);
        let (spec_errors, server_errors) = (
            error_schemas(self.spec, spec.op),
            error_schemas(self.server, server.op),
        );
        if spec_errors != server_errors {
            self.report(format!(
                "error responses: spec schema {}, server schema {}",
                list(&spec_errors),
                list(&server_errors)
            ));
        }
    }

    fn parameters(&mut self, spec: &Operation, server: &Operation) {
        let spec_params = parameters(self.spec, &spec.parameters);
        let server_params = parameters(self.server, &server.parameters);
        let keys: BTreeSet<&(String, String)> =
            spec_params.keys().chain(server_params.keys()).collect();
        for key in keys {
            let at = format!("{} parameter \"{}\"", key.0, key.1);
            match (spec_params.get(key), server_params.get(key)) {
                (Some(_), None) => self.report(format!("{at}: in spec only")),
                (None, Some(_)) => self.report(format!("{at}: in server only")),
                (Some(s), Some(v)) => {
                    let (s_req, v_req) = (is_true(&s["required"]), is_true(&v["required"]));
                    if s_req != v_req {
                        self.report(format!(
                            "{at}: {} in spec, {} in server",
                            required_word(s_req),
                            required_word(v_req)
                        ));
                    }
                    // Optionality of a parameter is its `required` flag; a nullable schema
                    // says nothing more on the wire, so the schema is compared loosely.
                    self.schema(&at, "", &s["schema"], &v["schema"], false, 0);
                }
                (None, None) => unreachable!("the key comes from one of the maps"),
            }
        }
    }

    fn request_body(&mut self, spec: Option<&Value>, server: Option<&Value>) {
        let (s, v) = match (spec, server) {
            (None, None) => return,
            (Some(_), None) => return self.report("request body: in spec only"),
            (None, Some(_)) => return self.report("request body: in server only"),
            (Some(s), Some(v)) => (follow_ref(self.spec, s), follow_ref(self.server, v)),
        };
        let (s_req, v_req) = (is_true(&s["required"]), is_true(&v["required"]));
        if s_req != v_req {
            self.report(format!(
                "request body: {} in spec, {} in server",
                required_word(s_req),
                required_word(v_req)
            ));
        }
        self.content("request body", s, v, true);
    }

    fn success_response(&mut self, spec: &Value, server: &Value) {
        let (s_codes, v_codes) = (success_codes(spec), success_codes(server));
        if s_codes != v_codes {
            self.report(format!(
                "success status: spec {}, server {}",
                list(&s_codes),
                list(&v_codes)
            ));
        }
        // Bodies are comparable only when each side names one success response.
        if let ([s_code], [v_code]) = (&s_codes[..], &v_codes[..]) {
            let s = follow_ref(self.spec, &spec["responses"][s_code]);
            let v = follow_ref(self.server, &server["responses"][v_code]);
            self.content("response body", s, v, false);
        }
    }

    /// Compares the media types and the schema of a request body or a response.
    fn content(&mut self, at: &str, spec: &Value, server: &Value, strict: bool) {
        let media = |v: &Value| -> Vec<String> {
            v["content"]
                .as_object()
                .map(|c| c.keys().cloned().collect())
                .unwrap_or_default()
        };
        let (s_media, v_media) = (media(spec), media(server));
        if s_media != v_media {
            let show = |m: &[String]| {
                if m.is_empty() {
                    "none".into()
                } else {
                    m.join(", ")
                }
            };
            return self.report(format!(
                "{at}: spec {}, server {}",
                show(&s_media),
                show(&v_media)
            ));
        }
        if let Some(media) = s_media.first() {
            let s = &spec["content"][media]["schema"];
            let v = &server["content"][media]["schema"];
            self.schema(at, "", s, v, strict, 0);
        }
    }

    /// Compares two schemas. `at` names the body or parameter, `path` the property inside
    /// it (`data.group.id`). `strict` (request bodies) also compares `nullable` and
    /// `required`; a response may differ there, as the module comment explains.
    fn schema(
        &mut self,
        at: &str,
        path: &str,
        spec: &Value,
        server: &Value,
        strict: bool,
        depth: usize,
    ) {
        let here = if path.is_empty() {
            at.to_string()
        } else {
            format!("{at} property \"{path}\"")
        };
        let ((s, s_null), (v, v_null)) =
            match (resolve(self.spec, spec), resolve(self.server, server)) {
                (Ok(s), Ok(v)) => (s, v),
                (Err(e), _) => return self.report(format!("{here}: spec {e}")),
                (_, Err(e)) => return self.report(format!("{here}: server {e}")),
            };
        if depth > MAX_DEPTH {
            return;
        }
        if strict && s_null != v_null {
            self.report(format!(
                "{here}: {} in spec, {} in server",
                nullable_word(s_null),
                nullable_word(v_null)
            ));
        }
        let (s_type, v_type) = (type_of(s), type_of(v));
        if s_type != v_type {
            // Nothing below a type mismatch is worth reading.
            return self.report(format!("{here}: spec type {s_type}, server type {v_type}"));
        }
        let (s_enum, v_enum) = (enum_of(s), enum_of(v));
        if s_enum != v_enum {
            self.report(format!(
                "{here}: spec enum {}, server enum {}",
                s_enum.as_ref().map_or("none".into(), list),
                v_enum.as_ref().map_or("none".into(), list)
            ));
        }

        let (s_props, v_props) = (properties(s), properties(v));
        let (s_req, v_req) = (required_of(s), required_of(v));
        let names: BTreeSet<&String> = s_props.keys().chain(v_props.keys()).copied().collect();
        for name in names {
            let child = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            let child_at = format!("{at} property \"{child}\"");
            match (s_props.get(name), v_props.get(name)) {
                (Some(_), None) => self.report(format!("{child_at}: in spec only")),
                (None, Some(_)) => self.report(format!("{child_at}: in server only")),
                (Some(sp), Some(vp)) => {
                    let (sr, vr) = (s_req.contains(name), v_req.contains(name));
                    if strict && sr != vr {
                        self.report(format!(
                            "{child_at}: {} in spec, {} in server",
                            required_word(sr),
                            required_word(vr)
                        ));
                    }
                    self.schema(at, &child, sp, vp, strict, depth + 1);
                }
                (None, None) => unreachable!("the name comes from one of the maps"),
            }
        }

        if let (Some(si), Some(vi)) = (s.get("items"), v.get("items")) {
            self.schema(at, &format!("{path}[]"), si, vi, strict, depth + 1);
        }
        // Combinators that `resolve` did not fold away are compared variant by variant.
        for key in ["oneOf", "anyOf", "allOf"] {
            let (sv, vv) = (variants(s, key), variants(v, key));
            if sv.len() != vv.len() {
                self.report(format!(
                    "{here}: spec {} {key} variant(s), server {}",
                    sv.len(),
                    vv.len()
                ));
                continue;
            }
            for (i, (sv, vv)) in sv.iter().zip(vv).enumerate() {
                self.schema(at, &format!("{path}<{key} {i}>"), sv, vv, strict, depth + 1);
            }
        }
    }
}

/// Follows `$ref`s (into `components.*`) and single-schema `allOf`s down to the schema
/// that says something, and whether any step on the way was `nullable`.
fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> Result<(&'a Value, bool), String> {
    let mut nullable = false;
    for _ in 0..MAX_DEPTH {
        nullable |= is_true(&schema["nullable"]);
        if let Some(r) = schema["$ref"].as_str() {
            schema = pointer(doc, r)?;
        } else if let Some([only]) = schema["allOf"].as_array().map(Vec::as_slice) {
            schema = only;
        } else {
            return Ok((schema, nullable));
        }
    }
    Err("$ref chain too long (a cycle?)".into())
}

/// A response, parameter or request body, or the one its `$ref` names.
fn follow_ref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => pointer(doc, r).unwrap_or(&Value::Null),
        None => v,
    }
}

fn pointer<'a>(doc: &'a Value, reference: &str) -> Result<&'a Value, String> {
    reference
        .strip_prefix('#')
        .and_then(|p| doc.pointer(p))
        .ok_or_else(|| format!("$ref {reference} does not resolve"))
}

/// Parameters keyed by (location, name); the operation's own override the path item's.
fn parameters<'a>(doc: &'a Value, params: &[&'a Value]) -> BTreeMap<(String, String), &'a Value> {
    params
        .iter()
        .map(|p| follow_ref(doc, p))
        .map(|p| {
            let key = (
                p["in"].as_str().unwrap_or("?").to_string(),
                p["name"].as_str().unwrap_or("?").to_string(),
            );
            (key, p)
        })
        .collect()
}

/// The 2xx statuses of an operation, sorted.
fn success_codes(op: &Value) -> Vec<String> {
    let mut codes: Vec<String> = op["responses"]
        .as_object()
        .into_iter()
        .flat_map(|r| r.keys())
        .filter(|code| code.starts_with('2'))
        .cloned()
        .collect();
    codes.sort();
    codes
}

/// Names of the schemas the error responses (4xx, 5xx, `4XX`, `5XX`, `default`) use.
fn error_schemas(doc: &Value, op: &Value) -> BTreeSet<String> {
    let responses = op["responses"].as_object().into_iter().flatten();
    responses
        .filter(|(code, _)| !code.starts_with('2'))
        .flat_map(|(_, response)| {
            let content = follow_ref(doc, response)["content"].as_object();
            content.into_iter().flat_map(|c| c.values())
        })
        .map(|media| match media["schema"]["$ref"].as_str() {
            Some(r) => r.rsplit('/').next().unwrap_or(r).to_string(),
            None => "an inline schema".to_string(),
        })
        .collect()
}

/// `string`, `string (date-time)`, `integer`, ...; `any` when the schema names no type.
fn type_of(schema: &Value) -> String {
    let ty = match &schema["type"] {
        Value::String(t) => t.clone(),
        Value::Null if schema.get("properties").is_some() => "object".into(),
        Value::Null => "any".into(),
        other => other.to_string(),
    };
    match schema["format"].as_str() {
        Some(format) => format!("{ty} ({format})"),
        None => ty,
    }
}

fn enum_of(schema: &Value) -> Option<BTreeSet<String>> {
    let values = schema["enum"].as_array()?;
    Some(values.iter().map(Value::to_string).collect())
}

fn properties(schema: &Value) -> BTreeMap<&String, &Value> {
    schema["properties"]
        .as_object()
        .map(|p| p.iter().collect())
        .unwrap_or_default()
}

fn required_of(schema: &Value) -> BTreeSet<&String> {
    let names = schema["required"].as_array().into_iter().flatten();
    names
        .filter_map(|n| match n {
            Value::String(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn variants<'a>(schema: &'a Value, key: &str) -> &'a [Value] {
    schema[key].as_array().map_or(&[], Vec::as_slice)
}

fn is_true(v: &Value) -> bool {
    v.as_bool() == Some(true)
}

fn required_word(required: bool) -> &'static str {
    if required {
        "required"
    } else {
        "optional"
    }
}

fn nullable_word(nullable: bool) -> &'static str {
    if nullable {
        "nullable"
    } else {
        "not nullable"
    }
}

fn list<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    let items: Vec<&str> = items.into_iter().map(String::as_str).collect();
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}
