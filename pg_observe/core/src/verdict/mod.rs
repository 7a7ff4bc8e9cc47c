//! Whether a deploy is healthy: the decision behind `observe.verify_deploy`,
//! with every fact injected (the extension gathers them in SQL). Modelled on
//! Argo Rollouts' AnalysisRun and Flagger's canary analysis: each check is
//! a measurement with a success and a failure condition, and anything in
//! between is *inconclusive*; the statistics are Kayenta's idea (the deploy
//! against a baseline) with exact small-count tests (`stats`).
//!
//! The rules, once:
//! * A check that fails fails the verdict at once, even before the window is
//!   over (a clearly broken deploy should be rolled back now, not in 15
//!   minutes); a pass needs the whole window.
//! * Nothing passes on too little evidence: with request counts, the error
//!   rate must be *shown* to be under the ceiling (its Clopper–Pearson bound)
//!   over at least `min_requests`; without them, at least `min_requests`
//!   page loads (web-vitals beacons) must show the site was used at all.
//! * A rise in the error rate fails only when significant at `significance`
//!   *and* beyond `max_error_rate_ratio`; a rise beyond the ratio that is not
//!   (yet) significant is inconclusive ("borderline"), never a pass.

pub mod stats;

use serde::Deserialize;
use serde_json::{json, Map, Value};
use thiserror::Error;

use crate::vitals_budget::{evaluate, BudgetObservation, BudgetResult, BudgetStatus};
use stats::{binomial_upper_tail, clopper_pearson_upper, poisson_rate_ratio};

#[derive(Debug, Error, PartialEq)]
pub enum VerdictError {
    #[error("invalid verification facts: {0}")]
    Facts(String),
    #[error("invalid deploy policy: {0}")]
    Policy(String),
}

/// A row of `observe.deploy_policies`. The defaults are the platform's:
/// more than 5 % of requests failing fails, and so does a p95 above 500 ms.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    pub max_error_rate: f64,
    pub max_error_rate_ratio: f64,
    pub significance: f64,
    pub min_requests: u64,
    pub max_new_issues: u64,
    pub max_regressions: u64,
    pub max_p95_ms: Option<f64>,
    pub min_latency_samples: u64,
    pub health_gate: bool,
    pub budget_gate: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_error_rate: 0.05,
            max_error_rate_ratio: 1.5,
            significance: 0.05,
            min_requests: 100,
            max_new_issues: 0,
            max_regressions: 0,
            max_p95_ms: Some(500.0),
            min_latency_samples: 20,
            health_gate: true,
            budget_gate: true,
        }
    }
}

impl Policy {
    pub fn validate(&self) -> Result<(), VerdictError> {
        let bad = |m: &str| Err(VerdictError::Policy(m.to_owned()));
        if !(self.max_error_rate > 0.0 && self.max_error_rate < 1.0) {
            return bad("max_error_rate must be between 0 and 1 (exclusive)");
        }
        if !(self.max_error_rate_ratio >= 1.0 && self.max_error_rate_ratio.is_finite()) {
            return bad("max_error_rate_ratio must be at least 1");
        }
        if !(self.significance > 0.0 && self.significance <= 0.5) {
            return bad("significance must be in (0, 0.5]");
        }
        if self.max_p95_ms.is_some_and(|p| !(p > 0.0 && p.is_finite())) {
            return bad("max_p95_ms must be positive");
        }
        Ok(())
    }
}

