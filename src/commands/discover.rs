//! `octofeed detect`, `add` and `article`: pages read without selectors.
//!
//! Fetching and printing only; what a page holds is decided by `detect` and
//! `article`. The config, when its file exists, gives the fetch settings (user
//! agent, limits) and the ids already taken.

use chrono_tz::Tz;
use serde_json::json;
use url::Url;

use super::{FAILED, OK, USAGE, print_preview_table};
use crate::cli::PageArgs;
use crate::config::{BrowserRules, Config};
use crate::detect::{self, Detection, Found};
use crate::fetch::{Fetched, Fetcher, Origin, Request};
use crate::import::{append_to_config, config_names, slugify, toml_string, unique_id};
use crate::normalize::normalize;
use crate::run::fetch_settings;

/// Items read from one page at most, as for a source's default `max_items_per_page`.
const MAX_ITEMS: usize = 500;
/// Advertised feeds read to check them, at most.
const FEEDS_CHECKED: usize = 5;
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What `detect` settled on: the source to propose and the items it yields.
struct Proposal {
    /// The `[[source]]` table, TOML.
    toml: String,
    /// The same as JSON, for `--json`.
    source: serde_json::Value,
    items: Vec<crate::model::Item>,
    /// How the items were found, for people.
    how: String,
}

pub async fn detect(args: &PageArgs, json: bool) -> u8 {
    let Some(context) = Context::new(args) else { return USAGE };
    let (proposal, detection) = match context.propose(None).await {
        Ok(found) => found,
        Err(code) => return code,
    };
    if json {
        let feeds = serde_json::to_value(&detection.feeds).unwrap_or_default();
        let items: Vec<serde_json::Value> = proposal.items.iter().map(item_json).collect();
        let out = json!({ "feeds": feeds, "source": proposal.source, "items": items });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return OK;
    }
    print_feeds(&detection);
    println!("# {} items found in {}\n", proposal.items.len(), proposal.how);
    println!("{}", proposal.toml);
    print_preview_table(&proposal.items, Tz::UTC);
    OK
}

pub async fn add(args: &PageArgs, id: Option<&str>, write: bool) -> u8 {
    let Some(context) = Context::new(args) else { return USAGE };
    let (proposal, _) = match context.propose(id).await {
        Ok(found) => found,
        Err(code) => return code,
    };
    if !write {
        print!("{}", proposal.toml);
        return OK;
    }
    let config = &args.config.config;
    let note = format!("Added from {} by `octofeed add`.", context.page_url);
    match append_to_config(config, &proposal.toml, &note) {
        Ok(()) => {
            println!("{}: source added ({} items found in {})", config.display(), proposal.items.len(), proposal.how);
            OK
        }
        Err(error) => {
            eprintln!("error: {error}");
            USAGE
        }
    }
}

pub async fn article(args: &PageArgs, json: bool) -> u8 {
    let Some(context) = Context::new(args) else { return USAGE };
    let Some((page_url, html)) = context.fetch_page().await else { return FAILED };
    let article = match crate::article::read(&html, &page_url) {
        Ok(article) => article,
        Err(error) => {
            eprintln!("error: {error}");
            return FAILED;
        }
    };
    let published = article.date.as_deref().and_then(|text| crate::dates::parse_date(text, None, context.timezone));
    if json {
        let mut value = serde_json::to_value(&article).unwrap_or_default();
        value["published"] = json!(published.map(|date| date.to_rfc3339()));
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
        return OK;
    }
    println!("title:     {}", article.title);
    let published = published.map(|date| date.with_timezone(&context.timezone).to_rfc3339());
    for (label, value) in [
        ("published", published.as_deref()),
        ("author", article.author.as_deref()),
        ("image", article.image.as_ref().map(Url::as_str)),
    ] {
        println!("{label:<10} {}", value.unwrap_or("-"));
    }
    println!("\n{}", article.text);
    OK
}

