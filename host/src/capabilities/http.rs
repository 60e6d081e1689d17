//! `wasi:http`: outgoing requests (types, outgoing-handler) through wasmtime-wasi-http.
//! Applies `wasi.http` of an entry: the timeouts a request gets when the guest sets none.

use std::time::Duration;

use http_body_util::BodyExt;
use wasmtime_wasi_http::p2::bindings::{LinkOptions, http};
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttp, WasiHttpHooks, WasiHttpView};

use super::Interface;
use crate::registry::HttpConfig;

pub const INTERFACES: &[Interface] = &[
    Interface {
        name: "wasi:http/types",
        link: |l| {
            let options = LinkOptions::default();
            http::types::add_to_linker::<_, WasiHttp>(l, &(&options).into(), |t| t.http())
        },
    },
    Interface {
        name: "wasi:http/outgoing-handler",
        link: |l| http::outgoing_handler::add_to_linker::<_, WasiHttp>(l, |t| t.http()),
    },
];

/// Per-process hooks: fills in the entry's timeouts, then sends with wasmtime-wasi-http's
/// own client (HTTP/1.1, TLS with the webpki roots).
pub struct HttpHooks {
    timeout: Duration,
}

impl HttpHooks {
    pub fn new(config: &HttpConfig) -> Self {
        Self {
            timeout: Duration::from_millis(config.timeout_ms),
        }
    }
}

type ResponseFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                ::http::Response<WasiBody>,
                Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        request: ::http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> ResponseFuture {
        let options = options.unwrap_or_default();
        let options = RequestOptions {
            connect_timeout: options.connect_timeout.or(Some(self.timeout)),
            first_byte_timeout: options.first_byte_timeout.or(Some(self.timeout)),
            between_bytes_timeout: options.between_bytes_timeout.or(Some(self.timeout)),
        };
        Box::new(async move {
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}
