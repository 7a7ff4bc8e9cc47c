//! The Sentry SDKs' endpoints under `ingest` (README, "Sentry SDKs"):
//! `POST /api/<project_id>/envelope/` and the legacy `/api/<project_id>/store/`,
//! which an SDK derives from the DSN
//! `https://<public_key>@<host>/functions/v1/ingest/<project_id>`.
//!
//! The body is decompressed (`Content-Encoding` gzip, deflate or br), framed
//! (`pg_observe_core::sentry::parse_envelope`) and authenticated (the key from
//! `X-Sentry-Auth`, the `sentry_key` query parameter or the envelope's DSN);
//! event items go to `observe.ingest_sentry_envelopes` as `observe_ingest`,
//! which checks the key, captures and counts, and every other item type
//! (sessions, client reports, transactions, attachments, anything newer) is
//! counted and skipped. The answers are the ones SDKs act on: 200
//! `{"id": …}`; 429 with `Retry-After` and `X-Sentry-Rate-Limits` when the
//! project's budget is spent, after which SDKs stop sending errors until
//! then; 401 for an unknown or revoked key, 403 for a disabled project, 400
//! for a malformed body and 413 past the limits.
//!
//! A server's SDK sends hundreds of events a second from one address, so the
//! per-client token bucket of the browser routes does not apply here: the
//! project's budgets in the database bound what a key may write.

use std::collections::BTreeMap;
use std::io::Read;

use flate2::read::{DeflateDecoder, GzDecoder, ZlibDecoder};
use pg_observe_core::sentry::{parse_envelope, public_key};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::Cors;
use crate::protocol::{Command, Function, Outcome, Request};

/// The body as sent (compressed or not); the host reads no more.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The body once decompressed: Sentry's own limit for one event, and far
/// more than the pipeline keeps of it.
pub const MAX_DECODED_BYTES: usize = 1024 * 1024;
const ROLE: &str = "observe_ingest";
const INGEST: &str =
    "select result from observe.ingest_sentry_envelopes($1::text) order by envelope";
/// Envelopes stored by one statement: `observe.ingest_sentry_envelopes`
/// takes at most 50.
const BATCH: usize = 50;
/// What the answers let a browser's SDK read, across origins.
const EXPOSED: &str = "x-sentry-rate-limits, retry-after, x-sentry-error";

/// An envelope item: its type and payload.
type Item = (String, Vec<u8>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Envelope,
    Store,
}

/// `/api/<project_id>/envelope` or `/api/<project_id>/store` (the trailing
/// slash is trimmed by `Request::route`); None for any other route.
fn endpoint(route: &str) -> Option<Result<(i64, Endpoint), String>> {
    let rest = route.strip_prefix("/api/")?;
    let (project, kind) = rest.split_once('/').unwrap_or((rest, ""));
    let endpoint = match kind {
        "envelope" => Endpoint::Envelope,
        "store" => Endpoint::Store,
        _ => return Some(Err(format!("ingest has no route {route}"))),
    };
    Some(
        project
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(|id| (id, endpoint))
            .ok_or_else(|| format!("{project} is not a project id")),
    )
}

/// Whether `route` is one of the Sentry endpoints' (then `start` answers it).
pub(super) fn is_sentry_route(route: &str) -> bool {
    endpoint(route).is_some()
}

pub(super) fn start(request: &Request, cors: Cors) -> Box<dyn Function> {
    let sentry = Sentry {
        cors,
        statement: None,
        event_id: None,
        retried: false,
    };
    sentry.begin(request)
}

struct Sentry {
    cors: Cors,
    statement: Option<Command>,
    /// The id the SDK gave the envelope's event, as SDKs expect it back.
    event_id: Option<String>,
    retried: bool,
}

impl Sentry {
    fn begin(mut self, request: &Request) -> Box<dyn Function> {
        match self.decide(request) {
            Ok(statement) => {
                self.statement = Some(statement);
                Box::new(self)
            }
            Err(answer) => Box::new(crate::protocol::Answered(Some(answer))),
        }
    }

