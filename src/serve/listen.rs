//! Serve: the HTTP/1.1 listener, made to stand up to clients that misbehave.
//! Every connection has a deadline for each request head (which is also how
//! long an idle keep-alive connection may wait), a maximum age, and a place
//! under a connection limit kept below the process's file-descriptor limit;
//! past the limit a connection gets `503` with `Retry-After` and is closed.
//! On shutdown, idle and half-sent connections are closed at once and busy
//! ones get a short grace period.
//!
//! It knows nothing of feeds: it serves whatever router it is given.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinSet;

/// How the listener treats connections.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Time a client has to send a whole request head, from when the
    /// connection starts waiting for it: a slowloris is cut off, and so is an
    /// idle keep-alive connection.
    pub header_timeout: Duration,
    /// A connection is closed (gracefully) after this long, however busy.
    pub max_age: Duration,
    /// Connections served at once; more are refused with `503`.
    pub max_connections: usize,
    /// After shutdown begins, how long in-flight responses may take.
    pub shutdown_grace: Duration,
}

/// File descriptors kept free for the store, published files and outgoing fetches.
const RESERVED_DESCRIPTORS: u64 = 256;
/// The most connections served at once, however high the descriptor limit.
const MOST_CONNECTIONS: u64 = 16_384;

impl Limits {
    /// The limits for this process: the descriptor limit is raised to its hard
    /// maximum first, and the connection limit kept below it.
    pub fn for_this_process() -> Limits {
        let descriptors = raise_descriptor_limit();
        let max_connections = descriptors.saturating_sub(RESERVED_DESCRIPTORS).clamp(16, MOST_CONNECTIONS) as usize;
        Limits {
            header_timeout: Duration::from_secs(10),
            max_age: Duration::from_secs(300),
            max_connections,
            shutdown_grace: Duration::from_secs(3),
        }
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard one; returns the soft limit in force.
fn raise_descriptor_limit() -> u64 {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return 1024;
            }
            let wanted = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if limit.rlim_cur < limit.rlim_max && libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
                return wanted.rlim_cur;
            }
        }
        limit.rlim_cur
    }
    #[cfg(not(unix))]
    {
        1024
    }
}

/// The answer to a connection past the limit.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain\r\n\
Content-Length: 24\r\nConnection: close\r\n\r\ntoo many connections now";

