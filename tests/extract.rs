//! Extraction and normalization over every fixture: the counts fixtures/README.md
//! gives, and chosen field values (clean titles, dates, places, resolved links).
//!
//! Library API only (`extract_listing` + `normalize`); no fetching, no store.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use octofeed::model::Item;
use octofeed::normalize::Normalized;

use common::{extract_source, fixture_text, offline_config, parse_config};

/// What a fixture must give, as fixtures/README.md counts it.
struct Expected {
    raw: usize,
    items: usize,
    dated: usize,
    warnings: usize,
}

fn check_counts(what: &str, (raw, normalized): &(usize, Normalized), expected: Expected) {
    assert_eq!(*raw, expected.raw, "{what}: raw items");
    assert_eq!(normalized.items.len(), expected.items, "{what}: items");
    let dated = normalized.items.iter().filter(|item| item.published.is_some()).count();
    assert_eq!(dated, expected.dated, "{what}: dated items");
    assert_eq!(normalized.warnings.len(), expected.warnings, "{what}: warnings {:?}", normalized.warnings);
    for item in &normalized.items {
        assert_clean(what, &item.title);
        if let Some(summary) = &item.summary {
            assert_clean(what, summary);
        }
    }
}

/// Clean text: trimmed, single spaces, entities decoded (no `&amp;` left from a
/// single escape), no control characters.
fn assert_clean(what: &str, text: &str) {
    assert!(!text.is_empty(), "{what}: empty text");
    assert_eq!(text, text.trim(), "{what}: untrimmed {text:?}");
    assert!(!text.contains("  "), "{what}: double space in {text:?}");
    assert!(!text.chars().any(|c| c.is_control()), "{what}: control character in {text:?}");
    assert!(!text.contains("&#") && !text.contains("&nbsp;") && !text.contains("&ndash;"), "{what}: {text:?}");
}

fn count(items: &[Item], has: impl Fn(&Item) -> bool) -> usize {
    items.iter().filter(|item| has(item)).count()
}

fn item<'a>(items: &'a [Item], title_start: &str) -> &'a Item {
    items
        .iter()
        .find(|item| item.title.starts_with(title_start))
        .unwrap_or_else(|| panic!("no item titled {title_start:?}"))
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> Option<DateTime<Utc>> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).single()
}

#[test]
fn octopus_pages_give_their_activities_with_dates_and_places() {
    let config = offline_config();
    for (file, raw, dated) in
        [("coe/octopus-2022-06.html", 18, 17), ("coe/octopus-2022-12.html", 22, 21), ("coe/octopus-es.html", 11, 11)]
    {
        let id = if file.ends_with("es.html") { "octopus-es" } else { "octopus" };
        let found = extract_source(&config, id, &fixture_text(file));
        check_counts(file, &found, Expected { raw, items: raw, dated, warnings: 0 });
        assert_eq!(count(&found.1.items, |item| item.location.is_some()), dated, "{file}: locations");
        for item in &found.1.items {
            assert!(item.link.starts_with("https://www.coe.int/"), "{file}: {}", item.link);
            assert!(!item.link.contains("&amp;"), "{file}: {}", item.link);
        }
    }
}

#[test]
fn octopus_december_field_values() {
    let (_, found) = extract_source(&offline_config(), "octopus", &fixture_text("coe/octopus-2022-12.html"));
    let items = &found.items;
    let pacific = item(items, "Pacific Islands: regional workshop");
    assert_eq!(pacific.published, utc(2022, 11, 29, 11, 0), "29-30 November 2022: noon of the first day, Paris time");
    assert_eq!(pacific.location.as_deref(), Some("Online"));
    assert_eq!(
        pacific.link,
        "https://www.coe.int/en/web/cybercrime/-/pacific-islands-regional-workshop-on-the-second-additional-protocol"
    );
    let may = item(items, "12-13 May: International conference");
    assert_eq!(may.published, utc(2022, 5, 5, 10, 0), "the meta line's 5 May 2022, not the title's 12-13 May");
    assert_eq!(may.location.as_deref(), Some("Strasbourg"));
    let un = item(items, "Octopus Project at the UN Ad Hoc Committee");
    assert_eq!(un.location.as_deref(), Some("New York, United States of America"));
    let call = item(items, "Octopus Project: call for experts");
    assert_eq!((call.published, call.location.as_deref()), (None, None));
    assert!(call.summary.is_some(), "the summary is found without a meta line");
    let webinars = count(items, |item| item.title == "Webinar series on the Second Additional Protocol");
    assert_eq!(webinars, 3, "same title, three slugs: three items");
    let summary = may.summary.as_deref().unwrap_or_default();
    assert!(summary.chars().count() <= 300, "{summary}");
}

