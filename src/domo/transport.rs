//! One HTTP exchange with Domo, through the in-flight bound and the rate limit, plus the pure
//! helpers every call shares: endpoint URLs under `api_base`, and paging through bare-array
//! lists.
//!
//! An exchange reads the whole answer (bounded by the request timeout) while it holds its
//! permit, and turns transport failures into `DomoError::Unavailable`. It knows nothing of
//! tokens or of what a status means for a given call.

use std::future::Future;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use url::Url;

use super::error::{DomoError, from_transport, parse_retry_after};
use super::limit::Gate;

/// The largest page Domo serves (reference/domo-api.md §3.4, §4.2).
pub(crate) const MAX_PAGE: u32 = 500;

/// How many pages a `list_all_*` call reads before giving up: 5 million rows.
pub(crate) const MAX_PAGES: u32 = 10_000;

/// A complete HTTP answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The shared HTTP client and the limits every request passes through.
#[derive(Debug)]
pub(crate) struct Transport {
    pub http: reqwest::Client,
    pub gate: Gate,
}

impl Transport {
    /// Sends a request once the gate lets it through, and reads the whole answer.
    ///
    /// A 429 with `Retry-After` pauses every request of this client for that long; while a
    /// pause too long to sleep through is in force, requests fail at once with `RateLimited`
    /// and the time left, without reaching Domo.
    pub(crate) async fn exchange(&self, request: RequestBuilder) -> Result<Answer, DomoError> {
        let _permit = self.gate.enter().await;
        if let Some(left) = self.gate.pause_left() {
            return Err(DomoError::RateLimited {
                retry_after: Some(left),
            });
        }
        let response = request.send().await.map_err(|e| from_transport(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = headers
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
            if let Some(delay) = retry_after {
                tracing::info!(
                    retry_after_ms = delay.as_millis(),
                    "Domo asked to wait: pausing every request"
                );
                self.gate.pause(delay);
            }
        }
        let body = response.bytes().await.map_err(|e| from_transport(&e))?;
        tracing::debug!(http.status = status.as_u16(), "Domo answered");
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// The URL of `segments` under `base`, keeping any path prefix `base` has
/// (`https://host/prefix` + `["v1", "groups"]` → `https://host/prefix/v1/groups`).
/// Segments are percent-encoded, so an id can never change the path's shape.
pub(crate) fn endpoint(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// A page size Domo accepts: between 1 and 500.
pub(crate) fn page_limit(limit: u32) -> u32 {
    limit.clamp(1, MAX_PAGE)
}

/// Reads every page of a bare-array list: `limit=500`, `offset` += 500, until a page is
/// shorter than the limit (or empty). Domo gives no total and no next link, so a short page
/// is the only end marker (§3.4). Gives up with `Decode` after `max_pages` full pages rather
/// than loop forever on a server that ignores `offset`.
pub(crate) async fn collect_pages<T, F, Fut>(
    max_pages: u32,
    mut fetch: F,
) -> Result<Vec<T>, DomoError>
where
    F: FnMut(u32, u32) -> Fut,
    Fut: Future<Output = Result<Vec<T>, DomoError>>,
{
    let mut all = Vec::new();
    let mut offset: u32 = 0;
    for _ in 0..max_pages {
        let page = fetch(MAX_PAGE, offset).await?;
        let full = page.len() >= MAX_PAGE as usize;
        all.extend(page);
        if !full {
            return Ok(all);
        }
        offset = offset.checked_add(MAX_PAGE).ok_or_else(too_many_pages)?;
    }
    Err(too_many_pages())
}

fn too_many_pages() -> DomoError {
    DomoError::Decode {
        message: format!("list did not end after {MAX_PAGES} pages of {MAX_PAGE}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("valid test URL")
    }

    #[test]
    fn endpoint_joins_under_a_bare_host() {
        let got = endpoint(&url("https://api.domo.com"), &["v1", "groups", "42"]);
        assert_eq!(got.as_str(), "https://api.domo.com/v1/groups/42");
    }

    #[test]
    fn endpoint_keeps_a_path_prefix_with_or_without_trailing_slash() {
        for base in ["http://127.0.0.1:9/domo", "http://127.0.0.1:9/domo/"] {
            let got = endpoint(&url(base), &["oauth", "token"]);
            assert_eq!(
                got.as_str(),
                "http://127.0.0.1:9/domo/oauth/token",
                "base {base}"
            );
        }
    }

    #[test]
    fn endpoint_drops_query_and_fragment_of_the_base_and_encodes_segments() {
        let got = endpoint(&url("https://h/p/?x=1#f"), &["v1", "a/b c"]);
        assert_eq!(got.as_str(), "https://h/p/v1/a%2Fb%20c");
    }

    #[test]
    fn page_limit_is_clamped_to_what_domo_accepts() {
        assert_eq!(page_limit(0), 1);
        assert_eq!(page_limit(50), 50);
        assert_eq!(page_limit(500), 500);
        assert_eq!(page_limit(10_000), 500);
    }

    /// Serves `total` numbers in pages, recording each `(limit, offset)` asked for.
    async fn page_of(total: u32, limit: u32, offset: u32) -> Result<Vec<u32>, DomoError> {
        Ok((offset..total.min(offset + limit)).collect())
    }

    #[tokio::test]
    async fn paging_stops_on_a_short_page() {
        let mut asked = Vec::new();
        let all = collect_pages(MAX_PAGES, |limit, offset| {
            asked.push((limit, offset));
            page_of(1_201, limit, offset)
        })
        .await
        .expect("pages");
        assert_eq!(all, (0..1_201).collect::<Vec<_>>());
        assert_eq!(asked, vec![(500, 0), (500, 500), (500, 1_000)]);
    }

    #[tokio::test]
    async fn paging_stops_on_an_empty_page_after_an_exact_multiple() {
        let mut asked = Vec::new();
        let all = collect_pages(MAX_PAGES, |limit, offset| {
            asked.push(offset);
            page_of(1_000, limit, offset)
        })
        .await
        .expect("pages");
        assert_eq!(all.len(), 1_000);
        assert_eq!(asked, vec![0, 500, 1_000]);
    }

    #[tokio::test]
    async fn paging_gives_up_when_the_list_never_ends() {
        let mut calls = 0;
        let err = collect_pages(3, |limit, _offset| {
            calls += 1;
            // A server that ignores `offset` and always answers a full page.
            page_of(u32::MAX, limit, 0)
        })
        .await
        .expect_err("endless list");
        assert_eq!(calls, 3);
        assert!(matches!(err, DomoError::Decode { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn paging_passes_a_page_error_through() {
        let err = collect_pages::<u32, _, _>(MAX_PAGES, |_, _| async {
            Err(DomoError::Unavailable {
                status: Some(503),
                message: "down".into(),
            })
        })
        .await
        .expect_err("error");
        assert_eq!(err.status(), Some(503));
    }
}
