//! Fetch stage: which addresses a fetch may reach. Pages and feeds are written by
//! strangers, so a link, an article page, a next page or a redirect must not lead
//! octofeed into the machine it runs on or the network behind it (SSRF).
//!
//! The rule: a loopback, private (RFC 1918, ULA), link-local (cloud metadata
//! included) or otherwise non-public address may be reached only through a host
//! the config itself named as a source, unless `[site] allow_private` is set. It is
//! checked on the addresses a host name resolves to, at connect time (so a name
//! that resolves to a public address once and a private one later gains nothing),
//! and on IP-literal URLs before each request and each redirect.
//!
//! It does not decide what may be fetched at all (schemes, robots.txt): see `fetch`.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, RwLock};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// A host was refused because it is or resolves to a non-public address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host} is the non-public address {address}")]
pub struct PrivateAddress {
    pub host: String,
    pub address: IpAddr,
}

/// The hosts that may reach non-public addresses, shared by the resolver and the fetcher.
#[derive(Debug, Default)]
pub(super) struct AddressPolicy {
    allow_private: bool,
    /// Host names (lower case) and IP literals the config named.
    trusted: RwLock<HashSet<String>>,
}

impl AddressPolicy {
    pub(super) fn new(allow_private: bool) -> Arc<AddressPolicy> {
        Arc::new(AddressPolicy { allow_private, trusted: RwLock::default() })
    }

    /// Records that the config named `url`: its host may be private.
    pub(super) fn trust(&self, url: &Url) {
        if let Some(host) = url.host_str() {
            let mut trusted = self.trusted.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            if !trusted.contains(host) {
                trusted.insert(host.to_ascii_lowercase());
            }
        }
    }

    fn is_trusted(&self, host: &str) -> bool {
        self.allow_private || self.trusted.read().unwrap_or_else(|poisoned| poisoned.into_inner()).contains(host)
    }

    /// Checks an IP-literal URL (the resolver never sees those); host names pass here.
    pub(super) fn check_url(&self, url: &Url) -> Result<(), PrivateAddress> {
        let address = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        let host = url.host_str().unwrap_or_default();
        if is_public(address) || self.is_trusted(host) {
            Ok(())
        } else {
            Err(PrivateAddress { host: host.to_owned(), address })
        }
    }

    /// The addresses of `host` that may be connected to; an error when every one was refused.
    fn filter(&self, host: &str, found: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, PrivateAddress> {
        if self.is_trusted(host) {
            return Ok(found);
        }
        let refused = found.iter().find(|address| !is_public(address.ip())).copied();
        let allowed: Vec<SocketAddr> = found.into_iter().filter(|address| is_public(address.ip())).collect();
        match (allowed.is_empty(), refused) {
            (true, Some(refused)) => Err(PrivateAddress { host: host.to_owned(), address: refused.ip() }),
            _ => Ok(allowed),
        }
    }
}

/// reqwest's resolver: the system's (through Tokio), with [`AddressPolicy`] applied.
pub(super) struct GuardedResolver(pub(super) Arc<AddressPolicy>);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.0);
        Box::pin(async move {
            let host = name.as_str().to_ascii_lowercase();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = policy.filter(&host, found)?;
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Whether `address` is on the public internet: not loopback, private, link-local,
/// shared (CGNAT), unspecified, broadcast, multicast or reserved.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(mapped) => is_public_v4(mapped),
            None => is_public_v6(ip),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b);
    let reserved = a == 0 || a >= 240;
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || shared
        || reserved)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00;
    let link_local = first & 0xffc0 == 0xfe80;
    !(ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() || unique_local || link_local)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn loopback_private_link_local_and_metadata_addresses_are_not_public() {
        for address in [
            "127.0.0.1",
            "127.0.0.2",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(ip(address)), "{address}");
        }
        for address in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(ip(address)), "{address}");
        }
    }

    #[test]
    fn an_ip_literal_is_refused_unless_the_config_named_its_host() {
        let policy = AddressPolicy::new(false);
        let metadata = Url::parse("http://169.254.169.254/latest/meta-data/").unwrap();
        let refused = policy.check_url(&metadata).unwrap_err();
        assert_eq!(refused.address, ip("169.254.169.254"));
        assert!(refused.to_string().contains("169.254.169.254"), "{refused}");
        let configured = Url::parse("http://127.0.0.1:8080/news").unwrap();
        policy.trust(&configured);
        assert!(policy.check_url(&Url::parse("http://127.0.0.1:9999/other").unwrap()).is_ok());
        assert!(policy.check_url(&Url::parse("http://127.0.0.2/").unwrap()).is_err());
        assert!(policy.check_url(&Url::parse("https://example.org/").unwrap()).is_ok(), "names go to the resolver");
    }

    #[test]
    fn resolved_private_addresses_are_dropped_and_all_private_is_an_error() {
        let policy = AddressPolicy::new(false);
        let public: SocketAddr = "93.184.216.34:0".parse().unwrap();
        let private: SocketAddr = "10.0.0.5:0".parse().unwrap();
        assert_eq!(policy.filter("mixed.example", vec![private, public]).unwrap(), vec![public]);
        let refused = policy.filter("rebound.example", vec![private]).unwrap_err();
        assert_eq!(refused, PrivateAddress { host: "rebound.example".into(), address: private.ip() });
        policy.trust(&Url::parse("http://intranet.example/").unwrap());
        assert_eq!(policy.filter("intranet.example", vec![private]).unwrap(), vec![private]);
    }

    #[test]
    fn allow_private_lifts_the_rule() {
        let policy = AddressPolicy::new(true);
        assert!(policy.check_url(&Url::parse("http://169.254.169.254/").unwrap()).is_ok());
        let private: SocketAddr = "10.0.0.5:0".parse().unwrap();
        assert_eq!(policy.filter("anything.example", vec![private]).unwrap(), vec![private]);
    }
}
