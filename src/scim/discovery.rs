//! Discovery (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`. Only what
//! is implemented is advertised: PATCH yes, filters yes (up to [`MAX_RESULTS`]), bulk, sort,
//! ETags and password change no, bearer tokens.

use serde_json::{Value, json};

use super::resource::ResourceKind;
use super::schema::{self, LIST_URN, RESOURCE_TYPE_URN, SPC_URN};
use super::{MAX_RESULTS, ScimError};

/// `GET /ServiceProviderConfig`. `base` is the absolute `/scim/{source}/v2` URL.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SPC_URN],
        "documentationUri": "https://github.com/domo-group-sync/domo-group-sync#provisioning-with-scim",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A long-lived bearer token in the Authorization header; the source's \
                `secrets` hold its SHA-256.",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

fn resource_type(kind: ResourceKind, base: &str) -> Value {
    let mut rt = json!({
        "schemas": [RESOURCE_TYPE_URN],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": format!("/{}", kind.endpoint()),
        "description": match kind {
            ResourceKind::User => "User Account",
            ResourceKind::Group => "Group",
        },
        "schema": kind.core().id,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", kind.name())},
    });
    let extensions: Vec<Value> = kind
        .extensions()
        .iter()
        .map(|e| json!({"schema": e.id, "required": false}))
        .collect();
    if !extensions.is_empty() {
        rt["schemaExtensions"] = Value::Array(extensions);
    }
    rt
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_URN],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// `GET /ResourceTypes`.
pub fn resource_types(base: &str) -> Value {
    list(
        [ResourceKind::User, ResourceKind::Group]
            .map(|k| resource_type(k, base))
            .to_vec(),
    )
}

/// `GET /ResourceTypes/{id}`.
pub fn resource_type_by_id(id: &str, base: &str) -> Result<Value, ScimError> {
    [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .find(|k| k.name().eq_ignore_ascii_case(id))
        .map(|k| resource_type(k, base))
        .ok_or_else(|| {
            ScimError::not_found(format!("no resource type `{id}`; there are User and Group"))
        })
}

/// `GET /Schemas`.
pub fn schemas(base: &str) -> Value {
    list(
        schema::ALL
            .iter()
            .map(|s| schema::schema_json(s, base))
            .collect(),
    )
}

/// `GET /Schemas/{id}`.
pub fn schema_by_id(id: &str, base: &str) -> Result<Value, ScimError> {
    schema::by_id(id)
        .map(|s| schema::schema_json(s, base))
        .ok_or_else(|| ScimError::not_found(format!("no schema `{id}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_is_implemented_is_advertised() {
        let spc = service_provider_config("https://h/scim/a/v2");
        assert_eq!(spc["patch"]["supported"], true);
        assert_eq!(spc["filter"]["maxResults"], MAX_RESULTS);
        for off in ["bulk", "sort", "etag", "changePassword"] {
            assert_eq!(spc[off]["supported"], false, "{off}");
        }
        assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");
    }

    #[test]
    fn resource_types_are_relative_endpoints_with_their_schemas() {
        let rts = resource_types("https://h/scim/a/v2");
        assert_eq!(rts["totalResults"], 2);
        assert_eq!(rts["Resources"][0]["endpoint"], "/Users");
        assert_eq!(
            rts["Resources"][0]["schemaExtensions"][0]["schema"],
            schema::ENTERPRISE_URN
        );
        assert!(rts["Resources"][1].get("schemaExtensions").is_none());
        assert!(resource_type_by_id("group", "b").is_ok());
        assert_eq!(
            resource_type_by_id("Device", "b").map_err(|e| e.status.as_u16()),
            Err(404)
        );
        let names: Vec<String> = schemas("b")["Resources"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for required in [
            "User",
            "Group",
            "ResourceType",
            "ServiceProviderConfig",
            "Schema",
        ] {
            assert!(
                names.iter().any(|n| n == required),
                "{required} in {names:?}"
            );
        }
    }
}