/// What happened in one window of time.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Window {
    pub seconds: f64,
    /// Captured error events (exact counts, not the sampled rows).
    pub error_events: u64,
    /// Requests middleware reported; `None` when none were recorded.
    pub requests: Option<u64>,
    /// Of those, the failed ones (5xx), when reported.
    pub failed_requests: Option<u64>,
    /// Page loads seen through web-vitals beacons.
    pub page_loads: u64,
    pub latency_p95_ms: Option<f64>,
    pub latency_samples: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueFact {
    pub id: i64,
    pub title: String,
    #[serde(default)]
    pub level: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthFact {
    pub name: String,
    /// Down now, or went down at some point in the window.
    pub down_now: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    /// Seconds of the window that have passed (at most the window).
    pub elapsed_seconds: f64,
    pub window_seconds: f64,
    pub after: Window,
    pub before: Window,
    /// The previous deploy of the environment, over its own first window.
    #[serde(default)]
    pub previous: Option<PreviousDeploy>,
    #[serde(default)]
    pub new_issues: Vec<IssueFact>,
    #[serde(default)]
    pub regressions: Vec<IssueFact>,
    /// Checks of the environment, with whether each was down.
    #[serde(default)]
    pub health_checks: Vec<HealthFact>,
    /// Budgets of the environment with the p75 of each page since the deploy.
    #[serde(default)]
    pub budgets: Vec<BudgetObservation>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousDeploy {
    pub deployment_id: String,
    pub window: Window,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Pass,
    Inconclusive,
    Fail,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Inconclusive => "inconclusive",
            Outcome::Fail => "fail",
        }
    }
}

