//! `observe.create_alert_rule`, `update_alert_rule` and `delete_alert_rule`.
//! A rule is checked by `pg_observe_core::alerting::rule` before it is
//! stored, and read back through the same check, so evaluation only ever
//! meets rules it can run.

use pg_observe_core::alerting::rule::{Rule, RuleArgs};
use pg_observe_core::event::Level;
use pgrx::datum::Interval;
use pgrx::prelude::*;
use pgrx::spi::{SpiClient, SpiResult};
use pgrx::JsonB;
use serde_json::{Map, Value};

use crate::pgtime::{from_interval, to_interval};

fn refuse(message: impl std::fmt::Display) -> ! {
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        message.to_string()
    );
}

fn interval(argument: &'static str, value: Option<Interval>) -> Option<chrono::TimeDelta> {
    value.map(|v| {
        from_interval(v).unwrap_or_else(|problem| refuse(format!("{argument}: {problem}")))
    })
}

fn strings(values: Option<Vec<Option<String>>>, argument: &'static str) -> Option<Vec<String>> {
    values.map(|values| {
        values
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .unwrap_or_else(|| refuse(format!("{argument}: must not contain NULL elements")))
    })
}

/// Creates an alert rule and returns its id. Every argument but `name` has a
/// default; see the README's "Alerting" section. The SQL is written out
/// because one argument is named `match`, a keyword in Rust.
#[allow(clippy::too_many_arguments)]
#[pg_extern(requires = [observe], sql = r#"
create function observe.create_alert_rule(
    name text,
    kind text default 'threshold',
    metric text default 'error_events',
    service text default null,
    environment text default null,
    level text default null,
    issue_id bigint default null,
    "match" jsonb default null,
    comparator text default '>=',
    threshold double precision default null,
    window_size interval default '5 minutes',
    pending_for interval default '0',
    keep_firing_for interval default '0',
    repeat_interval interval default '4 hours',
    group_by text[] default '{}',
    severity text default 'high',
    labels jsonb default '{}',
    annotations jsonb default '{}',
    recipients text[] default '{}',
    enabled boolean default true,
    group_wait interval default '30 seconds',
    group_interval interval default '5 minutes',
    send_resolved boolean default true
) returns bigint
volatile security definer parallel unsafe
set search_path to pg_catalog, pg_temp
language c as 'MODULE_PATHNAME', 'create_alert_rule_wrapper';
"#)]
fn create_alert_rule(
    name: Option<String>,
    kind: default!(Option<String>, "'threshold'"),
    metric: default!(Option<String>, "'error_events'"),
    service: default!(Option<String>, "NULL"),
    environment: default!(Option<String>, "NULL"),
    level: default!(Option<String>, "NULL"),
    issue_id: default!(Option<i64>, "NULL"),
    r#match: default!(Option<JsonB>, "NULL"),
    comparator: default!(Option<String>, "'>='"),
    threshold: default!(Option<f64>, "NULL"),
    window_size: default!(Option<Interval>, "'5 minutes'"),
    pending_for: default!(Option<Interval>, "'0'"),
    keep_firing_for: default!(Option<Interval>, "'0'"),
    repeat_interval: default!(Option<Interval>, "'4 hours'"),
    group_by: default!(Option<Vec<Option<String>>>, "'{}'"),
    severity: default!(Option<String>, "'high'"),
    labels: default!(Option<JsonB>, "'{}'"),
    annotations: default!(Option<JsonB>, "'{}'"),
    recipients: default!(Option<Vec<Option<String>>>, "'{}'"),
    enabled: default!(Option<bool>, "true"),
    group_wait: default!(Option<Interval>, "'30 seconds'"),
    group_interval: default!(Option<Interval>, "'5 minutes'"),
    send_resolved: default!(Option<bool>, "true"),
) -> i64 {
    let rule = RuleArgs {
        name,
        kind,
        metric,
        service,
        environment,
        level,
        issue_id,
        matches: r#match.map(|m| m.0),
        comparator,
        threshold,
        window: interval("window_size", window_size),
        pending_for: interval("pending_for", pending_for),
        keep_firing_for: interval("keep_firing_for", keep_firing_for),
        repeat_interval: interval("repeat_interval", repeat_interval),
        group_wait: interval("group_wait", group_wait),
        group_interval: interval("group_interval", group_interval),
        group_by: strings(group_by, "group_by"),
        severity,
        labels: labels.map(|l| l.0),
        annotations: annotations.map(|a| a.0),
        recipients: strings(recipients, "recipients"),
        send_resolved,
        enabled,
    }
    .build()
    .unwrap_or_else(|e| refuse(e));
    Spi::connect_mut(|client| insert(client, &rule)).unwrap_or_else(|e| refuse_spi(e))
}

