//! Pages that are not what they seem: a bot challenge (Cloudflare's "Just a
//! moment…", DataDome), a captcha, a login wall, or a JavaScript application
//! shell whose content a browser would build. When a listing page gives no
//! items, this says what was served instead, so the error names it rather than
//! blaming the selectors.
//!
//! Pure: it reads a parsed page and fetches nothing. It does not get past any
//! of these pages; it only recognises them.

use std::sync::LazyLock;

use scraper::{ElementRef, Html, Selector};

/// What a page turned out to be instead of content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interstitial {
    /// A bot check that lets browsers through after running its script.
    BotChallenge(&'static str),
    /// A page asking a human to solve a captcha.
    Captcha,
    /// A sign-in form where the content should be.
    LoginWall,
    /// An almost empty page of scripts: a JavaScript app that builds its content in the browser.
    AppShell,
}

impl std::fmt::Display for Interstitial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Interstitial::BotChallenge(vendor) => write!(f, "a {vendor} bot challenge"),
            Interstitial::Captcha => f.write_str("a captcha page"),
            Interstitial::LoginWall => f.write_str("a login form"),
            Interstitial::AppShell => f.write_str("a JavaScript app shell with no content (it needs a browser)"),
        }
    }
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("a valid selector")
}

static TITLE: LazyLock<Selector> = LazyLock::new(|| selector("title"));
static SCRIPT_SRC: LazyLock<Selector> = LazyLock::new(|| selector("script[src], iframe[src]"));
static SCRIPT: LazyLock<Selector> = LazyLock::new(|| selector("script"));
static CLOUDFLARE: LazyLock<Selector> =
    LazyLock::new(|| selector("#challenge-form, #cf-challenge-running, .cf-browser-verification, #cf-wrapper"));
static CAPTCHA: LazyLock<Selector> = LazyLock::new(|| selector(".g-recaptcha, .h-captcha, .cf-turnstile, #captcha"));
static PASSWORD: LazyLock<Selector> = LazyLock::new(|| selector("form input[type=password]"));
static BODY: LazyLock<Selector> = LazyLock::new(|| selector("body"));
static LINKS: LazyLock<Selector> = LazyLock::new(|| selector("a[href]"));

/// Visible text under this many characters makes a page "almost empty".
const EMPTY_PAGE_CHARS: usize = 200;
/// A page with less text than this, and a password field or a captcha, is a wall.
const LOGIN_PAGE_CHARS: usize = 1_500;

/// What `document` is, when it is one of the pages this module knows; `None` for
/// an ordinary page. Scripts of bot and captcha vendors also run on ordinary
/// pages (reCAPTCHA v3, DataDome's tag): outside Cloudflare's own challenge
/// markup, a page counts as a challenge only when it has little text besides.
pub fn recognise(document: &Html) -> Option<Interstitial> {
    let title = document.select(&TITLE).next().map(|title| title.text().collect::<String>()).unwrap_or_default();
    let title = title.trim().to_lowercase();
    let sources: Vec<String> =
        document.select(&SCRIPT_SRC).filter_map(|element| element.attr("src")).map(str::to_lowercase).collect();
    let from = |needle: &str| sources.iter().any(|src| src.contains(needle));
    if title.starts_with("just a moment")
        || title.contains("attention required! | cloudflare")
        || document.select(&CLOUDFLARE).next().is_some()
        || from("/cdn-cgi/challenge-platform/")
    {
        return Some(Interstitial::BotChallenge("Cloudflare"));
    }
    let text_chars = visible_text(document).chars().count();
    let little_text = text_chars < LOGIN_PAGE_CHARS;
    if little_text && (from("captcha-delivery.com") || from("datadome")) {
        return Some(Interstitial::BotChallenge("DataDome"));
    }
    let widget = document.select(&CAPTCHA).next().is_some();
    if little_text && (widget || from("recaptcha") || from("hcaptcha.com") || title.contains("captcha")) {
        return Some(Interstitial::Captcha);
    }
    if little_text && document.select(&PASSWORD).next().is_some() {
        return Some(Interstitial::LoginWall);
    }
    let scripts = document.select(&SCRIPT).count();
    let links = document.select(&LINKS).count();
    if scripts > 0 && links < 3 && text_chars < EMPTY_PAGE_CHARS {
        return Some(Interstitial::AppShell);
    }
    None
}

