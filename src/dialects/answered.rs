//! The one line every handler ends with: its result as an [`Answer`] carrying the request's
//! CORS headers, refusals included (dropshot would send an `Err` without them).

use dropshot::RequestContext;
use resetd_api::responses::Answer;

use crate::server::{cors, AppState};

pub(super) trait Answered<T, E> {
    /// The success answer or the refusal, with the CORS headers for `rqctx`'s Origin.
    fn answered(self, rqctx: &RequestContext<AppState>) -> Result<Answer<T, E>, E>;
}

impl<A, T, E> Answered<T, E> for Result<A, E>
where
    A: Into<Answer<T, E>>,
{
    fn answered(self, rqctx: &RequestContext<AppState>) -> Result<Answer<T, E>, E> {
        let answer = match self {
            Ok(answer) => answer.into(),
            Err(refusal) => Answer::refused(refusal),
        };
        let cors = &rqctx.context().core.config().cors;
        Ok(answer.with_headers(cors::answer_headers(cors, rqctx.request.headers())))
    }
}

/// A handler's body on its `Call`, in the request's span, its answer counted and logged as
/// every handler's is ([`Answered`]). With `no_store: Headers`, a success also carries
/// `Cache-Control: no-store` in the operation's `Headers` type: the answers that hold a
/// token or a session.
macro_rules! route {
    ($rqctx:ident, |$call:ident| $body:expr) => {{
        let call = $crate::dialects::call::Call::new(&$rqctx);
        let $call = &call;
        let span = $crate::logging::request_span(&$rqctx.request_id);
        let answer = tracing::Instrument::instrument($body, span).await;
        $crate::dialects::answered::Answered::answered(answer, &$rqctx)
    }};
    ($rqctx:ident, |$call:ident| $body:expr, no_store: $headers:ident) => {
        route!($rqctx, |$call| async {
            $body.await.map(|answer| {
                answer.map(|ok| dropshot::HttpResponseHeaders::new(ok, no_store!($headers)))
            })
        })
    };
}
pub(super) use route;
