//! `resetd user ...`: accounts, one at a time or listed (imports are `import.rs`).

use std::io::BufRead as _;

use super::{import, open, CliError, FormatArg, UserCommand};
use crate::config::Config;
use crate::reset::import::stream::ImportFormat;
use crate::reset::{Account, AccountPatch, AccountQuery, NewAccount, MAX_PAGE};

pub(super) async fn user(config: Config, command: UserCommand) -> Result<(), CliError> {
    let services = open(config).await?;
    let core = &services.core;
    match command {
        UserCommand::Add {
            email,
            password,
            password_stdin,
            nickname,
            status,
        } => {
            let password = if password_stdin {
                Some(read_password_line()?)
            } else {
                password
            };
            let user = core
                .create_account(NewAccount {
                    email,
                    password,
                    nickname,
                    status: status.into(),
                    language: None,
                })
                .await?;
            println!("{}", user.public_id);
        }
        UserCommand::List { legacy: false } => {
            for user in services.store.list_users().await? {
                println!("{}", user_line(&Account::from(user)));
            }
        }
        UserCommand::List { legacy: true } => {
            let mut cursor = None;
            loop {
                let page = core
                    .list_accounts(AccountQuery {
                        legacy_only: true,
                        cursor,
                        limit: MAX_PAGE,
                        ..AccountQuery::default()
                    })
                    .await?;
                for user in &page.accounts {
                    println!("{}", user_line(user));
                }
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            eprintln!(
                "{} accounts on a legacy hash",
                core.legacy_hash_count().await?
            );
        }
        UserCommand::Import {
            file,
            format,
            dry_run,
        } => {
            let format = match format {
                FormatArg::Jsonl => ImportFormat::Jsonl,
                FormatArg::Csv => ImportFormat::Csv,
            };
            import::import(core, &file, format, dry_run).await?;
        }
        UserCommand::Show { email } => {
            let user = core.account_by_email(&email).await?;
            println!("{}", user_line(&user));
        }
        UserCommand::SetStatus { email, status } => {
            let user = core.account_by_email(&email).await?;
            let user = core
                .update_account(
                    &user.public_id,
                    AccountPatch {
                        status: Some(status.into()),
                        nickname: None,
                    },
                )
                .await?;
            println!("{}", user_line(&user));
        }
    }
    Ok(())
}

fn user_line(user: &Account) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}",
        user.public_id,
        user.email,
        user.status.as_str(),
        user.nickname.as_deref().unwrap_or("-"),
        if user.has_password() {
            "password set"
        } else {
            "no password"
        },
    )
}

fn read_password_line() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(CliError::Stdin)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err(CliError::EmptyPassword);
    }
    Ok(password)
}
