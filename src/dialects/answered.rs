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
