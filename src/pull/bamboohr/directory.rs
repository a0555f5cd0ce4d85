//! The BambooHR employee listing: every employee `employees/changed` lists since BambooHR's
//! data starts (Active and Inactive; a deleted one is left out, so it is absent), then each
//! one's fields, read against today by the webhook adapter's termination rule.

use chrono::{DateTime, TimeZone, Utc};

use super::Bamboohr;
use super::cursor::changes;
use crate::pull::connector::{ListedUser, Listing, Progress, PullError, Step};
use crate::sources::bamboohr::employee;

pub(super) async fn listing(
    bamboo: &Bamboohr,
    now: DateTime<Utc>,
    progress: &Progress<'_>,
) -> Listing {
    let mut listing = Listing::default();
    match read(bamboo, now, progress, &mut listing).await {
        Ok(()) => listing.complete = true,
        Err(e) => {
            tracing::warn!(error = %e, "the BambooHR employee listing is incomplete");
            listing.problem = Some(e.to_string());
        }
    }
    listing
}

/// The day before BambooHR's change data starts (2011-06-05): every employee has changed since.
fn beginning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2011, 6, 4, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

async fn read(
    bamboo: &Bamboohr,
    now: DateTime<Utc>,
    progress: &Progress<'_>,
    listing: &mut Listing,
) -> Result<(), PullError> {
    let mut url = bamboo.endpoint("v1/employees/changed")?;
    url.query_pairs_mut().append_pair(
        "since",
        &beginning().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
    );
    listing.requests += 1;
    let answer = bamboo
        .get(&url, progress)
        .await
        .map_err(|e| e.in_listing("employees"))?;
    let read =
        changes(&answer.json()?).map_err(|e| PullError::BadResponse(format!("employees: {e}")))?;
    // An employee that cannot be read might be one who looks absent: nobody may be removed.
    if let Some(why) = read.unreadable.first() {
        return Err(PullError::BadResponse(format!("employees: {why}")));
    }
    let all = read.list;
    progress(Step::Page {
        what: "employees".into(),
        items: all.len(),
    });
    let mut ids: Vec<&str> = all
        .iter()
        .filter(|c| !c.action.eq_ignore_ascii_case("deleted"))
        .map(|c| c.id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    for (i, id) in ids.iter().enumerate() {
        listing.requests += 1;
        let fields = bamboo
            .fields(id, progress)
            .await
            .map_err(|e| e.in_listing(&format!("employee {id}")))?;
        // Deleted since the list was read: absent, as a deleted employee is.
        let Some(fields) = fields else { continue };
        let e = employee(&fields, now);
        listing.users.push(ListedUser {
            id: (*id).to_owned(),
            email: e.email,
            name: e.name,
            active: !e.left,
        });
        if (i + 1) % 100 == 0 || i + 1 == ids.len() {
            progress(Step::Page {
                what: "employees read".into(),
                items: i + 1,
            });
        }
    }
    Ok(())
}