    fn reply(&self, status: u16, body: Value, extra: &[(&str, String)]) -> Command {
        let mut headers = vec![("access-control-expose-headers", EXPOSED.to_owned())];
        headers.extend(extra.iter().cloned());
        self.cors.reply(status, Some(body), &headers)
    }

    fn error(&self, status: u16, error: &str, message: impl Into<String>) -> Command {
        let message = message.into();
        // SDKs log X-Sentry-Error when they are refused.
        self.reply(
            status,
            json!({"error": error, "message": message}),
            &[("x-sentry-error", message.clone())],
        )
    }

    fn decide(&mut self, request: &Request) -> Result<Command, Command> {
        let (project_id, endpoint) = match endpoint(request.route()) {
            Some(Ok(found)) => found,
            Some(Err(message)) => return Err(self.error(404, "not_found", message)),
            None => {
                let message = format!("ingest has no route {}", request.route());
                return Err(self.error(404, "not_found", message));
            }
        };
        if request.meta.body_too_large || request.body.len() > MAX_BODY_BYTES {
            return Err(self.error(
                413,
                "body_too_large",
                format!("the body exceeds {MAX_BODY_BYTES} bytes"),
            ));
        }
        let body = decode(request.header("content-encoding"), &request.body)
            .map_err(|(status, message)| self.error(status, "invalid_body", message))?;
        let (header, items): (Map<String, Value>, Vec<Item>) = match endpoint {
            Endpoint::Envelope => {
                let envelope = parse_envelope(&body)
                    .map_err(|e| self.error(400, "invalid_envelope", e.to_string()))?;
                let items = envelope
                    .items
                    .iter()
                    .map(|item| (item.kind.clone(), item.payload.to_vec()))
                    .collect();
                (envelope.header, items)
            }
            Endpoint::Store => (Default::default(), vec![("event".to_owned(), body)]),
        };
        let key = public_key(
            request.header("x-sentry-auth"),
            Some(request.meta.query.trim_start_matches('?')),
            header.get("dsn").and_then(Value::as_str),
        )
        .map_err(|e| self.error(401, "unauthorized", e.to_string()))?
        .ok_or_else(|| {
            self.error(
                401,
                "unauthorized",
                "no project key: send X-Sentry-Auth, the sentry_key query parameter or a DSN in the envelope header",
            )
        })?;

        // Events go to the database as the SDK wrote them, checked to be
        // JSON but not parsed into a tree and printed back.
        let mut events: Vec<&str> = Vec::new();
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for (index, (kind, payload)) in items.iter().enumerate() {
            *counts.entry(item_type(kind)).or_default() += 1;
            if kind == "event" {
                let event = json_text(payload).map_err(|e| {
                    self.error(
                        400,
                        "invalid_envelope",
                        format!("item {index}: the event is not JSON: {e}"),
                    )
                })?;
                events.push(event);
            }
        }
        self.event_id = match header.get("event_id").and_then(Value::as_str) {
            Some(id) => Some(id.to_owned()),
            None => events.first().and_then(|event| {
                serde_json::from_str::<EventId>(event)
                    .ok()
                    .and_then(|e| e.event_id)
            }),
        }
        .map(|id| id.replace('-', ""));
        let member = format!(
            r#"{{"project_id":{project_id},"public_key":{},"events":[{}],"items":{}}}"#,
            Value::from(key),
            events.join(","),
            json!(counts),
        );
        Ok(Command::SqlBatched {
            role: ROLE,
            query: INGEST,
            max: BATCH,
            member,
        })
    }
}

/// The one field read from an event here.
#[derive(Deserialize)]
struct EventId {
    event_id: Option<String>,
}

/// How deep an event may nest: the database reads it three levels down in
/// the batch (array, envelope, events) with serde's limit of 128.
const MAX_EVENT_DEPTH: usize = 124;

