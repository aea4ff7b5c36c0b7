//! Config stage: reads `octofeed.toml` once into typed values (URLs, compiled
//! selectors and regexes, durations, time zones) and reports every problem at
//! once with its file and line.
//!
//! It does not fetch anything or check that `file:` sources exist: a missing
//! page is a fetch error of that source, not a config error.

mod reader;
mod rules;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono_tz::Tz;
use regex::Regex;
use toml::Spanned;
use toml::de::DeTable;
use url::Url;

pub use reader::ConfigError;
pub use rules::{Css, FieldRule, FieldRules, Paginate, SelectRules, Selection};

use reader::{Diagnostics, Table};

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub site: Site,
    pub sources: Vec<Source>,
    pub channels: Vec<Channel>,
    /// `[[webhook]]`s: receivers of each new item.
    pub webhooks: Vec<Webhook>,
}

/// One `[[webhook]]`: a receiver that gets one signed POST per new item of
/// the feeds it names (every source's when it names none).
#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: Url,
    /// The key of the HMAC-SHA256 signature of each body.
    pub secret: String,
    /// Source ids whose new items it gets.
    pub sources: Vec<String>,
    /// Channel ids whose new items it gets (filtered and merged as the channel is).
    pub channels: Vec<String>,
}

/// `[site]`: what is shared by every feed and every fetch.
#[derive(Debug, Clone)]
pub struct Site {
    pub title: String,
    /// Where the output folder is served; self links are built on it.
    pub base_url: Option<Url>,
    /// Where feeds are published: `output_dir`, or the bucket of `output = "s3://..."`.
    pub output: crate::output::OutputLocation,
    /// The SQLite file or the PostgreSQL database.
    pub store: crate::store::Location,
    pub user_agent: String,
    /// Sources fetched at once.
    pub concurrency: usize,
    /// Connections at once to one host.
    pub per_host: usize,
    /// Minimum time between two requests to one host.
    pub host_delay: Duration,
    /// Largest body accepted, in bytes.
    pub max_body: u64,
    /// Retries after a connection error, a 5xx or a 429.
    pub retries: u32,
    /// How long a run waits for another run to release the store.
    pub lock_timeout: Duration,
    /// How long a worker on a shared store holds a source it claimed (renewed
    /// while it refreshes it); a worker that dies loses it after this.
    pub lease: Duration,
    /// Let pages, feeds and redirects lead to loopback, private and link-local
    /// addresses of hosts the config does not name (intranet use).
    pub allow_private: bool,
    /// A WebSub hub: feeds name it (`rel="hub"`) and it is pinged after each change.
    pub websub_hub: Option<Url>,
    /// The browser for `fetch = "browser"` sources: an executable to start, or a
    /// running browser's DevTools address.
    pub browser: crate::browser::Launch,
}

/// One `[[source]]`, with `[defaults]` applied.
#[derive(Debug, Clone)]
pub struct Source {
    pub id: String,
    pub title: String,
    pub url: Url,
    /// The address the page stands for, when `url` is a saved copy (`file:`):
    /// relative links resolve against it and feeds link to it.
    pub page_url: Option<Url>,
    pub kind: SourceKind,
    pub language: Option<String>,
    pub interval: Duration,
    pub max_items: usize,
    pub timezone: Tz,
    pub timeout: Duration,
    /// Honour the site's robots.txt.
    pub robots: bool,
    /// Entries read from one page or feed; the rest are dropped with a warning.
    pub max_items_per_page: usize,
    /// How its pages are fetched: plainly, or rendered by a browser.
    pub fetch: FetchMode,
}

/// `fetch`: how a source's pages are fetched.
#[derive(Debug, Clone)]
pub enum FetchMode {
    /// One HTTP request per page (or a `file:` read).
    Plain,
    /// Rendered by a real browser (`fetch = "browser"`, `[source.browser]`).
    Browser(BrowserRules),
}

impl BrowserRules {
    /// What a page is rendered with when nothing is configured: wait for the
    /// default selector (if any) up to `timeout`, no scrolls, no clicks.
    pub fn with_timeout(timeout: Duration) -> BrowserRules {
        BrowserRules { wait_for: None, timeout, scroll: 0, click: None, clicks: DEFAULT_CLICKS }
    }
}

