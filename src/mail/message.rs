//! Turns an outbox row into the email that goes on the wire.

use lettre::message::header::MessageId;
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;

use crate::store::OutboxMessage;

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// The configured sender does not parse (`resetd <no-reply@localhost>` is the form).
    #[error("mail.from is not a valid mailbox: {0}")]
    BadFrom(#[source] lettre::address::AddressError),
    /// The row's recipient does not parse; retrying cannot help.
    #[error("recipient is not a valid address: {0}")]
    BadRecipient(#[source] lettre::address::AddressError),
    #[error("message could not be built: {0}")]
    Build(#[source] lettre::error::Error),
}

/// Parses the configured sender, e.g. `resetd <no-reply@localhost>`.
pub fn parse_from(from: &str) -> Result<Mailbox, MessageError> {
    from.parse().map_err(MessageError::BadFrom)
}

/// A multipart/alternative (text + HTML) message for `row`, whose `Message-ID` is the row's,
/// so every retry of one row is recognisably the same message.
pub fn build_message(row: &OutboxMessage, from: &Mailbox) -> Result<Message, MessageError> {
    let to: Mailbox = row.recipient.parse().map_err(MessageError::BadRecipient)?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(row.subject.as_str())
        .header(MessageId::from(row.message_id.clone()))
        .multipart(MultiPart::alternative_plain_html(
            row.body_text.clone(),
            row.body_html.clone(),
        ))
        .map_err(MessageError::Build)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::claimed_mail;

    fn row(recipient: &str) -> OutboxMessage {
        OutboxMessage {
            message_id: "<0f3c@resetd>".to_owned(),
            subject: "Réinitialisez votre mot de passe".to_owned(),
            body_text: "Code: abcdefgh".to_owned(),
            body_html: "<p>Code: <b>abcdefgh</b></p>".to_owned(),
            ..claimed_mail(7, recipient)
        }
    }

    #[test]
    fn headers_and_alternative_parts() {
        let from = parse_from("resetd <no-reply@localhost>").expect("from");
        let message = build_message(&row("ada@example.test"), &from).expect("build");
        let text = String::from_utf8(message.formatted()).expect("utf-8");
        assert!(text.contains("Message-ID: <0f3c@resetd>\r\n"), "{text}");
        assert!(text.contains("From: resetd <no-reply@localhost>\r\n"));
        assert!(text.contains("To: ada@example.test\r\n"));
        assert!(text.contains("multipart/alternative"));
        assert!(text.contains("text/plain") && text.contains("text/html"));
        let envelope = message.envelope();
        assert_eq!(envelope.to().len(), 1);
        assert_eq!(envelope.to()[0].to_string(), "ada@example.test");
    }

    #[test]
    fn bad_addresses_are_typed_errors() {
        assert!(matches!(
            parse_from("not a mailbox"),
            Err(MessageError::BadFrom(_))
        ));
        let from = parse_from("no-reply@localhost").expect("from");
        let err = build_message(&row("nobody"), &from).expect_err("bad recipient");
        assert!(matches!(err, MessageError::BadRecipient(_)));
    }
}
