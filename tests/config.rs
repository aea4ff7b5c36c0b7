//! `octofeed check` and config loading: every error at once, with file and line.

use std::path::Path;
use std::process::Command;

use octofeed::config::{Config, SourceKind};

const GOOD: &str = r#"
[site]
title = "Test site"
base_url = "https://feeds.example.org/news"

[defaults]
interval = "30m"
timezone = "Europe/Paris"

[[source]]
id = "octopus"
title = "Octopus"
url = "https://www.coe.int/en/web/cybercrime/octopus-project"
[source.select]
item = "div.news-item"
title = "h3"
link = "h3 a"
date = { css = ".date", format = "%d/%m/%Y" }
category = ".tag"

[[source]]
id = "saved"
url = "file:pages/saved.html"
kind = "html"
max_items = 5
[source.select]
item = "article"
title = { css = "h2", regex = "^(?:News: )?(.*)$" }
link = "a"

[[source]]
id = "feed-in"
url = "https://example.org/feed.xml"
kind = "feed"

[[channel]]
id = "all"
title = "All"
sources = ["octopus", "saved"]
include = ["cybercrime", "re:e-?evidence"]
exclude = ["vacancy"]
"#;

fn parse(text: &str) -> Result<Config, Vec<String>> {
    Config::parse(Path::new("/etc/octofeed/test.toml"), text)
        .map_err(|errors| errors.0.iter().map(ToString::to_string).collect())
}

#[test]
fn a_good_config_becomes_typed_values_with_defaults_applied() {
    let config = parse(GOOD).expect("valid config");
    assert_eq!(config.sources.len(), 3);
    let octopus = config.source("octopus").unwrap();
    assert_eq!(octopus.interval.as_secs(), 1800, "from [defaults]");
    assert_eq!(octopus.timezone, chrono_tz::Europe::Paris);
    assert_eq!(octopus.max_items, 100, "built-in default");
    let saved = config.source("saved").unwrap();
    assert_eq!(saved.url.as_str(), "file:///etc/octofeed/pages/saved.html", "relative to the config's folder");
    assert_eq!(saved.max_items, 5);
    assert_eq!(saved.title, "saved", "title defaults to the id");
    assert!(matches!(config.source("feed-in").unwrap().kind, SourceKind::Feed));
    assert_eq!(config.site.store.file(), Some(Path::new("/etc/octofeed/data/octofeed.db")));
    let public = octofeed::output::OutputLocation::Folder("/etc/octofeed/public".into());
    assert_eq!(config.site.output, public);
    assert_eq!(config.site.base_url.as_ref().unwrap().as_str(), "https://feeds.example.org/news/");
    let channel = &config.channels[0];
    assert_eq!(channel.max_items, 100);
    assert!(channel.include[1].matches("New E-Evidence rules"), "regex, case-insensitive");
    assert!(!channel.include[0].matches("Budapest"));
}

#[test]
fn every_error_is_reported_at_once_with_its_line() {
    let bad = r#"[site]
title = "x"
colour = "blue"

[defaults]
interval = "soon"

[[source]]
id = "Bad_Id"
url = "ftp://example.org/"
[source.select]
item = "div..news"
title = "h3"

[[source]]
id = "dup"
url = "not a url"
[source.select]
item = "li"
title = "a"
link = "a"

[[source]]
id = "dup"
url = "https://example.org/"
timeout = "3 parsecs"
kind = "rss"
[source.select]
item = "li"
title = "a"
link = "a"

[[channel]]
id = "all"
sources = ["dup", "missing"]
include = ["re:(unclosed"]
"#;
    let errors = parse(bad).expect_err("invalid config");
    let expect = [
        ("3:", "unknown key `colour`"),
        ("6:", "bad duration \"soon\""),
        ("9:", "bad id \"Bad_Id\""),
        ("10:", "must be an http(s) URL"),
        ("12:", "bad CSS selector `div..news`"),
        ("11:", "needs a `link` selector"),
        ("17:", "bad URL \"not a url\""),
        ("24:", "duplicate id \"dup\""),
        ("26:", "bad duration \"3 parsecs\""),
        ("27:", "`kind` must be \"html\" or \"feed\""),
        ("35:", "unknown source \"missing\""),
        ("36:", "bad regex in `include`"),
    ];
    assert!(
        !errors.iter().any(|error| error.contains("needs a `[source.select]` table")),
        "a select table with errors is not also reported missing: {errors:?}"
    );
    for (line, message) in expect {
        let prefix = format!("/etc/octofeed/test.toml:{line}");
        assert!(
            errors.iter().any(|error| error.starts_with(&prefix) && error.contains(message)),
            "no error at {prefix} containing {message:?} in:\n{}",
            errors.join("\n")
        );
    }
}

