//! A tiny SMTP server for tests: listens on a loopback port, speaks enough RFC 5321 for
//! lettre's plain `smtp://` client (greeting, EHLO/HELO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA
//! with dot-unstuffing, RSET, NOOP, QUIT), accepts everything and records each message.
//!
//! ```ignore
//! let sink = SmtpSink::start().await;            // configure resetd with sink.url()
//! let mail = &sink.wait_for(1, Duration::from_secs(5)).await[0];
//! let link = mail.find_link("http://127.0.0.1:8080/session/reset?").expect("link");
//! sink.stop().await;                              // connections now refused ...
//! sink.restart().await;                           // ... and accepted again, same port
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use mail_parser::{HeaderValue, Message, MessageParser, PartType};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

/// One message as the sink received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// Envelope sender (`MAIL FROM`), without angle brackets.
    pub mail_from: String,
    /// Envelope recipients (`RCPT TO`), without angle brackets.
    pub rcpt_to: Vec<String>,
    /// Credentials the client authenticated with, if it did.
    pub auth_user: Option<String>,
    pub auth_password: Option<String>,
    /// The message as transmitted after `DATA`: dot-unstuffed, CRLF line ends kept, without
    /// the terminating `CRLF.CRLF` (so it equals what the client formatted).
    pub data: Vec<u8>,
}

/// A running sink. Dropping it stops the server.
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<ReceivedMail>>,
    arrived: Notify,
}

impl SmtpSink {
    /// Starts a sink on `127.0.0.1` and a free port.
    pub async fn start() -> SmtpSink {
        let listener =
            listen(SocketAddr::from(([127, 0, 0, 1], 0))).expect("SMTP sink: bind a loopback port");
        let addr = listener.local_addr().expect("SMTP sink: local address");
        let shared = Arc::new(Shared::default());
        let server = tokio::spawn(serve(listener, Arc::clone(&shared)));
        SmtpSink {
            addr,
            shared,
            server: Mutex::new(Some(server)),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `smtp://127.0.0.1:PORT`, a mail URL for resetd.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Everything received so far, in order of arrival.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.shared.messages).clone()
    }

    /// Waits until at least `n` messages have arrived and returns all of them; panics,
    /// saying how many came, if that takes longer than `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before the count is read, so an arrival in between still wakes us.
            let arrived = self.shared.arrived.notified();
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "SMTP sink: expected {n} message(s) within {timeout:?}, got {}",
                    self.messages().len()
                );
            }
        }
    }

    /// Closes the port and drops open sessions: connections are refused until
    /// [`restart`](Self::restart).
    pub async fn stop(&self) {
        let server = lock(&self.server).take();
        if let Some(server) = server {
            server.abort();
            // Wait for the task to be dropped, so the listener is closed on return.
            let _ = server.await;
        }
    }

    /// Listens again on the same port (no-op if running). Received messages are kept.
    pub async fn restart(&self) {
        if lock(&self.server).is_some() {
            return;
        }
        let mut tries = 0;
        let listener = loop {
            match listen(self.addr) {
                Ok(listener) => break listener,
                Err(_) if tries < 50 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("SMTP sink: rebind {}: {e}", self.addr),
            }
        };
        let server = tokio::spawn(serve(listener, Arc::clone(&self.shared)));
        *lock(&self.server) = Some(server);
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(server) = lock(&self.server).take() {
            server.abort();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not hide the messages from the others.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// SO_REUSEADDR, so `restart` can take the port back while old connections linger.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(64)
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    // Owned here, so aborting the server task aborts every session with it.
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    sessions.spawn(session(stream, Arc::clone(&shared)));
                }
            }
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
}

struct Session {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: OwnedWriteHalf,
    shared: Arc<Shared>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    auth_user: Option<String>,
    auth_password: Option<String>,
}

