//! `DomoClient`: one async method per Domo Platform API call the service makes.
//!
//! Every call takes the cached token, passes the in-flight bound and the rate limit, and maps
//! the answer in one place (`DomoClient::call`). A 401 gets exactly one token refresh and one
//! retry of that call; nothing else is retried here, because durable retries with backoff
//! belong to the worker (STYLE.md c.7). Spans carry ids only: never a token, a name, an
//! email or a body.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_LENGTH, HeaderValue};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use super::auth::{TokenCache, TokenSource};
use super::error::{DomoError, classify, decode_error};
use super::limit::Gate;
use super::model::{Group, NewGroup, NewUser, User, UserId};
use super::transport::{Answer, MAX_PAGES, Transport, collect_pages, endpoint, page_limit};
use crate::config::{DomoConfig, Secret};

/// The `User-Agent` sent on every request.
const USER_AGENT: &str = concat!("domo-group-sync/", env!("CARGO_PKG_VERSION"));

/// Everything a `DomoClient` needs; usually built with [`ClientSettings::from_config`].
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Where the API lives, e.g. `https://api.domo.com`; a path prefix is kept.
    pub api_base: Url,
    /// OAuth client id.
    pub client_id: Secret,
    /// OAuth client secret.
    pub client_secret: Secret,
    /// Bound on establishing a connection.
    pub connect_timeout: Duration,
    /// Bound on a whole request, from sending to the last byte of the answer.
    pub request_timeout: Duration,
    /// Client-side rate limit; zero, negative or non-finite disables it.
    pub requests_per_second: f64,
    /// Bound on concurrent requests (at least one).
    pub max_in_flight: usize,
}

impl ClientSettings {
    /// Settings from the `[domo]` section with the given credentials (the section's own, or
    /// the in-process simulator's).
    pub fn from_config(config: &DomoConfig, client_id: Secret, client_secret: Secret) -> Self {
        Self {
            api_base: config.api_base.clone(),
            client_id,
            client_secret,
            connect_timeout: Duration::from_secs(config.connect_timeout_secs),
            request_timeout: Duration::from_secs(config.request_timeout_secs),
            requests_per_second: config.requests_per_second,
            max_in_flight: config.max_in_flight,
        }
    }
}

/// A client of the Domo Platform API. Cheap to clone: clones share the HTTP connection pool,
/// the token and the limits.
#[derive(Clone)]
pub struct DomoClient {
    inner: Arc<Inner>,
}

struct Inner {
    base: Url,
    transport: Transport,
    tokens: TokenCache,
    source: TokenSource,
}

