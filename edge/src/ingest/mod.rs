//! `ingest`: what browsers send, unauthenticated by design (a page keeps no
//! secret). Client errors (`observe.log_error`'s JSON form, and the
//! platform's `log-error` body), web-vitals beacons (`beacon`) and CSP
//! violation reports in both formats (`csp_report`), singly or batched,
//! `navigator.sendBeacon`'s `text/plain` included. CORS allows the origins in
//! `OBSERVE_ALLOWED_ORIGINS`; bodies are at most 64 KiB; each client has a
//! token bucket (`client`). Everything is written as `observe_ingest`, an
//! untrusted writer, so the database's per-minute budgets, scrubbing and
//! bounds apply whatever gets past the edge.

pub mod beacon;
pub mod client;
pub mod csp_report;

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::env::{self, Env};
use crate::protocol::{Answered, Command, Function, Outcome, Request};

pub const REQUIRED: [&str; 1] = [env::SUPABASE_DB_URL];
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Error events per request (`observe.log_errors` takes up to 1000).
const MAX_ERRORS: usize = 100;
const ROLE: &str = "observe_ingest";

const LOG_ERROR: &str = "select 1 as stored from observe.log_error($1::text::jsonb)";
const LOG_ERRORS: &str = "select observe.log_errors($1::text::jsonb) as stored";
const WEB_VITALS: &str = "select observe.record_web_vitals($1::text::jsonb) as stored";
const CSP_REPORTS: &str = "select observe.record_csp_reports($1::text::jsonb) as stored";

/// What a body carries, ready for its SQL function.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Error(Value),
    Errors(Value),
    WebVitals(Vec<Value>),
    CspReports(Vec<Value>),
}

impl Payload {
    fn statement(&self) -> (&'static str, String) {
        match self {
            Payload::Error(v) | Payload::Errors(v) => (
                if matches!(self, Payload::Error(_)) {
                    LOG_ERROR
                } else {
                    LOG_ERRORS
                },
                v.to_string(),
            ),
            Payload::WebVitals(rows) => (WEB_VITALS, Value::Array(rows.clone()).to_string()),
            Payload::CspReports(rows) => (CSP_REPORTS, Value::Array(rows.clone()).to_string()),
        }
    }

    fn count(&self) -> usize {
        match self {
            Payload::Error(_) => 1,
            Payload::Errors(v) => v.as_array().map_or(0, Vec::len),
            Payload::WebVitals(rows) | Payload::CspReports(rows) => rows.len(),
        }
    }
}