async fn session(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    // Replies go out in small writes: without this each waits for the client's delayed ACK.
    let _ = stream.set_nodelay(true);
    let (read, writer) = stream.into_split();
    let mut session = Session {
        reader: BufReader::new(read),
        writer,
        shared,
        mail_from: None,
        rcpt_to: Vec::new(),
        auth_user: None,
        auth_password: None,
    };
    session.reply("220 resetd-sink ESMTP ready").await?;
    while let Some(line) = session.read_line().await? {
        let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                session
                    .reply(
                        "250-resetd-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 AUTH PLAIN LOGIN",
                    )
                    .await?
            }
            "HELO" => session.reply("250 resetd-sink").await?,
            "AUTH" => session.auth(arg).await?,
            "MAIL" => match path_argument(arg, "FROM:") {
                Some(from) => {
                    session.mail_from = Some(from);
                    session.rcpt_to.clear();
                    session.reply("250 2.1.0 OK").await?;
                }
                None => {
                    session
                        .reply("501 5.5.4 Syntax: MAIL FROM:<address>")
                        .await?
                }
            },
            "RCPT" => match (&session.mail_from, path_argument(arg, "TO:")) {
                (None, _) => session.reply("503 5.5.1 MAIL first").await?,
                (Some(_), Some(to)) => {
                    session.rcpt_to.push(to);
                    session.reply("250 2.1.5 OK").await?;
                }
                (Some(_), None) => session.reply("501 5.5.4 Syntax: RCPT TO:<address>").await?,
            },
            "DATA" => session.data().await?,
            "RSET" => {
                session.mail_from = None;
                session.rcpt_to.clear();
                session.reply("250 2.0.0 OK").await?;
            }
            "NOOP" => session.reply("250 2.0.0 OK").await?,
            "QUIT" => {
                session.reply("221 2.0.0 Bye").await?;
                return Ok(());
            }
            _ => session.reply("502 5.5.2 Command not recognised").await?,
        }
    }
    Ok(())
}

impl Session {
    async fn reply(&mut self, text: &str) -> std::io::Result<()> {
        self.writer.write_all(text.as_bytes()).await?;
        self.writer.write_all(b"\r\n").await?;
        self.writer.flush().await
    }

    /// The next line without its line end, or `None` when the client hung up.
    async fn read_line(&mut self) -> std::io::Result<Option<String>> {
        let mut line = Vec::new();
        if self.reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&line);
        Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned()))
    }

    async fn data(&mut self) -> std::io::Result<()> {
        let Some(mail_from) = self.mail_from.clone() else {
            return self.reply("503 5.5.1 MAIL first").await;
        };
        if self.rcpt_to.is_empty() {
            return self.reply("503 5.5.1 RCPT first").await;
        }
        self.reply("354 End data with <CR><LF>.<CR><LF>").await?;
        let mut data = Vec::new();
        loop {
            let mut line = Vec::new();
            if self.reader.read_until(b'\n', &mut line).await? == 0 {
                // Hung up mid-message: nothing is recorded.
                return Ok(());
            }
            if line == b".\r\n" || line == b".\n" {
                break;
            }
            // Dot-unstuffing (RFC 5321 4.5.2).
            let line = line.strip_prefix(b".").unwrap_or(&line);
            data.extend_from_slice(line);
        }
        // The line end before the final "." belongs to the terminator, not the message.
        if data.ends_with(b"\r\n") {
            data.truncate(data.len() - 2);
        } else if data.ends_with(b"\n") {
            data.truncate(data.len() - 1);
        }
        let mail = ReceivedMail {
            mail_from,
            rcpt_to: std::mem::take(&mut self.rcpt_to),
            auth_user: self.auth_user.clone(),
            auth_password: self.auth_password.clone(),
            data,
        };
        self.mail_from = None;
        let count = {
            let mut messages = lock(&self.shared.messages);
            messages.push(mail);
            messages.len()
        };
        self.shared.arrived.notify_waiters();
        self.reply(&format!("250 2.0.0 OK queued as {count}")).await
    }

    /// AUTH PLAIN (with or without an initial response) and AUTH LOGIN; every credential is
    /// accepted and recorded.
    async fn auth(&mut self, arg: &str) -> std::io::Result<()> {
        let (mechanism, initial) = arg.split_once(' ').unwrap_or((arg, ""));
        match mechanism.to_ascii_uppercase().as_str() {
            "PLAIN" => {
                let response = if initial.is_empty() {
                    self.reply("334 ").await?;
                    self.read_line().await?.unwrap_or_default()
                } else {
                    initial.to_owned()
                };
                let decoded = decode_base64_text(&response);
                let mut fields = decoded.split('\0').skip(1);
                self.auth_user = fields.next().map(str::to_owned);
                self.auth_password = fields.next().map(str::to_owned);
            }
            "LOGIN" => {
                let user = if initial.is_empty() {
                    self.reply("334 VXNlcm5hbWU6").await?;
                    self.read_line().await?.unwrap_or_default()
                } else {
                    initial.to_owned()
                };
                self.reply("334 UGFzc3dvcmQ6").await?;
                let password = self.read_line().await?.unwrap_or_default();
                self.auth_user = Some(decode_base64_text(&user));
                self.auth_password = Some(decode_base64_text(&password));
            }
            _ => {
                return self
                    .reply("504 5.5.4 Unrecognised authentication type")
                    .await
            }
        }
        self.reply("235 2.7.0 Authentication successful").await
    }
}

