//! What every page shares: the frame (title, navigation, who is signed in, the sign-out form,
//! the asset paths) and how times are written (UTC, with "… ago").

use chrono::{DateTime, Utc};

use super::session::ConsoleUser;
use crate::config::ApiScope;

/// The frame of a page, filled once per request.
pub struct Chrome {
    pub title: String,
    /// The navigation entry to mark current.
    pub tab: &'static str,
    pub user: String,
    /// The token's scopes, in words.
    pub scopes: String,
    pub csrf: String,
    pub can_write: bool,
    pub can_admin: bool,
    pub css: String,
    pub js: String,
    /// Whether the page refreshes its live regions by itself (the "Auto-refresh" toggle).
    pub live: bool,
}

impl Chrome {
    pub fn new(user: &ConsoleUser, title: impl Into<String>, tab: &'static str) -> Chrome {
        Chrome {
            title: title.into(),
            tab,
            user: user.token_name.clone(),
            scopes: user
                .scopes
                .iter()
                .map(|s| crate::api::auth::scope_name(*s))
                .collect::<Vec<_>>()
                .join(", "),
            csrf: user.csrf.clone(),
            can_write: user.can(ApiScope::Write),
            can_admin: user.can(ApiScope::Admin),
            css: super::assets::css_path(),
            js: super::assets::js_path(),
            live: false,
        }
    }

    /// The same frame, refreshing itself when `live`.
    pub fn live(mut self, live: bool) -> Chrome {
        self.live = live;
        self
    }

    /// `aria-current` for the navigation entry `tab`.
    pub fn current(&self, tab: &str) -> &'static str {
        if self.tab == tab { "page" } else { "false" }
    }
}

/// Unix milliseconds as `2026-12-04 10:00:03 UTC`.
pub fn when_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).map_or_else(String::new, |t| when(&t))
}

/// A time as `2026-12-04 10:00:03 UTC`.
pub fn when(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// How long ago `ms` was, in words: `12 s`, `4 min`, `3 h`, `2 d`.
pub fn age(ms: i64, now_ms: i64) -> String {
    let s = (now_ms - ms).max(0) / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

/// At most `max` characters of `text`, with an ellipsis when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max).collect();
        s.push('…');
        s
    }
}

/// A query string from pairs, leaving out empty values.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_words() {
        assert_eq!(age(0, 5_000), "5 s");
        assert_eq!(age(0, 125_000), "2 min");
        assert_eq!(age(0, 7_200_000), "2 h");
        assert_eq!(age(0, 3 * 86_400_000), "3 d");
        assert_eq!(age(10, 0), "0 s");
    }

    #[test]
    fn cut_and_query() {
        assert_eq!(cut("abcdef", 3), "abc…");
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(query(&[("a", "x y"), ("b", ""), ("c", "&")]), "a=x+y&c=%26");
    }
}
