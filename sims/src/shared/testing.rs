//! Test helpers: serve a simulator's router on 127.0.0.1:0 over real TCP.

use axum::Router;
use reqwest::header::LINK;
use tokio::sync::oneshot;

/// A router served on a random local port; stops when dropped.
pub struct Served {
    pub base: String,
    pub http: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

impl Served {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Serves `router` with killable connections.
pub async fn serve(router: Router) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(super::serve(router, listener, async {
        let _ = rx.await;
    }));
    Served {
        base,
        http: reqwest::Client::new(),
        _stop: tx,
    }
}

/// The URL of the `rel="next"` link of a response, if any.
pub fn next_link(response: &reqwest::Response) -> Option<String> {
    response.headers().get_all(LINK).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let (target, rel) = v.split_once(';')?;
        (rel.trim() == "rel=\"next\"").then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}
