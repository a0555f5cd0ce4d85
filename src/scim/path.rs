//! Attribute paths (RFC 7644 §3.10 and the PATCH `path`, §3.5.2): `userName`, `name.givenName`,
//! `urn:…:enterprise:2.0:User:department`, `emails[type eq "work"].value`,
//! `members[value eq "…"]`. Names are kept as written; lookups ignore case.

use super::ScimError;
use super::filter::{self, Filter};
use super::schema;

/// An attribute reference: an optional schema URN, an attribute and an optional sub-attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrRef {
    /// The schema URN it was qualified with, as written (`None` = the core schema, or any).
    pub schema: Option<String>,
    /// The attribute's name; empty when the path names a whole extension (`urn:…:User`).
    pub name: String,
    pub sub: Option<String>,
}

impl AttrRef {
    /// Parses `[URN ":"] name ["." sub]`.
    pub fn parse(text: &str) -> Result<AttrRef, ScimError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ScimError::invalid_path("an attribute path is empty"));
        }
        let (schema, rest) = split_urn(text);
        let (name, sub) = match rest.split_once('.') {
            Some((n, s)) => (n, Some(s)),
            None => (rest, None),
        };
        let valid = |s: &str| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '$' || c == '_' || c == '-')
        };
        if !valid(name)
            || sub.is_some_and(|s| s.is_empty() || !valid(s))
            || (name.is_empty() && schema.is_none())
        {
            return Err(ScimError::invalid_path(format!(
                "`{text}` is not an attribute path"
            )));
        }
        Ok(AttrRef {
            schema: schema.map(str::to_owned),
            name: name.to_owned(),
            sub: sub.map(str::to_owned),
        })
    }

    /// Whether this names `attr` of the core schema (or of no schema), ignoring case.
    pub fn is_core(&self, attr: &str) -> bool {
        self.name.eq_ignore_ascii_case(attr)
            && self.schema.as_deref().is_none_or(|s| {
                s.eq_ignore_ascii_case(schema::USER_URN)
                    || s.eq_ignore_ascii_case(schema::GROUP_URN)
            })
    }
}

/// Splits a URN prefix off a path: the longest known schema id followed by `:` (or the whole
/// text when it is a schema id), else, for an unknown `urn:`, everything up to the last `:`.
fn split_urn(text: &str) -> (Option<&str>, &str) {
    if !text
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
    {
        return (None, text);
    }
    for s in schema::ALL.iter() {
        let id = s.id;
        if text.len() == id.len() && text.eq_ignore_ascii_case(id) {
            return (Some(text), "");
        }
        if text.len() > id.len()
            && text.is_char_boundary(id.len())
            && text[..id.len()].eq_ignore_ascii_case(id)
            && text.as_bytes()[id.len()] == b':'
        {
            return (Some(&text[..id.len()]), &text[id.len() + 1..]);
        }
    }
    match text.rfind(':') {
        Some(i) => (Some(&text[..i]), &text[i + 1..]),
        None => (None, text),
    }
}

/// A PATCH path: an attribute, an optional value filter on it, an optional sub-attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute (its `sub` is the sub-attribute when there is no filter).
    pub attr: AttrRef,
    /// `attr[filter]`: the elements of a multi-valued attribute it selects.
    pub filter: Option<Filter>,
    /// `attr[filter].sub`.
    pub sub_after_filter: Option<String>,
}

impl PatchPath {
    /// Parses `attrPath`, `attrPath[valFilter]` or `attrPath[valFilter].subAttr`.
    pub fn parse(text: &str) -> Result<PatchPath, ScimError> {
        let text = text.trim();
        let Some(open) = text.find('[') else {
            return Ok(PatchPath {
                attr: AttrRef::parse(text)?,
                filter: None,
                sub_after_filter: None,
            });
        };
        let close = closing_bracket(text, open)
            .ok_or_else(|| ScimError::invalid_path(format!("`{text}`: `[` is never closed")))?;
        let attr = AttrRef::parse(&text[..open])?;
        if attr.sub.is_some() {
            return Err(ScimError::invalid_path(format!(
                "`{text}`: a value filter applies to an attribute, not a sub-attribute"
            )));
        }
        let inner =
            filter::parse(&text[open + 1..close]).map_err(|e| ScimError::invalid_path(e.detail))?;
        let tail = &text[close + 1..];
        let sub = if tail.is_empty() {
            None
        } else if let Some(s) = tail.strip_prefix('.') {
            if s.is_empty()
                || !s
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '$' || c == '_')
            {
                return Err(ScimError::invalid_path(format!(
                    "`{text}` is not an attribute path"
                )));
            }
            Some(s.to_owned())
        } else {
            return Err(ScimError::invalid_path(format!(
                "`{text}` is not an attribute path"
            )));
        };
        Ok(PatchPath {
            attr,
            filter: Some(inner),
            sub_after_filter: sub,
        })
    }
}

/// The index of the `]` that closes the `[` at `open`, skipping quoted strings.
pub fn closing_bracket(text: &str, open: usize) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices().skip_while(|(i, _)| *i <= open) {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            ']' if !in_string => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_paths_split_urn_name_and_sub() {
        let a = AttrRef::parse("name.givenName").expect("parses");
        assert_eq!(
            (a.schema, a.name.as_str(), a.sub.as_deref()),
            (None, "name", Some("givenName"))
        );
        let a = AttrRef::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        )
        .expect("parses");
        assert_eq!(a.schema.as_deref(), Some(schema::ENTERPRISE_URN));
        assert_eq!(
            (a.name.as_str(), a.sub.as_deref()),
            ("manager", Some("value"))
        );
        let a = AttrRef::parse("URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER")
            .expect("parses");
        assert_eq!(a.name, "", "a whole extension");
        let a =
            AttrRef::parse("urn:ietf:params:scim:schemas:core:2.0:User:userName").expect("parses");
        assert!(a.is_core("USERNAME"));
        let a = AttrRef::parse("urn:example:custom:1.0:badge").expect("parses");
        assert_eq!(
            (a.schema.as_deref(), a.name.as_str()),
            (Some("urn:example:custom:1.0"), "badge")
        );
        for bad in ["", "a b", "name.", "name..x", "a[b"] {
            assert!(AttrRef::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn patch_paths_take_value_filters_and_a_sub_attribute_after_them() {
        let p = PatchPath::parse(r#"emails[type eq "work"].value"#).expect("parses");
        assert_eq!(p.attr.name, "emails");
        assert_eq!(p.sub_after_filter.as_deref(), Some("value"));
        assert!(p.filter.is_some());
        let p = PatchPath::parse(r#"members[value eq "a]b"]"#).expect("a ] inside quotes");
        assert!(p.sub_after_filter.is_none());
        assert!(PatchPath::parse(r#"members[value eq "x""#).is_err());
        assert!(PatchPath::parse(r#"members[value eq "x"]x"#).is_err());
        assert!(PatchPath::parse(r#"name.givenName[value eq "x"]"#).is_err());
    }
}
