//! The `resetd` command line (INTERFACE.md). Errors print one line and exit non-zero.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

mod import;
mod user;
mod webhook;

use crate::app::{self, Services, StartError};
use crate::clock::SystemClock;
use crate::config::{Config, ConfigError};
use crate::reset::{AccountStatus, AdminError};
use crate::store::{OutboxStatus, Store, StoreError};

#[derive(Debug, Parser)]
#[command(
    name = "resetd",
    version,
    about = "Self-hosted password reset and account recovery"
)]
pub struct Cli {
    /// TOML configuration file (also RESETD_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run pending migrations, then serve HTTP and deliver queued mail until SIGINT/SIGTERM.
    Serve,
    /// Run pending migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Inspect and re-queue outgoing mail.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Inspect and re-queue webhook deliveries.
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
    /// Show the audit trail of resets.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print the merged OpenAPI document.
    Openapi,
    /// Configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account and print its id.
    Add {
        #[arg(long)]
        email: String,
        /// The password (visible in the process list: prefer --password-stdin).
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        nickname: Option<String>,
        #[arg(long, value_enum, default_value_t = StatusArg::Active)]
        status: StatusArg,
    },
    /// List accounts.
    List {
        /// Only accounts still on a legacy password hash (not resetd's current argon2id).
        #[arg(long)]
        legacy: bool,
    },
    /// Create or update accounts from a JSON Lines (or CSV) file, `-` for standard input.
    Import {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = FormatArg::Jsonl)]
        format: FormatArg,
        /// Check every line and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show one account.
    Show { email: String },
    /// Change an account's status.
    SetStatus {
        email: String,
        #[arg(value_enum)]
        status: StatusArg,
    },
}

