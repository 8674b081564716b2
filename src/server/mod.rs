//! What the HTTP layer shares: the state every handler reaches, the error a start can end
//! in, which route a request went to, and the one log line and metrics per request. The
//! handlers (`dialects`, `pages`, `routes`) and the assembly (`app`) sit above it; the core
//! below.

pub mod access_log;
pub mod cors;
mod route_table;

use std::net::SocketAddr;
use std::sync::Arc;

use crate::mail::{MessageError, TemplateError, TransportError};
use crate::metrics::Metrics;
use crate::reset::ResetCore;
use crate::security::password_hash::HashError;
use crate::store::StoreError;
use crate::templating::Templates;

pub use route_table::{Route, RouteTable, UNMATCHED};

/// What every request handler can reach.
pub struct AppState {
    pub core: ResetCore,
    /// The reset pages' templates (`pages`), overrides in place.
    pub pages: Arc<Templates>,
    /// What `GET /metrics` shows.
    pub metrics: Arc<Metrics>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("mail.url: {0}")]
    Mail(#[from] TransportError),
    #[error("mail.from: {0}")]
    MailFrom(#[from] MessageError),
    #[error("argon2: {0}")]
    Hash(#[from] HashError),
    #[error(transparent)]
    Templates(#[from] TemplateError),
    #[error("building the API: {0}")]
    Api(String),
    #[error("cannot listen on {addr}: {message}")]
    Bind { addr: SocketAddr, message: String },
    #[error("cannot start the background thread: {0}")]
    Background(String),
}
