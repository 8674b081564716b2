//! Outgoing mail: templates (per kind of mail and language, text + HTML, overridable by the
//! operator), building messages from outbox rows, transports (`file://`, `smtp://`,
//! `smtps://`) and the outbox worker that delivers with retries.
//!
//! Mail is never sent inside a request: the request queues an outbox row in the same
//! transaction as its other writes, and [`OutboxWorker`] delivers it.

pub mod email_changed;
pub mod message;
pub mod outbox_worker;
pub mod templates;
pub mod transport;

// Shared with the reset pages (`templating`); named here too, where mail picks its language.
pub use crate::templating::Language;
// Parsed by `config` (a leaf); named here too, where transports are built from it.
pub use crate::config::{MailUrl, MailUrlError, SmtpCredentials, SmtpSecurity};
pub use message::{build_message, parse_from, MessageError};
pub use outbox_worker::{DeliveryStats, OutboxWorker, RetryPolicy};
pub use templates::{
    EmailChangedMail, MailTemplates, PasswordChangedMail, RenderError, ResetKind, ResetMail,
    TemplateError, DEFAULT_PRODUCT_NAME,
};
pub use transport::{MailError, MailTransport, TransportError};

#[cfg(test)]
mod delivery_tests;
#[cfg(test)]
mod template_tests;
