//! Parts of the OpenAPI document that the derive cannot say: the security schemes (the bearer
//! token of `/api/v1`, and one per webhook signature scheme, naming the header it reads).

use utoipa::Modify;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

/// Adds the security schemes to the components.
pub struct SecuritySchemes;

/// (scheme name, header, description) for each webhook signature scheme.
pub const WEBHOOK_SCHEMES: &[(&str, &str, &str)] = &[
    (
        "standard-webhooks",
        "webhook-signature",
        "Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`, \
         with `webhook-id` and `webhook-timestamp` (unix seconds) headers",
    ),
    (
        "svix",
        "svix-signature",
        "Svix (Clerk): `svix-signature: v1,<base64>`, with `svix-id` and `svix-timestamp`",
    ),
    (
        "github",
        "X-Hub-Signature-256",
        "GitHub style: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`",
    ),
    (
        "stripe",
        "Stripe-Signature",
        "Stripe style: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of t.body>`",
    ),
    (
        "workos",
        "WorkOS-Signature",
        "WorkOS: `WorkOS-Signature: t=<unix ms>, v1=<hex HMAC-SHA256 of t.body>`",
    ),
    (
        "bamboohr",
        "X-BambooHR-Signature",
        "BambooHR: `X-BambooHR-Signature: <hex HMAC-SHA256 of body + timestamp>`, with \
         `X-BambooHR-Timestamp`",
    ),
    (
        "okta",
        "Authorization",
        "Okta event hooks: the configured header (default `Authorization`) carries a shared \
         secret, compared in constant time",
    ),
    (
        "hmac",
        "X-Signature",
        "Generic HMAC: the header, algorithm, encoding and signed bytes are set per source \
         (`sources[].hmac`); `X-Signature` is only an example",
    ),
];

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "A token configured in `[[api.tokens]]` (as its SHA-256). Scopes `read`, \
                 `write` and `admin` are independent: each operation names the one it needs.",
            ))
            .build();
        bearer.bearer_format = None;
        components.add_security_scheme(super::auth::BEARER, SecurityScheme::Http(bearer));
        let mut scim = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "SCIM sources: the long-lived token entered in the IdP (Entra's Secret Token, \
                 Okta's API token); the source's `secrets` hold its SHA-256 in hex.",
            ))
            .build();
        scim.bearer_format = None;
        components.add_security_scheme("scim", SecurityScheme::Http(scim));
        for (name, header, description) in WEBHOOK_SCHEMES {
            components.add_security_scheme(
                *name,
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    *header,
                    *description,
                ))),
            );
        }
    }
}