/// Changes a rule: `changes` holds any of `create_alert_rule`'s arguments
/// by name; the rule as changed is checked as a new one would be.
#[pg_extern(schema = "observe", volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn update_alert_rule(id: Option<i64>, changes: Option<JsonB>) -> JsonB {
    let Some(id) = id else {
        refuse("id: is required");
    };
    let Some(Value::Object(changes)) = changes.map(|c| c.0) else {
        refuse("changes: must be a JSON object of create_alert_rule's arguments");
    };
    Spi::connect_mut(|client| {
        let mut args = load_args(client, id)?.unwrap_or_else(|| no_such_rule(id));
        for (argument, value) in changes {
            apply(&mut args, &argument, value);
        }
        let rule = args.build().unwrap_or_else(|e| refuse(e));
        update(client, id, &rule)?;
        let row = client
            .update(
                "select to_jsonb(r) from observe.alert_rules r where r.id = $1",
                Some(1),
                &[id.into()],
            )?
            .first()
            .get_one::<JsonB>()?;
        Ok(row.unwrap_or(JsonB(Value::Null)))
    })
    .unwrap_or_else(|e: pgrx::spi::SpiError| refuse_spi(e))
}

/// Deletes a rule with its alerts and groups; notifications already queued
/// still go out.
#[pg_extern(schema = "observe", volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn delete_alert_rule(id: i64) {
    let deleted = Spi::connect_mut(|client| {
        client
            .update(
                "delete from observe.alert_rules where id = $1",
                None,
                &[id.into()],
            )
            .map(|t| t.len())
    })
    .unwrap_or_else(|e| refuse_spi(e));
    if deleted == 0 {
        no_such_rule(id);
    }
}

fn no_such_rule(id: i64) -> ! {
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
        format!("alert rule {id} does not exist")
    );
}

fn refuse_spi(error: pgrx::spi::SpiError) -> ! {
    crate::errors::raise_internal("alert rule", error)
}