/// `FROM:<a@b> BODY=8BITMIME` -> `a@b` (case-insensitive keyword, empty for `<>`).
fn path_argument(arg: &str, keyword: &str) -> Option<String> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_owned())
}

fn decode_base64_text(text: &str) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

// ---- reading what arrived -------------------------------------------------------------

impl ReceivedMail {
    /// The raw message, lossily as text.
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The message parsed (`mail-parser`): MIME parts, transfer encodings, RFC 2047 words.
    fn parsed(&self) -> Message<'_> {
        MessageParser::default()
            .parse(&self.data)
            .unwrap_or_else(|| panic!("the sink received no message: {}", self.raw()))
    }

    /// A top-level header, unfolded, with RFC 2047 encoded words decoded; address headers
    /// as `address` or `name <address>`, comma separated.
    pub fn header(&self, name: &str) -> Option<String> {
        let message = self.parsed();
        Some(match message.header(name)? {
            HeaderValue::Text(text) => text.to_string(),
            HeaderValue::TextList(texts) => texts.join(", "),
            HeaderValue::Address(address) => address
                .iter()
                .map(|addr| match (addr.name(), addr.address()) {
                    (Some(name), Some(address)) => format!("{name} <{address}>"),
                    (name, address) => address.or(name).unwrap_or_default().to_owned(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            // Content types, dates, trace headers: as written, unfolded.
            _ => unfold(message.header_raw(name)?),
        })
    }

    /// The `Subject`, decoded (empty if missing).
    pub fn subject(&self) -> String {
        self.header("Subject").unwrap_or_default()
    }

    /// The `To` header (empty if missing); the envelope recipients are in `rcpt_to`.
    pub fn to(&self) -> String {
        self.header("To").unwrap_or_default()
    }

    /// The `Message-ID` header as written, angle brackets included (empty if missing).
    pub fn message_id(&self) -> String {
        let message = self.parsed();
        message
            .header_raw("Message-ID")
            .map(unfold)
            .unwrap_or_default()
    }

    /// The first `text/plain` part, transfer-decoded, with `\n` line ends (empty if none).
    pub fn text_body(&self) -> String {
        self.first_part(|body| matches!(body, PartType::Text(_)))
    }

    /// The first `text/html` part, transfer-decoded, with `\n` line ends (empty if none).
    pub fn html_body(&self) -> String {
        self.first_part(|body| matches!(body, PartType::Html(_)))
    }

    /// The text of the first leaf part whose body `is_wanted` (in the order of the message).
    fn first_part(&self, is_wanted: impl Fn(&PartType<'_>) -> bool) -> String {
        let message = self.parsed();
        message
            .parts
            .iter()
            .find(|part| is_wanted(&part.body))
            .and_then(|part| part.text_contents())
            .map(|text| text.replace("\r\n", "\n"))
            .unwrap_or_default()
    }

    /// The first URL in the text body (else the HTML body) that starts with `prefix`, up to
    /// whitespace or a quote or bracket, without trailing punctuation.
    pub fn find_link(&self, prefix: &str) -> Option<String> {
        let html = self.html_body().replace("&amp;", "&");
        [self.text_body(), html].iter().find_map(|body| {
            let start = body.find(prefix)?;
            let link: String = body[start..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, '<' | '>' | '"' | '\''))
                .collect();
            let link = link.trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
            Some(link.to_owned())
        })
    }

    /// The first run of ASCII letters and digits in the text body for which `is_code` holds,
    /// e.g. `|w| w.len() == 16 && w.bytes().all(|b| b.is_ascii_lowercase())`.
    pub fn find_code(&self, is_code: impl Fn(&str) -> bool) -> Option<String> {
        self.text_body()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .find(|word| !word.is_empty() && is_code(word))
            .map(str::to_owned)
    }
}

/// A header value without its folding (line breaks followed by white space) or outer space.
fn unfold(raw: &str) -> String {
    raw.replace("\r\n", "").replace('\n', "").trim().to_owned()
}
