//! The SQL log API: `observe.log` and `observe.log_batch` (all or nothing).
//! SECURITY DEFINER with a pinned search_path, like capture: callers need
//! EXECUTE, never a table privilege. A line costs one insert into the day's
//! partition of `observe.logs`; its counts are rolled up later
//! (ARCHITECTURE.md, "Storage and retention").

use std::cell::OnceCell;
use std::ffi::CString;
use std::rc::Rc;

use pg_observe_core::budget::Amounts;
use pg_observe_core::event::Level;
use pg_observe_core::lifecycle::Writer;
use pg_observe_core::limits::precut;
use pg_observe_core::log_entry::{
    batch_len, field_read_bound, field_read_depth, is_known_field, not_a_batch, process_log,
    LogError, LogInput, ProcessedLog,
};
use pg_observe_core::scrub::Scrubber;
use pgrx::datum::DatumWithOid;
use pgrx::pg_sys::{self, PgBuiltInOids, PgOid};
use pgrx::prelude::*;
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiResult};
use pgrx::JsonB;
use serde_json::{Map, Value};

use crate::capture::{budgets, current_writer, spend_budget, CaptureError, WriterRole};
use crate::direct_insert::{self, Column, Inserted, Value as RowValue};
use crate::errors::{raise_capture_error, raise_log_error};
use crate::jsonb::{Node, RawJsonb};
use crate::settings;

const INSERT_LINE: &str = "
insert into observe.logs (level, service, environment, message, context, request_id, flags, writer_role)
values ($1::observe.level, $2, $3, $4, $5, $6, $7, $8)";

thread_local! {
    /// Planned on the backend's first line and kept, as capture's plans are.
    static INSERT_PLAN: OnceCell<OwnedPreparedStatement> = const { OnceCell::new() };
}

/// Records one log line.
#[pg_extern(schema = "observe", volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn log(
    message: Option<&str>,
    level: default!(Option<&str>, "'info'"),
    service: default!(Option<&str>, "NULL"),
    environment: default!(Option<&str>, "NULL"),
    context: default!(Option<RawJsonb>, "'{}'"),
    request_id: default!(Option<&str>, "NULL"),
) {
    let Some(message) = message else {
        raise_log_error(LogError::Missing {
            field: "message".into(),
        });
    };
    let mut line = LogInput::new(message);
    if let Some(level) = level {
        line.level = level
            .parse::<Level>()
            .unwrap_or_else(|e| raise_log_error(e.into()));
    }
    line.service = service.map(str::to_owned);
    line.environment = environment.map(str::to_owned);
    line.request_id = request_id.map(str::to_owned);
    let writer = current_writer();
    let scrubber = scrubber();
    let given_context = context.as_ref().map(RawJsonb::datum);
    if let Some(context) = context {
        let root = context.root();
        if !root.is_object() {
            raise_log_error(LogError::WrongType {
                field: "context".into(),
                expected: "an object",
                found: root.type_name(),
            });
        }
        let limits = settings::limits();
        // A context processing would keep is not converted at all: the line
        // carries none and stores the caller's datum (context_as_given). Not
        // for an untrusted writer, whose line is charged by its converted size.
        let kept = writer.trust == Writer::Trusted && root.is_as_given(&limits, &scrubber);
        if !kept {
            let read = root.bounded(precut(limits.context_bytes), limits.context_depth);
            line.context_cut = read.report;
            if let Value::Object(map) = read.value {
                line.context = map;
            }
        }
    }
    store(vec![line], false, given_context, &writer, &scrubber);
}

/// Records a JSON array of log lines, all or nothing; returns how many.
#[pg_extern(schema = "observe", volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn log_batch(entries: Option<RawJsonb>) -> i32 {
    let entries = entries.unwrap_or_else(|| {
        raise_log_error(LogError::Missing {
            field: "entries".into(),
        })
    });
    let root = entries.root();
    if !root.is_array() {
        raise_log_error(not_a_batch(root.type_name()));
    }
    batch_len(root.len()).unwrap_or_else(|e| raise_log_error(e));
    let mut lines = Vec::with_capacity(root.len());
    let mut failed = None;
    root.elements(|element| match line_from_json(&element) {
        Ok(line) => {
            lines.push(line);
            true
        }
        Err(source) => {
            failed = Some(LogError::InBatch {
                index: lines.len(),
                source: Box::new(source),
            });
            false
        }
    });
    if let Some(error) = failed {
        raise_log_error(error);
    }
    store(lines, true, None, &current_writer(), &scrubber())
}

