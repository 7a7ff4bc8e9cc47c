//! Vercel's REST API, as documented (vercel.com/docs/rest-api): bearer
//! token, `teamId` on every request when set, errors as
//! `{"error": {"code", "message"}}`, rate limits in `x-ratelimit-*` headers
//! and a 429 whose `x-ratelimit-reset` (epoch seconds) says when to retry.
//! Endpoints used: `GET /v13/deployments/{id}`, `GET /v9/projects/{id}`,
//! `POST /v10/projects/{id}/promote/{deployment}` and
//! `POST /v1/projects/{id}/rollback/{deployment}` (no rebuild either way).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::error::CliError;

pub struct Vercel {
    base: String,
    token: String,
    team: Option<String>,
    pub project: String,
    agent: ureq::Agent,
}

/// Retries of a rate-limited request, and the longest wait between them.
const RATE_LIMIT_RETRIES: u32 = 3;
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Vercel {
    pub fn from_env() -> Result<Vercel, CliError> {
        let need = |name: &str| {
            env(name).ok_or_else(|| {
                CliError::Config(format!("set {name} (see pg-observe deploy --help)"))
            })
        };
        Ok(Vercel {
            base: env("VERCEL_API_URL")
                .unwrap_or_else(|| "https://api.vercel.com".into())
                .trim_end_matches('/')
                .to_owned(),
            token: need("VERCEL_TOKEN")?,
            team: env("VERCEL_TEAM_ID"),
            project: need("VERCEL_PROJECT_ID")?,
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(10))
                .timeout(Duration::from_secs(30))
                .build(),
        })
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut url = format!("{}{}", self.base, path);
        let mut params: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        if let Some(team) = &self.team {
            params.push(("teamId".into(), team.clone()));
        }
        for (i, (k, v)) in params.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&format!("{k}={}", encode(v)));
        }
        url
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<(u16, Value), CliError> {
        let url = self.url(path, query);
        let mut attempt = 0;
        loop {
            let req = self
                .agent
                .request(method, &url)
                .set("Authorization", &format!("Bearer {}", self.token))
                .set("Accept", "application/json");
            let result = if method == "POST" {
                req.set("Content-Type", "application/json")
                    .send_string("{}")
            } else {
                req.call()
            };
            match result {
                Ok(resp) => {
                    let status = resp.status();
                    let body: Value = resp.into_json().unwrap_or(Value::Null);
                    return Ok((status, body));
                }
                Err(ureq::Error::Status(429, resp)) if attempt < RATE_LIMIT_RETRIES => {
                    attempt += 1;
                    let wait = retry_wait(&resp).min(MAX_RATE_LIMIT_WAIT);
                    eprintln!(
                        "pg-observe: Vercel rate limit reached (x-ratelimit-limit {}), retrying in {}s",
                        resp.header("x-ratelimit-limit").unwrap_or("?"),
                        wait.as_secs()
                    );
                    std::thread::sleep(wait);
                }
                Err(ureq::Error::Status(status, resp)) => {
                    let body: Value = resp.into_json().unwrap_or(Value::Null);
                    let code = body
                        .pointer("/error/code")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown")
                        .to_owned();
                    let message = body
                        .pointer("/error/message")
                        .and_then(Value::as_str)
                        .unwrap_or("no error message in the response")
                        .to_owned();
                    return Err(CliError::Api {
                        status,
                        code,
                        message,
                    });
                }
                Err(ureq::Error::Transport(t)) => {
                    return Err(CliError::ApiUnreachable {
                        url: self.base.clone(),
                        reason: t.to_string(),
                    })
                }
            }
        }
    }

    pub fn deployment(&self, id: &str) -> Result<Value, CliError> {
        self.request("GET", &format!("/v13/deployments/{}", encode(id)), &[])
            .map(|(_, body)| body)
    }

    pub fn project(&self) -> Result<Value, CliError> {
        self.request(
            "GET",
            &format!("/v9/projects/{}", encode(&self.project)),
            &[],
        )
        .map(|(_, body)| body)
    }

    /// The deployment serving production now, per the project.
    pub fn production_deployment(&self) -> Result<Option<String>, CliError> {
        Ok(self
            .project()?
            .pointer("/targets/production/id")
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    /// Points production at `id`: 201 done, 202 accepted (in progress).
    pub fn promote(&self, id: &str) -> Result<u16, CliError> {
        let path = format!(
            "/v10/projects/{}/promote/{}",
            encode(&self.project),
            encode(id)
        );
        self.request("POST", &path, &[]).map(|(status, _)| status)
    }

    pub fn rollback(&self, id: &str, description: &str) -> Result<u16, CliError> {
        let path = format!(
            "/v1/projects/{}/rollback/{}",
            encode(&self.project),
            encode(id)
        );
        self.request("POST", &path, &[("description", description)])
            .map(|(status, _)| status)
    }
}

/// How long a 429 asks to wait: `retry-after` seconds, else until
/// `x-ratelimit-reset` (epoch seconds), else a second.
fn retry_wait(resp: &ureq::Response) -> Duration {
    if let Some(secs) = resp
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Duration::from_secs(secs);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    match resp
        .header("x-ratelimit-reset")
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        Some(reset) if reset > now => Duration::from_secs(reset - now),
        _ => Duration::from_secs(1),
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Polls `url` until it answers below 400 or `timeout` passes; returns the
/// last status (or transport error) otherwise.
pub fn answers(url: &str, timeout: Duration) -> Result<u16, String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .redirects(5)
        .build();
    let start = std::time::Instant::now();
    loop {
        let last = match agent.get(url).call() {
            Ok(r) => return Ok(r.status()),
            Err(ureq::Error::Status(s, _)) => format!("HTTP {s}"),
            Err(ureq::Error::Transport(t)) => t.to_string(),
        };
        if start.elapsed() >= timeout {
            return Err(last);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
