//! `deploy-events`: Vercel and GitHub deployment webhooks, verified and
//! turned into one `observe.record_deploy_event` call each. Which provider
//! sent a request is told by its headers (`X-GitHub-Event`, else Vercel).

use chrono::DateTime;
use pg_observe_core::deploy::DeployState;
use serde_json::{json, Value};

use crate::env::{self, Env};
use crate::protocol::{error, sql_failed, Answered, Command, Function, Outcome, Request};
use crate::signature;

const RECORD: &str = "select observe.record_deploy_event(
    provider => $1::text, event_id => $2::text, deployment_id => $3::text, state => $4::text,
    occurred_at => $5::timestamptz, event_type => $6::text, project => $7::text,
    environment => $8::text, url => $9::text, commit_sha => $10::text, branch => $11::text,
    payload => $12::text::jsonb) as recorded";

pub const REQUIRED: [&str; 3] = [
    env::SUPABASE_DB_URL,
    env::VERCEL_WEBHOOK_SECRET,
    env::GITHUB_WEBHOOK_SECRET,
];

/// One provider event, as `observe.record_deploy_event` takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployEvent {
    pub provider: &'static str,
    pub event_id: String,
    pub deployment_id: String,
    pub state: DeployState,
    pub occurred_at: String,
    pub event_type: String,
    pub project: Option<String>,
    pub environment: String,
    pub url: Option<String>,
    pub commit_sha: Option<String>,
    pub branch: Option<String>,
}

/// Why an event is not recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum Skip {
    /// 202: a well-formed event we do not track.
    Untracked(String),
    /// 400: a tracked event missing what it must carry.
    Invalid(String),
}

pub fn start(request: Request, env: &Env) -> Box<dyn Function> {
    match decide(&request, env) {
        Ok(statement) => Box::new(Record {
            statement: Some(statement),
        }),
        Err(answer) => Box::new(Answered(Some(answer))),
    }
}

fn decide(request: &Request, env: &Env) -> Result<Command, Command> {
    if request.meta.method != "POST" {
        return Err(error(405, "method_not_allowed", "deploy-events takes POST"));
    }
    if !request.route().is_empty() {
        return Err(error(
            404,
            "not_found",
            format!("deploy-events has no route {}", request.route()),
        ));
    }
    env.require(env::SUPABASE_DB_URL)?;
    let github_event = request.header("x-github-event");
    if github_event.is_some() {
        let secret = env.require(env::GITHUB_WEBHOOK_SECRET)?;
        signature::github(secret, &request.body, request.header("x-hub-signature-256"))
    } else {
        let secret = env.require(env::VERCEL_WEBHOOK_SECRET)?;
        signature::vercel(secret, &request.body, request.header("x-vercel-signature"))
    }
    .map_err(|e| error(401, "invalid_signature", e.to_string()))?;

    let body: Value = serde_json::from_slice(&request.body)
        .map_err(|e| error(400, "invalid_body", format!("the body is not JSON: {e}")))?;
    let parsed = match github_event {
        Some(kind) => github(kind, request.header("x-github-delivery"), &body),
        None => vercel(&body),
    };
    let event = parsed.map_err(|skip| match skip {
        Skip::Untracked(reason) => {
            Command::respond(202, json!({ "recorded": false, "reason": reason }))
        }
        Skip::Invalid(reason) => error(400, "invalid_event", reason),
    })?;
    Ok(Command::Sql {
        query: RECORD,
        params: vec![
            json!(event.provider),
            json!(event.event_id),
            json!(event.deployment_id),
            json!(event.state.as_str()),
            json!(event.occurred_at),
            json!(event.event_type),
            json!(event.project),
            json!(event.environment),
            json!(event.url),
            json!(event.commit_sha),
            json!(event.branch),
            json!(body.to_string()),
        ],
    })
}

struct Record {
    statement: Option<Command>,
}

impl Function for Record {
    fn step(&mut self, outcome: Option<Outcome>, _now_ms: i64) -> Command {
        match outcome {
            None => self
                .statement
                .take()
                .unwrap_or_else(|| error(500, "internal", "the webhook was stepped twice")),
            Some(Outcome::Rows { rows }) => {
                let recorded = rows
                    .first()
                    .and_then(|r| r.get("recorded"))
                    .cloned()
                    .unwrap_or(Value::Null);
                Command::respond(
                    200,
                    json!({
                        "recorded": true,
                        "deployment": recorded.get("deployment"),
                        "state": recorded.get("state"),
                        "replayed": recorded.get("replayed"),
                    }),
                )
            }
            Some(Outcome::SqlError { code, message }) => sql_failed(code.as_deref(), &message),
            Some(_) => error(500, "internal", "the host answered a step out of turn"),
        }
    }
}

