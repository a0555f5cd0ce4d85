//! The config loader fed arbitrary text: never a panic.
#![no_main]

use std::collections::BTreeMap;

use domo_group_sync::config::{Config, ConfigInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `file:` references read files: an operator's choice, not input to fuzz.
    if text.contains("file:") {
        return;
    }
    let env = BTreeMap::new();
    let _ = Config::parse(ConfigInput {
        toml: Some(text),
        env: &env,
    });
});
