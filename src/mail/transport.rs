//! Delivers built messages: to `.eml` files or over SMTP, as the mail URL says.

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, FileTransport, Message, Tokio1Executor, Transport,
};

use crate::config::{MailUrl, MailUrlError, SmtpSecurity};

/// Why no transport could be built from a mail URL. Never echoes the URL: it may carry a
/// password.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(transparent)]
    Url(#[from] MailUrlError),
    #[error("mail directory could not be created: {0}")]
    CreateDirectory(#[source] std::io::Error),
    #[error("TLS could not be set up: {0}")]
    Tls(#[source] lettre::transport::smtp::Error),
}

/// A delivery failure. Display carries the transport's reason (an SMTP reply code and text,
/// an I/O error), never credentials or message content.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP delivery failed: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("writing the .eml file failed: {0}")]
    File(#[from] lettre::transport::file::Error),
}

impl MailError {
    /// Whether the server refused the message for good (an SMTP 5xx reply).
    pub fn is_permanent(&self) -> bool {
        matches!(self, MailError::Smtp(e) if e.is_permanent())
    }
}

/// Where mail goes. Cheap to clone.
#[derive(Clone)]
pub struct MailTransport {
    inner: Inner,
    /// The URL with any password replaced, for logs.
    description: String,
}

#[derive(Clone)]
enum Inner {
    /// Written on the caller's thread. A message is a few kilobytes copied into the page
    /// cache (no sync): a hop to a blocking thread and back, as `AsyncFileTransport` makes,
    /// cost more CPU than the write under the bench's `redeem` load. The one sender is the
    /// outbox worker, on the background thread, where nothing answers a client.
    File(FileTransport),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl std::fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("MailTransport")
            .field(&self.description)
            .finish()
    }
}

impl MailTransport {
    /// Parses `mail_url` and builds the transport; a `file://` directory is created if
    /// missing.
    pub fn from_url(mail_url: &str) -> Result<MailTransport, TransportError> {
        MailTransport::new(&MailUrl::parse(mail_url)?)
    }

    pub fn new(url: &MailUrl) -> Result<MailTransport, TransportError> {
        let inner = match url {
            MailUrl::File { dir } => {
                // Startup only: a blocking call is fine here.
                std::fs::create_dir_all(dir).map_err(TransportError::CreateDirectory)?;
                Inner::File(FileTransport::new(dir))
            }
            MailUrl::Smtp {
                host,
                port,
                security,
                credentials,
            } => {
                let tls = match security {
                    SmtpSecurity::None => Tls::None,
                    SmtpSecurity::StartTlsRequired => Tls::Required(tls_parameters(host)?),
                    SmtpSecurity::StartTlsOpportunistic => {
                        Tls::Opportunistic(tls_parameters(host)?)
                    }
                    SmtpSecurity::Implicit => Tls::Wrapper(tls_parameters(host)?),
                };
                // "dangerous" only means "TLS is up to the caller": it is set just above.
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                    .port(*port)
                    .tls(tls);
                if let Some(credentials) = credentials {
                    builder = builder.credentials(Credentials::new(
                        credentials.user.clone(),
                        credentials.password.clone(),
                    ));
                }
                Inner::Smtp(builder.build())
            }
        };
        Ok(MailTransport {
            inner,
            description: url.to_string(),
        })
    }

    /// Delivers one message (one SMTP connection per message; the outbox worker is the only
    /// sender and sends little).
    pub async fn send(&self, message: &Message) -> Result<(), MailError> {
        let envelope = message.envelope();
        let bytes = message.formatted();
        match &self.inner {
            Inner::File(transport) => {
                transport.send_raw(envelope, &bytes)?;
            }
            Inner::Smtp(transport) => {
                transport.send_raw(envelope, &bytes).await?;
            }
        }
        Ok(())
    }

    /// The mail URL with any password replaced.
    pub fn description(&self) -> &str {
        &self.description
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, TransportError> {
    TlsParameters::new(host.to_owned()).map_err(TransportError::Tls)
}