/// `[source.browser]`.
#[derive(Debug, Clone)]
pub struct BrowserRules {
    /// Wait until this selector matches; `None`: the source's `item` selector.
    pub wait_for: Option<String>,
    /// How long a page may take to show `wait_for`.
    pub timeout: Duration,
    /// Scroll to the bottom this many times, to load more.
    pub scroll: u32,
    /// A "load more" button to click, up to `clicks` times.
    pub click: Option<String>,
    pub clicks: u32,
}

/// What a source reads.
#[derive(Debug, Clone)]
pub enum SourceKind {
    /// A web page scraped with selectors.
    Html(Box<HtmlRules>),
    /// An RSS, Atom or JSON feed.
    Feed,
}

/// The rules of an `html` source.
#[derive(Debug, Clone)]
pub struct HtmlRules {
    pub select: Selection,
    pub detail: Option<FieldRules>,
    pub paginate: Option<Paginate>,
}

impl HtmlRules {
    /// The rules as the config wrote them, as one text: a fingerprint input
    /// that changes when the config does and not when a dependency does.
    pub fn written(&self) -> String {
        let select = match &self.select {
            Selection::Rules(rules) => format!("item={}\n{}", rules.item.text, rules.fields.written()),
            Selection::Auto => "auto\n".to_string(),
        };
        let detail = self.detail.as_ref().map(FieldRules::written).unwrap_or_default();
        let paginate = self.paginate.as_ref().map(|p| format!("{}|{}", p.next.text, p.max_pages)).unwrap_or_default();
        format!("[select]\n{select}[detail]\n{detail}[paginate]\n{paginate}\n")
    }
}

/// One `[[channel]]`: an aggregated feed over several sources.
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: String,
    pub title: String,
    pub sources: Vec<String>,
    pub include: Vec<Matcher>,
    pub exclude: Vec<Matcher>,
    pub max_items: usize,
}

/// A channel filter: a word (case-insensitive substring) or, with a `re:` prefix, a regex.
#[derive(Debug, Clone)]
pub enum Matcher {
    Word(String),
    Regex(Regex),
}

impl std::fmt::Display for Matcher {
    /// As the config writes it: the word, or `re:` and the pattern.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Matcher::Word(word) => f.write_str(word),
            Matcher::Regex(regex) => write!(f, "re:{}", regex.as_str()),
        }
    }
}

impl Matcher {
    /// Whether `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        match self {
            Matcher::Word(word) => text.to_lowercase().contains(word),
            Matcher::Regex(regex) => regex.is_match(text),
        }
    }
}

/// Every problem found in a config file.
#[derive(Debug, thiserror::Error)]
#[error("{}", render_errors(.0))]
pub struct ConfigErrors(pub Vec<ConfigError>);

