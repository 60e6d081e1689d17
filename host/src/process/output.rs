//! Guest output under a `process.host`: whole lines, each prefixed with the process's label
//! (entry ID and pid), written to the runtime's stdout or stderr. A line is written in one
//! call under the stream's lock, so lines of two processes never interleave mid-line.

use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// Where complete, prefixed lines go.
pub trait LineSink: Send + Sync {
    /// `line` has no trailing newline.
    fn write_line(&self, stream: OutputStream, label: &str, line: &[u8]);
}

/// The runtime's own stdout and stderr.
pub struct RuntimeOutput;

impl LineSink for RuntimeOutput {
    fn write_line(&self, stream: OutputStream, label: &str, line: &[u8]) {
        let mut text = Vec::with_capacity(label.len() + line.len() + 4);
        text.extend_from_slice(b"[");
        text.extend_from_slice(label.as_bytes());
        text.extend_from_slice(b"] ");
        text.extend_from_slice(line);
        text.push(b'\n');
        // A closed stdout must not take the runtime down; the output is lost either way.
        let _ = match stream {
            OutputStream::Stdout => std::io::stdout().lock().write_all(&text),
            OutputStream::Stderr => std::io::stderr().lock().write_all(&text),
        };
    }
}

/// One process's stdout or stderr, as wasmtime-wasi sees it.
#[derive(Clone)]
pub struct LabelledOutput {
    label: Arc<str>,
    stream: OutputStream,
    sink: Arc<dyn LineSink>,
}

impl LabelledOutput {
    pub fn new(label: Arc<str>, stream: OutputStream, sink: Arc<dyn LineSink>) -> Self {
        Self {
            label,
            stream,
            sink,
        }
    }
}

impl IsTerminal for LabelledOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LabelledOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineWriter {
            output: self.clone(),
            pending: Vec::new(),
        })
    }
}

/// Buffers a partial line until its newline arrives (or the stream closes).
struct LineWriter {
    output: LabelledOutput,
    pending: Vec<u8>,
}

impl LineWriter {
    fn emit(&self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.output
            .sink
            .write_line(self.output.stream, &self.output.label, line);
    }

    fn flush_partial(&mut self) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.emit(&rest);
        }
    }
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let mut rest = buf;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(newline);
            if self.pending.is_empty() {
                self.emit(line);
            } else {
                let mut whole = std::mem::take(&mut self.pending);
                whole.extend_from_slice(line);
                self.emit(&whole);
            }
            rest = &after[1..];
        }
        self.pending.extend_from_slice(rest);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        // A partial line waits for its newline: flushing it now would split the line.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.flush_partial();
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        self.flush_partial();
    }
}
