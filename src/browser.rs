//! Fetch stage, for pages that build their content with JavaScript: one real
//! Chromium, driven over the DevTools protocol (`chromiumoxide`), renders a
//! page and gives back its HTML, which then goes through the same extraction
//! as a plain fetch.
//!
//! The browser is started only when a source needs it, once per run (or per
//! `serve` process), with at most `concurrency` tabs. We start the process
//! ourselves rather than letting the driver do it, so that it runs in a
//! process group of its own and gets SIGKILL when octofeed dies, however it
//! dies: no orphan Chromium survives a run, a SIGTERM or a SIGKILL. Images,
//! fonts and media are refused inside the browser. A page that never shows
//! `wait_for` fails naming the selector; a browser that stops answering is
//! killed and started again for the next page.
//!
//! It renders; it does not decide politeness (the fetcher holds the host slot
//! and checks robots.txt before calling it) or parse anything.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chromiumoxide::browser::Browser as Driver;
use chromiumoxide::cdp::browser_protocol::fetch::{
    EnableParams as InterceptParams, EventRequestPaused, FailRequestParams, RequestPattern,
};
use chromiumoxide::cdp::browser_protocol::network::{ErrorReason, ResourceType};
use futures::StreamExt;
use tokio::sync::{Mutex, Semaphore};
use url::Url;

use crate::config::BrowserRules;

/// Chromium's flags: headless, no first-run or background traffic (a closed
/// network refuses it, many connections at a time), a throwaway profile.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--mute-audio",
    "--remote-debugging-port=0",
];
/// Executables looked for on `PATH` when `[site] browser` names none.
const CANDIDATES: &[&str] = &["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
/// How long a starting browser may take to say where its DevTools endpoint is.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How often `wait_for` is looked for, and how long a scroll or click is given to load more.
const POLL: Duration = Duration::from_millis(100);
const SETTLE: Duration = Duration::from_millis(700);
/// Time allowed, past the page's `timeout`, to read its HTML and close its tab.
const READ_RESERVE: Duration = Duration::from_secs(5);

/// Why a page could not be rendered.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrowserError {
    #[error(
        "no browser to render {url} with: {reason}. Install Chromium (Debian: `apt-get install chromium`), \
         name it with `[site] browser = \"/path/to/chromium\"`, or point `[site] browser_url` at a browser service"
    )]
    NotInstalled { url: Url, reason: String },
    #[error("the browser failed on {url}: {reason}")]
    Failed { url: Url, reason: String },
    #[error(
        "{url} showed nothing matching `{selector}` within {waited:?} in the browser: the page layout may have changed"
    )]
    NeverMatched { url: Url, selector: String, waited: Duration },
    #[error("the browser took longer than {after:?} to render {url}; it was stopped")]
    TooSlow { url: Url, after: Duration },
}

impl BrowserError {
    /// The page the error is about.
    pub fn url(&self) -> &Url {
        match self {
            BrowserError::NotInstalled { url, .. }
            | BrowserError::Failed { url, .. }
            | BrowserError::NeverMatched { url, .. }
            | BrowserError::TooSlow { url, .. } => url,
        }
    }
}

/// Where the browser comes from.
#[derive(Debug, Clone)]
pub enum Launch {
    /// An executable to start (`[site] browser`, or the first of [`CANDIDATES`] on `PATH`).
    Local(Option<PathBuf>),
    /// A running browser's DevTools WebSocket (`[site] browser_url`).
    Remote(Url),
}

/// What one page is rendered with.
#[derive(Debug, Clone)]
pub struct RenderRequest<'a> {
    pub url: &'a Url,
    pub rules: &'a BrowserRules,
    /// Wait for this selector when `rules.wait_for` names none (the source's `item`).
    pub default_wait_for: Option<&'a str>,
    pub user_agent: &'a str,
}

/// Fetches `request`'s page plainly, or, with `rendering`, renders it in a
/// browser started for this one page (the commands that read one page).
pub async fn fetch_one(
    fetcher: &crate::fetch::Fetcher,
    request: &crate::fetch::Request<'_>,
    rendering: Option<(&Launch, &BrowserRules, Option<&str>)>,
) -> Result<crate::fetch::Fetched, crate::fetch::FetchError> {
    let Some((launch, rules, default_wait_for)) = rendering else {
        return fetcher.fetch(request).await;
    };
    let pool = BrowserPool::new(launch.clone(), 1);
    let how = RenderRequest { url: request.url, rules, default_wait_for, user_agent: fetcher.user_agent() };
    fetcher.render(request, &pool, &how).await
}

/// The browser of a run: started on first use, shared by every source, at
/// most `tabs` pages at once.
pub struct BrowserPool {
    launch: Launch,
    tabs: Semaphore,
    running: Mutex<Option<Arc<Running>>>,
}

impl BrowserPool {
    pub fn new(launch: Launch, tabs: usize) -> BrowserPool {
        BrowserPool { launch, tabs: Semaphore::new(tabs.max(1)), running: Mutex::new(None) }
    }

