//! Who sent a request: the direct peer, unless that peer is a trusted reverse proxy, in which
//! case the forwarding header it appended is read **from the right**.
//!
//! Each proxy appends the address it received the request from, so the right-most entry was
//! written by the proxy we trust, the one before it by the proxy before that, and so on. The
//! walk skips entries that are themselves trusted proxies and stops at the first one that is
//! not: that is the client. Anything to its left was written by the client (or by proxies we
//! know nothing of) and is never believed, so a spoofed `X-Forwarded-For: 203.0.113.9` sent
//! through a proxy only ever lands to the left of the client's real address. An entry that
//! cannot be read (garbage, `unknown`, an obfuscated RFC 7239 node) where the walk needs it
//! makes the client unknown, and the caller refuses rather than guess.

use std::net::{IpAddr, SocketAddr};

use super::cidr::{Cidr, any_contains};

/// Most entries read from one request's forwarding header: more than any real proxy chain,
/// and a bound on the work a hostile header can cause.
const MAX_HOPS: usize = 64;

/// The client's address, or `None` when it cannot be known. `chain` holds the forwarding
/// header's entries left to right (`None` for one that could not be read).
pub fn client_ip(peer: IpAddr, trusted: &[Cidr], chain: &[Option<IpAddr>]) -> Option<IpAddr> {
    if !any_contains(trusted, peer) {
        return Some(peer);
    }
    let mut client = peer;
    for entry in chain.iter().rev() {
        let ip = (*entry)?;
        client = ip;
        if !any_contains(trusted, ip) {
            break;
        }
    }
    Some(client)
}

/// The entries of `X-Forwarded-For` header values (several lines are one comma-separated
/// list, in order). An entry is an address, optionally with a port (`198.51.100.7:443`,
/// `[2001:db8::1]:443`); anything else is `None`. At most 64 entries, the right-most kept.
pub fn parse_x_forwarded_for<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Option<IpAddr>> {
    let entries: Vec<Option<IpAddr>> = values
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(|e| node(e.trim()))
        .collect();
    keep_right(entries)
}

/// The `for=` nodes of RFC 7239 `Forwarded` header values, one per forwarded-element, left to
/// right. An element without `for`, or whose node is `unknown` or obfuscated (`_hidden`), is
/// `None`. Quoted strings (with `\` escapes) may hold `,` and `;`.
pub fn parse_forwarded<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Option<IpAddr>> {
    let mut entries = Vec::new();
    for value in values {
        for element in split_outside_quotes(value, ',') {
            let mut found = None;
            for pair in split_outside_quotes(&element, ';') {
                let Some((key, raw)) = pair.split_once('=') else {
                    continue;
                };
                if key.trim().eq_ignore_ascii_case("for") {
                    found = Some(node(&unquote(raw.trim())));
                    break;
                }
            }
            entries.push(found.flatten());
            if entries.len() > 4 * MAX_HOPS {
                entries.drain(..entries.len() - MAX_HOPS);
            }
        }
    }
    keep_right(entries)
}

fn keep_right(mut entries: Vec<Option<IpAddr>>) -> Vec<Option<IpAddr>> {
    if entries.len() > MAX_HOPS {
        entries.drain(..entries.len() - MAX_HOPS);
    }
    entries
}

/// An address with an optional port: `198.51.100.7`, `198.51.100.7:80`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:80`.
fn node(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = text.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    inner.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
}

/// Splits on `sep` where it is not inside a quoted string.
fn split_outside_quotes(text: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => {
                current.push(c);
                escaped = true;
            }
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c == sep && !quoted => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    parts
}

/// The value of a token or quoted-string (RFC 7230 §3.2.6), escapes resolved.
fn unquote(raw: &str) -> String {
    let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return raw.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|c| c.parse().expect("cidr")).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = cidrs(&["10.0.0.0/8"]);
        let chain = parse_x_forwarded_for(["203.0.113.9"]);
        assert_eq!(
            client_ip(ip("198.51.100.1"), &trusted, &chain),
            Some(ip("198.51.100.1"))
        );
        assert_eq!(
            client_ip(ip("198.51.100.1"), &[], &chain),
            Some(ip("198.51.100.1"))
        );
    }

    #[test]
    fn a_trusted_proxy_chain_is_read_from_the_right() {
        let trusted = cidrs(&["10.0.0.0/8", "fd00::/8"]);
        // The client spoofed the left-most value; the proxy appended the real address.
        let chain = parse_x_forwarded_for(["203.0.113.9, 198.51.100.77", "10.1.1.1"]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &trusted, &chain),
            Some(ip("198.51.100.77"))
        );
        // A trusted proxy with no header: the proxy itself is the client.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &trusted, &[]),
            Some(ip("10.0.0.2"))
        );
        // Every hop trusted: the left-most trusted hop is where the request entered.
        let inner = parse_x_forwarded_for(["10.9.9.9, fd00::1"]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &trusted, &inner),
            Some(ip("10.9.9.9"))
        );
    }

    #[test]
    fn an_unreadable_hop_where_the_walk_needs_it_makes_the_client_unknown() {
        let trusted = cidrs(&["10.0.0.0/8"]);
        let chain = parse_x_forwarded_for(["198.51.100.1, garbage"]);
        assert_eq!(client_ip(ip("10.0.0.2"), &trusted, &chain), None);
        // Garbage to the left of the client is never looked at.
        let chain = parse_x_forwarded_for(["garbage, 198.51.100.1"]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &trusted, &chain),
            Some(ip("198.51.100.1"))
        );
    }

    #[test]
    fn x_forwarded_for_entries_may_carry_ports() {
        assert_eq!(
            parse_x_forwarded_for(["198.51.100.7:443, [2001:db8::1]:80, 2001:db8::2, [::1], , x"]),
            vec![
                Some(ip("198.51.100.7")),
                Some(ip("2001:db8::1")),
                Some(ip("2001:db8::2")),
                Some(ip("::1")),
                None,
                None
            ]
        );
    }

    #[test]
    fn forwarded_elements_are_read_as_rfc_7239_writes_them() {
        // RFC 7239 §4 and §7.1 examples.
        let v = r#"for="_gazonk", For="[2001:db8:cafe::17]:4711", for=192.0.2.60;proto=http;by=203.0.113.43, for=unknown, proto=https"#;
        assert_eq!(
            parse_forwarded([v]),
            vec![
                None,
                Some(ip("2001:db8:cafe::17")),
                Some(ip("192.0.2.60")),
                None,
                None
            ]
        );
        assert_eq!(
            parse_forwarded([r#"by=x;for="198.51.100.1:8080""#, "for=198.51.100.2"]),
            vec![Some(ip("198.51.100.1")), Some(ip("198.51.100.2"))]
        );
        // A quoted comma does not split the element.
        assert_eq!(
            parse_forwarded([r#"for="a,b";by=c, for=10.0.0.1"#]),
            vec![None, Some(ip("10.0.0.1"))]
        );
    }

    #[test]
    fn a_long_header_keeps_its_right_most_entries() {
        let long = vec!["198.51.100.1"; 500].join(",") + ",203.0.113.5";
        let chain = parse_x_forwarded_for([long.as_str()]);
        assert_eq!(chain.len(), MAX_HOPS);
        assert_eq!(chain.last(), Some(&Some(ip("203.0.113.5"))));
        let fwd = vec!["for=198.51.100.1"; 500].join(",") + ",for=203.0.113.5";
        let chain = parse_forwarded([fwd.as_str()]);
        assert_eq!(chain.len(), MAX_HOPS);
        assert_eq!(chain.last(), Some(&Some(ip("203.0.113.5"))));
    }
}