fn render_errors(errors: &[ConfigError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

/// `[source.browser]` as written; its `timeout` defaults to the source's.
#[derive(Debug, Clone, Default)]
struct BrowserTable {
    wait_for: Option<String>,
    timeout: Option<Duration>,
    scroll: Option<u32>,
    click: Option<String>,
    clicks: Option<u32>,
}

/// Clicks on a `click` button when `clicks` is not given.
const DEFAULT_CLICKS: u32 = 5;

fn read_browser_table(mut table: Table, diag: &mut Diagnostics) -> BrowserTable {
    let name = table.name.clone();
    let selector = |key: &'static str, table: &mut Table, diag: &mut Diagnostics| {
        let text = table.string(key, diag)?;
        match scraper::Selector::parse(text.get_ref()) {
            Ok(_) => Some(text.into_inner()),
            Err(error) => {
                diag.error(text.span(), format!("bad CSS selector `{}` in `{name}.{key}`: {error}", text.get_ref()));
                None
            }
        }
    };
    let wait_for = selector("wait_for", &mut table, diag);
    let click = selector("click", &mut table, diag);
    let browser = BrowserTable {
        wait_for,
        timeout: duration(&mut table, "timeout", bounds::TIMEOUT, diag),
        scroll: table.bounded("scroll", bounds::SCROLLS, diag).map(|n| n as u32),
        click,
        clicks: table.bounded("clicks", bounds::CLICKS, diag).map(|n| n as u32),
    };
    table.finish(diag);
    browser
}

/// The settings a source may take from `[defaults]`.
#[derive(Debug, Clone, Default)]
struct SourceSettings {
    kind: Option<Spanned<String>>,
    language: Option<String>,
    interval: Option<Duration>,
    max_items: Option<usize>,
    timezone: Option<Tz>,
    timeout: Option<Duration>,
    robots: Option<bool>,
    max_items_per_page: Option<usize>,
    /// `fetch = "browser"` (true) or `"plain"`.
    fetch_browser: Option<bool>,
    browser: Option<BrowserTable>,
    select: Option<Selection>,
    detail: Option<FieldRules>,
    paginate: Option<Paginate>,
}

impl SourceSettings {
    fn or(self, defaults: &SourceSettings) -> SourceSettings {
        let defaults = defaults.clone();
        SourceSettings {
            kind: self.kind.or(defaults.kind),
            language: self.language.or(defaults.language),
            interval: self.interval.or(defaults.interval),
            max_items: self.max_items.or(defaults.max_items),
            timezone: self.timezone.or(defaults.timezone),
            timeout: self.timeout.or(defaults.timeout),
            robots: self.robots.or(defaults.robots),
            max_items_per_page: self.max_items_per_page.or(defaults.max_items_per_page),
            fetch_browser: self.fetch_browser.or(defaults.fetch_browser),
            browser: self.browser.or(defaults.browser),
            select: self.select.or(defaults.select),
            detail: self.detail.or(defaults.detail),
            paginate: self.paginate.or(defaults.paginate),
        }
    }
}

const DEFAULT_INTERVAL: Duration = Duration::from_secs(6 * 3600);
const DEFAULT_MAX_ITEMS: usize = 100;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Entries read from one page or feed when `max_items_per_page` is not set.
pub const DEFAULT_MAX_ITEMS_PER_PAGE: usize = 5_000;

/// The bounds every number and duration is checked against at load, so no value
/// that `check` accepts can overflow a clock, a semaphore or a loop later.
mod bounds {
    use std::ops::RangeInclusive;
    use std::time::Duration;

    const MINUTE: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);
    const YEAR: Duration = Duration::from_secs(366 * 24 * 3600);

    pub const CONCURRENCY: RangeInclusive<u64> = 1..=1024;
    pub const PER_HOST: RangeInclusive<u64> = 1..=64;
    pub const RETRIES: RangeInclusive<u64> = 0..=10;
    pub const MAX_ITEMS: RangeInclusive<u64> = 1..=100_000;
    pub const MAX_ITEMS_PER_PAGE: RangeInclusive<u64> = 1..=1_000_000;
    pub const MAX_PAGES: RangeInclusive<u64> = 1..=100;
    pub const SCROLLS: RangeInclusive<u64> = 0..=50;
    pub const CLICKS: RangeInclusive<u64> = 1..=50;
    pub const MAX_BODY: RangeInclusive<u64> = 1024..=1024 * 1024 * 1024;
    pub const HOST_DELAY: RangeInclusive<Duration> = Duration::ZERO..=HOUR;
    pub const LOCK_TIMEOUT: RangeInclusive<Duration> = Duration::ZERO..=HOUR;
    pub const LEASE: RangeInclusive<Duration> = Duration::from_secs(1)..=HOUR;
    pub const TIMEOUT: RangeInclusive<Duration> = Duration::from_secs(1)..=HOUR;
    /// `interval` below a minute needs `--force`.
    pub const INTERVAL: RangeInclusive<Duration> = MINUTE..=YEAR;
    pub const FORCED_INTERVAL: RangeInclusive<Duration> = Duration::from_secs(1)..=YEAR;
}

/// How strictly a config is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Accept an `interval` under one minute (`--force`).
    pub force: bool,
}

impl Config {
    /// Reads and checks the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        Config::load_with(path, LoadOptions::default())
    }

    /// Reads and checks the config at `path` as `options` say.
    pub fn load_with(path: &Path, options: LoadOptions) -> Result<Config, ConfigErrors> {
        let error_at = |line: usize, column: usize, message: String| {
            ConfigErrors(vec![ConfigError { file: path.to_path_buf(), line, column, message }])
        };
        let bytes = std::fs::read(path).map_err(|error| error_at(0, 0, format!("cannot read config: {error}")))?;
        let text = String::from_utf8(bytes).map_err(|error| {
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&byte| byte == b'\n').count() + 1;
            let column =
                valid.len() - valid.iter().rposition(|&byte| byte == b'\n').map_or(0, |newline| newline + 1) + 1;
            error_at(line, column, "the config is not valid UTF-8 here: save it as UTF-8".into())
        })?;
        Config::parse_with(path, &text, options)
    }

    /// Checks config `text` as if read from `path` (relative paths resolve against its folder).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
        Config::parse_with(path, text, LoadOptions::default())
    }

    /// [`Config::parse`] as `options` say.
    pub fn parse_with(path: &Path, text: &str, options: LoadOptions) -> Result<Config, ConfigErrors> {
        let mut diag = Diagnostics::new(path, text);
        diag.force = options.force;
        let (document, syntax_errors) = DeTable::parse_recoverable(text);
        for error in &syntax_errors {
            diag.error(error.span().unwrap_or(0..0), format!("invalid TOML: {}", error.message()));
        }
        if diag.has_errors() {
            return Err(ConfigErrors(diag.into_errors()));
        }
        let folder = path.parent().unwrap_or(Path::new("."));
        let mut root = Table::new(document.get_ref(), document.span(), "config");
        let config = read_config(&mut root, folder, path, &mut diag);
        root.finish(&mut diag);
        match config {
            Some(config) if !diag.has_errors() => Ok(config),
            _ => Err(ConfigErrors(diag.into_errors())),
        }
    }

    /// The source with this id.
    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|source| source.id == id)
    }
}