/// Sets one argument of `args` from its JSON value, refusing wrong types by
/// the argument's name.
fn apply(args: &mut RuleArgs, argument: &str, value: Value) {
    let text = |value: Value| -> Option<String> {
        match value {
            Value::Null => None,
            Value::String(s) => Some(s),
            _ => refuse(format!("{argument}: must be a string")),
        }
    };
    let duration = |value: Value| -> Option<chrono::TimeDelta> {
        let text = text(value)?;
        let parsed = parse_interval(&text).unwrap_or_else(|| {
            refuse(format!(
                "{argument}: must be an interval such as '5 minutes'"
            ))
        });
        Some(
            from_interval(parsed)
                .unwrap_or_else(|problem| refuse(format!("{argument}: {problem}"))),
        )
    };
    let list = |value: Value| -> Option<Vec<String>> {
        match value {
            Value::Null => None,
            Value::Array(items) => Some(
                items
                    .into_iter()
                    .map(|item| match item {
                        Value::String(s) => s,
                        _ => refuse(format!("{argument}: must be an array of strings")),
                    })
                    .collect(),
            ),
            _ => refuse(format!("{argument}: must be an array of strings")),
        }
    };
    match argument {
        "name" => args.name = text(value),
        "kind" => args.kind = text(value),
        "metric" => args.metric = text(value),
        "service" => args.service = text(value),
        "environment" => args.environment = text(value),
        "level" => args.level = text(value),
        "issue_id" => {
            args.issue_id = match value {
                Value::Null => None,
                other => Some(
                    other
                        .as_i64()
                        .unwrap_or_else(|| refuse("issue_id: must be an integer")),
                ),
            }
        }
        "match" => args.matches = Some(value),
        "comparator" => args.comparator = text(value),
        "threshold" => {
            args.threshold = match value {
                Value::Null => None,
                other => Some(
                    other
                        .as_f64()
                        .unwrap_or_else(|| refuse("threshold: must be a number")),
                ),
            }
        }
        "window_size" => args.window = duration(value),
        "pending_for" => args.pending_for = duration(value),
        "keep_firing_for" => args.keep_firing_for = duration(value),
        "repeat_interval" => args.repeat_interval = duration(value),
        "group_wait" => args.group_wait = duration(value),
        "group_interval" => args.group_interval = duration(value),
        "group_by" => args.group_by = list(value),
        "severity" => args.severity = text(value),
        "labels" => args.labels = Some(value),
        "annotations" => args.annotations = Some(value),
        "recipients" => args.recipients = list(value),
        "send_resolved" | "enabled" => {
            let flag = match value {
                Value::Bool(b) => b,
                _ => refuse(format!("{argument}: must be true or false")),
            };
            if argument == "enabled" {
                args.enabled = Some(flag);
            } else {
                args.send_resolved = Some(flag);
            }
        }
        _ => refuse(format!(
            "changes: unknown argument {}",
            pg_observe_core::event::Shown::new(argument)
        )),
    }
}

/// PostgreSQL's own reading of an interval literal.
fn parse_interval(text: &str) -> Option<Interval> {
    Spi::get_one_with_args::<Interval>("select $1::interval", &[text.into()])
        .ok()
        .flatten()
}

const COLUMNS: &str = "name, kind, metric, service, environment, level, issue_id, match, comparator, threshold,
     window_size, pending_for, keep_firing_for, repeat_interval, group_wait, group_interval, group_by,
     severity, labels, annotations, recipients, send_resolved, enabled";

/// `COLUMNS` as a select list: the level as text.
fn select_columns() -> String {
    COLUMNS.replacen("level,", "level::text,", 1)
}

/// A stored rule's arguments, to change and check again; locks the row.
fn load_args(client: &mut SpiClient<'_>, id: i64) -> SpiResult<Option<RuleArgs>> {
    let rows = client.update(
        &format!(
            "select {} from observe.alert_rules where id = $1 for update",
            select_columns()
        ),
        Some(1),
        &[id.into()],
    )?;
    rows.into_iter()
        .next()
        .map(|row| args_from(&row, 1))
        .transpose()
}

/// The arguments in a row whose columns from `first` on are `COLUMNS`.
fn args_from(row: &pgrx::spi::SpiHeapTupleData<'_>, first: usize) -> SpiResult<RuleArgs> {
    let column = |offset: usize| first + offset;
    let interval = |offset: usize| -> SpiResult<Option<chrono::TimeDelta>> {
        Ok(row
            .get::<Interval>(column(offset))?
            .and_then(|v| from_interval(v).ok()))
    };
    let json = |offset: usize| -> SpiResult<Option<Value>> {
        Ok(row.get::<JsonB>(column(offset))?.map(|j| j.0))
    };
    Ok(RuleArgs {
        name: row.get(column(0))?,
        kind: row.get(column(1))?,
        metric: row.get(column(2))?,
        service: row.get(column(3))?,
        environment: row.get(column(4))?,
        level: row.get(column(5))?,
        issue_id: row.get(column(6))?,
        matches: json(7)?,
        comparator: row.get(column(8))?,
        threshold: row.get(column(9))?,
        window: interval(10)?,
        pending_for: interval(11)?,
        keep_firing_for: interval(12)?,
        repeat_interval: interval(13)?,
        group_wait: interval(14)?,
        group_interval: interval(15)?,
        group_by: row.get(column(16))?,
        severity: row.get(column(17))?,
        labels: json(18)?,
        annotations: json(19)?,
        recipients: row.get(column(20))?,
        send_resolved: row.get(column(21))?,
        enabled: row.get(column(22))?,
    })
}

