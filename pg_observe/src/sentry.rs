//! The Sentry SDK protocol's database side (README, "Sentry SDKs"): an SDK's
//! event, mapped by `pg_observe_core::sentry`, captured in its project's
//! service. `observe.log_sentry_event` is the SQL API; the ingest edge
//! function calls `observe.ingest_sentry_envelopes`, which also checks the
//! project keys and answers, for each envelope, what its SDK must hear
//! (stored, unknown key, disabled project, or over budget: back off).
//!
//! An event's `event_id` is remembered for a day
//! (`observe.sentry_event_ids`), so the same event sent twice is stored once.
//! Events that arrive with a project key are untrusted writers' whatever role
//! the function runs as (a DSN is public in every browser that loads it), and
//! their budgets are the project's: scope `project:<id>` of
//! `observe.ingest_budgets`, `'default'` until `observe.set_project_budget`.

use std::cell::{Cell, OnceCell};
use std::collections::BTreeMap;

use chrono::{Timelike, Utc};
use pg_observe_core::budget::DropReason;
use pg_observe_core::event::EventError;
use pg_observe_core::lifecycle::Writer;
use pg_observe_core::sentry::{event_from_sentry, SdkEvent, MAX_ITEMS};
use pgrx::pg_sys::{PgBuiltInOids, PgOid};
use pgrx::prelude::*;
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiResult};
use pgrx::{JsonB, PgSqlErrorCode, Spi, Uuid};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::capture::{
    backend_slot, budgets, current_writer, try_capture_as, CaptureError, WriterRole,
};
use crate::errors::{invalid, raise_capture_error, raise_event_error, raise_internal};
use crate::jsonb::RawJsonb;
use crate::subtransaction::{in_subtransaction, Raised};

/// How much of one event is read; the ingest function sends at most 1 MiB,
/// and the pipeline keeps far less (64 KiB of context).
const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;
const MAX_EVENT_DEPTH: usize = 32;

/// How long an `event_id` is remembered.
const REMEMBER_EVENT_IDS: &str = "1 day";

/// A project as capture needs it.
#[derive(Clone)]
struct Project {
    id: i64,
    service: String,
    environment: Option<String>,
    disabled: bool,
}

/// Records an event in the Sentry SDKs' JSON (v7) for a project; returns its
/// id (the first one's, for an event_id already seen).
#[pg_extern(schema = "observe", volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn log_sentry_event(project_id: Option<i64>, event: Option<RawJsonb>) -> Uuid {
    let (Some(project_id), Some(event)) = (project_id, event) else {
        raise_event_error(EventError::Missing {
            field: if project_id.is_none() {
                "project_id"
            } else {
                "event"
            }
            .into(),
        });
    };
    let project = Spi::connect(|client| project_by_id(client, project_id))
        .unwrap_or_else(|e| raise_internal("reading the project", e))
        .unwrap_or_else(|| no_such_project(project_id));
    if project.disabled {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("project {project_id} is disabled"),
            "observe.enable_project() accepts its events again"
        );
    }
    let mut writer = current_writer();
    writer.budget_scope = budget_scope(project.id);
    let value = event.root().bounded(MAX_EVENT_BYTES, MAX_EVENT_DEPTH).value;
    let sdk = event_from_sentry(&value).unwrap_or_else(|e| raise_event_error(e));
    match capture(&project, sdk, &writer) {
        Ok(Delivered::Stored(id) | Delivered::Duplicate(id) | Delivered::Dropped(id, _)) => id,
        Err(e) => raise_capture_error(e),
    }
}

/// Envelopes per call, each in a subtransaction of its own: fewer than the
/// 64 subtransaction ids a backend caches, past which every snapshot in the
/// cluster would have to consult pg_subtrans (as the capture worker's batches).
const MAX_ENVELOPES: usize = 50;

/// One envelope as the ingest function passes it.
struct Envelope {
    project_id: i64,
    public_key: String,
    events: Vec<Value>,
    items: Value,
}

impl Envelope {
    fn read(value: Value) -> Option<Envelope> {
        let Value::Object(mut fields) = value else {
            return None;
        };
        let events = match fields.remove("events") {
            Some(Value::Array(events)) => events,
            None => Vec::new(),
            Some(_) => return None,
        };
        Some(Envelope {
            project_id: fields.get("project_id")?.as_i64()?,
            public_key: fields.get("public_key")?.as_str()?.to_owned(),
            events,
            items: fields.remove("items").unwrap_or_else(|| json!({})),
        })
    }
}