impl Source {
    /// The URL relative links resolve against and feeds point readers to.
    pub fn home_page(&self) -> &Url {
        self.page_url.as_ref().unwrap_or(&self.url)
    }

    /// Whether `url` is a local file in the folder of this source's saved page
    /// (`url = "file:..."`): the only local files a page may lead to, as its next pages.
    pub fn is_beside_saved_page(&self, url: &Url) -> bool {
        let (Ok(page), Ok(other)) = (self.url.to_file_path(), url.to_file_path()) else {
            return false;
        };
        page.parent().is_some_and(|folder| other.starts_with(folder))
    }

    /// What the first listing page's links resolve against: the page it stands
    /// for (`page_url`, for saved copies), else the URL it was finally fetched from.
    pub fn listing_base(&self, fetched_from: &Url) -> Url {
        self.page_url.clone().unwrap_or_else(|| fetched_from.clone())
    }
}

fn read_config(root: &mut Table, folder: &Path, path: &Path, diag: &mut Diagnostics) -> Option<Config> {
    let site = match root.table("site", diag) {
        Some(table) => read_site(table, folder, diag),
        None => {
            diag.error(0..0, "missing `[site]` table (it needs at least `title`)");
            None
        }
    };
    let defaults = match root.table("defaults", diag) {
        Some(mut table) => {
            let settings = read_settings(&mut table, diag);
            table.finish(diag);
            settings
        }
        None => SourceSettings::default(),
    };
    let sources: Vec<Source> = root
        .tables("source", diag)
        .into_iter()
        .filter_map(|table| read_source(table, &defaults, folder, diag))
        .collect();
    if sources.is_empty() && !root.contains("source") {
        diag.error(0..0, "no `[[source]]` configured: add at least one");
    }
    let default_max_items = defaults.max_items.unwrap_or(DEFAULT_MAX_ITEMS);
    let channels: Vec<Channel> = root
        .tables("channel", diag)
        .into_iter()
        .filter_map(|table| read_channel(table, &sources, default_max_items, diag))
        .collect();
    let webhooks: Vec<Webhook> = root
        .tables("webhook", diag)
        .into_iter()
        .enumerate()
        .filter_map(|(index, table)| read_webhook(table, index, &sources, &channels, diag))
        .collect();
    check_unique_ids(root, diag);
    Some(Config { path: path.to_path_buf(), site: site?, sources, channels, webhooks })
}

fn read_webhook(
    mut table: Table,
    index: usize,
    sources: &[Source],
    channels: &[Channel],
    diag: &mut Diagnostics,
) -> Option<Webhook> {
    table.name = format!("webhook #{}", index + 1);
    let url = table.string("url", diag);
    if url.is_none() {
        diag.error(table.span(), format!("`{}` needs a `url`", table.name));
    }
    let url = url.and_then(|text| http_url(&text, "webhook.url", diag));
    let secret = table.string("secret", diag);
    match &secret {
        None => diag.error(table.span(), format!("`{}` needs a `secret` to sign its deliveries", table.name)),
        Some(secret) if secret.get_ref().trim().is_empty() => {
            diag.error(secret.span(), format!("`{}.secret` must not be empty", table.name));
        }
        Some(_) => {}
    }
    let named = |key: &'static str, table: &mut Table, diag: &mut Diagnostics, known: &dyn Fn(&str) -> bool| {
        let names = table.strings(key, diag).unwrap_or_default();
        for name in &names {
            if !known(name.get_ref()) {
                let what = if key == "sources" { "source" } else { "channel" };
                diag.error(name.span(), format!("`{}` names unknown {what} \"{}\"", table.name, name.get_ref()));
            }
        }
        names.into_iter().map(Spanned::into_inner).collect::<Vec<String>>()
    };
    let webhook_sources = named("sources", &mut table, diag, &|id| sources.iter().any(|source| source.id == id));
    let webhook_channels = named("channels", &mut table, diag, &|id| channels.iter().any(|channel| channel.id == id));
    table.finish(diag);
    Some(Webhook { url: url?, secret: secret?.into_inner(), sources: webhook_sources, channels: webhook_channels })
}

