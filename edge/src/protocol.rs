//! How a function talks to its host. A function never does I/O: it answers
//! each step with a [`Command`] (run this SQL, send this HTTP request, wait,
//! or answer the caller), and the host (Deno, `supabase/functions/_shared/`)
//! carries it out and feeds the [`Outcome`] back. The same function runs
//! natively in the unit tests, driven by a test host.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The request as the host read it. `route` is the path after the
/// function's name (`/webhooks/resend`, or `/` for the name alone), so a
/// function answers the same whatever prefix the platform puts before it.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestMeta {
    pub method: String,
    pub route: String,
    /// The URL's query string, without its `?` (SDKs in browsers put their
    /// key there).
    #[serde(default)]
    pub query: String,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    /// The host stopped reading the body at its limit.
    #[serde(default)]
    pub body_too_large: bool,
    /// The peer of the connection, as the platform saw it (no port).
    #[serde(default)]
    pub remote_addr: String,
    /// 16 random bytes from the host's CSPRNG, hex: WASM has no entropy
    /// of its own (the status page's nonce).
    #[serde(default)]
    pub random: String,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub meta: RequestMeta,
    /// The body's exact bytes: signatures are computed over them.
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.meta.headers.get(name).map(String::as_str)
    }

    /// The route without a trailing slash; the bare function is `""`.
    pub fn route(&self) -> &str {
        self.meta.route.trim_end_matches('/')
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Command {
    /// Run one parameterised statement; answer with its rows.
    Sql {
        query: &'static str,
        params: Vec<Value>,
    },
    /// Run one statement as `role` (`SET LOCAL ROLE` in a transaction of
    /// its own): the connecting role holds `role`, and acts with no more.
    SqlAs {
        role: &'static str,
        query: &'static str,
        params: Vec<Value>,
    },
    /// Run `query` as `role` together with the same statement of the other
    /// requests that reach the host while one is in flight, at most `max` at
    /// once: `$1` is the JSON array of their `member`s (each a JSON text),
    /// and the statement returns one row per member, in order. Answer with
    /// this member's row alone; a statement that fails fails every member.
    SqlBatched {
        role: &'static str,
        query: &'static str,
        max: usize,
        member: String,
    },
    /// Send these requests at once, each with its own timeout; answer with
    /// every result, in order (`Outcome::Probed`).
    Probe {
        probes: Vec<Probe>,
    },
    /// Send one request; answer with the response or the network error.
    Http {
        method: &'static str,
        url: String,
        headers: BTreeMap<String, String>,
        body: String,
        timeout_ms: u64,
    },
    Sleep {
        ms: u64,
    },
    /// Answer the caller with `body` as is (HTML, or no body for 204).
    Reply {
        status: u16,
        headers: BTreeMap<String, String>,
        body: String,
    },
    /// Answer the caller; `log` goes to the function's log only.
    Respond {
        status: u16,
        body: Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        log: Option<String>,
    },
}

impl Command {
    pub fn respond(status: u16, body: Value) -> Command {
        Command::Respond {
            status,
            body,
            log: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    Rows {
        rows: Vec<Value>,
    },
    SqlError {
        #[serde(default)]
        code: Option<String>,
        message: String,
    },
    Http {
        status: u16,
        /// Header names in lower case.
        headers: BTreeMap<String, String>,
        body: String,
    },
    NetworkError {
        message: String,
    },
    Slept,
    Probed {
        results: Vec<ProbeResult>,
    },
}

/// One request of a health check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    pub timeout_ms: u64,
    /// Also read the server's TLS certificate (a second connection: fetch
    /// does not expose it).
    pub certificate: bool,
}

/// What a probe saw. `status` is absent when no response arrived (`error`
/// says why); the body is cut at the host's limit.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ProbeResult {
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: String,
    pub elapsed_ms: f64,
    #[serde(default)]
    pub error: Option<String>,
    /// The leaf certificate, DER, base64.
    #[serde(default)]
    pub certificate: Option<String>,
    #[serde(default)]
    pub certificate_error: Option<String>,
}

/// A function's decisions for one request.
pub trait Function {
    /// `outcome` is `None` on the first step, then the result of the
    /// previous command. `now_ms` is the host's clock (Unix milliseconds).
    fn step(&mut self, outcome: Option<Outcome>, now_ms: i64) -> Command;
}

/// The `{error, message}` body of every refusal.
pub fn error(status: u16, error: &str, message: impl Into<String>) -> Command {
    Command::respond(status, json!({ "error": error, "message": message.into() }))
}

/// A function that has answered and has nothing more to do.
pub struct Answered(pub Option<Command>);

impl Function for Answered {
    fn step(&mut self, _: Option<Outcome>, _: i64) -> Command {
        self.0.take().unwrap_or_else(|| {
            error(
                500,
                "internal",
                "the function was stepped after it answered",
            )
        })
    }
}

/// Answers a statement that failed: the caller's fault (a data exception,
/// SQLSTATE class 22 or 23, whose message names the bad value) is a 400;
/// anything else is the service's, and its detail goes to the log only.
pub fn sql_failed(code: Option<&str>, message: &str) -> Command {
    match code {
        Some(code) if code.starts_with("22") || code.starts_with("23") => {
            error(400, "invalid_input", message)
        }
        _ => Command::Respond {
            status: 503,
            body: json!({ "error": "database_unavailable", "message": "the database refused the request; see the function log" }),
            log: Some(format!("database error {}: {message}", code.unwrap_or("-"))),
        },
    }
}
