//! The SCIM schemas this service serves (RFC 7643): what `/Schemas` publishes and what drives
//! input normalisation, PATCH, filters and projections. Only attributes that are stored and
//! echoed back exactly are declared: a client (and scim2-tester) builds its models from them.

use serde_json::{Map, Value, json};

/// The core User schema.
pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The enterprise User extension.
pub const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The core Group schema.
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Message schemas.
pub const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// Discovery schemas.
pub const SPC_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// An attribute's data type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Boolean,
    Integer,
    DateTime,
    Reference,
    Complex,
}

/// Whether and how a client may write an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
}

/// One attribute definition.
#[derive(Debug, Clone, Copy)]
pub struct Attr {
    pub name: &'static str,
    pub kind: Kind,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    /// `returned`: `always` when true, else `default`.
    pub always: bool,
    /// `uniqueness = server` when true, else `none`.
    pub unique: bool,
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub: &'static [Attr],
    pub description: &'static str,
}

pub(super) const fn attr(name: &'static str, kind: Kind, description: &'static str) -> Attr {
    Attr {
        name,
        kind,
        multi: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        always: false,
        unique: false,
        canonical: &[],
        reference_types: &[],
        sub: &[],
        description,
    }
}
pub(super) const fn string(name: &'static str, description: &'static str) -> Attr {
    attr(name, Kind::String, description)
}
pub(super) const fn boolean(name: &'static str, description: &'static str) -> Attr {
    attr(name, Kind::Boolean, description)
}
pub(super) const fn complex(
    name: &'static str,
    sub: &'static [Attr],
    description: &'static str,
) -> Attr {
    Attr {
        sub,
        ..attr(name, Kind::Complex, description)
    }
}

impl Attr {
    pub(super) const fn multi(self) -> Attr {
        Attr {
            multi: true,
            ..self
        }
    }
    pub(super) const fn required(self) -> Attr {
        Attr {
            required: true,
            ..self
        }
    }
    pub(super) const fn case_exact(self) -> Attr {
        Attr {
            case_exact: true,
            ..self
        }
    }
    pub(super) const fn read_only(self) -> Attr {
        Attr {
            mutability: Mutability::ReadOnly,
            ..self
        }
    }
    pub(super) const fn immutable(self) -> Attr {
        Attr {
            mutability: Mutability::Immutable,
            ..self
        }
    }
    pub(super) const fn unique(self) -> Attr {
        Attr {
            unique: true,
            ..self
        }
    }
    pub(super) const fn canonical(self, values: &'static [&'static str]) -> Attr {
        Attr {
            canonical: values,
            ..self
        }
    }
    pub(super) const fn refs(self, types: &'static [&'static str]) -> Attr {
        Attr {
            reference_types: types,
            ..self
        }
    }

    /// The sub-attribute of this name (attribute names are case-insensitive).
    pub fn sub_attr(&self, name: &str) -> Option<&'static Attr> {
        find(self.sub, name)
    }
}

/// A schema: an id (URN), a name and its attributes.
#[derive(Debug)]
pub struct Schema {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attrs: &'static [Attr],
}

impl Schema {
    /// The attribute of this name.
    pub fn attr(&self, name: &str) -> Option<&'static Attr> {
        find(self.attrs, name)
    }
}

/// The attribute of this name in `attrs`, ignoring case (RFC 7643 §2.1).
pub fn find(attrs: &'static [Attr], name: &str) -> Option<&'static Attr> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

const NAME_SUB: &[Attr] = &[
    string("formatted", "The full name, formatted for display."),
    string("familyName", "The family name."),
    string("givenName", "The given name."),
    string("middleName", "The middle name(s)."),
    string("honorificPrefix", "The honorific prefix(es), e.g. 'Ms.'."),
    string("honorificSuffix", "The honorific suffix(es), e.g. 'III'."),
];
const EMAIL_SUB: &[Attr] = &[
    string("value", "The email address."),
    string("type", "A label: work, home or other.").canonical(&["work", "home", "other"]),
    boolean("primary", "The preferred address; true at most once."),
];

/// The core User attributes served (externalId is a common attribute, outside the schema).
pub static USER: Schema = Schema {
    id: USER_URN,
    name: "User",
    description: "User Account",
    attrs: &[
        string(
            "userName",
            "Unique identifier for the User, compared without regard to case; must not begin or \
             end with whitespace.",
        )
        .required()
        .unique(),
        complex("name", NAME_SUB, "The components of the user's name."),
        string("displayName", "The name of the User, suitable for display."),
        string("nickName", "The casual way to address the user."),
        string("title", "The user's title, e.g. 'Vice President'."),
        string(
            "userType",
            "The relationship to the organisation, e.g. 'Employee'.",
        ),
        string(
            "preferredLanguage",
            "The preferred written or spoken language.",
        ),
        string(
            "locale",
            "The default location for localisation, e.g. 'en-US'.",
        ),
        string("timezone", "The time zone, e.g. 'Europe/Paris'."),
        boolean(
            "active",
            "Whether the user has access; false offboards the user in Domo.",
        ),
        complex(
            "emails",
            EMAIL_SUB,
            "Email addresses; the primary (else work, else first) one matches the Domo account.",
        )
        .multi(),
    ],
};

const MANAGER_SUB: &[Attr] = &[
    string(
        "value",
        "The id of the SCIM resource representing the User's manager.",
    ),
    attr(
        "$ref",
        Kind::Reference,
        "The URI of the manager's SCIM resource.",
    )
    .refs(&["User"]),
    string("displayName", "The manager's display name.").read_only(),
];

/// The enterprise extension; every attribute is a rule attribute.
pub static ENTERPRISE: Schema = Schema {
    id: ENTERPRISE_URN,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attrs: &[
        string(
            "employeeNumber",
            "A string identifier assigned by the organisation.",
        ),
        string("costCenter", "The name of a cost center."),
        string("organization", "The name of an organisation."),
        string("division", "The name of a division."),
        string("department", "The name of a department."),
        complex("manager", MANAGER_SUB, "The user's manager."),
    ],
};

const MEMBER_SUB: &[Attr] = &[
    string("value", "The id of a member User.").immutable(),
    attr("$ref", Kind::Reference, "The URI of the member User.")
        .refs(&["User"])
        .immutable(),
    string("type", "The type of the member: User.")
        .canonical(&["User"])
        .immutable(),
];

/// The core Group attributes served.
pub static GROUP: Schema = Schema {
    id: GROUP_URN,
    name: "Group",
    description: "Group",
    attrs: &[
        string(
            "displayName",
            "The group's name, unique without regard to case; the rules match it.",
        )
        .required()
        .unique(),
        complex(
            "members",
            MEMBER_SUB,
            "The Users in the group (no nested groups).",
        )
        .multi(),
    ],
};

/// Every schema `/Schemas` lists, in order.
pub static ALL: [&Schema; 6] = [
    &USER,
    &ENTERPRISE,
    &GROUP,
    &super::schema_meta::SPC_SCHEMA,
    &super::schema_meta::RESOURCE_TYPE_SCHEMA,
    &super::schema_meta::SCHEMA_SCHEMA,
];

/// The schema with this id (compared without case).
pub fn by_id(id: &str) -> Option<&'static Schema> {
    ALL.iter().copied().find(|s| s.id.eq_ignore_ascii_case(id))
}

