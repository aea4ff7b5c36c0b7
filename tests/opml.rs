//! OPML both ways: `feeds.opml` lists every published feed; `octofeed
//! import-opml` turns a reader's export into `kind = "feed"` sources.

mod feeds_kit;

use feeds_kit::{Entry, Workspace, rss};
use opml::OPML;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const EXPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="Council of Europe — News" title="Council of Europe — News" type="rss"
             xmlUrl="https://www.coe.int/news/rss.xml" htmlUrl="https://www.coe.int/news"/>
    <outline text="Law" title="Law">
      <outline text="Octopus" type="rss" xmlUrl="https://law.example.org/octopus.xml"/>
      <outline text="Courts">
        <outline text="Café Judiciaire" xmlUrl="https://courts.example.fr/feed"/>
        <outline text="Octopus" xmlUrl="https://other.example.net/octopus/atom.xml"/>
      </outline>
    </outline>
    <outline text="Same feed again" xmlUrl="https://law.example.org/octopus.xml"/>
    <outline text="Not a web feed" xmlUrl="ftp://files.example.org/feed"/>
    <outline text="A bookmark, no feed" htmlUrl="https://example.org/"/>
  </body>
</opml>
"#;

const CONFIG: &str = r#"
[[source]]
id = "octopus"
url = "https://www.coe.int/en/web/cybercrime/octopus-project"
[source.select]
item = "div.news-item"
title = "h3"
link = "h3 a"
"#;

fn import(workspace: &Workspace, extra: &[&str]) -> std::process::Output {
    let file = workspace.dir.path().join("export.opml");
    std::fs::write(&file, EXPORT).unwrap();
    let mut args = vec!["import-opml", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    workspace.octofeed(&args, "2022-12-01T00:00:00Z")
}

fn sources(toml_text: &str) -> Vec<(String, String, String)> {
    let table: toml::Table = toml_text.parse().expect("valid TOML");
    let array = table["source"].as_array().unwrap();
    let field = |source: &toml::Value, key: &str| source[key].as_str().unwrap_or_default().to_string();
    array.iter().map(|source| (field(source, "id"), field(source, "url"), field(source, "kind"))).collect()
}

#[test]
fn import_opml_prints_a_feed_source_per_outline_with_unique_ids_from_titles() {
    let workspace = Workspace::new();
    workspace.config(CONFIG);
    let output = import(&workspace, &[]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let feed = |id: &str, url: &str| (id.to_string(), url.to_string(), "feed".to_string());
    assert_eq!(
        sources(&stdout),
        [
            feed("council-of-europe-news", "https://www.coe.int/news/rss.xml"),
            feed("octopus-2", "https://law.example.org/octopus.xml"),
            feed("cafe-judiciaire", "https://courts.example.fr/feed"),
            feed("octopus-3", "https://other.example.net/octopus/atom.xml"),
        ],
        "nested folders included; `octopus` is taken by the config, then by the first import"
    );
    assert!(stdout.contains("title = \"Council of Europe — News\""), "{stdout}");
    assert!(stdout.contains("# folder: Law/Courts\n[[source]]\nid = \"cafe-judiciaire\""), "{stdout}");
    assert!(stderr.contains("https://law.example.org/octopus.xml is already a source"), "{stderr}");
    assert!(stderr.contains("\"ftp://files.example.org/feed\" is not an http(s) URL"), "{stderr}");
    assert_eq!(std::fs::read_to_string(workspace.config_path()).unwrap(), format!("{}\n{CONFIG}", feeds_kit::SITE));
}

#[test]
fn import_opml_write_appends_to_the_config_which_still_passes_check() {
    let workspace = Workspace::new();
    workspace.config(CONFIG);
    let output = import(&workspace, &["--write"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("4 sources added"));
    let check = workspace.octofeed(&["check"], "2022-12-01T00:00:00Z");
    let said = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(0), "{said}{}", String::from_utf8_lossy(&check.stderr));
    assert!(said.contains("ok (5 sources, 0 channels)"), "{said}");
    let config = octofeed::config::Config::load(&workspace.config_path()).unwrap();
    let kinds: Vec<bool> =
        config.sources.iter().map(|s| matches!(s.kind, octofeed::config::SourceKind::Feed)).collect();
    assert_eq!(kinds, [false, true, true, true, true]);

    let again = import(&workspace, &["--write"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 sources added"), "every URL is already a source");
}

#[test]
fn import_opml_refuses_a_file_that_is_not_opml() {
    let workspace = Workspace::new();
    workspace.config(CONFIG);
    let file = workspace.dir.path().join("export.opml");
    std::fs::write(&file, "<rss version=\"2.0\"/>").unwrap();
    let output = workspace.octofeed(&["import-opml", file.to_str().unwrap(), "--write"], "2022-12-01T00:00:00Z");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("export.opml is not an OPML file"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn feeds_opml_lists_every_published_feed_with_its_title_and_both_urls() {
    let server = MockServer::start().await;
    let entries = [Entry { title: "One", link: "https://a.example/1", date: "2022-11-20T10:00:00Z", summary: "One." }];
    for at in ["/alpha.xml", "/beta.xml"] {
        let body = rss("Feed", &entries);
        Mock::given(path(at)).respond_with(ResponseTemplate::new(200).set_body_string(body)).mount(&server).await;
    }
    let uri = server.uri();
    let workspace = Workspace::new();
    workspace.config(&format!(
        r#"
[[source]]
id = "alpha"
title = "Alpha & friends"
url = "{uri}/alpha.xml"
page_url = "https://alpha.example.org/news"
kind = "feed"

[[source]]
id = "beta"
title = "Beta"
url = "{uri}/beta.xml"
kind = "feed"

[[channel]]
id = "all"
title = "Everything"
sources = ["alpha", "beta"]
"#
    ));
    let (code, stdout, stderr) = workspace.run("2022-12-01T10:00:00Z");
    assert_eq!(code, 0, "{stdout}{stderr}");
    let document = OPML::from_str(&workspace.published("feeds.opml")).expect("feeds.opml is OPML");
    let outlines: Vec<(String, Option<String>, Option<String>)> = document
        .body
        .outlines
        .iter()
        .map(|outline| (outline.text.clone(), outline.xml_url.clone(), outline.html_url.clone()))
        .collect();
    let line = |title: &str, xml: &str, html: &str| (title.to_string(), Some(xml.to_string()), Some(html.to_string()));
    assert_eq!(
        outlines,
        [
            line("Alpha & friends", "https://feeds.example.org/alpha/rss.xml", "https://alpha.example.org/news"),
            line("Beta", "https://feeds.example.org/beta/rss.xml", &format!("{uri}/beta.xml")),
            line("Everything", "https://feeds.example.org/all/rss.xml", "https://feeds.example.org/"),
        ]
    );
    assert!(document.body.outlines.iter().all(|outline| outline.title.as_deref() == Some(outline.text.as_str())));
}