#[test]
fn a_toml_syntax_error_names_its_line() {
    let errors = parse("[site]\ntitle = \"x\n").expect_err("invalid TOML");
    assert!(errors[0].starts_with("/etc/octofeed/test.toml:2:"), "{errors:?}");
}

#[test]
fn the_example_config_documents_a_valid_config() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/octofeed.example.toml");
    let config = Config::load(&path).unwrap_or_else(|errors| panic!("{errors}"));
    assert!(!config.sources.is_empty());
    assert!(!config.channels.is_empty());
    assert!(config.site.websub_hub.is_none() && config.webhooks.is_empty(), "push is off in the example");
    // The optional keys shown switched off ("#~ ") are valid too, once switched on.
    let text = std::fs::read_to_string(&path).expect("the example");
    let switched_on = text.replace("#~ ", "");
    let config = parse(&switched_on).unwrap_or_else(|errors| panic!("{errors:?}"));
    assert!(config.site.websub_hub.is_some());
    assert_eq!(config.webhooks.len(), 1);
    assert_eq!((config.webhooks[0].sources.len(), config.webhooks[0].channels.len()), (1, 1));
}

#[test]
fn the_shipped_configs_are_valid() {
    for name in ["octofeed.toml", "offline.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config").join(name);
        let config = Config::load(&path).unwrap_or_else(|errors| panic!("{name}: {errors}"));
        assert!(config.sources.len() >= 3, "{name}");
    }
}

#[test]
fn check_exits_2_and_prints_every_error_without_touching_anything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[site]\ntitle = 3\nstore = \"db/x.db\"\n[[source]]\nid = \"-x\"\nurl = \"https://e.org/\"\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_octofeed")).args(["check", "-c"]).arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.toml:2:"), "{stderr}");
    assert!(stderr.contains("bad.toml:5:"), "{stderr}");
    assert!(!dir.path().join("db").exists(), "check writes nothing");
}

#[test]
fn browser_keys_are_checked_with_their_lines() {
    let good = r#"[site]
title = "x"
browser = "/usr/bin/chromium"
[defaults]
fetch = "browser"
[[source]]
id = "js"
url = "https://example.org/"
[source.select]
item = "li.event"
title = "h3"
link = "a"
[source.browser]
wait_for = "li.event"
timeout = "10s"
scroll = 2
click = "button.more"
"#;
    let config = parse(good).expect("a valid config");
    let octofeed::config::FetchMode::Browser(rules) = &config.sources[0].fetch else { panic!("a browser source") };
    assert_eq!((rules.scroll, rules.clicks, rules.timeout), (2, 5, std::time::Duration::from_secs(10)));
    assert_eq!(rules.click.as_deref(), Some("button.more"));

    let bad = r#"[site]
title = "x"
browser_url = "ftp://browser.example.org/"
[[source]]
id = "a"
url = "https://example.org/"
fetch = "chrome"
[source.select]
item = "li"
title = "a"
link = "a"
[[source]]
id = "b"
url = "https://example.org/b"
[source.select]
item = "li"
title = "a"
link = "a"
[source.browser]
wait_for = "li..x"
scroll = 500
[[source]]
id = "c"
url = "https://example.org/feed"
kind = "feed"
fetch = "browser"
"#;
    let errors = parse(bad).expect_err("an invalid config").join("\n");
    for expected in [
        "test.toml:3:",
        "`site.browser_url` must be a ws://",
        "test.toml:7:",
        "`fetch` must be \"plain\" or \"browser\", found \"chrome\"",
        "bad CSS selector `li..x` in `source \"b\".browser.wait_for`",
        "scroll",
        "has a `[source.browser]` table but not `fetch = \"browser\"`",
        "is a feed: `fetch = \"browser\"` renders web pages only",
    ] {
        assert!(errors.contains(expected), "missing {expected:?} in:\n{errors}");
    }
}

