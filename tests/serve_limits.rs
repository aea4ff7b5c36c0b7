//! `octofeed serve` against clients that misbehave (half-sent requests, idle
//! connections, more connections than it may hold, a SIGTERM with connections
//! open) and beside other work: a slow source does not hold back a fast one's
//! feeds, and `octofeed run` can refresh the same store while serve runs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use octofeed::config::Config;
use octofeed::run::Runner;
use octofeed::serve::{Limits, ServeState, serve_with};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_ENCODING, ETAG, VARY};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

/// A config in `dir` over a copy of a saved coe.int page, plus `extra` sources.
fn write_config(dir: &Path, extra: &str) -> PathBuf {
    std::fs::copy(fixture("coe/liferay-default.html"), dir.join("page.html")).expect("copy the page");
    let text = format!(
        r#"[site]
title = "Serve limits"
output_dir = "public"
store = "octofeed.db"
lock_timeout = "5s"

[[source]]
id = "octopus"
url = "file:page.html"
page_url = "https://www.coe.int/en/web/cybercrime/octopus-project"
interval = "1d"
[source.select]
item = "div.asset-abstract"
title = "h3.asset-title"
link = "h3.asset-title a"
summary = ".asset-summary"
{extra}"#
    );
    let path = dir.join("octofeed.toml");
    std::fs::write(&path, text).expect("write the config");
    path
}

struct Server {
    base: String,
    address: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

fn limits() -> Limits {
    Limits {
        header_timeout: Duration::from_millis(500),
        max_age: Duration::from_secs(60),
        max_connections: 4,
        shutdown_grace: Duration::from_millis(500),
    }
}

async fn start(config_path: &Path, limits: Limits) -> Server {
    let config = Config::load(config_path).expect("the config loads");
    let runner = Arc::new(Runner::open_long_lived(&config).expect("the store opens"));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address");
    let (stop, stopped) = oneshot::channel::<()>();
    let state = ServeState::new(config, runner);
    let task = tokio::spawn(serve_with(listener, state, limits, async {
        let _ = stopped.await;
    }));
    Server { base: format!("http://{address}"), address, stop: Some(stop), task }
}

async fn status_of(url: &str) -> Option<StatusCode> {
    reqwest::get(url).await.ok().map(|response| response.status())
}

async fn wait_for(url: &str) {
    for _ in 0..200 {
        if status_of(url).await == Some(StatusCode::OK) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} was never published");
}

async fn stop(mut server: Server) {
    server.stop.take().expect("running").send(()).expect("the server listens");
    server.task.await.expect("the server task").expect("the server ends cleanly");
}

/// Opens a connection and sends the start of a request head, never its end.
fn half_sent(address: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(address).expect("a connection");
    stream.write_all(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nX-Slow: ").expect("a partial head");
    stream
}

/// Whether the server closed `stream` within `within` (EOF or reset on read).
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).expect("a read timeout");
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(error) if matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_half_sent_requests_are_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().expect("a folder");
    let server = start(&write_config(dir.path(), ""), limits()).await;
    wait_for(&format!("{}/octopus/rss.xml", server.base)).await;
    let address = server.address;
    let closed = tokio::task::spawn_blocking(move || {
        let mut slow = half_sent(address);
        closed_within(&mut slow, Duration::from_secs(3))
    })
    .await
    .expect("the client thread");
    assert!(closed, "a half-sent request kept its connection past the header timeout");
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_timeout() {
    let dir = tempfile::tempdir().expect("a folder");
    let server = start(&write_config(dir.path(), ""), limits()).await;
    wait_for(&format!("{}/octopus/rss.xml", server.base)).await;
    let address = server.address;
    let closed = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).expect("a connection");
        stream.write_all(b"GET /octopus/rss.xml HTTP/1.1\r\nHost: localhost\r\n\r\n").expect("a request");
        let mut buffer = [0u8; 65536];
        let read = stream.read(&mut buffer).expect("a response");
        assert!(buffer[..read].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buffer[..read]));
        closed_within(&mut stream, Duration::from_secs(3))
    })
    .await
    .expect("the client thread");
    assert!(closed, "an idle keep-alive connection was kept open");
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_get_503_and_the_rest_are_served() {
    let dir = tempfile::tempdir().expect("a folder");
    let server =
        start(&write_config(dir.path(), ""), Limits { header_timeout: Duration::from_secs(30), ..limits() }).await;
    wait_for(&format!("{}/octopus/rss.xml", server.base)).await;
    // Let the server see the probing client's connection close and free its place.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let address = server.address;
    let (refused, held) = tokio::task::spawn_blocking(move || {
        let held: Vec<TcpStream> = (0..4).map(|_| half_sent(address)).collect();
        std::thread::sleep(Duration::from_millis(200));
        let mut extra = TcpStream::connect(address).expect("a connection");
        extra.set_read_timeout(Some(Duration::from_secs(3))).expect("a timeout");
        let mut answer = String::new();
        let _ = extra.read_to_string(&mut answer);
        (answer, held)
    })
    .await
    .expect("the client thread");
    assert!(refused.starts_with("HTTP/1.1 503") && refused.contains("Retry-After: 1"), "{refused}");
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(status_of(&format!("{}/index.html", server.base)).await, Some(StatusCode::OK));
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_half_sent_connections_within_seconds() {
    let dir = tempfile::tempdir().expect("a folder");
    let server =
        start(&write_config(dir.path(), ""), Limits { header_timeout: Duration::from_secs(60), ..limits() }).await;
    wait_for(&format!("{}/octopus/rss.xml", server.base)).await;
    let _slow = half_sent(server.address);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    stop(server).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown waited {:?} for a half-sent request",
        started.elapsed()
    );
}

