//! octofeed turns web pages into feeds.
//!
//! ```text
//! config ──► fetch ──► extract ──► normalize ──► store ──► publish ──► push
//!  (typed)   (I/O)     (pure)      (pure)    (SQLite or   (pure, then    (WebSub, webhooks)
//!                                              PostgreSQL)  output: folder or S3)
//!            refresh = one pass for one source; run = every source, then every feed
//! ```
//!
//! Where things are:
//! - [`config`]: the TOML config, read once into typed values, every error with file and line.
//! - [`fetch`]: HTTP(S) and `file:` with limits, retries, robots.txt, charset decoding, and the rule that
//!   pages may not lead to local files or private addresses.
//! - [`parse`]: HTML text into a tree in linear time, whatever its nesting.
//! - [`extract`]: CSS selectors over a page give raw items; [`normalize`] makes them model items;
//!   [`interstitial`] names the page served instead (bot challenge, captcha, login wall, app shell) when none match.
//! - [`detect`]: a page's advertised feeds and its items without selectors (structured data, repeated
//!   blocks), for `octofeed detect`/`add` and `select = "auto"`; [`article`]: an article page's main content,
//!   for `octofeed article` and `"auto"` detail fields.
//! - [`dates`]: date texts in five languages; [`identity`]: guids; [`text`]: text and HTML cleaning.
//! - [`model`]: the news model shared by every stage; [`hygiene`]: what an item may carry (http(s) URLs,
//!   capped texts, no bidi overrides), checked where items enter and where feeds are built.
//! - [`store`]: the history of every item and source, on SQLite or PostgreSQL; [`work`]: workers sharing one.
//! - [`publish`]: RSS 2.0, Atom 1.0, JSON Feed 1.1, the newsletter feed `new.xml`, `index.html` and `feeds.opml`;
//!   [`output`]: where they are written and read back from (a folder, or an S3 bucket).
//! - [`push`]: after publishing, WebSub pings and signed webhook deliveries of new items.
//! - [`refresh`] and [`run`]: one source's pass, and a whole run over the config.
//! - [`serve`]: `octofeed serve`: the scheduler, and an HTTP server that serves published files from memory
//!   and stands up to misbehaving clients.
//! - [`import`]: an OPML subscription list as `kind = "feed"` sources (`octofeed import-opml`).

pub mod article;
pub mod browser;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dates;
pub mod dedupe;
pub mod detect;
pub mod extract;
pub mod feeds;
pub mod fetch;
pub mod hygiene;
pub mod identity;
pub mod import;
pub mod ingest;
pub mod interstitial;
pub mod model;
pub mod normalize;
pub mod output;
pub mod parse;
pub mod publish;
pub mod push;
pub mod refresh;
pub mod run;
mod runtime;
pub mod serve;
pub mod store;
pub mod text;
pub mod work;