#[test]
fn a_sources_rules_fingerprint_is_the_config_text_not_the_compiled_selectors() {
    let rules_of = |text: &str| {
        let config = parse(text).expect("a valid config");
        match &config.sources[0].kind {
            octofeed::config::SourceKind::Html(rules) => rules.written(),
            octofeed::config::SourceKind::Feed => panic!("an html source"),
        }
    };
    let one = "[site]\ntitle = \"x\"\n[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\n\
               [source.select]\nitem = \"li.news\"\ntitle = \"h3\"\nlink = \"a\"\ndate = { css = \"time\", attr = \"datetime\" }\n";
    // The same rules, keys in another order, with comments and spacing.
    let same = "[site]\ntitle = \"x\"\n[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\n\
                [source.select]\n# the list\nlink = \"a\"\ndate = {attr = \"datetime\", css = \"time\"}\n\
                item    = \"li.news\"\ntitle = \"h3\"\n";
    let other = one.replace("li.news", "li.news-item");
    let written = rules_of(one);
    assert_eq!(written, rules_of(same));
    assert_ne!(written, rules_of(&other));
    assert!(written.contains("item=li.news\n") && written.contains("date=time|datetime|||false\n"), "{written}");
    assert!(!written.contains("Selector") && !written.contains('{'), "no compiled form: {written}");
}

#[test]
fn a_store_is_a_path_or_a_postgres_url_and_any_other_url_is_refused() {
    use octofeed::store::Location;
    let with_store = |value: &str| {
        parse(&format!(
            "[site]\ntitle = \"T\"\nstore = \"{value}\"\n[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\nkind = \"feed\"\n"
        ))
    };
    let url = "postgres://octofeed:secret@db.example.org:5432/feeds";
    let config = with_store(url).expect("a postgres store");
    assert_eq!(config.site.store, Location::Postgres(url.to_owned()));
    assert_eq!(config.site.store.to_string(), "postgres://octofeed:***@db.example.org:5432/feeds", "no password shown");
    let config = with_store("postgresql://localhost/feeds").expect("the other scheme libpq reads");
    assert!(matches!(config.site.store, Location::Postgres(_)));
    let config = with_store("state/feeds.db").expect("a file store");
    assert_eq!(config.site.store.file(), Some(Path::new("/etc/octofeed/state/feeds.db")));
    for unsupported in ["mysql://localhost/feeds", "sqlite://data/octofeed.db", "redis://cache"] {
        let errors = with_store(unsupported).expect_err("an unsupported store").join("\n");
        assert!(
            errors.contains("test.toml:3:") && errors.contains("stores are not supported"),
            "{unsupported}: {errors}"
        );
    }
}

#[test]
fn an_output_is_a_folder_or_an_s3_bucket_with_its_settings() {
    use octofeed::output::OutputLocation;
    let with_site = |lines: &str| {
        parse(&format!(
            "[site]\ntitle = \"T\"\n{lines}\n[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\nkind = \"feed\"\n"
        ))
    };
    let config = with_site("output_dir = \"www\"").expect("a folder");
    assert_eq!(config.site.output, OutputLocation::Folder("/etc/octofeed/www".into()));

    let s3 = "output = \"s3://octofeed-feeds/coe/\"\n[site.s3]\nendpoint = \"http://127.0.0.1:9000\"\nregion = \"eu-west-3\"";
    let config = with_site(s3).expect("a bucket");
    let OutputLocation::S3(location) = &config.site.output else { panic!("{:?}", config.site.output) };
    assert_eq!((location.bucket.as_str(), location.prefix.as_str()), ("octofeed-feeds", "coe"));
    assert_eq!(location.endpoint.as_ref().map(url::Url::as_str), Some("http://127.0.0.1:9000/"));
    assert_eq!(location.region.as_deref(), Some("eu-west-3"));
    let config = with_site("output = \"s3://octofeed-feeds\"").expect("a bucket's root, AWS's endpoint");
    assert!(matches!(&config.site.output, OutputLocation::S3(location) if location.endpoint.is_none()));

    for (lines, says) in [
        ("output = \"gs://octofeed-feeds\"", "test.toml:3:"),
        ("output = \"s3://Bad_Bucket\"", "not a bucket name"),
        ("output = \"s3://octofeed-feeds\"\noutput_dir = \"www\"", "not both"),
        ("[site.s3]\nregion = \"eu-west-3\"", "needs `site.output"),
        ("output = \"s3://octofeed-feeds\"\n[site.s3]\nendpoint = \"localhost:9000\"", "site.s3.endpoint"),
        ("output = \"s3://octofeed-feeds\"\n[site.s3]\nbucket = \"x\"", "bucket"),
    ] {
        let errors = with_site(lines).expect_err(lines).join("\n");
        assert!(errors.contains(says), "{lines}: {errors}");
    }
}
