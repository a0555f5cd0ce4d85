//! The HTTP ceiling for the benchmarks: a bare axum handler that reads the body and answers
//! 202, on the same runtime settings as the service (multi-threaded tokio, axum 0.8), with no
//! verification and no storage.
//!
//! ```sh
//! cargo run --release --example baseline -- 127.0.0.1:18080
//! ```

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18080".to_owned());
    let app = Router::new().route(
        "/webhooks/{source}",
        post(|body: Bytes| async move {
            std::hint::black_box(body);
            (
                StatusCode::ACCEPTED,
                r#"{"events":[{"id":"x","status":"queued"}]}"#,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("baseline listening on {addr}");
    axum::serve(listener, app).await?;
    Ok(())
}
