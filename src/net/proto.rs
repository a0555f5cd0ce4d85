//! Whether a request reached the first proxy over HTTPS: the scheme a trusted reverse proxy
//! forwarded (`X-Forwarded-Proto`, or the `proto=` of RFC 7239 `Forwarded`). A peer that is
//! not a trusted proxy cannot say so: its headers are ignored.

use std::net::IpAddr;

use super::cidr::{Cidr, any_contains};

/// The forwarded scheme, read from the right-most entry (the one our trusted proxy wrote),
/// lower-cased; `None` when the peer is not trusted or sent none.
pub fn forwarded_proto<'a>(
    peer: IpAddr,
    trusted: &[Cidr],
    x_forwarded_proto: impl IntoIterator<Item = &'a str>,
    forwarded: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    if !any_contains(trusted, peer) {
        return None;
    }
    let xfp = x_forwarded_proto
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .last()
        .map(str::to_ascii_lowercase);
    if xfp.is_some() {
        return xfp;
    }
    forwarded
        .into_iter()
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("proto")
                    .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
            })
        })
        .last()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn only_a_trusted_proxy_says_the_scheme() {
        let trusted: Vec<Cidr> = vec!["10.0.0.0/8".parse().expect("cidr")];
        assert_eq!(
            forwarded_proto(ip("10.0.0.2"), &trusted, ["https"], []),
            Some("https".into())
        );
        assert_eq!(
            forwarded_proto(ip("198.51.100.1"), &trusted, ["https"], []),
            None
        );
        assert_eq!(forwarded_proto(ip("10.0.0.2"), &[], ["https"], []), None);
        // The right-most value is the one the trusted proxy appended.
        assert_eq!(
            forwarded_proto(ip("10.0.0.2"), &trusted, ["https, http"], []),
            Some("http".into())
        );
        assert_eq!(
            forwarded_proto(
                ip("10.0.0.2"),
                &trusted,
                [],
                ["for=1.2.3.4;proto=http, for=10.0.0.9;Proto=\"HTTPS\""]
            ),
            Some("https".into())
        );
        assert_eq!(forwarded_proto(ip("10.0.0.2"), &trusted, [], []), None);
    }
}