fn read_site(mut table: Table, folder: &Path, diag: &mut Diagnostics) -> Option<Site> {
    let title = table.string("title", diag);
    if title.is_none() {
        diag.error(table.span(), "`[site]` needs a `title`");
    }
    let base_url = table.string("base_url", diag).and_then(|text| {
        let url = http_url(&text, "site.base_url", diag)?;
        // A base without a trailing slash would drop its last segment when joined.
        let mut url = url;
        if !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        Some(url)
    });
    let output = read_output(&mut table, folder, diag);
    let store = match table.string("store", diag) {
        None => Some(crate::store::Location::File(folder.join("data/octofeed.db"))),
        Some(text) => crate::store::Location::parse(text.get_ref(), folder)
            .map_err(|why| diag.error(text.span(), format!("`site.store`: {why}")))
            .ok(),
    };
    let user_agent = table.string("user_agent", diag).map(|s| s.into_inner());
    let concurrency = table.bounded("concurrency", bounds::CONCURRENCY, diag).unwrap_or(8) as usize;
    let per_host = table.bounded("per_host", bounds::PER_HOST, diag).unwrap_or(2) as usize;
    let host_delay = duration(&mut table, "host_delay", bounds::HOST_DELAY, diag).unwrap_or(Duration::from_millis(500));
    let max_body = byte_size(&mut table, "max_body", diag).unwrap_or(10 * 1024 * 1024);
    let retries = table.bounded("retries", bounds::RETRIES, diag).unwrap_or(2) as u32;
    let lock_timeout =
        duration(&mut table, "lock_timeout", bounds::LOCK_TIMEOUT, diag).unwrap_or(Duration::from_secs(10));
    let lease = duration(&mut table, "lease", bounds::LEASE, diag).unwrap_or(Duration::from_secs(120));
    let allow_private = table.boolean("allow_private", diag).unwrap_or(false);
    let websub_hub = table.string("websub_hub", diag).and_then(|text| {
        let hub = http_url(&text, "site.websub_hub", diag)?;
        if base_url.is_none() {
            let why = "`site.websub_hub` needs `site.base_url`: the hub fetches the feeds at their public addresses";
            diag.error(text.span(), why);
        }
        Some(hub)
    });
    let browser_path = table.string("browser", diag).map(|path| folder.join(path.into_inner()));
    let browser_url = table.string("browser_url", diag).and_then(|text| match Url::parse(text.get_ref()) {
        Ok(url) if matches!(url.scheme(), "ws" | "wss" | "http" | "https") => Some(url),
        _ => {
            let found = text.get_ref();
            diag.error(
                text.span(),
                format!("`site.browser_url` must be a ws:// (or http://) DevTools address, found \"{found}\""),
            );
            None
        }
    });
    let browser = match browser_url {
        Some(url) => crate::browser::Launch::Remote(url),
        None => crate::browser::Launch::Local(browser_path),
    };
    table.finish(diag);
    Some(Site {
        title: title?.into_inner(),
        base_url,
        output: output?,
        store: store?,
        user_agent: user_agent.unwrap_or_else(crate::fetch::default_user_agent),
        concurrency,
        per_host,
        host_delay,
        max_body,
        retries,
        lock_timeout,
        lease,
        allow_private,
        websub_hub,
        browser,
    })
}

