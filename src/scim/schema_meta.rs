//! The discovery schemas of RFC 7643 §5–7 (ServiceProviderConfig, ResourceType, Schema), which
//! `/Schemas` must list (scim2-tester checks they are there); they describe no resource.

use super::schema::{Attr, Kind, Schema, attr, boolean, complex, string};
use super::schema::{RESOURCE_TYPE_URN, SCHEMA_URN, SPC_URN};

const AUTH_SCHEME_SUB: &[Attr] = &[
    string("type", "The scheme: oauthbearertoken, httpbasic, …").required(),
    string("name", "The scheme's name.").required(),
    string("description", "A description of the scheme.").required(),
    attr("specUri", Kind::Reference, "The scheme's specification.").refs(&["external"]),
    attr(
        "documentationUri",
        Kind::Reference,
        "The scheme's documentation.",
    )
    .refs(&["external"]),
    boolean("primary", "The preferred scheme."),
];
const SUPPORTED: Attr = boolean("supported", "Whether the operation is supported.").required();

/// RFC 7643 §5 (published in `/Schemas`; not a resource).
pub static SPC_SCHEMA: Schema = Schema {
    id: SPC_URN,
    name: "ServiceProviderConfig",
    description: "Service Provider Configuration",
    attrs: &[
        attr(
            "documentationUri",
            Kind::Reference,
            "Help about the service.",
        )
        .refs(&["external"])
        .read_only(),
        complex("patch", &[SUPPORTED.read_only()], "PATCH.")
            .required()
            .read_only(),
        complex(
            "bulk",
            &[
                SUPPORTED.read_only(),
                attr(
                    "maxOperations",
                    Kind::Integer,
                    "Most operations in one request.",
                )
                .required()
                .read_only(),
                attr("maxPayloadSize", Kind::Integer, "Largest payload in bytes.")
                    .required()
                    .read_only(),
            ],
            "Bulk.",
        )
        .required()
        .read_only(),
        complex(
            "filter",
            &[
                SUPPORTED.read_only(),
                attr("maxResults", Kind::Integer, "Most resources in one answer.")
                    .required()
                    .read_only(),
            ],
            "Filtering.",
        )
        .required()
        .read_only(),
        complex(
            "changePassword",
            &[SUPPORTED.read_only()],
            "Password change.",
        )
        .required()
        .read_only(),
        complex("sort", &[SUPPORTED.read_only()], "Sorting.")
            .required()
            .read_only(),
        complex("etag", &[SUPPORTED.read_only()], "ETags.")
            .required()
            .read_only(),
        complex(
            "authenticationSchemes",
            AUTH_SCHEME_SUB,
            "How to authenticate.",
        )
        .multi()
        .required()
        .read_only(),
    ],
};

/// RFC 7643 §6.
pub static RESOURCE_TYPE_SCHEMA: Schema = Schema {
    id: RESOURCE_TYPE_URN,
    name: "ResourceType",
    description: "Specifies the schema that describes a SCIM resource type",
    attrs: &[
        string("id", "The resource type's id.").read_only(),
        string("name", "The resource type's name.")
            .required()
            .read_only(),
        string("description", "What the resource type is.").read_only(),
        attr(
            "endpoint",
            Kind::Reference,
            "The endpoint, relative to the base URL.",
        )
        .refs(&["uri"])
        .required()
        .read_only(),
        attr("schema", Kind::Reference, "The primary schema's URI.")
            .refs(&["uri"])
            .required()
            .case_exact()
            .read_only(),
        complex(
            "schemaExtensions",
            &[
                attr("schema", Kind::Reference, "An extension schema's URI.")
                    .refs(&["uri"])
                    .required()
                    .case_exact()
                    .read_only(),
                boolean("required", "Whether the extension is required.")
                    .required()
                    .read_only(),
            ],
            "The extensions.",
        )
        .multi()
        .read_only(),
    ],
};

/// The characteristics of one attribute (RFC 7643 §7), listed twice: for `attributes` and,
/// one level down, for `subAttributes`.
macro_rules! schema_attr_fields {
    ($($extra:expr),*) => {
        &[
            string("name", "The attribute's name.").required().case_exact().read_only(),
            string("type", "The attribute's type.")
                .required()
                .canonical(&["string", "complex", "boolean", "decimal", "integer", "dateTime", "reference", "binary"])
                .read_only(),
            boolean("multiValued", "Whether it is multi-valued.").required().read_only(),
            string("description", "The attribute's description.").read_only(),
            boolean("required", "Whether it is required.").read_only(),
            string("canonicalValues", "Suggested values.").multi().read_only(),
            boolean("caseExact", "Whether values compare with case.").read_only(),
            string("mutability", "readOnly, readWrite, immutable or writeOnly.")
                .canonical(&["readOnly", "readWrite", "immutable", "writeOnly"])
                .read_only(),
            string("returned", "always, never, default or request.")
                .canonical(&["always", "never", "default", "request"])
                .read_only(),
            string("uniqueness", "none, server or global.")
                .canonical(&["none", "server", "global"])
                .read_only(),
            string("referenceTypes", "What a reference may point to.").multi().read_only(),
            $($extra),*
        ]
    };
}
const SCHEMA_SUB_ATTR: &[Attr] = schema_attr_fields!();
const SCHEMA_ATTR: &[Attr] = schema_attr_fields!(
    complex(
        "subAttributes",
        SCHEMA_SUB_ATTR,
        "The sub-attributes of a complex attribute."
    )
    .multi()
    .read_only()
);

/// RFC 7643 §7.
pub static SCHEMA_SCHEMA: Schema = Schema {
    id: SCHEMA_URN,
    name: "Schema",
    description: "Specifies the schema attributes",
    attrs: &[
        string("id", "The schema's URI.")
            .required()
            .case_exact()
            .read_only(),
        string("name", "The schema's name.").read_only(),
        string("description", "The schema's description.").read_only(),
        complex("attributes", SCHEMA_ATTR, "The attributes.")
            .multi()
            .required()
            .read_only(),
    ],
};
