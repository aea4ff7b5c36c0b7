//! The newsletter feed (`<id>/new.xml`) over a sequence of Octopus snapshots,
//! read the way the two kinds of newsletter tools read feeds: one sends items
//! whose pubDate is after its last send (Mailchimp, MailerLite, FeedOtter), the
//! other sends items whose guid it has not seen (Buttondown, rss2email). Each
//! must get every genuinely new item exactly once and nothing else; and no feed
//! may show a date in the future.

mod store_kit;

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use store_kit::*;

/// Two activities added to the December page: one dated by its event three
/// months after the run (announced ahead), one dated weeks before it.
const ADDED: &str = r#"<div class="element clearfix">
    <h3><a href="/en/web/cybercrime/-/octopus-conference-2023-registration">Octopus Conference 2023: registration opens</a></h3>
    <p class="date-place"><span class="date">13-15 December 2023</span> <span class="place">Bucharest, Romania</span></p>
    <div class="abstract">Registration for the Octopus Conference is open until the end of October.</div>
    <div class="read-more"><a href="/en/web/cybercrime/-/octopus-conference-2023-registration">Read More</a></div>
</div>
<div class="element clearfix">
    <h3><a href="/en/web/cybercrime/-/sri-lanka-workshop-on-electronic-evidence">Sri Lanka: workshop on electronic evidence</a></h3>
    <p class="date-place"><span class="date">5 October 2022</span> <span class="place">Colombo, Sri Lanka</span></p>
    <div class="abstract">Judges and prosecutors of Sri Lanka worked on the admissibility of electronic evidence.</div>
    <div class="read-more"><a href="/en/web/cybercrime/-/sri-lanka-workshop-on-electronic-evidence">Read More</a></div>
</div>
"#;

const FIRST_ELEMENT: &str = r#"<div class="element clearfix">"#;

/// The December page with [`ADDED`] on top of its list.
fn december_with_additions() -> String {
    let page = std::fs::read_to_string(fixture(DECEMBER)).expect("the December page");
    let at = page.find(FIRST_ELEMENT).expect("the list of activities");
    format!("{}{ADDED}{}", &page[..at], &page[at..])
}

/// The same page, with one summary edited: an update, not a new item.
fn december_edited() -> String {
    december_with_additions().replace("until the end of October.", "until 31 October 2023.")
}

/// (guid, pubDate) of every item of a published RSS file.
fn items_of(path: &Path) -> Vec<(String, DateTime<Utc>)> {
    parse_feed(path)
        .entries
        .into_iter()
        .map(|entry| (entry.id, entry.published.expect("every item has a pubDate")))
        .collect()
}

/// A tool that sends the items dated after its last send.
struct ByDate {
    last_send: DateTime<Utc>,
    sent: Vec<String>,
}

impl ByDate {
    fn send(&mut self, feed: &[(String, DateTime<Utc>)], now: DateTime<Utc>) -> usize {
        let fresh: Vec<String> =
            feed.iter().filter(|(_, date)| *date > self.last_send).map(|(guid, _)| guid.clone()).collect();
        self.last_send = now;
        self.sent.extend(fresh.iter().cloned());
        fresh.len()
    }
}

/// A tool that sends the items whose guid it has not seen; the first read only learns them.
struct ByGuid {
    seen: HashSet<String>,
    sent: Vec<String>,
}

impl ByGuid {
    fn send(&mut self, feed: &[(String, DateTime<Utc>)]) -> usize {
        let fresh: Vec<String> =
            feed.iter().filter(|(guid, _)| self.seen.insert(guid.clone())).map(|(guid, _)| guid.clone()).collect();
        self.sent.extend(fresh.iter().cloned());
        fresh.len()
    }
}