/// `output_dir` (a folder, default `public`), or `output = "s3://BUCKET/PREFIX"`
/// with its `[site.s3]` table.
fn read_output(table: &mut Table, folder: &Path, diag: &mut Diagnostics) -> Option<crate::output::OutputLocation> {
    use crate::output::{OutputLocation, s3::S3Location};
    let output_dir = table.string("output_dir", diag);
    let output = table.string("output", diag);
    let s3 = table.table("s3", diag);
    let location = match (output, &output_dir) {
        (Some(output), Some(_)) => {
            diag.error(output.span(), "set `site.output` or `site.output_dir`, not both");
            None
        }
        (Some(output), None) => match S3Location::parse(output.get_ref()) {
            Ok(location) => Some(OutputLocation::S3(location)),
            Err(why) => {
                diag.error(output.span(), format!("`site.output` must be an s3://BUCKET/PREFIX address: {why}"));
                None
            }
        },
        (None, dir) => {
            let dir = dir.as_ref().map_or("public", |dir| dir.get_ref().as_str());
            Some(OutputLocation::Folder(folder.join(dir)))
        }
    };
    let Some(mut s3) = s3 else { return location };
    let endpoint = s3.string("endpoint", diag).and_then(|text| http_url(&text, "site.s3.endpoint", diag));
    let region = s3.string("region", diag).map(Spanned::into_inner);
    let table_span = s3.span();
    s3.finish(diag);
    match location {
        Some(OutputLocation::S3(location)) => Some(OutputLocation::S3(S3Location { endpoint, region, ..location })),
        Some(OutputLocation::Folder(_)) => {
            diag.error(table_span, "`[site.s3]` needs `site.output = \"s3://BUCKET/PREFIX\"`");
            None
        }
        None => None,
    }
}

fn read_settings(table: &mut Table, diag: &mut Diagnostics) -> SourceSettings {
    let kind = table.string("kind", diag);
    if let Some(kind) = &kind
        && !matches!(kind.get_ref().as_str(), "html" | "feed")
    {
        let found = kind.get_ref();
        diag.error(kind.span(), format!("`kind` must be \"html\" or \"feed\", found \"{found}\""));
    }
    let timezone = table.string("timezone", diag).and_then(|name| match Tz::from_str(name.get_ref()) {
        Ok(tz) => Some(tz),
        Err(_) => {
            let zone = name.get_ref();
            diag.error(
                name.span(),
                format!("unknown time zone \"{zone}\" (use an IANA name such as \"Europe/Paris\")"),
            );
            None
        }
    });
    let fetch = table.string("fetch", diag);
    let fetch_browser = fetch.and_then(|fetch| match fetch.get_ref().as_str() {
        "plain" => Some(false),
        "browser" => Some(true),
        other => {
            diag.error(fetch.span(), format!("`fetch` must be \"plain\" or \"browser\", found \"{other}\""));
            None
        }
    });
    let browser = table.table("browser", diag).map(|t| read_browser_table(t, diag));
    let select = match table.get("select") {
        Some(value) if value.get_ref().as_str() == Some("auto") => Some(Selection::Auto),
        Some(value) if value.get_ref().as_str().is_some() => {
            diag.error(value.span(), format!("`{}.select` must be a table of selectors or \"auto\"", table.name));
            None
        }
        _ => table
            .table("select", diag)
            .and_then(|t| rules::select_rules(t, diag))
            .map(|rules| Selection::Rules(Box::new(rules))),
    };
    let detail = table.table("detail", diag).map(|t| rules::detail_rules(t, diag));
    let paginate = table.table("paginate", diag).and_then(|t| rules::paginate(t, diag));
    let intervals = if diag.force { bounds::FORCED_INTERVAL } else { bounds::INTERVAL };
    SourceSettings {
        kind,
        language: table.string("language", diag).map(|s| s.into_inner()),
        interval: duration(table, "interval", intervals, diag),
        max_items: table.bounded("max_items", bounds::MAX_ITEMS, diag).map(|n| n as usize),
        timezone,
        timeout: duration(table, "timeout", bounds::TIMEOUT, diag),
        robots: table.boolean("robots", diag),
        max_items_per_page: table.bounded("max_items_per_page", bounds::MAX_ITEMS_PER_PAGE, diag).map(|n| n as usize),
        fetch_browser,
        browser,
        select,
        detail,
        paginate,
    }
}