impl fmt::Debug for DomoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DomoClient")
            .field("api_base", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

impl DomoClient {
    /// Builds a client; no request is made until the first call.
    ///
    /// Fails (with `Unavailable`, as nothing can be called) when `api_base` is not an
    /// `http`/`https` URL or the HTTP client cannot be built.
    pub fn new(settings: ClientSettings) -> Result<Self, DomoError> {
        let base = settings.api_base;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(DomoError::Unavailable {
                status: None,
                message: "domo.api_base must be an http or https URL".into(),
            });
        }
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            // A redirect would carry the bearer token somewhere unexpected; treat it as an
            // error answer instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| DomoError::Unavailable {
                status: None,
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        let source = TokenSource {
            url: endpoint(&base, &["oauth", "token"]),
            client_id: settings.client_id,
            client_secret: settings.client_secret,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                transport: Transport {
                    http,
                    gate: Gate::new(settings.max_in_flight, settings.requests_per_second),
                },
                tokens: TokenCache::default(),
                source,
                base,
            }),
        })
    }

    /// How many access tokens have been obtained since the client was built.
    pub fn token_refreshes(&self) -> u64 {
        self.inner.tokens.fetched()
    }

    /// The Domo user this client acts as (the token answer's `userId`), as of the latest
    /// token obtained; `None` before the first token, or when Domo did not say. Domo makes
    /// this user a member of every group the client creates.
    pub fn api_user_id(&self) -> Option<i64> {
        self.inner.tokens.user_id()
    }

    /// [`DomoClient::api_user_id`], obtaining a token first when none has been.
    #[tracing::instrument(skip_all)]
    pub async fn api_user(&self) -> Result<Option<i64>, DomoError> {
        self.token().await?;
        Ok(self.api_user_id())
    }

    /// Makes sure a token can be obtained (from the cache, or fetched): the readiness check.
    #[tracing::instrument(skip_all)]
    pub async fn check_token(&self) -> Result<(), DomoError> {
        self.token().await.map(drop)
    }

    /// One page of groups: `GET /v1/groups?limit=&offset=` (`limit` clamped to 1..=500).
    #[tracing::instrument(skip_all, fields(domo.limit = limit, domo.offset = offset))]
    pub async fn list_groups(&self, limit: u32, offset: u32) -> Result<Vec<Group>, DomoError> {
        let url = self.url(&["v1", "groups"]);
        let answer = self
            .call(Method::GET, url, page_query(limit, offset), None::<&()>)
            .await?;
        decode("group list", &answer)
    }

    /// Every group, 500 per page until a short page.
    #[tracing::instrument(skip_all)]
    pub async fn list_all_groups(&self) -> Result<Vec<Group>, DomoError> {
        collect_pages(MAX_PAGES, |limit, offset| self.list_groups(limit, offset)).await
    }

    /// One group: `GET /v1/groups/{id}`; an unknown id is `Rejected` with status 404.
    #[tracing::instrument(skip_all, fields(domo.group_id = id))]
    pub async fn get_group(&self, id: i64) -> Result<Group, DomoError> {
        let url = self.url(&["v1", "groups", &id.to_string()]);
        let answer = self.call(Method::GET, url, Vec::new(), None::<&()>).await?;
        decode("group", &answer)
    }

    /// Creates a group: `POST /v1/groups` with `{"name": …}`; Domo answers 201 or 200.
    /// Not idempotent: look the name up first, and again after an ambiguous failure.
    #[tracing::instrument(skip_all)]
    pub async fn create_group(&self, name: &str) -> Result<Group, DomoError> {
        let url = self.url(&["v1", "groups"]);
        let body = NewGroup { name };
        let answer = self
            .call(Method::POST, url, Vec::new(), Some(&body))
            .await?;
        let group: Group = decode("created group", &answer)?;
        tracing::debug!(domo.group_id = group.id, "group created");
        Ok(group)
    }

    /// Adds a user to a group: `PUT /v1/groups/{group}/users/{user}`, 204.
    #[tracing::instrument(skip_all, fields(domo.group_id = group, domo.user_id = user))]
    pub async fn add_user_to_group(&self, group: i64, user: i64) -> Result<(), DomoError> {
        let url = self.member_url(group, user);
        self.call(Method::PUT, url, Vec::new(), None::<&()>)
            .await
            .map(drop)
    }

    /// Removes a user from a group: `DELETE /v1/groups/{group}/users/{user}`, 204.
    #[tracing::instrument(skip_all, fields(domo.group_id = group, domo.user_id = user))]
    pub async fn remove_user_from_group(&self, group: i64, user: i64) -> Result<(), DomoError> {
        let url = self.member_url(group, user);
        self.call(Method::DELETE, url, Vec::new(), None::<&()>)
            .await
            .map(drop)
    }

    /// One page of a group's member ids: `GET /v1/groups/{group}/users?limit=&offset=`.
    /// Without `limit` Domo silently returns 50, so it is always sent.
    #[tracing::instrument(skip_all, fields(domo.group_id = group, domo.limit = limit, domo.offset = offset))]
    pub async fn list_group_users(
        &self,
        group: i64,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<i64>, DomoError> {
        let url = self.url(&["v1", "groups", &group.to_string(), "users"]);
        let answer = self
            .call(Method::GET, url, page_query(limit, offset), None::<&()>)
            .await?;
        let ids: Vec<UserId> = decode("group member list", &answer)?;
        Ok(ids.into_iter().map(|UserId(id)| id).collect())
    }

    /// Every member id of a group, 500 per page until a short page.
    #[tracing::instrument(skip_all, fields(domo.group_id = group))]
    pub async fn list_all_group_users(&self, group: i64) -> Result<Vec<i64>, DomoError> {
        collect_pages(MAX_PAGES, |limit, offset| {
            self.list_group_users(group, limit, offset)
        })
        .await
    }

    /// One page of users: `GET /v1/users?limit=&offset=` (list entries carry no `groups`).
    #[tracing::instrument(skip_all, fields(domo.limit = limit, domo.offset = offset))]
    pub async fn list_users(&self, limit: u32, offset: u32) -> Result<Vec<User>, DomoError> {
        let url = self.url(&["v1", "users"]);
        let answer = self
            .call(Method::GET, url, page_query(limit, offset), None::<&()>)
            .await?;
        decode("user list", &answer)
    }

    /// Every user, 500 per page until a short page (the only way to find a user by email).
    #[tracing::instrument(skip_all)]
    pub async fn list_all_users(&self) -> Result<Vec<User>, DomoError> {
        collect_pages(MAX_PAGES, |limit, offset| self.list_users(limit, offset)).await
    }

    /// One user: `GET /v1/users/{id}`. A deleted user is a 200 with `deleted: Some(true)`;
    /// an unknown id is `Rejected` with status 404.
    #[tracing::instrument(skip_all, fields(domo.user_id = id))]
    pub async fn get_user(&self, id: i64) -> Result<User, DomoError> {
        let url = self.url(&["v1", "users", &id.to_string()]);
        let answer = self.call(Method::GET, url, Vec::new(), None::<&()>).await?;
        decode("user", &answer)
    }

    /// Creates a user: `POST /v1/users?sendInvite=true|false` with `{name, email, role}`;
    /// Domo answers 201 (or 200).
    #[tracing::instrument(skip_all, fields(domo.send_invite = send_invite))]
    pub async fn create_user(
        &self,
        new: &NewUser<'_>,
        send_invite: bool,
    ) -> Result<User, DomoError> {
        let url = self.url(&["v1", "users"]);
        let query = vec![("sendInvite", send_invite.to_string())];
        let answer = self.call(Method::POST, url, query, Some(new)).await?;
        let user: User = decode("created user", &answer)?;
        tracing::debug!(domo.user_id = user.id, "user created");
        Ok(user)
    }

    fn url(&self, segments: &[&str]) -> Url {
        endpoint(&self.inner.base, segments)
    }

    /// `/v1/groups/{group}/users/{user}`
    fn member_url(&self, group: i64, user: i64) -> Url {
        let (group, user) = (group.to_string(), user.to_string());
        self.url(&["v1", "groups", &group, "users", &user])
    }

    /// The cached token, fetched when missing or due.
    async fn token(&self) -> Result<Secret, DomoError> {
        let inner = &*self.inner;
        inner
            .tokens
            .get(|| inner.source.request(&inner.transport))
            .await
    }

    /// Sends one API request and returns its answer if it is a success (any 2xx).
    ///
    /// On a 401 the token is replaced once and the request sent once more; a second 401 is
    /// `Unauthorized`. The token is taken *before* the in-flight permit, and the permit is
    /// released before a refresh, so a refresh never waits on requests that wait on it.
    async fn call<B: serde::Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        query: Vec<(&'static str, String)>,
        body: Option<&B>,
    ) -> Result<Answer, DomoError> {
        let inner = &*self.inner;
        let build = |token: &Secret| -> RequestBuilder {
            let mut request = inner
                .transport
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.expose())
                .header(ACCEPT, HeaderValue::from_static("application/json"));
            if !query.is_empty() {
                request = request.query(&query);
            }
            if let Some(body) = body {
                request = request.json(body);
            } else if method == Method::PUT || method == Method::POST {
                // hyper omits the length of an empty body, and some front ends answer 411
                // to a PUT without one (RFC 9110 §8.6 says a client should send it).
                request = request.header(CONTENT_LENGTH, HeaderValue::from_static("0"));
            }
            request
        };

        let mut token = self.token().await?;
        let mut answer = inner.transport.exchange(build(&token)).await?;
        if answer.status == StatusCode::UNAUTHORIZED {
            tracing::debug!("Domo refused the token; refreshing once");
            token = inner
                .tokens
                .replace(&token, || inner.source.request(&inner.transport))
                .await?;
            answer = inner.transport.exchange(build(&token)).await?;
        }
        if answer.status.is_success() {
            return Ok(answer);
        }
        let redact = [token.expose(), inner.source.client_secret.expose()];
        Err(classify(
            answer.status,
            &answer.headers,
            &answer.body,
            chrono::Utc::now(),
            &redact,
        ))
    }
}

/// `limit` (clamped to what Domo accepts) and `offset`, always both.
fn page_query(limit: u32, offset: u32) -> Vec<(&'static str, String)> {
    vec![
        ("limit", page_limit(limit).to_string()),
        ("offset", offset.to_string()),
    ]
}

/// Reads a JSON success body; an empty body where one is needed is a `Decode` error.
fn decode<T: DeserializeOwned>(what: &str, answer: &Answer) -> Result<T, DomoError> {
    if answer.body.iter().all(u8::is_ascii_whitespace) {
        return Err(DomoError::Decode {
            message: format!("{what}: empty body with status {}", answer.status.as_u16()),
        });
    }
    serde_json::from_slice(&answer.body).map_err(|e| decode_error(what, &e))
}
