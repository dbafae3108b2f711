//! The address a request came from, as sign-in throttling counts it.
//!
//! Behind a reverse proxy every connection comes from the proxy, so counting TCP peers would
//! count every user as one: five wrong passwords from anywhere would lock a victim out, and
//! fifty across all accounts would stop every sign-in. `X-Forwarded-For` names the client,
//! but anyone can send it, so it is read only from the proxies the operator lists in
//! `RAPPORT_TRUSTED_PROXIES`, and only as far as those proxies vouch for it: walking the
//! header from the right (the entry the last proxy appended), the first address that is not
//! itself a trusted proxy is the client. What a client wrote into the header itself sits
//! further left and is never reached.

use std::net::IpAddr;

use http::HeaderMap;

/// The client's address: the TCP peer, or, when the peer is a trusted proxy, the address
/// that proxy (and any trusted proxies before it) recorded in `X-Forwarded-For`.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> IpAddr {
    if !is_trusted(peer, trusted_proxies) {
        return peer;
    }
    // Several X-Forwarded-For headers form one list, in order (RFC 9110 §5.3).
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    for entry in entries.iter().rev() {
        match parse_entry(entry) {
            Some(address) if is_trusted(address, trusted_proxies) => continue,
            Some(address) => return address,
            // A proxy we trust would not write garbage: stop at the last address vouched for.
            None => return peer,
        }
    }
    peer
}

fn is_trusted(address: IpAddr, trusted_proxies: &[IpAddr]) -> bool {
    let address = address.to_canonical();
    trusted_proxies.iter().any(|p| p.to_canonical() == address)
}

/// An address as proxies write it: `203.0.113.7`, `2001:db8::1`, or `[2001:db8::1]`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let bare = entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .unwrap_or(entry);
    bare.parse::<IpAddr>().ok().map(|a| a.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        headers
    }

    const PROXY: &str = "127.0.0.1";

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let headers = forwarded(&["198.51.100.9"]);
        assert_eq!(
            client_address(ip("203.0.113.7"), &headers, &[]),
            ip("203.0.113.7")
        );
        // A client connecting directly cannot pose as someone else by sending the header.
        assert_eq!(
            client_address(ip("203.0.113.7"), &headers, &[ip(PROXY)]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_client_is_the_address_it_appended() {
        let trusted = [ip(PROXY)];
        assert_eq!(
            client_address(ip(PROXY), &forwarded(&["198.51.100.9"]), &trusted),
            ip("198.51.100.9")
        );
        // What the client wrote itself comes before what the proxy appended.
        assert_eq!(
            client_address(
                ip(PROXY),
                &forwarded(&["10.9.9.9, 192.0.2.1", "198.51.100.9"]),
                &trusted
            ),
            ip("198.51.100.9")
        );
        // Several trusted proxies in a row are skipped; IPv6 in brackets and IPv4-mapped
        // addresses compare as the addresses they are.
        let chain = [ip(PROXY), ip("10.0.0.2")];
        assert_eq!(
            client_address(
                ip("::ffff:127.0.0.1"),
                &forwarded(&["[2001:db8::7], 10.0.0.2"]),
                &chain
            ),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn a_missing_or_garbled_header_counts_the_proxy() {
        let trusted = [ip(PROXY)];
        assert_eq!(
            client_address(ip(PROXY), &HeaderMap::new(), &trusted),
            ip(PROXY)
        );
        assert_eq!(
            client_address(ip(PROXY), &forwarded(&["198.51.100.9, unknown"]), &trusted),
            ip(PROXY)
        );
    }
}