fn read_source(mut table: Table, defaults: &SourceSettings, folder: &Path, diag: &mut Diagnostics) -> Option<Source> {
    let id = table.string("id", diag);
    if let Some(id) = &id {
        table.name = format!("source \"{}\"", id.get_ref());
        check_id(id, diag);
    } else {
        diag.error(table.span(), format!("`{}` needs an `id`", table.name));
    }
    let title = table.string("title", diag);
    let url = match table.string("url", diag) {
        Some(text) => source_url(&text, folder, diag),
        None => {
            diag.error(table.span(), format!("`{}` needs a `url`", table.name));
            None
        }
    };
    let page_url = table.string("page_url", diag).and_then(|text| http_url(&text, "page_url", diag));
    let settings = read_settings(&mut table, diag).or(defaults);
    let is_feed = settings.kind.as_ref().is_some_and(|kind| kind.get_ref() == "feed");
    let kind = if is_feed {
        SourceKind::Feed
    } else {
        let Some(select) = settings.select else {
            if !table.contains("select") {
                let name = &table.name;
                diag.error(table.span(), format!("`{name}` is an html source and needs a `[source.select]` table"));
            }
            return None;
        };
        SourceKind::Html(Box::new(HtmlRules { select, detail: settings.detail, paginate: settings.paginate }))
    };
    if is_feed && settings.fetch_browser == Some(true) {
        let name = &table.name;
        diag.error(table.span(), format!("`{name}` is a feed: `fetch = \"browser\"` renders web pages only"));
    }
    if settings.browser.is_some() && settings.fetch_browser != Some(true) {
        let name = &table.name;
        diag.error(table.span(), format!("`{name}` has a `[source.browser]` table but not `fetch = \"browser\"`"));
    }
    let timeout = settings.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let fetch = match settings.fetch_browser {
        Some(true) => {
            let browser = settings.browser.unwrap_or_default();
            FetchMode::Browser(BrowserRules {
                wait_for: browser.wait_for,
                timeout: browser.timeout.unwrap_or(timeout),
                scroll: browser.scroll.unwrap_or(0),
                click: browser.click,
                clicks: browser.clicks.unwrap_or(DEFAULT_CLICKS),
            })
        }
        _ => FetchMode::Plain,
    };
    table.finish(diag);
    let id = id?.into_inner();
    Some(Source {
        title: title.map_or_else(|| id.clone(), |t| t.into_inner()),
        id,
        url: url?,
        page_url,
        kind,
        language: settings.language,
        interval: settings.interval.unwrap_or(DEFAULT_INTERVAL),
        max_items: settings.max_items.unwrap_or(DEFAULT_MAX_ITEMS),
        timezone: settings.timezone.unwrap_or(Tz::UTC),
        timeout,
        robots: settings.robots.unwrap_or(true),
        max_items_per_page: settings.max_items_per_page.unwrap_or(DEFAULT_MAX_ITEMS_PER_PAGE),
        fetch,
    })
}

fn read_channel(mut table: Table, sources: &[Source], default_max: usize, diag: &mut Diagnostics) -> Option<Channel> {
    let id = table.string("id", diag);
    match &id {
        Some(id) => {
            table.name = format!("channel \"{}\"", id.get_ref());
            check_id(id, diag);
        }
        None => diag.error(table.span(), format!("`{}` needs an `id`", table.name)),
    }
    let title = table.string("title", diag);
    let names = table.strings("sources", diag).unwrap_or_default();
    if names.is_empty() {
        diag.error(table.span(), format!("`{}` needs `sources`, a list of source ids", table.name));
    }
    for name in &names {
        if !sources.iter().any(|source| &source.id == name.get_ref()) {
            let unknown = name.get_ref();
            diag.error(name.span(), format!("`{}` names unknown source \"{unknown}\"", table.name));
        }
    }
    let include = matchers(&mut table, "include", diag);
    let exclude = matchers(&mut table, "exclude", diag);
    let max_items = table.bounded("max_items", bounds::MAX_ITEMS, diag).map_or(default_max, |n| n as usize);
    table.finish(diag);
    let id = id?.into_inner();
    Some(Channel {
        title: title.map_or_else(|| id.clone(), |t| t.into_inner()),
        id,
        sources: names.into_iter().map(Spanned::into_inner).collect(),
        include,
        exclude,
        max_items,
    })
}

fn matchers(table: &mut Table, key: &'static str, diag: &mut Diagnostics) -> Vec<Matcher> {
    let words = table.strings(key, diag).unwrap_or_default();
    words
        .into_iter()
        .filter_map(|word| match word.get_ref().strip_prefix("re:") {
            Some(pattern) => match Regex::new(&format!("(?i){pattern}")) {
                Ok(regex) => Some(Matcher::Regex(regex)),
                Err(error) => {
                    diag.error(word.span(), format!("bad regex in `{key}`: {error}"));
                    None
                }
            },
            None => Some(Matcher::Word(word.get_ref().to_lowercase())),
        })
        .collect()
}

