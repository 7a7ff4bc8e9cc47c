//! Configuration, from environment variables only. The host passes the
//! variables named in [`NAMES`]; a function refuses with a 500 naming the
//! first one it needs and lacks.

use std::collections::BTreeMap;

use serde_json::json;

use crate::protocol::Command;

pub const SUPABASE_DB_URL: &str = "SUPABASE_DB_URL";
pub const OBSERVE_FUNCTION_SECRET: &str = "OBSERVE_FUNCTION_SECRET";
pub const OBSERVE_RING_TOKEN: &str = "OBSERVE_RING_TOKEN";
pub const RESEND_API_KEY: &str = "RESEND_API_KEY";
pub const RESEND_API_URL: &str = "RESEND_API_URL";
pub const RESEND_WEBHOOK_SECRET: &str = "RESEND_WEBHOOK_SECRET";
pub const MONITORING_ALERT_FROM: &str = "MONITORING_ALERT_FROM";
pub const MONITORING_ALERT_EMAIL: &str = "MONITORING_ALERT_EMAIL";
pub const VERCEL_WEBHOOK_SECRET: &str = "VERCEL_WEBHOOK_SECRET";
pub const GITHUB_WEBHOOK_SECRET: &str = "GITHUB_WEBHOOK_SECRET";
/// Comma-separated origins whose pages may post to `ingest` (`*`: any).
pub const OBSERVE_ALLOWED_ORIGINS: &str = "OBSERVE_ALLOWED_ORIGINS";

/// Every variable any function reads.
pub const NAMES: [&str; 11] = [
    SUPABASE_DB_URL,
    OBSERVE_FUNCTION_SECRET,
    OBSERVE_RING_TOKEN,
    RESEND_API_KEY,
    RESEND_API_URL,
    RESEND_WEBHOOK_SECRET,
    MONITORING_ALERT_FROM,
    MONITORING_ALERT_EMAIL,
    VERCEL_WEBHOOK_SECRET,
    GITHUB_WEBHOOK_SECRET,
    OBSERVE_ALLOWED_ORIGINS,
];

#[derive(Debug, Clone, Default)]
pub struct Env(BTreeMap<String, String>);

impl Env {
    pub fn new(vars: BTreeMap<String, String>) -> Env {
        Env(vars)
    }

    /// A set, non-blank variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// The variable, or the 500 that names it.
    pub fn require(&self, name: &str) -> Result<&str, Command> {
        self.get(name).ok_or_else(|| missing(name))
    }

    /// Which of `names` are not set, for the log line at start.
    pub fn missing<'a>(&self, names: &[&'a str]) -> Vec<&'a str> {
        names
            .iter()
            .copied()
            .filter(|n| self.get(n).is_none())
            .collect()
    }
}

pub fn missing(name: &str) -> Command {
    Command::respond(
        500,
        json!({
            "error": "missing_configuration",
            "message": format!("environment variable {name} is not set"),
        }),
    )
}