/// The ingest function's way in, for every envelope that reached it while
/// its previous call was running (ARCHITECTURE.md, "The Sentry SDK
/// protocol"): `envelopes` is a JSON array of `{project_id, public_key,
/// events: [...], items: {"type": count}}`. Each envelope's key is checked
/// against its project's keys, its events are captured and its items
/// counted, in a subtransaction of its own, so one envelope's failure loses
/// only that envelope. One row per envelope, in order:
/// `{"status": "accepted", "ids": [...]}`, `{"status": "unknown_key"}`,
/// `{"status": "disabled"}`,
/// `{"status": "rate_limited", "reason": ..., "retry_after": seconds}`, or
/// `{"status": "failed", "sqlstate": ..., "message": ...}` for the error
/// that rolled it back. Text, not jsonb: serde reads it once, where a jsonb
/// argument would be parsed, printed and parsed again.
#[pg_extern(schema = "observe", volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn ingest_sentry_envelopes(
    envelopes: &str,
) -> TableIterator<'static, (name!(envelope, i32), name!(result, JsonB))> {
    let shape = "envelopes must be a JSON array of {project_id, public_key, events, items}";
    let envelopes: Vec<Envelope> = match serde_json::from_str(envelopes) {
        Ok(Value::Array(envelopes)) => envelopes
            .into_iter()
            .map(|envelope| Envelope::read(envelope).unwrap_or_else(|| invalid(shape)))
            .collect(),
        Ok(_) => invalid(shape),
        Err(e) => invalid(format!("{shape}: {e}")),
    };
    if envelopes.len() > MAX_ENVELOPES {
        invalid(format!(
            "at most {MAX_ENVELOPES} envelopes per call, got {}",
            envelopes.len()
        ));
    }
    let mut projects = Projects::default();
    let mut counted: Vec<ItemCounts> = Vec::new();
    let mut results = Vec::with_capacity(envelopes.len());
    // The batch reads each project's budgets once and writes what it took
    // once; an envelope rolled back gives back what it took.
    budgets::in_batch(|| {
        for (index, envelope) in envelopes.into_iter().enumerate() {
            let taken_before = budgets::mark();
            let outcome = in_subtransaction(|| Ok::<_, Raised>(ingest(&mut projects, envelope)));
            let result = match outcome {
                Ok((result, items)) => {
                    counted.extend(items);
                    result
                }
                Err(raised) => {
                    budgets::rewind(taken_before);
                    json!({
                        "status": "failed",
                        "sqlstate": raised.sqlstate,
                        "message": raised.message,
                    })
                }
            };
            results.push((index as i32 + 1, JsonB(result)));
        }
    })
    .unwrap_or_else(|e| raise_internal("writing the batch's budgets", e));
    Spi::connect_mut(|client| count_items(client, &counted))
        .unwrap_or_else(|e| raise_internal("counting envelope items", e));
    TableIterator::new(results)
}

/// An accepted envelope's project and its items by type.
type ItemCounts = (i64, Vec<(String, i64)>);

/// The projects of the keys a call has checked, so that a batch of one
/// key's envelopes looks it up once.
#[derive(Default)]
struct Projects(Vec<(String, Option<Project>)>);

impl Projects {
    fn by_key(&mut self, public_key: &str) -> Option<Project> {
        if let Some((_, project)) = self.0.iter().find(|(key, _)| key == public_key) {
            return project.clone();
        }
        let project = Spi::connect(|client| project_by_key(client, public_key))
            .unwrap_or_else(|e| raise_internal("checking the project key", e));
        self.0.push((public_key.to_owned(), project.clone()));
        project
    }
}

/// One envelope: its answer, and its item counts when it was accepted (they
/// are counted together, after the batch). Raises what would fail it.
fn ingest(projects: &mut Projects, envelope: Envelope) -> (Value, Option<ItemCounts>) {
    let project = match projects.by_key(&envelope.public_key) {
        Some(project) if project.id == envelope.project_id => project,
        _ => return (json!({"status": "unknown_key"}), None),
    };
    if project.disabled {
        return (json!({"status": "disabled"}), None);
    }
    let items = item_counts(&envelope.items);
    let mut writer = current_writer();
    writer.trust = Writer::Untrusted;
    writer.budget_scope = budget_scope(project.id);
    let mut ids = Vec::with_capacity(envelope.events.len());
    for (index, event) in envelope.events.iter().enumerate() {
        let sdk = event_from_sentry(event).unwrap_or_else(|e| {
            raise_event_error(EventError::InBatch {
                index,
                source: Box::new(e),
            })
        });
        match capture(&project, sdk, &writer) {
            Ok(Delivered::Stored(id) | Delivered::Duplicate(id)) => ids.push(id.to_string()),
            Ok(Delivered::Dropped(_, reason)) => {
                let retry_after = 60 - i64::from(Utc::now().second());
                let answer = json!({
                    "status": "rate_limited",
                    "reason": reason.as_str(),
                    "retry_after": retry_after,
                });
                return (answer, None);
            }
            Err(e) => raise_capture_error(e),
        }
    }
    (
        json!({"status": "accepted", "ids": ids}),
        Some((project.id, items)),
    )
}

