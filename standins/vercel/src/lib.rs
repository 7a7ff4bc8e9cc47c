//! STAND-IN for Vercel, which this machine cannot reach: a local server
//! speaking the documented REST API the CLI uses, and serving the deploys.
//!
//! The API (vercel.com/docs/rest-api), with `Authorization: Bearer`, the
//! `teamId` query parameter, errors as `{"error": {"code", "message"}}`
//! (403 `forbidden` for a bad token, 404 `not_found`, 400 `bad_request`,
//! 409 `conflict`) and `x-ratelimit-limit/-remaining/-reset` on every answer,
//! 429 `rate_limited` past the limit of the window (a minute by default):
//!   GET  /v13/deployments/{idOrUrl}                   a deployment (readyState, url, target, meta)
//!   GET  /v6/deployments?projectId&target             the project's deployments, newest first
//!   GET  /v9/projects/{idOrName}                      the project, targets.production = the live deploy
//!   POST /v10/projects/{projectId}/promote/{id}       point production at a deploy, no rebuild: 201
//!   POST /v1/projects/{projectId}/rollback/{id}       back to a previous production deploy: 201
//!
//! Hosting, as Vercel serves a static deploy: `/_d/{id}/…` serves the
//! deploy's directory, every other path the live production deploy (the
//! production domain); `vercel.json` `headers` (source `/(.*)` or a literal
//! path) and `routes` entries with `src` (a regular expression) and
//! `status` apply.
//!
//! Not Vercel's, for the tests only: `POST /_standin/deployments`
//! `{id, dir, target, commit}` creates a READY deploy of a directory (what
//! `vercel deploy --prebuilt` does), made live at once for target
//! `production` unless `"stage": true` (`--skip-domain`).
//!
//! `start` runs it in-process (the CLI's tests); the `vercel-standin`
//! binary runs it alone (the end-to-end pipeline). It serves every
//! connection on a thread of its own (see `http`: tiny_http's pool left
//! connections unread under the load test's burst of connections).

mod http;

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use regex::Regex;
use serde_json::{json, Value};

use http::{Request, Response};

type Header = (String, String);

struct Deployment {
    id: String,
    dir: PathBuf,
    target: String,
    commit: Option<String>,
    created: u64,
    /// Production deploys that were live at some point may be rolled back to.
    was_production: bool,
}

struct State {
    token: String,
    project: String,
    team: Option<String>,
    limit: u64,
    window: u64,
    window_start: u64,
    used: u64,
    deployments: Vec<Deployment>,
    production: Option<String>,
    origin: String,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn header(name: &str, value: &str) -> Header {
    (name.to_owned(), value.to_owned())
}

fn json_response(status: u16, body: &Value, extra: &[Header]) -> Response {
    let mut r = Response::new(status, body.to_string())
        .with_header("content-type", "application/json; charset=utf-8");
    r.headers.extend_from_slice(extra);
    r
}

fn error(status: u16, code: &str, message: &str, extra: &[Header]) -> Response {
    json_response(
        status,
        &json!({"error": {"code": code, "message": message}}),
        extra,
    )
}

impl State {
    fn find(&self, id_or_url: &str) -> Option<&Deployment> {
        self.deployments
            .iter()
            .find(|d| d.id == id_or_url || self.url_of(&d.id) == id_or_url)
    }

    fn url_of(&self, id: &str) -> String {
        format!("{}/_d/{id}", self.origin.trim_start_matches("http://"))
    }

