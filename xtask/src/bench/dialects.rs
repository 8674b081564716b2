//! The four public reset APIs as the bench calls them: a reset request for an email, and a
//! redemption of a token with a new password, each with what its success looks like.

use hyper::Method;
use serde_json::json;

use super::http::{Expect, PreparedRequest};

/// IPCola's `user_tag`, as resetd is configured by default (`[dialects.ipcola] user_tag`).
const IPCOLA_USER_TAG: &str = "ipcola";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Ipcola,
    Strapi,
    Cloudreve,
    Selfcommunity,
}

impl Dialect {
    pub const ALL: [Dialect; 4] = [
        Dialect::Ipcola,
        Dialect::Strapi,
        Dialect::Cloudreve,
        Dialect::Selfcommunity,
    ];

    /// The name resetd's admin API uses (`ResetdDialect`).
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Ipcola => "ipcola",
            Dialect::Strapi => "strapi",
            Dialect::Cloudreve => "cloudreve",
            Dialect::Selfcommunity => "selfcommunity",
        }
    }

    /// The `i`-th of an even mix of all four.
    pub fn nth(i: usize) -> Dialect {
        Dialect::ALL[i % Dialect::ALL.len()]
    }

    /// "Send me a reset link/code" for `email`; answered alike for every address.
    pub fn request(self, email: &str) -> PreparedRequest {
        match self {
            Dialect::Ipcola => PreparedRequest::json(
                Method::POST,
                "/api/user/send_email_vcode",
                &json!({"email": email, "user_tag": IPCOLA_USER_TAG}),
                ipcola_ok(),
            ),
            Dialect::Strapi => PreparedRequest::json(
                Method::POST,
                "/auth/forgot-password",
                &json!({"email": email}),
                Expect::JsonField {
                    status: 200,
                    pointer: "/ok",
                    value: json!(true),
                },
            ),
            Dialect::Cloudreve => PreparedRequest::json(
                Method::POST,
                "/user/reset",
                &json!({"email": email}),
                cloudreve_ok(),
            ),
            Dialect::Selfcommunity => PreparedRequest::json(
                Method::POST,
                "/api/v2/account/recover/",
                &json!({"email": email}),
                Expect::Status(204),
            ),
        }
    }

    /// Sets `password` with `code`, the token issued for the account `(user_id, email)`.
    pub fn redeem(self, user_id: &str, email: &str, code: &str, password: &str) -> PreparedRequest {
        match self {
            Dialect::Ipcola => PreparedRequest::json(
                Method::POST,
                "/api/user/reset_password",
                &json!({
                    "email": email,
                    "password": password,
                    "user_tag": IPCOLA_USER_TAG,
                    "vcode": code,
                }),
                ipcola_ok(),
            ),
            Dialect::Strapi => PreparedRequest::json(
                Method::POST,
                "/auth/reset-password",
                &json!({"code": code, "password": password, "passwordConfirmation": password}),
                Expect::Status(200),
            ),
            Dialect::Cloudreve => PreparedRequest::json(
                Method::PATCH,
                format!("/user/reset/{user_id}"),
                &json!({"password": password, "secret": code}),
                cloudreve_ok(),
            ),
            Dialect::Selfcommunity => PreparedRequest::json(
                Method::POST,
                "/api/v2/account/reset/",
                &json!({"validation_code": code, "password": password}),
                Expect::Status(200),
            ),
        }
    }
}

fn ipcola_ok() -> Expect {
    Expect::JsonField {
        status: 200,
        pointer: "/meta_status",
        value: json!(1),
    }
}

fn cloudreve_ok() -> Expect {
    Expect::JsonField {
        status: 200,
        pointer: "/code",
        value: json!(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(request: &PreparedRequest) -> serde_json::Value {
        serde_json::from_slice(request.body.as_deref().expect("a body")).expect("JSON")
    }

    #[test]
    fn the_mix_is_even() {
        let first: Vec<Dialect> = (0..8).map(Dialect::nth).collect();
        assert_eq!(&first[..4], &Dialect::ALL);
        assert_eq!(&first[4..], &Dialect::ALL);
    }

    #[test]
    fn requests_carry_the_email_where_each_api_wants_it() {
        for dialect in Dialect::ALL {
            let request = dialect.request("ann@example.com");
            assert_eq!(request.method, Method::POST);
            assert_eq!(body(&request)["email"], "ann@example.com", "{dialect:?}");
        }
        assert_eq!(
            Dialect::Ipcola.request("a@b.c").path,
            "/api/user/send_email_vcode"
        );
        assert_eq!(
            Dialect::Selfcommunity.request("a@b.c").expect,
            Expect::Status(204)
        );
    }

    #[test]
    fn redemptions_name_the_token_and_the_account_as_each_api_does() {
        let cloudreve = Dialect::Cloudreve.redeem("U1", "a@b.c", "SECRET", "pw");
        assert_eq!(cloudreve.method, Method::PATCH);
        assert_eq!(cloudreve.path, "/user/reset/U1");
        assert_eq!(body(&cloudreve)["secret"], "SECRET");

        let ipcola = Dialect::Ipcola.redeem("U1", "a@b.c", "VCODE", "pw");
        assert_eq!(body(&ipcola)["vcode"], "VCODE");
        assert_eq!(body(&ipcola)["email"], "a@b.c");

        let strapi = Dialect::Strapi.redeem("U1", "a@b.c", "CODE", "pw");
        assert_eq!(body(&strapi)["passwordConfirmation"], "pw");

        let selfcommunity = Dialect::Selfcommunity.redeem("U1", "a@b.c", "VC", "pw");
        assert_eq!(body(&selfcommunity)["validation_code"], "VC");
    }
}
