//! `Cidr`: an IPv4 or IPv6 network written `203.0.113.0/24`, `2001:db8::/32`, or a single
//! address (`/32` or `/128` implied). An IPv4-mapped IPv6 address (`::ffff:203.0.113.9`, what
//! a dual-stack socket reports) is compared as the IPv4 address it carries.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A network: its first address and prefix length. Host bits of the written address must be
/// zero (`10.0.0.1/8` is refused: it is usually a typo for `/32` or for `10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` lies in the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = mask_v4(self.prefix);
                u32::from(ip) & mask == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = mask_v6(self.prefix);
                u128::from(ip) & mask == u128::from(net)
            }
            _ => false,
        }
    }
}

/// Whether any of `list` contains `ip`.
pub fn any_contains(list: &[Cidr], ip: IpAddr) -> bool {
    list.iter().any(|c| c.contains(ip))
}

/// An IPv4-mapped IPv6 address as IPv4; anything else unchanged.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn mask_v4(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

fn mask_v6(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network = canonical(
            addr.parse::<IpAddr>()
                .map_err(|_| format!("`{s}` is not an IP address or CIDR range"))?,
        );
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: the prefix length must be 0 to {max}"))?,
        };
        let cidr = Cidr { network, prefix };
        let exact = match network {
            IpAddr::V4(n) => u32::from(n) & mask_v4(prefix) == u32::from(n),
            IpAddr::V6(n) => u128::from(n) & mask_v6(prefix) == u128::from(n),
        };
        if !exact {
            return Err(format!(
                "`{s}` has host bits set after the /{prefix}; write the network's first address"
            ));
        }
        Ok(cidr)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn v4_ranges_contain_their_addresses_only() {
        let c: Cidr = "203.0.113.0/24".parse().expect("cidr");
        assert!(c.contains(ip("203.0.113.0")));
        assert!(c.contains(ip("203.0.113.255")));
        assert!(!c.contains(ip("203.0.114.0")));
        assert!(!c.contains(ip("2001:db8::1")));
        let host: Cidr = "198.51.100.7".parse().expect("cidr");
        assert!(host.contains(ip("198.51.100.7")));
        assert!(!host.contains(ip("198.51.100.8")));
        let all: Cidr = "0.0.0.0/0".parse().expect("cidr");
        assert!(all.contains(ip("8.8.8.8")));
        assert!(!all.contains(ip("::1")));
    }

    #[test]
    fn v6_ranges_and_v4_mapped_addresses() {
        let c: Cidr = "2001:db8::/32".parse().expect("cidr");
        assert!(c.contains(ip("2001:db8:ffff::1")));
        assert!(!c.contains(ip("2001:db9::1")));
        let v4: Cidr = "10.0.0.0/8".parse().expect("cidr");
        assert!(v4.contains(ip("::ffff:10.1.2.3")));
        let written_mapped: Cidr = "::ffff:10.0.0.1".parse().expect("cidr");
        assert!(written_mapped.contains(ip("10.0.0.1")));
    }

    #[test]
    fn bad_ranges_are_refused_with_a_reason() {
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0.1/8",
            "::/129",
            "example.com",
            "10.0.0.0/x",
        ] {
            let e = bad.parse::<Cidr>().expect_err(bad);
            assert!(!e.is_empty());
        }
        assert_eq!(
            "2001:db8::/32".parse::<Cidr>().expect("cidr").to_string(),
            "2001:db8::/32"
        );
    }
}
