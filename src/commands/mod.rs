//! Carries out each command of the CLI: loads the config, calls the library,
//! prints for people (or JSON for scripts), and picks the exit code:
//! 0 all well, 1 a source failed, 2 usage or config error.

mod discover;

use std::io::IsTerminal;

use chrono::{DateTime, Utc};

use crate::cli::{Cli, Command};
use crate::config::{BrowserRules, Config, FetchMode, SourceKind};
use crate::extract;
use crate::fetch::{Fetched, Fetcher, Origin, Request};
use crate::normalize::normalize;
use crate::run::{RunOptions, RunReport, Runner, SourceReport, Status, fetch_settings};
use crate::store::Unusable;

/// Exit codes of the contract.
pub const OK: u8 = 0;
pub const FAILED: u8 = 1;
pub const USAGE: u8 = 2;

/// Runs the command and returns the process exit code.
pub async fn execute(cli: Cli) -> u8 {
    let now = cli.now.unwrap_or_else(Utc::now);
    match cli.command {
        Command::Run { config, sources, json, init } => match load(&config) {
            Some(config) => run_command(&config, sources, json, init, now).await,
            None => USAGE,
        },
        Command::Serve { config, listen } => match load(&config) {
            Some(config) => crate::serve::serve_command(config, &listen).await,
            None => USAGE,
        },
        Command::Preview { config, id, json, browser } => match load(&config) {
            Some(config) => preview(&config, &id, json, browser).await,
            None => USAGE,
        },
        Command::Check { config } => match load(&config) {
            Some(config) => check(&config, cli.verbose > 0),
            None => USAGE,
        },
        Command::Items { config, id, limit, json } => match load(&config) {
            Some(config) => items(&config, &id, limit, json),
            None => USAGE,
        },
        Command::ImportOpml { config, file, write } => import_opml(&config.config, &file, write),
        Command::Detect { page, json } => discover::detect(&page, json).await,
        Command::Add { page, id, write } => discover::add(&page, id.as_deref(), write).await,
        Command::Article { page, json } => discover::article(&page, json).await,
        Command::Worker { config } => match load(&config) {
            Some(config) => crate::serve::worker_command(config).await,
            None => USAGE,
        },
        Command::Migrate { from, to } => migrate(&from, &to),
    }
}

/// `octofeed check`: the config loaded; with `-v`, how each HTML source's
/// listing pages will be read (streamed, or from the whole page's tree, and why).
fn check(config: &Config, verbose: bool) -> u8 {
    let (sources, channels) = (config.sources.len(), config.channels.len());
    let plural = |n: usize, word: &str| if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") };
    let (sources, channels) = (plural(sources, "source"), plural(channels, "channel"));
    println!("{}: ok ({sources}, {channels})", config.path.display());
    if verbose {
        for source in &config.sources {
            let SourceKind::Html(rules) = &source.kind else { continue };
            let route = match &rules.select {
                crate::config::Selection::Rules(select) => {
                    extract::stream::route(select, rules.paginate.as_ref().map(|paginate| &paginate.next)).describe()
                }
                crate::config::Selection::Auto => {
                    "whole page: `select = \"auto\"` detects the items in the page's tree".into()
                }
            };
            println!("{}: {route}", source.id);
        }
    }
    OK
}

/// Copies a SQLite store into PostgreSQL and prints each table's count.
fn migrate(from: &std::path::Path, to: &str) -> u8 {
    if !matches!(crate::store::Location::parse(to, std::path::Path::new("")), Ok(crate::store::Location::Postgres(_))) {
        eprintln!("error: --to must be a postgres:// URL, found \"{to}\"");
        return USAGE;
    }
    let target = crate::store::postgres::redacted(to);
    match crate::refresh::blocking(|| crate::store::migrate::sqlite_to_postgres(from, to)) {
        Ok(copied) => {
            for table in &copied {
                println!("{:<14} {:>9} rows", table.table, table.rows);
            }
            println!("copied {} into {target}; counts verified", from.display());
            OK
        }
        Err(error) => {
            eprintln!("error: migrate {} to {target}: {error}", from.display());
            FAILED
        }
    }
}

