//! `observe.record_requests`: request counts from middleware, the
//! denominator of error rates. One append to `observe.request_queue`, which
//! `observe.fold_counts()` folds into exact per-minute, hourly and daily
//! counts, so concurrent reporters never update one row (ARCHITECTURE.md,
//! "Counting").

use std::cell::OnceCell;

use chrono::Utc;
use pg_observe_core::budget::Amounts;
use pg_observe_core::lifecycle::Writer;
use pg_observe_core::requests::{request_counts, RequestReport};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys::{PgBuiltInOids, PgOid};
use pgrx::prelude::*;
use pgrx::spi::{OwnedPreparedStatement, SpiResult};

use crate::capture::{current_writer, spend_budget, CaptureError};
use crate::errors::{raise_capture_error, raise_request_error};
use crate::pgtime::{from_pg, to_pg};
use crate::settings;

const QUEUE_REQUESTS: &str = "
insert into observe.request_queue (service, environment, route, at, requests, errors)
values ($1, $2, $3, $4, $5, $6)";

thread_local! {
    static QUEUE_PLAN: OnceCell<OwnedPreparedStatement> = const { OnceCell::new() };
}

/// Records how many requests (and how many of them failed) a service served.
#[pg_extern(schema = "observe", volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn record_requests(
    service: Option<&str>,
    requests: Option<i64>,
    errors: default!(Option<i64>, "0"),
    route: default!(Option<&str>, "NULL"),
    environment: default!(Option<&str>, "NULL"),
    at: default!(Option<TimestampWithTimeZone>, "now()"),
) {
    if let Err(e) = crate::version::ensure_current() {
        raise_capture_error(e);
    }
    let scrubber = settings::scrubber().unwrap_or_else(|e| raise_capture_error(e.into()));
    let default_service = settings::default_service();
    let default_environment = settings::default_environment();
    let report = RequestReport {
        service: service.unwrap_or(&default_service),
        environment: environment.or(default_environment.as_deref()),
        route,
        requests,
        errors,
        at: at.map(from_pg),
    };
    let counts =
        request_counts(report, &scrubber, Utc::now()).unwrap_or_else(|e| raise_request_error(e));
    if counts.requests == 0 {
        return;
    }
    let writer = current_writer();
    let queued = Spi::connect_mut(|client| -> SpiResult<()> {
        if writer.trust == Writer::Untrusted {
            let wanted = Amounts {
                new_issues: 0,
                events: 1,
                bytes: (counts.service.len() + counts.environment.len() + counts.route.len())
                    as i64,
            };
            if !spend_budget(client, &writer.name, wanted)? {
                return Ok(());
            }
        }
        let args = [
            counts.service.as_str().into(),
            counts.environment.as_str().into(),
            counts.route.as_str().into(),
            to_pg(counts.at).into(),
            counts.requests.into(),
            counts.errors.into(),
        ];
        QUEUE_PLAN.with(|cell| {
            if cell.get().is_none() {
                let types: Vec<PgOid> = [
                    PgBuiltInOids::TEXTOID,
                    PgBuiltInOids::TEXTOID,
                    PgBuiltInOids::TEXTOID,
                    PgBuiltInOids::TIMESTAMPTZOID,
                    PgBuiltInOids::INT8OID,
                    PgBuiltInOids::INT8OID,
                ]
                .into_iter()
                .map(PgOid::from)
                .collect();
                let _ = cell.set(client.prepare_mut(QUEUE_REQUESTS, &types)?.keep());
            }
            let plan = cell.get().expect("the plan was just prepared");
            client.update(plan, None, &args).map(drop)
        })
    });
    if let Err(e) = queued {
        raise_capture_error(CaptureError::Storage(e));
    }
}
