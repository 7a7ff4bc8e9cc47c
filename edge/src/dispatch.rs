//! `alert-dispatch`: drains the notification outbox into Resend. Claims due
//! notifications (`observe.claim_notifications`), renders and sends each
//! with its idempotency key at the pace Resend's headers allow, records
//! every outcome (`complete_notification`, `fail_notification`), and stops
//! when the outbox has nothing due or the time budget is spent.

use std::collections::VecDeque;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{bearer, same_secret};
use crate::email::{render, Notification};
use crate::env::{self, Env};
use crate::protocol::{error, sql_failed, Answered, Command, Function, Outcome, Request};
use crate::resend::{classify, Pace, Resend, Verdict, DEFAULT_API_URL};

pub const DEFAULT_BUDGET_MS: i64 = 20_000;
/// A ring comes from the database's doorbell, with a token any database role
/// can read: it buys a short drain and nothing else.
pub const RING_BUDGET_MS: i64 = 5_000;
pub const MAX_BUDGET_MS: i64 = 120_000;
const MAX_BATCH: i64 = 10;
/// A lease outlives the drain that took it by this much, so that a row is
/// never claimed twice while its first dispatcher may still send it.
const LEASE_MARGIN_MS: i64 = 30_000;

const CLAIM: &str = "select * from observe.claim_notifications($1::integer, $2::interval)";
const COMPLETE: &str = "select observe.complete_notification($1::uuid, $2::text)";
const FAIL: &str =
    "select observe.fail_notification($1::uuid, $2::text, $3::interval, $4::boolean) as status";
const PENDING: &str = "select observe.pending_notifications() as pending";

/// The alert-dispatch function: the drain at its root, the Resend delivery
/// webhook under `/webhooks/resend`.
pub fn start(request: Request, env: &Env, now_ms: i64) -> Box<dyn Function> {
    if request.meta.method != "POST" {
        return Box::new(Answered(Some(error(
            405,
            "method_not_allowed",
            "alert-dispatch takes POST",
        ))));
    }
    match request.route() {
        "" => Drain::start(&request, env, now_ms).map_or_else(
            |answer| Box::new(Answered(Some(answer))) as Box<dyn Function>,
            |drain| Box::new(drain) as Box<dyn Function>,
        ),
        "/webhooks/resend" => crate::delivery::start(request, env, now_ms),
        other => Box::new(Answered(Some(error(
            404,
            "not_found",
            format!("alert-dispatch has no route {other}"),
        )))),
    }
}

