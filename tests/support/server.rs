//! A `wippy run` app serving HTTP, started by a test, and a real HTTP/1.1 client (hyper) to
//! call it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use super::{DEADLINE, Project};

/// A running app: its stderr (the log) and stdout collected as they come.
pub struct Server {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    /// Where the first `http.service` listens.
    pub addr: SocketAddr,
}

impl Server {
    /// Runs `wippy run <args>` in `project` and waits until it listens.
    pub fn start(project: &Project, args: &[&str]) -> Self {
        let mut server = Self::spawn(project, args);
        let line = server.wait_for("listening on http://");
        let addr = line
            .split("http://")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        server.addr = addr.parse().unwrap();
        server
    }

    /// Runs `wippy run <args>` in `project` without waiting for anything.
    pub fn spawn(project: &Project, args: &[&str]) -> Self {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        let mut child = super::wippy_command(project.root(), &project.cache_dir(), &all)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start the wippy binary");
        let log = Arc::new(Mutex::new(Vec::new()));
        // The log (stderr) and the processes' output (stdout), line by line as they come.
        let stderr = child.stderr.take().unwrap();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let stdout = child.stdout.take().unwrap();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        Self {
            child,
            log,
            addr: "127.0.0.1:1".parse().unwrap(),
        }
    }

    /// Waits until a log line contains `text`, and returns it.
    pub fn wait_for(&mut self, text: &str) -> String {
        let started = Instant::now();
        loop {
            if let Some(line) = self.log.lock().unwrap().iter().find(|l| l.contains(text)) {
                return line.clone();
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "`wippy run` exited ({status}) before logging {text:?}:\n{}",
                    self.log()
                );
            }
            assert!(
                started.elapsed() < DEADLINE,
                "no log line with {text:?} within {DEADLINE:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until `n` log lines contain `text`, and returns the last of them.
    pub fn wait_for_nth(&mut self, text: &str, n: usize) -> String {
        let started = Instant::now();
        loop {
            let found: Vec<String> = (self.log.lock().unwrap().iter())
                .filter(|l| l.contains(text))
                .cloned()
                .collect();
            if found.len() >= n {
                return found[n - 1].clone();
            }
            assert!(
                started.elapsed() < DEADLINE,
                "fewer than {n} log lines with {text:?} within {DEADLINE:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], "")
    }

    pub fn post(&self, path: &str, body: &str) -> Reply {
        self.request("POST", path, &[], body)
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let reply = request(self.addr, method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path} failed: {e}\nlog:\n{}", self.log()));
        if reply.status >= 500 {
            // Shown when the test fails: the server's side of the story.
            eprintln!(
                "{method} {path}: {} {}; the log so far:\n{}",
                reply.status,
                reply.body,
                self.log()
            );
        }
        reply
    }

    /// Ends the app at once, as a crash or `kill -9` would.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: a plain kill(2) of our own child.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(sent, 0, "kill failed: {}", std::io::Error::last_os_error());
    }

    /// Sends SIGTERM and waits for the exit: its code and the whole log.
    pub fn stop(mut self) -> (Option<i32>, String) {
        self.signal(libc::SIGTERM);
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > DEADLINE {
                self.child.kill().ok();
                panic!(
                    "`wippy run` did not exit within {DEADLINE:?} of SIGTERM:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader thread ends with the pipe; give it a moment to take the last lines.
        std::thread::sleep(Duration::from_millis(50));
        (status.code(), self.log())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response as the client saw it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        (self.headers.iter())
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request on a fresh connection.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Reply, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(connection);
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string());
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(DEADLINE, sender.send_request(request))
            .await
            .map_err(|_| "no response within the deadline".to_string())?
            .map_err(|e| format!("request: {e}"))?;
        let status = response.status().as_u16();
        let headers = (response.headers().iter())
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        Ok(Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    })
}
