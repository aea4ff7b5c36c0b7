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
    let requests = server.received_requests().await.unwrap_or_default();
    // The browser's request for the page: only a browser sends Sec-Fetch-Mode.
    let from_browser =
        requests.iter().find(|request| request.url.path() == "/news" && request.headers.contains_key("sec-fetch-mode"));
    let agent =
        from_browser.and_then(|request| request.headers.get("user-agent")).and_then(|agent| agent.to_str().ok());
    assert!(
        agent.is_some_and(|agent| agent.starts_with("octofeed/")),
        "the browser sends the run's user agent: {agent:?}"
    );
    let asked: Vec<String> = requests.iter().map(|request| request.url.path().to_string()).collect();
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

    // A page whose script never ends, a page that never shows `wait_for`, then a good page, one
    // at a time: the hung browser is killed at the timeout and the next page gets a new one.
    let toml = format!(
        "{}{}{}{}",
        site_table("allow_private = true\nconcurrency = 1"),
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
    assert!(hung.contains("took longer than") && hung.contains("/hangs"), "{hung}");
    let never = failure(&run, "never");
    assert!(never.contains("`li.cancelled`"), "the selector is named: {never}");
    assert_eq!(report(&run, "fine").status, Status::Ok, "{:?}", report(&run, "fine"));
    assert_eq!(titles(&site, "fine"), 9);
}

/// The id and command line of every process whose command line mentions `marker`.
fn processes_mentioning(marker: &str) -> Vec<(libc::pid_t, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<libc::pid_t>().ok()) else { continue };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(marker) {
                found.push((pid, cmdline));
            }
        }
    }
    found
}

/// Waits up to 5 s for every process mentioning `marker` to be gone.
fn gone(marker: &str) -> Result<(), Vec<(libc::pid_t, String)>> {
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

/// Runs the binary with `args` off the async runtime (the mock server keeps serving).
async fn octofeed(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || Command::new(env!("CARGO_BIN_EXE_octofeed")).args(&args).output())
        .await
        .expect("joined")
        .expect("octofeed runs")
}

#[tokio::test]
async fn preview_and_detect_render_with_the_browser_when_asked() {
    if !have_browser("preview_and_detect_render_with_the_browser_when_asked") {
        return;
    }
    let server = harbour().await;
    let dir = tempfile::tempdir().expect("a folder");
    let config = dir.path().join("octofeed.toml");
    let toml = format!(
        "{}{}{}",
        site_table("allow_private = true"),
        source("rendered", &server, "/news", "fetch = \"browser\""),
        source("plain", &server, "/news", ""),
    );
    std::fs::write(&config, toml).expect("a config");
    let config = config.display().to_string();
    let count = |output: &std::process::Output| {
        assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
        let items: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        items.as_array().expect("items").len()
    };
    let args = |list: &[&str]| list.iter().map(|arg| arg.to_string()).collect::<Vec<_>>();
    assert_eq!(
        count(&octofeed(args(&["preview", "-c", &config, "rendered", "--json"])).await),
        9,
        "the source's own fetch"
    );
    let plain = octofeed(args(&["preview", "-c", &config, "plain", "--json"])).await;
    assert_eq!(plain.status.code(), Some(1), "a plain preview sees no item");
    assert_eq!(count(&octofeed(args(&["preview", "-c", &config, "plain", "--json", "--browser"])).await), 9);

    let page = format!("{}/news", server.uri());
    let detected = octofeed(args(&["detect", "--browser", "--offline", "--json", "-c", &config, &page])).await;
    assert_eq!(detected.status.code(), Some(0), "{}", String::from_utf8_lossy(&detected.stderr));
    let found: serde_json::Value = serde_json::from_slice(&detected.stdout).expect("JSON");
    assert_eq!(found["items"].as_array().expect("items").len(), 9, "{found}");
    assert_eq!(found["source"]["select"]["item"], "#events > li.event", "{found}");
}

