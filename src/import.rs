//! Import: a user's OPML subscription list (read with the `opml` crate) becomes
//! `kind = "feed"` sources, written as TOML to print or to append to a config.
//!
//! Pure apart from [`append_to_config`]; it fetches none of the feeds.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use opml::{OPML, Outline};
use url::Url;

use crate::config::Config;
use crate::text::fold_accents;

/// Why an OPML file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {error}")]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{path} is not an OPML file the importer can read: {error}")]
    Opml { path: PathBuf, error: opml::Error },
    #[error("cannot append to {path}: {error}")]
    Write { path: PathBuf, error: std::io::Error },
    #[error("{path} would no longer pass `octofeed check` (left unchanged):\n{errors}")]
    Check { path: PathBuf, errors: crate::config::ConfigErrors },
}

/// One subscription, as a source to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// `[a-z0-9][a-z0-9-]*`, from the title, unique.
    pub id: String,
    pub title: String,
    pub url: Url,
    /// The outline folders it stood in ("News/Law"), empty at the top level.
    pub folder: String,
}

/// What an OPML file gave: subscriptions, and a warning per outline left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    pub subscriptions: Vec<Subscription>,
    pub warnings: Vec<String>,
}

/// Reads the subscriptions of `file`: every outline with an `xmlUrl`, in
/// document order, folders included. Ids avoid `taken` and each other; a feed
/// URL given twice (or already in `known_urls`) is imported once.
pub fn read_opml(file: &Path, taken: &HashSet<String>, known_urls: &HashSet<String>) -> Result<Imported, ImportError> {
    let text = std::fs::read_to_string(file).map_err(|error| ImportError::Read { path: file.to_path_buf(), error })?;
    let document = OPML::from_str(&text).map_err(|error| ImportError::Opml { path: file.to_path_buf(), error })?;
    let mut walk = Walk { taken: taken.clone(), urls: known_urls.clone(), out: Imported::default() };
    walk.outlines(&document.body.outlines, "");
    Ok(walk.out)
}

struct Walk {
    taken: HashSet<String>,
    urls: HashSet<String>,
    out: Imported,
}

impl Walk {
    fn outlines(&mut self, outlines: &[Outline], folder: &str) {
        for outline in outlines {
            let name = outline.title.as_deref().unwrap_or(&outline.text).trim();
            if let Some(xml_url) = outline.xml_url.as_deref() {
                self.subscription(name, xml_url.trim(), folder);
            }
            if !outline.outlines.is_empty() {
                let inner = if folder.is_empty() { name.to_string() } else { format!("{folder}/{name}") };
                self.outlines(&outline.outlines, &inner);
            }
        }
    }

    fn subscription(&mut self, name: &str, xml_url: &str, folder: &str) {
        let url = match Url::parse(xml_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => url,
            _ => {
                self.out.warnings.push(format!("\"{name}\": xmlUrl \"{xml_url}\" is not an http(s) URL: left out"));
                return;
            }
        };
        if !self.urls.insert(url.to_string()) {
            self.out.warnings.push(format!("\"{name}\": {url} is already a source: left out"));
            return;
        }
        let title = if name.is_empty() { url.host_str().unwrap_or("feed").to_string() } else { name.to_string() };
        let id = unique_id(&slugify(&title), &mut self.taken);
        self.out.subscriptions.push(Subscription { id, title, url, folder: folder.to_string() });
    }
}

/// A title as an id: ASCII letters and digits lower-cased, every other run of
/// characters one `-`, no `-` at either end; `feed` when nothing is left.
pub fn slugify(title: &str) -> String {
    let mut slug = String::with_capacity(title.len());
    for c in fold_accents(title).chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() { "feed".to_string() } else { slug.to_string() }
}

/// `base`, or `base-2`, `base-3`… whichever is free; marks it taken.
/// `base`, or `base-2`, `base-3`… whichever is not taken yet; it is taken from then on.
pub fn unique_id(base: &str, taken: &mut HashSet<String>) -> String {
    let id = (1..)
        .map(|n| if n == 1 { base.to_string() } else { format!("{base}-{n}") })
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| base.to_string());
    taken.insert(id.clone());
    id
}

/// `text` as a TOML string, quoted and escaped, for the sources written into configs.
pub fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// The subscriptions as `[[source]]` tables.
pub fn to_toml(subscriptions: &[Subscription]) -> String {
    let mut out = String::new();
    for subscription in subscriptions {
        if !subscription.folder.is_empty() {
            out.push_str(&format!("# folder: {}\n", subscription.folder.replace('\n', " ")));
        }
        out.push_str("[[source]]\n");
        out.push_str(&format!("id = {}\n", toml_string(&subscription.id)));
        out.push_str(&format!("title = {}\n", toml_string(&subscription.title)));
        out.push_str(&format!("url = {}\n", toml_string(subscription.url.as_str())));
        out.push_str("kind = \"feed\"\n\n");
    }
    out
}

/// The ids and source URLs a config file already uses, read leniently (the
/// file need not be valid yet); empty when there is no such file.
pub fn config_names(config: &Path) -> Result<(HashSet<String>, HashSet<String>), ImportError> {
    let text = match std::fs::read_to_string(config) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(error) => return Err(ImportError::Read { path: config.to_path_buf(), error }),
    };
    let table: toml::Table = text.parse().unwrap_or_default();
    let tables = |key: &str| {
        table
            .get(key)
            .and_then(toml::Value::as_array)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|value| value.as_table().cloned())
    };
    let field = |table: &toml::Table, key: &str| table.get(key).and_then(toml::Value::as_str).map(str::to_string);
    let ids = tables("source").chain(tables("channel")).filter_map(|t| field(&t, "id")).collect();
    let urls = tables("source").filter_map(|t| field(&t, "url")).collect();
    Ok((ids, urls))
}

/// Appends `sources` (TOML) to the config under a `# {note}` line, then loads
/// it as `octofeed check` does; when it no longer passes, the file is put back as it was.
pub fn append_to_config(config: &Path, sources: &str, note: &str) -> Result<(), ImportError> {
    let write_error = |error| ImportError::Write { path: config.to_path_buf(), error };
    let original = std::fs::read_to_string(config).map_err(write_error)?;
    let separator = if original.is_empty() || original.ends_with('\n') { "" } else { "\n" };
    let appended = format!("{original}{separator}\n# {note}\n{sources}");
    std::fs::write(config, appended).map_err(write_error)?;
    if let Err(errors) = Config::load(config) {
        std::fs::write(config, original).map_err(write_error)?;
        return Err(ImportError::Check { path: config.to_path_buf(), errors });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_become_ids_of_the_allowed_shape() {
        assert_eq!(slugify("Council of Europe — Cybercrime News!"), "council-of-europe-cybercrime-news");
        assert_eq!(slugify("Übersicht: Straße & Café"), "ubersicht-strasse-cafe");
        assert_eq!(slugify("  --2022 Report-- "), "2022-report");
        assert_eq!(slugify("日本語"), "feed");
    }

    #[test]
    fn ids_stay_unique() {
        let mut taken: HashSet<String> = ["news".to_string(), "news-2".to_string()].into();
        assert_eq!(unique_id("news", &mut taken), "news-3");
        assert_eq!(unique_id("news", &mut taken), "news-4");
        assert_eq!(unique_id("law", &mut taken), "law");
    }
}