    fn deployment_json(&self, d: &Deployment) -> Value {
        json!({
            "id": d.id, "uid": d.id, "url": self.url_of(&d.id), "name": self.project,
            "projectId": self.project, "readyState": "READY", "state": "READY",
            "target": if d.target == "production" { json!("production") } else { Value::Null },
            "createdAt": d.created, "created": d.created, "ready": d.created,
            "meta": {"githubCommitSha": d.commit},
            "aliasAssigned": self.production.as_deref() == Some(d.id.as_str()),
        })
    }
}

/// Counts the request against the per-minute limit; the headers to send.
fn rate_limit(state: &mut State) -> (bool, Vec<Header>) {
    let now = now_ms() / 1000;
    if now >= state.window_start + state.window {
        state.window_start = now;
        state.used = 0;
    }
    state.used += 1;
    let remaining = state.limit.saturating_sub(state.used);
    let reset = state.window_start + state.window;
    let headers = vec![
        header("x-ratelimit-limit", &state.limit.to_string()),
        header("x-ratelimit-remaining", &remaining.to_string()),
        header("x-ratelimit-reset", &reset.to_string()),
    ];
    (state.used > state.limit, headers)
}

fn api(state: &Mutex<State>, req: &Request) -> Response {
    let mut s = state.lock().expect("state");
    let (limited, rl) = rate_limit(&mut s);
    if req.header("authorization") != Some(&format!("Bearer {}", s.token)) {
        return error(403, "forbidden", "Not authorized", &rl);
    }
    if limited {
        let reset = s.window_start + s.window;
        return json_response(
            429,
            &json!({"error": {"code": "rate_limited",
                "message": format!("The rate limit of {} exceeded. Try again in {} seconds", s.limit, reset.saturating_sub(now_ms() / 1000)),
                "limit": {"remaining": 0, "reset": reset, "resetMs": reset * 1000, "total": s.limit}}}),
            &rl,
        );
    }
    let url = req.url.as_str();
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let params: HashMap<&str, String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k, decode(v)))
        .collect();
    if let Some(team) = &s.team {
        if params.get("teamId") != Some(team) {
            return error(
                403,
                "forbidden",
                "You don't have permission to access this team",
                &rl,
            );
        }
    }
    let parts: Vec<String> = path.trim_matches('/').split('/').map(decode).collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let project_ok = |p: &str| p == s.project;
    match (req.method.as_str(), parts.as_slice()) {
        ("GET", ["v13", "deployments", id]) => match s.find(id) {
            Some(d) => json_response(200, &s.deployment_json(d), &rl),
            None => error(404, "not_found", "Deployment was not found", &rl),
        },
        ("GET", ["v6", "deployments"]) => {
            if params.get("projectId").is_some_and(|p| !project_ok(p)) {
                return error(404, "not_found", "Project not found", &rl);
            }
            let target = params.get("target").cloned();
            let mut list: Vec<Value> = s
                .deployments
                .iter()
                .rev()
                .filter(|d| target.as_deref().is_none_or(|t| d.target == t))
                .map(|d| s.deployment_json(d))
                .collect();
            list.truncate(100);
            let count = list.len();
            json_response(
                200,
                &json!({"deployments": list, "pagination": {"count": count, "next": null, "prev": null}}),
                &rl,
            )
        }
        ("GET", ["v9", "projects", p]) if project_ok(p) => {
            let production = s
                .production
                .as_deref()
                .and_then(|id| s.find(id))
                .map(|d| s.deployment_json(d));
            json_response(
                200,
                &json!({"id": s.project, "name": s.project, "targets": {"production": production}}),
                &rl,
            )
        }
        ("POST", ["v10", "projects", p, "promote", id]) if project_ok(p) => {
            let Some(d) = s.find(id) else {
                return error(404, "not_found", "Deployment was not found", &rl);
            };
            let id = d.id.clone();
            for d in s.deployments.iter_mut().filter(|d| d.id == id) {
                d.was_production = true;
                d.target = "production".into();
            }
            s.production = Some(id);
            json_response(201, &json!({}), &rl)
        }
        ("POST", ["v1", "projects", p, "rollback", id]) if project_ok(p) => {
            let Some(d) = s.find(id) else {
                return error(404, "not_found", "Deployment was not found", &rl);
            };
            if !d.was_production {
                return error(
                    400,
                    "bad_request",
                    "Cannot rollback to a deployment that was never in production",
                    &rl,
                );
            }
            if s.production.as_deref() == Some(d.id.as_str()) {
                return error(
                    409,
                    "conflict",
                    "The deployment is already the current production deployment",
                    &rl,
                );
            }
            s.production = Some(d.id.clone());
            json_response(201, &json!({}), &rl)
        }
        (_, ["v9" | "v10" | "v1", "projects", ..]) => {
            error(404, "not_found", "Project not found", &rl)
        }
        _ => error(
            404,
            "not_found",
            "The requested API endpoint was not found",
            &rl,
        ),
    }
}

