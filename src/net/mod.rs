//! Network addresses: CIDR ranges (`cidr`) and who the client of a request is when reverse
//! proxies forward it (`client_ip`: `X-Forwarded-For` and RFC 7239 `Forwarded`), and whether
//! it came over HTTPS (`proto`: `X-Forwarded-Proto`, `Forwarded: proto=`).
//!
//! Pure: no I/O, no clock, no axum handlers. The webhook handler decides what to do with the
//! answer (a source's `allow_ips`).

mod cidr;
mod client_ip;
mod proto;

pub use cidr::{Cidr, any_contains};
pub use client_ip::{client_ip, parse_forwarded, parse_x_forwarded_for};
pub use proto::forwarded_proto;
