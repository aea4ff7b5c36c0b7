//! The command line: one clap subcommand per command of the contract.
//!
//! Definitions only; `commands` carries them out.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Turns web pages into RSS, Atom and JSON feeds.
#[derive(Debug, Parser)]
#[command(name = "octofeed", version, about)]
pub struct Cli {
    /// More logs (-v: debug, -vv: trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Use this time as "now" (RFC 3339), for reproducible runs and tests.
    #[arg(long, global = true, hide = true, value_name = "TIME")]
    pub now: Option<chrono::DateTime<chrono::Utc>>,

    #[command(subcommand)]
    pub command: Command,
}

/// Where the config is.
#[derive(Debug, Clone, Args)]
pub struct ConfigArg {
    /// The config file.
    #[arg(short, long, default_value = "config/octofeed.toml", value_name = "FILE")]
    pub config: PathBuf,
    /// Accept an `interval` under one minute (at least one second).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// One refresh: fetch every (or the named) source, extract, store, publish every feed; then exit.
    Run {
        #[command(flatten)]
        config: ConfigArg,
        /// Refresh only this source (repeatable).
        #[arg(long = "source", value_name = "ID")]
        sources: Vec<String>,
        /// Print one JSON object instead of one line per source.
        #[arg(long)]
        json: bool,
        /// Start a new store where the store file exists but is empty or unreadable
        /// (an unreadable one is first renamed aside, never deleted).
        #[arg(long)]
        init: bool,
    },
    /// Long-running: refresh each source on its own interval and serve the feeds over HTTP.
    Serve {
        #[command(flatten)]
        config: ConfigArg,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
        listen: String,
    },
    /// Fetch and extract one source; store and publish nothing; print the items.
    Preview {
        #[command(flatten)]
        config: ConfigArg,
        /// The source id.
        id: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Render the page in the browser, as `fetch = "browser"` does, even if the source fetches plainly.
        #[arg(long)]
        browser: bool,
    },
    /// Validate the config (keys, selectors, URLs, ids) and exit.
    Check {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// List the stored items of a source, newest first.
    Items {
        #[command(flatten)]
        config: ConfigArg,
        /// The source id.
        id: String,
        /// How many items to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print `kind = "feed"` sources for every feed of an OPML subscription list (or append them with --write).
    ImportOpml {
        #[command(flatten)]
        config: ConfigArg,
        /// The OPML file (an export from a feed reader).
        file: PathBuf,
        /// Append the sources to the config instead of printing them.
        #[arg(long)]
        write: bool,
    },
    /// Find what a page offers as a feed, with no selectors written: the feeds it
    /// advertises, else the items of its structured data, else its repeated blocks.
    /// Prints a ready `[[source]]` and the items it yields.
    Detect {
        #[command(flatten)]
        page: PageArgs,
        /// Print one JSON object: {"feeds", "source", "items"}.
        #[arg(long)]
        json: bool,
    },
    /// Detect a page's source (as `detect` does) and print it, or append it to the config with --write.
    Add {
        #[command(flatten)]
        page: PageArgs,
        /// The new source's id (default: made from the page's title).
        #[arg(long, value_name = "ID")]
        id: Option<String>,
        /// Append the source to the config instead of printing it.
        #[arg(long)]
        write: bool,
    },
    /// The main content of one article page: title, date, author, lead image, text.
    Article {
        #[command(flatten)]
        page: PageArgs,
        /// Print JSON: {"title", "date", "author", "image", "excerpt", "content_html", "text"}.
        #[arg(long)]
        json: bool,
    },
    /// Refresh and publish as `serve` does, serving nothing. On a PostgreSQL
    /// store any number of workers may run, on any number of machines: they
    /// share the sources through leases in the database.
    Worker {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Copy a SQLite store into an empty PostgreSQL database: every source,
    /// item (with its guid, dates and id), health record, publication record and
    /// webhook delivery, committed only when every table's count matches.
    Migrate {
        /// The SQLite store file (`[site] store` of the config that wrote it).
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// The PostgreSQL database, as a postgres:// URL.
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

impl Command {
    /// Whether the command only prints (tables, JSON, TOML) and may be piped
    /// into `head`: not `run`, `serve`, `worker` or `migrate`, which write and must finish.
    pub fn prints_for_a_pipe(&self) -> bool {
        !matches!(self, Command::Run { .. } | Command::Serve { .. } | Command::Worker { .. } | Command::Migrate { .. })
    }
}

/// The page `detect`, `add` and `article` read.
#[derive(Debug, Clone, Args)]
pub struct PageArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The page: an http(s) or file: URL, or a path to a saved page.
    pub url: String,
    /// The address a saved page stands for (as `page_url`): links resolve against it.
    #[arg(long, value_name = "URL")]
    pub base: Option<url::Url>,
    /// Fetch nothing but the page itself (advertised feeds are listed, not read).
    #[arg(long)]
    pub offline: bool,
    /// Render the page in a headless browser first, for pages built by JavaScript.
    #[arg(long)]
    pub browser: bool,
}
