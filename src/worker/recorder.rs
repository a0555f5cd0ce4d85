//! Times every Domo call a job makes and keeps it as an audit entry, written with the job's
//! outcome.

use std::future::Future;
use std::time::Instant;

use tracing::Instrument as _;

use crate::domo::DomoError;
use crate::store::AuditEntry;

/// What a call was about, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct CallInfo {
    pub rule: Option<usize>,
    pub group_name: Option<String>,
    pub domo_group_id: Option<i64>,
    pub domo_user_id: Option<i64>,
}

/// Collects the audit entries of one job.
#[derive(Debug, Default)]
pub struct Recorder {
    pub event: Option<i64>,
    pub user_key: Option<String>,
    pub entries: Vec<AuditEntry>,
}

impl Recorder {
    /// A recorder for the job's newest event and its user.
    pub fn new(event: Option<i64>, user_key: Option<String>) -> Self {
        Recorder {
            event,
            user_key,
            entries: Vec::new(),
        }
    }

    /// Runs one Domo call, recording what it was, how it went and how long it took.
    /// `ok_status` is the status Domo answers on success (201 create, 204 membership, 200 reads).
    pub async fn call<T>(
        &mut self,
        op: &str,
        ok_status: u16,
        info: CallInfo,
        fut: impl Future<Output = Result<T, DomoError>>,
    ) -> Result<T, DomoError> {
        let span = tracing::info_span!(
            "domo",
            otel.name = %format_args!("domo {op}"),
            otel.kind = "client",
            domo.op = op,
            domo.group_id = info.domo_group_id,
            domo.user_id = info.domo_user_id,
            http.response.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = fut.instrument(span.clone()).await;
        match &result {
            Ok(_) => span.record("http.response.status_code", i64::from(ok_status)),
            Err(e) => {
                if let Some(s) = e.status() {
                    span.record("http.response.status_code", i64::from(s));
                }
                span.record("otel.status_code", "ERROR")
            }
        };
        crate::prometheus::record_domo_call(
            op,
            result.as_ref().map(|_| ok_status),
            started.elapsed(),
        );
        let (status, outcome, error) = match &result {
            Ok(_) => (Some(i64::from(ok_status)), "ok", None),
            Err(e) => (e.status().map(i64::from), "error", Some(e.to_string())),
        };
        tracing::info!(
            domo.op = op,
            http.status = status,
            outcome,
            duration_ms = started.elapsed().as_millis(),
            "Domo call"
        );
        self.push(
            op,
            info,
            status,
            outcome,
            error,
            started.elapsed().as_millis(),
        );
        result
    }

    /// Records an operation that dry run planned but did not call.
    pub fn dry_run(&mut self, op: &str, info: CallInfo) {
        self.push(op, info, None, "dry_run", None, 0);
    }

    fn push(
        &mut self,
        op: &str,
        info: CallInfo,
        status: Option<i64>,
        outcome: &str,
        error: Option<String>,
        millis: u128,
    ) {
        self.entries.push(AuditEntry {
            at_ms: chrono::Utc::now().timestamp_millis(),
            event: self.event,
            user_key: self.user_key.clone(),
            rule: info.rule.and_then(|r| i64::try_from(r).ok()),
            op: op.to_owned(),
            group_name: info.group_name,
            domo_group_id: info.domo_group_id,
            domo_user_id: info.domo_user_id,
            http_status: status,
            outcome: outcome.to_owned(),
            error,
            duration_ms: i64::try_from(millis).unwrap_or(i64::MAX),
        });
    }
}
