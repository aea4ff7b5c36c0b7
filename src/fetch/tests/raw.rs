//! Fetch stage tests: a raw HTTP server for what wiremock cannot do (stalled
//! bodies, silent servers, counting requests in flight).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// What the raw server does with each request: wait, write `bytes`, then close
/// the connection or keep it open forever without writing more.
#[derive(Clone)]
pub(super) struct Reply {
    pub(super) delay: Duration,
    pub(super) bytes: Vec<u8>,
    pub(super) hang: bool,
}

#[derive(Default)]
pub(super) struct Stats {
    pub(super) requests: AtomicUsize,
    pub(super) in_flight: AtomicUsize,
    pub(super) max_in_flight: AtomicUsize,
}

pub(super) struct RawServer {
    pub(super) url: Url,
    pub(super) stats: Arc<Stats>,
}

impl RawServer {
    pub(super) async fn start(reply: Reply) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/page", listener.local_addr().unwrap())).unwrap();
        let stats = Arc::new(Stats::default());
        let shared = Arc::clone(&stats);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, reply.clone(), Arc::clone(&shared)));
            }
        });
        RawServer { url, stats }
    }
}

async fn answer(mut stream: TcpStream, reply: Reply, stats: Arc<Stats>) {
    let mut head = Vec::new();
    let mut buffer = [0; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
    }
    stats.requests.fetch_add(1, Ordering::SeqCst);
    let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    stats.max_in_flight.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(reply.delay).await;
    stats.in_flight.fetch_sub(1, Ordering::SeqCst);
    let _ = stream.write_all(&reply.bytes).await;
    if reply.hang {
        std::future::pending::<()>().await;
    }
    let _ = stream.shutdown().await;
}
