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

/// The longest line held back for its newline: a guest writing without newlines gets its
/// output in lines of this length (as Docker splits long log lines) instead of growing a
/// buffer without bound.
const MAX_LINE: usize = 64 * 1024;

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
        while self.pending.len() + rest.len() >= MAX_LINE {
            let (head, tail) = rest.split_at(MAX_LINE - self.pending.len());
            let mut whole = std::mem::take(&mut self.pending);
            whole.extend_from_slice(head);
            self.emit(&whole);
            rest = tail;
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Lines(Mutex<Vec<Vec<u8>>>);

    impl LineSink for Lines {
        fn write_line(&self, _: OutputStream, _: &str, line: &[u8]) {
            self.0.lock().unwrap().push(line.to_vec());
        }
    }

    fn writer(lines: &Arc<Lines>) -> LineWriter {
        LineWriter {
            output: LabelledOutput::new(Arc::from("x"), OutputStream::Stdout, lines.clone()),
            pending: Vec::new(),
        }
    }

    fn write(writer: &mut LineWriter, bytes: &[u8]) {
        let waker = std::task::Waker::noop();
        let polled = Pin::new(writer).poll_write(&mut Context::from_waker(waker), bytes);
        assert!(matches!(polled, Poll::Ready(Ok(n)) if n == bytes.len()));
    }

    #[test]
    fn output_without_newlines_is_cut_into_bounded_lines() {
        let lines = Arc::new(Lines::default());
        let mut out = writer(&lines);
        for _ in 0..256 {
            write(&mut out, &[b'x'; 4096]);
            assert!(out.pending.len() < MAX_LINE);
        }
        write(&mut out, b"tail\nnext");
        drop(out);
        let lines = lines.0.lock().unwrap();
        let lengths: Vec<usize> = lines.iter().map(Vec::len).collect();
        assert_eq!(lengths, [vec![MAX_LINE; 16], vec![4, 4]].concat());
        assert_eq!(lines[16], b"tail");
        assert_eq!(lines[17], b"next");
    }

    #[test]
    fn lines_split_across_writes_arrive_whole() {
        let lines = Arc::new(Lines::default());
        let mut out = writer(&lines);
        write(&mut out, b"hel");
        write(&mut out, b"lo\r\nwor");
        write(&mut out, b"ld\n");
        assert_eq!(
            *lines.0.lock().unwrap(),
            [b"hello".to_vec(), b"world".to_vec()]
        );
    }
}
