//! Where a guest's stdin, stdout and stderr go: the terminal's own, or whole labelled lines.

use std::sync::Arc;

use wasmtime_wasi::WasiCtxBuilder;

use super::output::{LabelledOutput, LineSink, OutputStream};

/// Where a process's stdin, stdout and stderr go.
#[derive(Clone)]
pub enum Stdio {
    /// The terminal's own (`terminal.host`, `wippy run`).
    Terminal,
    /// Under a `process.host`: no stdin; output in whole lines prefixed with `label`.
    Labelled {
        label: Arc<str>,
        sink: Arc<dyn LineSink>,
    },
}

impl Stdio {
    pub(crate) fn configure(&self, builder: &mut WasiCtxBuilder) {
        match self {
            Stdio::Terminal => {
                builder.inherit_stdio();
            }
            Stdio::Labelled { label, sink } => {
                builder.stdout(LabelledOutput::new(
                    label.clone(),
                    OutputStream::Stdout,
                    sink.clone(),
                ));
                builder.stderr(LabelledOutput::new(
                    label.clone(),
                    OutputStream::Stderr,
                    sink.clone(),
                ));
            }
        }
    }
}
