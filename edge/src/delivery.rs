//! Resend's delivery webhooks (`email.delivered`, `email.bounced`,
//! `email.complained`, `email.delivery_delayed`), signed the Svix way
//! (https://resend.com/docs/dashboard/webhooks/verify-webhooks-requests),
//! recorded on the notification the e-mail came from
//! (`observe.record_delivery`).

use serde::Deserialize;
use serde_json::json;

use crate::env::{self, Env};
use crate::protocol::{error, sql_failed, Answered, Command, Function, Outcome, Request};
use crate::signature::{svix, SvixHeaders};

const RECORD: &str =
    "select observe.record_delivery($1::text, $2::text, $3::timestamptz) as matched";

pub const REQUIRED: [&str; 2] = [env::SUPABASE_DB_URL, env::RESEND_WEBHOOK_SECRET];

#[derive(Debug, Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    created_at: String,
    data: Data,
}

#[derive(Debug, Deserialize)]
struct Data {
    email_id: String,
}

/// Resend's event type and the delivery status it means.
fn tracked(kind: &str) -> Option<&'static str> {
    match kind {
        "email.delivered" => Some("delivered"),
        "email.bounced" => Some("bounced"),
        "email.complained" => Some("complained"),
        "email.delivery_delayed" => Some("delivery_delayed"),
        _ => None,
    }
}

pub fn start(request: Request, env: &Env, now_ms: i64) -> Box<dyn Function> {
    match decide(&request, env, now_ms) {
        Ok(statement) => Box::new(Delivery {
            statement: Some(statement),
        }),
        Err(answer) => Box::new(Answered(Some(answer))),
    }
}

/// The statement that records the event, or the answer without one.
fn decide(request: &Request, env: &Env, now_ms: i64) -> Result<Command, Command> {
    for name in REQUIRED {
        env.require(name)?;
    }
    let headers = SvixHeaders {
        id: request.header("svix-id"),
        timestamp: request.header("svix-timestamp"),
        signature: request.header("svix-signature"),
    };
    svix(
        env.require(env::RESEND_WEBHOOK_SECRET)?,
        &headers,
        &request.body,
        now_ms.div_euclid(1000),
    )
    .map_err(|e| error(401, "invalid_signature", e.to_string()))?;
    let event: Event = serde_json::from_slice(&request.body).map_err(|e| {
        error(
            400,
            "invalid_body",
            format!("not a Resend event (type, created_at, data.email_id): {e}"),
        )
    })?;
    let Some(status) = tracked(&event.kind) else {
        return Err(Command::respond(
            202,
            json!({ "recorded": false, "reason": format!("event type {} is not tracked", event.kind) }),
        ));
    };
    Ok(Command::Sql {
        query: RECORD,
        params: vec![
            json!(event.data.email_id),
            json!(status),
            json!(event.created_at),
        ],
    })
}

struct Delivery {
    statement: Option<Command>,
}

impl Function for Delivery {
    fn step(&mut self, outcome: Option<Outcome>, _now_ms: i64) -> Command {
        match outcome {
            None => self
                .statement
                .take()
                .unwrap_or_else(|| error(500, "internal", "the webhook was stepped twice")),
            Some(Outcome::Rows { rows }) => {
                let matched = rows
                    .first()
                    .and_then(|r| r.get("matched"))
                    .and_then(|m| m.as_bool())
                    .unwrap_or(false);
                Command::respond(200, json!({ "recorded": matched }))
            }
            Some(Outcome::SqlError { code, message }) => sql_failed(code.as_deref(), &message),
            Some(_) => error(500, "internal", "the host answered a step out of turn"),
        }
    }
}