    /// Renders one page and returns its HTML after scripts ran, `wait_for`
    /// matched, and the scrolls and clicks asked for were made.
    pub async fn render(&self, request: &RenderRequest<'_>) -> Result<String, BrowserError> {
        let _tab = self.tabs.acquire().await.expect("the tab semaphore is never closed");
        let running = self.running(request.url).await?;
        // `timeout` bounds the wait for `wait_for`; scrolls, clicks and reading the page come on top.
        let rules = request.rules;
        let timeout = rules.timeout + SETTLE * (rules.scroll + rules.clicks) + READ_RESERVE;
        let mut closed = running.closed.clone();
        let rendering = async {
            tokio::select! {
                outcome = render_in(&running.driver, request) => outcome,
                _ = closed.wait_for(|closed| *closed) => Err(BrowserError::Failed {
                    url: request.url.clone(),
                    reason: "the browser exited or closed its connection".into(),
                }),
            }
        };
        match tokio::time::timeout(timeout, rendering).await {
            Ok(Err(BrowserError::Failed { url, reason })) => {
                // The connection or the browser broke: the next page starts a new one.
                self.forget(&running).await;
                Err(BrowserError::Failed { url, reason })
            }
            Ok(outcome) => outcome,
            Err(_) => {
                // A page still loading is stopped with its tab; a browser that does not answer is replaced.
                self.forget(&running).await;
                Err(BrowserError::TooSlow { url: request.url.clone(), after: timeout })
            }
        }
    }

    /// The running browser, started or connected now if there is none.
    async fn running(&self, url: &Url) -> Result<Arc<Running>, BrowserError> {
        let mut running = self.running.lock().await;
        if let Some(browser) = running.as_ref() {
            return Ok(browser.clone());
        }
        let started = Arc::new(Running::start(&self.launch, url).await?);
        *running = Some(started.clone());
        Ok(started)
    }

    /// Drops `broken` so the next render starts afresh (its process is killed when the last tab lets go).
    async fn forget(&self, broken: &Arc<Running>) {
        let mut running = self.running.lock().await;
        if running.as_ref().is_some_and(|current| Arc::ptr_eq(current, broken)) {
            *running = None;
        }
    }
}

/// A connected browser, and the process when we started it.
struct Running {
    driver: Driver,
    handler: tokio::task::JoinHandle<()>,
    /// Becomes true when the DevTools connection ends: the browser crashed or went away.
    closed: tokio::sync::watch::Receiver<bool>,
    /// Held only to be killed, with its whole group, when the last tab lets go.
    _process: Option<Process>,
}

impl Running {
    async fn start(launch: &Launch, url: &Url) -> Result<Running, BrowserError> {
        let (endpoint, process) = match launch {
            Launch::Remote(endpoint) => (endpoint.to_string(), None),
            Launch::Local(path) => {
                let executable = executable(path.as_deref())
                    .map_err(|reason| BrowserError::NotInstalled { url: url.clone(), reason })?;
                let (process, endpoint) = Process::spawn(&executable).map_err(|reason| BrowserError::NotInstalled {
                    url: url.clone(),
                    reason: format!("{} could not be started: {reason}", executable.display()),
                })?;
                (endpoint, Some(process))
            }
        };
        let (driver, mut events) = Driver::connect(endpoint.clone()).await.map_err(|error| BrowserError::Failed {
            url: url.clone(),
            reason: format!("connecting to {endpoint}: {error}"),
        })?;
        let (close, closed) = tokio::sync::watch::channel(false);
        let handler = tokio::spawn(async move {
            // The stream ends, or fails at the WebSocket or socket level, when the browser goes away.
            while let Some(event) = events.next().await {
                match event {
                    Err(chromiumoxide::error::CdpError::Ws(_) | chromiumoxide::error::CdpError::Io(_)) => break,
                    Err(error) => tracing::debug!(%error, "browser event"),
                    Ok(()) => {}
                }
            }
            let _ = close.send(true);
        });
        tracing::debug!(%endpoint, "browser ready");
        Ok(Running { driver, handler, closed, _process: process })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handler.abort();
    }
}

/// A browser process we started: its own process group, killed as a whole.
struct Process {
    child: Child,
    /// The throwaway profile, removed after the browser is gone.
    _profile: tempfile::TempDir,
}

