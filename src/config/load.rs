//! Where the configuration comes from: defaults, then a TOML file, then `RESETD_*` variables;
//! and, for `resetd config check`, which of them set each key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::{Config, ConfigError};

/// Environment variables and the keys they set (INTERFACE.md).
pub const ENV_KEYS: &[(&str, &str)] = &[
    ("RESETD_BIND", "bind"),
    ("RESETD_DATABASE_URL", "database_url"),
    ("RESETD_MAIL_URL", "mail.url"),
    ("RESETD_MAIL_FROM", "mail.from"),
    ("RESETD_PUBLIC_BASE_URL", "public_base_url"),
    ("RESETD_SECRET", "secret"),
    ("RESETD_ADMIN_TOKEN", "admin_token"),
    ("RESETD_LOG", "log.filter"),
    ("RESETD_LOG_FORMAT", "log.format"),
    ("RESETD_RATE_LIMITS", "security.rate_limits"),
    ("RESETD_METRICS_TOKEN", "metrics.token"),
    ("RESETD_INTROSPECTION_TOKEN", "introspection.token"),
    ("RESETD_CORS_ALLOWED_ORIGINS", "cors.allowed_origins"),
];

/// The environment variable naming the config file.
pub const CONFIG_FILE_ENV: &str = "RESETD_CONFIG";
impl Config {
    /// Loads defaults, then `file` (or `$RESETD_CONFIG`), then the `RESETD_*` variables in
    /// `env`, and validates the result.
    pub fn load(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        Config::load_with_sources(file, env).map(|(config, _)| config)
    }

    /// [`Config::load`], also telling where each key's value came from.
    pub fn load_with_sources(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<(Config, ConfigSources), ConfigError> {
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| env.get(CONFIG_FILE_ENV).map(PathBuf::from));
        let mut table = match &file {
            Some(path) => read_table(path)?,
            None => toml::Table::new(),
        };
        let mut sources = ConfigSources {
            file_keys: leaf_keys(&table),
            file,
            env_keys: BTreeMap::new(),
        };
        for (var, key) in ENV_KEYS {
            if let Some(value) = env.get(*var) {
                set_dotted(&mut table, key, toml::Value::String(value.clone()))?;
                sources.env_keys.insert((*key).to_owned(), var);
            }
        }
        if super::webhooks::add_from_env(&mut table, env)? {
            sources
                .env_keys
                .insert("webhooks".to_owned(), super::WEBHOOK_URL_ENV);
        }
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|err| {
                let key = err.path().to_string();
                ConfigError::invalid(key, err.into_inner().message().to_owned())
            })?;
        config.validate()?;
        Ok((config, sources))
    }

    /// The process environment's `RESETD_*` variables.
    pub fn process_env() -> BTreeMap<String, String> {
        std::env::vars()
            .filter(|(k, _)| k.starts_with("RESETD_"))
            .collect()
    }
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    text.parse::<toml::Table>()
        .map_err(|err| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: err.message().to_owned(),
        })
}

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource<'a> {
    Default,
    File(&'a Path),
    Env(&'static str),
}

impl fmt::Display for ConfigSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigSource::Default => f.write_str("default"),
            ConfigSource::File(path) => write!(f, "file {}", path.display()),
            ConfigSource::Env(var) => write!(f, "env {var}"),
        }
    }
}

/// The keys a config file and the environment set (for `resetd config check`).
#[derive(Debug, Clone, Default)]
pub struct ConfigSources {
    file: Option<PathBuf>,
    /// Dotted keys of the file's values (arrays count as one value).
    file_keys: std::collections::BTreeSet<String>,
    env_keys: BTreeMap<String, &'static str>,
}

impl ConfigSources {
    /// Where the value of `key` (dotted) came from: the environment wins over the file.
    pub fn source_of(&self, key: &str) -> ConfigSource<'_> {
        if let Some(var) = self.env_keys.get(key) {
            return ConfigSource::Env(var);
        }
        match &self.file {
            Some(path) if self.file_keys.contains(key) => ConfigSource::File(path),
            _ => ConfigSource::Default,
        }
    }
}

/// The dotted keys of every non-table value in `table`.
fn leaf_keys(table: &toml::Table) -> std::collections::BTreeSet<String> {
    let mut keys = std::collections::BTreeSet::new();
    let mut stack: Vec<(String, &toml::Table)> = vec![(String::new(), table)];
    while let Some((prefix, table)) = stack.pop() {
        for (name, value) in table {
            let key = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            match value {
                toml::Value::Table(inner) => stack.push((key, inner)),
                _ => {
                    keys.insert(key);
                }
            }
        }
    }
    keys
}

/// Sets `a.b.c` in a TOML table, creating the intermediate tables.
fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), ConfigError> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or(key);
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| ConfigError::invalid(part, "must be a table"))?;
    }
    current.insert(last.to_owned(), value);
    Ok(())
}