enum Delivered {
    Stored(Uuid),
    /// Its `event_id` was seen before: the first delivery's id.
    Duplicate(Uuid),
    /// Over the project's budget: counted, not stored.
    Dropped(Uuid, DropReason),
}

fn capture(
    project: &Project,
    sdk: SdkEvent,
    writer: &WriterRole,
) -> Result<Delivered, CaptureError> {
    let SdkEvent {
        event_id,
        mut input,
    } = sdk;
    input.service = Some(project.service.clone());
    if input.environment.is_none() {
        input.environment = project.environment.clone();
    }
    let event_id = event_id.map(|id| Uuid::from_bytes(*id.as_bytes()));
    if let Some(event_id) = event_id {
        // Read-write, so that it takes a new snapshot: a read-only query
        // sees what the statement's snapshot saw, which misses the same
        // event_id stored by an earlier envelope of the same batch.
        let seen = Spi::connect_mut(|client| -> SpiResult<Option<Uuid>> {
            let seen = &plans(client)?.seen_event_id;
            let rows = client.update(seen, Some(1), &[project.id.into(), event_id.into()])?;
            Ok(rows
                .into_iter()
                .next()
                .map(|row| row.get::<Uuid>(1))
                .transpose()?
                .flatten())
        })?;
        if let Some(id) = seen {
            return Ok(Delivered::Duplicate(id));
        }
    }
    let captured = try_capture_as(input, writer)?;
    if let Some(reason) = captured.dropped {
        return Ok(Delivered::Dropped(captured.id, reason));
    }
    if let Some(event_id) = event_id {
        remember(project.id, event_id, captured.id)?;
    }
    Ok(Delivered::Stored(captured.id))
}

thread_local! {
    /// When this backend last forgot old event ids (Unix seconds).
    static PRUNED_AT: Cell<i64> = const { Cell::new(0) };
}

/// Remembers a stored event's `event_id`. A concurrent delivery of the same
/// id that committed first makes this one a serialization failure: retried,
/// it finds the first.
fn remember(project_id: i64, event_id: Uuid, id: Uuid) -> Result<(), CaptureError> {
    let now = Utc::now().timestamp();
    let prune = PRUNED_AT.with(|at| {
        let due = now - at.get() >= 60;
        if due {
            at.set(now);
        }
        due
    });
    let inserted = Spi::connect_mut(|client| -> SpiResult<bool> {
        if prune {
            client.update(
                &format!(
                    "delete from observe.sentry_event_ids where received_at < now() - interval '{REMEMBER_EVENT_IDS}'"
                ),
                None,
                &[],
            )?;
        }
        let remember = &plans(client)?.remember_event_id;
        Ok(!client
            .update(
                remember,
                None,
                &[project_id.into(), event_id.into(), id.into()],
            )?
            .is_empty())
    })?;
    if !inserted {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
            "a concurrent request delivered the same event_id; retry the transaction"
        );
    }
    Ok(())
}

fn no_such_project(project_id: i64) -> ! {
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
        format!("project {project_id} does not exist")
    );
}

fn budget_scope(project_id: i64) -> String {
    format!("project:{project_id}")
}

/// This module's statements, planned on a backend's first Sentry event and
/// kept, as the capture path's are (`capture::plans`): parsing and planning
/// them for every event took a quarter of the backend's time (perf, the
/// Bugsink benchmark's stream).
struct Plans {
    project_by_id: OwnedPreparedStatement,
    project_by_key: OwnedPreparedStatement,
    seen_event_id: OwnedPreparedStatement,
    remember_event_id: OwnedPreparedStatement,
    count_items: OwnedPreparedStatement,
}

const PROJECT: &str = "select p.id, p.service, p.environment, p.disabled_at is not null
  from observe.projects p";

thread_local! {
    // Kept for the backend's life, as its plans are.
    static PLANS: OnceCell<&'static Plans> = const { OnceCell::new() };
}

