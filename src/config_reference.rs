//! The configuration reference: every key with its environment variable, default and
//! description, rendered from the config types themselves (their doc comments, through
//! schemars) and `Config::default()`, so the README's table cannot drift from the code
//! (`tests/it/config_reference.rs` compares them). `resetd config reference` prints it.

use schemars::schema::{InstanceType, RootSchema, Schema, SchemaObject, SingleOrVec};

use crate::config::{Config, ConfigSources, ENV_KEYS, WEBHOOK_SECRET_ENV, WEBHOOK_URL_ENV};

/// Variables that add to a key rather than set it: the one endpoint of `webhooks` the
/// environment may add.
const ADDING_ENV: &[(&str, &str)] = &[
    (WEBHOOK_URL_ENV, "webhooks"),
    (WEBHOOK_SECRET_ENV, "webhooks"),
];

/// One key of the reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Dotted TOML key (`security.captcha`).
    pub key: String,
    /// The variables that set (or add to) it.
    pub env: Vec<&'static str>,
    /// The default as TOML, or `unset`.
    pub default: String,
    pub description: String,
}

/// Every leaf key of [`Config`], tables in order of their keys.
pub fn entries() -> Vec<Entry> {
    let root = schemars::schema_for!(Config);
    let defaults = defaults_table();
    let mut out = Vec::new();
    walk(&root, &root.schema, "", &defaults, &mut out);
    out
}

/// The reference as a Markdown table.
pub fn markdown() -> String {
    let mut out =
        String::from("| key | env | default | description |\n| --- | --- | --- | --- |\n");
    for entry in entries() {
        let env = if entry.env.is_empty() {
            "—".to_owned()
        } else {
            let names: Vec<String> = entry.env.iter().map(|e| format!("`{e}`")).collect();
            names.join(", ")
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            entry.key,
            env,
            code(&entry.default),
            entry.description.replace('|', "\\|")
        ));
    }
    out
}

/// The effective value of every key of `config` and where it came from, one
/// `key = value  # source` line each (secrets redacted), in the reference's order.
pub fn effective(config: &Config, sources: &ConfigSources) -> String {
    let values = toml::Table::try_from(config).unwrap_or_default();
    let mut out = String::new();
    for entry in entries() {
        let value = lookup(&values, &entry.key);
        let source = sources.source_of(&entry.key);
        match value {
            Some(value) => out.push_str(&format!(
                "{} = {}  # {source}\n",
                entry.key,
                inline_toml(value)
            )),
            None => out.push_str(&format!("# {} unset  # {source}\n", entry.key)),
        }
    }
    out
}

fn lookup<'a>(table: &'a toml::Table, dotted: &str) -> Option<&'a toml::Value> {
    let mut parts = dotted.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        value = value.as_table()?.get(part)?;
    }
    Some(value)
}

/// `Config::default()` as TOML. Secrets serialize as `<redacted>`; a secret's default is
/// not secret, so it is shown.
fn defaults_table() -> toml::Table {
    let config = Config::default();
    let mut table = toml::Table::try_from(&config).unwrap_or_default();
    if let Some(mail) = table.get_mut("mail").and_then(toml::Value::as_table_mut) {
        mail.insert(
            "url".to_owned(),
            toml::Value::String(config.mail.url.expose().to_owned()),
        );
    }
    table
}

fn walk(
    root: &RootSchema,
    schema: &SchemaObject,
    prefix: &str,
    defaults: &toml::Table,
    out: &mut Vec<Entry>,
) {
    let Some(object) = &schema.object else {
        return;
    };
    let (mut leaves, mut tables) = (Vec::new(), Vec::new());
    for (name, property) in &object.properties {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let resolved = resolve(root, property);
        let is_table = resolved
            .object
            .as_ref()
            .is_some_and(|o| !o.properties.is_empty());
        if is_table {
            tables.push((key, name, resolved));
        } else {
            leaves.push((key, name, property, resolved));
        }
    }
    for (key, name, property, resolved) in leaves {
        let default = defaults
            .get(name.as_str())
            .map_or_else(|| "unset".to_owned(), inline_toml);
        out.push(Entry {
            env: ENV_KEYS
                .iter()
                .chain(ADDING_ENV)
                .filter(|(_, k)| *k == key)
                .map(|(e, _)| *e)
                .collect(),
            description: describe(property, &resolved),
            key,
            default,
        });
    }
    for (key, name, resolved) in tables {
        let empty = toml::Table::new();
        let nested = defaults
            .get(name.as_str())
            .and_then(toml::Value::as_table)
            .unwrap_or(&empty);
        walk(root, &resolved, &key, nested, out);
    }
}

