//! One service's routes, matched as Go's `ServeMux` (which Wippy routes through) matches
//! them: by method (a HEAD request takes a GET route when no HEAD route matches) and path
//! segment by segment (see `registry::path_pattern`). When several match, the most specific
//! wins: at the first segment where they differ, a literal beats `{name}`, which beats the
//! rest.

use std::sync::Arc;

use hyper::Method;
use tokio::sync::{OnceCell, Semaphore};

use super::cors::Cors;
use super::handler::Handler;
use crate::registry::path_pattern::{Segment, parse};
use crate::registry::{EntryId, EntryKind, HttpService, Registry, ResolvedLimits};

/// One endpoint as served.
pub struct Route {
    pub method: Method,
    /// The full path as declared (router prefix and endpoint path), for logs and handlers.
    pub pattern: String,
    segments: Vec<Segment>,
    pub endpoint: EntryId,
    pub func: EntryId,
    pub cors: Option<Arc<Cors>>,
    pub limits: ResolvedLimits,
    /// One permit per request in flight, `limits.max_concurrent_requests` in all.
    pub slots: Arc<Semaphore>,
    /// How the function answers, found when it is first needed.
    pub handler: OnceCell<Result<Arc<Handler>, String>>,
}

/// A route's parameters by name, as the request's path gave them.
pub type Params = Vec<(String, String)>;

/// What a request's method and path find.
pub enum Lookup<'a> {
    Found(&'a Arc<Route>, Params),
    /// Routes match the path, but none the method: these methods do (`Allow`), under the
    /// most specific one's CORS settings.
    OtherMethods {
        allow: Vec<Method>,
        cors: Option<Arc<Cors>>,
    },
    NotFound,
}

pub struct RouteTable {
    routes: Vec<Arc<Route>>,
}

impl RouteTable {
    /// The routes of the endpoints on `service`'s routers.
    pub fn of(registry: &Registry, service_id: &EntryId, service: &HttpService) -> Self {
        let mut routes = Vec::new();
        for entry in registry.entries() {
            let EntryKind::HttpEndpoint(endpoint) = &entry.kind else {
                continue;
            };
            let Some(EntryKind::HttpRouter(router)) =
                registry.get(&endpoint.router).map(|r| &r.kind)
            else {
                continue;
            };
            if &router.server != service_id {
                continue;
            }
            let uses_cors = router.middleware.iter().any(|m| m == "cors");
            let limits = endpoint
                .limits
                .or_service(&service.limits, &service.timeouts);
            let pattern = endpoint.full_path(router);
            routes.push(Arc::new(Route {
                method: Method::from_bytes(endpoint.method.as_bytes()).unwrap_or(Method::GET),
                segments: parse(&pattern),
                pattern,
                endpoint: entry.id.clone(),
                func: endpoint.func.clone(),
                cors: uses_cors.then(|| Arc::new(Cors::from_options(&router.options))),
                slots: Arc::new(Semaphore::new(limits.max_concurrent_requests)),
                limits,
                handler: OnceCell::new(),
            }));
        }
        Self { routes }
    }

    pub fn routes(&self) -> &[Arc<Route>] {
        &self.routes
    }

    /// The route for `method` and `path` (as sent: percent-escapes are decoded per segment).
    pub fn lookup(&self, method: &Method, path: &str) -> Lookup<'_> {
        let segments: Vec<String> = path
            .strip_prefix('/')
            .unwrap_or(path)
            .split('/')
            .map(decode)
            .collect();
        let matching: Vec<(&Arc<Route>, Params)> = (self.routes.iter())
            .filter_map(|route| Some((route, matches(&route.segments, &segments)?)))
            .collect();
        let best_of = |wanted: &Method| {
            (matching.iter())
                .filter(|(route, _)| route.method == wanted)
                .fold(
                    None,
                    |best: Option<&(&Arc<Route>, Params)>, candidate| match best {
                        Some(b) if !more_specific(candidate.0, b.0) => Some(b),
                        _ => Some(candidate),
                    },
                )
        };
        let found = best_of(method).or_else(|| match *method == Method::HEAD {
            true => best_of(&Method::GET),
            false => None,
        });
        if let Some((route, params)) = found {
            return Lookup::Found(route, params.clone());
        }
        let Some(most_specific) = (matching.iter().map(|(route, _)| route)).fold(
            None,
            |best: Option<&Arc<Route>>, route| match best {
                Some(b) if !more_specific(route, b) => Some(b),
                _ => Some(route),
            },
        ) else {
            return Lookup::NotFound;
        };
        let mut allow: Vec<Method> = Vec::new();
        for (route, _) in &matching {
            if !allow.contains(&route.method) {
                allow.push(route.method.clone());
            }
        }
        if allow.contains(&Method::GET) && !allow.contains(&Method::HEAD) {
            allow.push(Method::HEAD);
        }
        Lookup::OtherMethods {
            allow,
            cors: most_specific.cors.clone(),
        }
    }
}

