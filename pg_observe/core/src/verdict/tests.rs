//! The verdict on the fixtures the issue names: healthy, clearly broken,
//! borderline, too little traffic, new issue only, budget breach.

use super::*;
use crate::vitals_budget::{Level, PageP75};

fn window(requests: Option<u64>, failed: Option<u64>, errors: u64) -> Window {
    Window {
        seconds: 900.0,
        error_events: errors,
        requests,
        failed_requests: failed,
        page_loads: 0,
        latency_p95_ms: None,
        latency_samples: 0,
    }
}

fn facts(after: Window, before: Window) -> Facts {
    Facts {
        elapsed_seconds: 900.0,
        window_seconds: 900.0,
        after,
        before,
        previous: None,
        new_issues: vec![],
        regressions: vec![],
        health_checks: vec![],
        budgets: vec![],
    }
}

fn status(v: &Verdict, check: &str) -> Status {
    v.reasons
        .iter()
        .find(|r| r.check == check)
        .unwrap_or_else(|| panic!("no {check} in {v:?}"))
        .status
}

#[test]
fn healthy_deploy_passes() {
    // 15,000 requests (1000 a minute), 0.2 % failing, as before.
    let v = decide(
        &facts(
            window(Some(15_000), Some(30), 30),
            window(Some(15_000), Some(28), 28),
        ),
        &Policy::default(),
    );
    assert_eq!(v.outcome, Outcome::Pass, "{:#?}", v.reasons);
    assert_eq!(status(&v, "error_rate"), Status::Pass);
    assert_eq!(status(&v, "errors_vs_before"), Status::Pass);
}

#[test]
fn clearly_broken_deploy_fails_even_before_the_window_ends() {
    let mut f = facts(
        window(Some(3_000), Some(600), 600),
        window(Some(15_000), Some(20), 20),
    );
    f.elapsed_seconds = 180.0;
    let v = decide(&f, &Policy::default());
    assert_eq!(v.outcome, Outcome::Fail);
    assert_eq!(status(&v, "error_rate"), Status::Fail);
    assert_eq!(status(&v, "errors_vs_before"), Status::Fail);
    let msg = &v
        .reasons
        .iter()
        .find(|r| r.check == "error_rate")
        .unwrap()
        .message;
    assert!(
        msg.contains("20.0 %") && msg.contains("above 5.0 %"),
        "{msg}"
    );
}

#[test]
fn borderline_rise_is_inconclusive_not_pass_nor_fail() {
    // Twice the errors of the baseline, but 8 against 4: not significant.
    let v = decide(
        &facts(
            window(Some(10_000), Some(8), 8),
            window(Some(10_000), Some(4), 4),
        ),
        &Policy::default(),
    );
    assert_eq!(
        status(&v, "errors_vs_before"),
        Status::Inconclusive,
        "{:#?}",
        v.reasons
    );
    assert_eq!(status(&v, "error_rate"), Status::Pass);
    assert_eq!(v.outcome, Outcome::Inconclusive);
}

#[test]
fn error_rate_just_under_the_ceiling_with_few_requests_is_inconclusive() {
    // 4 % of 200 requests could be 7 %: not shown to be within 5 %.
    let v = decide(
        &facts(window(Some(200), Some(8), 8), window(Some(200), Some(8), 8)),
        &Policy::default(),
    );
    assert_eq!(status(&v, "error_rate"), Status::Inconclusive);
    assert_eq!(v.outcome, Outcome::Inconclusive);
}

#[test]
fn too_little_traffic_is_never_a_pass() {
    // Not one error, but only 12 requests.
    let v = decide(
        &facts(window(Some(12), Some(0), 0), window(Some(15), Some(0), 0)),
        &Policy::default(),
    );
    assert_eq!(v.outcome, Outcome::Inconclusive);
    assert_eq!(status(&v, "traffic"), Status::Inconclusive);
    // Without request counts and without page loads, nothing shows use.
    let v = decide(
        &facts(window(None, None, 0), window(None, None, 0)),
        &Policy::default(),
    );
    assert_eq!(v.outcome, Outcome::Inconclusive);
    assert_eq!(status(&v, "error_rate"), Status::Skipped);
}

#[test]
fn page_loads_stand_in_for_traffic_without_request_counts() {
    let mut after = window(None, None, 1);
    after.page_loads = 400;
    let v = decide(&facts(after, window(None, None, 2)), &Policy::default());
    assert_eq!(v.outcome, Outcome::Pass, "{:#?}", v.reasons);
    // Events per minute compared without a denominator: 30 against 2 fails.
    let mut after = window(None, None, 30);
    after.page_loads = 400;
    let v = decide(&facts(after, window(None, None, 2)), &Policy::default());
    assert_eq!(v.outcome, Outcome::Fail);
    assert!(
        v.reasons[2].message.contains("per minute"),
        "{:#?}",
        v.reasons
    );
}

#[test]
fn a_new_issue_alone_fails_the_default_policy() {
    let mut f = facts(
        window(Some(15_000), Some(10), 10),
        window(Some(15_000), Some(10), 10),
    );
    f.new_issues = vec![IssueFact {
        id: 42,
        title: "TypeError: cart is undefined".into(),
        level: Some("error".into()),
    }];
    let v = decide(&f, &Policy::default());
    assert_eq!(v.outcome, Outcome::Fail);
    assert_eq!(status(&v, "new_issues"), Status::Fail);
    assert_eq!(status(&v, "error_rate"), Status::Pass);
    // A policy tolerating one new issue only warns.
    let v = decide(
        &f,
        &Policy {
            max_new_issues: 1,
            ..Policy::default()
        },
    );
    assert_eq!(v.outcome, Outcome::Pass);
    assert_eq!(status(&v, "new_issues"), Status::Warn);
}

