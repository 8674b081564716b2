//! What an adapter needs of the HTTP request besides its body.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use dropshot::{HttpError, RequestContext};
use resetd_api::JsonBody;

use crate::config::Cidr;
use crate::reset::ResetCore;
use crate::server::AppState;

pub struct Call<'a> {
    pub core: &'a ResetCore,
    /// dropshot's request id, also sent as `x-request-id`.
    pub request_id: &'a str,
    pub headers: &'a http::HeaderMap,
    /// The client's address: the socket peer, or what trusted proxies say it forwarded for
    /// (see [`client_ip`]). Rate limits and the audit trail use it.
    pub client_ip: IpAddr,
}

impl<'a> Call<'a> {
    pub fn new(rqctx: &'a RequestContext<AppState>) -> Self {
        let core = &rqctx.context().core;
        let headers = rqctx.request.headers();
        Call {
            core,
            request_id: &rqctx.request_id,
            headers,
            client_ip: client_ip(
                rqctx.request.remote_addr().ip(),
                headers,
                &core.config().security.trusted_proxies,
            ),
        }
    }

    /// Reads the request body under `security.body_read_timeout_ms`: the body, or the
    /// error (408, 413, 415, 400) the adapter answers in its dialect's form.
    pub async fn read<T: serde::de::DeserializeOwned>(
        &self,
        body: JsonBody<T>,
    ) -> Result<T, HttpError> {
        let timeout = self.core.config().security.body_read_timeout_ms;
        body.read(Duration::from_millis(timeout)).await
    }
}

/// The client's address. The socket peer, unless the peer is one of the `trusted` proxies:
/// then `X-Forwarded-For` is read from the right (each proxy appends the address it got
/// the request from), skipping trusted proxies, and the first address that is not one is
/// the client. Everything left of it was written by that client and could be anything, so
/// it is never used: taking the left-most entry would let any client choose its own IP
/// and escape the per-IP limits. When every hop is trusted the left-most is the client; an
/// entry that is not an address (`unknown`, garbage) stops the walk at the last trusted
/// hop, the most that is known.
///
/// Several `X-Forwarded-For` fields count as one list, in order. IPv4-mapped IPv6 addresses
/// (a dual-stack socket's IPv4 peers) are taken as the IPv4 address.
pub fn client_ip(peer: IpAddr, headers: &http::HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    for field in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(field) = field.to_str() else {
            return client;
        };
        for hop in field.rsplit(',') {
            let Some(hop) = parse_hop(hop) else {
                return client;
            };
            client = hop;
            if !is_trusted(hop) {
                return client;
            }
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`) or in brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse::<IpAddr>().ok())
        })?;
    Some(ip.to_canonical())
}

/// A stored timestamp (ms since the epoch) as the API's date-time.
pub fn datetime(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn nets(list: &[&str]) -> Vec<Cidr> {
        list.iter()
            .map(|s| s.parse().expect("test network"))
            .collect()
    }

    fn headers(fields: &[&str]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for field in fields {
            map.append(
                "x-forwarded-for",
                http::HeaderValue::from_str(field).expect("header value"),
            );
        }
        map
    }

    #[test]
    fn the_peer_is_the_client_unless_it_is_a_trusted_proxy() {
        let xff = headers(&["203.0.113.7"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &xff, &[]), ip("127.0.0.1"));
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &xff, &trusted), ip("127.0.0.1"));
        assert_eq!(client_ip(ip("10.1.2.3"), &xff, &trusted), ip("203.0.113.7"));
        // No header from a trusted proxy: the proxy itself.
        assert_eq!(
            client_ip(ip("10.1.2.3"), &http::HeaderMap::new(), &trusted),
            ip("10.1.2.3")
        );
        // A dual-stack socket's view of an IPv4 proxy.
        assert_eq!(
            client_ip(ip("::ffff:10.1.2.3"), &xff, &trusted),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_ip(ip("::ffff:192.0.2.1"), &xff, &[]),
            ip("192.0.2.1")
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client_not_what_it_claims() {
        let trusted = nets(&["10.0.0.0/8", "127.0.0.1/32"]);
        // The client sent "X-Forwarded-For: 198.51.100.1" itself; the proxy appended the
        // address it saw.
        let spoofed = headers(&["198.51.100.1, 203.0.113.7, 10.0.0.2"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &spoofed, &trusted),
            ip("203.0.113.7")
        );
        // Fields are one list, in order.
        let split = headers(&["198.51.100.1", "203.0.113.7", "10.0.0.2"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &split, &trusted),
            ip("203.0.113.7")
        );
        // Every hop trusted: the left-most.
        let internal = headers(&["10.0.0.9, 10.0.0.2"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &internal, &trusted),
            ip("10.0.0.9")
        );
    }

    #[test]
    fn odd_entries_stop_at_the_last_trusted_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        for (field, expected) in [
            ("unknown", "10.0.0.1"),
            ("203.0.113.7, unknown", "10.0.0.1"),
            ("203.0.113.7, garbage, 10.0.0.5", "10.0.0.5"),
            ("", "10.0.0.1"),
            ("203.0.113.7:4711", "203.0.113.7"),
            ("[2001:db8::7]:4711", "2001:db8::7"),
            ("[2001:db8::7]", "2001:db8::7"),
            (" 2001:db8::7 ", "2001:db8::7"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
        ] {
            assert_eq!(
                client_ip(ip("10.0.0.1"), &headers(&[field]), &trusted),
                ip(expected),
                "{field:?}"
            );
        }
        let mut not_utf8 = http::HeaderMap::new();
        not_utf8.append(
            "x-forwarded-for",
            http::HeaderValue::from_bytes(b"203.0.113.7\xff").expect("header value"),
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &not_utf8, &trusted),
            ip("10.0.0.1")
        );
    }
}