#[tokio::test]
async fn a_remote_browser_named_by_browser_url_is_used_instead_of_starting_one() {
    if !have_browser("a_remote_browser_named_by_browser_url_is_used_instead_of_starting_one") {
        return;
    }
    let server = harbour().await;
    let profile = tempfile::tempdir().expect("a profile folder");
    // A browser service, as a deployment would run it: started here, outside octofeed.
    let mut service = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        .args(["--disable-component-update", "--disable-sync", "--remote-debugging-port=0"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let stderr = std::io::BufReader::new(service.stderr.take().expect("piped"));
    let endpoint = std::io::BufRead::lines(stderr)
        .map_while(Result::ok)
        .find_map(|line| line.split_once("DevTools listening on ").map(|(_, ws)| ws.trim().to_string()))
        .expect("the service's DevTools address");
    let toml = format!(
        "{}{}",
        site_table(&format!("allow_private = true\nbrowser = \"/nonexistent/chromium\"\nbrowser_url = \"{endpoint}\"")),
        source("rendered", &server, "/news", "fetch = \"browser\""),
    );
    let site = Site::new(&toml);
    let run = site.run_at(common::fixed_now()).await;
    let _ = service.kill();
    let _ = service.wait();
    assert_eq!(report(&run, "rendered").status, Status::Ok, "{:?}", report(&run, "rendered"));
    assert_eq!(titles(&site, "rendered"), 9);
}

#[tokio::test]
async fn robots_txt_holds_and_article_pages_are_rendered_too() {
    if !have_browser("robots_txt_holds_and_article_pages_are_rendered_too") {
        return;
    }
    let server = harbour().await;
    let robots = "User-agent: *\nDisallow: /news-more\n";
    Mock::given(path("/robots.txt"))
        .respond_with(ResponseTemplate::new(200).set_body_string(robots))
        .mount(&server)
        .await;
    // Every article page is a page built by script too (the listing page, standing in for one).
    Mock::given(wiremock::matchers::path_regex("^/news/.+"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(common::fixture_bytes("browser/listing.html"), "text/html"),
        )
        .mount(&server)
        .await;
    let with_robots =
        |id: &str, route: &str, extra: &str| source(id, &server, route, extra).replace("robots = false\n", "");
    let toml = format!(
        "{}{}{}",
        site_table("allow_private = true"),
        with_robots("disallowed", "/news-more", "fetch = \"browser\""),
        with_robots("articles", "/news", "fetch = \"browser\"\nmax_items = 2\nmax_items_per_page = 2")
            + "[source.detail]\ncontent = \"#events\"\n",
    );
    let site = Site::new(&toml);
    let run = site.run_at(common::fixed_now()).await;
    let error = failure(&run, "disallowed");
    assert!(error.contains("robots.txt"), "{error}");
    assert_eq!(report(&run, "articles").status, Status::Ok, "{:?}", report(&run, "articles"));
    let feed = site.json_feed("articles");
    for item in feed["items"].as_array().expect("items") {
        let content = item["content_html"].as_str().unwrap_or_default();
        assert!(content.contains("Lighthouse tours resume"), "the article's scripted content: {item}");
    }
    let asked = server.received_requests().await.unwrap_or_default();
    assert!(!asked.iter().any(|request| request.url.path() == "/news-more"), "a disallowed page is never opened");
}

#[tokio::test]
async fn a_browser_that_crashes_fails_its_page_and_the_next_page_gets_a_new_one() {
    if !have_browser("a_browser_that_crashes_fails_its_page_and_the_next_page_gets_a_new_one") {
        return;
    }
    let server = harbour().await;
    let dir = tempfile::tempdir().expect("a folder");
    let toml = format!(
        "{}{}{}",
        site_table("allow_private = true\nconcurrency = 1"),
        source("crashes", &server, "/hangs", "fetch = \"browser\"\n[source.browser]\ntimeout = \"15s\""),
        source("after", &server, "/news", "fetch = \"browser\""),
    );
    let config = dir.path().join("octofeed.toml");
    std::fs::write(&config, toml).expect("a config");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("a temp folder");
    let marker = tmp.display().to_string();
    let run = Command::new(env!("CARGO_BIN_EXE_octofeed"))
        .args(["run", "--json", "-c", config.to_str().expect("utf-8")])
        .env("TMPDIR", &tmp)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("octofeed starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut browser = Vec::new();
    while browser.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        browser = processes_mentioning(&marker);
    }
    assert!(!browser.is_empty(), "the browser started");
    std::thread::sleep(Duration::from_millis(800));
    for (pid, _) in processes_mentioning(&marker) {
        // SAFETY: kill(2) on the browser this test's octofeed started: the crash.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let output =
        tokio::task::spawn_blocking(move || run.wait_with_output()).await.expect("joined").expect("octofeed ends");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the run's JSON");
    let sources = report["sources"].as_array().expect("sources");
    let status = |id: &str| sources.iter().find(|s| s["id"] == id).map(|s| (s["status"].clone(), s["error"].clone()));
    let (crashed, error) = status("crashes").expect("the crashed source");
    assert_eq!(crashed, "failed");
    assert!(error.as_str().is_some_and(|e| e.contains("browser")), "{error}");
    assert_eq!(status("after").expect("the next source").0, "ok", "{report}");
    if let Err(left) = gone(&marker) {
        panic!("Chromium processes outlived octofeed: {left:#?}");
    }
}
