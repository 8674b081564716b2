//! Image captchas in front of reset requests (issue 5): `GET /site/captcha` (Cloudreve) and
//! `GET /api/user/captcha` (IPCola) hand out a PNG and a ticket; with `[security] captcha =
//! true` the two dialects' reset requests need the right answer, once, within the TTL.
//!
//! The harness's captcha answers are random like the server's, and kept for the test
//! (`TestServer::captchas`), standing in for a person reading the picture.

use crate::support;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rstest::rstest;

use resetd_client::types;
use support::{Backend, TestServer};

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "a-long-password-1";
/// Cloudreve's and IPCola's codes this suite checks.
const CLOUDREVE_OK: i64 = 0;
const CLOUDREVE_CAPTCHA_WRONG: i64 = 40026;
const CLOUDREVE_NOT_ENABLED: i64 = 40099;
const CLOUDREVE_TOO_MANY: i64 = 42900;
const IPCOLA_OK: i64 = 1;
const IPCOLA_TOO_MANY: i64 = -5;
const IPCOLA_CAPTCHA_WRONG: i64 = -6;
const IPCOLA_NOT_AVAILABLE: i64 = -7;

/// A captcha as either dialect hands it out.
struct Captcha {
    ticket: String,
    png: Vec<u8>,
    answer: String,
}

#[derive(Debug, Clone, Copy)]
enum Dialect {
    Cloudreve,
    Ipcola,
}

async fn start_with_captcha(backend: Backend) -> Option<TestServer> {
    TestServer::start_with(backend, |c| c.security.captcha = true).await
}

async fn cloudreve_captcha(server: &TestServer) -> types::CloudreveCaptchaResponse {
    server
        .client
        .cloudreve_get_captcha()
        .send()
        .await
        .expect("HTTP 200 envelope")
        .into_inner()
}

async fn ipcola_captcha(server: &TestServer) -> types::IpcolaCaptchaResponse {
    server
        .client
        .ipcola_get_captcha()
        .send()
        .await
        .expect("HTTP 200 envelope")
        .into_inner()
}

async fn captcha(server: &TestServer, dialect: Dialect) -> Captcha {
    let (ticket, png) = match dialect {
        Dialect::Cloudreve => {
            let answer = cloudreve_captcha(server).await;
            assert_eq!(answer.code, CLOUDREVE_OK, "{answer:?}");
            let data = answer.data.expect("a captcha");
            let encoded = data
                .image
                .strip_prefix("data:image/png;base64,")
                .unwrap_or_else(|| panic!("a PNG data URL: {}", &data.image[..40]));
            (data.ticket, BASE64.decode(encoded).expect("base64"))
        }
        Dialect::Ipcola => {
            let answer = ipcola_captcha(server).await;
            assert_eq!(answer.meta_status, IPCOLA_OK, "{answer:?}");
            let content = answer.content.expect("a picture");
            (
                answer.id.expect("an id"),
                BASE64.decode(content).expect("base64"),
            )
        }
    };
    Captcha {
        ticket,
        png,
        answer: server.captchas.last(),
    }
}

/// Requests a reset through `dialect` with `(ticket, answer)`; true when accepted, false
/// when refused for the captcha (anything else fails the test).
async fn request(server: &TestServer, dialect: Dialect, captcha: Option<(&str, &str)>) -> bool {
    let (ticket, answer) = match captcha {
        Some((t, a)) => (Some(t.to_owned()), Some(a.to_owned())),
        None => (None, None),
    };
    match dialect {
        Dialect::Cloudreve => {
            let answer = server
                .client
                .cloudreve_send_reset_email()
                .body(types::CloudreveSendResetEmailRequest {
                    email: EMAIL.to_owned(),
                    captcha: answer,
                    ticket,
                })
                .send()
                .await
                .expect("HTTP 200 envelope")
                .into_inner();
            match answer.code {
                CLOUDREVE_OK => true,
                CLOUDREVE_CAPTCHA_WRONG => {
                    assert_eq!(answer.msg.as_deref(), Some("CAPTCHA not match"));
                    false
                }
                _ => panic!("unexpected answer {answer:?}"),
            }
        }
        Dialect::Ipcola => {
            let answer = server
                .client
                .ipcola_send_email_vcode()
                .body(types::IpcolaSendEmailVcodeRequest {
                    email: EMAIL.to_owned(),
                    user_tag: "ipcola".to_owned(),
                    captcha: answer,
                    captcha_id: ticket,
                })
                .send()
                .await
                .expect("HTTP 200 envelope")
                .into_inner();
            match answer.meta_status {
                IPCOLA_OK => true,
                IPCOLA_CAPTCHA_WRONG => false,
                _ => panic!("unexpected answer {answer:?}"),
            }
        }
    }
}

/// A wrong answer of the right shape.
fn wrong(answer: &str) -> String {
    let first = if answer.starts_with('A') { "C" } else { "A" };
    format!("{first}{}", &answer[1..])
}

fn png_size(png_bytes: &[u8]) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let reader = decoder.read_info().expect("a PNG");
    let info = reader.info();
    (info.width, info.height)
}

