//! `pg-observe deploy record | verify | rollback | promote`.

use std::process::Command;
use std::time::{Duration, Instant};

use postgres::Client;
use serde_json::{json, Value};

use crate::db;
use crate::error::{CliError, Outcome};
use crate::output::{interval, table, upper};
use crate::vercel::{answers, Vercel};

pub struct Record {
    pub id: String,
    pub environment: String,
    pub commit: String,
    pub url: Option<String>,
    pub project: Option<String>,
    pub branch: Option<String>,
    pub provider: String,
    pub state: String,
    pub commit_time: Option<String>,
}

/// The commit's time from git, when the commit is in the repository here.
fn git_commit_time(commit: &str) -> Option<String> {
    let out = Command::new("git")
        .args(["show", "-s", "--format=%cI", commit])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

pub fn record(r: &Record, as_json: bool) -> Result<i32, CliError> {
    let commit_time = r.commit_time.clone().or_else(|| git_commit_time(&r.commit));
    let mut client = db::connect()?;
    let result = db::json(
        &mut client,
        "select observe.record_deploy(deployment_id => $1, environment => $2, commit_sha => $3, url => $4,
                state => $5, committed_at => $6::text::timestamptz, provider => $7, project => $8, branch => $9)",
        &[
            &r.id,
            &r.environment,
            &r.commit,
            &r.url,
            &r.state,
            &commit_time,
            &r.provider,
            &r.project,
            &r.branch,
        ],
    )?;
    if as_json {
        println!("{result}");
    } else {
        println!(
            "recorded deploy {} ({}, {}, commit {}{}){}",
            r.id,
            r.environment,
            result["state"].as_str().unwrap_or("?"),
            r.commit,
            commit_time.map(|t| format!(" of {t}")).unwrap_or_default(),
            if result["replayed"] == true {
                ": already recorded"
            } else {
                ""
            }
        );
    }
    Ok(0)
}

pub struct Verify {
    pub id: String,
    pub window: Duration,
    pub wait: bool,
    pub inconclusive_ok: bool,
    pub poll: Duration,
    pub timeout: Option<Duration>,
}

fn verify_once(client: &mut Client, id: &str, window: Duration) -> Result<Value, CliError> {
    db::json(
        client,
        "select observe.verify_deploy($1, $2::text::interval)",
        &[&id, &interval(window)],
    )
}

/// Runs the verification, polling with `--wait` until the verdict is final
/// (the window is over or the deploy failed).
pub fn verify_value(v: &Verify) -> Result<Value, CliError> {
    let mut client = db::connect()?;
    let started = Instant::now();
    // Long enough for a deploy that is still building plus its window.
    let timeout = v.timeout.unwrap_or(v.window + Duration::from_secs(600));
    loop {
        let waited = started.elapsed();
        match verify_once(&mut client, &v.id, v.window) {
            Ok(result) => {
                let final_ =
                    result["verdict"] != "inconclusive" || result["metrics"]["complete"] == true;
                if final_ || !v.wait || waited >= timeout {
                    return Ok(result);
                }
                let m = &result["metrics"];
                let elapsed = m["elapsed_seconds"].as_f64().unwrap_or(0.0);
                let total = m["window_seconds"].as_f64().unwrap_or(0.0);
                let after = &m["after"];
                eprintln!(
                    "pg-observe: {} {}/{} of the window: {} error events, {} requests, {} page loads so far",
                    v.id,
                    pg_observe_core::verdict::human_seconds(elapsed),
                    pg_observe_core::verdict::human_seconds(total),
                    after["error_events"],
                    after["requests"].as_u64().map_or("no".into(), |n| n.to_string()),
                    after["page_loads"]
                );
                let remaining = Duration::from_secs_f64((total - elapsed).max(1.0));
                std::thread::sleep(v.poll.min(remaining));
            }
            // Waiting, a deploy may still be building or not yet reported.
            Err(CliError::Db { sqlstate, message })
                if v.wait && (sqlstate == "55000" || sqlstate == "P0002") && waited < timeout =>
            {
                eprintln!("pg-observe: waiting: {message}");
                std::thread::sleep(v.poll);
            }
            Err(e) => return Err(e),
        }
    }
}

