//! A small browser for the console tests: keeps the cookies it is given (by name), follows no
//! redirect (the tests look at each 303), sends `Origin` like a browser posting a form, and
//! reads the CSRF token from the page it was served.

use std::collections::BTreeMap;

use reqwest::{Method, Response, StatusCode};

use crate::helpers::{Options, TestApp, spawn_app_with};

/// A browser session against one app.
pub struct Browser {
    pub base: String,
    client: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
    /// Extra headers on every request (e.g. `X-Forwarded-Proto`).
    pub headers: Vec<(String, String)>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser::at(&app.url(""))
    }

    pub fn at(base: &str) -> Browser {
        Browser {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: BTreeMap::new(),
            headers: Vec::new(),
        }
    }

    fn keep_cookies(&mut self, resp: &Response) {
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().expect("ascii cookie");
            let pair = v.split(';').next().unwrap_or("");
            if let Some((k, val)) = pair.split_once('=') {
                if val.is_empty() || v.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), val.to_owned());
                }
            }
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header("cookie", c.join("; "));
        }
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        req
    }

    /// GET, keeping cookies.
    pub async fn get(&mut self, path: &str) -> Response {
        let resp = self.request(Method::GET, path).send().await.expect("GET");
        self.keep_cookies(&resp);
        resp
    }

    /// GET and the body as text, asserting the status.
    pub async fn page(&mut self, path: &str, status: u16) -> String {
        let resp = self.get(path).await;
        assert_eq!(resp.status().as_u16(), status, "GET {path}");
        resp.text().await.expect("body")
    }

    /// A form POST from this origin, as a browser sends it.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Response {
        let origin = self.base.clone();
        self.post_with(
            path,
            form,
            &[
                ("origin", origin.as_str()),
                ("sec-fetch-site", "same-origin"),
            ],
        )
        .await
    }

    /// A form POST with exactly these extra headers.
    pub async fn post_with(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Response {
        let mut req = self.request(Method::POST, path).form(form);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("POST");
        self.keep_cookies(&resp);
        resp
    }

    /// Signs in with `token`; returns the answer to the form's POST.
    pub async fn sign_in(&mut self, token: &str) -> Response {
        let form = self.page("/console/sign-in", 200).await;
        let csrf = csrf_of(&form);
        self.post(
            "/console/sign-in",
            &[("token", token), ("csrf", &csrf), ("next", "/console")],
        )
        .await
    }

    /// Signs in and asserts it worked.
    pub async fn signed_in(app: &TestApp, token: &str) -> Browser {
        let mut b = Browser::new(app);
        let resp = b.sign_in(token).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "sign-in answered 303");
        assert_eq!(resp.headers()["location"], "/console");
        b
    }

    /// The CSRF token of the session (from the overview's sign-out form).
    pub async fn csrf(&mut self) -> String {
        let page = self.page("/console", 200).await;
        csrf_of(&page)
    }
}

/// The value of the first `name="csrf"` hidden field of a page.
pub fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field");
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').expect("end of value")].to_owned()
}

/// The `Set-Cookie` values of a response.
pub fn set_cookies(resp: &Response) -> Vec<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect()
}

/// Sends an event through the API (write scope) and returns its number.
pub async fn submit(app: &TestApp, body: serde_json::Value) -> i64 {
    let resp = app
        .api(Method::POST, "/api/v1/events")
        .json(&body)
        .send()
        .await
        .expect("submit");
    assert_eq!(resp.status(), 202);
    let v: serde_json::Value = resp.json().await.expect("json");
    v["events"][0]["id"].as_i64().expect("id")
}

/// Waits until event `id` has `status`.
pub async fn wait_status(app: &TestApp, id: i64, status: &str) {
    app.wait_until(&format!("event {id} to be {status}"), || async {
        app.store
            .get_event(id)
            .await
            .ok()
            .flatten()
            .is_some_and(|e| e.status == status)
    })
    .await;
}

/// An app whose Domo knows no user and whose workers wait a second for one: every event it
/// is sent dead-letters (its user is missing in Domo).
pub async fn app_that_dead_letters() -> TestApp {
    spawn_app_with(Options {
        users: vec![],
        user_wait_secs: 1,
        ..Options::default()
    })
    .await
}

/// Sends an event to such an app and waits until it is a dead letter; returns its number.
pub async fn dead_letter(app: &TestApp, body: serde_json::Value) -> i64 {
    let id = submit(app, body).await;
    wait_status(app, id, "dead").await;
    id
}

/// `s` encoded for a query string or a form.
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
