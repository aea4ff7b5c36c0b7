//! `fetch = "browser"`: pages whose lists are built by JavaScript, rendered by
//! a real Chromium (fixtures/browser/, served by a local mock server): the
//! plain fetch finds nothing, the browser finds every item, also behind a
//! "load more" button and an infinite scroll; a missing browser, a hung page
//! and a page that never shows its items fail their source alone, clearly;
//! no Chromium process outlives a run, a SIGTERM or a SIGKILL.
//!
//! Needs Chromium (Debian: `apt-get install chromium`). Without one each test
//! says it is skipped; with `OCTOFEED_REQUIRE_BROWSER=1` (set by .ci/run) a
//! missing browser fails instead.

mod common;
mod fetch_kit;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fetch_kit::{Site, failure, report, site_table};
use octofeed::run::Status;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Whether a browser is there to test with; prints why not, or panics when CI requires one.
fn have_browser(test: &str) -> bool {
    let found = ["chromium", "chromium-browser", "google-chrome"].iter().any(|name| {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).any(|dir| dir.join(name).is_file())
    });
    if !found {
        assert!(
            std::env::var_os("OCTOFEED_REQUIRE_BROWSER").is_none(),
            "{test}: no Chromium on PATH, and CI requires one"
        );
        eprintln!("skipped {test}: no Chromium on PATH (Debian: apt-get install chromium)");
    }
    found
}

/// The fixture site: the three listing pages, the events service, and what
/// the browser must not load (images and fonts answer 200 but are never asked for).
async fn harbour() -> MockServer {
    let server = MockServer::start().await;
    for (route, file, kind) in [
        ("/news", "listing.html", "text/html"),
        ("/news-more", "load-more.html", "text/html"),
        ("/news-scroll", "infinite.html", "text/html"),
        ("/hangs", "hangs.html", "text/html"),
        ("/api/events.json", "events.json", "application/json"),
    ] {
        let body = common::fixture_bytes(&format!("browser/{file}"));
        Mock::given(path(route)).respond_with(ResponseTemplate::new(200).set_body_raw(body, kind)).mount(&server).await;
    }
    for route in ["/banner.jpg", "/font.woff2"] {
        Mock::given(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_raw(vec![0u8; 16], "application/octet-stream"))
            .mount(&server)
            .await;
    }
    Mock::given(path("/style.css"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("", "text/css"))
        .mount(&server)
        .await;
    server
}

/// A source reading `route` of `server`, `extra` lines in its table, events as items.
fn source(id: &str, server: &MockServer, route: &str, extra: &str) -> String {
    format!(
        "[[source]]\nid = \"{id}\"\nurl = \"{}{route}\"\nrobots = false\n{extra}\n\
         [source.select]\nitem = \"li.event\"\ntitle = \"h3\"\nlink = \"h3 a\"\ndate = \"time\"\n",
        server.uri()
    )
}

fn titles(site: &Site, id: &str) -> usize {
    site.titles(id).len()
}

#[tokio::test]
async fn the_plain_fetch_finds_nothing_and_the_browser_publishes_every_item() {
    if !have_browser("the_plain_fetch_finds_nothing_and_the_browser_publishes_every_item") {
        return;
    }
    let server = harbour().await;
    let toml = format!(
        "{}{}{}",
        site_table("allow_private = true"),
        source("plain", &server, "/news", ""),
        source("rendered", &server, "/news", "fetch = \"browser\"")
    );
    let site = Site::new(&toml);
    let run = site.run_at(common::fixed_now()).await;
    let error = failure(&run, "plain");
    assert!(error.contains("`li.event` matched nothing"), "{error}");
    assert_eq!(report(&run, "rendered").status, Status::Ok, "{:?}", report(&run, "rendered"));
    assert_eq!(titles(&site, "rendered"), 9);
    let feed = site.json_feed("rendered");
    assert!(feed["items"].as_array().expect("items").iter().all(|item| item["date_published"].is_string()));
    let asked: Vec<String> = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|request| request.url.path().to_string())
        .collect();
    assert!(asked.iter().any(|p| p == "/api/events.json"), "the page's script ran: {asked:?}");
    assert!(!asked.iter().any(|p| p == "/banner.jpg" || p == "/font.woff2"), "images and fonts are refused: {asked:?}");
}

#[tokio::test]
async fn a_load_more_button_and_an_infinite_scroll_give_every_item() {
    if !have_browser("a_load_more_button_and_an_infinite_scroll_give_every_item") {
        return;
    }
    let server = harbour().await;
    let toml = format!(
        "{}{}{}{}",
        site_table("allow_private = true"),
        source("first-three", &server, "/news-more", "fetch = \"browser\""),
        source(
            "clicked",
            &server,
            "/news-more",
            "fetch = \"browser\"\n[source.browser]\nclick = \"#more\"\nclicks = 5"
        ),
        source("scrolled", &server, "/news-scroll", "fetch = \"browser\"\n[source.browser]\nscroll = 5"),
    );
    let site = Site::new(&toml);
    let run = site.run_at(common::fixed_now()).await;
    for id in ["first-three", "clicked", "scrolled"] {
        assert_eq!(report(&run, id).status, Status::Ok, "{:?}", report(&run, id));
    }
    assert_eq!(titles(&site, "first-three"), 3, "without clicks, only what the page shows first");
    assert_eq!(titles(&site, "clicked"), 9);
    assert_eq!(titles(&site, "scrolled"), 9);
}