#[test]
fn date_and_guid_based_newsletters_get_every_new_item_once_and_nothing_else() {
    let dir = tempfile::tempdir().expect("a temp dir");
    serve_page(dir.path(), "octopus.html", JUNE);
    let config = write_config(dir.path(), "", &[octopus_source("octopus", "file:octopus.html", "max_items = 100")]);
    let public = dir.path().join("public/octopus");
    let newsletter = public.join("new.xml");
    let main = public.join("rss.xml");
    let guids = |path: &Path| items_of(path).into_iter().map(|(guid, _)| guid).collect::<BTreeSet<String>>();

    let first_run = clock(1, 8);
    let (code, report) = run_json(&config, first_run);
    assert_eq!(code, 0, "{report}");
    assert_eq!(items_of(&newsletter), items_of(&main), "a first run: the newsletter feed keeps the page's dates");
    // The tools subscribe after the first run, when every item is already known.
    let sent_at = |run: DateTime<Utc>| run + Duration::minutes(5);
    let mut by_date = ByDate { last_send: sent_at(first_run), sent: Vec::new() };
    let mut main_by_date = ByDate { last_send: sent_at(first_run), sent: Vec::new() };
    let mut by_guid = ByGuid { seen: guids(&newsletter).into_iter().collect(), sent: Vec::new() };

    let december = std::fs::read_to_string(fixture(DECEMBER)).expect("the December page");
    let snapshots = [
        ("December", december, 8),
        ("December + 2 added", december_with_additions(), 2),
        ("one summary edited", december_edited(), 0),
        ("unchanged", december_edited(), 0),
    ];
    let mut delivered = Vec::new();
    for (day, (name, page, genuinely_new)) in (2..).zip(snapshots) {
        std::fs::write(dir.path().join("octopus.html"), page).expect("the snapshot written");
        let before = guids(&main);
        let run = clock(day, 8);
        let (code, report) = run_json(&config, run);
        assert_eq!(code, 0, "{name}: {report}");
        let new_guids: BTreeSet<String> = guids(&main).difference(&before).cloned().collect();
        assert_eq!(new_guids.len(), genuinely_new, "{name}: items new to the store");
        assert_eq!(source_report(&report, "octopus")["items_new"], genuinely_new, "{name}");

        let feed = items_of(&newsletter);
        for file in ["new.xml", "rss.xml", "atom.xml", "feed.json"] {
            let future: Vec<_> = parse_feed(&public.join(file))
                .entries
                .into_iter()
                .filter(|entry| entry.published.is_some_and(|date| date > run))
                .map(|entry| entry.id)
                .collect();
            assert!(future.is_empty(), "{name}: {file} dates {future:?} after the run");
        }
        let dates: Vec<DateTime<Utc>> = feed.iter().map(|(_, date)| *date).collect();
        assert!(dates.windows(2).all(|pair| pair[0] >= pair[1]), "{name}: newest first by first sight");

        let count_before = by_date.sent.len();
        let by_date_count = by_date.send(&feed, sent_at(run));
        let by_date_now: BTreeSet<String> = by_date.sent[count_before..].iter().cloned().collect();
        assert_eq!(by_date_now, new_guids, "{name}: the date-based newsletter sends exactly the new items");
        let guid_before = by_guid.sent.len();
        let by_guid_count = by_guid.send(&feed);
        let by_guid_now: BTreeSet<String> = by_guid.sent[guid_before..].iter().cloned().collect();
        assert_eq!(by_guid_now, new_guids, "{name}: the guid-based newsletter sends exactly the new items");
        let main_count = main_by_date.send(&items_of(&main), sent_at(run));
        delivered.push((name, genuinely_new, by_date_count, by_guid_count, main_count));
    }
    for (name, new, by_date, by_guid, main) in &delivered {
        println!("{name:<22} new {new}: new.xml by date {by_date}, by guid {by_guid}; rss.xml by date {main}");
    }
    let once = |sent: &[String]| sent.iter().collect::<HashSet<_>>().len() == sent.len();
    assert!(once(&by_date.sent) && once(&by_guid.sent), "nothing is sent twice");
    assert_eq!(by_date.sent.len(), 10);
    // What the issue found: the main feed, dated by the page, gives a date-based
    // tool none of December's 8 new items (their events were in the past).
    assert_eq!(delivered[0].4, 0, "rss.xml by date in December");

    let text = std::fs::read_to_string(&newsletter).expect("new.xml");
    assert!(
        text.contains("13-15 December 2023 · Bucharest, Romania — Registration"),
        "the event's date stays in the text"
    );
}