/// Prints the sources an OPML file gives, or appends them to the config.
fn import_opml(config: &std::path::Path, file: &std::path::Path, write: bool) -> u8 {
    use crate::import::{append_to_config, config_names, read_opml, to_toml};
    let imported = config_names(config).and_then(|(ids, urls)| read_opml(file, &ids, &urls));
    let imported = match imported {
        Ok(imported) => imported,
        Err(error) => {
            eprintln!("error: {error}");
            return USAGE;
        }
    };
    for warning in &imported.warnings {
        eprintln!("warning: {warning}");
    }
    let sources = to_toml(&imported.subscriptions);
    if !write {
        print!("{sources}");
        return OK;
    }
    match append_to_config(config, &sources, &format!("Imported from {} by `octofeed import-opml`.", file.display())) {
        Ok(()) => {
            println!("{}: {} sources added", config.display(), imported.subscriptions.len());
            OK
        }
        Err(error) => {
            eprintln!("error: {error}");
            USAGE
        }
    }
}

/// Loads the config, printing every error; `None` means exit 2.
pub(crate) fn load(arg: &crate::cli::ConfigArg) -> Option<Config> {
    let path = &arg.config;
    match Config::load_with(path, crate::config::LoadOptions { force: arg.force }) {
        Ok(config) => Some(config),
        Err(errors) => {
            eprintln!("{errors}");
            let count = errors.0.len();
            eprintln!("error: {} has {count} problem{}", path.display(), if count == 1 { "" } else { "s" });
            None
        }
    }
}

async fn run_command(config: &Config, only: Vec<String>, json: bool, init: bool, now: DateTime<Utc>) -> u8 {
    let options = RunOptions { only, now };
    let chosen = if options.only.is_empty() { config.sources.len() } else { options.only.len() };
    let mut progress = (!json && std::io::stderr().is_terminal()).then(|| Progress::new(chosen));
    let unusable = if init { Unusable::StartAfresh } else { Unusable::Refuse };
    let on_source = |report: &SourceReport| match &mut progress {
        Some(progress) => progress.source_done(report),
        None if !json => print_source_line(report),
        None => {}
    };
    let result = match Runner::open_with(config, unusable) {
        Ok(runner) => runner.run(config, &options, on_source).await,
        Err(error) => Err(error),
    };
    if let Some(progress) = progress {
        progress.finish();
    }
    match result {
        Ok(report) => {
            if json {
                print_json(&report);
            }
            if let Some(error) = &report.publish_error {
                eprintln!("error: publishing stopped: {error}");
            }
            print_push(&report, json);
            if report.any_failed() { FAILED } else { OK }
        }
        Err(error) => {
            eprintln!("error: {error}");
            if matches!(error, crate::run::RunError::UnknownSource(_)) { USAGE } else { FAILED }
        }
    }
}

/// What WebSub and the webhooks did: failures as warnings, and (without
/// `--json`) a line with the webhooks' deliveries and what still waits.
fn print_push(report: &crate::run::RunReport, json: bool) {
    if let Some(hub) = &report.websub {
        for failure in &hub.failed {
            eprintln!("warning: WebSub hub not told of a change: {failure}");
        }
    }
    if let Some(webhooks) = &report.webhooks {
        for error in &webhooks.errors {
            eprintln!("warning: webhook: {error}");
        }
        if !json {
            println!("webhooks: {} delivered, {} pending", webhooks.delivered, webhooks.pending);
        }
    }
}

/// The progress bar of `run` on a terminal: sources done, items found and errors so far.
struct Progress {
    bar: indicatif::ProgressBar,
    tally: Tally,
}

