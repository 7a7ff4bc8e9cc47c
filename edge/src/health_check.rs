//! `health-check`: runs the due health checks. Claims them
//! (`observe.due_health_checks`), probes them all at once with their own
//! timeouts, evaluates each check's conditions (`pg_observe_core::health`)
//! and grades the response's security headers (`pg_observe_core::headers`),
//! then records every result (`observe.record_health_result`), which moves
//! the checks' up/down state. Call it every minute with the bearer secret.

use std::collections::{BTreeMap, VecDeque};

use pg_observe_core::headers::{grade, Headers};
use pg_observe_core::health::{evaluate_all, parse_all, Observation};
use serde_json::{json, Value};

use crate::auth::{bearer, same_secret};
use crate::certificate::not_after_ms;
use crate::env::{self, Env};
use crate::protocol::{
    error, sql_failed, Answered, Command, Function, Outcome, Probe, ProbeResult, Request,
};

pub const REQUIRED: [&str; 2] = [env::SUPABASE_DB_URL, env::OBSERVE_FUNCTION_SECRET];

/// Checks per call; the rest stay due for the next call.
const MAX_CHECKS: i64 = 50;

const DUE: &str =
    "select id::text, name, url, method, request_headers, body, timeout_ms, conditions
                     from observe.due_health_checks($1::integer)";
const RECORD: &str = "select observe.record_health_result(
    check_id => $1::bigint, conditions => $2::text::jsonb, status_code => $3::integer,
    response_time_ms => $4::double precision, headers_grade => $5::text::jsonb, error => $6::text,
    checked_at => $7::timestamptz) as recorded";

pub fn start(request: Request, env: &Env) -> Box<dyn Function> {
    match authorize(&request, env) {
        Ok(()) => Box::new(Run::default()),
        Err(answer) => Box::new(Answered(Some(answer))),
    }
}

fn authorize(request: &Request, env: &Env) -> Result<(), Command> {
    if request.meta.method != "POST" {
        return Err(error(405, "method_not_allowed", "health-check takes POST"));
    }
    if !request.route().is_empty() {
        return Err(error(
            404,
            "not_found",
            format!("health-check has no route {}", request.route()),
        ));
    }
    for name in REQUIRED {
        env.require(name)?;
    }
    let secret = env.require(env::OBSERVE_FUNCTION_SECRET)?;
    match bearer(request) {
        Some(token) if same_secret(token.as_bytes(), secret.as_bytes()) => Ok(()),
        Some(_) => Err(error(401, "unauthorized", "the bearer token is not valid")),
        None => Err(error(
            401,
            "unauthorized",
            "Authorization: Bearer <OBSERVE_FUNCTION_SECRET> is required",
        )),
    }
}

/// A claimed check, as `due_health_checks` returns it.
#[derive(Debug, Clone)]
struct Check {
    id: String,
    name: String,
    url: String,
    method: String,
    headers: BTreeMap<String, String>,
    body: Option<String>,
    timeout_ms: u64,
    conditions: Vec<String>,
}

