//! The forwarding-header parsers (`X-Forwarded-For`, RFC 7239 `Forwarded`) and the client
//! address walk, fed arbitrary header lines: must never panic, must stay bounded, and a client
//! behind a trusted proxy can never pick its address (the proxy's appended entry wins).
#![no_main]

use std::net::IpAddr;

use domo_group_sync::net::{Cidr, any_contains, client_ip, parse_forwarded, parse_x_forwarded_for};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let real = IpAddr::from([data[0], data[1], data[2], data[3]]);
    let lines: Vec<&str> = data[4..]
        .split(|b| *b == b'\n')
        .filter_map(|l| std::str::from_utf8(l).ok())
        .collect();
    let xff = parse_x_forwarded_for(lines.iter().copied());
    let fwd = parse_forwarded(lines.iter().copied());
    assert!(xff.len() <= 64 && fwd.len() <= 64);
    let trusted: Vec<Cidr> = vec!["10.0.0.0/8".parse().expect("cidr")];
    if !any_contains(&trusted, real) {
        let real_text = real.to_string();
        let mut with_real = lines.clone();
        with_real.push(&real_text);
        let chain = parse_x_forwarded_for(with_real.iter().copied());
        let peer: IpAddr = "10.0.0.1".parse().expect("ip");
        assert_eq!(client_ip(peer, &trusted, &chain), Some(real));
    }
});
