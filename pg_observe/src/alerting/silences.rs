//! `observe.silence()`: alerts matching a silence change state but queue
//! nothing until it ends (`observe.expire_silence()` ends it early). The
//! matchers are checked when the silence is created
//! (`pg_observe_core::alerting::matchers`).

use pg_observe_core::alerting::matchers::{Labels, Matchers};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::Value;

use crate::pgtime::from_pg;

/// Creates a silence until `ends_at`; returns its id.
#[pg_extern(schema = "observe", volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn silence(
    matchers: JsonB,
    ends_at: TimestampWithTimeZone,
    comment: default!(Option<String>, "NULL"),
) -> Uuid {
    if let Err(e) = Matchers::parse(&matchers.0) {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("matchers: {e}")
        );
    }
    if from_pg(ends_at) <= chrono::Utc::now() {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "ends_at must be in the future"
        );
    }
    Spi::get_one_with_args::<Uuid>(
        "insert into observe.silences (matchers, ends_at, comment) values ($1, $2, $3) returning id",
        &[matchers.into(), ends_at.into(), comment.into()],
    )
    .ok()
    .flatten()
    .unwrap_or_else(|| crate::errors::raise_internal("silence", "the insert returned no id"))
}

/// Whether a silence's matchers match an alert's labels (for the
/// `observe.active_alerts` view); matchers that do not parse match nothing.
#[pg_extern(schema = "observe", immutable, parallel_safe, strict)]
fn silence_matches(matchers: JsonB, labels: JsonB) -> bool {
    let Ok(matchers) = Matchers::parse(&matchers.0) else {
        return false;
    };
    let labels: Labels = match labels.0 {
        Value::Object(map) => map
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
            .collect(),
        _ => return false,
    };
    matchers.matches(&labels)
}
