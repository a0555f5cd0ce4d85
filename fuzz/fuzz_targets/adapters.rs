//! Every format adapter fed arbitrary bodies: never a panic; whatever it accepts validates.
#![no_main]

use axum::http::{HeaderMap, HeaderValue};
use domo_group_sync::config::Format;
use domo_group_sync::sources::{Parsed, parse};
use libfuzzer_sys::fuzz_target;

const FORMATS: [Format; 5] = [
    Format::Canonical,
    Format::Workos,
    Format::Okta,
    Format::Clerk,
    Format::Bamboohr,
];

fuzz_target!(|data: &[u8]| {
    let Some((first, body)) = data.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(*first) % FORMATS.len()];
    let mut headers = HeaderMap::new();
    headers.insert("svix-id", HeaderValue::from_static("msg_fuzz"));
    if let Ok(items) = parse(format, &headers, body) {
        for item in items {
            if let Parsed::Event(ev) = item {
                assert!(ev.validate().is_ok(), "an accepted event must validate");
            }
        }
    }
});