/// What the three commands share: the page to read and how to fetch it.
struct Context {
    fetcher: Fetcher,
    url: Url,
    /// What links resolve against: `--base`, else the page's own address.
    base: Option<Url>,
    /// The page as named, for notes.
    page_url: String,
    offline: bool,
    config: Option<Config>,
    timezone: Tz,
    /// With `--browser`: where the browser that renders the page comes from.
    browser: Option<crate::browser::Launch>,
}

impl Context {
    /// Loads the config when its file exists and parses the page argument;
    /// `None` (after printing why) when either is wrong.
    fn new(args: &PageArgs) -> Option<Context> {
        let config = match args.config.config.exists() {
            true => Some(super::load(&args.config)?),
            false => None,
        };
        let url = match page_address(&args.url) {
            Ok(url) => url,
            Err(error) => {
                eprintln!("error: {error}");
                return None;
            }
        };
        let settings = config.as_ref().map(fetch_settings).unwrap_or_default();
        let fetcher = match Fetcher::new(settings) {
            Ok(fetcher) => fetcher,
            Err(error) => {
                eprintln!("error: {error}");
                return None;
            }
        };
        let timezone = config.as_ref().and_then(|c| c.sources.first()).map_or(Tz::UTC, |s| s.timezone);
        let launch = config.as_ref().map_or(crate::browser::Launch::Local(None), |c| c.site.browser.clone());
        Some(Context {
            browser: args.browser.then_some(launch),
            fetcher,
            page_url: args.base.as_ref().unwrap_or(&url).to_string(),
            url,
            base: args.base.clone(),
            offline: args.offline,
            config,
            timezone,
        })
    }

    /// The page's HTML and the address its links resolve against.
    async fn fetch_page(&self) -> Option<(Url, String)> {
        let request = Request {
            url: &self.url,
            etag: None,
            last_modified: None,
            timeout: TIMEOUT,
            robots: true,
            origin: Origin::Config,
        };
        let rules = BrowserRules::with_timeout(TIMEOUT);
        let rendering = self.browser.as_ref().map(|launch| (launch, &rules, None));
        match crate::browser::fetch_one(&self.fetcher, &request, rendering).await {
            Ok(Fetched::Page(page)) => {
                Some((self.base.clone().unwrap_or_else(|| page.url.clone()), page.text().into_owned()))
            }
            Ok(Fetched::NotModified) => {
                eprintln!("error: {}: the server answered 304 to a plain request", self.url);
                None
            }
            Err(error) => {
                eprintln!("error: {error}");
                None
            }
        }
    }

    /// Detects the page and settles on a source: a checked advertised feed
    /// (unless offline), else the items found on the page.
    async fn propose(&self, id: Option<&str>) -> Result<(Proposal, Detection), u8> {
        let (page_url, html) = self.fetch_page().await.ok_or(FAILED)?;
        let detection = detect::detect(&html, &page_url, MAX_ITEMS);
        let (mut taken, _) = config_names(&self.config_path()).unwrap_or_default();
        let title = detection.title.clone().unwrap_or_else(|| page_url.host_str().unwrap_or("page").to_string());
        let id = id.map(str::to_string).unwrap_or_else(|| unique_id(&slugify(&title), &mut taken));
        let header = Header { id: &id, title: &title, url: &self.url, page_url: self.base.as_ref() };
        if !self.offline
            && let Some((feed, items)) = self.first_readable_feed(&detection, &id).await
        {
            let toml = header.toml(&[("url", feed.as_str())], "kind = \"feed\"\n");
            let source = json!({ "id": id, "title": title, "url": feed, "kind": "feed" });
            return Ok((
                Proposal { toml, source, items, how: format!("the feed {feed} the page advertises") },
                detection,
            ));
        }
        let detected = match &detection.items {
            Ok(detected) => detected,
            Err(error) => {
                print_feeds(&detection);
                eprintln!("error: {error}");
                if page_url.scheme() == "file" {
                    eprintln!(
                        "hint: a saved page's links resolve against the address it stands for: give it with --base URL"
                    );
                }
                return Err(FAILED);
            }
        };
        let items = normalize(&detected.items, &id, &page_url, self.timezone).items;
        let (table, select, how) = match &detected.found {
            Found::Selectors { method, rules } => {
                (rules.toml(), serde_json::to_value(rules).unwrap_or_default(), format!("the page's {method}"))
            }
            Found::JsonLd => (
                "select = \"auto\"\n".to_string(),
                json!("auto"),
                "the page's JSON-LD structured data (no selector reaches it: `select = \"auto\"` reads it each run)"
                    .to_string(),
            ),
        };
        let toml = header.toml(&[], &table);
        let mut source = json!({ "id": id, "title": title, "url": self.url, "select": select });
        if let Some(base) = &self.base {
            source["page_url"] = json!(base);
        }
        Ok((Proposal { toml, source, items, how }, detection))
    }

