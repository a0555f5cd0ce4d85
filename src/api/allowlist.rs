//! A source's `allow_ips`: the client address (the direct peer, or what the trusted proxies
//! forwarded, see `crate::net`) must be in one of its ranges. A refusal is a 403 with no
//! detail, logged at debug and counted in `dgs_webhook_ip_refusals_total`.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;

use crate::config::{ClientIpHeader, SourceConfig};
use crate::error::{ApiError, ProblemKind};
use crate::reload::Snapshot;

/// The peer address the server put on the request (absent when the router is driven without
/// a socket, which an allowlisted source refuses).
pub type Peer = Option<axum::Extension<ConnectInfo<SocketAddr>>>;

/// `Ok` when `source` has no allowlist or the client address is in it.
pub fn check(
    snapshot: &Snapshot,
    source: &SourceConfig,
    headers: &HeaderMap,
    peer: &Peer,
) -> Result<(), ApiError> {
    if source.allow_ips.is_empty() {
        return Ok(());
    }
    let client = peer
        .as_ref()
        .and_then(|axum::Extension(ConnectInfo(addr))| {
            let values = match snapshot.client_ip_header {
                ClientIpHeader::XForwardedFor => headers.get_all("x-forwarded-for"),
                ClientIpHeader::Forwarded => headers.get_all("forwarded"),
            };
            let texts = values.iter().filter_map(|v| v.to_str().ok());
            let chain = match snapshot.client_ip_header {
                ClientIpHeader::XForwardedFor => crate::net::parse_x_forwarded_for(texts),
                ClientIpHeader::Forwarded => crate::net::parse_forwarded(texts),
            };
            crate::net::client_ip(addr.ip(), &snapshot.trusted_proxies, &chain)
        });
    match client {
        Some(ip) if crate::net::any_contains(&source.allow_ips, ip) => Ok(()),
        _ => {
            tracing::debug!(
                webhook.source = %source.name,
                client = ?client,
                "client address not in the source's allow_ips"
            );
            metrics::counter!(crate::prometheus::IP_REFUSALS, "source" => source.name.clone())
                .increment(1);
            Err(ApiError::new(ProblemKind::AddressNotAllowed))
        }
    }
}