#[test]
fn sigterm_with_a_half_sent_request_open_still_exits_0() {
    let dir = tempfile::tempdir().expect("a folder");
    let config = write_config(dir.path(), "");
    let mut child = Command::new(env!("CARGO_BIN_EXE_octofeed"))
        .args(["serve", "--listen", "127.0.0.1:0", "-c"])
        .arg(&config)
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stderr.take().expect("stderr")), &mut line)
        .expect("the address line");
    let address: std::net::SocketAddr = line
        .rsplit("http://")
        .next()
        .and_then(|rest| rest.trim().trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("no address in {line}"));
    let _slow = half_sent(address);
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill").success());
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert_eq!(status.code(), Some(0));
            break;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("serve did not exit within 10 s of SIGTERM with a half-sent request open");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_and_identity_have_distinct_etags_and_vary_on_accept_encoding() {
    let dir = tempfile::tempdir().expect("a folder");
    let server = start(&write_config(dir.path(), ""), limits()).await;
    let url = format!("{}/octopus/atom.xml", server.base);
    wait_for(&url).await;
    let client = reqwest::Client::builder().no_gzip().build().expect("a client");
    let plain = client.get(&url).send().await.expect("a response");
    let gzipped = client.get(&url).header(ACCEPT_ENCODING, "gzip").send().await.expect("a response");
    assert_eq!(plain.headers()[VARY], "accept-encoding");
    assert_eq!(gzipped.headers()[VARY], "accept-encoding");
    assert_ne!(plain.headers()[ETAG], gzipped.headers()[ETAG]);
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_source_does_not_hold_back_a_fast_sources_feeds() {
    let slow = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<ul></ul>").set_delay(Duration::from_secs(4)))
        .mount(&slow)
        .await;
    let dir = tempfile::tempdir().expect("a folder");
    let extra = format!(
        "\n[[source]]\nid = \"slow\"\nurl = \"{}/slow\"\nrobots = false\n[source.select]\nitem = \"li\"\ntitle = \"a\"\nlink = \"a\"\n",
        slow.uri()
    );
    let server = start(&write_config(dir.path(), &extra), limits()).await;
    let started = Instant::now();
    wait_for(&format!("{}/octopus/rss.xml", server.base)).await;
    assert!(started.elapsed() < Duration::from_secs(3), "the fast feed waited {:?}", started.elapsed());
    assert_eq!(status_of(&format!("{}/index.html", server.base)).await, Some(StatusCode::OK), "a first index is there");
    assert_eq!(status_of(&format!("{}/slow/rss.xml", server.base)).await, Some(StatusCode::NOT_FOUND));
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn octofeed_run_beside_serve_refreshes_the_same_store_and_serve_shows_it() {
    let dir = tempfile::tempdir().expect("a folder");
    let config = write_config(dir.path(), "");
    let server = start(&config, limits()).await;
    let url = format!("{}/octopus/feed.json", server.base);
    wait_for(&url).await;
    let before = reqwest::get(&url).await.expect("a response").text().await.expect("a body");
    // The page changes; `run` (not serve's scheduler, whose interval is a day) picks it up.
    let page = std::fs::read_to_string(dir.path().join("page.html")).expect("the page");
    let changed = page.replacen("asset-title\">", "asset-title\">Changed: ", 1);
    assert_ne!(changed, page, "the fixture has an asset title to change");
    std::fs::write(dir.path().join("page.html"), changed).expect("rewrite the page");
    let run_config = config.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_octofeed")).args(["run", "-c"]).arg(&run_config).output()
    })
    .await
    .expect("the run thread")
    .expect("run starts");
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let after = reqwest::get(&url).await.expect("a response").text().await.expect("a body");
    assert_ne!(before, after, "serve still serves the feed from before the run");
    assert!(after.contains("Changed: "), "{after}");
    stop(server).await;
}
