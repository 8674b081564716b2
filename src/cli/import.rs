//! `resetd user import FILE|- [--format jsonl|csv] [--dry-run]`: streams the file through
//! the core's import (`reset::import`), names each refused line on standard error, shows a
//! progress bar when standard error is a terminal, and ends with a summary line.

use std::io::IsTerminal as _;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use crate::reset::import::line::LineError;
use crate::reset::import::stream::{ImportFormat, ImportProgress};
use crate::reset::import::ImportSummary;
use crate::reset::ResetCore;

use super::CliError;

/// Reports to the terminal: a bar (or nothing), and the refused lines.
struct Report {
    bar: Option<ProgressBar>,
}

impl ImportProgress for Report {
    fn refused(&mut self, line: u64, reason: &LineError) {
        let message = format!("line {line}: {reason}");
        match &self.bar {
            Some(bar) => bar.println(message),
            None => eprintln!("{message}"),
        }
    }

    fn batch_done(&mut self, summary: &ImportSummary, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
            bar.set_message(format!(
                "{} accounts",
                summary.created + summary.updated + summary.unchanged + summary.refused
            ));
        }
    }
}

/// A bar over the file's bytes, or a spinner for standard input; none off a terminal.
fn progress_bar(size: Option<u64>) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match size {
        Some(size) => ProgressBar::new(size).with_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner(),
    };
    Some(bar)
}

pub(super) async fn import(
    core: &ResetCore,
    file: &Path,
    format: ImportFormat,
    dry_run: bool,
) -> Result<(), CliError> {
    let (input, size): (Box<dyn std::io::Read>, Option<u64>) = if file == Path::new("-") {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let opened = std::fs::File::open(file).map_err(|e| CliError::ImportFile {
            path: file.display().to_string(),
            error: e,
        })?;
        let size = opened.metadata().ok().map(|m| m.len());
        (Box::new(opened), size)
    };
    let mut report = Report {
        bar: progress_bar(size),
    };
    let summary = core
        .import_stream(input, format, dry_run, &mut report)
        .await?;
    if let Some(bar) = report.bar.take() {
        bar.finish_and_clear();
    }
    println!(
        "{}created {}, updated {}, unchanged {}, refused {}",
        if dry_run {
            "dry run, nothing written: "
        } else {
            ""
        },
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.refused
    );
    if summary.refused > 0 {
        return Err(CliError::ImportRefused(summary.refused));
    }
    Ok(())
}