#[derive(Debug, Subcommand)]
enum OutboxCommand {
    /// List queued, sent or dead messages.
    List {
        #[arg(long, value_enum)]
        status: Option<OutboxStatusArg>,
    },
    /// Put a message (or, with --all, every dead one) back in the queue for delivery now.
    Retry {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Every dead message.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// The newest events, newest first.
    List {
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate the configuration and print every effective value, secrets redacted, with
    /// where it came from (default, file, environment).
    Check,
    /// Print the reference of every configuration key (Markdown).
    Reference,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StatusArg {
    Active,
    Inactive,
    Banned,
}

impl From<StatusArg> for AccountStatus {
    fn from(arg: StatusArg) -> Self {
        match arg {
            StatusArg::Active => AccountStatus::Active,
            StatusArg::Inactive => AccountStatus::Inactive,
            StatusArg::Banned => AccountStatus::Banned,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Jsonl,
    Csv,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutboxStatusArg {
    Pending,
    Sending,
    Sent,
    Dead,
}

impl From<OutboxStatusArg> for OutboxStatus {
    fn from(arg: OutboxStatusArg) -> Self {
        match arg {
            OutboxStatusArg::Pending => OutboxStatus::Pending,
            OutboxStatusArg::Sending => OutboxStatus::Sending,
            OutboxStatusArg::Sent => OutboxStatus::Sent,
            OutboxStatusArg::Dead => OutboxStatus::Dead,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Account(#[from] AdminError),
    #[error("reading the password from standard input: {0}")]
    Stdin(std::io::Error),
    #[error("no password on standard input")]
    EmptyPassword,
    #[error("no outbox message with id {0}")]
    NoSuchMessage(i64),
    #[error("no dead or pending webhook delivery with id {0}")]
    NoSuchDelivery(i64),
    #[error("server: {0}")]
    Server(String),
    #[error("cannot open {path}: {error}")]
    ImportFile { path: String, error: std::io::Error },
    #[error(transparent)]
    Import(#[from] crate::reset::import::stream::ImportError),
    #[error("{0} lines refused")]
    ImportRefused(u64),
    #[error(transparent)]
    Service(#[from] crate::reset::ServiceError),
}

/// Runs the command line; the caller turns an error into one line and exit code 1.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    if let Command::Config(ConfigCommand::Reference) = cli.command {
        // Needs no valid configuration: it describes them.
        print!("{}", crate::config_reference::markdown());
        return Ok(());
    }
    let (config, sources) =
        Config::load_with_sources(cli.config.as_deref(), &Config::process_env())?;
    crate::logging::init(&config.log);
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            // Connect only: opening the services would migrate before we could report.
            let store = Store::connect(&config.database_url).await?;
            let applied = store
                .migrate_with_progress(|step| {
                    eprintln!("applying {} ({}/{})", step.name, step.number, step.of);
                })
                .await?;
            println!(
                "database is up to date ({} migrations applied now)",
                applied.len()
            );
            Ok(())
        }
        Command::User(command) => user::user(config, command).await,
        Command::Outbox(command) => outbox(config, command).await,
        Command::Webhook(command) => webhook::run(open(config).await?, command).await,
        Command::Audit(AuditCommand::List { limit }) => {
            let services = open(config).await?;
            for event in services.store.list_audit(limit).await? {
                let at = chrono::DateTime::from_timestamp_millis(event.at)
                    .map_or_else(|| event.at.to_string(), |t| t.to_rfc3339());
                println!(
                    "{}\t{}\t{}\tuser={}\tdialect={}\tip={}",
                    event.id,
                    at,
                    event.kind,
                    event
                        .user_id
                        .map_or_else(|| "-".to_owned(), |id| id.to_string()),
                    event.dialect.as_deref().unwrap_or("-"),
                    event.client_ip.as_deref().unwrap_or("-"),
                );
            }
            Ok(())
        }
        Command::Openapi => {
            print!("{}", crate::routes::OPENAPI_YAML);
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            // The mail and page templates are part of the configuration: overrides are
            // checked too.
            let overridden = app::template_overrides(&config)?;
            println!("# configuration is valid; effective values:");
            for line in overridden {
                println!("# {line}");
            }
            print!("{}", crate::config_reference::effective(&config, &sources));
            Ok(())
        }
        Command::Config(ConfigCommand::Reference) => Ok(()),
    }
}

async fn open(config: Config) -> Result<Services, CliError> {
    Ok(Services::open(config, Arc::new(SystemClock)).await?)
}

async fn serve(config: Config) -> Result<(), CliError> {
    let server = app::serve(config, Arc::new(SystemClock)).await?;
    tokio::select! {
        () = shutdown_signal() => tracing::info!("shutting down: finishing in-flight requests"),
        result = server.wait() => result.map_err(CliError::Server)?,
    }
    server.shutdown().await.map_err(CliError::Server)?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn outbox(config: Config, command: OutboxCommand) -> Result<(), CliError> {
    let services = open(config).await?;
    match command {
        OutboxCommand::List { status } => {
            for m in services.store.list_outbox(status.map(Into::into)).await? {
                println!(
                    "{}\t{}\t{}\tattempts={}\t{}\t{}",
                    m.id,
                    m.status.as_str(),
                    m.recipient,
                    m.attempts,
                    m.subject,
                    m.last_error.as_deref().unwrap_or("-"),
                );
            }
        }
        OutboxCommand::Retry { id: Some(id), .. } => {
            if !services
                .store
                .retry_outbox(id, services.clock.now_ms())
                .await?
            {
                return Err(CliError::NoSuchMessage(id));
            }
            println!("message {id} queued for delivery");
        }
        OutboxCommand::Retry { id: None, .. } => {
            let dead = services.store.list_outbox(Some(OutboxStatus::Dead)).await?;
            let total = dead.len();
            // About ten progress lines, on stderr so that stdout stays the result.
            let every = (total / 10).max(1);
            let mut queued = 0;
            for (done, message) in dead.iter().enumerate() {
                if services
                    .store
                    .retry_outbox(message.id, services.clock.now_ms())
                    .await?
                {
                    queued += 1;
                }
                if (done + 1) % every == 0 && done + 1 < total {
                    eprintln!("re-queued {}/{total}", done + 1);
                }
            }
            println!("{queued} dead messages queued for delivery");
        }
    }
    Ok(())
}