fn attr_json(a: &Attr) -> Value {
    let kind = match a.kind {
        Kind::String => "string",
        Kind::Boolean => "boolean",
        Kind::Integer => "integer",
        Kind::DateTime => "dateTime",
        Kind::Reference => "reference",
        Kind::Complex => "complex",
    };
    let mutability = match a.mutability {
        Mutability::ReadOnly => "readOnly",
        Mutability::ReadWrite => "readWrite",
        Mutability::Immutable => "immutable",
    };
    let mut o = Map::new();
    o.insert("name".into(), json!(a.name));
    o.insert("type".into(), json!(kind));
    o.insert("multiValued".into(), json!(a.multi));
    o.insert("description".into(), json!(a.description));
    o.insert("required".into(), json!(a.required));
    if a.kind != Kind::Complex && a.kind != Kind::Boolean {
        o.insert("caseExact".into(), json!(a.case_exact));
    }
    if !a.canonical.is_empty() {
        o.insert("canonicalValues".into(), json!(a.canonical));
    }
    o.insert("mutability".into(), json!(mutability));
    o.insert(
        "returned".into(),
        json!(if a.always { "always" } else { "default" }),
    );
    o.insert(
        "uniqueness".into(),
        json!(if a.unique { "server" } else { "none" }),
    );
    if !a.reference_types.is_empty() {
        o.insert("referenceTypes".into(), json!(a.reference_types));
    }
    if a.kind == Kind::Complex {
        o.insert(
            "subAttributes".into(),
            Value::Array(a.sub.iter().map(attr_json).collect()),
        );
    }
    Value::Object(o)
}

/// A schema as `/Schemas/{id}` serves it; `base` is the absolute `/scim/{source}/v2` URL.
pub fn schema_json(s: &Schema, base: &str) -> Value {
    json!({
        "schemas": [SCHEMA_URN],
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "attributes": s.attrs.iter().map(attr_json).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{}", s.id)},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_lookup_ignores_case() {
        assert_eq!(USER.attr("USERNAME").map(|a| a.name), Some("userName"));
        assert_eq!(
            USER.attr("emails")
                .and_then(|a| a.sub_attr("Value"))
                .map(|a| a.name),
            Some("value")
        );
        assert!(
            USER.attr("password").is_none(),
            "never stored, never declared"
        );
        assert_eq!(
            by_id(&ENTERPRISE_URN.to_uppercase()).map(|s| s.name),
            Some("EnterpriseUser")
        );
    }

    #[test]
    fn published_schemas_carry_the_rfc_characteristics() {
        let user = schema_json(&USER, "https://x/scim/a/v2");
        let user_name = &user["attributes"][0];
        assert_eq!(user_name["name"], "userName");
        assert_eq!(user_name["required"], true);
        assert_eq!(user_name["caseExact"], false);
        assert_eq!(user_name["uniqueness"], "server");
        let group = schema_json(&GROUP, "https://x/scim/a/v2");
        let members = &group["attributes"][1];
        assert_eq!(members["multiValued"], true);
        assert_eq!(
            members["subAttributes"][1]["referenceTypes"],
            json!(["User"])
        );
        assert_eq!(
            group["meta"]["location"],
            format!("https://x/scim/a/v2/Schemas/{GROUP_URN}")
        );
        let schema = schema_json(&super::super::schema_meta::SCHEMA_SCHEMA, "b");
        assert_eq!(
            schema["attributes"][3]["subAttributes"][0]["name"], "name",
            "`attributes` describes its sub-attributes"
        );
    }
}
