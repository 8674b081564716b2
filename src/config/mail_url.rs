//! Parses `mail.url` (see `INTERFACE.md`) into what a transport is built from, without side
//! effects, so `resetd config check` can validate it. Here, in the configuration (a leaf), so
//! that checking a configuration needs nothing of the mail module that sends with it.
//!
//! - `file://DIR`: one `.eml` file per message in DIR (relative or absolute)
//! - `smtp://[user:pass@]host[:port]`: plain SMTP, for local relays and test sinks (port 25)
//! - `smtp://...?tls=required`: STARTTLS, refusing to go on without it (port 587)
//! - `smtp://...?tls=opportunistic`: STARTTLS when offered (port 587)
//! - `smtps://[user:pass@]host[:port]`: implicit TLS (port 465)
//!
//! `starttls=` is accepted as another name for `tls=`.
//!
//! Why not lettre's `AsyncSmtpTransport::from_url` (lettre 0.11.23,
//! `transport/smtp/connection_url.rs`): it reads the same `smtp://`/`smtps://` forms, ports
//! and `tls=required|opportunistic`, but it refuses `tls=none`, knows no `starttls=`,
//! ignores unknown parameters (a misspelt `tsl=required` would send in plain text), takes a
//! path as the EHLO name, drops a password given without a user name, and hands an IPv6
//! host to the resolver with its brackets (`[::1]`), which then cannot connect. It also
//! builds the transport, TLS setup included, where `resetd config check` only validates.
//! So this module validates and describes the URL, and `mail::transport` gives its parts to
//! lettre's typed builder.

use std::fmt;
use std::path::PathBuf;

use url::{Host, Url};

/// What is wrong with a mail URL. Never echoes the URL: it may carry a password.
#[derive(Debug, thiserror::Error)]
pub enum MailUrlError {
    #[error("mail URL is malformed: {0}")]
    Malformed(#[source] url::ParseError),
    #[error("mail URL scheme `{0}` is not supported (use file://, smtp:// or smtps://)")]
    UnsupportedScheme(String),
    #[error("file:// mail URL needs a directory")]
    MissingDirectory,
    #[error("smtp mail URL needs a host")]
    MissingHost,
    #[error("smtp mail URL takes no path")]
    UnexpectedPath,
    #[error("mail URL parameter `{0}` is not known (only `tls` is)")]
    UnknownParameter(String),
    #[error("mail URL `tls` must be `required`, `opportunistic` or `none`, not `{0}`")]
    BadTlsMode(String),
    #[error("smtps:// is always TLS; drop the `tls` parameter")]
    TlsOnSmtps,
    #[error("mail URL has a user name but no password")]
    MissingPassword,
    #[error("mail URL has a password but no user name")]
    MissingUser,
    #[error("mail URL user name or password is not valid percent-encoded UTF-8")]
    BadCredentialEncoding,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain text throughout.
    None,
    /// STARTTLS, failing when the server does not offer it.
    StartTlsRequired,
    /// STARTTLS when offered, plain text otherwise.
    StartTlsOpportunistic,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// SMTP AUTH credentials, percent-decoded. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpCredentials {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for SmtpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpCredentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A parsed mail URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailUrl {
    File {
        dir: PathBuf,
    },
    Smtp {
        host: String,
        port: u16,
        security: SmtpSecurity,
        credentials: Option<SmtpCredentials>,
    },
}

impl MailUrl {
    pub fn parse(mail_url: &str) -> Result<MailUrl, MailUrlError> {
        if let Some(dir) = strip_prefix_ignore_case(mail_url, "file://") {
            // Taken verbatim: `file://mail-out` is relative, `file:///var/mail` absolute.
            if dir.is_empty() {
                return Err(MailUrlError::MissingDirectory);
            }
            return Ok(MailUrl::File {
                dir: PathBuf::from(dir),
            });
        }

        let url = Url::parse(mail_url).map_err(MailUrlError::Malformed)?;
        let implicit_tls = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => return Err(MailUrlError::UnsupportedScheme(other.to_owned())),
        };
        let host = match url.host() {
            Some(Host::Domain(domain)) if !domain.is_empty() => domain.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            // Without brackets: the host is used as-is to connect and to check certificates.
            Some(Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(MailUrlError::MissingHost),
        };
        if !matches!(url.path(), "" | "/") {
            return Err(MailUrlError::UnexpectedPath);
        }

        let mut tls = None;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "tls" | "starttls" => tls = Some(value.into_owned()),
                _ => return Err(MailUrlError::UnknownParameter(key.into_owned())),
            }
        }
        let security = match (implicit_tls, tls.as_deref()) {
            (true, None) => SmtpSecurity::Implicit,
            (true, Some(_)) => return Err(MailUrlError::TlsOnSmtps),
            (false, None | Some("none")) => SmtpSecurity::None,
            (false, Some("required")) => SmtpSecurity::StartTlsRequired,
            (false, Some("opportunistic")) => SmtpSecurity::StartTlsOpportunistic,
            (false, Some(other)) => return Err(MailUrlError::BadTlsMode(other.to_owned())),
        };
        let port = url.port().unwrap_or(match security {
            SmtpSecurity::None => 25,
            SmtpSecurity::StartTlsRequired | SmtpSecurity::StartTlsOpportunistic => 587,
            SmtpSecurity::Implicit => 465,
        });

        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            ("", Some(_)) => return Err(MailUrlError::MissingUser),
            (_, None) => return Err(MailUrlError::MissingPassword),
            (user, Some(password)) => Some(SmtpCredentials {
                user: percent_decode(user)?,
                password: percent_decode(password)?,
            }),
        };

        Ok(MailUrl::Smtp {
            host,
            port,
            security,
            credentials,
        })
    }
}

