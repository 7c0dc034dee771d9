//! W5: the JSON API under 64 keep-alive connections against an axum hello-world served by this
//! same process, in the same run. The load generator is a few lines of HTTP/1.1 over tokio's TCP
//! (no client library): it sends a GET, reads the headers and `content-length` bytes, and times it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What one load run saw.
#[derive(Debug, Default)]
pub struct Load {
    pub ok: u64,
    pub errors: u64,
    pub secs: f64,
    /// Seconds per successful request.
    pub latencies: Vec<f64>,
}

impl Load {
    pub fn rps(&self) -> f64 {
        if self.secs > 0.0 { self.ok as f64 / self.secs } else { 0.0 }
    }
}

/// `connections` connections, each sending the next of `paths` as soon as the previous answer
/// arrived, for `duration`.
pub async fn load(
    addr: SocketAddr,
    paths: Arc<Vec<String>>,
    bearer: Option<String>,
    connections: usize,
    duration: Duration,
) -> Load {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(connections);
    for c in 0..connections {
        let paths = Arc::clone(&paths);
        let bearer = bearer.clone();
        tasks.push(tokio::spawn(async move { connection(addr, &paths, bearer.as_deref(), c, deadline).await }));
    }
    gather(tasks, started).await
}

async fn connection(addr: SocketAddr, paths: &[String], bearer: Option<&str>, first: usize, deadline: Instant) -> Load {
    let mut out = Load::default();
    let mut client = Client::new(addr, bearer);
    let mut i = first.wrapping_mul(7919);
    while Instant::now() < deadline {
        let t = Instant::now();
        client.get(&paths[i % paths.len().max(1)], t, &mut out).await;
        i += 1;
    }
    out
}

/// One keep-alive connection of the load generator, reconnecting when the server closes it.
struct Client {
    addr: SocketAddr,
    auth: String,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Client {
    fn new(addr: SocketAddr, bearer: Option<&str>) -> Client {
        let auth = bearer.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        Client { addr, auth, stream: None, buf: Vec::with_capacity(16 * 1024) }
    }

    /// GETs `path` and records the outcome in `out`: a 200 as a latency counted from `since`,
    /// anything else (a failed connection included) as an error.
    async fn get(&mut self, path: &str, since: Instant, out: &mut Load) {
        if self.stream.is_none() {
            match TcpStream::connect(self.addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    self.stream = Some(s);
                }
                Err(_) => {
                    out.errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    return;
                }
            }
        }
        let Some(s) = self.stream.as_mut() else { return };
        let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n{}\r\n", self.auth);
        match exchange(s, request.as_bytes(), &mut self.buf).await {
            Some(200) => {
                out.ok += 1;
                out.latencies.push(since.elapsed().as_secs_f64());
            }
            Some(_) => out.errors += 1,
            None => {
                out.errors += 1;
                self.stream = None;
            }
        }
    }
}

/// The connections' counts together, timed from `started`.
async fn gather(tasks: Vec<tokio::task::JoinHandle<Load>>, started: Instant) -> Load {
    let mut total = Load::default();
    for t in tasks {
        if let Ok(l) = t.await {
            total.ok += l.ok;
            total.errors += l.errors;
            total.latencies.extend(l.latencies);
        }
    }
    total.secs = started.elapsed().as_secs_f64();
    total
}

/// Sends one request and reads one response; the status, or `None` when the connection broke or
/// the answer had no length.
async fn exchange(s: &mut TcpStream, request: &[u8], buf: &mut Vec<u8>) -> Option<u16> {
    s.write_all(request).await.ok()?;
    buf.clear();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
        .and_then(|(_, v)| v.trim().parse().ok())?;
    while buf.len() < head_end + length {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(status)
}

/// The reference: an axum route answering "Hello, World!", on a port of its own.
pub async fn hello_world() -> anyhow::Result<(SocketAddr, tokio::sync::oneshot::Sender<()>)> {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "Hello, World!" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok((addr, stop))
}

/// An open-loop load of `rate` requests per second spread over `connections` connections, until
/// `stop` is set (and at least `min` has passed). Latency counts from when a request was due, so
/// a stalled server is not hidden by requests that were never sent (coordinated omission).
pub async fn paced(
    addr: SocketAddr,
    paths: Arc<Vec<String>>,
    bearer: Option<String>,
    connections: usize,
    rate: f64,
    min: Duration,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Load {
    let started = Instant::now();
    let interval = Duration::from_secs_f64(connections as f64 / rate.max(1.0));
    let mut tasks = Vec::with_capacity(connections);
    for c in 0..connections {
        let (paths, bearer, stop) = (Arc::clone(&paths), bearer.clone(), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let mut out = Load::default();
            let mut client = Client::new(addr, bearer.as_deref());
            // connections start spread over one interval
            let mut due = started + interval.mul_f64(c as f64 / connections as f64);
            let mut i = c.wrapping_mul(7919);
            while !(started.elapsed() >= min && stop.load(std::sync::atomic::Ordering::Relaxed)) {
                tokio::time::sleep_until(due.into()).await;
                client.get(&paths[i % paths.len().max(1)], due, &mut out).await;
                i += 1;
                due += interval;
            }
            out
        }));
    }
    gather(tasks, started).await
}