/// The enabled rules `condition` selects (SQL over `observe.alert_rules`),
/// with their ids. A row that no longer passes the check is skipped: the
/// check only ever tightens, and an older version stored it.
pub fn load_rules(client: &mut SpiClient<'_>, condition: &str) -> SpiResult<Vec<(i64, Rule)>> {
    let mut rules = Vec::new();
    for row in client.update(
        &format!(
            "select id, {} from observe.alert_rules where enabled and ({condition}) order by id",
            select_columns()
        ),
        None,
        &[],
    )? {
        let id: i64 = row.get(1)?.unwrap_or_default();
        if let Ok(rule) = args_from(&row, 2)?.build() {
            rules.push((id, rule));
        }
    }
    Ok(rules)
}

/// The rule's columns as `$1 .. $23`, in `COLUMNS` order.
fn values(rule: &Rule) -> Vec<pgrx::datum::DatumWithOid<'static>> {
    let json = |map: &Map<String, Value>| JsonB(Value::Object(map.clone()));
    vec![
        rule.name.clone().into(),
        rule.kind.as_str().into(),
        rule.metric.as_str().into(),
        rule.filters.service.clone().into(),
        rule.filters.environment.clone().into(),
        rule.filters.level.map(Level::as_str).into(),
        rule.filters.issue_id.into(),
        json(&rule.filters.matches).into(),
        rule.comparator.as_str().into(),
        rule.threshold.into(),
        to_interval(rule.window).into(),
        to_interval(rule.timing.pending_for).into(),
        to_interval(rule.timing.keep_firing_for).into(),
        to_interval(rule.timing.repeat_interval).into(),
        to_interval(rule.timing.group_wait).into(),
        to_interval(rule.timing.group_interval).into(),
        rule.group_by.clone().into(),
        rule.severity.as_str().into(),
        json(&rule.labels).into(),
        json(&rule.annotations).into(),
        rule.recipients.clone().into(),
        rule.send_resolved.into(),
        rule.enabled.into(),
    ]
}

const PLACEHOLDERS: &str =
    "$1, $2, $3, $4, $5, $6::observe.level, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
     $17, $18, $19, $20, $21, $22, $23";

fn insert(client: &mut SpiClient<'_>, rule: &Rule) -> SpiResult<i64> {
    let exists = client
        .update(
            "select exists (select from observe.alert_rules where name = $1)",
            Some(1),
            &[rule.name.clone().into()],
        )?
        .first()
        .get_one::<bool>()?
        .unwrap_or(false);
    if exists {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION,
            "name: an alert rule of this name exists; rules are told apart by name in alerts and e-mails"
        );
    }
    Ok(client
        .update(
            &format!(
                "insert into observe.alert_rules ({COLUMNS}) values ({PLACEHOLDERS}) returning id"
            ),
            Some(1),
            &values(rule),
        )?
        .first()
        .get_one::<i64>()?
        .expect("insert returns the id"))
}

fn update(client: &mut SpiClient<'_>, id: i64, rule: &Rule) -> SpiResult<()> {
    let mut args = values(rule);
    args.push(id.into());
    client.update(
        &format!(
            "update observe.alert_rules set ({COLUMNS}, updated_at) = ({PLACEHOLDERS}, now()) where id = $24"
        ),
        None,
        &args,
    )?;
    Ok(())
}