impl Progress {
    fn new(sources: usize) -> Progress {
        let bar = indicatif::ProgressBar::new(sources as u64);
        let style =
            indicatif::ProgressStyle::with_template("{spinner} {bar:30} {pos}/{len} sources, {msg} [{elapsed}]")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(Tally::default().to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress { bar, tally: Tally::default() }
    }

    /// Counts the source and prints its line above the bar.
    fn source_done(&mut self, report: &SourceReport) {
        self.tally.add(report);
        self.bar.inc(1);
        self.bar.set_message(self.tally.to_string());
        self.bar.suspend(|| print_source_line(report));
    }

    fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// Items and errors over the sources done so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    items: usize,
    errors: usize,
}

impl Tally {
    fn add(&mut self, report: &SourceReport) {
        self.items += report.items_seen;
        self.errors += usize::from(report.status == Status::Failed);
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        write!(f, "{} item{}, {} error{}", self.items, plural(self.items), self.errors, plural(self.errors))
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Unchanged => "unchanged",
        Status::Failed => "failed",
    }
}

fn print_source_line(report: &SourceReport) {
    let word = status_word(report.status);
    match report.status {
        Status::Failed => {
            let error = report.error.as_deref().unwrap_or("unknown error");
            println!("{word:<9} {:<20} {error}", report.id);
        }
        _ => {
            let warnings = match report.warnings.len() {
                0 => String::new(),
                1 => ", 1 warning".to_string(),
                n => format!(", {n} warnings"),
            };
            let (seen, new, updated) = (report.items_seen, report.items_new, report.items_updated);
            let stored = report.health.item_count;
            println!(
                "{word:<9} {:<20} {seen} items found ({new} new, {updated} updated, {stored} stored){warnings}",
                report.id
            );
        }
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
}

fn print_json(report: &RunReport) {
    match serde_json::to_string_pretty(report) {
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("error: cannot write JSON: {error}"),
    }
}

/// Fetches and extracts one source and prints what its selectors give.
async fn preview(config: &Config, id: &str, json: bool, browser: bool) -> u8 {
    let Some(source) = config.source(id) else {
        eprintln!("error: unknown source \"{id}\" in {}", config.path.display());
        return USAGE;
    };
    let SourceKind::Html(rules) = &source.kind else {
        eprintln!("error: preview reads html sources; \"{id}\" is a feed");
        return USAGE;
    };
    let fetcher = match Fetcher::new(fetch_settings(config)) {
        Ok(fetcher) => fetcher,
        Err(error) => {
            eprintln!("error: {error}");
            return FAILED;
        }
    };
    let request = Request {
        url: &source.url,
        etag: None,
        last_modified: None,
        timeout: source.timeout,
        robots: source.robots,
        origin: Origin::Config,
    };
    let rendering = match (&source.fetch, browser) {
        (FetchMode::Browser(rules), _) => Some(rules.clone()),
        (FetchMode::Plain, true) => Some(BrowserRules::with_timeout(source.timeout)),
        (FetchMode::Plain, false) => None,
    };
    let item = match &rules.select {
        crate::config::Selection::Rules(select) => Some(select.item.text.as_str()),
        crate::config::Selection::Auto => None,
    };
    let rendering = rendering.as_ref().map(|how| (&config.site.browser, how, item));
    let page = match crate::browser::fetch_one(&fetcher, &request, rendering).await {
        Ok(Fetched::Page(page)) => page,
        Ok(Fetched::NotModified) => {
            eprintln!("error: {id}: the server answered 304 to a plain request");
            return FAILED;
        }
        Err(error) => {
            eprintln!("error: {id}: {error}");
            return FAILED;
        }
    };
    let base = source.listing_base(&page.url);
    let listing = match extract::extract_listing(&page.text(), &base, &rules.select, None, source.max_items_per_page) {
        Ok(listing) => listing,
        Err(error) => {
            eprintln!("error: {id}: {error}");
            return FAILED;
        }
    };
    let normalized = normalize(&listing.items, &source.id, source.home_page(), source.timezone);
    if json {
        match serde_json::to_string_pretty(&normalized.items) {
            Ok(text) => println!("{text}"),
            Err(error) => eprintln!("error: cannot write JSON: {error}"),
        }
    } else {
        print_preview_table(&normalized.items, source.timezone);
    }
    for warning in listing.warnings.iter().chain(&normalized.warnings) {
        eprintln!("warning: {warning}");
    }
    OK
}

/// Dates show as the page means them: the day in the source's time zone.
pub(crate) fn print_preview_table(items: &[crate::model::Item], timezone: chrono_tz::Tz) {
    println!("{:<3} {:<10} {:<50} {:<24} link", "#", "date", "title", "place");
    for (index, item) in items.iter().enumerate() {
        let local = |date: DateTime<Utc>| date.with_timezone(&timezone).format("%Y-%m-%d").to_string();
        let date = item.published.map_or_else(|| "-".to_string(), local);
        let title = shorten(&item.title, 50);
        let place = shorten(item.location.as_deref().unwrap_or("-"), 24);
        println!("{:<3} {date:<10} {title:<50} {place:<24} {}", index + 1, item.link);
        if let Some(summary) = &item.summary {
            println!("{:<14} {}", "", shorten(summary, 100));
        }
    }
    println!("{} items", items.len());
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// Lists a source's stored items.
fn items(config: &Config, id: &str, limit: usize, json: bool) -> u8 {
    if config.source(id).is_none() {
        eprintln!("error: unknown source \"{id}\" in {}", config.path.display());
        return USAGE;
    }
    let store = match crate::store::open_read_only(&config.site.store) {
        Ok(store) => store,
        Err(error) => {
            eprintln!("error: {error}");
            return FAILED;
        }
    };
    let items = match store.items(id, Some(limit)) {
        Ok(items) => items,
        Err(error) => {
            eprintln!("error: {error}");
            return FAILED;
        }
    };
    // Publication dates as the page means them: in the source's time zone (a
    // date-only item is noon there); the store's own times in UTC.
    let zone = config.source(id).map_or(chrono_tz::Tz::UTC, |source| source.timezone);
    if json {
        let rows: Vec<serde_json::Value> = items
            .iter()
            .map(|stored| {
                serde_json::json!({
                    "guid": stored.item.guid,
                    "published": stored.published().with_timezone(&zone).to_rfc3339(),
                    "first_seen": stored.first_seen,
                    "updated": stored.updated,
                    "title": stored.item.title,
                    "link": stored.item.link,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
    } else {
        let published_heading = format!("published ({zone})");
        println!("{published_heading:<20} {:<20} {:<20} {:<50} guid", "first seen (UTC)", "updated (UTC)", "title");
        for stored in &items {
            let time = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M").to_string();
            let title = shorten(&stored.item.title, 50);
            let published = stored.published().with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string();
            let (first_seen, updated) = (time(stored.first_seen), time(stored.updated));
            println!("{published:<20} {first_seen:<20} {updated:<20} {title:<50} {}", stored.item.guid);
        }
    }
    OK
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Health;

    fn report(status: Status, items_seen: usize) -> SourceReport {
        let health = Health::default();
        let error = (status == Status::Failed).then(|| "down".to_string());
        let (items_new, items_updated, warnings) = (0, 0, Vec::new());
        SourceReport { id: "s".into(), status, items_seen, items_new, items_updated, error, warnings, health }
    }

    #[test]
    fn tally_counts_items_and_failed_sources() {
        let mut tally = Tally::default();
        assert_eq!(tally.to_string(), "0 items, 0 errors");
        tally.add(&report(Status::Ok, 12));
        tally.add(&report(Status::Unchanged, 0));
        assert_eq!(tally.to_string(), "12 items, 0 errors");
        tally.add(&report(Status::Failed, 0));
        tally.add(&report(Status::Ok, 1));
        assert_eq!(tally, Tally { items: 13, errors: 1 });
        assert_eq!(tally.to_string(), "13 items, 1 error");
    }
}
