//! `DGS_*` environment overrides, applied to the parsed TOML before it is deserialised.

use std::collections::BTreeMap;

const ENV_PREFIX: &str = "DGS_";

/// Applies `DGS_A__B__C=value` as `a.b.c = value`. A numeric segment indexes an array
/// (`DGS_SOURCES__0__SECRETS`). Values are read as TOML scalars or arrays when they parse as
/// such (`true`, `5`, `["a","b"]`), else as strings.
pub(super) fn apply_env_overrides(
    table: &mut toml::Table,
    env: &BTreeMap<String, String>,
    errors: &mut Vec<String>,
) {
    for (name, value) in env {
        let Some(path) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if path == "CONFIG" {
            continue; // DGS_CONFIG names the file itself.
        }
        let segments: Vec<String> = path.split("__").map(str::to_lowercase).collect();
        if segments.iter().any(String::is_empty) {
            errors.push(format!(
                "{name}: empty key segment; write levels as DGS_SECTION__KEY"
            ));
            continue;
        }
        let parsed = format!("v = {value}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.clone()));
        if let Err(e) = set_path(table, &segments, parsed) {
            errors.push(format!("{name}: {e}"));
        }
    }
}

fn set_path(
    table: &mut toml::Table,
    segments: &[String],
    value: toml::Value,
) -> Result<(), String> {
    let (first, rest) = segments.split_first().ok_or("empty key")?;
    if rest.is_empty() {
        table.insert(first.clone(), value);
        return Ok(());
    }
    let child = table
        .entry(first.clone())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    set_in_value(child, first, rest, value)
}

fn set_in_value(
    node: &mut toml::Value,
    name: &str,
    rest: &[String],
    value: toml::Value,
) -> Result<(), String> {
    match node {
        toml::Value::Table(t) => set_path(t, rest, value),
        toml::Value::Array(items) => {
            let (index, tail) = rest.split_first().ok_or("empty key")?;
            let i: usize = index
                .parse()
                .map_err(|_| format!("`{name}` is a list: the next segment must be an index"))?;
            if i == items.len() {
                items.push(toml::Value::Table(toml::Table::new()));
            }
            let len = items.len();
            let item = items
                .get_mut(i)
                .ok_or_else(|| format!("`{name}` has {len} entries; index {i} is past the end"))?;
            if tail.is_empty() {
                *item = value;
                Ok(())
            } else {
                set_in_value(item, index, tail, value)
            }
        }
        _ => Err(format!("`{name}` is a value, not a section")),
    }
}
