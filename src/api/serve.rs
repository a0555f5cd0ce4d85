//! Serving the router over HTTP/1.1, one task per connection.
//!
//! `axum::serve` sets no timer on hyper, so a client that opens a connection and trickles its
//! request head (slowloris) would hold a connection and a task forever: the `TimeoutLayer`
//! only starts once a head has been read. Here hyper's HTTP/1 connection gets a timer and
//! `server.header_read_timeout_ms`: a head not complete within it closes the connection. The
//! same bound applies while an idle keep-alive connection waits for its next request.
//!
//! Shutdown is what `axum::serve(..).with_graceful_shutdown(..)` did: once `shutdown`
//! resolves no connection is accepted, requests in flight finish, then each connection
//! closes (idle keep-alive connections at once). The serve future ends when every connection
//! has. The connections belong to it: dropping it (the drain deadline) drops them too.

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::ServiceExt as _;

/// How long to pause after an accept error that is not about one connection (such as running
/// out of file descriptors), rather than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` until `shutdown` resolves, then drains as described in the
/// module documentation.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // The peer address, for the sources' `allow_ips`.
                    let service = TowerToHyperService::new(router.clone().map_request(
                        move |mut req: axum::http::Request<hyper::body::Incoming>| {
                            req.extensions_mut()
                                .insert(axum::extract::ConnectInfo(peer));
                            req
                        },
                    ));
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    let conn = graceful.watch(conn);
                    connections.spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(%peer, error = %e, "connection closed with an error");
                        }
                    });
                }
                Err(e) => accept_error(e).await,
            },
        }
    }
    drop(listener);
    tracing::debug!(
        connections = graceful.count(),
        "not accepting; draining connections"
    );
    graceful.shutdown().await;
    while connections.join_next().await.is_some() {}
}

/// An error about one connection (reset before it was accepted) is skipped; any other is
/// logged and followed by a pause.
async fn accept_error(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept connections; pausing");
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}
