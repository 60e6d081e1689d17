//! What the endpoints of a registry must agree on before anything is served: two endpoints of
//! one `http.service` never answer the same request ambiguously, and each endpoint's function
//! can take a request.

use super::path_pattern;
use super::{Entry, EntryId, EntryKind, HttpEndpoint, LoadError, Note, Registry, Transport};

impl Registry {
    /// Reports every endpoint that conflicts with one written before it (as Wippy's router
    /// does: same service and method, and paths that match some request alike with neither
    /// more specific), and every endpoint whose function passes payloads. Notes endpoints
    /// answered by Lua functions. Run once references resolve.
    pub(super) fn check_routes(&mut self, errors: &mut Vec<LoadError>) {
        // Server, method, full path and entry of each endpoint accepted so far.
        let mut seen: Vec<(EntryId, String, String, EntryId)> = Vec::new();
        let mut lua_answered = Vec::new();
        for (entry, endpoint) in self.endpoints_in_order() {
            let Some(EntryKind::HttpRouter(router)) = self.get(&endpoint.router).map(|e| &e.kind)
            else {
                continue;
            };
            self.check_function(entry, endpoint, errors, &mut lua_answered);
            let path = endpoint.full_path(router);
            let conflict = seen.iter().find(|(server, method, other, _)| {
                *server == router.server
                    && *method == endpoint.method
                    && path_pattern::ambiguous(
                        &path_pattern::parse(other),
                        &path_pattern::parse(&path),
                    )
            });
            if let Some((_, _, first_path, first)) = conflict {
                errors.push(
                    entry
                        .error(format!(
                            "`{} {path}` on `{}` conflicts with `{} {first_path}` of `{first}`: some requests match both, and neither is more specific",
                            endpoint.method, router.server, endpoint.method
                        ))
                        .field("path")
                        .fix("change the method or path of one of the two endpoints"),
                );
                continue;
            }
            seen.push((
                router.server.clone(),
                endpoint.method.clone(),
                path,
                entry.id.clone(),
            ));
        }
        for (id, note) in lua_answered {
            if let Some(entry) = self.entries.get_mut(&id) {
                entry.notes.push(note);
            }
        }
    }

    fn endpoints_in_order(&self) -> Vec<(&Entry, &HttpEndpoint)> {
        let mut endpoints: Vec<_> = (self.entries())
            .filter_map(|entry| match &entry.kind {
                EntryKind::HttpEndpoint(endpoint) => Some((entry, endpoint)),
                _ => None,
            })
            .collect();
        // In the order they are written: the later one is the one reported.
        endpoints.sort_by(|(a, _), (b, _)| (&a.file, a.line).cmp(&(&b.file, b.line)));
        endpoints
    }

    fn check_function(
        &self,
        entry: &Entry,
        endpoint: &HttpEndpoint,
        errors: &mut Vec<LoadError>,
        lua_answered: &mut Vec<(EntryId, Note)>,
    ) {
        match self.get(&endpoint.func).map(|f| &f.kind) {
            Some(EntryKind::FunctionLua(_)) => lua_answered.push((
                entry.id.clone(),
                Note::new(
                    "func",
                    format!(
                        "`{}` is a function.lua: Lua HTTP handlers (Wippy's `http` module) are not provided yet, so its requests get 501 Not Implemented",
                        endpoint.func
                    ),
                ),
            )),
            Some(kind) => {
                let Some(wasm) = kind.wasm() else {
                    return;
                };
                if serves_incoming_handler(&wasm.method) && !wasm.grants.allows("wasi:http/types") {
                    errors.push(
                        entry
                            .error(format!(
                                "`{}` answers through `wasi:http/incoming-handler`, which hands it the request as `wasi:http/types` resources, but its entry does not grant `wasi:http/types`",
                                endpoint.func
                            ))
                            .field("func")
                            .fix(format!("add `wasi:http/types` to the `imports` of `{}`", endpoint.func)),
                    );
                }
                if wasm.transport == Transport::Payload {
                    errors.push(
                        entry
                            .error(format!(
                                "`{}` passes payloads (`transport: payload`, the default), so it cannot take an HTTP request",
                                endpoint.func
                            ))
                            .field("func")
                            .fix(format!(
                                "write `transport: wasi-http` on `{}`: the request body becomes its argument and its result the response (or export `wasi:http/incoming-handler` and name it in `method`)",
                                endpoint.func
                            )),
                    );
                }
            }
            None => {}
        }
    }
}

/// `method` names `wasi:http/incoming-handler#handle` (with or without package and version).
fn serves_incoming_handler(method: &str) -> bool {
    let Some((interface, name)) = method.split_once('#') else {
        return false;
    };
    let interface = interface.split('@').next().unwrap_or_default();
    name == "handle" && matches!(interface, "wasi:http/incoming-handler" | "incoming-handler")
}