/// Reads a body by its content type, then by its shape.
pub fn parse(request: &Request) -> Result<Payload, String> {
    let content_type = request
        .header("content-type")
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let root: Value =
        serde_json::from_slice(&request.body).map_err(|e| format!("the body is not JSON: {e}"))?;
    match content_type.as_str() {
        "application/csp-report" => return csp_report::legacy(&root).map(Payload::CspReports),
        "application/reports+json" => {
            return csp_report::reporting_api(&root).map(Payload::CspReports)
        }
        "" | "application/json" | "text/plain" => {}
        other => return Err(format!("content type {other} is not one ingest reads")),
    }
    let first = match &root {
        Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    if root.get("csp-report").is_some() {
        csp_report::legacy(&root).map(Payload::CspReports)
    } else if first.get("type").and_then(Value::as_str) == Some("csp-violation") {
        csp_report::reporting_api(&root).map(Payload::CspReports)
    } else if beacon::is_beacon(&first) {
        beacon::parse(
            &root,
            request.header("referer"),
            request.header("user-agent"),
        )
        .map(Payload::WebVitals)
    } else if first.get("message").is_some() {
        match root {
            Value::Array(items) if items.len() > MAX_ERRORS => Err(format!(
                "at most {MAX_ERRORS} errors per request, got {}",
                items.len()
            )),
            Value::Array(_) => Ok(Payload::Errors(root)),
            _ => Ok(Payload::Error(root)),
        }
    } else {
        Err("expected an error ({message, …}), web-vitals beacons ({name, value, …}) or CSP reports".into())
    }
}

pub fn start(request: Request, env: &Env, now_ms: i64) -> Box<dyn Function> {
    let origin = request.header("origin").map(str::to_owned);
    let allowed = origin
        .as_deref()
        .filter(|o| client::origin_allowed(env.get(env::OBSERVE_ALLOWED_ORIGINS), o))
        .map(str::to_owned);
    let cors = Cors { origin: allowed };
    match decide(&request, env, now_ms, &cors, origin.is_some()) {
        Ok(payload) => Box::new(Ingest {
            payload: Some(payload),
            cors,
        }),
        Err(answer) => Box::new(Answered(Some(answer))),
    }
}

/// The CORS headers of every answer to an allowed origin.
struct Cors {
    origin: Option<String>,
}

impl Cors {
    fn reply(&self, status: u16, body: Option<Value>, extra: &[(&str, String)]) -> Command {
        let mut headers: BTreeMap<String, String> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        headers.insert("vary".into(), "Origin".into());
        if let Some(origin) = &self.origin {
            headers.insert("access-control-allow-origin".into(), origin.clone());
        }
        if body.is_some() {
            headers.insert("content-type".into(), "application/json".into());
        }
        Command::Reply {
            status,
            headers,
            body: body.map(|b| b.to_string()).unwrap_or_default(),
        }
    }

    fn error(&self, status: u16, error: &str, message: impl Into<String>) -> Command {
        self.reply(
            status,
            Some(json!({"error": error, "message": message.into()})),
            &[],
        )
    }
}

fn decide(
    request: &Request,
    env: &Env,
    now_ms: i64,
    cors: &Cors,
    has_origin: bool,
) -> Result<Payload, Command> {
    if !request.route().is_empty() {
        return Err(cors.error(
            404,
            "not_found",
            format!("ingest has no route {}", request.route()),
        ));
    }
    // A request without Origin is no browser's cross-origin request, and
    // CORS has nothing to say about it; the bucket and budgets still apply.
    if has_origin && cors.origin.is_none() {
        return Err(cors.error(
            403,
            "origin_not_allowed",
            "this origin may not post here; list it in OBSERVE_ALLOWED_ORIGINS",
        ));
    }
    match request.meta.method.as_str() {
        "OPTIONS" => {
            return Err(cors.reply(
                204,
                None,
                &[
                    ("access-control-allow-methods", "POST".into()),
                    ("access-control-allow-headers", "content-type".into()),
                    ("access-control-max-age", "86400".into()),
                ],
            ))
        }
        "POST" => {}
        _ => return Err(cors.error(405, "method_not_allowed", "ingest takes POST")),
    }
    env.require(env::SUPABASE_DB_URL)?;
    if request.meta.body_too_large || request.body.len() > MAX_BODY_BYTES {
        return Err(cors.error(
            413,
            "body_too_large",
            format!("the body exceeds {MAX_BODY_BYTES} bytes"),
        ));
    }
    if let Err(seconds) = client::take(&client::client_key(request), now_ms) {
        return Err(cors.reply(
            429,
            Some(json!({"error": "rate_limited", "message": format!("too many requests from this client; retry in {seconds} s")})),
            &[("retry-after", seconds.to_string())],
        ));
    }
    parse(request).map_err(|message| cors.error(400, "invalid_body", message))
}

struct Ingest {
    payload: Option<Payload>,
    cors: Cors,
}

impl Function for Ingest {
    fn step(&mut self, outcome: Option<Outcome>, _now_ms: i64) -> Command {
        match (outcome, &self.payload) {
            (None, Some(payload)) => {
                let (query, body) = payload.statement();
                Command::SqlAs {
                    role: ROLE,
                    query,
                    params: vec![json!(body)],
                }
            }
            (Some(Outcome::Rows { .. }), Some(payload)) => {
                self.cors
                    .reply(202, Some(json!({"accepted": payload.count()})), &[])
            }
            (Some(Outcome::SqlError { code, message }), _) => match code.as_deref() {
                // The data's fault (22xxx, 23xxx) or over the SQL side's
                // bounds (54000): the sender's to fix.
                Some(c) if c.starts_with("22") || c.starts_with("23") || c == "54000" => {
                    self.cors.error(400, "invalid_body", message)
                }
                _ => Command::Respond {
                    status: 503,
                    body: json!({"error": "database_unavailable", "message": "the database refused the request; see the function log"}),
                    log: Some(format!(
                        "database error {}: {message}",
                        code.as_deref().unwrap_or("-")
                    )),
                },
            },
            _ => self
                .cors
                .error(500, "internal", "the host answered a step out of turn"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RequestMeta;

    fn request(method: &str, headers: &[(&str, &str)], body: &str) -> Request {
        Request {
            meta: RequestMeta {
                method: method.into(),
                route: "/".into(),
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                body_too_large: false,
                remote_addr: "192.0.2.10".into(),
                random: String::new(),
            },
            body: body.as_bytes().to_vec(),
        }
    }

    fn env() -> Env {
        Env::new(
            [
                ("SUPABASE_DB_URL", "postgres://x"),
                ("OBSERVE_ALLOWED_ORIGINS", "https://shop.example.com"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        )
    }

    fn first(request: Request) -> Command {
        start(request, &env(), 1_000).step(None, 1_000)
    }

    fn status_and_headers(command: &Command) -> (u16, &BTreeMap<String, String>) {
        match command {
            Command::Reply {
                status, headers, ..
            } => (*status, headers),
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    #[test]
    fn each_format_reaches_its_function_as_observe_ingest() {
        let cases = [
            (
                "text/plain;charset=UTF-8",
                r#"[{"name":"LCP","value":1200,"page":"https://shop.example.com/"}]"#,
                WEB_VITALS,
            ),
            (
                "application/json",
                r#"{"message":"Cannot read properties of undefined","error_type":"javascript"}"#,
                LOG_ERROR,
            ),
            (
                "application/json",
                r#"[{"message":"a"},{"message":"b"}]"#,
                LOG_ERRORS,
            ),
            (
                "application/csp-report",
                r#"{"csp-report":{"effective-directive":"script-src-elem","blocked-uri":"inline"}}"#,
                CSP_REPORTS,
            ),
            (
                "application/reports+json",
                r#"[{"type":"csp-violation","body":{"effectiveDirective":"img-src","blockedURL":"https://x.example/a.png"}}]"#,
                CSP_REPORTS,
            ),
        ];
        for (content_type, body, expected) in cases {
            let command = first(request(
                "POST",
                &[
                    ("content-type", content_type),
                    ("origin", "https://shop.example.com"),
                    ("x-forwarded-for", content_type),
                ],
                body,
            ));
            let Command::SqlAs { role, query, .. } = command else {
                panic!("{content_type}: {command:?}")
            };
            assert_eq!((role, query), (ROLE, expected), "{content_type}");
        }
    }

    #[test]
    fn cors_limits_and_refusals() {
        let preflight = first(request(
            "OPTIONS",
            &[("origin", "https://shop.example.com")],
            "",
        ));
        let (status, headers) = status_and_headers(&preflight);
        assert_eq!(status, 204);
        assert_eq!(
            headers["access-control-allow-origin"],
            "https://shop.example.com"
        );
        assert_eq!(headers["access-control-allow-methods"], "POST");
        let foreign = first(request("POST", &[("origin", "https://evil.example")], "{}"));
        assert_eq!(status_and_headers(&foreign).0, 403);
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        assert_eq!(
            status_and_headers(&first(request("POST", &[("x-forwarded-for", "big")], &big))).0,
            413
        );
        let bad = first(request("POST", &[("x-forwarded-for", "bad")], "{not json"));
        assert_eq!(status_and_headers(&bad).0, 400);
        let unknown = first(request(
            "POST",
            &[("x-forwarded-for", "unknown")],
            r#"{"hello": 1}"#,
        ));
        assert_eq!(status_and_headers(&unknown).0, 400);
        assert_eq!(status_and_headers(&first(request("GET", &[], ""))).0, 405);
        let mut last = None;
        for _ in 0..=client::BURST as usize {
            last = Some(first(request(
                "POST",
                &[("x-forwarded-for", "203.0.113.99, 10.0.0.1")],
                r#"{"message":"x"}"#,
            )));
        }
        let last = last.unwrap();
        let (status, headers) = status_and_headers(&last);
        assert_eq!(status, 429);
        assert_eq!(headers["retry-after"], "1");
    }

    #[test]
    fn the_answer_counts_what_was_accepted() {
        let mut ingest = start(
            request(
                "POST",
                &[("x-forwarded-for", "answer")],
                r#"[{"name":"CLS","value":0.1,"page":"https://a.example/"},{"name":"INP","value":80,"page":"https://a.example/"}]"#,
            ),
            &env(),
            1_000,
        );
        ingest.step(None, 1_000);
        let answer = ingest.step(
            Some(Outcome::Rows {
                rows: vec![json!({"stored": 2})],
            }),
            1_000,
        );
        let Command::Reply { status, body, .. } = answer else {
            panic!()
        };
        assert_eq!((status, body.as_str()), (202, r#"{"accepted":2}"#));
        let mut failing = start(
            request(
                "POST",
                &[("x-forwarded-for", "failing")],
                r#"{"message":"x","level":"loud"}"#,
            ),
            &env(),
            1_000,
        );
        failing.step(None, 1_000);
        let refused = failing.step(
            Some(Outcome::SqlError {
                code: Some("22023".into()),
                message: "level must be …".into(),
            }),
            1_000,
        );
        assert!(matches!(refused, Command::Reply { status: 400, .. }));
    }
}
