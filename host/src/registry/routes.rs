//! Two endpoints cannot answer the same request: each method and full path (router prefix
//! and endpoint path) is served by one entry per `http.service`.

use std::collections::BTreeMap;

use super::{EntryId, EntryKind, LoadError, Registry};

impl Registry {
    /// Reports every endpoint whose method and path another endpoint of the same service
    /// already has. Parameter names do not tell routes apart (`/users/{id}` and
    /// `/users/{name}` are one route). Run once references resolve.
    pub(super) fn check_routes(&self, errors: &mut Vec<LoadError>) {
        let mut taken: BTreeMap<(EntryId, String, String), &EntryId> = BTreeMap::new();
        // In the order they are written: the later one is the one reported.
        let mut endpoints: Vec<_> = (self.entries())
            .filter_map(|entry| match &entry.kind {
                EntryKind::HttpEndpoint(endpoint) => Some((entry, endpoint)),
                _ => None,
            })
            .collect();
        endpoints.sort_by(|(a, _), (b, _)| (&a.file, a.line).cmp(&(&b.file, b.line)));
        for (entry, endpoint) in endpoints {
            let Some(EntryKind::HttpRouter(router)) = self.get(&endpoint.router).map(|e| &e.kind)
            else {
                continue;
            };
            let path = endpoint.full_path(router);
            let key = (router.server.clone(), endpoint.method.clone(), shape(&path));
            if let Some(first) = taken.get(&key) {
                errors.push(
                    entry
                        .error(format!(
                            "`{} {path}` on `{}` is already answered by `{first}`",
                            endpoint.method, router.server
                        ))
                        .field("path")
                        .fix("change the method or path of one of the two endpoints"),
                );
            } else {
                taken.insert(key, &entry.id);
            }
        }
    }
}

/// The path with every parameter's name left out.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "{}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}
