//! The `cors` router middleware, configured by the router's `options` as Wippy's is
//! (`cors.allow.origins` and the rest, or their older `allow_origins` names): a preflight
//! from an allowed origin is answered with 204 and the allowed methods and headers; any
//! other response to an allowed origin carries `Access-Control-Allow-Origin`.

use std::collections::BTreeMap;

use hyper::header::{HeaderMap, HeaderName, HeaderValue, ORIGIN, VARY};
use hyper::{Method, Response, StatusCode};

use super::responses::{self, Body};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    /// `None` allows every origin (`*`).
    origins: Option<Vec<String>>,
    methods: String,
    headers: String,
    expose: String,
    credentials: bool,
    max_age: String,
    private_network: bool,
}

/// The option under its current name, else its older one; empty counts as unset.
fn option<'a>(options: &'a BTreeMap<String, String>, name: &str, legacy: &str) -> Option<&'a str> {
    (options.get(name).or_else(|| options.get(legacy)))
        .map(|value| value.as_str())
        .filter(|value| !value.is_empty())
}

impl Cors {
    pub fn from_options(options: &BTreeMap<String, String>) -> Self {
        let get = |name, legacy, default: &str| {
            option(options, name, legacy).unwrap_or(default).to_string()
        };
        let origins = get("cors.allow.origins", "allow_origins", "*");
        Self {
            origins: (origins != "*").then(|| {
                (origins.split(','))
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(str::to_string)
                    .collect()
            }),
            methods: get(
                "cors.allow.methods",
                "allow_methods",
                "GET,POST,PUT,DELETE,OPTIONS,PATCH",
            ),
            headers: get(
                "cors.allow.headers",
                "allow_headers",
                "Origin,Content-Type,Accept,Authorization,X-Requested-With",
            ),
            expose: get("cors.expose.headers", "expose_headers", ""),
            credentials: get("cors.allow.credentials", "allow_credentials", "false") == "true",
            max_age: get("cors.max.age", "max_age", "86400"),
            private_network: get(
                "cors.allow.private.network",
                "allow_private_network",
                "false",
            ) == "true",
        }
    }

    /// The allowed origin of a cross-origin request, if it has one.
    fn allowed_origin<'a>(&self, request: &'a HeaderMap) -> Option<&'a HeaderValue> {
        // An empty `Origin` is no cross-origin request.
        let origin = request.get(ORIGIN).filter(|o| !o.is_empty())?;
        let text = origin.to_str().ok()?;
        match &self.origins {
            None => Some(origin),
            Some(allowed) => allowed
                .iter()
                .any(|pattern| origin_matches(pattern, text))
                .then_some(origin),
        }
    }

    /// The 204 answer to a preflight (an OPTIONS request with an `Origin` and
    /// `Access-Control-Request-Method`) from an allowed origin; `None` for any other request.
    pub fn preflight(&self, method: &Method, request: &HeaderMap) -> Option<Response<Body>> {
        let asks = (request.get("access-control-request-method")).is_some_and(|m| !m.is_empty());
        if method != Method::OPTIONS || !asks {
            return None;
        }
        let origin = self.allowed_origin(request)?.clone();
        let mut response = responses::empty(StatusCode::NO_CONTENT);
        let headers = response.headers_mut();
        headers.insert("access-control-allow-origin", origin);
        set(headers, "access-control-allow-methods", &self.methods);
        set(headers, "access-control-allow-headers", &self.headers);
        set(headers, "access-control-max-age", &self.max_age);
        self.common(headers);
        headers.insert(
            VARY,
            HeaderValue::from_static(
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        );
        Some(response)
    }

    /// Adds the CORS headers to the response of an allowed cross-origin request, unless the
    /// handler set its own.
    pub fn decorate(&self, request: &HeaderMap, response: &mut Response<Body>) {
        let Some(origin) = self.allowed_origin(request) else {
            return;
        };
        let headers = response.headers_mut();
        if headers.contains_key("access-control-allow-origin") {
            return;
        }
        headers.insert("access-control-allow-origin", origin.clone());
        set_unless_given(headers, "access-control-expose-headers", &self.expose);
        self.common(headers);
        headers.append(VARY, HeaderValue::from_static("Origin"));
    }

    /// Go's middleware sets these before the handler runs, so a handler's own win.
    fn common(&self, headers: &mut HeaderMap) {
        if self.credentials {
            set_unless_given(headers, "access-control-allow-credentials", "true");
        }
        if self.private_network {
            set_unless_given(headers, "access-control-allow-private-network", "true");
        }
    }
}

fn set_unless_given(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if !headers.contains_key(name) {
        set(headers, name, value);
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value)
        && !value.is_empty()
    {
        headers.insert(HeaderName::from_static(name), value);
    }
}

/// `*`, the exact origin, `*.example.com` (any subdomain) or `localhost` (any port).
fn origin_matches(pattern: &str, origin: &str) -> bool {
    if pattern == "*" || pattern == origin {
        return true;
    }
    if let Some(suffix) = pattern.strip_prefix('*')
        && suffix.starts_with('.')
        && origin.len() > suffix.len()
        && origin.ends_with(suffix)
    {
        return true;
    }
    pattern == "localhost"
        && ["http://localhost", "https://localhost"]
            .iter()
            .any(|base| {
                origin == *base
                    || origin
                        .strip_prefix(base)
                        .is_some_and(|r| r.starts_with(':'))
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_as_wippy_matches_them() {
        assert!(origin_matches("*", "https://a.example"));
        assert!(origin_matches(
            "https://app.example.com",
            "https://app.example.com"
        ));
        assert!(origin_matches("*.example.com", "https://app.example.com"));
        assert!(!origin_matches("*.example.com", ".example.com"));
        assert!(!origin_matches("*.example.com", "https://example.org"));
        assert!(origin_matches("localhost", "http://localhost:5173"));
        assert!(origin_matches("localhost", "https://localhost"));
        assert!(!origin_matches("localhost", "http://localhost.evil.com"));
    }

    #[test]
    fn options_fall_back_to_legacy_names_and_defaults() {
        let options = BTreeMap::from([
            (
                "allow_origins".to_string(),
                "https://a.test, https://b.test".to_string(),
            ),
            ("cors.allow.credentials".to_string(), "true".to_string()),
        ]);
        let cors = Cors::from_options(&options);
        assert_eq!(
            cors.origins,
            Some(vec![
                "https://a.test".to_string(),
                "https://b.test".to_string()
            ])
        );
        assert!(cors.credentials);
        assert_eq!(cors.max_age, "86400");
        assert_eq!(cors.methods, "GET,POST,PUT,DELETE,OPTIONS,PATCH");
    }
}