impl Check {
    fn from_row(row: &Value) -> Option<Check> {
        let text = |k: &str| row.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(Check {
            id: text("id")?,
            name: text("name")?,
            url: text("url")?,
            method: text("method")?,
            headers: row
                .get("request_headers")
                .and_then(Value::as_object)
                .map(|h| {
                    h.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default(),
            body: text("body"),
            timeout_ms: row.get("timeout_ms").and_then(Value::as_u64)?,
            conditions: row
                .get("conditions")?
                .as_array()?
                .iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect(),
        })
    }
}

#[derive(Default)]
struct Run {
    checks: Vec<Check>,
    records: VecDeque<Command>,
    started: bool,
    probed: bool,
    succeeded: u64,
    failed: u64,
    changes: Vec<Value>,
    current: Option<String>,
}

impl Function for Run {
    fn step(&mut self, outcome: Option<Outcome>, now_ms: i64) -> Command {
        if let Some(Outcome::SqlError { code, message }) = &outcome {
            return sql_failed(code.as_deref(), message);
        }
        match outcome {
            None if !self.started => {
                self.started = true;
                return Command::Sql {
                    query: DUE,
                    params: vec![json!(MAX_CHECKS)],
                };
            }
            Some(Outcome::Rows { rows }) if !self.probed && self.checks.is_empty() => {
                self.checks = rows.iter().filter_map(Check::from_row).collect();
                self.probed = true;
                if self.checks.is_empty() {
                    return self.summary();
                }
                return Command::Probe {
                    probes: self.checks.iter().map(probe).collect(),
                };
            }
            Some(Outcome::Probed { results }) if results.len() == self.checks.len() => {
                for (check, result) in self.checks.iter().zip(&results) {
                    self.records.push_back(record(check, result, now_ms));
                }
            }
            Some(Outcome::Rows { rows }) => {
                let recorded = rows
                    .first()
                    .and_then(|r| r.get("recorded"))
                    .cloned()
                    .unwrap_or(Value::Null);
                if recorded.get("success") == Some(&Value::Bool(true)) {
                    self.succeeded += 1;
                } else {
                    self.failed += 1;
                }
                if recorded.get("changed") == Some(&Value::Bool(true)) {
                    self.changes
                        .push(json!({"check": self.current, "up": recorded.get("up")}));
                }
            }
            other => {
                return Command::Respond {
                    status: 500,
                    body: json!({"error": "internal", "message": "the host answered a step out of turn"}),
                    log: Some(format!("health-check got {other:?}")),
                }
            }
        }
        match self.records.pop_front() {
            Some(command) => {
                self.current = self
                    .checks
                    .get(self.checks.len() - self.records.len() - 1)
                    .map(|c| c.name.clone());
                command
            }
            None => self.summary(),
        }
    }
}

impl Run {
    fn summary(&self) -> Command {
        Command::respond(
            200,
            json!({"checked": self.checks.len(), "succeeded": self.succeeded, "failed": self.failed,
                   "transitions": self.changes}),
        )
    }
}

fn probe(check: &Check) -> Probe {
    let certificate = check.url.to_ascii_lowercase().starts_with("https://")
        && parse_all(&check.conditions).is_ok_and(|c| c.iter().any(|c| c.needs_certificate()));
    Probe {
        method: check.method.clone(),
        url: check.url.clone(),
        headers: check.headers.clone(),
        body: check.body.clone(),
        timeout_ms: check.timeout_ms,
        certificate,
    }
}

/// The `record_health_result` call for one probe.
fn record(check: &Check, result: &ProbeResult, now_ms: i64) -> Command {
    let mut error = result.error.clone();
    let conditions = match parse_all(&check.conditions) {
        Ok(parsed) => {
            let wanted = parsed.iter().any(|c| c.needs_certificate());
            let certificate_expires_in_ms = wanted.then(|| {
                result
                    .certificate
                    .as_deref()
                    .and_then(|der| not_after_ms(der).ok())
                    .map(|not_after| not_after - now_ms)
            });
            let seen = Observation {
                connected: result.status.is_some(),
                status: result.status,
                response_time_ms: Some(result.elapsed_ms),
                body: &result.body,
                headers: result.headers.clone(),
                certificate_expires_in_ms,
            };
            evaluate_all(&parsed, &seen)
                .iter()
                .map(|r| r.to_json())
                .collect()
        }
        Err((index, e)) => {
            error.get_or_insert_with(|| format!("condition {index} does not parse: {e}"));
            vec![]
        }
    };
    let grade = result.status.and_then(|_| {
        Headers::from_pairs(result.headers.iter())
            .ok()
            .map(|h| grade(&h).to_json().to_string())
    });
    Command::Sql {
        query: RECORD,
        params: vec![
            json!(check.id),
            Value::Array(conditions).to_string().into(),
            json!(result.status),
            json!((result.elapsed_ms * 10.0).round() / 10.0),
            json!(grade),
            json!(error.map(|e| e.chars().take(1000).collect::<String>())),
            json!(chrono::DateTime::from_timestamp_millis(now_ms).map(|t| t.to_rfc3339())),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RequestMeta;

    fn request(token: &str) -> Request {
        Request {
            meta: RequestMeta {
                method: "POST".into(),
                route: "/".into(),
                headers: [("authorization".to_owned(), format!("Bearer {token}"))].into(),
                body_too_large: false,
                remote_addr: String::new(),
                random: String::new(),
            },
            body: vec![],
        }
    }

    fn env() -> Env {
        Env::new(
            [
                ("SUPABASE_DB_URL", "postgres://x"),
                ("OBSERVE_FUNCTION_SECRET", "secret-0123456789"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        )
    }

    const NOW: i64 = 1_796_000_000_000;

    #[test]
    fn probes_every_due_check_at_once_and_records_each() {
        let mut run = start(request("secret-0123456789"), &env());
        let Command::Sql { query, .. } = run.step(None, NOW) else {
            panic!("claims first")
        };
        assert!(query.contains("due_health_checks"));
        let rows = vec![
            json!({"id": "1", "name": "api", "url": "https://api.example.com/health", "method": "GET",
                   "request_headers": {"x-probe": "1"}, "body": null, "timeout_ms": 2000,
                   "conditions": ["[STATUS] == 200", "[BODY].status == UP", "[CERTIFICATE_EXPIRATION] > 48h"]}),
            json!({"id": "2", "name": "web", "url": "http://web.example.com/", "method": "GET",
                   "request_headers": {}, "body": null, "timeout_ms": 500,
                   "conditions": ["[STATUS] == 200", "[RESPONSE_TIME] < 300"]}),
        ];
        let Command::Probe { probes } = run.step(Some(Outcome::Rows { rows }), NOW) else {
            panic!("probes")
        };
        assert_eq!(probes.len(), 2);
        assert!(probes[0].certificate && !probes[1].certificate);
        assert_eq!(probes[0].headers["x-probe"], "1");
        assert_eq!(probes[1].timeout_ms, 500);

        let certificate = include_str!("../tests/fixtures/localhost.der.b64");
        let results = vec![
            ProbeResult {
                status: Some(200),
                headers: [("content-type".to_owned(), "application/json".to_owned())].into(),
                body: r#"{"status": "UP"}"#.into(),
                elapsed_ms: 42.0,
                error: None,
                certificate: Some(certificate.into()),
                certificate_error: None,
            },
            ProbeResult {
                status: None,
                headers: BTreeMap::new(),
                body: String::new(),
                elapsed_ms: 500.0,
                error: Some("timed out after 500 ms".into()),
                certificate: None,
                certificate_error: None,
            },
        ];
        let Command::Sql { params, .. } = run.step(Some(Outcome::Probed { results }), NOW) else {
            panic!()
        };
        let conditions: Value = serde_json::from_str(params[1].as_str().unwrap()).unwrap();
        let successes: Vec<Value> = conditions
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["success"].clone())
            .collect();
        // The certificate expires 2026-12-02 09:45:55, 2.4 days after NOW.
        assert_eq!(successes, [json!(true), json!(true), json!(true)]);
        let grade: Value = serde_json::from_str(params[4].as_str().unwrap()).unwrap();
        assert_eq!(
            grade["grade"], "F",
            "a bare JSON response has no security header"
        );
        let recorded = |success: bool, changed: bool| Outcome::Rows {
            rows: vec![
                json!({"recorded": {"success": success, "up": success, "changed": changed}}),
            ],
        };
        let Command::Sql { params, .. } = run.step(Some(recorded(true, false)), NOW) else {
            panic!()
        };
        assert_eq!(params[0], json!("2"));
        assert_eq!(params[2], Value::Null);
        assert_eq!(params[5], json!("timed out after 500 ms"));
        let conditions: Value = serde_json::from_str(params[1].as_str().unwrap()).unwrap();
        assert_eq!(
            conditions[1]["success"],
            json!(false),
            "500 ms is not under 300"
        );
        let Command::Respond { status, body, .. } = run.step(Some(recorded(false, true)), NOW)
        else {
            panic!()
        };
        assert_eq!(status, 200);
        assert_eq!(
            body,
            json!({"checked": 2, "succeeded": 1, "failed": 1,
                                "transitions": [{"check": "web", "up": false}]})
        );
    }

    #[test]
    fn callers_need_the_secret() {
        let mut run = start(request("wrong"), &env());
        let Command::Respond { status, .. } = run.step(None, NOW) else {
            panic!()
        };
        assert_eq!(status, 401);
        let mut idle = start(request("secret-0123456789"), &env());
        idle.step(None, NOW);
        let Command::Respond { body, .. } = idle.step(Some(Outcome::Rows { rows: vec![] }), NOW)
        else {
            panic!()
        };
        assert_eq!(body["checked"], 0);
    }
}