    fn config_path(&self) -> std::path::PathBuf {
        self.config.as_ref().map(|c| c.path.clone()).unwrap_or_default()
    }

    /// The first advertised feed that reads as a feed with entries, and its items.
    async fn first_readable_feed(&self, detection: &Detection, id: &str) -> Option<(Url, Vec<crate::model::Item>)> {
        for feed in detection.feeds.iter().take(FEEDS_CHECKED) {
            let request = Request {
                url: &feed.url,
                etag: None,
                last_modified: None,
                timeout: TIMEOUT,
                robots: true,
                origin: Origin::Page,
            };
            let page = match self.fetcher.fetch(&request).await {
                Ok(Fetched::Page(page)) => page,
                Ok(Fetched::NotModified) => continue,
                Err(error) => {
                    eprintln!("warning: the advertised feed {}: {error}", feed.url);
                    continue;
                }
            };
            match crate::ingest::ingest(&page.bytes, crate::ingest::FeedAddress::at(&page.url), id, MAX_ITEMS) {
                Ok(ingested) if !ingested.items.is_empty() => return Some((feed.url.clone(), ingested.items)),
                Ok(_) => eprintln!("warning: the advertised feed {} has no entries", feed.url),
                Err(error) => eprintln!("warning: the advertised feed: {error}"),
            }
        }
        None
    }
}

/// The first lines of a proposed `[[source]]`.
struct Header<'a> {
    id: &'a str,
    title: &'a str,
    url: &'a Url,
    page_url: Option<&'a Url>,
}

impl Header<'_> {
    /// `[[source]]` with id, title and url (or the `overrides`), then `rest`.
    fn toml(&self, overrides: &[(&str, &str)], rest: &str) -> String {
        let url = overrides.iter().find(|(key, _)| *key == "url").map_or(self.url.as_str(), |(_, url)| url);
        let mut out = format!(
            "[[source]]\nid = {}\ntitle = {}\nurl = {}\n",
            toml_string(self.id),
            toml_string(self.title),
            toml_string(url)
        );
        if let Some(page_url) = self.page_url.filter(|_| overrides.is_empty()) {
            out.push_str(&format!("page_url = {}\n", toml_string(page_url.as_str())));
        }
        out.push_str(rest);
        out
    }
}

/// A URL as given, or a path to a saved page as a `file:` URL.
fn page_address(text: &str) -> Result<Url, String> {
    if let Ok(url) = Url::parse(text)
        && matches!(url.scheme(), "http" | "https" | "file")
    {
        return Ok(url);
    }
    let path =
        std::fs::canonicalize(text).map_err(|error| format!("{text} is neither a URL nor a readable file: {error}"))?;
    Url::from_file_path(&path).map_err(|()| format!("{} cannot be a file: URL", path.display()))
}

fn print_feeds(detection: &Detection) {
    if detection.feeds.is_empty() {
        return;
    }
    println!("# feeds the page advertises:");
    for feed in &detection.feeds {
        println!("#   {:<7} {}  {}", feed.format, feed.url, feed.title.as_deref().unwrap_or(""));
    }
    println!();
}

fn item_json(item: &crate::model::Item) -> serde_json::Value {
    json!({
        "title": item.title,
        "link": item.link,
        "date": item.published.map(|date| date.to_rfc3339()),
        "summary": item.summary,
        "image": item.image,
    })
}
