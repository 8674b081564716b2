//! Reading an import file as it comes, a batch at a time, so that memory stays bounded
//! whatever the file's size: JSON Lines (one object a line; blank lines skipped) or CSV
//! with a header row naming the same fields.

use std::io::{BufRead, Read};

use super::line::{self, ImportRecord, LineError, RawRecord};
use super::{ImportSummary, RecordResult, IMPORT_BATCH};
use crate::reset::error::ServiceError;
use crate::reset::ResetCore;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Jsonl,
    Csv,
}

/// Why an import stopped before its end (a refused line does not stop it).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading the import: {0}")]
    Read(std::io::Error),
    #[error("the CSV header row: {0}")]
    CsvHeader(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// What the caller hears as the import goes.
pub trait ImportProgress {
    /// A line was refused: its number (from 1, the header row of a CSV file included) and why.
    fn refused(&mut self, line: u64, reason: &LineError);
    /// A batch is done; `bytes`: how much of the input was read so far.
    fn batch_done(&mut self, summary: &ImportSummary, bytes: u64);
}

/// A record (or why its line was refused) and its line number.
type Numbered = (u64, Result<ImportRecord, LineError>);

/// Where the records come from, with the line number of each.
enum Records<R: Read> {
    Jsonl {
        input: std::io::BufReader<R>,
        line: u64,
        bytes: u64,
    },
    Csv {
        reader: csv::Reader<R>,
    },
}

impl<R: Read> Records<R> {
    fn new(input: R, format: ImportFormat) -> Result<Self, ImportError> {
        Ok(match format {
            ImportFormat::Jsonl => Records::Jsonl {
                input: std::io::BufReader::with_capacity(1 << 16, input),
                line: 0,
                bytes: 0,
            },
            ImportFormat::Csv => {
                let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
                let headers = reader
                    .headers()
                    .map_err(|e| ImportError::CsvHeader(csv_reason(&e)))?
                    .clone();
                reader.set_headers(headers);
                Records::Csv { reader }
            }
        })
    }

    fn bytes(&self) -> u64 {
        match self {
            Records::Jsonl { bytes, .. } => *bytes,
            Records::Csv { reader } => reader.position().byte(),
        }
    }

    /// The next record and its line number, `None` at the end.
    fn next(&mut self) -> Result<Option<Numbered>, ImportError> {
        match self {
            Records::Jsonl { input, line, bytes } => {
                let mut buffer = Vec::new();
                loop {
                    buffer.clear();
                    let read = input
                        .read_until(b'\n', &mut buffer)
                        .map_err(ImportError::Read)?;
                    if read == 0 {
                        return Ok(None);
                    }
                    *line += 1;
                    *bytes += read as u64;
                    let Ok(text) = std::str::from_utf8(&buffer) else {
                        return Ok(Some((*line, Err(LineError::Utf8))));
                    };
                    if !text.trim().is_empty() {
                        return Ok(Some((*line, line::parse_json(text))));
                    }
                }
            }
            Records::Csv { reader } => {
                let mut record = csv::StringRecord::new();
                match reader.read_record(&mut record) {
                    Ok(false) => Ok(None),
                    Ok(true) => {
                        let line = record.position().map_or(0, |p| p.line());
                        let headers = reader.headers().ok().cloned();
                        let parsed = record
                            .deserialize::<RawRecord>(headers.as_ref())
                            .map_err(|e| LineError::Csv(csv_reason(&e)))
                            .and_then(line::check);
                        Ok(Some((line, parsed)))
                    }
                    Err(e) => match e.kind() {
                        csv::ErrorKind::Io(_) => {
                            Err(ImportError::Read(std::io::Error::other(csv_reason(&e))))
                        }
                        _ => {
                            let line = e.position().map_or(0, |p| p.line());
                            Ok(Some((line, Err(LineError::Csv(csv_reason(&e))))))
                        }
                    },
                }
            }
        }
    }
}

/// The CSV error without the values it may quote.
fn csv_reason(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_owned(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Deserialize { err, .. } => {
            line::safe_message(&err.to_string(), err.field().unwrap_or(0) as usize + 1)
        }
        csv::ErrorKind::Io(e) => e.to_string(),
        _ => "unreadable".to_owned(),
    }
}

impl ResetCore {
    /// Imports every record of `input`, a batch of [`IMPORT_BATCH`] at a time, telling
    /// `progress` of each refused line and each batch. Returns the counts.
    pub async fn import_stream<R: Read>(
        &self,
        input: R,
        format: ImportFormat,
        dry_run: bool,
        progress: &mut dyn ImportProgress,
    ) -> Result<ImportSummary, ImportError> {
        let mut records = Records::new(input, format)?;
        let mut summary = ImportSummary::default();
        loop {
            let mut lines = Vec::with_capacity(IMPORT_BATCH);
            let mut batch = Vec::with_capacity(IMPORT_BATCH);
            while batch.len() < IMPORT_BATCH {
                let Some((line, record)) = records.next()? else {
                    break;
                };
                lines.push(line);
                batch.push(record);
            }
            if batch.is_empty() {
                return Ok(summary);
            }
            let results = self.import_records(batch, dry_run).await?;
            for (line, result) in lines.into_iter().zip(&results) {
                if let RecordResult::Refused(reason) = result {
                    progress.refused(line, reason);
                }
                summary.count(result);
            }
            progress.batch_done(&summary, records.bytes());
        }
    }
}