#[test]
fn older_asset_publisher_links_resolve_and_keep_their_whole_query() {
    let (_, found) = extract_source(&offline_config(), "octopus", &fixture_text("coe/octopus-2022-12.html"));
    let begun = item(&found.items, "The Council of Europe’s new global Octopus Project has begun!");
    assert_eq!(
        begun.link,
        "https://www.coe.int/en/web/cybercrime/octopus-project/-/asset_publisher/Ps1eLhrKxhwP/content/\
         the-council-of-europes-new-global-octopus-project-has-begun-?inheritRedirect=false&redirect=\
         https%3A%2F%2Fwww.coe.int%2Fen%2Fweb%2Fcybercrime%2Foctopus-project%3Fp_p_id%3D101_INSTANCE_Ps1eLhrKxhwP\
         %26p_p_lifecycle%3D0%26p_p_state%3Dnormal%26p_p_mode%3Dview%26p_p_col_id%3Dcolumn-4%26p_p_col_count%3D1"
    );
    assert_eq!(begun.guid, begun.link, "no fragment, no utm_*: the guid is the link");
}

#[test]
fn a_label_before_the_date_is_skipped() {
    let (_, found) = extract_source(&offline_config(), "octopus", &fixture_text("coe/octopus-2022-12.html"));
    let headline = found
        .items
        .iter()
        .find(|item| item.date_text.as_deref() == Some("15 September 2022"))
        .expect("the headline item");
    assert_eq!(headline.location.as_deref(), Some("Strasbourg, France"));
    assert_eq!(headline.published, utc(2022, 9, 15, 10, 0));
}

#[test]
fn spanish_page_dates_and_places() {
    let (_, found) = extract_source(&offline_config(), "octopus-es", &fixture_text("coe/octopus-es.html"));
    let septiembre = found.items.iter().find(|item| item.date_text.as_deref() == Some("17 Septiembre 2024"));
    let septiembre = septiembre.expect("17 Septiembre 2024");
    assert_eq!(septiembre.published, utc(2024, 9, 17, 10, 0));
    assert_eq!(septiembre.location.as_deref(), Some("Estrasburgo"));
    assert!(found.items.iter().all(|item| item.link.starts_with("https://www.coe.int/es/web/cybercrime/-/")));
}

#[test]
fn publications_give_month_dates_and_typed_enclosures() {
    let config = offline_config();
    for (file, items, enclosures) in
        [("coe/octopus-2022-06.html", 13, 21), ("coe/octopus-2022-12.html", 14, 25), ("coe/octopus-es.html", 3, 3)]
    {
        let found = extract_source(&config, "octopus-resources", &fixture_text(file));
        check_counts(file, &found, Expected { raw: items, items, dated: items, warnings: 0 });
        let all: Vec<_> = found.1.items.iter().flat_map(|item| &item.enclosures).collect();
        assert_eq!(all.len(), enclosures, "{file}: enclosures");
        if file.ends_with("12.html") {
            let typed = |mime: &str| all.iter().filter(|e| e.mime_type == mime).count();
            assert_eq!((typed("application/pdf"), typed("audio/mpeg"), typed("text/html")), (7, 3, 15));
            let summary = item(&found.1.items, "Project summary");
            assert_eq!(summary.published, utc(2020, 8, 1, 10, 0), "August 2020 gives 1 August, noon Paris time");
        }
    }
}

#[test]
fn liferay_default_markup_gives_authors_and_tags() {
    let found = extract_source(&offline_config(), "iproceeds", &fixture_text("coe/liferay-default.html"));
    check_counts("iproceeds", &found, Expected { raw: 12, items: 12, dated: 12, warnings: 0 });
    let items = &found.1.items;
    assert!(items.iter().all(|item| item.authors == ["Cybercrime Programme Office"]), "{:?}", items[0].authors);
    assert!(items.iter().all(|item| (1..=2).contains(&item.categories.len())));
    assert_eq!(items.iter().filter_map(|item| item.published).min(), utc(2019, 2, 5, 11, 0));
    assert_eq!(items.iter().filter_map(|item| item.published).max(), utc(2019, 10, 8, 10, 0));
    assert!(items.iter().all(|item| item.link.contains("/-/asset_publisher/") && !item.link.contains("&amp;")));
}