/// The kept plans, prepared on the backend's first use.
fn plans(client: &SpiClient<'_>) -> SpiResult<&'static Plans> {
    let oids =
        |types: &[PgBuiltInOids]| -> Vec<PgOid> { types.iter().map(|&t| t.into()).collect() };
    PLANS.with(|cell| {
        if let Some(plans) = cell.get() {
            return Ok(*plans);
        }
        let plans = Plans {
            project_by_id: client
                .prepare(&format!("{PROJECT} where p.id = $1"), &oids(&[PgBuiltInOids::INT8OID]))?
                .keep(),
            project_by_key: client
                .prepare(
                    &format!(
                        "{PROJECT} join observe.project_keys k on k.project_id = p.id
                          where k.key_hash = $1 and k.revoked_at is null"
                    ),
                    &oids(&[PgBuiltInOids::BYTEAOID]),
                )?
                .keep(),
            seen_event_id: client
                .prepare_mut(
                    "select id from observe.sentry_event_ids where project_id = $1 and event_id = $2",
                    &oids(&[PgBuiltInOids::INT8OID, PgBuiltInOids::UUIDOID]),
                )?
                .keep(),
            remember_event_id: client
                .prepare_mut(
                    "insert into observe.sentry_event_ids (project_id, event_id, id) values ($1, $2, $3)
                     on conflict do nothing returning 1",
                    &oids(&[PgBuiltInOids::INT8OID, PgBuiltInOids::UUIDOID, PgBuiltInOids::UUIDOID]),
                )?
                .keep(),
            count_items: client
                .prepare_mut(
                    "insert into observe.sentry_item_counts as c (project_id, minute, item_type, slot, items)
                     select $1, date_trunc('minute', now()), e.key, $2, e.value::bigint
                       from jsonb_each_text($3) e
                     on conflict (project_id, minute, item_type, slot) do update set items = c.items + excluded.items",
                    &oids(&[PgBuiltInOids::INT8OID, PgBuiltInOids::INT2OID, PgBuiltInOids::JSONBOID]),
                )?
                .keep(),
        };
        let plans: &'static Plans = Box::leak(Box::new(plans));
        let _ = cell.set(plans);
        Ok(plans)
    })
}

fn project_row(row: pgrx::spi::SpiHeapTupleData<'_>) -> SpiResult<Project> {
    Ok(Project {
        id: row.get(1)?.unwrap_or_default(),
        service: row.get(2)?.unwrap_or_default(),
        environment: row.get(3)?,
        disabled: row.get(4)?.unwrap_or(true),
    })
}

fn project_by_id(client: &SpiClient<'_>, project_id: i64) -> SpiResult<Option<Project>> {
    let mut rows = client.select(&plans(client)?.project_by_id, Some(1), &[project_id.into()])?;
    rows.next().map(project_row).transpose()
}

/// The project of an active key. Keys are stored as SHA-256 digests only
/// (`sentry.sql`), so the lookup hashes what was presented.
fn project_by_key(client: &SpiClient<'_>, public_key: &str) -> SpiResult<Option<Project>> {
    let digest = Sha256::digest(public_key.as_bytes()).to_vec();
    let mut rows = client.select(&plans(client)?.project_by_key, Some(1), &[digest.into()])?;
    rows.next().map(project_row).transpose()
}

/// `{"type": count}` as the function takes it: item types are short words,
/// counts at most an envelope's items.
fn item_counts(items: &Value) -> Vec<(String, i64)> {
    let Value::Object(items) = items else {
        invalid("items must be a JSON object of item type to count");
    };
    let valid = |(kind, count): (&String, &Value)| {
        let count = count
            .as_i64()
            .filter(|c| (1..=MAX_ITEMS as i64).contains(c))?;
        let word = !kind.is_empty()
            && kind.len() <= 64
            && kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        word.then(|| (kind.clone(), count))
    };
    items
        .iter()
        .map(|item| {
            valid(item).unwrap_or_else(|| {
                invalid(format!(
                    "items: {:?} must be an item type (a-z, 0-9, _) with a count of 1 to {MAX_ITEMS}",
                    item.0
                ))
            })
        })
        .collect()
}

/// Counts the accepted envelopes' items, one row per project, type and
/// minute for the whole batch.
fn count_items(client: &mut SpiClient<'_>, items: &[ItemCounts]) -> SpiResult<()> {
    let mut totals: BTreeMap<i64, BTreeMap<&str, i64>> = BTreeMap::new();
    for (project_id, counts) in items {
        let totals = totals.entry(*project_id).or_default();
        for (kind, count) in counts {
            *totals.entry(kind.as_str()).or_default() += count;
        }
    }
    let count = &plans(client)?.count_items;
    for (project_id, counts) in totals {
        if counts.is_empty() {
            continue;
        }
        let args = [
            project_id.into(),
            backend_slot().into(),
            JsonB(json!(counts)).into(),
        ];
        client.update(count, None, &args)?;
    }
    Ok(())
}
