//! `Posted<T>`: a console form POST from a signed-in user, its CSRF token checked before the
//! handler sees the fields. (The origin check ran earlier, in `guard`.)

use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Request};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::ConsoleError;
use super::session::ConsoleUser;
use crate::api::AppState;

/// A form with its CSRF token: `csrf` plus the fields of `T`.
#[derive(Deserialize)]
struct WithCsrf<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    fields: T,
}

/// A checked form POST: who sent it and what.
pub struct Posted<T> {
    pub user: ConsoleUser,
    pub form: T,
}

impl<T: DeserializeOwned + Send + 'static> FromRequest<AppState> for Posted<T> {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ConsoleError> {
        let (mut parts, body) = req.into_parts();
        let user = ConsoleUser::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let Form(f) = Form::<WithCsrf<T>>::from_request(req, state)
            .await
            .map_err(|e| ConsoleError::bad_input(e.body_text()))?;
        user.check_csrf(&f.csrf)?;
        Ok(Posted {
            user,
            form: f.fields,
        })
    }
}
