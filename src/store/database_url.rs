//! Turns `database_url` into the backend to open and what to hand it.

use super::StoreError;

const SQLITE_SCHEME: &str = "sqlite://";
const POSTGRES_SCHEMES: [&str; 2] = ["postgres://", "postgresql://"];

/// Where the store lives, as the URL scheme chose.
#[derive(PartialEq, Eq)]
pub(super) enum DatabaseUrl {
    /// The file path SQLite opens.
    Sqlite(String),
    /// A libpq-style URL for tokio-postgres (may carry a password: never log it).
    Postgres(String),
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            DatabaseUrl::Postgres(_) => f.write_str("Postgres(<redacted>)"),
        }
    }
}

impl DatabaseUrl {
    pub(super) fn parse(database_url: &str) -> Result<DatabaseUrl, StoreError> {
        if let Some(path) = strip_prefix_ignore_case(database_url, SQLITE_SCHEME) {
            return sqlite_path(path).map(DatabaseUrl::Sqlite);
        }
        for scheme in POSTGRES_SCHEMES {
            if let Some(rest) = strip_prefix_ignore_case(database_url, scheme) {
                if rest.is_empty() {
                    return Err(StoreError::BadUrl(
                        "postgres:// needs at least a host or a database name",
                    ));
                }
                // tokio-postgres recognises the scheme in lower case only.
                return Ok(DatabaseUrl::Postgres(format!("{scheme}{rest}")));
            }
        }
        Err(if database_url.contains("://") {
            StoreError::BadUrl("unsupported scheme (expected sqlite://PATH or postgres://...)")
        } else {
            StoreError::BadUrl("expected sqlite://PATH or postgres://...")
        })
    }
}

/// `sqlite://resetd.db` -> `resetd.db` (relative to the working directory),
/// `sqlite:///var/lib/resetd/resetd.db` -> `/var/lib/resetd/resetd.db`.
fn sqlite_path(path: &str) -> Result<String, StoreError> {
    if path.is_empty() {
        return Err(StoreError::BadUrl("sqlite:// needs a file path"));
    }
    if path.contains('?') {
        return Err(StoreError::BadUrl("sqlite:// takes no query parameters"));
    }
    if path == ":memory:" || path.contains("mode=memory") {
        // Every pooled connection would get its own, empty, database.
        return Err(StoreError::BadUrl(
            "in-memory SQLite is not supported: use a file path",
        ));
    }
    // The connection is opened with SQLITE_OPEN_URI: keep a file that happens to be named
    // `file:...` from being read as a URI.
    if path.starts_with("file:") {
        return Ok(format!("./{path}"));
    }
    Ok(path.to_owned())
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(url: &str) -> Option<String> {
        match DatabaseUrl::parse(url) {
            Ok(DatabaseUrl::Sqlite(path)) => Some(path),
            _ => None,
        }
    }

    #[test]
    fn relative_and_absolute_paths() {
        assert_eq!(sqlite("sqlite://resetd.db").as_deref(), Some("resetd.db"));
        assert_eq!(
            sqlite("sqlite://./data/resetd.db").as_deref(),
            Some("./data/resetd.db")
        );
        assert_eq!(
            sqlite("SQLITE:///var/lib/resetd.db").as_deref(),
            Some("/var/lib/resetd.db")
        );
        assert_eq!(sqlite("sqlite://file:x").as_deref(), Some("./file:x"));
    }

    #[test]
    fn postgres_urls_pass_through_with_a_lowercase_scheme() {
        for (url, expected) in [
            (
                "postgres://u:p@db:5432/resetd",
                "postgres://u:p@db:5432/resetd",
            ),
            (
                "PostgreSQL://db/resetd?sslmode=disable",
                "postgresql://db/resetd?sslmode=disable",
            ),
        ] {
            let parsed = DatabaseUrl::parse(url).expect("accepted");
            assert_eq!(parsed, DatabaseUrl::Postgres(expected.to_owned()));
            assert!(!format!("{parsed:?}").contains("p@db"));
        }
    }

    #[test]
    fn refuses_what_it_cannot_open_without_echoing_the_url() {
        for url in [
            "mysql://admin:hunter2@db/resetd",
            "resetd.db",
            "sqlite://",
            "sqlite://:memory:",
            "sqlite://x.db?mode=ro",
            "postgres://",
        ] {
            let Err(err) = DatabaseUrl::parse(url) else {
                panic!("accepted {url}");
            };
            assert!(matches!(err, StoreError::BadUrl(_)));
            assert!(!err.to_string().contains("hunter2"));
        }
    }
}