fn admin(state: &Mutex<State>, req: &Request) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&req.body) else {
        return error(400, "bad_request", "body must be JSON", &[]);
    };
    let (Some(id), Some(dir)) = (v["id"].as_str(), v["dir"].as_str()) else {
        return error(400, "bad_request", "id and dir are required", &[]);
    };
    let mut s = state.lock().expect("state");
    let target = v["target"].as_str().unwrap_or("preview").to_owned();
    let live = target == "production" && v["stage"] != true;
    s.deployments.retain(|d| d.id != id);
    s.deployments.push(Deployment {
        id: id.to_owned(),
        dir: PathBuf::from(dir),
        target,
        commit: v["commit"].as_str().map(str::to_owned),
        created: now_ms(),
        was_production: live,
    });
    if live {
        s.production = Some(id.to_owned());
    }
    let d = s
        .find(id)
        .map(|d| s.deployment_json(d))
        .unwrap_or(Value::Null);
    json_response(201, &d, &[])
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// Serves `path` of a deploy's directory under its `vercel.json`.
fn serve(dir: &Path, path: &str) -> Response {
    let config: Value = std::fs::read_to_string(dir.join("vercel.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let mut headers = Vec::new();
    for rule in config["headers"].as_array().into_iter().flatten() {
        let source = rule["source"].as_str().unwrap_or("");
        if source == "/(.*)" || source == path {
            for h in rule["headers"].as_array().into_iter().flatten() {
                if let (Some(k), Some(v)) = (h["key"].as_str(), h["value"].as_str()) {
                    headers.push(header(k, v));
                }
            }
        }
    }
    for route in config["routes"].as_array().into_iter().flatten() {
        let matches = route["src"]
            .as_str()
            .and_then(|src| Regex::new(&format!("^(?:{src})$")).ok())
            .is_some_and(|re| re.is_match(path));
        if let (true, Some(status)) = (matches, route["status"].as_u64()) {
            let mut r = json_response(status as u16, &json!({"error": "route status"}), &headers);
            r.add_header("cache-control", "no-store");
            return r;
        }
    }
    let rel = path.trim_start_matches('/');
    let mut file = dir.join(if rel.is_empty() { "index.html" } else { rel });
    if file.is_dir() {
        file = file.join("index.html");
    }
    if rel.split('/').any(|c| c == "..") || rel == "vercel.json" {
        return error(404, "not_found", "NOT_FOUND", &headers);
    }
    match std::fs::read(&file) {
        Ok(bytes) => {
            let mut r = Response::new(200, bytes).with_header("content-type", content_type(&file));
            r.headers.extend(headers);
            r
        }
        Err(_) => error(404, "not_found", "NOT_FOUND", &headers),
    }
}

fn handle(state: &Mutex<State>, req: &Request) -> Response {
    let path = req.url.split('?').next().unwrap_or("/").to_owned();
    if path.starts_with("/v") && path[2..].starts_with(|c: char| c.is_ascii_digit()) {
        api(state, req)
    } else if path == "/_standin/deployments" && req.method == "POST" {
        admin(state, req)
    } else if let Some(rest) = path.strip_prefix("/_d/") {
        let (id, sub) = rest.split_once('/').unwrap_or((rest, ""));
        let dir = state.lock().expect("state").find(id).map(|d| d.dir.clone());
        match dir {
            Some(dir) => serve(&dir, &format!("/{sub}")),
            None => error(404, "not_found", "DEPLOYMENT_NOT_FOUND", &[]),
        }
    } else {
        let s = state.lock().expect("state");
        let dir = s
            .production
            .as_deref()
            .and_then(|id| s.find(id))
            .map(|d| d.dir.clone());
        drop(s);
        match dir {
            Some(dir) => serve(&dir, &path),
            None => error(404, "not_found", "DEPLOYMENT_NOT_FOUND", &[]),
        }
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub struct Options {
    pub token: String,
    pub project: String,
    pub team: Option<String>,
    pub port: u16,
    /// Requests per window before 429.
    pub rate_limit: u64,
    /// The rate limit's window in seconds (Vercel's are a minute or more).
    pub rate_window_seconds: u64,
}

/// Starts the server on 127.0.0.1, a thread per connection; returns its
/// origin (`http://127.0.0.1:PORT`). It runs until the process ends.
pub fn start(opts: Options) -> std::io::Result<String> {
    let listener = TcpListener::bind(("127.0.0.1", opts.port))?;
    let origin = format!("http://{}", listener.local_addr()?);
    let state = Mutex::new(State {
        token: opts.token,
        project: opts.project,
        team: opts.team,
        limit: opts.rate_limit,
        window: opts.rate_window_seconds.max(1),
        window_start: now_ms() / 1000,
        used: 0,
        deployments: Vec::new(),
        production: None,
        origin: origin.clone(),
    });
    http::serve(listener, move |req| handle(&state, req));
    Ok(origin)
}
