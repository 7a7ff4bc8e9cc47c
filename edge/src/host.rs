//! A test host: drives a function to its answer, serving its SQL and HTTP
//! commands from the test's closures and its sleeps from a virtual clock.

use std::collections::BTreeMap;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::env::Env;
use crate::protocol::{Command, Outcome, Request, RequestMeta};

const T0: i64 = 1_764_493_200_000;

struct Run {
    status: u16,
    body: Value,
    sql: Vec<(String, Vec<Value>)>,
    http: Vec<(i64, BTreeMap<String, String>, String)>,
    now: i64,
}

fn request(method: &str, route: &str, headers: &[(&str, &str)], body: &[u8]) -> Request {
    Request {
        meta: RequestMeta {
            method: method.into(),
            route: route.into(),
            query: String::new(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body_too_large: false,
            remote_addr: "203.0.113.7".into(),
            random: "00112233445566778899aabbccddeeff".into(),
        },
        body: body.to_vec(),
    }
}

fn env(extra: &[(&str, &str)]) -> Env {
    let mut vars: BTreeMap<String, String> = [
        ("SUPABASE_DB_URL", "postgres://localhost/db"),
        ("OBSERVE_FUNCTION_SECRET", "function-secret-0123456789"),
        ("OBSERVE_RING_TOKEN", "ring-token-0123456789"),
        ("RESEND_API_KEY", "re_test"),
        ("RESEND_API_URL", "http://resend.test"),
        ("MONITORING_ALERT_FROM", "alerts@example.com"),
        (
            "MONITORING_ALERT_EMAIL",
            "ops@example.com, oncall@example.com",
        ),
        ("VERCEL_WEBHOOK_SECRET", "vercel-secret"),
        ("GITHUB_WEBHOOK_SECRET", "github-secret"),
        (
            "RESEND_WEBHOOK_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        if v.is_empty() {
            vars.remove(*k);
        } else {
            vars.insert(k.to_string(), v.to_string());
        }
    }
    Env::new(vars)
}

fn drive(
    function: &str,
    request: Request,
    env: &Env,
    mut sql: impl FnMut(&str, &[Value]) -> Outcome,
    mut http: impl FnMut(i64, &BTreeMap<String, String>, &str) -> Outcome,
) -> Run {
    let mut now = T0;
    let mut session = crate::start(function, request, env, now);
    let mut outcome = None;
    let mut run = Run {
        status: 0,
        body: Value::Null,
        sql: vec![],
        http: vec![],
        now,
    };
    for _ in 0..10_000 {
        match session.step(outcome.take(), now) {
            Command::Sql { query, params } => {
                outcome = Some(sql(query, &params));
                run.sql.push((query.to_owned(), params));
            }
            Command::Http { headers, body, .. } => {
                outcome = Some(http(now, &headers, &body));
                run.http.push((now, headers, body));
                now += 20;
            }
            Command::SqlAs { query, params, .. } => {
                outcome = Some(sql(query, &params));
                run.sql.push((query.to_owned(), params));
            }
            // A batch of one: this host serves one request at a time.
            Command::SqlBatched { query, member, .. } => {
                let params = vec![Value::String(format!("[{member}]"))];
                outcome = Some(sql(query, &params));
                run.sql.push((query.to_owned(), params));
            }
            Command::Sleep { ms } => {
                now += ms as i64;
                outcome = Some(Outcome::Slept);
            }
            Command::Respond { status, body, .. } => {
                run.status = status;
                run.body = body;
                run.now = now;
                return run;
            }
            Command::Reply { status, body, .. } => {
                run.status = status;
                run.body = serde_json::from_str(&body).unwrap_or(Value::String(body));
                run.now = now;
                return run;
            }
            Command::Probe { .. } => panic!("probes are driven by health_check's own tests"),
        }
    }
    panic!("the function never answered");
}

fn rows(rows: Vec<Value>) -> Outcome {
    Outcome::Rows { rows }
}

fn no_sql(query: &str, _: &[Value]) -> Outcome {
    panic!("unexpected SQL: {query}")
}

fn no_http(_: i64, _: &BTreeMap<String, String>, _: &str) -> Outcome {
    panic!("unexpected HTTP request")
}

fn resend_response(status: u16, headers: &[(&str, &str)], body: Value) -> Outcome {
    Outcome::Http {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.to_string(),
    }
}

fn notification(i: usize) -> Value {
    json!({
        "id": format!("00000000-0000-4000-8000-{i:012}"),
        "kind": "firing",
        "subject": "Error rate above 5%",
        "idempotency_key": format!("rule-1/{i}"),
        "recipients": [],
        "rule_id": "1",
        "group_labels": {"service": "billing"},
        "payload": {"severity": "critical", "service": "billing"}
    })
}

/// An outbox of `n` due notifications, as the SQL side of a drain sees it.
struct Outbox {
    due: Vec<Value>,
    completed: Vec<(String, String)>,
    failed: Vec<(String, String, Value, bool)>,
}

impl Outbox {
    fn new(n: usize) -> Outbox {
        Outbox {
            due: (0..n).map(notification).collect(),
            completed: vec![],
            failed: vec![],
        }
    }

    fn sql(&mut self, query: &str, params: &[Value]) -> Outcome {
        if query.contains("claim_notifications") {
            let batch = params[0].as_i64().unwrap() as usize;
            let take = batch.min(self.due.len());
            rows(self.due.drain(..take).collect())
        } else if query.contains("complete_notification") {
            self.completed.push((
                params[0].as_str().unwrap().into(),
                params[1].as_str().unwrap().into(),
            ));
            rows(vec![json!({"complete_notification": null})])
        } else if query.contains("fail_notification") {
            let permanent = params[3].as_bool().unwrap();
            self.failed.push((
                params[0].as_str().unwrap().into(),
                params[1].as_str().unwrap().into(),
                params[2].clone(),
                permanent,
            ));
            rows(vec![
                json!({"status": if permanent { "dead" } else { "failed" }}),
            ])
        } else if query.contains("pending_notifications") {
            rows(vec![
                json!({"pending": (self.failed.iter().filter(|f| !f.3).count()).to_string()}),
            ])
        } else {
            panic!("unexpected SQL {query}")
        }
    }
}

fn drain_request(token: &str, body: &str) -> Request {
    request(
        "POST",
        "/",
        &[("authorization", &format!("Bearer {token}"))],
        body.as_bytes(),
    )
}

#[test]
fn a_drain_sends_each_notification_once_at_resends_pace() {
    let mut outbox = Outbox::new(5);
    let mut ids = 0;
    let run = drive(
        "alert-dispatch",
        drain_request("function-secret-0123456789", ""),
        &env(&[]),
        |q, p| outbox.sql(q, p),
        |_, headers, body| {
            assert_eq!(headers["authorization"], "Bearer re_test");
            let body: Value = serde_json::from_str(body).unwrap();
            assert_eq!(body["to"], json!(["ops@example.com", "oncall@example.com"]));
            assert_eq!(body["subject"], "[CRITICAL][billing] Error rate above 5%");
            ids += 1;
            resend_response(
                200,
                &[("ratelimit-limit", "2"), ("ratelimit-remaining", "1")],
                json!({"id": format!("email-{ids}")}),
            )
        },
    );
    assert_eq!(run.status, 200, "{}", run.body);
    assert_eq!(
        run.body,
        json!({"sent": 5, "retried": 0, "dead": 0, "remaining": 0})
    );
    assert_eq!(outbox.completed.len(), 5);
    let keys: Vec<&str> = run
        .http
        .iter()
        .map(|(_, h, _)| h["idempotency-key"].as_str())
        .collect();
    assert_eq!(
        keys,
        ["rule-1/0", "rule-1/1", "rule-1/2", "rule-1/3", "rule-1/4"]
    );
    for pair in run.http.windows(2) {
        assert!(
            pair[1].0 - pair[0].0 >= 500,
            "2 requests per second at most"
        );
    }
}

#[test]
fn a_429_is_waited_out_and_resent_with_the_same_key_and_a_500_retried_later() {
    let mut outbox = Outbox::new(1);
    let mut answers = vec![
        resend_response(200, &[], json!({"id": "email-1"})),
        resend_response(
            500,
            &[],
            json!({"statusCode": 500, "name": "internal_server_error", "message": "boom"}),
        ),
        resend_response(
            429,
            &[("retry-after", "2")],
            json!({"statusCode": 429, "name": "rate_limit_exceeded", "message": "slow down"}),
        ),
    ];
    let run = drive(
        "alert-dispatch",
        drain_request("function-secret-0123456789", ""),
        &env(&[]),
        |q, p| outbox.sql(q, p),
        |_, _, _| answers.pop().unwrap(),
    );
    assert_eq!(
        run.body,
        json!({"sent": 0, "retried": 1, "dead": 0, "remaining": 1})
    );
    assert_eq!(
        run.http.len(),
        2,
        "the 429 was resent once, then the 500 ended the claim"
    );
    assert!(
        run.http[1].0 - run.http[0].0 >= 2000,
        "retry-after was honoured"
    );
    assert_eq!(
        run.http[0].1["idempotency-key"],
        run.http[1].1["idempotency-key"]
    );
    assert_eq!(
        outbox.failed[0].2,
        Value::Null,
        "a 500 takes the outbox's backoff"
    );
    assert!(outbox.failed[0].1.contains("boom"));
}

#[test]
fn client_errors_go_to_dead_letter_and_quotas_stop_the_drain() {
    let mut outbox = Outbox::new(3);
    let mut answers = vec![
        resend_response(
            422,
            &[],
            json!({"statusCode": 422, "name": "invalid_parameter", "message": "bad from"}),
        ),
        resend_response(
            429,
            &[],
            json!({"statusCode": 429, "name": "daily_quota_exceeded", "message": "quota"}),
        ),
    ];
    let run = drive(
        "alert-dispatch",
        drain_request("function-secret-0123456789", ""),
        &env(&[]),
        |q, p| outbox.sql(q, p),
        |_, _, _| answers.remove(0),
    );
    assert_eq!(
        run.http.len(),
        2,
        "nothing is sent after the quota is exceeded"
    );
    assert_eq!(run.body["dead"], 1);
    assert!(outbox.failed[0].3 && outbox.failed[0].1.contains("bad from"));
    let wait: i64 = outbox.failed[1]
        .2
        .as_str()
        .unwrap()
        .trim_end_matches(" milliseconds")
        .parse()
        .unwrap();
    assert!(
        (15 * 3600 * 1000 - 2_000..=15 * 3600 * 1000).contains(&wait),
        "the quota waits for the next UTC day: {wait} ms"
    );
    assert_eq!(outbox.failed.len(), 3, "the third is handed back unsent");
}

#[test]
fn the_budget_bounds_a_drain() {
    let mut outbox = Outbox::new(40);
    let run = drive(
        "alert-dispatch",
        drain_request("function-secret-0123456789", r#"{"budget_ms": 3000}"#),
        &env(&[]),
        |q, p| outbox.sql(q, p),
        |_, _, _| resend_response(200, &[], json!({"id": "e"})),
    );
    assert!(run.now - T0 <= 3000, "took {} ms", run.now - T0);
    let sent = run.body["sent"].as_u64().unwrap();
    assert!((5..=7).contains(&sent), "about 2 per second: {sent}");
    let claimed: i64 = run
        .sql
        .iter()
        .filter(|(q, _)| q.contains("claim"))
        .map(|(_, p)| p[0].as_i64().unwrap())
        .sum();
    assert!(
        claimed as u64 <= sent + 1,
        "claims only what the budget can send: {claimed}"
    );
}

#[test]
fn a_drain_authenticates_its_caller() {
    let run = drive(
        "alert-dispatch",
        drain_request("wrong", ""),
        &env(&[]),
        no_sql,
        no_http,
    );
    assert_eq!(
        (run.status, run.body["error"].as_str()),
        (401, Some("unauthorized"))
    );
    let run = drive(
        "alert-dispatch",
        request("POST", "/", &[], b""),
        &env(&[]),
        no_sql,
        no_http,
    );
    assert_eq!(run.status, 401);
    let run = drive(
        "alert-dispatch",
        drain_request("function-secret-0123456789", "not json"),
        &env(&[]),
        no_sql,
        no_http,
    );
    assert_eq!(
        (run.status, run.body["error"].as_str()),
        (400, Some("invalid_body"))
    );
    let run = drive(
        "alert-dispatch",
        drain_request("function-secret-0123456789", r#"{"budget_ms": -1}"#),
        &env(&[]),
        no_sql,
        no_http,
    );
    assert_eq!(run.status, 400);
    let run = drive(
        "alert-dispatch",
        request("GET", "/", &[], b""),
        &env(&[]),
        no_sql,
        no_http,
    );
    assert_eq!(run.status, 405);
    let run = drive(
        "alert-dispatch",
        drain_request("function-secret-0123456789", ""),
        &env(&[("RESEND_API_KEY", "")]),
        no_sql,
        no_http,
    );
    assert_eq!(run.status, 500);
    assert!(run.body["message"]
        .as_str()
        .unwrap()
        .contains("RESEND_API_KEY"));
}

#[test]
fn a_ring_buys_a_short_drain_only() {
    let mut outbox = Outbox::new(40);
    let run = drive(
        "alert-dispatch",
        drain_request(
            "ring-token-0123456789",
            r#"{"ring": true, "budget_ms": 60000}"#,
        ),
        &env(&[]),
        |q, p| outbox.sql(q, p),
        |_, _, _| resend_response(200, &[], json!({"id": "e"})),
    );
    assert_eq!(run.status, 200);
    assert!(run.now - T0 <= crate::dispatch::RING_BUDGET_MS);
    let run = drive(
        "alert-dispatch",
        drain_request("ring-token-0123456789", ""),
        &env(&[("OBSERVE_RING_TOKEN", "")]),
        no_sql,
        no_http,
    );
    assert_eq!(
        run.status, 401,
        "without OBSERVE_RING_TOKEN no ring is accepted"
    );
}

#[test]
fn a_failing_database_is_a_503_without_detail() {
    let run = drive(
        "alert-dispatch",
        drain_request("function-secret-0123456789", ""),
        &env(&[]),
        |_, _| Outcome::SqlError {
            code: Some("57P01".into()),
            message: "terminating connection".into(),
        },
        no_http,
    );
    assert_eq!(run.status, 503);
    assert!(!run.body.to_string().contains("terminating"));
}

fn svix_sign(id: &str, timestamp: i64, body: &str) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

#[test]
fn resend_delivery_webhooks() {
    let body = json!({"type": "email.delivered", "created_at": "2026-11-30T09:00:01Z",
                      "data": {"email_id": "email-1", "to": ["ops@example.com"]}})
    .to_string();
    let ts = T0 / 1000;
    let signature = svix_sign("msg_1", ts, &body);
    let headers = [
        ("svix-id", "msg_1"),
        ("svix-timestamp", &*ts.to_string()),
        ("svix-signature", &*signature),
    ];
    let run = drive(
        "alert-dispatch",
        request("POST", "/webhooks/resend", &headers, body.as_bytes()),
        &env(&[]),
        |q, p| {
            assert!(q.contains("record_delivery"));
            assert_eq!(
                p,
                [
                    json!("email-1"),
                    json!("delivered"),
                    json!("2026-11-30T09:00:01Z")
                ]
            );
            rows(vec![json!({"matched": true})])
        },
        no_http,
    );
    assert_eq!((run.status, &run.body), (200, &json!({"recorded": true})));

    let tampered = body.replace("email-1", "email-2");
    let run = drive(
        "alert-dispatch",
        request("POST", "/webhooks/resend", &headers, tampered.as_bytes()),
        &env(&[]),
        no_sql,
        no_http,
    );
    assert_eq!(run.status, 401);

    let opened = json!({"type": "email.opened", "created_at": "2026-11-30T09:00:01Z", "data": {"email_id": "email-1"}}).to_string();
    let signature = svix_sign("msg_2", ts, &opened);
    let headers = [
        ("svix-id", "msg_2"),
        ("svix-timestamp", &*ts.to_string()),
        ("svix-signature", &*signature),
    ];
    let run = drive(
        "alert-dispatch",
        request("POST", "/webhooks/resend", &headers, opened.as_bytes()),
        &env(&[]),
        no_sql,
        no_http,
    );
    assert_eq!(run.status, 202);
}

fn vercel_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[test]
fn deploy_events_verify_parse_and_record() {
    let body = json!({"id": "evt_1", "type": "deployment.ready", "createdAt": T0,
                      "payload": {"deployment": {"id": "dpl_1", "url": "web.vercel.app", "meta": {}}, "target": null}})
        .to_string();
    let signature = vercel_signature("vercel-secret", body.as_bytes());
    let run = drive(
        "deploy-events",
        request(
            "POST",
            "",
            &[("x-vercel-signature", &signature)],
            body.as_bytes(),
        ),
        &env(&[]),
        |q, p| {
            assert!(q.contains("record_deploy_event"));
            assert_eq!(
                &p[..5],
                [
                    json!("vercel"),
                    json!("evt_1"),
                    json!("dpl_1"),
                    json!("ready"),
                    json!("2025-11-30T09:00:00+00:00")
                ]
            );
            assert_eq!(p[7], json!("preview"));
            rows(vec![
                json!({"recorded": {"deployment": 1, "state": "ready", "replayed": false}}),
            ])
        },
        no_http,
    );
    assert_eq!(run.status, 200);
    assert_eq!(
        run.body,
        json!({"recorded": true, "deployment": 1, "state": "ready", "replayed": false})
    );

    let tampered = body.replace("ready", "error");
    let run = drive(
        "deploy-events",
        request(
            "POST",
            "",
            &[("x-vercel-signature", &signature)],
            tampered.as_bytes(),
        ),
        &env(&[]),
        no_sql,
        no_http,
    );
    assert_eq!(
        (run.status, run.body["error"].as_str()),
        (401, Some("invalid_signature"))
    );
    let run = drive(
        "deploy-events",
        request("POST", "", &[], body.as_bytes()),
        &env(&[]),
        no_sql,
        no_http,
    );
    assert_eq!(run.status, 401, "no signature at all");

    let not_json = b"deployment.ready";
    let signature = vercel_signature("vercel-secret", not_json);
    let run = drive(
        "deploy-events",
        request("POST", "", &[("x-vercel-signature", &signature)], not_json),
        &env(&[]),
        no_sql,
        no_http,
    );
    assert_eq!(
        (run.status, run.body["error"].as_str()),
        (400, Some("invalid_body"))
    );

    let ping = br#"{"zen": "Keep it logically awesome."}"#;
    let mut mac = Hmac::<Sha256>::new_from_slice(b"github-secret").unwrap();
    mac.update(ping);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let run = drive(
        "deploy-events",
        request(
            "POST",
            "",
            &[
                ("x-github-event", "ping"),
                ("x-github-delivery", "d-1"),
                ("x-hub-signature-256", &signature),
            ],
            ping,
        ),
        &env(&[]),
        no_sql,
        no_http,
    );
    assert_eq!(run.status, 202);
    assert!(run.body["reason"].as_str().unwrap().contains("ping"));

    let run = drive(
        "deploy-events",
        request(
            "POST",
            "",
            &[
                ("x-github-event", "ping"),
                ("x-hub-signature-256", &signature),
            ],
            ping,
        ),
        &env(&[("GITHUB_WEBHOOK_SECRET", "")]),
        no_sql,
        no_http,
    );
    assert_eq!(run.status, 500);
    assert!(run.body["message"]
        .as_str()
        .unwrap()
        .contains("GITHUB_WEBHOOK_SECRET"));
}

#[test]
fn the_session_boundary_speaks_json() {
    let env = serde_json::to_string(&json!({"SUPABASE_DB_URL": "x"})).unwrap();
    let mut session = crate::Session::new(
        "deploy-events",
        r#"{"method":"GET","route":"/","headers":{}}"#,
        b"",
        &env,
        T0 as f64,
    );
    let answer: Value = serde_json::from_str(&session.step("", T0 as f64)).unwrap();
    assert_eq!(answer["do"], "respond");
    assert_eq!(answer["status"], 405);
    let mut session = crate::Session::new("nope", "{", b"", "{}", T0 as f64);
    let answer: Value = serde_json::from_str(&session.step("", T0 as f64)).unwrap();
    assert_eq!(answer["status"], 500);
    let missing: Vec<String> =
        serde_json::from_str(&crate::missing_env("alert-dispatch", "{}")).unwrap();
    assert_eq!(missing, crate::dispatch::REQUIRED);
}