/// One element of a batch, read field by field with each field's bound, as
/// `log_errors` reads events.
fn line_from_json(root: &Node<'_>) -> Result<LogInput, LogError> {
    if !root.is_object() {
        return Err(LogError::WrongType {
            field: "entry".into(),
            expected: "an object",
            found: root.type_name(),
        });
    }
    let limits = settings::limits();
    let mut fields = Map::new();
    let mut context_cut = Default::default();
    root.members(|name, value| {
        if !is_known_field(&name) {
            fields.insert(name, Value::Null);
            return false;
        }
        let read = value.bounded(
            field_read_bound(&name, &limits),
            field_read_depth(&name, &limits),
        );
        if name == "context" {
            context_cut = read.report;
        }
        fields.insert(name, read.value);
        true
    });
    let mut line = LogInput::from_json(&Value::Object(fields))?;
    line.context_cut = context_cut;
    Ok(line)
}

/// Processes every line first (a bad one refuses the call, naming its index
/// in a batch), then inserts them; an untrusted writer's lines spend its
/// per-minute budgets, and lines beyond them are dropped and counted.
/// `given_context` is a single line's context as the caller's jsonb, stored
/// as is when processing left it untouched (no second conversion).
fn store(
    lines: Vec<LogInput>,
    batch: bool,
    given_context: Option<pg_sys::Datum>,
    writer: &WriterRole,
    scrubber: &Scrubber,
) -> i32 {
    if let Err(e) = crate::version::ensure_current() {
        raise_capture_error(e);
    }
    let limits = settings::limits();
    let service = settings::default_service();
    let environment = settings::default_environment();
    let processed = lines
        .into_iter()
        .enumerate()
        .map(|(index, mut line)| {
            if line.environment.is_none() {
                line.environment.clone_from(&environment);
            }
            process_log(line, &service, scrubber, &limits).map_err(|source| {
                if batch {
                    LogError::InBatch {
                        index,
                        source: Box::new(source),
                    }
                } else {
                    source
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| raise_log_error(e));
    let untrusted = writer.trust == Writer::Untrusted;
    // An untrusted writer's batch reads its budgets once and writes what it
    // took once (capture::budgets::in_batch).
    let stored = budgets::in_batch(|| {
        let admitted = if untrusted {
            Spi::connect_mut(|client| admit(client, &processed, &writer.name))?
        } else {
            processed.iter().collect()
        };
        // Straight into the day's partition; the INSERT only where the
        // table is not as the extension made it (direct_insert.rs).
        let given = |line: &ProcessedLog| given_context.filter(|_| line.context_as_given);
        let declined: Vec<&ProcessedLog> = admitted
            .into_iter()
            .filter(|line| {
                insert_directly(line, given(line), &writer.name) == Inserted::NotDirectly
            })
            .collect();
        if declined.is_empty() && !crate::partitions::look_due() {
            return Ok(());
        }
        Spi::connect_mut(|client| -> SpiResult<()> {
            for line in declined {
                insert(client, line, given(line), &writer.name)?;
            }
            crate::partitions::create_ahead_now_and_then(client)
        })
    });
    if let Err(e) = stored {
        raise_capture_error(CaptureError::Storage(e));
    }
    processed.len() as i32
}

/// The lines an untrusted writer's per-minute budgets admit; the others are
/// dropped and counted.
fn admit<'a>(
    client: &mut SpiClient<'_>,
    lines: &'a [ProcessedLog],
    writer: &str,
) -> SpiResult<Vec<&'a ProcessedLog>> {
    let mut admitted = Vec::with_capacity(lines.len());
    for line in lines {
        let wanted = Amounts {
            new_issues: 0,
            events: 1,
            bytes: stored_bytes(line),
        };
        if spend_budget(client, writer, wanted)? {
            admitted.push(line);
        }
    }
    Ok(admitted)
}

fn insert_directly(line: &ProcessedLog, context: Option<pg_sys::Datum>, writer: &str) -> Inserted {
    let Ok(level) = CString::new(line.level.as_str()) else {
        return Inserted::NotDirectly;
    };
    let optional = |text: Option<&str>| text.map_or(RowValue::Null, text_value);
    let flags = if line.flags.is_empty() {
        // SAFETY: an empty text[] in the current memory context.
        pg_sys::Datum::from(unsafe { pg_sys::construct_empty_array(pg_sys::TEXTOID) })
    } else {
        datum(line.flags.iter().map(|f| f.as_str()).collect::<Vec<_>>())
    };
    // SAFETY: reads the transaction's start time, what now() returns.
    let now = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    let row = [
        column(
            "logged_at",
            RowValue::Datum(now.into(), pg_sys::TIMESTAMPTZOID),
        ),
        column("level", RowValue::Input(&level)),
        column("service", text_value(&line.service)),
        column("environment", optional(line.environment.as_deref())),
        column("message", text_value(&line.message)),
        column(
            "context",
            RowValue::Datum(
                context.unwrap_or_else(|| datum(JsonB(line.context.clone()))),
                pg_sys::JSONBOID,
            ),
        ),
        column("request_id", optional(line.request_id.as_deref())),
        column("flags", RowValue::Datum(flags, pg_sys::TEXTARRAYOID)),
        column("writer_role", text_value(writer)),
    ];
    direct_insert::insert(c"observe", c"logs", &row)
}

fn text_value(text: &str) -> RowValue<'static> {
    RowValue::Datum(datum(text), pg_sys::TEXTOID)
}

fn datum(value: impl IntoDatum) -> pg_sys::Datum {
    value.into_datum().expect("a value that is not NULL")
}

fn column<'a>(name: &'static str, value: RowValue<'a>) -> Column<'a> {
    Column { name, value }
}

fn insert(
    client: &mut SpiClient<'_>,
    line: &ProcessedLog,
    context: Option<pg_sys::Datum>,
    writer: &str,
) -> SpiResult<()> {
    let flags: Vec<&str> = line.flags.iter().map(|f| f.as_str()).collect();
    let context = match context {
        // SAFETY: the caller's jsonb datum, valid for the call.
        Some(given) => unsafe { DatumWithOid::new(given, pg_sys::JSONBOID) },
        None => JsonB(line.context.clone()).into(),
    };
    let args = [
        line.level.as_str().into(),
        line.service.as_str().into(),
        line.environment.as_deref().into(),
        line.message.as_str().into(),
        context,
        line.request_id.as_deref().into(),
        flags.into(),
        writer.into(),
    ];
    INSERT_PLAN.with(|cell| {
        if cell.get().is_none() {
            let types: Vec<PgOid> = [
                PgBuiltInOids::TEXTOID,
                PgBuiltInOids::TEXTOID,
                PgBuiltInOids::TEXTOID,
                PgBuiltInOids::TEXTOID,
                PgBuiltInOids::JSONBOID,
                PgBuiltInOids::TEXTOID,
                PgBuiltInOids::TEXTARRAYOID,
                PgBuiltInOids::TEXTOID,
            ]
            .into_iter()
            .map(PgOid::from)
            .collect();
            let plan = client.prepare_mut(INSERT_LINE, &types)?.keep();
            let _ = cell.set(plan);
        }
        let plan = cell.get().expect("the plan was just prepared");
        client.update(plan, None, &args).map(drop)
    })
}

fn scrubber() -> Rc<Scrubber> {
    settings::scrubber().unwrap_or_else(|e| raise_capture_error(e.into()))
}

/// What a line costs an untrusted writer's byte budget.
fn stored_bytes(line: &ProcessedLog) -> i64 {
    (line.message.len() + serde_json::to_string(&line.context).map_or(0, |s| s.len())) as i64
}