/// Follows `$ref`, a lone `allOf`, and `anyOf`/`type` unions with null (an `Option`).
fn resolve(root: &RootSchema, schema: &Schema) -> SchemaObject {
    let Schema::Object(object) = schema else {
        return SchemaObject::default();
    };
    if let Some(reference) = &object.reference {
        let name = reference.trim_start_matches("#/definitions/");
        return root
            .definitions
            .get(name)
            .map_or_else(SchemaObject::default, |s| resolve(root, s));
    }
    if let Some(sub) = &object.subschemas {
        let only = sub.all_of.as_ref().or(sub.any_of.as_ref()).and_then(|all| {
            let mut non_null = all.iter().filter(|s| !is_null(s));
            let first = non_null.next();
            first.filter(|_| non_null.next().is_none())
        });
        if let Some(only) = only {
            return resolve(root, only);
        }
    }
    object.clone()
}

fn is_null(schema: &Schema) -> bool {
    matches!(schema, Schema::Object(o)
        if o.instance_type == Some(SingleOrVec::Single(Box::new(InstanceType::Null))))
}

/// The field's doc comment (else its type's), on one line, with an enum's values.
fn describe(property: &Schema, resolved: &SchemaObject) -> String {
    let field_doc = match property {
        Schema::Object(o) => o.metadata.as_ref().and_then(|m| m.description.clone()),
        Schema::Bool(_) => None,
    };
    let type_doc = resolved
        .metadata
        .as_ref()
        .and_then(|m| m.description.clone());
    let mut text = field_doc
        .or(type_doc)
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(values) = &resolved.enum_values {
        let values: Vec<String> = values
            .iter()
            .map(|v| {
                v.as_str()
                    .map_or_else(|| v.to_string(), |s| format!("`{s}`"))
            })
            .collect();
        text.push_str(&format!(" One of {}.", values.join(", ")));
    }
    text.trim().to_owned()
}

fn inline_toml(value: &toml::Value) -> String {
    value.to_string()
}

fn code(text: &str) -> String {
    if text == "unset" {
        text.to_owned()
    } else {
        format!("`{}`", text.replace('|', "\\|"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_listed_once_with_a_description() {
        let entries = entries();
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        for expected in [
            "bind",
            "secret",
            "mail.url",
            "security.captcha",
            "dialects.ipcola.user_tag",
            "dialects.cloudreve.token_ttl_secs",
        ] {
            assert_eq!(
                keys.iter().filter(|k| **k == expected).count(),
                1,
                "{expected}"
            );
        }
        for entry in &entries {
            assert!(
                !entry.description.is_empty(),
                "`{}` has no doc comment",
                entry.key
            );
        }
        // Every environment variable sets a listed key.
        for (var, key) in ENV_KEYS {
            let entry = entries.iter().find(|e| e.key == *key);
            assert_eq!(entry.map(|e| e.env.clone()), Some(vec![*var]), "{key}");
        }
    }

    #[test]
    fn defaults_come_from_the_code() {
        let entries = entries();
        let default = |key: &str| {
            entries
                .iter()
                .find(|e| e.key == key)
                .map(|e| e.default.clone())
                .unwrap_or_else(|| panic!("no {key}"))
        };
        assert_eq!(default("bind"), "\"127.0.0.1:8080\"");
        assert_eq!(default("secret"), "unset");
        assert_eq!(default("mail.url"), "\"file://mail-out\"");
        assert_eq!(default("dialects.ipcola.token_ttl_secs"), "900");
        assert_eq!(default("security.trusted_proxies"), "[]");
        assert!(markdown().contains("| `security.rate_limits` | `RESETD_RATE_LIMITS` | `\"on\"` |"));
    }
}
