//! What an adapter needs of the HTTP request besides its body.

use std::net::IpAddr;

use dropshot::RequestContext;

use crate::app::AppState;
use crate::reset::ResetCore;

pub struct Call<'a> {
    pub core: &'a ResetCore,
    /// dropshot's request id, also sent as `x-request-id`.
    pub request_id: &'a str,
    pub headers: &'a http::HeaderMap,
    /// The client's address (the socket peer).
    pub client_ip: IpAddr,
}

impl<'a> Call<'a> {
    pub fn new(rqctx: &'a RequestContext<AppState>) -> Self {
        Call {
            core: &rqctx.context().core,
            request_id: &rqctx.request_id,
            headers: rqctx.request.headers(),
            client_ip: rqctx.request.remote_addr().ip(),
        }
    }
}

/// A stored timestamp (ms since the epoch) as the API's date-time.
pub fn datetime(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