#[rstest]
#[case::sqlite_cloudreve(Backend::Sqlite, Dialect::Cloudreve)]
#[case::sqlite_ipcola(Backend::Sqlite, Dialect::Ipcola)]
#[case::postgres_cloudreve(Backend::Postgres, Dialect::Cloudreve)]
#[case::postgres_ipcola(Backend::Postgres, Dialect::Ipcola)]
#[tokio::test(flavor = "multi_thread")]
async fn a_request_needs_the_right_answer_once_within_its_lifetime(
    #[case] backend: Backend,
    #[case] dialect: Dialect,
) {
    let Some(server) = start_with_captcha(backend).await else {
        return;
    };
    server.create_user(EMAIL, PASSWORD).await;

    let first = captcha(&server, dialect).await;
    assert!(first.png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(png_size(&first.png), (180, 64));
    assert_eq!(first.ticket.len(), 32);

    assert!(!request(&server, dialect, None).await, "no captcha");
    assert!(
        !request(&server, dialect, Some((&first.ticket, ""))).await,
        "no answer"
    );
    // The empty answer used the ticket up.
    assert!(
        !request(&server, dialect, Some((&first.ticket, &first.answer))).await,
        "an answered ticket is spent"
    );

    let second = captcha(&server, dialect).await;
    assert_ne!(second.ticket, first.ticket);
    assert!(
        !request(
            &server,
            dialect,
            Some((&second.ticket, &wrong(&second.answer)))
        )
        .await
    );
    assert!(
        !request(&server, dialect, Some((&second.ticket, &second.answer))).await,
        "a wrong answer spends the ticket: one guess per captcha"
    );
    assert!(
        !request(&server, dialect, Some(("not-a-ticket", &second.answer))).await,
        "a ticket never handed out"
    );

    // Typed as a person might: lower case, with a space.
    let third = captcha(&server, dialect).await;
    let typed = format!(" {}", third.answer.to_lowercase());
    assert!(request(&server, dialect, Some((&third.ticket, &typed))).await);
    let mail = server.mail(1).await;
    assert_eq!(mail.to(), EMAIL);
    assert!(
        !request(&server, dialect, Some((&third.ticket, &third.answer))).await,
        "single use"
    );

    let late = captcha(&server, dialect).await;
    server.clock.advance(Duration::from_secs(
        server.config.security.captcha_ttl_secs + 1,
    ));
    assert!(
        !request(&server, dialect, Some((&late.ticket, &late.answer))).await,
        "expired"
    );

    // Only the accepted request queued anything.
    assert_eq!(server.settled_mail().await.len(), 1);
    let store = server.store().await;
    assert!(store.list_reset_requests().await.expect("queue").is_empty());
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn of_concurrent_requests_with_one_answer_exactly_one_passes(#[case] backend: Backend) {
    let Some(server) = start_with_captcha(backend).await else {
        return;
    };
    server.create_user(EMAIL, PASSWORD).await;
    let solved = captcha(&server, Dialect::Cloudreve).await;
    let attempts = (0..10).map(|_| {
        let (server, solved) = (&server, &solved);
        async move {
            request(
                server,
                Dialect::Cloudreve,
                Some((&solved.ticket, &solved.answer)),
            )
            .await
        }
    });
    let passed = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .filter(|&accepted| accepted)
        .count();
    assert_eq!(passed, 1);
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn handing_out_captchas_is_limited_per_client_ip(#[case] backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |c| {
        c.security.captcha = true;
        c.security.ip_requests_per_window = 3;
    })
    .await
    else {
        return;
    };
    for _ in 0..3 {
        captcha(&server, Dialect::Cloudreve).await;
    }
    let answer = cloudreve_captcha(&server).await;
    assert_eq!(answer.code, CLOUDREVE_TOO_MANY);
    assert!(answer.data.is_none());
    let answer = ipcola_captcha(&server).await;
    assert_eq!(answer.meta_status, IPCOLA_TOO_MANY);
    assert!(answer.id.is_none() && answer.content.is_none());
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn when_off_the_captcha_calls_say_so_and_requests_need_none(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, PASSWORD).await;
    let answer = cloudreve_captcha(&server).await;
    assert_eq!(answer.code, CLOUDREVE_NOT_ENABLED);
    assert!(answer.data.is_none());
    let answer = ipcola_captcha(&server).await;
    assert_eq!(answer.meta_status, IPCOLA_NOT_AVAILABLE);
    assert!(answer.id.is_none() && answer.content.is_none());
    // An answer sent anyway is ignored.
    assert!(request(&server, Dialect::Cloudreve, None).await);
    assert!(request(&server, Dialect::Ipcola, Some(("whatever", "ACDEF"))).await);
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn dialects_without_a_captcha_field_are_not_locked_out(#[case] backend: Backend) {
    let Some(server) = start_with_captcha(backend).await else {
        return;
    };
    server.create_user(EMAIL, PASSWORD).await;
    let answer = server
        .client
        .strapi_forgot_password()
        .body(types::StrapiForgotPasswordRequest {
            email: EMAIL.to_owned(),
        })
        .send()
        .await
        .expect("Strapi answers 200");
    assert!(answer.ok);
    assert_eq!(server.mail(1).await.to(), EMAIL);
    server.stop().await;
}
