//! `resetd webhook list/retry`: the webhook queue, as `resetd outbox` shows the mail's.

use clap::{Subcommand, ValueEnum};

use super::CliError;
use crate::app::Services;
use crate::store::WebhookStatus;

#[derive(Debug, Subcommand)]
pub(super) enum WebhookCommand {
    /// List waiting, delivered or dead deliveries (never their body or signature).
    List {
        #[arg(long, value_enum)]
        status: Option<WebhookStatusArg>,
    },
    /// Put a delivery (or, with --all, every dead one) back in the queue for now.
    Retry {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Every dead delivery.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum WebhookStatusArg {
    Pending,
    Sending,
    Delivered,
    Dead,
}

impl From<WebhookStatusArg> for WebhookStatus {
    fn from(arg: WebhookStatusArg) -> Self {
        match arg {
            WebhookStatusArg::Pending => WebhookStatus::Pending,
            WebhookStatusArg::Sending => WebhookStatus::Sending,
            WebhookStatusArg::Delivered => WebhookStatus::Delivered,
            WebhookStatusArg::Dead => WebhookStatus::Dead,
        }
    }
}

/// The endpoint as listed: scheme, host, port and path, no credential or query.
fn shown(endpoint: &str) -> String {
    match url::Url::parse(endpoint) {
        Ok(url) => {
            format!(
                "{}://{}{}",
                url.scheme(),
                url.host_str().unwrap_or(""),
                url.port().map_or(String::new(), |p| format!(":{p}"))
            ) + url.path()
        }
        Err(_) => "(unparsable)".to_owned(),
    }
}

pub(super) async fn run(services: Services, command: WebhookCommand) -> Result<(), CliError> {
    let store = &services.store;
    match command {
        WebhookCommand::List { status } => {
            for d in store.list_webhooks(status.map(Into::into)).await? {
                println!(
                    "{}\t{}\t{}\t{}\tuser={}\tattempts={}\t{}\t{}",
                    d.id,
                    d.status.as_str(),
                    d.event.as_str(),
                    d.webhook_id,
                    d.account_id,
                    d.attempts,
                    shown(&d.endpoint),
                    d.last_error.as_deref().unwrap_or("-"),
                );
            }
        }
        WebhookCommand::Retry { id: Some(id), .. } => {
            if !store.retry_webhook(id, services.clock.now_ms()).await? {
                return Err(CliError::NoSuchDelivery(id));
            }
            println!("webhook delivery {id} queued");
        }
        WebhookCommand::Retry { id: None, .. } => {
            let queued = store.retry_dead_webhooks(services.clock.now_ms()).await?;
            println!("{queued} dead webhook deliveries queued");
        }
    }
    Ok(())
}
