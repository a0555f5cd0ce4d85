//! The stored cursor of an Entra source: a small JSON document with the deltaLinks of the last
//! completed round and the displayName of every group seen, or, before the first round
//! completes, an epoch that names the first round. And the event ids, which must be the same
//! when a round is read again. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The cursor document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Cursor {
    /// Format version (1).
    pub v: u8,
    /// A new source's first round (no deltaLinks yet): a random name, so that its events,
    /// read again after a crash, get the same ids, and a later reset's first round other ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
    /// The users deltaLink, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<String>,
    /// The groups deltaLink, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<String>,
    /// Group id → displayName.
    #[serde(default)]
    pub names: BTreeMap<String, String>,
}

impl Cursor {
    /// A new source's cursor: an epoch, no deltaLinks.
    pub fn epoch(name: String) -> Cursor {
        Cursor {
            v: 1,
            epoch: Some(name),
            ..Cursor::default()
        }
    }

    /// Reads a stored cursor; `None` when it is not one this connector wrote.
    pub fn parse(text: &str) -> Option<Cursor> {
        serde_json::from_str::<Cursor>(text)
            .ok()
            .filter(|c| c.v == 1)
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether the groups of the next round have never been read: their first round.
    pub fn first_round(&self) -> bool {
        self.groups.is_none()
    }
}

/// The short hash of a round's starting cursor, which every event id of the round includes.
pub(super) fn round_key(cursor_text: &str) -> String {
    hex::encode(&Sha256::digest(cursor_text.as_bytes())[..8])
}

/// An event id: `entra:` and a hash of the round's key, the object and the mapped content, so
/// that a round read again gives the same ids, and another state (or round) other ones.
pub(super) fn event_id(round_key: &str, object: &str, content: &str) -> String {
    let mut h = Sha256::new();
    for part in [round_key, object, content] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    format!("entra:{}", hex::encode(&h.finalize()[..16]))
}