/// Variables the drain cannot run without, for the log line at start.
pub const REQUIRED: [&str; 4] = [
    env::SUPABASE_DB_URL,
    env::OBSERVE_FUNCTION_SECRET,
    env::RESEND_API_KEY,
    env::MONITORING_ALERT_FROM,
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DrainRequest {
    budget_ms: Option<i64>,
    /// Sent by the doorbell; the token, not this flag, decides the budget.
    #[serde(default, rename = "ring")]
    _ring: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaiting {
    Start,
    Claim,
    Sleep,
    Send,
    Complete,
    Fail,
    Pending,
}

struct Sending {
    id: String,
    request: Command,
}

pub struct Drain {
    resend: Resend,
    deadline_ms: i64,
    pace: Pace,
    queue: VecDeque<Value>,
    current: Option<Sending>,
    awaiting: Awaiting,
    asked: usize,
    outbox_empty: bool,
    quota_hit: bool,
    sent: u64,
    retried: u64,
    dead: u64,
}

impl Drain {
    fn start(request: &Request, env: &Env, now_ms: i64) -> Result<Drain, Command> {
        for name in REQUIRED {
            env.require(name)?;
        }
        let secret = env.require(env::OBSERVE_FUNCTION_SECRET)?;
        let token = bearer(request).ok_or_else(|| {
            error(
                401,
                "unauthorized",
                "Authorization: Bearer <OBSERVE_FUNCTION_SECRET> is required",
            )
        })?;
        let max_budget = if same_secret(token.as_bytes(), secret.as_bytes()) {
            MAX_BUDGET_MS
        } else if env
            .get(env::OBSERVE_RING_TOKEN)
            .is_some_and(|ring| same_secret(token.as_bytes(), ring.as_bytes()))
        {
            RING_BUDGET_MS
        } else {
            return Err(error(401, "unauthorized", "the bearer token is not valid"));
        };
        let asked: DrainRequest = if request.body.iter().all(u8::is_ascii_whitespace) {
            DrainRequest::default()
        } else {
            serde_json::from_slice(&request.body).map_err(|e| {
                error(400, "invalid_body", format!("the body must be empty or a JSON object like {{\"budget_ms\": 20000}}: {e}"))
            })?
        };
        let budget_ms = match asked.budget_ms {
            None => DEFAULT_BUDGET_MS.min(max_budget),
            Some(b) if (1..=MAX_BUDGET_MS).contains(&b) => b.min(max_budget),
            Some(b) => {
                return Err(error(
                    400,
                    "invalid_body",
                    format!("budget_ms must be between 1 and {MAX_BUDGET_MS}, got {b}"),
                ))
            }
        };
        let fallback_recipients = env
            .get(env::MONITORING_ALERT_EMAIL)
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Drain {
            resend: Resend {
                api_url: env
                    .get(env::RESEND_API_URL)
                    .unwrap_or(DEFAULT_API_URL)
                    .to_owned(),
                api_key: env.require(env::RESEND_API_KEY)?.to_owned(),
                from: env.require(env::MONITORING_ALERT_FROM)?.to_owned(),
                fallback_recipients,
            },
            deadline_ms: now_ms + budget_ms,
            pace: Pace::default(),
            queue: VecDeque::new(),
            current: None,
            awaiting: Awaiting::Start,
            asked: 0,
            outbox_empty: false,
            quota_hit: false,
            sent: 0,
            retried: 0,
            dead: 0,
        })
    }

    fn next(&mut self, now_ms: i64) -> Command {
        if let Some(sending) = &self.current {
            let wait = self.pace.wait_ms(now_ms);
            if wait == 0 {
                self.pace.sent(now_ms);
                self.awaiting = Awaiting::Send;
                return sending.request.clone();
            }
            if now_ms + wait as i64 <= self.deadline_ms {
                self.awaiting = Awaiting::Sleep;
                return Command::Sleep { ms: wait };
            }
            let id = sending.id.clone();
            self.current = None;
            return self.fail(
                &id,
                "not sent: the drain's time ran out waiting for Resend's rate limit",
                Some(wait),
                false,
            );
        }
        if let Some(row) = self.queue.pop_front() {
            let id = row
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if self.quota_hit || now_ms >= self.deadline_ms {
                let wait = self.pace.wait_ms(now_ms);
                return self.fail(
                    &id,
                    "not sent: the drain ended before its turn",
                    Some(wait),
                    false,
                );
            }
            let notification: Notification = match serde_json::from_value(row) {
                Ok(n) => n,
                Err(e) => {
                    return self.fail(&id, &format!("malformed notification: {e}"), None, true)
                }
            };
            let email = render(&notification);
            match self.resend.request(&notification, &email) {
                Ok(request) => {
                    self.current = Some(Sending { id, request });
                    return self.next(now_ms);
                }
                Err(reason) => return self.fail(&id, &reason, None, true),
            }
        }
        let remaining_ms = self.deadline_ms - now_ms;
        let interval = self.pace.interval_ms().max(1) as i64;
        if self.outbox_empty || self.quota_hit || remaining_ms < interval {
            self.awaiting = Awaiting::Pending;
            return Command::Sql {
                query: PENDING,
                params: vec![],
            };
        }
        let batch = (remaining_ms / interval).clamp(1, MAX_BATCH);
        self.asked = batch as usize;
        self.awaiting = Awaiting::Claim;
        Command::Sql {
            query: CLAIM,
            params: vec![
                json!(batch),
                json!(format!("{} milliseconds", remaining_ms + LEASE_MARGIN_MS)),
            ],
        }
    }

    fn fail(&mut self, id: &str, reason: &str, after_ms: Option<u64>, permanent: bool) -> Command {
        self.awaiting = Awaiting::Fail;
        Command::Sql {
            query: FAIL,
            params: vec![
                json!(id),
                json!(reason),
                after_ms.map_or(Value::Null, |ms| json!(format!("{ms} milliseconds"))),
                json!(permanent),
            ],
        }
    }

    fn settle(&mut self, verdict: Verdict, now_ms: i64) -> Command {
        let Some(sending) = self.current.take() else {
            return error(500, "internal", "a response arrived with nothing in flight");
        };
        match verdict {
            Verdict::Sent { id } => {
                self.awaiting = Awaiting::Complete;
                Command::Sql {
                    query: COMPLETE,
                    params: vec![json!(sending.id), json!(id)],
                }
            }
            Verdict::Paced { after_ms, reason } => {
                self.pace.hold_until(now_ms + after_ms as i64);
                if now_ms + after_ms as i64 <= self.deadline_ms {
                    self.current = Some(sending);
                    self.next(now_ms)
                } else {
                    self.fail(&sending.id, &reason, Some(after_ms), false)
                }
            }
            Verdict::Retry {
                after_ms,
                reason,
                quota,
            } => {
                if quota {
                    self.quota_hit = true;
                }
                self.fail(&sending.id, &reason, after_ms, false)
            }
            Verdict::Dead { reason } => self.fail(&sending.id, &reason, None, true),
        }
    }

    fn summary(&self, remaining: i64) -> Command {
        Command::respond(
            200,
            json!({ "sent": self.sent, "retried": self.retried, "dead": self.dead, "remaining": remaining }),
        )
    }
}

impl Function for Drain {
    fn step(&mut self, outcome: Option<Outcome>, now_ms: i64) -> Command {
        if let Some(Outcome::SqlError { code, message }) = &outcome {
            return sql_failed(code.as_deref(), message);
        }
        match (self.awaiting, outcome) {
            (Awaiting::Start, None) => {}
            (Awaiting::Claim, Some(Outcome::Rows { rows })) => {
                self.outbox_empty = rows.len() < self.asked;
                self.queue.extend(rows);
            }
            (Awaiting::Sleep, Some(Outcome::Slept)) => {}
            (
                Awaiting::Send,
                Some(Outcome::Http {
                    status,
                    headers,
                    body,
                }),
            ) => {
                self.pace.observe(status, &headers, now_ms);
                return self.settle(classify(status, &headers, &body, now_ms), now_ms);
            }
            (Awaiting::Send, Some(Outcome::NetworkError { message })) => {
                let reason = format!("network error reaching Resend: {message}");
                return self.settle(
                    Verdict::Retry {
                        after_ms: None,
                        reason,
                        quota: false,
                    },
                    now_ms,
                );
            }
            (Awaiting::Complete, Some(Outcome::Rows { .. })) => self.sent += 1,
            (Awaiting::Fail, Some(Outcome::Rows { rows })) => {
                match rows
                    .first()
                    .and_then(|r| r.get("status"))
                    .and_then(Value::as_str)
                {
                    Some("dead") => self.dead += 1,
                    Some("failed") => self.retried += 1,
                    _ => {}
                }
            }
            (Awaiting::Pending, Some(Outcome::Rows { rows })) => {
                let pending = rows
                    .first()
                    .and_then(|r| r.get("pending"))
                    .and_then(count)
                    .unwrap_or(0);
                return self.summary(pending);
            }
            (awaiting, outcome) => {
                return Command::Respond {
                    status: 500,
                    body: json!({"error": "internal", "message": "the host answered a step out of turn"}),
                    log: Some(format!(
                        "alert-dispatch awaited {awaiting:?}, got {outcome:?}"
                    )),
                }
            }
        }
        self.next(now_ms)
    }
}

/// A count as the host delivers it: PostgreSQL's bigint arrives as a string.
fn count(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}