/// Serves `router` on `listener` until `stop` turns true, then closes every
/// connection within `limits.shutdown_grace` and returns.
///
/// Like nginx's worker processes, one thread per core serves its own
/// connections on a single-threaded runtime, in turn, which keeps the slowest
/// responses close to the typical ones under load. This task accepts and hands
/// each connection to the thread serving the fewest.
pub async fn serve_http(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let workers: Vec<Worker> =
        (0..threads).map(|index| Worker::start(index, &router, &limits, &stop)).collect::<Result<_, _>>()?;
    let mut memory = MemoryKeeper::default();
    let mut every_second = tokio::time::interval(Duration::from_secs(1));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = every_second.tick() => {
                memory.after(workers.iter().map(|worker| worker.active.load(Ordering::Relaxed)).sum());
                continue;
            }
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let stream = match accepted.and_then(|(stream, _)| stream.into_std()) {
            Ok(stream) => stream,
            // Out of descriptors or a connection reset before accept: wait a moment, go on.
            Err(error) => {
                tracing::warn!("accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = Arc::clone(&slots).try_acquire_owned().ok();
        let least_busy = workers.iter().min_by_key(|worker| worker.active.load(Ordering::Relaxed));
        if let Some(worker) = least_busy {
            worker.active.fetch_add(1, Ordering::Relaxed);
            let _ = worker.connections.send((stream, slot));
        }
    }
    drop(listener);
    for worker in workers {
        drop(worker.connections);
        worker.finished.await.map_err(std::io::Error::other)?;
    }
    Ok(())
}

/// Gives memory back to the system after a burst of connections ends: each
/// connection's buffers are freed, but glibc keeps freed memory in its heap
/// until told to trim it, so a server that once held 5,000 connections would
/// keep their memory for good.
#[derive(Default)]
struct MemoryKeeper {
    /// The most connections seen open since memory was last given back.
    peak: usize,
}

/// Connections that must have closed since the peak before trimming is worth a call.
const TRIM_AFTER_CLOSED: usize = 256;

impl MemoryKeeper {
    /// Called once a second with the connections open now.
    fn after(&mut self, open: usize) {
        self.peak = self.peak.max(open);
        if self.peak - open >= TRIM_AFTER_CLOSED {
            give_memory_back();
            self.peak = open;
        }
    }
}

fn give_memory_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the system; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A connection handed to a worker, with its place under the limit (`None`: refuse it).
type Handoff = (std::net::TcpStream, Option<OwnedSemaphorePermit>);

/// One serving thread: where to send it connections, and how many it serves.
struct Worker {
    connections: mpsc::UnboundedSender<Handoff>,
    active: Arc<AtomicUsize>,
    finished: oneshot::Receiver<()>,
}

impl Worker {
    fn start(index: usize, router: &Router, limits: &Limits, stop: &watch::Receiver<bool>) -> std::io::Result<Worker> {
        let (connections, incoming) = mpsc::unbounded_channel();
        let active = Arc::new(AtomicUsize::new(0));
        let (done, finished) = oneshot::channel();
        let (router, limits, stop, counter) = (router.clone(), limits.clone(), stop.clone(), Arc::clone(&active));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new().name(format!("octofeed-http-{index}")).spawn(move || {
            runtime.block_on(serve_handed(incoming, router, limits, stop, counter));
            let _ = done.send(());
        })?;
        Ok(Worker { connections, active, finished })
    }
}

/// A worker's loop: serves each connection handed to it until the acceptor
/// stops, then closes them all within the grace period.
async fn serve_handed(
    mut incoming: mpsc::UnboundedReceiver<Handoff>,
    router: Router,
    limits: Limits,
    stop: watch::Receiver<bool>,
    active: Arc<AtomicUsize>,
) {
    let mut connections = JoinSet::new();
    while let Some((stream, slot)) = incoming.recv().await {
        while connections.try_join_next().is_some() {}
        let Ok(stream) = TcpStream::from_std(stream) else {
            active.fetch_sub(1, Ordering::Relaxed);
            continue;
        };
        let (router, limits, stop, active) = (router.clone(), limits.clone(), stop.clone(), Arc::clone(&active));
        connections.spawn(async move {
            match slot {
                Some(slot) => {
                    serve_connection(stream, router, &limits, stop).await;
                    drop(slot);
                }
                None => refuse(stream).await,
            }
            active.fetch_sub(1, Ordering::Relaxed);
        });
    }
    let closing = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.shutdown_grace + Duration::from_secs(1), closing).await.is_err() {
        connections.shutdown().await;
    }
}

async fn serve_connection(stream: TcpStream, router: Router, limits: &Limits, mut stop: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(router));
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = stop.wait_for(|stop| *stop) => {}
        _ = tokio::time::sleep(limits.max_age) => {}
    }
    // Idle and half-read connections close now; a response being written may finish.
    connection.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(limits.shutdown_grace, connection).await;
}

async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(BUSY)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busy_answer_is_a_well_formed_response() {
        let text = std::str::from_utf8(BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503"));
        assert!(head.contains(&format!("Content-Length: {}", body.len())), "{head}");
    }

    #[test]
    fn the_connection_limit_stays_below_the_descriptor_limit() {
        let limits = Limits::for_this_process();
        let descriptors = raise_descriptor_limit();
        assert!((limits.max_connections as u64) < descriptors.max(16 + RESERVED_DESCRIPTORS), "{limits:?}");
    }
}