#[test]
fn news_list_gives_thumbnails_and_places() {
    let found = extract_source(&offline_config(), "news", &fixture_text("coe/news.html"));
    check_counts("news", &found, Expected { raw: 15, items: 15, dated: 15, warnings: 0 });
    let items = &found.1.items;
    assert_eq!(count(items, |item| item.location.is_some()), 15);
    assert_eq!(count(items, |item| item.image.is_some()), 6);
    assert!(
        items
            .iter()
            .filter_map(|item| item.image.as_deref())
            .all(|url| url.starts_with("https://www.coe.int/documents/"))
    );
    assert!(items.iter().any(|item| item.location.as_deref() == Some("Chișinău, Republic of Moldova")));
}

#[test]
fn numeric_dates_read_day_first_and_an_unreadable_date_is_one_warning() {
    let found = extract_source(&offline_config(), "news-2016", &fixture_text("coe/numeric-dates.html"));
    check_counts("news-2016", &found, Expected { raw: 10, items: 10, dated: 9, warnings: 1 });
    assert!(found.1.warnings[0].contains("11-13 April 2016"), "{:?}", found.1.warnings);
    let items = &found.1.items;
    assert_eq!(count(items, |item| item.location.is_some()), 10);
    let glacy = item(items, "GLACY: integrating cybercrime into judicial training curricula");
    assert_eq!(glacy.published, None, "kept, undated");
    let april_20 = items.iter().find(|item| item.date_text.as_deref() == Some("20/04/2016")).expect("20/04/2016");
    assert_eq!(april_20.published, utc(2016, 4, 20, 10, 0), "20 April, not 4 August");
}

#[test]
fn wordpress_archive_uses_time_datetime_and_base_href() {
    let found = extract_source(&offline_config(), "wordpress", &fixture_text("wild/wordpress.html"));
    check_counts("wordpress", &found, Expected { raw: 10, items: 10, dated: 10, warnings: 0 });
    let items = &found.1.items;
    let base = "https://cyberlaw-observatory.example.org/blog/";
    assert!(items.iter().all(|item| item.link.starts_with(base)), "links resolve against <base href>");
    let first = &items[1];
    assert_eq!(first.published, utc(2024, 3, 5, 8, 30), "2024-03-05T09:30:00+01:00");
    assert_eq!(first.link, format!("{base}2024/03/05/e-evidence-regulation-what-changes-for-service-providers/"));
    assert_eq!(items[0].published, utc(2023, 9, 1, 6, 0), "the sticky post stays first, in page order");
    assert_eq!(count(items, |item| item.authors.len() == 1), 10);
    assert!(items.iter().all(|item| (1..=3).contains(&item.categories.len())));
    assert_eq!(count(items, |item| item.image.is_some()), 8, "7 plain images and 1 lazy one");
    assert!(items.iter().all(|item| !item.title.contains("&#8211;")));
    assert!(items.iter().any(|item| item.summary.as_deref().is_some_and(|s| s.ends_with("[…]"))));
}

#[test]
fn lazy_image_with_a_data_uri_src_takes_data_src() {
    let (_, found) = extract_source(&offline_config(), "wordpress", &fixture_text("wild/wordpress.html"));
    let ransomware = item(&found.items, "Ransomware payments");
    assert_eq!(
        ransomware.image.as_deref(),
        Some(
            "https://cyberlaw-observatory.example.org/blog/wp-content/uploads/2024/02/ransomware-payments-and-the-law-825x510.jpg"
        )
    );
}