/// An item's payload as JSON text: valid JSON, no deeper than
/// `MAX_EVENT_DEPTH`, and without a `\u0000` escape, which PostgreSQL's
/// text cannot hold (jsonb refuses it too), so that one envelope cannot
/// break the statement it shares with others.
fn json_text(payload: &[u8]) -> Result<&str, String> {
    let text = std::str::from_utf8(payload).map_err(|e| e.to_string())?;
    serde_json::from_str::<IgnoredAny>(text).map_err(|e| e.to_string())?;
    if depth(text) > MAX_EVENT_DEPTH {
        return Err(format!("it nests deeper than {MAX_EVENT_DEPTH} levels"));
    }
    if has_nul_escape(text) {
        return Err("it contains \\u0000, which PostgreSQL cannot store".to_owned());
    }
    Ok(text.trim())
}

/// The deepest nesting of arrays and objects in valid JSON `text`.
fn depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for &b in text.as_bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth -= 1,
            _ => {}
        }
    }
    deepest
}

/// Whether `text` has a `\u0000` escape (an odd run of backslashes before
/// `u0000`; an even run is escaped backslashes followed by plain text).
fn has_nul_escape(text: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices("u0000").any(|(at, _)| {
        let backslashes = bytes[..at]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        backslashes % 2 == 1
    })
}

/// An item type as counted: SDKs send lowercase words; anything else is
/// counted under a name that says so.
fn item_type(kind: &str) -> String {
    let word = !kind.is_empty()
        && kind.len() <= 64
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if word {
        kind.to_owned()
    } else {
        "unrecognised".to_owned()
    }
}

/// The body without its `Content-Encoding`, at most `MAX_DECODED_BYTES`.
/// `deflate` is zlib-wrapped by HTTP's definition; some clients send it raw.
fn decode(encoding: Option<&str>, body: &[u8]) -> Result<Vec<u8>, (u16, String)> {
    let encoding = encoding.unwrap_or("").trim().to_ascii_lowercase();
    let read = |reader: &mut dyn Read| -> Result<Vec<u8>, (u16, String)> {
        let mut out = Vec::new();
        reader
            .take(MAX_DECODED_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| (400, format!("the body is not valid {encoding}: {e}")))?;
        if out.len() > MAX_DECODED_BYTES {
            return Err((
                413,
                format!("the decompressed body exceeds {MAX_DECODED_BYTES} bytes"),
            ));
        }
        Ok(out)
    };
    match encoding.as_str() {
        "" | "identity" => Ok(body.to_vec()),
        "gzip" | "x-gzip" => read(&mut GzDecoder::new(body)),
        "deflate" => read(&mut ZlibDecoder::new(body)).or_else(|zlib| match zlib.0 {
            400 => read(&mut DeflateDecoder::new(body)),
            _ => Err(zlib),
        }),
        "br" => read(&mut brotli_decompressor::Decompressor::new(body, 4096)),
        other => Err((
            400,
            format!("Content-Encoding {other} is not one ingest reads (gzip, deflate, br)"),
        )),
    }
}

impl Function for Sentry {
    fn step(&mut self, outcome: Option<Outcome>, _now_ms: i64) -> Command {
        match outcome {
            None => self.statement.clone().unwrap_or_else(|| {
                self.error(
                    500,
                    "internal",
                    "the function was stepped after it answered",
                )
            }),
            Some(Outcome::Rows { rows }) => {
                let result = rows
                    .first()
                    .and_then(|row| row.get("result"))
                    .cloned()
                    .unwrap_or(Value::Null);
                if result.get("status").and_then(Value::as_str) == Some("failed") {
                    let code = result.get("sqlstate").and_then(Value::as_str);
                    let message = result.get("message").and_then(Value::as_str).unwrap_or("");
                    return self.failed(code, message);
                }
                self.answer(&result)
            }
            Some(Outcome::SqlError { code, message }) => self.failed(code.as_deref(), &message),
            Some(_) => self.error(500, "internal", "the host answered a step out of turn"),
        }
    }
}

impl Sentry {
    /// The statement failed, or rolled this envelope back.
    fn failed(&mut self, code: Option<&str>, message: &str) -> Command {
        match code {
            // A concurrent request delivered the same event_id first, or its
            // batch and this one locked the same rows in opposite orders:
            // once more, and the database answers with the first one's id.
            Some("40001" | "40P01") if !self.retried => {
                self.retried = true;
                self.statement.clone().expect("the statement was sent")
            }
            Some(c) if c.starts_with("22") || c.starts_with("23") || c == "54000" => {
                self.error(400, "invalid_event", message)
            }
            _ => Command::Respond {
                status: 503,
                body: json!({"error": "database_unavailable", "message": "the database refused the request; see the function log"}),
                log: Some(format!("database error {}: {message}", code.unwrap_or("-"))),
            },
        }
    }