#[tokio::test]
async fn a_missing_browser_a_hung_page_and_a_page_that_never_matches_fail_alone_and_clearly() {
    if !have_browser("a_missing_browser_a_hung_page_and_a_page_that_never_matches_fail_alone_and_clearly") {
        return;
    }
    let server = harbour().await;
    // One run with a browser that is not there: only the browser source fails.
    let toml = format!(
        "{}{}{}",
        site_table("allow_private = true\nbrowser = \"/nonexistent/chromium\""),
        source("rendered", &server, "/news", "fetch = \"browser\""),
        "[[source]]\nid = \"static\"\nurl = \"file:".to_string()
            + &common::fixture_path("detect/drupal-views.html").display().to_string()
            + "\"\npage_url = \"https://water.example.gov/news\"\nselect = \"auto\"\n",
    );
    let site = Site::new(&toml);
    let run = site.run_at(common::fixed_now()).await;
    let error = failure(&run, "rendered");
    assert!(error.contains("no browser") && error.contains("apt-get install chromium"), "{error}");
    assert_eq!(report(&run, "static").status, Status::Ok);

    // A page whose script never ends, a page that never shows `wait_for`, and a good page, at once.
    let toml = format!(
        "{}{}{}{}",
        site_table("allow_private = true"),
        source("hangs", &server, "/hangs", "fetch = \"browser\"\n[source.browser]\ntimeout = \"3s\""),
        source(
            "never",
            &server,
            "/news",
            "fetch = \"browser\"\n[source.browser]\nwait_for = \"li.cancelled\"\ntimeout = \"3s\""
        ),
        source("fine", &server, "/news", "fetch = \"browser\""),
    );
    let site = Site::new(&toml);
    let started = Instant::now();
    let run = site.run_at(common::fixed_now()).await;
    assert!(started.elapsed() < Duration::from_secs(40), "bounded by the timeouts: {:?}", started.elapsed());
    let hung = failure(&run, "hangs");
    assert!(hung.contains("li.event") || hung.contains("longer than"), "{hung}");
    let never = failure(&run, "never");
    assert!(never.contains("`li.cancelled`"), "the selector is named: {never}");
    assert_eq!(report(&run, "fine").status, Status::Ok, "{:?}", report(&run, "fine"));
    assert_eq!(titles(&site, "fine"), 9);
}

/// Processes whose command line mentions `marker`.
fn processes_mentioning(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(marker) && !cmdline.is_empty() {
                found.push(cmdline);
            }
        }
    }
    found
}

/// Waits up to 5 s for every process mentioning `marker` to be gone.
fn gone(marker: &str) -> Result<(), Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_mentioning(marker);
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(left);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `octofeed run` over `config` with its temporary files (so the browser's
/// profile) under `tmp`, a folder named for the test.
fn octofeed_run(config: &Path, tmp: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_octofeed"))
        .args(["run", "-c", config.to_str().expect("utf-8")])
        .env("TMPDIR", tmp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("octofeed starts")
}

#[tokio::test]
async fn no_chromium_outlives_a_run_a_sigterm_or_a_sigkill() {
    if !have_browser("no_chromium_outlives_a_run_a_sigterm_or_a_sigkill") {
        return;
    }
    let server = harbour().await;
    let dir = tempfile::tempdir().expect("a folder");
    // The hung page keeps the browser busy long enough to be killed mid-run.
    let toml = format!(
        "{}{}{}",
        site_table("allow_private = true"),
        source("fine", &server, "/news", "fetch = \"browser\""),
        source("hangs", &server, "/hangs", "fetch = \"browser\"\n[source.browser]\ntimeout = \"4s\""),
    );
    let config = dir.path().join("octofeed.toml");
    std::fs::write(&config, toml).expect("a config");
    for (case, signal) in [("sigterm", Some(libc::SIGTERM)), ("sigkill", Some(libc::SIGKILL)), ("finished", None)] {
        let tmp: PathBuf = dir.path().join(format!("tmp-{case}"));
        std::fs::create_dir_all(&tmp).expect("a temp folder");
        let marker = tmp.display().to_string();
        let mut run = octofeed_run(&config, &tmp);
        let pid = run.id() as libc::pid_t;
        match signal {
            Some(signal) => {
                let deadline = Instant::now() + Duration::from_secs(20);
                while processes_mentioning(&marker).is_empty() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(100));
                }
                assert!(!processes_mentioning(&marker).is_empty(), "{case}: the browser started");
                std::thread::sleep(Duration::from_millis(500));
                // SAFETY: kill(2) on the child this test started.
                unsafe { libc::kill(pid, signal) };
                run.wait().expect("octofeed ends");
            }
            None => {
                let status = run.wait().expect("octofeed ends");
                assert_eq!(status.code(), Some(1), "{case}: the hung source failed, the run ended");
            }
        }
        if let Err(left) = gone(&marker) {
            panic!("{case}: Chromium processes outlived octofeed: {left:#?}");
        }
    }
}