#[test]
fn news_table_reads_day_first_numeric_dates_with_a_format() {
    let found = extract_source(&offline_config(), "news-table", &fixture_text("wild/news-table.html"));
    check_counts("news-table", &found, Expected { raw: 14, items: 14, dated: 14, warnings: 0 });
    let items = &found.1.items;
    assert_eq!(items.iter().map(|item| item.categories.len()).sum::<usize>(), 14);
    assert_eq!(items.iter().map(|item| item.enclosures.len()).sum::<usize>(), 5);
    assert!(items.iter().flat_map(|item| &item.enclosures).all(|e| e.mime_type == "application/pdf"));
    assert_eq!(items[0].link, "https://police-cyber.example.net/en/press/news.php?id=1042&lang=en");
    assert_eq!(items[0].published, utc(2024, 3, 5, 10, 0), "05.03.2024 in Europe/Chisinau");
    let january = items.iter().find(|item| item.date_text.as_deref() == Some("9.1.2024")).expect("9.1.2024");
    assert_eq!(january.published, utc(2024, 1, 9, 10, 0), "9 January, not 1 September");
}

#[test]
fn latin1_page_decodes_its_french_months() {
    let found = extract_source(&offline_config(), "latin1-fr", &fixture_text("wild/latin1-fr.html"));
    check_counts("latin1-fr", &found, Expected { raw: 12, items: 12, dated: 12, warnings: 0 });
    let items = &found.1.items;
    assert!(items.iter().all(|item| !item.title.contains('\u{fffd}')), "no undecodable bytes");
    assert_eq!(items[0].title, "Rapport annuel : la cybercriminalité en hausse de 8 %");
    assert_eq!(items[0].link, "https://www.observatoire-cyber.example.fr/spip.php?article1287");
    let by_date_text = |text: &str| {
        items.iter().find(|item| item.date_text.as_deref() == Some(text)).unwrap_or_else(|| panic!("{text}")).published
    };
    assert_eq!(by_date_text("vendredi 3 février 2023"), utc(2023, 2, 3, 11, 0));
    assert_eq!(by_date_text("1er décembre 2022"), utc(2022, 12, 1, 11, 0));
    assert_eq!(by_date_text("15 août 2022"), utc(2022, 8, 15, 10, 0));
    assert_eq!(by_date_text("juin 2022"), utc(2022, 6, 1, 10, 0));
    assert!(items.iter().any(|item| item.title.contains("« Preuve numérique et procès pénal »")));
    assert_eq!(count(items, |item| !item.authors.is_empty()), 12);
}

const EDGE_CASES: &str = r#"
[site]
title = "Edge cases"

[[source]]
id = "edge"
url = "https://news.example.org/cybercrime/"
timezone = "Europe/Paris"

[source.select]
item = "ul.news > li.news-item"
title = "h3"
link = "h3 a"
date = ".date"
summary = ".summary"
"#;

#[test]
fn edge_cases_page_skips_merges_and_cleans() {
    let found = extract_source(&parse_config(EDGE_CASES), "edge", &fixture_text("wild/edge-cases.html"));
    check_counts("edge-cases", &found, Expected { raw: 21, items: 15, dated: 13, warnings: 4 });
    let (_, normalized) = &found;
    let untitled = normalized.warnings.iter().filter(|warning| warning.contains("has no title")).count();
    assert_eq!(untitled, 3, "{:?}", normalized.warnings);
    assert!(normalized.warnings.iter().any(|warning| warning.contains("\"date to be confirmed\"")));
    let items = &normalized.items;
    let titles: Vec<&str> = items.iter().map(|item| item.title.as_str()).collect();
    assert!(titles.contains(&"Cybercrime convention: new ratification"), "{titles:?}");
    assert!(titles.contains(&"Law enforcement &amp; service providers: a new toolkit"), "escaped once: {titles:?}");
    assert!(titles.contains(&"Second Protocol enters into force"), "{titles:?}");
    assert!(titles.contains(&"Octopus Conference 2021 report"), "a vertical tab is a space: {titles:?}");
    assert!(titles.contains(&"E\u{2011}evidence – the new rules"), "{titles:?}");
    assert_eq!(item(items, "Octopus Conference").summary.as_deref(), Some("Key messages and presentations."));
    let page = "https://news.example.org/cybercrime/";
    assert_eq!(count(items, |item| item.link == page), 4, "no link, javascript: and mailto: link to the page");
    let subscribe = item(items, "Subscribe to our newsletter");
    assert_eq!((subscribe.link.as_str(), subscribe.guid.as_str()), ("https://news.example.org/cybercrime/#", page));
    assert_eq!(item(items, "Padded link").link, "https://news.example.org/news/padded-link");
    assert_eq!(item(items, "Partner news").link, "https://partner.example.org/News/Upper-Case");
    assert!(item(items, "Very long title").title.ends_with(" end"));
}

