//! Where connectors register: one line per provider. A provider without a connector is
//! refused by `check-config` ("not implemented yet").

use crate::config::Provider;

use super::connector::Build;

/// The connector builder of a provider, if it has one.
pub(crate) fn build_fn(provider: Provider) -> Option<Build> {
    match provider {
        Provider::Okta => Some(super::okta::build),
        Provider::Workos => Some(super::workos::build),
        Provider::Entra => Some(super::entra::build),
        Provider::Bamboohr => Some(super::bamboohr::build),
    }
}

/// Whether the provider has a connector in this build.
pub fn is_registered(provider: Provider) -> bool {
    build_fn(provider).is_some()
}