/// The body's text outside scripts, styles and `<noscript>`, whitespace collapsed.
fn visible_text(document: &Html) -> String {
    let Some(body) = document.select(&BODY).next() else { return String::new() };
    let mut words: Vec<&str> = Vec::new();
    collect_text(body, &mut words);
    words.join(" ")
}

fn collect_text<'a>(element: ElementRef<'a>, words: &mut Vec<&'a str>) {
    for child in element.children() {
        if let Some(text) = child.value().as_text() {
            words.extend(text.split_whitespace());
        } else if let Some(child) = ElementRef::wrap(child)
            && !matches!(child.value().name(), "script" | "style" | "noscript" | "template")
        {
            collect_text(child, words);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(html: &str) -> Option<Interstitial> {
        recognise(&Html::parse_document(html))
    }

    #[test]
    fn cloudflares_waiting_page_is_a_bot_challenge() {
        let html = r#"<html><head><title>Just a moment...</title></head><body><div id="cf-wrapper">
            <h1>Checking your browser before accessing news.example.org.</h1>
            <script src="/cdn-cgi/challenge-platform/h/b/orchestrate/jsch/v1"></script></div></body></html>"#;
        assert_eq!(page(html), Some(Interstitial::BotChallenge("Cloudflare")));
    }

    #[test]
    fn a_datadome_block_is_a_bot_challenge() {
        let html = r#"<html><head><title>news.example.org</title></head><body>
            <script src="https://ct.captcha-delivery.com/c.js"></script>
            <iframe src="https://geo.captcha-delivery.com/captcha/?initialCid=x"></iframe></body></html>"#;
        assert_eq!(page(html), Some(Interstitial::BotChallenge("DataDome")));
    }

    #[test]
    fn a_recaptcha_form_is_a_captcha_page() {
        let html = r#"<html><body><h1>Please confirm you are human</h1>
            <form><div class="g-recaptcha" data-sitekey="x"></div><button>Continue</button></form></body></html>"#;
        assert_eq!(page(html), Some(Interstitial::Captcha));
    }

    #[test]
    fn a_sign_in_form_is_a_login_wall() {
        let html = r#"<html><body><h1>Sign in to read the press releases</h1><form action="/login">
            <input name="user"><input type="password" name="pass"><button>Sign in</button></form></body></html>"#;
        assert_eq!(page(html), Some(Interstitial::LoginWall));
    }

    #[test]
    fn an_empty_root_and_a_bundle_is_an_app_shell() {
        let html = r#"<html><head><title>Newsroom</title></head><body><div id="root"></div>
            <noscript>You need to enable JavaScript to run this app.</noscript>
            <script src="/static/js/main.4f2a.js"></script></body></html>"#;
        assert_eq!(page(html), Some(Interstitial::AppShell));
    }

    #[test]
    fn ordinary_pages_are_none_of_these() {
        let listing = r#"<html><head><title>News</title><script src="/js/menu.js"></script></head><body>
            <ul><li><a href="/a">First news item of the week</a></li><li><a href="/b">Second item</a></li>
            <li><a href="/c">Third item</a></li></ul><p>Short page.</p></body></html>"#;
        assert_eq!(page(listing), None);
        let with_search_login = format!(
            "<html><body><form><input type=password></form>{}</body></html>",
            "<p>Long article text about the Budapest Convention and its protocols.</p>".repeat(40)
        );
        assert_eq!(page(&with_search_login), None, "a login box beside real content is no wall");
        let invisible_recaptcha = format!(
            "<html><body><script src=\"https://www.google.com/recaptcha/api.js?render=k\"></script>{}</body></html>",
            "<p>An article that protects its comment form with reCAPTCHA v3, invisibly.</p>".repeat(40)
        );
        assert_eq!(page(&invisible_recaptcha), None, "a captcha script on a real page is no captcha page");
    }
}