fn text(value: &Value, path: &[&str]) -> Option<String> {
    let mut v = value;
    for key in path {
        v = v.get(key)?;
    }
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn required(value: &Value, path: &[&str]) -> Result<String, Skip> {
    text(value, path).ok_or_else(|| Skip::Invalid(format!("{} is missing", path.join("."))))
}

/// Vercel's webhook envelope `{id, type, createdAt, payload}`
/// (https://vercel.com/docs/webhooks/webhooks-api).
pub fn vercel(body: &Value) -> Result<DeployEvent, Skip> {
    let kind = required(body, &["type"])?;
    let state = match kind.as_str() {
        "deployment.created" => DeployState::Building,
        "deployment.succeeded" => DeployState::Succeeded,
        "deployment.ready" => DeployState::Ready,
        "deployment.error" => DeployState::Failed,
        "deployment.canceled" => DeployState::Canceled,
        // A rollback makes the payload's (earlier) deploy live again.
        "deployment.promoted" | "deployment.rollback" => DeployState::Promoted,
        other => {
            return Err(Skip::Untracked(format!(
                "Vercel event {other} is not tracked"
            )))
        }
    };
    // Vercel signs no timestamp: replays are recognised by the envelope id.
    let event_id = required(body, &["id"])?;
    let created_ms = body
        .get("createdAt")
        .and_then(Value::as_i64)
        .ok_or_else(|| Skip::Invalid("createdAt (milliseconds) is missing".into()))?;
    let occurred_at = DateTime::from_timestamp_millis(created_ms)
        .ok_or_else(|| Skip::Invalid(format!("createdAt {created_ms} is out of range")))?
        .to_rfc3339();
    let payload = body.get("payload").cloned().unwrap_or(Value::Null);
    let meta = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| text(&payload, &["deployment", "meta", k]))
    };
    let environment = match payload.get("target") {
        None | Some(Value::Null) => "preview".to_owned(),
        Some(target) => target.as_str().unwrap_or("preview").to_lowercase(),
    };
    Ok(DeployEvent {
        provider: "vercel",
        event_id,
        deployment_id: required(&payload, &["deployment", "id"])
            .map_err(|_| Skip::Invalid("payload.deployment.id is missing".into()))?,
        state,
        occurred_at,
        event_type: kind,
        project: text(&payload, &["deployment", "name"])
            .or_else(|| text(&payload, &["project", "id"])),
        environment,
        url: text(&payload, &["deployment", "url"]).map(|u| {
            if u.starts_with("http://") || u.starts_with("https://") {
                u
            } else {
                format!("https://{u}")
            }
        }),
        commit_sha: meta(&["githubCommitSha", "gitlabCommitSha", "bitbucketCommitSha"]),
        branch: meta(&["githubCommitRef", "gitlabCommitRef", "bitbucketCommitRef"]),
    })
}

