//! Turns `database_url` into what SQLite opens.

use super::StoreError;

const SQLITE_SCHEME: &str = "sqlite://";

/// `sqlite://resetd.db` -> `resetd.db` (relative to the working directory),
/// `sqlite:///var/lib/resetd/resetd.db` -> `/var/lib/resetd/resetd.db`.
pub(super) fn sqlite_path(database_url: &str) -> Result<String, StoreError> {
    let Some(path) = strip_prefix_ignore_case(database_url, SQLITE_SCHEME) else {
        return Err(if database_url.contains("://") {
            StoreError::BadUrl("unsupported scheme (this build opens sqlite://PATH)")
        } else {
            StoreError::BadUrl("expected sqlite://PATH")
        });
    };
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

    #[test]
    fn relative_and_absolute_paths() {
        assert_eq!(
            sqlite_path("sqlite://resetd.db").ok().as_deref(),
            Some("resetd.db")
        );
        assert_eq!(
            sqlite_path("sqlite://./data/resetd.db").ok().as_deref(),
            Some("./data/resetd.db")
        );
        assert_eq!(
            sqlite_path("SQLITE:///var/lib/resetd.db").ok().as_deref(),
            Some("/var/lib/resetd.db")
        );
        assert_eq!(
            sqlite_path("sqlite://file:x").ok().as_deref(),
            Some("./file:x")
        );
    }

    #[test]
    fn refuses_what_it_cannot_open_without_echoing_the_url() {
        for url in [
            "postgres://admin:hunter2@db/resetd",
            "resetd.db",
            "sqlite://",
            "sqlite://:memory:",
            "sqlite://x.db?mode=ro",
        ] {
            let Err(err) = sqlite_path(url) else {
                panic!("accepted {url}");
            };
            assert!(matches!(err, StoreError::BadUrl(_)));
            assert!(!err.to_string().contains("hunter2"));
        }
    }
}