    fn answer(&self, result: &Value) -> Command {
        match result.get("status").and_then(Value::as_str) {
            Some("accepted") => {
                let body = match &self.event_id {
                    Some(id) => json!({ "id": id }),
                    None => json!({}),
                };
                self.reply(200, body, &[])
            }
            Some("unknown_key") => self.error(
                401,
                "unknown_key",
                "the DSN's key is not an active key of this project",
            ),
            Some("disabled") => self.error(403, "project_disabled", "this project is disabled"),
            Some("rate_limited") => {
                let seconds = result
                    .get("retry_after")
                    .and_then(Value::as_i64)
                    .unwrap_or(60)
                    .clamp(1, 60);
                let reason = result
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("budget");
                self.reply(
                    429,
                    json!({"error": "rate_limited", "message": format!("the project's {reason} is spent for this minute; retry in {seconds} s")}),
                    &[
                        ("retry-after", seconds.to_string()),
                        (
                            "x-sentry-rate-limits",
                            format!("{seconds}:error;default:key:{reason}"),
                        ),
                    ],
                )
            }
            _ => Command::Respond {
                status: 500,
                body: json!({"error": "internal", "message": "the database answered something unexpected; see the function log"}),
                log: Some(format!("ingest_sentry_envelopes answered {result}")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::{GzEncoder, ZlibEncoder};
    use flate2::Compression;

    use super::*;
    use crate::env::Env;
    use crate::protocol::RequestMeta;

    const KEY: &str = "0d5d2ab07b3f4c3e9d1f1b8a64a2c5e1";
    const EVENT: &str = r#"{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","message":"hi"}"#;

    fn request(route: &str, query: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Request {
        Request {
            meta: RequestMeta {
                method: "POST".into(),
                route: route.into(),
                query: query.into(),
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                body_too_large: false,
                remote_addr: "192.0.2.1".into(),
                random: String::new(),
            },
            body,
        }
    }

    fn env() -> Env {
        Env::new(
            [
                ("SUPABASE_DB_URL", "postgres://x"),
                ("OBSERVE_ALLOWED_ORIGINS", "*"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        )
    }

    fn envelope() -> Vec<u8> {
        format!(
            "{{\"event_id\":\"9ec79c33-ec99-42ab-8353-589fcb2e04dc\",\"sent_at\":\"2024-01-01T00:00:00Z\"}}\n\
             {{\"type\":\"event\",\"length\":{}}}\n{EVENT}\n\
             {{\"type\":\"session\"}}\n{{\"sid\":\"x\"}}\n\
             {{\"type\":\"profile\",\"length\":2}}\n{{}}\n",
            EVENT.len()
        )
        .into_bytes()
    }

    fn auth() -> String {
        format!("Sentry sentry_key={KEY}, sentry_version=7")
    }

    fn first(request: Request) -> Command {
        super::super::start(request, &env(), 0).step(None, 0)
    }

    fn status(command: &Command) -> (u16, BTreeMap<String, String>, Value) {
        match command {
            Command::Reply {
                status,
                headers,
                body,
            } => (
                *status,
                headers.clone(),
                serde_json::from_str(body).unwrap_or(Value::Null),
            ),
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    #[test]
    fn an_envelope_reaches_the_database_with_its_key_events_and_item_counts() {
        let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
        gzip.write_all(&envelope()).unwrap();
        let body = gzip.finish().unwrap();
        let auth = auth();
        let command = first(request(
            "/api/42/envelope",
            "",
            &[
                ("x-sentry-auth", auth.as_str()),
                ("content-encoding", "gzip"),
            ],
            body,
        ));
        let Command::SqlBatched {
            role,
            query,
            max,
            member,
        } = command
        else {
            panic!("{command:?}")
        };
        assert_eq!((role, query, max), (ROLE, INGEST, BATCH));
        let member: Value = serde_json::from_str(&member).unwrap();
        assert_eq!(
            member,
            json!({
                "project_id": 42,
                "public_key": KEY,
                "events": [serde_json::from_str::<Value>(EVENT).unwrap()],
                "items": {"event": 1, "profile": 1, "session": 1},
            })
        );
    }

    fn member(command: &Command) -> Value {
        let Command::SqlBatched { member, .. } = command else {
            panic!("{command:?}")
        };
        serde_json::from_str(member).unwrap()
    }

    #[test]
    fn the_store_endpoint_deflate_and_the_key_in_the_query() {
        let mut zlib = ZlibEncoder::new(Vec::new(), Compression::default());
        zlib.write_all(EVENT.as_bytes()).unwrap();
        let query = format!("sentry_key={KEY}&sentry_version=7");
        let command = first(request(
            "/api/7/store",
            &query,
            &[("content-encoding", "deflate")],
            zlib.finish().unwrap(),
        ));
        let member = member(&command);
        assert_eq!(
            (&member["project_id"], &member["public_key"]),
            (&json!(7), &json!(KEY))
        );
    }

    #[test]
    fn an_envelope_the_python_sdk_sent_with_brotli() {
        // Captured from sentry-sdk 2.75 (tests/sentry/shop.py), which sends
        // Content-Encoding: br whenever the brotli module is installed.
        let body =
            include_bytes!("../../tests/fixtures/sentry/python_handled_exception.envelope.br");
        let auth = "Sentry sentry_key=0123456789abcdef0123456789abcdef, sentry_version=7, sentry_client=sentry.python/2.75.0";
        let command = first(request(
            "/api/1/envelope",
            "",
            &[("x-sentry-auth", auth), ("content-encoding", "br")],
            body.to_vec(),
        ));
        let member = member(&command);
        assert_eq!(
            member["events"][0]["exception"]["values"][0]["type"],
            "PaymentError"
        );
        assert_eq!(member["items"], json!({"event": 1}));
    }

    #[test]
    fn the_database_answer_becomes_what_sdks_act_on() {
        let auth = auth();
        let answer = |result: Value| {
            let mut f = super::super::start(
                request(
                    "/api/42/envelope",
                    "",
                    &[("x-sentry-auth", auth.as_str())],
                    envelope(),
                ),
                &env(),
                0,
            );
            f.step(None, 0);
            status(&f.step(
                Some(Outcome::Rows {
                    rows: vec![json!({"result": result})],
                }),
                0,
            ))
        };
        let (code, headers, body) = answer(json!({"status": "accepted", "ids": ["x"]}));
        assert_eq!(
            (code, body),
            (200, json!({"id": "9ec79c33ec9942ab8353589fcb2e04dc"}))
        );
        assert!(headers["access-control-expose-headers"].contains("x-sentry-rate-limits"));
        let (code, headers, _) =
            answer(json!({"status": "rate_limited", "reason": "event_budget", "retry_after": 17}));
        assert_eq!(code, 429);
        assert_eq!(headers["retry-after"], "17");
        assert_eq!(
            headers["x-sentry-rate-limits"],
            "17:error;default:key:event_budget"
        );
        assert_eq!(answer(json!({"status": "unknown_key"})).0, 401);
        assert_eq!(answer(json!({"status": "disabled"})).0, 403);
        let (code, _, body) = answer(
            json!({"status": "failed", "sqlstate": "22023", "message": "invalid level \"loud\""}),
        );
        assert_eq!(
            (code, body["message"].as_str()),
            (400, Some("invalid level \"loud\""))
        );
    }

    #[test]
    fn a_concurrent_duplicate_is_retried_once() {
        let auth = auth();
        let mut f = super::super::start(
            request(
                "/api/42/envelope",
                "",
                &[("x-sentry-auth", auth.as_str())],
                envelope(),
            ),
            &env(),
            0,
        );
        let statement = f.step(None, 0);
        // Its own envelope rolled back in a batch, or the whole statement.
        let rolled_back = Outcome::Rows {
            rows: vec![
                json!({"result": {"status": "failed", "sqlstate": "40001", "message": "retry"}}),
            ],
        };
        assert_eq!(f.step(Some(rolled_back), 0), statement);
        let conflict = Outcome::SqlError {
            code: Some("40001".into()),
            message: "retry".into(),
        };
        assert!(matches!(
            f.step(Some(conflict), 0),
            Command::Respond { status: 503, .. }
        ));
    }

    #[test]
    fn events_are_passed_as_sent_and_a_nul_escape_is_refused() {
        assert_eq!(json_text(b" {\"a\": [1, 2]}\n"), Ok(r#"{"a": [1, 2]}"#));
        assert!(json_text(br#"{"m": "a\u0000b"}"#).is_err());
        assert!(json_text(br#"{"m": "a\\\u0000b"}"#).is_err());
        assert_eq!(
            json_text(br#"{"m": "a\\u0000b"}"#),
            Ok(r#"{"m": "a\\u0000b"}"#),
            "an escaped backslash before u0000 is text"
        );
        assert!(json_text(b"{\"m\": 1").is_err());
        let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        assert!(json_text(nested(MAX_EVENT_DEPTH).as_bytes()).is_ok());
        assert!(json_text(nested(MAX_EVENT_DEPTH + 1).as_bytes()).is_err());
        assert_eq!(depth(r#"{"a": "[[{", "b": [{"c": "\\"}]}"#), 3);
    }

    #[test]
    fn refusals() {
        let auth = auth();
        let with_auth = [("x-sentry-auth", auth.as_str())];
        let cases: Vec<(Request, u16, &str)> = vec![
            (
                request("/api/42/envelope", "", &[], envelope()),
                401,
                "no project key",
            ),
            (
                request(
                    "/api/42/envelope",
                    "",
                    &[("x-sentry-auth", "Sentry sentry_version=7")],
                    envelope(),
                ),
                401,
                "malformed",
            ),
            (
                request(
                    "/api/42/envelope",
                    "",
                    &with_auth,
                    b"{}\n{\"type\":\"event\",\"length\":99}\n{}".to_vec(),
                ),
                400,
                "says 99 bytes",
            ),
            (
                request(
                    "/api/42/envelope",
                    "",
                    &with_auth,
                    b"{}\n{\"type\":\"event\"}\nnot json\n".to_vec(),
                ),
                400,
                "the event is not JSON",
            ),
            (
                request(
                    "/api/42/envelope",
                    "",
                    &[
                        ("x-sentry-auth", auth.as_str()),
                        ("content-encoding", "gzip"),
                    ],
                    b"not gzip".to_vec(),
                ),
                400,
                "not valid gzip",
            ),
            (
                request(
                    "/api/42/envelope",
                    "",
                    &[
                        ("x-sentry-auth", auth.as_str()),
                        ("content-encoding", "zstd"),
                    ],
                    envelope(),
                ),
                400,
                "Content-Encoding zstd",
            ),
            (
                request("/api/x/envelope", "", &with_auth, envelope()),
                404,
                "not a project id",
            ),
            (
                request("/api/42/minidump", "", &with_auth, envelope()),
                404,
                "no route",
            ),
            (
                request(
                    "/api/42/envelope",
                    "",
                    &with_auth,
                    vec![b' '; MAX_BODY_BYTES + 1],
                ),
                413,
                "exceeds",
            ),
        ];
        for (request, expected, message) in cases {
            let (code, headers, body) = status(&first(request));
            assert_eq!(code, expected, "{body}");
            assert!(
                body["message"].as_str().unwrap().contains(message),
                "{body}"
            );
            assert!(headers.contains_key("x-sentry-error"));
        }
        let mut bomb = GzEncoder::new(Vec::new(), Compression::best());
        bomb.write_all(&vec![b'{'; MAX_DECODED_BYTES + 10]).unwrap();
        let (code, _, _) = status(&first(request(
            "/api/42/envelope",
            "",
            &[
                ("x-sentry-auth", auth.as_str()),
                ("content-encoding", "gzip"),
            ],
            bomb.finish().unwrap(),
        )));
        assert_eq!(code, 413);
    }
}