/// Ids name output folders: `[a-z0-9][a-z0-9-]*`.
fn check_id(id: &Spanned<String>, diag: &mut Diagnostics) {
    let text = id.get_ref();
    let mut chars = text.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !first_ok || !rest_ok {
        diag.error(
            id.span(),
            format!("bad id \"{text}\": use lower-case letters, digits and '-', starting with a letter or digit"),
        );
    }
}

/// Sources and channels share the output folder, so their ids must all differ.
fn check_unique_ids(root: &mut Table, diag: &mut Diagnostics) {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for key in ["source", "channel"] {
        let Some(array) = root.get(key).and_then(|value| value.get_ref().as_array()) else {
            continue;
        };
        for entry in array.iter() {
            let Some(id) = entry.get_ref().as_table().and_then(|table| table.get("id")) else {
                continue;
            };
            let Some(text) = id.get_ref().as_str() else {
                continue;
            };
            match seen.iter().find(|(other, _)| other == text) {
                Some((_, first)) => {
                    let (line, _) = diag.position(*first);
                    diag.error(id.span(), format!("duplicate id \"{text}\" (first used on line {line})"));
                }
                None => seen.push((text.to_string(), id.span().start)),
            }
        }
    }
}

/// A humantime duration that must lie in `range`.
fn duration(
    table: &mut Table,
    key: &'static str,
    range: std::ops::RangeInclusive<Duration>,
    diag: &mut Diagnostics,
) -> Option<Duration> {
    let text = table.string(key, diag)?;
    match humantime::parse_duration(text.get_ref()) {
        Ok(duration) if range.contains(&duration) => Some(duration),
        Ok(_) => {
            let (name, found) = (&table.name, text.get_ref());
            let low = humantime::format_duration(*range.start());
            let high = humantime::format_duration(*range.end());
            let force = if key == "interval" && !diag.force { " (or pass --force for a shorter interval)" } else { "" };
            diag.error(
                text.span(),
                format!("`{name}.{key}` must be between {low} and {high}, found \"{found}\"{force}"),
            );
            None
        }
        Err(error) => {
            let (name, found) = (&table.name, text.get_ref());
            diag.error(
                text.span(),
                format!("bad duration \"{found}\" for `{name}.{key}`: {error} (write e.g. \"30m\", \"6h\", \"1d\")"),
            );
            None
        }
    }
}

/// A size: an integer of bytes, or a string such as "10MiB".
fn byte_size(table: &mut Table, key: &'static str, diag: &mut Diagnostics) -> Option<u64> {
    let value = table.get(key)?;
    if value.get_ref().as_integer().is_some() {
        return table.bounded(key, bounds::MAX_BODY, diag);
    }
    let text = table.string(key, diag)?;
    match bytesize::ByteSize::from_str(text.get_ref()) {
        Ok(size) if bounds::MAX_BODY.contains(&size.as_u64()) => Some(size.as_u64()),
        Ok(size) => {
            let (found, high) = (text.get_ref(), bytesize::ByteSize(*bounds::MAX_BODY.end()));
            diag.error(text.span(), format!("`{key}` must be between 1KiB and {high}, found \"{found}\" ({size})"));
            None
        }
        Err(error) => {
            let found = text.get_ref();
            diag.error(text.span(), format!("bad size \"{found}\" for `{key}`: {error} (write e.g. \"10MiB\")"));
            None
        }
    }
}

fn http_url(text: &Spanned<String>, what: &str, diag: &mut Diagnostics) -> Option<Url> {
    match Url::parse(text.get_ref()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
        Ok(_) => {
            diag.error(text.span(), format!("`{what}` must be an http(s) URL, found \"{}\"", text.get_ref()));
            None
        }
        Err(error) => {
            diag.error(text.span(), format!("bad URL \"{}\" for `{what}`: {error}", text.get_ref()));
            None
        }
    }
}

/// `http(s)://...`, `file:///absolute` or `file:relative/to/the/config/folder`.
fn source_url(text: &Spanned<String>, folder: &Path, diag: &mut Diagnostics) -> Option<Url> {
    let Some(path) = text.get_ref().strip_prefix("file:") else {
        return http_url(text, "url", diag);
    };
    let path = path.strip_prefix("//").unwrap_or(path);
    let absolute = if Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        std::path::absolute(folder.join(path)).unwrap_or_else(|_| folder.join(path))
    };
    match Url::from_file_path(&absolute) {
        Ok(url) => Some(url),
        Err(()) => {
            diag.error(text.span(), format!("bad file URL \"{}\"", text.get_ref()));
            None
        }
    }
}