/// One check's result. `Warn` and `Skipped` never change the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Warn,
    Skipped,
    Inconclusive,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Skipped => "skipped",
            Status::Inconclusive => "inconclusive",
            Status::Fail => "fail",
        }
    }

    fn outcome(self) -> Outcome {
        match self {
            Status::Fail => Outcome::Fail,
            Status::Inconclusive => Outcome::Inconclusive,
            Status::Pass | Status::Warn | Status::Skipped => Outcome::Pass,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub check: &'static str,
    pub status: Status,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub outcome: Outcome,
    pub reasons: Vec<Reason>,
    pub metrics: Value,
}

impl Verdict {
    /// `{verdict, reasons: [{check, status, message}], metrics}`.
    pub fn to_json(&self) -> Value {
        json!({
            "verdict": self.outcome.as_str(),
            "reasons": self.reasons.iter().map(|r| json!({
                "check": r.check, "status": r.status.as_str(), "message": r.message,
            })).collect::<Vec<_>>(),
            "metrics": self.metrics,
        })
    }
}

/// `observe.deploy_verdict(facts, policy)`: JSON in, JSON out.
pub fn decide_json(facts: &Value, policy: &Value) -> Result<Value, VerdictError> {
    let facts: Facts =
        serde_json::from_value(facts.clone()).map_err(|e| VerdictError::Facts(e.to_string()))?;
    let policy: Policy =
        serde_json::from_value(policy.clone()).map_err(|e| VerdictError::Policy(e.to_string()))?;
    policy.validate()?;
    Ok(decide(&facts, &policy).to_json())
}

pub fn decide(facts: &Facts, policy: &Policy) -> Verdict {
    let mut reasons = Vec::new();
    let mut metrics = Map::new();
    let complete = facts.elapsed_seconds >= facts.window_seconds;
    let alpha = policy.significance;

    reasons.push(traffic(&facts.after, policy));
    reasons.push(error_rate(&facts.after, policy, &mut metrics));
    reasons.push(compare(
        "errors_vs_before",
        "the window before the deploy",
        &facts.after,
        &facts.before,
        policy,
        &mut metrics,
    ));
    match &facts.previous {
        Some(prev) => reasons.push(compare(
            "errors_vs_previous",
            &format!("the previous deploy {}", prev.deployment_id),
            &facts.after,
            &prev.window,
            policy,
            &mut metrics,
        )),
        None => reasons.push(Reason {
            check: "errors_vs_previous",
            status: Status::Skipped,
            message: "no previous deploy in this environment to compare with".into(),
        }),
    }
    reasons.push(count_gate(
        "new_issues",
        "new issue",
        &facts.new_issues,
        policy.max_new_issues,
    ));
    reasons.push(count_gate(
        "regressions",
        "regression",
        &facts.regressions,
        policy.max_regressions,
    ));
    reasons.push(health(&facts.health_checks, policy));
    reasons.push(latency(&facts.after, policy));
    let budget_results: Vec<BudgetResult> = facts.budgets.iter().map(evaluate).collect();
    reasons.push(budgets(&budget_results, policy));

    let mut outcome = reasons
        .iter()
        .map(|r| r.status.outcome())
        .max()
        .unwrap_or(Outcome::Pass);
    if !complete && outcome != Outcome::Fail {
        let remaining = (facts.window_seconds - facts.elapsed_seconds).max(0.0);
        reasons.insert(
            0,
            Reason {
                check: "window",
                status: Status::Inconclusive,
                message: format!(
                    "the window is not over: {} of {} elapsed, {} to go",
                    human_seconds(facts.elapsed_seconds),
                    human_seconds(facts.window_seconds),
                    human_seconds(remaining)
                ),
            },
        );
        outcome = Outcome::Inconclusive;
    }

    metrics.insert("complete".into(), json!(complete));
    metrics.insert("significance".into(), json!(alpha));
    metrics.insert("window_seconds".into(), json!(facts.window_seconds));
    metrics.insert("elapsed_seconds".into(), json!(facts.elapsed_seconds));
    metrics.insert("after".into(), window_json(&facts.after));
    metrics.insert("before".into(), window_json(&facts.before));
    metrics.insert(
        "previous".into(),
        facts.previous.as_ref().map_or(
            Value::Null,
            |p| json!({"deployment_id": p.deployment_id, "window": window_json(&p.window)}),
        ),
    );
    metrics.insert(
        "new_issues".into(),
        json!(facts.new_issues.iter().map(issue_json).collect::<Vec<_>>()),
    );
    metrics.insert(
        "regressions".into(),
        json!(facts.regressions.iter().map(issue_json).collect::<Vec<_>>()),
    );
    metrics.insert(
        "health_down".into(),
        json!(facts
            .health_checks
            .iter()
            .filter(|h| h.down_now)
            .map(|h| h.name.clone())
            .collect::<Vec<_>>()),
    );
    metrics.insert(
        "budgets".into(),
        json!(budget_results
            .iter()
            .map(BudgetResult::to_json)
            .collect::<Vec<_>>()),
    );
    Verdict {
        outcome,
        reasons,
        metrics: Value::Object(metrics),
    }
}

fn traffic(after: &Window, policy: &Policy) -> Reason {
    let (seen, what) = match after.requests {
        Some(n) => (n, "requests"),
        None => (after.page_loads, "page loads (no request counts recorded)"),
    };
    if seen >= policy.min_requests {
        Reason {
            check: "traffic",
            status: Status::Pass,
            message: format!("{seen} {what} after the deploy"),
        }
    } else {
        Reason {
            check: "traffic",
            status: Status::Inconclusive,
            message: format!(
                "too little traffic: {seen} {what} after the deploy, the policy needs {}",
                policy.min_requests
            ),
        }
    }
}

/// The failed share of requests against the policy's ceiling; needs
/// request counts.
fn error_rate(after: &Window, policy: &Policy, metrics: &mut Map<String, Value>) -> Reason {
    let check = "error_rate";
    let Some(n) = after.requests.filter(|&n| n > 0) else {
        return Reason {
            check,
            status: Status::Skipped,
            message:
                "no request counts recorded after the deploy: the error rate has no denominator"
                    .into(),
        };
    };
    // Failed requests when middleware reports them, else the error events,
    // which cannot outnumber the requests that caused them.
    let x = after.failed_requests.unwrap_or(after.error_events).min(n);
    let rate = x as f64 / n as f64;
    let p = binomial_upper_tail(x, n, policy.max_error_rate);
    let upper = clopper_pearson_upper(x, n, policy.significance);
    metrics.insert(
        "error_rate".into(),
        json!({"failed": x, "requests": n, "rate": rate, "upper_bound": upper, "p_value": p}),
    );
    let max = percent(policy.max_error_rate);
    if p < policy.significance {
        Reason {
            check,
            status: Status::Fail,
            message: format!(
                "error rate {} ({x} of {n} requests) is above {max} (p = {})",
                percent(rate),
                p_fmt(p)
            ),
        }
    } else if upper <= policy.max_error_rate {
        Reason {
            check,
            status: Status::Pass,
            message: format!(
                "error rate {} ({x} of {n} requests), at most {} at {} confidence, within {max}",
                percent(rate),
                percent(upper),
                percent(1.0 - policy.significance)
            ),
        }
    } else {
        Reason {
            check,
            status: Status::Inconclusive,
            message: format!(
                "error rate {} ({x} of {n} requests): too few requests to show it is within {max} (it may be up to {})",
                percent(rate),
                percent(upper)
            ),
        }
    }
}

/// Error events per request (or per second without request counts on both
/// sides) after the deploy against a baseline window.
fn compare(
    check: &'static str,
    baseline: &str,
    after: &Window,
    base: &Window,
    policy: &Policy,
    metrics: &mut Map<String, Value>,
) -> Reason {
    let (ea, eb, unit) = match (after.requests, base.requests) {
        (Some(a), Some(b)) if a > 0 && b > 0 => (a as f64, b as f64, "per request"),
        _ => (after.seconds, base.seconds, "per minute"),
    };
    if eb <= 0.0 || ea <= 0.0 {
        return Reason {
            check,
            status: Status::Skipped,
            message: format!("{baseline} has no exposure to compare with"),
        };
    }
    let r = poisson_rate_ratio(
        after.error_events,
        ea,
        base.error_events,
        eb,
        policy.max_error_rate_ratio,
    );
    metrics.insert(
        check.into(),
        json!({
            "after": after.error_events, "baseline": base.error_events, "unit": unit,
            "ratio": r.ratio.map(|x| if x.is_finite() { json!(x) } else { json!("infinity") }),
            "p_value": r.p_value,
        }),
    );
    let rates = format!(
        "{} error events after vs {} in {baseline}",
        after.error_events, base.error_events
    );
    let ratio_text = |x: f64| {
        if x.is_finite() {
            format!("{x:.2}×")
        } else {
            "from none".into()
        }
    };
    match r.ratio {
        None => Reason {
            check,
            status: Status::Pass,
            message: format!("no error events after the deploy nor in {baseline}"),
        },
        Some(ratio) if r.p_value < policy.significance => Reason {
            check,
            status: Status::Fail,
            message: format!(
                "errors {unit} rose {} ({rates}), beyond the tolerated {:.2}× (p = {})",
                ratio_text(ratio),
                policy.max_error_rate_ratio,
                p_fmt(r.p_value)
            ),
        },
        Some(ratio) if ratio > policy.max_error_rate_ratio => Reason {
            check,
            status: Status::Inconclusive,
            message: format!(
                "errors {unit} rose {} ({rates}), beyond the tolerated {:.2}× but not significantly yet (p = {})",
                ratio_text(ratio),
                policy.max_error_rate_ratio,
                p_fmt(r.p_value)
            ),
        },
        Some(ratio) => Reason {
            check,
            status: Status::Pass,
            message: format!("errors {unit} {} ({rates})", ratio_text(ratio)),
        },
    }
}

fn count_gate(check: &'static str, noun: &str, issues: &[IssueFact], max: u64) -> Reason {
    let n = issues.len() as u64;
    let counted_issues = counted(issues.len(), noun);
    let named = issues
        .iter()
        .take(5)
        .map(|i| format!("#{} {}", i.id, i.title.chars().take(80).collect::<String>()))
        .collect::<Vec<_>>()
        .join("; ");
    if n > max {
        Reason {
            check,
            status: Status::Fail,
            message: format!("{counted_issues} since the deploy (at most {max}): {named}"),
        }
    } else if n > 0 {
        Reason {
            check,
            status: Status::Warn,
            message: format!("{counted_issues} since the deploy, within {max}: {named}"),
        }
    } else {
        Reason {
            check,
            status: Status::Pass,
            message: format!("no {noun}s since the deploy"),
        }
    }
}

fn health(checks: &[HealthFact], policy: &Policy) -> Reason {
    let check = "health";
    if checks.is_empty() {
        return Reason {
            check,
            status: Status::Skipped,
            message: "no health checks in this environment".into(),
        };
    }
    let down: Vec<&str> = checks
        .iter()
        .filter(|h| h.down_now)
        .map(|h| h.name.as_str())
        .collect();
    if down.is_empty() {
        return Reason {
            check,
            status: Status::Pass,
            message: format!("{} up throughout", counted(checks.len(), "health check")),
        };
    }
    let message = format!(
        "{} of {} health checks down since the deploy: {}",
        down.len(),
        checks.len(),
        down.join(", ")
    );
    Reason {
        check,
        status: if policy.health_gate {
            Status::Fail
        } else {
            Status::Warn
        },
        message,
    }
}

fn latency(after: &Window, policy: &Policy) -> Reason {
    let check = "latency";
    let Some(max) = policy.max_p95_ms else {
        return Reason {
            check,
            status: Status::Skipped,
            message: "the policy sets no latency limit".into(),
        };
    };
    match after.latency_p95_ms {
        Some(p95) if after.latency_samples >= policy.min_latency_samples => {
            if p95 > max {
                Reason {
                    check,
                    status: Status::Fail,
                    message: format!(
                        "p95 latency {p95:.0} ms over {} requests is above {max:.0} ms",
                        after.latency_samples
                    ),
                }
            } else {
                Reason {
                    check,
                    status: Status::Pass,
                    message: format!(
                        "p95 latency {p95:.0} ms over {} requests, within {max:.0} ms",
                        after.latency_samples
                    ),
                }
            }
        }
        _ if after.latency_samples > 0 => Reason {
            check,
            status: Status::Skipped,
            message: format!(
                "{} latency samples, fewer than the {} a p95 needs",
                after.latency_samples, policy.min_latency_samples
            ),
        },
        _ => Reason {
            check,
            status: Status::Skipped,
            message: "no latency recorded (observe.record_latencies)".into(),
        },
    }
}

fn budgets(results: &[BudgetResult], policy: &Policy) -> Reason {
    let check = "budgets";
    let measured: Vec<&BudgetResult> = results
        .iter()
        .filter(|r| r.status != BudgetStatus::NoData)
        .collect();
    if measured.is_empty() {
        return Reason {
            check,
            status: Status::Skipped,
            message: if results.is_empty() {
                "no web-vitals budgets for this environment".into()
            } else {
                format!(
                    "{}, none with enough web-vitals samples since the deploy",
                    counted(results.len(), "budget")
                )
            },
        };
    }
    let failed: Vec<String> = measured
        .iter()
        .filter(|r| r.status == BudgetStatus::Fail)
        .map(|r| r.summary())
        .collect();
    let warned: Vec<String> = measured
        .iter()
        .filter(|r| r.status == BudgetStatus::Warn)
        .map(|r| r.summary())
        .collect();
    if !failed.is_empty() {
        Reason {
            check,
            status: if policy.budget_gate {
                Status::Fail
            } else {
                Status::Warn
            },
            message: format!("over budget: {}", failed.join("; ")),
        }
    } else if !warned.is_empty() {
        Reason {
            check,
            status: Status::Warn,
            message: format!("over a warning budget: {}", warned.join("; ")),
        }
    } else {
        Reason {
            check,
            status: Status::Pass,
            message: format!("{} met", counted(measured.len(), "budget")),
        }
    }
}

fn window_json(w: &Window) -> Value {
    json!({
        "seconds": w.seconds, "error_events": w.error_events, "requests": w.requests,
        "failed_requests": w.failed_requests, "page_loads": w.page_loads,
        "latency_p95_ms": w.latency_p95_ms, "latency_samples": w.latency_samples,
    })
}

fn issue_json(i: &IssueFact) -> Value {
    json!({"id": i.id, "title": i.title, "level": i.level})
}

fn percent(x: f64) -> String {
    let p = x * 100.0;
    if p != 0.0 && p < 0.1 {
        format!("{p:.3} %")
    } else {
        format!("{p:.1} %")
    }
}

fn p_fmt(p: f64) -> String {
    if p < 0.0001 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

pub fn human_seconds(s: f64) -> String {
    let s = s.round() as i64;
    match s {
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests;

/// "1 budget", "2 budgets": reasons are read by people.
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
