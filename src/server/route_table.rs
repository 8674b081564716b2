//! Which operation a request went to, found the way dropshot routes it: the label of its
//! metrics and the `route` of its log line, instead of the concrete path (which may name an
//! account).

use std::collections::HashMap;

use dropshot::ApiDescription;

use super::AppState;

/// The operation of requests no route matched (404, 405): one label for all of them, so
/// scanners cannot grow the number of series.
pub const UNMATCHED: &str = "unmatched";

/// A matched request's operation id and path template (`/user/reset/{user_id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route<'a> {
    pub operation: &'a str,
    pub template: &'a str,
}

type Lookup = dyn Fn(&http::Method, &str) -> Option<String> + Send + Sync;

pub struct RouteTable {
    /// dropshot's own router, so that matching (percent-decoding, trailing slashes, variables)
    /// is exactly what served the request. Its type is not exported, hence the closure.
    lookup: Box<Lookup>,
    /// Operation id -> path template, as registered.
    templates: HashMap<String, String>,
}

impl RouteTable {
    /// The routes of `api` (build it the way the server's is built).
    pub fn new(api: ApiDescription<AppState>) -> RouteTable {
        let router = api.into_router();
        let templates = router
            .endpoints(None)
            .map(|(_, _, endpoint)| (endpoint.operation_id.clone(), endpoint.path.clone()))
            .collect();
        let lookup = move |method: &http::Method, path: &str| {
            router
                .lookup_route(method, path.into(), None)
                .ok()
                .map(|found| found.endpoint.operation_id)
        };
        RouteTable {
            lookup: Box::new(lookup),
            templates,
        }
    }

    /// The route `method` and `path` (no query) go to, if any.
    pub fn resolve(&self, method: &http::Method, path: &str) -> Option<Route<'_>> {
        let operation = (self.lookup)(method, path)?;
        let (operation, template) = self.templates.get_key_value(&operation)?;
        Some(Route {
            operation,
            template,
        })
    }
}

impl std::fmt::Debug for RouteTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteTable")
            .field("operations", &self.templates.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;

    fn table() -> RouteTable {
        RouteTable::new(crate::app::api_description().expect("the API builds"))
    }

    #[test]
    fn requests_resolve_to_their_template_not_their_path() {
        let table = table();
        assert_eq!(
            table.resolve(&Method::PATCH, "/user/reset/aB3dE"),
            Some(Route {
                operation: "cloudreve_reset_password",
                template: "/user/reset/{user_id}",
            })
        );
        // dropshot answers with and without the trailing slash alike.
        for path in ["/api/v2/account/reset/", "/api/v2/account/reset"] {
            let route = table.resolve(&Method::POST, path).expect("matches");
            assert_eq!(route.operation, "selfcommunity_reset_password");
        }
        assert_eq!(
            table.resolve(&Method::GET, "/metrics").map(|r| r.operation),
            Some("metrics")
        );
    }

    #[test]
    fn unknown_paths_and_methods_resolve_to_nothing() {
        let table = table();
        assert_eq!(table.resolve(&Method::GET, "/wp-login.php"), None);
        assert_eq!(table.resolve(&Method::DELETE, "/user/reset"), None);
        assert_eq!(table.resolve(&Method::GET, "/user/reset/%ff"), None);
    }
}
