//! pg_observe's edge functions, compiled to WASM with wasm-bindgen and run by
//! Deno as Supabase Edge Functions. Every decision is made here, sans I/O
//! (see `protocol`): the TypeScript around it only carries out the commands
//! and answers. `pg_observe_core` is shared with the extension, so a deploy
//! state merges the same way in both.

pub mod auth;
pub mod certificate;
pub mod delivery;
pub mod deploy_events;
pub mod dispatch;
pub mod email;
pub mod env;
pub mod health_check;
pub mod ingest;
pub mod protocol;
pub mod resend;
pub mod signature;
pub mod status;

use std::collections::BTreeMap;

use wasm_bindgen::prelude::*;

use crate::env::Env;
use crate::protocol::{error, Answered, Function, Outcome, Request, RequestMeta};

/// The functions, by the name Supabase serves them under.
pub const FUNCTIONS: [&str; 5] = [
    "alert-dispatch",
    "deploy-events",
    "health-check",
    "ingest",
    "status",
];

/// The variables a function needs on every route, for the log line the host
/// writes once at start.
pub fn required(function: &str) -> &'static [&'static str] {
    match function {
        "alert-dispatch" => &dispatch::REQUIRED,
        "deploy-events" => &deploy_events::REQUIRED,
        "health-check" => &health_check::REQUIRED,
        "ingest" => &ingest::REQUIRED,
        "status" => &status::REQUIRED,
        _ => &[],
    }
}

/// Starts `function` on a request. Never fails: a bad request or a missing
/// variable is an answer.
pub fn start(function: &str, request: Request, env: &Env, now_ms: i64) -> Box<dyn Function> {
    if request.meta.body_too_large {
        return Box::new(Answered(Some(error(
            413,
            "body_too_large",
            "the body exceeds the function's limit",
        ))));
    }
    match function {
        "alert-dispatch" => dispatch::start(request, env, now_ms),
        "deploy-events" => deploy_events::start(request, env),
        "health-check" => health_check::start(request, env),
        "ingest" => ingest::start(request, env, now_ms),
        "status" => status::start(request, env),
        other => Box::new(Answered(Some(error(
            404,
            "not_found",
            format!("no function named {other}"),
        )))),
    }
}

/// One request being answered, as the host holds it.
#[wasm_bindgen]
pub struct Session {
    function: Box<dyn Function>,
}

#[wasm_bindgen]
impl Session {
    /// `meta`: JSON `{method, route, headers, body_too_large}`; `env`: JSON
    /// object of the variables in `env_names()`.
    #[wasm_bindgen(constructor)]
    pub fn new(function: &str, meta: &str, body: &[u8], env: &str, now_ms: f64) -> Session {
        let parsed = serde_json::from_str::<RequestMeta>(meta).and_then(|meta| {
            serde_json::from_str::<BTreeMap<String, String>>(env).map(|env| (meta, env))
        });
        let function = match parsed {
            Ok((meta, env)) => start(
                function,
                Request {
                    meta,
                    body: body.to_vec(),
                },
                &Env::new(env),
                now_ms as i64,
            ),
            Err(e) => Box::new(Answered(Some(error(
                500,
                "internal",
                format!("the host passed a malformed request: {e}"),
            )))),
        };
        Session { function }
    }

    /// The next command, as JSON, given the outcome of the previous one
    /// (JSON, or empty on the first step).
    pub fn step(&mut self, outcome: &str, now_ms: f64) -> String {
        let command = if outcome.is_empty() {
            self.function.step(None, now_ms as i64)
        } else {
            match serde_json::from_str::<Outcome>(outcome) {
                Ok(outcome) => self.function.step(Some(outcome), now_ms as i64),
                Err(e) => error(
                    500,
                    "internal",
                    format!("the host passed a malformed outcome: {e}"),
                ),
            }
        };
        serde_json::to_string(&command).expect("commands serialise")
    }
}

/// The largest body `function` reads; the host stops reading there and
/// the function answers 413. `ingest` is public, so it reads least.
#[wasm_bindgen]
pub fn body_limit(function: &str) -> u32 {
    match function {
        "ingest" => ingest::MAX_BODY_BYTES as u32,
        _ => 1024 * 1024,
    }
}

/// Every variable the functions read, as a JSON array.
#[wasm_bindgen]
pub fn env_names() -> String {
    serde_json::to_string(&env::NAMES).expect("names serialise")
}

/// The required variables `function` lacks in `env` (JSON), as a JSON array.
#[wasm_bindgen]
pub fn missing_env(function: &str, env: &str) -> String {
    let env = Env::new(serde_json::from_str(env).unwrap_or_default());
    serde_json::to_string(&env.missing(required(function))).expect("names serialise")
}

#[cfg(test)]
mod host;