/// The URL with the password replaced, for logs and `config check`.
impl fmt::Display for MailUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailUrl::File { dir } => write!(f, "file://{}", dir.display()),
            MailUrl::Smtp {
                host,
                port,
                security,
                credentials,
            } => {
                let scheme = match security {
                    SmtpSecurity::Implicit => "smtps",
                    _ => "smtp",
                };
                write!(f, "{scheme}://")?;
                if let Some(credentials) = credentials {
                    write!(f, "{}:***@", credentials.user)?;
                }
                if host.contains(':') {
                    write!(f, "[{host}]:{port}")?;
                } else {
                    write!(f, "{host}:{port}")?;
                }
                match security {
                    SmtpSecurity::StartTlsRequired => f.write_str("?tls=required"),
                    SmtpSecurity::StartTlsOpportunistic => f.write_str("?tls=opportunistic"),
                    SmtpSecurity::None | SmtpSecurity::Implicit => Ok(()),
                }
            }
        }
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `%XX` escapes, as user names and passwords appear in a URL. A `%` that starts no
/// escape is refused rather than kept (the `url` crate lets it through unencoded): it is
/// a password typed without encoding, which would otherwise be sent as something else.
fn percent_decode(s: &str) -> Result<String, MailUrlError> {
    let stray_percent = s
        .match_indices('%')
        .any(|(at, _)| !s.get(at + 1..at + 3).is_some_and(is_hex_pair));
    if stray_percent {
        return Err(MailUrlError::BadCredentialEncoding);
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| MailUrlError::BadCredentialEncoding)
}

fn is_hex_pair(pair: &str) -> bool {
    pair.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp(url: &str) -> (String, u16, SmtpSecurity, Option<SmtpCredentials>) {
        match MailUrl::parse(url) {
            Ok(MailUrl::Smtp {
                host,
                port,
                security,
                credentials,
            }) => (host, port, security, credentials),
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn file_urls_keep_relative_and_absolute_paths() {
        let relative = MailUrl::parse("file://mail-out").expect("relative");
        assert_eq!(
            relative,
            MailUrl::File {
                dir: "mail-out".into()
            }
        );
        let absolute = MailUrl::parse("file:///var/spool/resetd").expect("absolute");
        assert_eq!(
            absolute,
            MailUrl::File {
                dir: "/var/spool/resetd".into()
            }
        );
    }

    #[test]
    fn smtp_forms_and_default_ports() {
        let plain = smtp("smtp://127.0.0.1:2525");
        assert_eq!(plain, ("127.0.0.1".into(), 2525, SmtpSecurity::None, None));
        assert_eq!(smtp("smtp://relay").1, 25);
        let required = smtp("smtp://relay.example?tls=required");
        assert_eq!(
            (required.1, required.2),
            (587, SmtpSecurity::StartTlsRequired)
        );
        let opportunistic = smtp("smtp://relay.example:2587?starttls=opportunistic");
        assert_eq!(
            (opportunistic.1, opportunistic.2),
            (2587, SmtpSecurity::StartTlsOpportunistic)
        );
        let implicit = smtp("smtps://relay.example");
        assert_eq!((implicit.1, implicit.2), (465, SmtpSecurity::Implicit));
        assert_eq!(smtp("smtp://[::1]:25").0, "::1");
    }

    #[test]
    fn credentials_are_decoded_and_never_shown() {
        let (_, _, _, credentials) = smtp("smtps://me%40example.test:p%40ss%3Aw0rd@relay");
        let credentials = credentials.expect("credentials");
        assert_eq!(credentials.user, "me@example.test");
        assert_eq!(credentials.password, "p@ss:w0rd");
        assert!(!format!("{credentials:?}").contains("w0rd"));

        let parsed = MailUrl::parse("smtps://me:s3cret@relay:465").expect("parse");
        assert_eq!(parsed.to_string(), "smtps://me:***@relay:465");
        assert!(!format!("{parsed:?}").contains("s3cret"));
    }

    #[test]
    fn errors_name_the_problem_without_the_password() {
        let cases = [
            ("ftp://u:s3cret@host", "scheme `ftp`"),
            ("smtp://u:s3cret@host?tls=maybe", "not `maybe`"),
            ("smtp://u:s3cret@host?timeout=5", "parameter `timeout`"),
            ("smtps://u:s3cret@host?tls=required", "always TLS"),
            ("smtp://u@host", "no password"),
            ("smtp://:s3cret@host", "no user name"),
            ("smtp://u:s3cret@host/ehlo", "no path"),
            ("smtp://u:s3cret%ZZ@host", "percent-encoded"),
            ("smtp://u:s3cret@:25", "malformed"),
            ("file://", "needs a directory"),
        ];
        for (url, expected) in cases {
            let err = MailUrl::parse(url).expect_err(url);
            let message = err.to_string();
            assert!(message.contains(expected), "{url}: {message}");
            assert!(!message.contains("s3cret"), "{url}: {message}");
        }
    }
}
