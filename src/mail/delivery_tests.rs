//! The real transports and the outbox worker against the test SMTP sink and a temp store.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::smtp_sink::SmtpSink;
use super::{build_message, parse_from, MailTransport, OutboxWorker, RetryPolicy};
use crate::clock::{Clock, OffsetClock, SharedClock};
use crate::security::sealing::BodySealer;
use crate::store::test_support::TestStore;
use crate::store::{NewOutboxMessage, OutboxStatus};

const WAIT: Duration = Duration::from_secs(10);
const LINK: &str = "http://127.0.0.1:8080/session/reset?id=lpua&secret=Zx81bQ0aaaaaaaaaaaaaaaaaaaaaaaaa&next=%2Faccount%2Fsettings%2Fsecurity";

fn reset_mail(recipient: &str) -> NewOutboxMessage {
    NewOutboxMessage {
        recipient: recipient.to_owned(),
        subject:
            "Réinitialisation du mot de passe — résumé très long pour forcer le pliage de l'en-tête"
                .to_owned(),
        body_text: format!("Bonjour,\n\nOuvrez {LINK} ou saisissez le code qwertyuiopasdfgh.\n"),
        body_html: format!(
            "<p>Ouvrez <a href=\"{}\">ce lien</a>.</p>",
            LINK.replace('&', "&amp;")
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_delivery_keeps_message_id_and_decodes() {
    let t = TestStore::new().await;
    let sink = SmtpSink::start().await;
    let row = t
        .store
        .enqueue_outbox(reset_mail("ada@example.test"), 0)
        .await
        .expect("enqueue");
    let from = parse_from("resetd <no-reply@localhost>").expect("from");
    let transport = MailTransport::from_url(&sink.url()).expect("transport");

    let message = build_message(&row, &from).expect("build");
    transport.send(&message).await.expect("send");

    let mail = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(mail.data, message.formatted());
    assert_eq!(mail.message_id(), row.message_id);
    assert_eq!(mail.mail_from, "no-reply@localhost");
    assert_eq!(mail.rcpt_to, ["ada@example.test"]);
    assert_eq!(mail.to(), "ada@example.test");
    assert_eq!(mail.subject(), row.subject);
    assert_eq!(mail.text_body(), row.body_text);
    assert_eq!(mail.html_body(), row.body_html);
    assert_eq!(
        mail.find_link("http://127.0.0.1:8080/").as_deref(),
        Some(LINK)
    );
    let code = mail.find_code(|w| w.len() == 16 && w.bytes().all(|b| b.is_ascii_lowercase()));
    assert_eq!(code.as_deref(), Some("qwertyuiopasdfgh"));
    assert_eq!(mail.auth_user, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_credentials_from_the_url_are_used() {
    let sink = SmtpSink::start().await;
    let url = format!("smtp://relay%40example.test:p%40ss%3Aw0rd@{}", sink.addr());
    let transport = MailTransport::from_url(&url).expect("transport");
    assert!(!transport.description().contains("w0rd"));
    assert!(!format!("{transport:?}").contains("w0rd"));

    let t = TestStore::new().await;
    let row = t
        .store
        .enqueue_outbox(reset_mail("bob@example.test"), 0)
        .await
        .expect("enqueue");
    let from = parse_from("no-reply@localhost").expect("from");
    transport
        .send(&build_message(&row, &from).expect("build"))
        .await
        .expect("send");

    let mail = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(mail.auth_user.as_deref(), Some("relay@example.test"));
    assert_eq!(mail.auth_password.as_deref(), Some("p@ss:w0rd"));
}

#[tokio::test(flavor = "multi_thread")]
async fn file_transport_writes_one_eml_per_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("mail-out").join("nested");
    let transport =
        MailTransport::from_url(&format!("file://{}", out.display())).expect("transport");
    assert!(out.is_dir(), "directory created");

    let t = TestStore::new().await;
    let from = parse_from("resetd <no-reply@localhost>").expect("from");
    let mut ids = Vec::new();
    for recipient in ["a@example.test", "b@example.test"] {
        let row = t
            .store
            .enqueue_outbox(reset_mail(recipient), 0)
            .await
            .expect("enqueue");
        transport
            .send(&build_message(&row, &from).expect("build"))
            .await
            .expect("send");
        ids.push(row.message_id);
    }

    let mut contents = Vec::new();
    for entry in std::fs::read_dir(&out).expect("read dir") {
        let path = entry.expect("entry").path();
        assert_eq!(path.extension().and_then(|e| e.to_str()), Some("eml"));
        contents.push(std::fs::read_to_string(&path).expect("read eml"));
    }
    assert_eq!(contents.len(), 2);
    for id in ids {
        let header = format!("Message-ID: {id}\r\n");
        assert_eq!(contents.iter().filter(|c| c.contains(&header)).count(), 1);
    }
}

fn worker(t: &TestStore, mail_url: &str, clock: SharedClock, policy: RetryPolicy) -> OutboxWorker {
    OutboxWorker {
        store: t.store.clone(),
        transport: MailTransport::from_url(mail_url).expect("transport"),
        clock,
        from: parse_from("resetd <no-reply@localhost>").expect("from"),
        policy,
        sealer: BodySealer::new(SEAL_KEY),
        metrics: Default::default(),
    }
}

const SEAL_KEY: [u8; 32] = [3; 32];

/// `mail` as the reset core queues it: bodies sealed under `key`.
fn sealed(mut mail: NewOutboxMessage, key: [u8; 32]) -> NewOutboxMessage {
    let sealer = BodySealer::new(key);
    mail.body_text = sealer.seal(&mail.body_text, &mail.recipient);
    mail.body_html = sealer.seal(&mail.body_html, &mail.recipient);
    mail
}

#[tokio::test(flavor = "multi_thread")]
async fn sealed_bodies_go_out_opened_and_unopenable_ones_die() {
    let t = TestStore::new().await;
    let sink = SmtpSink::start().await;
    let plain = reset_mail("ada@example.test");
    let row = t
        .store
        .enqueue_outbox(sealed(plain.clone(), SEAL_KEY), 0)
        .await
        .expect("enqueue");
    assert!(!row.body_text.contains("qwertyuiopasdfgh") && !row.body_html.contains("Zx81bQ0"));
    let other_key = t
        .store
        .enqueue_outbox(sealed(reset_mail("bob@example.test"), [4; 32]), 0)
        .await
        .expect("enqueue");

    let worker = worker(
        &t,
        &sink.url(),
        Arc::new(OffsetClock::new()),
        RetryPolicy::default(),
    );
    worker.run_once().await.expect("delivery pass");
    let mail = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(mail.text_body(), plain.body_text);
    assert_eq!(mail.html_body(), plain.body_html);

    let rows = t.store.list_outbox(None).await.expect("rows");
    let dead = rows.iter().find(|r| r.id == other_key.id).expect("row");
    assert_eq!(dead.status, OutboxStatus::Dead);
    assert_eq!(
        dead.last_error.as_deref(),
        Some("the sealed body does not open with this server's secret")
    );
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn worker_sends_retries_with_backoff_then_dies_and_retry_recovers() {
    let t = TestStore::new().await;
    let sink = SmtpSink::start().await;
    let clock = OffsetClock::new();
    let policy = RetryPolicy {
        max_attempts: 2,
        ..RetryPolicy::default()
    };
    let worker = worker(&t, &sink.url(), Arc::new(clock.clone()), policy);

    // Relay down: the first failure is rescheduled after base_delay ± 20%.
    sink.stop().await;
    let now = clock.now_ms();
    let row = t
        .store
        .enqueue_outbox(reset_mail("c@example.test"), now)
        .await
        .expect("enqueue");
    let stats = worker.run_once().await.expect("pass");
    assert_eq!((stats.claimed, stats.retrying), (1, 1));
    let failed = t
        .store
        .outbox_message(row.id)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(failed.status, OutboxStatus::Pending);
    assert_eq!(failed.attempts, 1);
    assert!(failed.last_error.is_some());
    let delay = failed.next_attempt_at - now;
    assert!((1_600..=2_400 + 1_000).contains(&delay), "delay {delay} ms");

    // Not due yet.
    assert_eq!(worker.run_once().await.expect("pass").claimed, 0);

    // Second failure exhausts max_attempts = 2.
    clock.advance(Duration::from_secs(3));
    let stats = worker.run_once().await.expect("pass");
    assert_eq!((stats.claimed, stats.dead), (1, 1));
    let dead = t
        .store
        .outbox_message(row.id)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(dead.status, OutboxStatus::Dead);

    // The operator re-queues it once the relay is back.
    sink.restart().await;
    assert!(t
        .store
        .retry_outbox(row.id, clock.now_ms())
        .await
        .expect("retry"));
    let stats = worker.run_once().await.expect("pass");
    assert_eq!((stats.claimed, stats.sent), (1, 1));
    let sent = t
        .store
        .outbox_message(row.id)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(sent.status, OutboxStatus::Sent);
    let mail = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(mail.message_id(), row.message_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn unbuildable_message_dies_at_once() {
    let t = TestStore::new().await;
    let sink = SmtpSink::start().await;
    let worker = worker(
        &t,
        &sink.url(),
        Arc::new(OffsetClock::new()),
        RetryPolicy::default(),
    );
    let row = t
        .store
        .enqueue_outbox(reset_mail("not an address"), 0)
        .await
        .expect("enqueue");
    let stats = worker.run_once().await.expect("pass");
    assert_eq!(stats.dead, 1);
    let dead = t
        .store
        .outbox_message(row.id)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(dead.status, OutboxStatus::Dead);
    assert!(sink.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn run_wakes_on_notify_and_stops_on_shutdown() {
    let t = TestStore::new().await;
    let sink = SmtpSink::start().await;
    let policy = RetryPolicy {
        // Long enough that only the wake-up can explain a quick delivery.
        poll_interval: Duration::from_secs(3600),
        ..RetryPolicy::default()
    };
    let worker = worker(&t, &sink.url(), Arc::new(OffsetClock::new()), policy);
    let wake = Arc::new(Notify::new());
    let stop = CancellationToken::new();
    let task = tokio::spawn(worker.run(Arc::clone(&wake), stop.clone()));

    // Let the first (empty) pass finish so the worker is waiting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let row = t
        .store
        .enqueue_outbox(reset_mail("d@example.test"), OffsetClock::new().now_ms());
    let row = row.await.expect("enqueue");
    wake.notify_one();
    let mail = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(mail.message_id(), row.message_id);

    stop.cancel();
    tokio::time::timeout(WAIT, task)
        .await
        .expect("stops promptly")
        .expect("no panic");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_url_form_builds_and_required_starttls_never_downgrades() {
    for url in [
        "smtp://relay.example.test?tls=opportunistic",
        "smtps://user:pw@relay.example.test",
        "smtp://[::1]:2525",
    ] {
        MailTransport::from_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    }

    // The sink offers no STARTTLS: a required-TLS transport must refuse to send.
    let sink = SmtpSink::start().await;
    let url = format!("smtp://127.0.0.1:{}?tls=required", sink.addr().port());
    let transport = MailTransport::from_url(&url).expect("transport");
    let t = TestStore::new().await;
    let row = t
        .store
        .enqueue_outbox(reset_mail("e@example.test"), 0)
        .await;
    let row = row.expect("enqueue");
    let from = parse_from("no-reply@localhost").expect("from");
    let message = build_message(&row, &from).expect("build");
    transport
        .send(&message)
        .await
        .expect_err("sent without TLS");
    assert!(sink.messages().is_empty());
}
