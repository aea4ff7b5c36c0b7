//! Workers on one PostgreSQL: three `octofeed worker` processes share 300
//! sources on three local origins with `per_host = 2`. Every source is
//! refreshed once, no origin ever sees more than two requests at once (all
//! workers together), a worker killed with SIGKILL mid-refresh loses nothing
//! committed and its sources are refreshed by the others once its leases
//! expire, no item is stored twice, and every published feed reads. Needs the
//! test PostgreSQL (`store_kit::engines`).

mod store_kit;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::response::Html;
use store_kit::*;

const SOURCES: usize = 300;
const ORIGINS: usize = 3;
const PER_HOST: usize = 2;
/// Each page answers this late, so requests overlap and a kill lands mid-refresh.
const ANSWER_AFTER: Duration = Duration::from_millis(40);

/// What one origin saw: requests in flight now and at most, and requests per page.
#[derive(Default)]
struct Seen {
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    requests: Mutex<HashMap<usize, usize>>,
}

/// One request in flight; it stops counting when answered, or when dropped
/// because its client (a killed worker) went away.
struct InFlight(Arc<Seen>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn page(State(seen): State<Arc<Seen>>, Path(number): Path<usize>) -> Html<String> {
    let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let _counted = InFlight(Arc::clone(&seen));
    seen.most_in_flight.fetch_max(now, Ordering::SeqCst);
    *seen.requests.lock().unwrap().entry(number).or_default() += 1;
    tokio::time::sleep(ANSWER_AFTER).await;
    Html(format!(
        "<html><body><ul><li><a href=\"/item/{number}/a\">Page {number}, first item</a></li>\
         <li><a href=\"/item/{number}/b\">Page {number}, second item</a></li></ul></body></html>"
    ))
}

/// Starts one origin on its own thread; returns its port and what it sees.
fn start_origin() -> (u16, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("an address").port();
    let state = Arc::clone(&seen);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
            let app = axum::Router::new().route("/s/{number}", axum::routing::get(page)).with_state(state);
            axum::serve(listener, app).await.expect("the origin serves");
        });
    });
    (port, seen)
}

/// Worker processes, killed if the test ends before it stops them.
struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for worker in &mut self.0 {
            let _ = worker.kill();
            let _ = worker.wait();
        }
    }
}

fn start_worker(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_octofeed"))
        .args(["worker", "-c"])
        .arg(config)
        .env("RUST_LOG", "octofeed=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("a worker starts")
}

fn total_requests(origins: &[(u16, Arc<Seen>)]) -> usize {
    origins.iter().map(|(_, seen)| seen.requests.lock().unwrap().values().sum::<usize>()).sum()
}

#[test]
fn three_workers_share_300_sources_politely_and_survive_a_kill() {
    let Some(engine) = postgres_engine_if_any() else { return };
    let dir = engine.dir.path();
    let origins: Vec<(u16, Arc<Seen>)> = (0..ORIGINS).map(|_| start_origin()).collect();
    let mut text = format!(
        "[site]\ntitle = \"Workers\"\nbase_url = \"http://localhost:8080/\"\nstore = \"{}\"\n\
         concurrency = 8\nper_host = {PER_HOST}\nhost_delay = \"0s\"\nretries = 0\nlease = \"3s\"\n\n\
         [defaults]\nrobots = false\ninterval = \"1h\"\ntimeout = \"10s\"\n\n",
        engine.config_value()
    );
    for number in 0..SOURCES {
        let port = origins[number % ORIGINS].0;
        text.push_str(&format!(
            "[[source]]\nid = \"s{number}\"\nurl = \"http://127.0.0.1:{port}/s/{number}\"\n\
             [source.select]\nitem = \"li\"\ntitle = \"a\"\nlink = \"a\"\n\n"
        ));
    }
    let all: Vec<String> = (0..SOURCES).map(|number| format!("\"s{number}\"")).collect();
    text.push_str(&format!("[[channel]]\nid = \"all\"\ntitle = \"All\"\nsources = [{}]\n", all.join(", ")));
    let config = dir.join("octofeed.toml");
    std::fs::write(&config, text).expect("a config");

    let mut workers = Workers((0..3).map(|_| start_worker(&config)).collect());
    let started = Instant::now();
    while total_requests(&origins) < SOURCES / 5 {
        assert!(started.elapsed() < Duration::from_secs(60), "the workers fetch nothing");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut killed = workers.0.remove(0);
    killed.kill().expect("SIGKILL");
    killed.wait().expect("the killed worker is reaped");

    let store = engine.read_only();
    let ids: Vec<String> = (0..SOURCES).map(|number| format!("s{number}")).collect();
    let refreshed = |store: &dyn octofeed::store::Store| {
        ids.iter().filter(|id| store.health(id).expect("health").last_success.is_some()).count()
    };
    while refreshed(&*store) < SOURCES {
        assert!(started.elapsed() < Duration::from_secs(120), "only {} sources refreshed", refreshed(&*store));
        std::thread::sleep(Duration::from_millis(100));
    }
    let channel_feed = dir.join("public/all/atom.xml");
    while !channel_feed.exists() || parse_feed(&channel_feed).entries.is_empty() {
        assert!(started.elapsed() < Duration::from_secs(120), "the channel was never published");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Long enough for a second refresh, were any source refreshed twice.
    std::thread::sleep(Duration::from_secs(2));
    for worker in &mut workers.0 {
        let pid = i32::try_from(worker.id()).expect("a pid");
        // SAFETY: kill(2) on our own child, by pid, with a valid signal.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        assert!(worker.wait().expect("a worker ends").success(), "SIGTERM ends a worker with 0");
    }

    let mut twice = 0;
    for (port, seen) in &origins {
        let most = seen.most_in_flight.load(Ordering::SeqCst);
        assert!(most <= PER_HOST, "127.0.0.1:{port} saw {most} requests at once");
        for (number, count) in seen.requests.lock().unwrap().iter() {
            assert!(*count <= 2, "s{number} was fetched {count} times");
            twice += usize::from(*count == 2);
        }
    }
    assert!(twice <= 16, "{twice} sources fetched twice: more than the killed worker held");
    let sources: Vec<&str> = ids.iter().map(String::as_str).collect();
    let items = store.items_of_sources(&sources, None).expect("items");
    assert_eq!(items.len(), SOURCES * 2, "every item stored, once");
    for id in &ids {
        assert_eq!(store.health(id).expect("health").consecutive_failures, 0, "{id}");
        let feed = parse_feed(&dir.join("public").join(id).join("atom.xml"));
        assert_eq!(feed.entries.len(), 2, "{id}");
    }
    assert!(dir.join("public/index.html").exists() && dir.join("public/feeds.opml").exists());
}