/// GitHub's `deployment_status` and `workflow_run` events
/// (https://docs.github.com/en/webhooks/webhook-events-and-payloads).
pub fn github(kind: &str, delivery: Option<&str>, body: &Value) -> Result<DeployEvent, Skip> {
    let event_id = || {
        delivery
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| Skip::Invalid("the X-GitHub-Delivery header is missing".into()))
    };
    let project = text(body, &["repository", "full_name"]);
    match kind {
        "deployment_status" => {
            let status = required(body, &["deployment_status", "state"])?;
            let state = match status.as_str() {
                "pending" | "queued" => DeployState::Queued,
                "in_progress" => DeployState::Building,
                "success" => DeployState::Ready,
                "failure" | "error" => DeployState::Failed,
                other => {
                    return Err(Skip::Untracked(format!(
                        "deployment status {other} is not tracked"
                    )))
                }
            };
            Ok(DeployEvent {
                provider: "github",
                event_id: event_id()?,
                deployment_id: format!("deployment/{}", required(body, &["deployment", "id"])?),
                state,
                occurred_at: text(body, &["deployment_status", "created_at"])
                    .or_else(|| text(body, &["deployment_status", "updated_at"]))
                    .ok_or_else(|| {
                        Skip::Invalid("deployment_status.created_at is missing".into())
                    })?,
                event_type: format!("deployment_status.{status}"),
                project,
                environment: text(body, &["deployment_status", "environment"])
                    .or_else(|| text(body, &["deployment", "environment"]))
                    .unwrap_or_else(|| "production".into())
                    .to_lowercase(),
                url: text(body, &["deployment_status", "environment_url"])
                    .or_else(|| text(body, &["deployment_status", "target_url"])),
                commit_sha: text(body, &["deployment", "sha"]),
                branch: text(body, &["deployment", "ref"]),
            })
        }
        "workflow_run" => {
            let action = required(body, &["action"])?;
            if action != "completed" {
                return Err(Skip::Untracked(format!(
                    "workflow_run {action}: only completed runs are tracked"
                )));
            }
            let conclusion = required(body, &["workflow_run", "conclusion"])?;
            let state = match conclusion.as_str() {
                "success" => DeployState::Ready,
                "failure" | "timed_out" | "startup_failure" => DeployState::Failed,
                "cancelled" => DeployState::Canceled,
                other => {
                    return Err(Skip::Untracked(format!(
                        "workflow run conclusion {other} is not a deploy outcome"
                    )))
                }
            };
            let branch = text(body, &["workflow_run", "head_branch"]);
            // A run has no environment; a run of the default branch is
            // taken for production, any other for a preview.
            let environment =
                if branch.is_some() && branch == text(body, &["repository", "default_branch"]) {
                    "production"
                } else {
                    "preview"
                };
            Ok(DeployEvent {
                provider: "github",
                event_id: event_id()?,
                deployment_id: format!("workflow_run/{}", required(body, &["workflow_run", "id"])?),
                state,
                occurred_at: text(body, &["workflow_run", "updated_at"])
                    .or_else(|| text(body, &["workflow_run", "created_at"]))
                    .ok_or_else(|| Skip::Invalid("workflow_run.updated_at is missing".into()))?,
                event_type: format!("workflow_run.completed.{conclusion}"),
                project,
                environment: environment.to_owned(),
                url: text(body, &["workflow_run", "html_url"]),
                commit_sha: text(body, &["workflow_run", "head_sha"]),
                branch,
            })
        }
        other => Err(Skip::Untracked(format!(
            "GitHub event {other} is not tracked"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn vercel_event(kind: &str, target: Value) -> Value {
        json!({
            "id": "evt_2Xo8dJ3fV1",
            "type": kind,
            "createdAt": 1_764_493_200_000i64,
            "region": "iad1",
            "payload": {
                "team": {"id": "team_1"},
                "user": {"id": "user_1"},
                "deployment": {
                    "id": "dpl_8fGh2",
                    "name": "web",
                    "url": "web-8fgh2.vercel.app",
                    "meta": {"githubCommitSha": "3f2a9c1d0e", "githubCommitRef": "main"}
                },
                "links": {"deployment": "https://vercel.com/t/web/8fgh2"},
                "target": target,
                "project": {"id": "prj_1"}
            }
        })
    }

    #[test]
    fn vercel_events_map_to_states() {
        for (kind, state) in [
            ("deployment.created", DeployState::Building),
            ("deployment.succeeded", DeployState::Succeeded),
            ("deployment.ready", DeployState::Ready),
            ("deployment.error", DeployState::Failed),
            ("deployment.canceled", DeployState::Canceled),
            ("deployment.promoted", DeployState::Promoted),
            ("deployment.rollback", DeployState::Promoted),
        ] {
            let event = vercel(&vercel_event(kind, json!("production"))).unwrap();
            assert_eq!(event.state, state, "{kind}");
            assert_eq!(event.event_type, kind);
        }
        let event = vercel(&vercel_event("deployment.ready", json!("production"))).unwrap();
        assert_eq!(event.deployment_id, "dpl_8fGh2");
        assert_eq!(event.event_id, "evt_2Xo8dJ3fV1");
        assert_eq!(event.occurred_at, "2025-11-30T09:00:00+00:00");
        assert_eq!(event.url.as_deref(), Some("https://web-8fgh2.vercel.app"));
        assert_eq!(event.commit_sha.as_deref(), Some("3f2a9c1d0e"));
        assert_eq!(event.branch.as_deref(), Some("main"));
        assert_eq!(event.project.as_deref(), Some("web"));
    }

    #[test]
    fn vercel_environment_comes_from_the_target() {
        let env = |target| {
            vercel(&vercel_event("deployment.created", target))
                .unwrap()
                .environment
        };
        assert_eq!(env(json!("production")), "production");
        assert_eq!(env(json!("staging")), "staging");
        assert_eq!(env(Value::Null), "preview");
    }

    #[test]
    fn vercel_untracked_and_invalid_events() {
        assert!(matches!(
            vercel(&vercel_event("project.created", Value::Null)),
            Err(Skip::Untracked(_))
        ));
        let mut no_id = vercel_event("deployment.ready", Value::Null);
        no_id.as_object_mut().unwrap().remove("id");
        assert_eq!(vercel(&no_id), Err(Skip::Invalid("id is missing".into())));
        let mut no_deployment = vercel_event("deployment.ready", Value::Null);
        no_deployment["payload"]
            .as_object_mut()
            .unwrap()
            .remove("deployment");
        assert!(matches!(vercel(&no_deployment), Err(Skip::Invalid(_))));
    }

    fn deployment_status(state: &str) -> Value {
        json!({
            "action": "created",
            "deployment_status": {"id": 1, "state": state, "environment": "Production",
                                  "environment_url": "https://app.example.com",
                                  "created_at": "2026-11-30T09:00:00Z"},
            "deployment": {"id": 1234, "sha": "a1b2c3d4e5f6", "ref": "main", "environment": "production"},
            "repository": {"full_name": "octo/app", "default_branch": "main"}
        })
    }

    #[test]
    fn github_deployment_statuses() {
        for (status, state) in [
            ("pending", DeployState::Queued),
            ("queued", DeployState::Queued),
            ("in_progress", DeployState::Building),
            ("success", DeployState::Ready),
            ("failure", DeployState::Failed),
            ("error", DeployState::Failed),
        ] {
            let event =
                github("deployment_status", Some("d-1"), &deployment_status(status)).unwrap();
            assert_eq!(event.state, state, "{status}");
        }
        let event = github(
            "deployment_status",
            Some("d-1"),
            &deployment_status("success"),
        )
        .unwrap();
        assert_eq!(event.deployment_id, "deployment/1234");
        assert_eq!(event.environment, "production");
        assert_eq!(event.commit_sha.as_deref(), Some("a1b2c3d4e5f6"));
        assert_eq!(event.branch.as_deref(), Some("main"));
        assert_eq!(event.project.as_deref(), Some("octo/app"));
        assert_eq!(event.url.as_deref(), Some("https://app.example.com"));
        assert!(matches!(
            github(
                "deployment_status",
                Some("d-1"),
                &deployment_status("inactive")
            ),
            Err(Skip::Untracked(_))
        ));
        assert!(matches!(
            github("deployment_status", None, &deployment_status("success")),
            Err(Skip::Invalid(_))
        ));
    }

    fn workflow_run(action: &str, conclusion: Value, branch: &str) -> Value {
        json!({
            "action": action,
            "workflow_run": {"id": 987, "name": "deploy", "head_branch": branch, "head_sha": "ffee0011",
                             "conclusion": conclusion, "html_url": "https://github.com/octo/app/actions/runs/987",
                             "created_at": "2026-11-30T08:55:00Z", "updated_at": "2026-11-30T09:00:00Z"},
            "repository": {"full_name": "octo/app", "default_branch": "main"}
        })
    }

    #[test]
    fn github_completed_workflow_runs() {
        let event = github(
            "workflow_run",
            Some("d-2"),
            &workflow_run("completed", json!("success"), "main"),
        )
        .unwrap();
        assert_eq!(
            (event.state, event.environment.as_str()),
            (DeployState::Ready, "production")
        );
        assert_eq!(event.deployment_id, "workflow_run/987");
        let event = github(
            "workflow_run",
            Some("d-2"),
            &workflow_run("completed", json!("failure"), "feature"),
        )
        .unwrap();
        assert_eq!(
            (event.state, event.environment.as_str()),
            (DeployState::Failed, "preview")
        );
        let event = github(
            "workflow_run",
            Some("d-2"),
            &workflow_run("completed", json!("cancelled"), "main"),
        )
        .unwrap();
        assert_eq!(event.state, DeployState::Canceled);
        assert!(matches!(
            github(
                "workflow_run",
                Some("d-2"),
                &workflow_run("in_progress", Value::Null, "main")
            ),
            Err(Skip::Untracked(_))
        ));
        assert!(matches!(
            github(
                "workflow_run",
                Some("d-2"),
                &workflow_run("completed", json!("skipped"), "main")
            ),
            Err(Skip::Untracked(_))
        ));
        assert!(matches!(
            github("push", Some("d-3"), &json!({})),
            Err(Skip::Untracked(_))
        ));
    }
}