#[test]
fn a_table_field_without_css_reads_the_item_element() {
    let config = parse_config(
        r#"
[site]
title = "t"
[[source]]
id = "inline"
url = "https://example.org/list/"
[source.select]
item = "li"
title = { regex = '^(.+?) \d' }
link = "a"
date = { regex = '(\d{1,2} \p{L}+ \d{4})' }
location = { css = "span", attr = "data-place" }
"#,
    );
    let html = r#"<ul><li>Plenary <b>meeting</b> 24 November 2022 <span data-place="Strasbourg">.</span>
        <a href="../a/b?x=1&amp;y=2#frag">more</a></li></ul>"#;
    let (_, found) = extract_source(&config, "inline", html);
    let only = &found.items[0];
    assert_eq!(only.title, "Plenary meeting");
    assert_eq!(only.date_text.as_deref(), Some("24 November 2022"));
    assert_eq!(only.published, utc(2022, 11, 24, 12, 0), "noon UTC by default");
    assert_eq!(only.location.as_deref(), Some("Strasbourg"));
    assert_eq!(only.link, "https://example.org/a/b?x=1&y=2#frag");
    assert_eq!(only.guid, "https://example.org/a/b?x=1&y=2");
}

const ARTICLE_DETAIL: &str = r#"
[site]
title = "Articles"

[[source]]
id = "octopus"
url = "https://www.coe.int/en/web/cybercrime/octopus-project"
timezone = "Europe/Paris"

[source.select]
item = "div.element"
title = "h3"
link = "h3 a"

[source.detail]
content = ".asset-full-content .journal-content-article h1 + * + *"
date = { css = ".asset-full-content .journal-content-article h1 + *", regex = '(\d{1,2}(?:\s+\p{L}+)?(?:\s*[-–]\s*\d{1,2})?\s+\p{L}+\s+\d{4})\s*$' }
location = { css = ".asset-full-content .journal-content-article h1 + *", regex = '^(.+?)\s+\d{1,2}(?:\s+\p{L}+)?(?:\s*[-–]\s*\d{1,2})?\s+\p{L}+\s+\d{4}\s*$' }
"#;

fn article(file: &str, slug: &str) -> octofeed::extract::RawItem {
    let config = parse_config(ARTICLE_DETAIL);
    let source = config.source("octopus").expect("octopus");
    let octofeed::config::SourceKind::Html(rules) = &source.kind else { panic!("html source") };
    let detail = rules.detail.as_ref().expect("[source.detail]");
    let page = url::Url::parse(&format!("https://www.coe.int/en/web/cybercrime/-/{slug}")).expect("url");
    octofeed::extract::extract_detail(&fixture_text(file), &page, detail)
}

#[test]
fn article_content_is_sanitized_with_absolute_links() {
    let raw = article("coe/article.html", "the-netherlands-makes-a-voluntary-contribution-to-the-octopus-project");
    assert_eq!(raw.date.as_deref(), Some("24 November 2022"));
    assert_eq!(raw.location.as_deref(), Some("Strasbourg, France"));
    let content = raw.content.expect("content");
    assert!(
        content.contains(r#"href="https://www.coe.int/en/web/cybercrime/second-additional-protocol""#),
        "{content}"
    );
    for unsafe_part in ["<script", "onerror", "onclick", "javascript:", "<iframe"] {
        assert!(!content.contains(unsafe_part), "{unsafe_part} left in {content}");
    }
}

#[test]
fn lazy_image_in_article_content_keeps_its_data_src_address() {
    let raw = article("coe/article-2.html", "pacific-islands-regional-workshop-on-the-second-additional-protocol");
    assert_eq!(raw.date.as_deref(), Some("29-30 November 2022"));
    assert_eq!(raw.location.as_deref(), Some("Online"));
    let content = raw.content.expect("content");
    assert!(
        content.contains(
            r#"src="https://www.coe.int/documents/3520445/0/Pacific_workshop_2022.png/9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0""#
        ),
        "{content}"
    );
    assert!(!content.contains("data:image") && !content.contains("onmouseover") && !content.contains("<script"));
    assert!(content.contains(r#"href="https://www.coe.int/documents/"#), "{content}");
}