/// The parameters, when `pattern` matches the request's decoded `segments`.
fn matches(pattern: &[Segment], segments: &[String]) -> Option<Params> {
    let mut params = Vec::new();
    for (i, segment) in pattern.iter().enumerate() {
        match segment {
            Segment::Rest(name) => {
                // `/api/` and `/api/{rest...}` need the `/` after `api`.
                let rest = segments.get(i..).filter(|rest| !rest.is_empty())?;
                if let Some(name) = name {
                    params.push((name.clone(), rest.join("/")));
                }
                return Some(params);
            }
            Segment::Literal(text) => {
                if segments.get(i)? != text {
                    return None;
                }
            }
            Segment::Param(name) => {
                let value = segments.get(i).filter(|v| !v.is_empty())?;
                params.push((name.clone(), value.clone()));
            }
        }
    }
    (pattern.len() == segments.len()).then_some(params)
}

/// Segment by segment, the first difference decides (no allocation: this runs per request).
fn more_specific(a: &Route, b: &Route) -> bool {
    let a = a.segments.iter().map(Segment::rank);
    a.cmp(b.segments.iter().map(Segment::rank)) == std::cmp::Ordering::Greater
}

/// `%XX` escapes decoded; anything else (a bad escape, non-UTF-8) kept as sent.
fn decode(segment: &str) -> String {
    if !segment.contains('%') {
        return segment.to_string();
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| segment.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(patterns: &[(&str, &str)]) -> RouteTable {
        let limits = ResolvedLimits {
            max_body_bytes: 1,
            max_concurrent_requests: 1,
            timeout: std::time::Duration::from_secs(1),
            read: std::time::Duration::from_secs(1),
        };
        RouteTable {
            routes: (patterns.iter())
                .map(|(method, pattern)| {
                    Arc::new(Route {
                        method: Method::from_bytes(method.as_bytes()).unwrap(),
                        pattern: pattern.to_string(),
                        segments: parse(pattern),
                        endpoint: EntryId::new("app", *pattern),
                        func: EntryId::new("app", "f"),
                        cors: None,
                        limits,
                        slots: Arc::new(Semaphore::new(1)),
                        handler: OnceCell::new(),
                    })
                })
                .collect(),
        }
    }

    fn found(
        table: &RouteTable,
        method: Method,
        path: &str,
    ) -> Option<(String, Vec<(String, String)>)> {
        match table.lookup(&method, path) {
            Lookup::Found(route, params) => Some((route.pattern.clone(), params)),
            _ => None,
        }
    }

    #[test]
    fn the_most_specific_route_wins() {
        let t = table(&[
            ("GET", "/users/{id}"),
            ("GET", "/users/me"),
            ("GET", "/api/"),
            ("GET", "/api/items/{rest...}"),
        ]);
        assert_eq!(found(&t, Method::GET, "/users/me").unwrap().0, "/users/me");
        let (pattern, params) = found(&t, Method::GET, "/users/a%20b").unwrap();
        assert_eq!(
            (pattern.as_str(), params),
            ("/users/{id}", vec![("id".into(), "a b".into())])
        );
        assert!(found(&t, Method::GET, "/users/").is_none());
        assert!(found(&t, Method::GET, "/users/1/posts").is_none());
        assert_eq!(
            found(&t, Method::GET, "/api/anything/below").unwrap().0,
            "/api/"
        );
        assert_eq!(found(&t, Method::GET, "/api/").unwrap().0, "/api/");
        assert!(found(&t, Method::GET, "/api").is_none());
        let (pattern, params) = found(&t, Method::GET, "/api/items/a/b").unwrap();
        assert_eq!(
            (pattern.as_str(), params),
            ("/api/items/{rest...}", vec![("rest".into(), "a/b".into())])
        );
    }

    #[test]
    fn other_methods_are_listed_and_get_answers_head() {
        let t = table(&[("GET", "/x"), ("POST", "/x")]);
        assert_eq!(found(&t, Method::HEAD, "/x").unwrap().0, "/x");
        match t.lookup(&Method::DELETE, "/x") {
            Lookup::OtherMethods { allow, .. } => {
                assert_eq!(allow, vec![Method::GET, Method::POST, Method::HEAD])
            }
            _ => panic!("expected other methods"),
        }
        assert!(matches!(t.lookup(&Method::GET, "/y"), Lookup::NotFound));
    }

    #[test]
    fn a_head_route_comes_before_a_get_route_for_head() {
        let t = table(&[("GET", "/x/me"), ("HEAD", "/x/{id}")]);
        assert_eq!(found(&t, Method::HEAD, "/x/me").unwrap().0, "/x/{id}");
        assert_eq!(found(&t, Method::GET, "/x/me").unwrap().0, "/x/me");
    }
}