pub fn print_verdict(result: &Value) {
    let m = &result["metrics"];
    println!(
        "verdict: {} for {} ({}, window {} from {})",
        upper(result["verdict"].as_str().unwrap_or("?")),
        result["deployment_id"].as_str().unwrap_or("?"),
        result["environment"].as_str().unwrap_or("?"),
        pg_observe_core::verdict::human_seconds(m["window_seconds"].as_f64().unwrap_or(0.0)),
        result["window"]["start"].as_str().unwrap_or("?"),
    );
    let rows: Vec<Vec<String>> = result["reasons"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    vec![
                        r["check"].as_str().unwrap_or("").to_owned(),
                        r["status"].as_str().unwrap_or("").to_owned(),
                        r["message"].as_str().unwrap_or("").to_owned(),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    print!("{}", table(&["CHECK", "STATUS", "DETAIL"], &rows));
    if result["notification_id"].is_string() {
        println!(
            "alert queued: notification {}",
            result["notification_id"].as_str().unwrap_or("")
        );
    }
}

pub fn verify(v: &Verify, as_json: bool) -> Result<i32, CliError> {
    let result = verify_value(v)?;
    if as_json {
        println!("{result}");
    } else {
        print_verdict(&result);
    }
    Ok(Outcome::parse(result["verdict"].as_str().unwrap_or("")).exit_code(v.inconclusive_ok))
}

pub struct Switch {
    pub id: Option<String>,
    pub environment: String,
    pub reason: Option<String>,
    pub url: Option<String>,
    pub force: bool,
    pub timeout: Duration,
}

/// The latest stored verdict of a deploy, if any.
fn latest_verdict(client: &mut Client, id: &str) -> Result<Option<String>, CliError> {
    let rows = client.query(
        "select verdict from observe.deploy_status where deployment_id = $1 order by id desc limit 1",
        &[&id],
    )?;
    match rows.first() {
        None => Err(CliError::NotFound(format!(
            "deploy {id} is not recorded in pg_observe (pg-observe deploy record, or the deploy-events webhook)"
        ))),
        Some(r) => Ok(r.get(0)),
    }
}

/// Vercel must know the deploy and have it ready before traffic moves to it.
fn ensure_ready(vercel: &Vercel, id: &str) -> Result<Value, CliError> {
    let d = vercel.deployment(id)?;
    let state = d["readyState"].as_str().unwrap_or("UNKNOWN");
    if state != "READY" {
        return Err(CliError::Refused(format!(
            "Vercel reports deploy {id} as {state}, not READY: refusing to send traffic to it"
        )));
    }
    Ok(d)
}

/// Waits until the project's production target is `id` (promotions may be
/// accepted with 202 and completed later), then until the site answers.
fn wait_live(
    vercel: &Vercel,
    id: &str,
    deployment: &Value,
    s: &Switch,
) -> Result<String, CliError> {
    let start = Instant::now();
    loop {
        match vercel.production_deployment()? {
            Some(live) if live == id => break,
            other if start.elapsed() >= s.timeout => {
                return Err(CliError::Refused(format!(
                    "Vercel accepted the switch but production still serves {} after {}s",
                    other.unwrap_or_else(|| "nothing".into()),
                    s.timeout.as_secs()
                )))
            }
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    }
    let url = s
        .url
        .clone()
        .or_else(|| deployment["url"].as_str().map(|u| format!("https://{u}")))
        .ok_or_else(|| {
            CliError::Usage("no --url given and Vercel reports no deployment URL".into())
        })?;
    match answers(&url, s.timeout.saturating_sub(start.elapsed())) {
        Ok(status) => Ok(format!("{url} answers {status}")),
        Err(last) => Err(CliError::Refused(format!(
            "production now points at {id}, but {url} does not answer ({last})"
        ))),
    }
}

pub fn rollback(s: &Switch, as_json: bool) -> Result<i32, CliError> {
    let mut client = db::connect()?;
    let vercel = Vercel::from_env()?;
    let from: Option<String> = client
        .query(
            "select deployment_id from observe.live_deploy($1)",
            &[&s.environment],
        )?
        .first()
        .map(|r| r.get(0));
    let target = match &s.id {
        Some(to) => {
            let verdict = latest_verdict(&mut client, to)?;
            if verdict.as_deref() != Some("pass") && !s.force {
                return Err(CliError::Refused(format!(
                    "deploy {to} has no passing verification ({}); pass --force to roll back to it anyway",
                    verdict.unwrap_or_else(|| "never verified".into())
                )));
            }
            to.clone()
        }
        None => client
            .query(
                "select deployment_id from observe.rollback_target($1, $2)",
                &[&s.environment, &from],
            )?
            .first()
            .map(|r| r.get(0))
            .ok_or_else(|| {
                CliError::Refused(format!(
                    "no healthy deploy to roll back to: no {} deploy other than {} has a passing verification",
                    s.environment,
                    from.as_deref().unwrap_or("the live one")
                ))
            })?,
    };
    if from.as_deref() == Some(target.as_str()) {
        return Err(CliError::Refused(format!(
            "{target} is already the live {} deploy",
            s.environment
        )));
    }
    let deployment = ensure_ready(&vercel, &target)?;
    let reason = s.reason.clone().unwrap_or_else(|| {
        format!(
            "pg-observe: {} failed verification",
            from.as_deref().unwrap_or("the live deploy")
        )
    });
    let started = Instant::now();
    vercel.rollback(&target, &reason)?;
    client.execute(
        "select observe.record_rollback(to_deployment_id => $1, from_deployment_id => $2, reason => $3)",
        &[&target, &from, &reason],
    )?;
    let answered = wait_live(&vercel, &target, &deployment, s)?;
    let took = started.elapsed().as_secs_f64();
    if as_json {
        println!(
            "{}",
            json!({"rolled_back_to": target, "from": from, "reason": reason, "live_after_seconds": took, "check": answered})
        );
    } else {
        println!(
            "rolled back {} from {} to {target} in {took:.1}s; {answered}",
            s.environment,
            from.as_deref().unwrap_or("(unknown)")
        );
    }
    Ok(0)
}

pub fn promote(s: &Switch, as_json: bool) -> Result<i32, CliError> {
    let id =
        s.id.clone()
            .ok_or_else(|| CliError::Usage("promote needs --id".into()))?;
    let mut client = db::connect()?;
    let vercel = Vercel::from_env()?;
    let verdict = latest_verdict(&mut client, &id)?;
    if verdict.as_deref() != Some("pass") && !s.force {
        return Err(CliError::Refused(format!(
            "deploy {id} has no passing verification ({}): verify it first (pg-observe deploy verify --id {id} --wait) or pass --force",
            verdict.unwrap_or_else(|| "never verified".into())
        )));
    }
    let deployment = ensure_ready(&vercel, &id)?;
    let started = Instant::now();
    let status = vercel.promote(&id)?;
    let answered = wait_live(&vercel, &id, &deployment, s)?;
    client.execute(
        "select observe.record_deploy(deployment_id => $1, environment => $2, state => 'promoted',
                url => $3, provider => coalesce((select provider from observe.deployments
                                                  where deployment_id = $1 limit 1), 'vercel'))",
        &[&id, &s.environment, &deployment["url"].as_str()],
    )?;
    let took = started.elapsed().as_secs_f64();
    if as_json {
        println!(
            "{}",
            json!({"promoted": id, "environment": s.environment, "vercel_status": status,
                   "live_after_seconds": took, "check": answered})
        );
    } else {
        println!(
            "promoted {id} to {} in {took:.1}s; {answered}",
            s.environment
        );
    }
    Ok(0)
}
