//! The notice an account's old address gets when an operator moves the account to another.

use minijinja::{context, Value};

use crate::clock::Millis;
use crate::templating::Language;

/// The notice sent to an account's old address when an operator moved the account to
/// another one, so an owner who did not ask notices. It names neither the new address nor
/// any secret.
#[derive(Debug, Clone, Copy)]
pub struct EmailChangedMail<'a> {
    pub product: &'a str,
    /// The old address.
    pub recipient: &'a str,
    pub nickname: Option<&'a str>,
    pub language: &'a str,
    pub changed_at: Millis,
}

impl EmailChangedMail<'_> {
    pub(super) fn context(&self, language: Language) -> Value {
        context! {
            product => self.product,
            email => self.recipient,
            nickname => self.nickname,
            lang => language.tag(),
            changed_at => language.time(self.changed_at),
        }
    }
}
