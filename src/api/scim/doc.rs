//! The shapes of SCIM bodies, for the OpenAPI document only: the handlers read and write JSON
//! through `crate::scim`, which is lenient on input (see `scim::resource`).

use serde::Serialize;
use utoipa::ToSchema;

/// `meta` of a resource.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimMetaDoc {
    #[schema(example = "User")]
    pub resource_type: String,
    #[schema(example = "2026-11-28T10:00:00.000Z")]
    pub created: String,
    #[schema(example = "2026-11-28T10:00:00.000Z")]
    pub last_modified: String,
    /// The resource's absolute URL.
    pub location: String,
    #[schema(example = "W/\"1\"")]
    pub version: String,
}

/// `name` of a User.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimNameDoc {
    pub formatted: Option<String>,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub middle_name: Option<String>,
    pub honorific_prefix: Option<String>,
    pub honorific_suffix: Option<String>,
}

/// One email address.
#[derive(Serialize, ToSchema)]
pub struct ScimEmailDoc {
    #[schema(example = "ada@example.com")]
    pub value: Option<String>,
    #[schema(example = "work")]
    pub r#type: Option<String>,
    pub primary: Option<bool>,
}

/// `manager` of the enterprise extension.
#[derive(Serialize, ToSchema)]
pub struct ScimManagerDoc {
    /// The manager's SCIM id.
    pub value: Option<String>,
    #[serde(rename = "$ref")]
    pub reference: Option<String>,
}

/// The enterprise extension; every attribute is a rule attribute (`manager` = its `value`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimEnterpriseDoc {
    pub employee_number: Option<String>,
    pub cost_center: Option<String>,
    pub organization: Option<String>,
    pub division: Option<String>,
    #[schema(example = "Sales")]
    pub department: Option<String>,
    pub manager: Option<ScimManagerDoc>,
}

/// A SCIM User (RFC 7643 §4.1) with the attributes this service keeps.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "ada@example.com",
    "externalId": "00u1a2b3",
    "name": {"givenName": "Ada", "familyName": "Lovelace"},
    "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
    "active": true
}))]
pub struct ScimUserDoc {
    pub schemas: Option<Vec<String>>,
    /// Server-issued, stable; ignored in requests.
    pub id: Option<String>,
    pub external_id: Option<String>,
    /// Required; unique without regard to case; no whitespace at either end.
    pub user_name: Option<String>,
    pub name: Option<ScimNameDoc>,
    pub display_name: Option<String>,
    pub nick_name: Option<String>,
    pub title: Option<String>,
    pub user_type: Option<String>,
    pub preferred_language: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    /// `false` offboards the user in Domo; `"False"` is read as false.
    pub active: Option<bool>,
    pub emails: Option<Vec<ScimEmailDoc>>,
    #[serde(rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")]
    pub enterprise: Option<ScimEnterpriseDoc>,
    /// Set by the server; ignored in requests.
    pub meta: Option<ScimMetaDoc>,
}

/// One member of a Group.
#[derive(Serialize, ToSchema)]
pub struct ScimMemberDoc {
    /// The member User's id.
    pub value: String,
    #[serde(rename = "$ref")]
    pub reference: Option<String>,
    #[schema(example = "User")]
    pub r#type: Option<String>,
}

/// A SCIM Group (RFC 7643 §4.2).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "displayName": "Marketing",
    "members": [{"value": "4f8c0f0e-3b7a-4a57-9a53-2f5c1a9b8e11"}]
}))]
pub struct ScimGroupDoc {
    pub schemas: Option<Vec<String>>,
    pub id: Option<String>,
    pub external_id: Option<String>,
    /// Required; unique without regard to case; the rules match it.
    pub display_name: Option<String>,
    pub members: Option<Vec<ScimMemberDoc>>,
    pub meta: Option<ScimMetaDoc>,
}

/// A ListResponse (RFC 7644 §3.4.2).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimListDoc {
    pub schemas: Vec<String>,
    pub total_results: i64,
    pub start_index: i64,
    pub items_per_page: i64,
    #[serde(rename = "Resources")]
    pub resources: Vec<serde_json::Value>,
}

/// A SCIM error (RFC 7644 §3.12): `status` is a string.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
    "status": "409", "scimType": "uniqueness", "detail": "userName `ada@example.com` is taken"
}))]
pub struct ScimErrorDoc {
    pub schemas: Vec<String>,
    pub status: String,
    /// `invalidFilter`, `invalidPath`, `invalidSyntax`, `invalidValue`, `noTarget`,
    /// `mutability`, `uniqueness`, `tooMany` (400 and 409 only).
    pub scim_type: Option<String>,
    pub detail: Option<String>,
}

/// One PATCH operation; `op` in any case.
#[derive(Serialize, ToSchema)]
pub struct ScimOperationDoc {
    #[schema(example = "replace")]
    pub op: String,
    #[schema(example = "active")]
    pub path: Option<String>,
    pub value: Option<serde_json::Value>,
}

/// A PatchOp (RFC 7644 §3.5.2).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
}))]
pub struct ScimPatchDoc {
    pub schemas: Option<Vec<String>>,
    #[serde(rename = "Operations")]
    pub operations: Vec<ScimOperationDoc>,
}

/// A SearchRequest (RFC 7644 §3.4.3).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimSearchDoc {
    pub schemas: Option<Vec<String>>,
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub attributes: Option<Vec<String>>,
    pub excluded_attributes: Option<Vec<String>>,
}
