//! Identity: the guid that keeps an item the same item across runs, and the
//! canonical form of URLs used to compare them.
//!
//! Pure functions of their inputs; nothing here reads the store.

use sha2::{Digest, Sha256};
use url::Url;

/// The guid of an item that has a link of its own: the absolute link without
/// its fragment and without `utm_*` tracking parameters.
pub fn guid_from_link(link: &Url) -> String {
    let mut url = link.clone();
    url.set_fragment(None);
    strip_tracking(&mut url);
    url.to_string()
}

/// The guid of an item without a link of its own: a name-based UUID over the
/// source id, title and date text, written as `urn:uuid:...` so it is a valid
/// Atom id and RSS guid.
pub fn guid_from_fields(source_id: &str, title: &str, date_text: Option<&str>) -> String {
    uuid_urn(&[source_id, title, date_text.unwrap_or("")])
}

/// A stable `urn:uuid:` named by `parts`: the SHA-256 of the parts shaped as an
/// RFC 9562 version 8 (custom) UUID.
pub fn uuid_urn(parts: &[&str]) -> String {
    let digest = hash_parts(parts);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex(&bytes);
    let (a, b, c, d, e) = (&hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]);
    format!("urn:uuid:{a}-{b}-{c}-{d}-{e}")
}

/// The form of a URL that two copies of one article share: no fragment, no
/// `utm_*` parameters, no trailing slash on the path. Parsing already
/// lower-cases scheme and host and drops a default port.
pub fn canonical_url(link: &str) -> Option<String> {
    let mut url = Url::parse(link).ok()?;
    url.set_fragment(None);
    strip_tracking(&mut url);
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(if path.is_empty() { "/" } else { &path });
    Some(url.to_string())
}

/// SHA-256 over parts separated by a byte that text never holds, so
/// ("ab", "c") and ("a", "bc") differ.
pub fn hash_parts(parts: &[&str]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher.finalize().into()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Removes `utm_*` query parameters; drops the `?` when none remain.
fn strip_tracking(url: &mut Url) {
    if url.query().is_none() {
        return;
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| !key.to_ascii_lowercase().starts_with("utm_"))
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let original = url.query_pairs().count();
    if kept.len() == original {
        return;
    }
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guid(link: &str) -> String {
        guid_from_link(&Url::parse(link).unwrap())
    }

    #[test]
    fn fragment_and_utm_parameters_are_dropped() {
        let clean = "https://www.coe.int/en/web/cybercrime/-/octopus-conference";
        assert_eq!(guid(&format!("{clean}#top")), clean);
        assert_eq!(guid(&format!("{clean}?utm_source=x&utm_medium=rss")), clean);
        assert_eq!(guid(&format!("{clean}?UTM_Campaign=y#frag")), clean);
    }

    #[test]
    fn other_query_parameters_are_kept_untouched() {
        let link = "https://www.coe.int/-/asset_publisher/hFPA5fbKjyCJ/content/slug?inheritRedirect=false&redirect=https%3A%2F%2Fwww.coe.int%2Fen";
        assert_eq!(guid(link), link);
        assert_eq!(guid("https://e.org/a?id=3&utm_source=feed"), "https://e.org/a?id=3");
    }

    #[test]
    fn field_guids_are_stable_uuids_that_depend_on_every_part() {
        let guid = guid_from_fields("octopus", "Conference", Some("24 November 2022"));
        assert_eq!(guid, guid_from_fields("octopus", "Conference", Some("24 November 2022")));
        assert!(guid.starts_with("urn:uuid:"), "{guid}");
        assert_eq!(guid.len(), "urn:uuid:".len() + 36);
        assert_eq!(&guid[9 + 14..9 + 15], "8", "version nibble: {guid}");
        assert_ne!(guid, guid_from_fields("octopus", "Conference", Some("25 November 2022")));
        assert_ne!(guid, guid_from_fields("news", "Conference", Some("24 November 2022")));
        assert_ne!(guid, guid_from_fields("octopus", "Conference", None));
    }

    #[test]
    fn canonical_urls_ignore_case_default_ports_slashes_fragments_and_tracking() {
        let canonical = canonical_url("https://www.coe.int/en/web/cybercrime/-/octopus").unwrap();
        for variant in [
            "HTTPS://WWW.COE.INT/en/web/cybercrime/-/octopus",
            "https://www.coe.int:443/en/web/cybercrime/-/octopus",
            "https://www.coe.int/en/web/cybercrime/-/octopus/",
            "https://www.coe.int/en/web/cybercrime/-/octopus#section",
            "https://www.coe.int/en/web/cybercrime/-/octopus?utm_source=newsletter",
        ] {
            assert_eq!(canonical_url(variant).unwrap(), canonical, "{variant}");
        }
        assert_ne!(
            canonical_url("https://www.coe.int/en/web/cybercrime/-/OCTOPUS").unwrap(),
            canonical,
            "paths keep their case"
        );
        assert_ne!(canonical_url("https://www.coe.int:8443/en/web/cybercrime/-/octopus").unwrap(), canonical);
        assert_eq!(canonical_url("http://e.org").unwrap(), "http://e.org/");
    }

    #[test]
    fn hash_parts_separates_parts() {
        assert_ne!(hash_parts(&["ab", "c"]), hash_parts(&["a", "bc"]));
    }
}
