//! `scheme = "graph"`: Microsoft Graph change notifications for an Entra ID source, and which
//! webhook schemes `format = "entra"` takes.

use super::load::Cx;
use super::types::{Format, Scheme};

impl Cx<'_> {
    /// `scheme = "graph"` belongs to `format = "entra"` with an event pull, and `entra` takes
    /// no other webhook scheme: a notification carries no state, it only makes the next event
    /// pull due now.
    pub(super) fn graph_scheme(
        &mut self,
        format: Format,
        scheme: Scheme,
        pull: Option<&toml::Value>,
        path: &str,
    ) {
        let graph = scheme == Scheme::Graph;
        if format == Format::Entra && !graph && scheme != Scheme::PullOnly {
            self.err(format!(
                "{path}.scheme: format \"entra\" has no signed webhooks to receive; write \
                 scheme = \"graph\" (Graph change notifications) or scheme = \"none\", and \
                 configure [sources.pull]"
            ));
        }
        if graph && format != Format::Entra {
            self.err(format!(
                "{path}.scheme: scheme = \"graph\" (Microsoft Graph change notifications) only \
                 works with format = \"entra\""
            ));
        }
        if !graph {
            return;
        }
        let interval = pull
            .and_then(|p| p.get("interval_secs"))
            .and_then(toml::Value::as_integer);
        if pull.is_none() {
            self.err(format!(
                "{path}: scheme = \"graph\" needs a [sources.pull] table: a change notification \
                 carries no data, it only makes the next pull due now, so without a pull it \
                 could do nothing"
            ));
        } else if interval == Some(0) {
            self.err(format!(
                "{path}.pull.interval_secs: scheme = \"graph\" makes the next event pull due \
                 now, and 0 turns the event pull off; set an interval (e.g. 3600: the \
                 notifications make it prompt)"
            ));
        }
    }
}

#[cfg(test)]
#[path = "tests_graph.rs"]
mod tests;