impl Process {
    /// Starts `executable` and reads the DevTools endpoint it announces.
    fn spawn(executable: &Path) -> Result<(Process, String), String> {
        let profile = tempfile::tempdir().map_err(|error| format!("no folder for its profile: {error}"))?;
        let mut command = Command::new(executable);
        command
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                // Its own group, so the whole browser (renderers, GPU, zygote) is killed at once;
                // and SIGKILL when the thread that started it (a runtime worker, alive as long as
                // the runtime) or octofeed itself dies, even by SIGKILL.
                if libc::setpgid(0, 0) != 0 || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|error| error.to_string())?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let (found, announced) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                match line.split_once("DevTools listening on ") {
                    Some((_, endpoint)) => {
                        if let Some(found) = found.take() {
                            let _ = found.send(endpoint.trim().to_string());
                        }
                    }
                    None => tracing::trace!(browser = %line),
                }
            }
        });
        let mut process = Process { child, _profile: profile };
        match announced.recv_timeout(START_TIMEOUT) {
            Ok(endpoint) => Ok((process, endpoint)),
            Err(_) => {
                let status = process.child.try_wait().ok().flatten();
                Err(match status {
                    Some(status) => format!("it exited ({status}) before opening its DevTools endpoint"),
                    None => format!("it did not open its DevTools endpoint within {START_TIMEOUT:?}"),
                })
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let group = -(self.child.id() as libc::pid_t);
        // SAFETY: kill(2) on our own child's process group.
        unsafe {
            libc::kill(group, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// `configured`, or the first browser found on `PATH`.
fn executable(configured: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = configured {
        return if path.is_file() { Ok(path.to_path_buf()) } else { Err(format!("{} does not exist", path.display())) };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|folder| CANDIDATES.iter().map(move |name| folder.join(name)))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| format!("none of {} is on PATH", CANDIDATES.join(", ")))
}

/// One page in a new tab, closed afterwards whatever happened.
async fn render_in(driver: &Driver, request: &RenderRequest<'_>) -> Result<String, BrowserError> {
    let url = request.url;
    let failed = |what: &str, error: chromiumoxide::error::CdpError| BrowserError::Failed {
        url: url.clone(),
        reason: format!("{what}: {error}"),
    };
    let page = driver.new_page("about:blank").await.map_err(|error| failed("opening a tab", error))?;
    let outcome = async {
        page.set_user_agent(request.user_agent).await.map_err(|error| failed("setting the user agent", error))?;
        refuse_heavy_resources(&page).await.map_err(|error| failed("blocking images and fonts", error))?;
        page.goto(url.as_str()).await.map_err(|error| failed("loading the page", error))?;
        match request.rules.wait_for.as_deref().or(request.default_wait_for) {
            Some(selector) => wait_until_matched(&page, url, selector, request.rules.timeout).await?,
            // Nothing to wait for (an article, a page being detected): give the scripts a moment.
            None => tokio::time::sleep(SETTLE * 2).await,
        }
        for _ in 0..request.rules.scroll {
            evaluate(&page, "window.scrollTo(0, document.body.scrollHeight)").await.map_err(|e| failed("scrolling", e))?;
            tokio::time::sleep(SETTLE).await;
        }
        if let Some(button) = &request.rules.click {
            let click = format!(
                "(() => {{ const b = document.querySelector({}); if (!b || b.disabled) return false; b.click(); return true; }})()",
                serde_json::Value::String(button.clone())
            );
            for _ in 0..request.rules.clicks {
                let clicked = page.evaluate(click.as_str()).await.map_err(|e| failed("clicking", e))?;
                if clicked.into_value::<bool>().ok() != Some(true) {
                    break;
                }
                tokio::time::sleep(SETTLE).await;
            }
        }
        page.content().await.map_err(|error| failed("reading the page", error))
    }
    .await;
    let _ = page.close().await;
    outcome
}

/// Images, fonts and media are failed inside the browser: a listing needs none of them.
async fn refuse_heavy_resources(page: &chromiumoxide::Page) -> Result<(), chromiumoxide::error::CdpError> {
    let patterns = [ResourceType::Image, ResourceType::Font, ResourceType::Media]
        .into_iter()
        .map(|kind| RequestPattern::builder().resource_type(kind).build());
    let mut paused = page.event_listener::<EventRequestPaused>().await?;
    page.execute(InterceptParams::builder().patterns(patterns).build()).await?;
    let page = page.clone();
    tokio::spawn(async move {
        while let Some(event) = paused.next().await {
            let refuse = FailRequestParams::new(event.request_id.clone(), ErrorReason::BlockedByClient);
            if page.execute(refuse).await.is_err() {
                break;
            }
        }
    });
    Ok(())
}

async fn evaluate(page: &chromiumoxide::Page, script: &str) -> Result<(), chromiumoxide::error::CdpError> {
    page.evaluate(script).await.map(|_| ())
}

/// Polls until `selector` matches an element, up to `timeout`.
async fn wait_until_matched(
    page: &chromiumoxide::Page,
    url: &Url,
    selector: &str,
    timeout: Duration,
) -> Result<(), BrowserError> {
    let probe = format!("document.querySelector({}) !== null", serde_json::Value::String(selector.to_string()));
    let started = tokio::time::Instant::now();
    loop {
        let found = page.evaluate(probe.as_str()).await.map_err(|error| BrowserError::Failed {
            url: url.clone(),
            reason: format!("looking for `{selector}`: {error}"),
        })?;
        if found.into_value::<bool>().ok() == Some(true) {
            return Ok(());
        }
        if started.elapsed() + POLL >= timeout {
            return Err(BrowserError::NeverMatched {
                url: url.clone(),
                selector: selector.to_string(),
                waited: started.elapsed(),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}
