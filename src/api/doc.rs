//! Parts of the OpenAPI document that the derive cannot say: the security schemes (the bearer
//! token of `/api/v1`, and one per webhook signature scheme, naming the header it reads), and
//! the outgoing operational events as OpenAPI 3.1 `webhooks`.

use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem, PathsBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{Modify, PartialSchema, ToSchema};

use crate::notify::NoticeType;
use crate::notify::event::{
    EventDead, MembershipApplied, OffboardingCompleted, ReconcileCompleted, ReconcileHeld,
    SourceFailing,
};

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

/// Adds the outgoing operational events as OpenAPI 3.1 `webhooks` (utoipa's derive has no
/// syntax for them): one per type, the body's envelope and data shapes as components, and the
/// Standard Webhooks headers a `webhook` subscriber receives.
pub struct OutgoingEvents;

/// (type, envelope schema name, data schema name, when it is sent)
const OUTGOING: [(NoticeType, &str, &str, &str); 6] = [
    (
        NoticeType::MembershipApplied,
        "MembershipAppliedNotice",
        "MembershipApplied",
        "A user's Domo memberships changed (a job added or removed at least one). Off by \
         default: list it in `subscribers[].events` to get one per applied change.",
    ),
    (
        NoticeType::OffboardingCompleted,
        "OffboardingCompletedNotice",
        "OffboardingCompleted",
        "An offboarding was applied: the user is in no managed Domo group any more. `removed` \
         lists the groups this job removed (empty when the user was in none, or has no Domo \
         account).",
    ),
    (
        NoticeType::EventDead,
        "EventDeadNotice",
        "EventDead",
        "An event was dead-lettered: it will not be retried until someone replays it \
         (`replay_path`, write scope).",
    ),
    (
        NoticeType::ReconcileHeld,
        "ReconcileHeldNotice",
        "ReconcileHeld",
        "A reconcile plan removes more than the caps allow and waits for approval (`approve`, \
         admin scope).",
    ),
    (
        NoticeType::ReconcileCompleted,
        "ReconcileCompletedNotice",
        "ReconcileCompleted",
        "A reconcile run finished (`planned`, `queued`, `failed`), or a held plan was approved \
         (`queued`, with `approved_by`).",
    ),
    (
        NoticeType::SourceFailing,
        "SourceFailingNotice",
        "SourceFailing",
        "A pull source failed `notify.source_error_threshold` times in a row, or lags more than \
         `notify.source_lag_secs`; once per episode, again every `notify.source_repeat_secs`.",
    ),
];

fn header(name: &str, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

impl Modify for OutgoingEvents {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
        macro_rules! data {
            ($($t:ty),*) => {$(
                schemas.push((<$t as ToSchema>::name().into_owned(), <$t as PartialSchema>::schema()));
                <$t as ToSchema>::schemas(&mut schemas);
            )*};
        }
        data!(
            MembershipApplied,
            OffboardingCompleted,
            EventDead,
            ReconcileHeld,
            ReconcileCompleted,
            SourceFailing
        );
        let mut webhooks = PathsBuilder::new();
        for (kind, envelope, data, when) in OUTGOING {
            let body = ObjectBuilder::new()
                .description(Some(format!(
                    "The body of `{}` (Standard Webhooks' recommended envelope).",
                    kind.as_str()
                )))
                .property(
                    "type",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some([kind.as_str()])),
                )
                .required("type")
                .property(
                    "timestamp",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                        .description(Some("When the state change happened (UTC).")),
                )
                .required("timestamp")
                .property("data", Ref::from_schema_name(data))
                .required("data")
                .build();
            schemas.push((envelope.to_owned(), RefOr::T(Schema::Object(body))));
            let operation = OperationBuilder::new()
                .operation_id(Some(format!("notify_{}", kind.as_str().replace('.', "_"))))
                .tag("notify")
                .summary(Some(format!("`{}`", kind.as_str())))
                .description(Some(format!(
                    "{when}\n\nSent to each subscriber whose `events` list it: a `webhook` \
                     subscriber gets this JSON body signed with Standard Webhooks (verify it with \
                     any Standard Webhooks library and the subscriber's `whsec_` secret; drop \
                     repeats by `webhook-id`); a `slack` subscriber gets `{{\"text\": …}}`, a \
                     line saying the same."
                )))
                .parameter(header(
                    "webhook-id",
                    "The message id (`msg_…`): the same for every attempt and replay.",
                ))
                .parameter(header(
                    "webhook-timestamp",
                    "Unix seconds of this attempt (signed); refuse it outside your tolerance.",
                ))
                .parameter(header(
                    "webhook-signature",
                    "`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the subscriber's \
                     secret (`v1a,<base64 Ed25519>` when it is a `whsk_` key).",
                ))
                .request_body(Some(
                    RequestBodyBuilder::new()
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name(envelope)))
                                .build(),
                        )
                        .required(Some(Required::True))
                        .build(),
                ))
                .response(
                    "2XX",
                    ResponseBuilder::new().description("Delivered: any 2xx answer."),
                )
                .response(
                    "default",
                    ResponseBuilder::new().description(
                        "Any other answer, a redirect, or none within `notify.timeout_secs`: \
                         retried with exponential backoff (never before `Retry-After`), then \
                         dead after `notify.max_attempts` (GET /api/v1/deliveries?status=dead; \
                         replay with POST /api/v1/deliveries/{id}/replay).",
                    ),
                )
                .build();
            webhooks = webhooks.path(kind.as_str(), PathItem::new(HttpMethod::Post, operation));
        }
        for (name, schema) in schemas {
            components.schemas.entry(name).or_insert(schema);
        }
        openapi.webhooks = Some(webhooks.build());
    }
}