#[test]
fn a_budget_breach_fails_at_error_level_and_warns_at_warn() {
    let mut f = facts(
        window(Some(15_000), Some(10), 10),
        window(Some(15_000), Some(10), 10),
    );
    let budget = |level| BudgetObservation {
        id: 7,
        metric: "LCP".into(),
        page_pattern: None,
        environment: Some("production".into()),
        threshold: 2500.0,
        level,
        min_samples: 5,
        pages: vec![PageP75 {
            page: "https://shop.example.com/".into(),
            p75: 4100.0,
            samples: 60,
        }],
    };
    f.budgets = vec![budget(Level::Error)];
    let v = decide(&f, &Policy::default());
    assert_eq!(v.outcome, Outcome::Fail);
    assert!(v
        .reasons
        .iter()
        .any(|r| r.check == "budgets" && r.message.contains("4100 ms")));
    f.budgets = vec![budget(Level::Warn)];
    assert_eq!(decide(&f, &Policy::default()).outcome, Outcome::Pass);
    // Without the budget gate an error budget only warns.
    f.budgets = vec![budget(Level::Error)];
    let v = decide(
        &f,
        &Policy {
            budget_gate: false,
            ..Policy::default()
        },
    );
    assert_eq!(v.outcome, Outcome::Pass);
}

#[test]
fn latency_fails_above_the_p95_ceiling_when_recorded() {
    let mut after = window(Some(15_000), Some(10), 10);
    after.latency_p95_ms = Some(730.0);
    after.latency_samples = 15_000;
    let v = decide(
        &facts(after.clone(), window(Some(15_000), Some(10), 10)),
        &Policy::default(),
    );
    assert_eq!(status(&v, "latency"), Status::Fail);
    after.latency_samples = 3;
    let v = decide(
        &facts(after, window(Some(15_000), Some(10), 10)),
        &Policy::default(),
    );
    assert_eq!(status(&v, "latency"), Status::Skipped);
    assert_eq!(v.outcome, Outcome::Pass);
}

#[test]
fn a_health_check_down_fails() {
    let mut f = facts(
        window(Some(15_000), Some(10), 10),
        window(Some(15_000), Some(10), 10),
    );
    f.health_checks = vec![
        HealthFact {
            name: "api".into(),
            down_now: true,
        },
        HealthFact {
            name: "web".into(),
            down_now: false,
        },
    ];
    let v = decide(&f, &Policy::default());
    assert_eq!(v.outcome, Outcome::Fail);
    assert!(v
        .reasons
        .iter()
        .any(|r| r.message.contains("1 of 2 health checks down")));
}

#[test]
fn reasons_count_in_words() {
    let mut f = facts(
        window(Some(15_000), Some(10), 10),
        window(Some(15_000), Some(10), 10),
    );
    let up = |name: &str| HealthFact {
        name: name.into(),
        down_now: false,
    };
    f.health_checks = vec![up("api")];
    let v = decide(&f, &Policy::default());
    assert!(
        v.reasons
            .iter()
            .any(|r| r.message == "1 health check up throughout"),
        "{:?}",
        v.reasons
    );
    f.health_checks = vec![up("api"), up("web")];
    let v = decide(&f, &Policy::default());
    assert!(
        v.reasons
            .iter()
            .any(|r| r.message == "2 health checks up throughout"),
        "{:?}",
        v.reasons
    );
}

#[test]
fn an_unfinished_window_never_passes() {
    let mut f = facts(
        window(Some(15_000), Some(10), 10),
        window(Some(15_000), Some(10), 10),
    );
    f.elapsed_seconds = 300.0;
    let v = decide(&f, &Policy::default());
    assert_eq!(v.outcome, Outcome::Inconclusive);
    assert_eq!(v.reasons[0].check, "window");
    assert!(
        v.reasons[0].message.contains("10m00s to go"),
        "{}",
        v.reasons[0].message
    );
}

#[test]
fn worse_than_the_previous_deploy_fails() {
    let mut f = facts(
        window(Some(15_000), Some(200), 200),
        window(Some(15_000), Some(180), 180),
    );
    f.previous = Some(PreviousDeploy {
        deployment_id: "dpl_prev".into(),
        window: window(Some(15_000), Some(20), 20),
    });
    let v = decide(&f, &Policy::default());
    assert_eq!(status(&v, "errors_vs_before"), Status::Pass);
    assert_eq!(status(&v, "errors_vs_previous"), Status::Fail);
    assert_eq!(v.outcome, Outcome::Fail);
}

#[test]
fn json_round_trip_and_refusals() {
    let facts = json!({
        "elapsed_seconds": 900, "window_seconds": 900,
        "after": {"seconds": 900, "error_events": 0, "requests": 5000, "failed_requests": 0},
        "before": {"seconds": 900, "error_events": 0, "requests": 5000},
    });
    let out = decide_json(&facts, &json!({})).unwrap();
    assert_eq!(out["verdict"], "pass");
    assert!(out["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"].is_string()));
    assert!(matches!(
        decide_json(&json!({"after": 1}), &json!({})),
        Err(VerdictError::Facts(_))
    ));
    assert!(matches!(
        decide_json(&facts, &json!({"significance": 2})),
        Err(VerdictError::Policy(_))
    ));
    assert!(matches!(
        decide_json(&facts, &json!({"max_eror_rate": 0.1})),
        Err(VerdictError::Policy(_))
    ));
}
