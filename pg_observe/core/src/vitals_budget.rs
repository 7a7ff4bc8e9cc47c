//! Web-vitals budgets (`observe.budgets`): a p75 ceiling per metric, page
//! pattern and environment, at level `warn` or `error`; and the import of
//! Lighthouse CI assertion files as such budgets.
//!
//! Budgets are checked against field data (the p75 of real users' beacons,
//! as CrUX and Core Web Vitals assess them), so a Lighthouse assertion
//! imports as the field metric it measures in the lab: LCP, FCP, CLS, INP
//! and TTFB (`server-response-time`). Lab-only audits (TBT, Speed Index,
//! accessibility, …) have no field counterpart and are reported as skipped.
//! `categories:performance` with a `minScore` becomes one budget for each
//! scored metric with a field counterpart (LCP, FCP, CLS), at the value
//! where Lighthouse's own scoring curve gives that score: Lighthouse scores
//! a metric on a log-normal curve through its p10 (score 0.9) and median
//! (0.5) control points (`lighthouse-core/lib/statistics.js`,
//! `getLogNormalScore`), which we invert.

use serde::Deserialize;
use serde_json::{json, Value};
use statrs::function::erf::erfc_inv;
use thiserror::Error;

pub const METRICS: [&str; 5] = ["LCP", "INP", "CLS", "FCP", "TTFB"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageP75 {
    pub page: String,
    pub p75: f64,
    pub samples: u64,
}

/// A budget with the p75 of each page it covers (gathered in SQL).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetObservation {
    pub id: i64,
    pub metric: String,
    #[serde(default)]
    pub page_pattern: Option<String>,
    #[serde(default)]
    pub environment: Option<String>,
    pub threshold: f64,
    pub level: Level,
    pub min_samples: u64,
    #[serde(default)]
    pub pages: Vec<PageP75>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetStatus {
    Pass,
    Warn,
    Fail,
    NoData,
}

impl BudgetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetStatus::Pass => "pass",
            BudgetStatus::Warn => "warn",
            BudgetStatus::Fail => "fail",
            BudgetStatus::NoData => "no_data",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BudgetResult {
    pub budget: BudgetObservation,
    pub status: BudgetStatus,
    /// The page with the highest p75 among those with enough samples.
    pub worst: Option<PageP75>,
    pub pages_over: Vec<PageP75>,
}

impl BudgetResult {
    pub fn summary(&self) -> String {
        let b = &self.budget;
        match &self.worst {
            Some(w) => format!(
                "{} p75 {} on {} (budget {}, {} samples)",
                b.metric,
                fmt_value(&b.metric, w.p75),
                w.page,
                fmt_value(&b.metric, b.threshold),
                w.samples
            ),
            None => format!(
                "{} budget {}: no data",
                b.metric,
                fmt_value(&b.metric, b.threshold)
            ),
        }
    }

    pub fn to_json(&self) -> Value {
        let b = &self.budget;
        json!({
            "id": b.id, "metric": b.metric, "page_pattern": b.page_pattern,
            "environment": b.environment, "threshold": b.threshold, "level": b.level.as_str(),
            "status": self.status.as_str(),
            "p75": self.worst.as_ref().map(|w| w.p75),
            "page": self.worst.as_ref().map(|w| w.page.clone()),
            "samples": self.worst.as_ref().map(|w| w.samples),
            "pages_over": self.pages_over.iter()
                .map(|p| json!({"page": p.page, "p75": p.p75, "samples": p.samples}))
                .collect::<Vec<_>>(),
            "summary": self.summary(),
        })
    }
}

fn fmt_value(metric: &str, v: f64) -> String {
    if metric == "CLS" {
        format!("{v:.3}")
    } else {
        format!("{v:.0} ms")
    }
}

pub fn evaluate(budget: &BudgetObservation) -> BudgetResult {
    let measured: Vec<&PageP75> = budget
        .pages
        .iter()
        .filter(|p| p.samples >= budget.min_samples.max(1))
        .collect();
    let worst = measured
        .iter()
        .copied()
        .max_by(|a, b| a.p75.total_cmp(&b.p75))
        .cloned();
    let pages_over: Vec<PageP75> = measured
        .iter()
        .filter(|p| p.p75 > budget.threshold)
        .map(|p| (*p).clone())
        .collect();
    let status = match (&worst, pages_over.is_empty(), budget.level) {
        (None, _, _) => BudgetStatus::NoData,
        (Some(_), true, _) => BudgetStatus::Pass,
        (Some(_), false, Level::Warn) => BudgetStatus::Warn,
        (Some(_), false, Level::Error) => BudgetStatus::Fail,
    };
    BudgetResult {
        budget: budget.clone(),
        status,
        worst,
        pages_over,
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum BudgetError {
    #[error("invalid budget observations: {0}")]
    Observations(String),
    #[error("not a Lighthouse CI assertion file: {0}")]
    Lighthouse(String),
}

/// `observe.evaluate_budgets(observations)`:
/// `{passed, failed, warned, no_data, budgets: [...]}`.
pub fn evaluate_json(observations: &Value) -> Result<Value, BudgetError> {
    let budgets: Vec<BudgetObservation> = serde_json::from_value(observations.clone())
        .map_err(|e| BudgetError::Observations(e.to_string()))?;
    let results: Vec<BudgetResult> = budgets.iter().map(evaluate).collect();
    let count = |s: BudgetStatus| results.iter().filter(|r| r.status == s).count();
    Ok(json!({
        "passed": count(BudgetStatus::Fail) == 0,
        "failed": count(BudgetStatus::Fail),
        "warned": count(BudgetStatus::Warn),
        "no_data": count(BudgetStatus::NoData),
        "budgets": results.iter().map(BudgetResult::to_json).collect::<Vec<_>>(),
    }))
}

/// Lighthouse's scoring curve of a metric: `(p10, median)`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Curve {
    p10: f64,
    median: f64,
}

/// Lighthouse 10+'s control points (`lighthouse-core/audits/metrics/*.js`,
/// `defaultOptions.scoring`), mobile and desktop.
fn curve(metric: &str, desktop: bool) -> Option<Curve> {
    let (p10, median) = match (metric, desktop) {
        ("FCP", false) => (1800.0, 3000.0),
        ("FCP", true) => (934.0, 1600.0),
        ("LCP", false) => (2500.0, 4000.0),
        ("LCP", true) => (1200.0, 2400.0),
        ("CLS", _) => (0.1, 0.25),
        _ => return None,
    };
    Some(Curve { p10, median })
}

/// The metric value at which Lighthouse's score is `score`: the inverse of
/// `score = erfc(ln(v / median) · erfc⁻¹(0.2) / ln(median / p10)) / 2`.
fn value_at_score(c: Curve, score: f64) -> f64 {
    let score = score.clamp(0.01, 0.99);
    let z = erfc_inv(2.0 * score);
    c.median * (z * (c.median / c.p10).ln() / erfc_inv(0.2)).exp()
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportedBudget {
    pub metric: &'static str,
    pub page_pattern: Option<String>,
    pub threshold: f64,
    pub level: Level,
    /// The assertion it came from, for the budget's `source` column.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Import {
    pub budgets: Vec<ImportedBudget>,
    /// Assertions not imported, each with why.
    pub skipped: Vec<String>,
}

impl Import {
    pub fn to_json(&self) -> Value {
        json!({
            "budgets": self.budgets.iter().map(|b| json!({
                "metric": b.metric, "page_pattern": b.page_pattern, "threshold": b.threshold,
                "level": b.level.as_str(), "source": b.source,
            })).collect::<Vec<_>>(),
            "skipped": self.skipped,
        })
    }
}

fn field_metric(audit: &str) -> Option<&'static str> {
    Some(match audit {
        "largest-contentful-paint" => "LCP",
        "first-contentful-paint" => "FCP",
        "cumulative-layout-shift" => "CLS",
        "server-response-time" => "TTFB",
        "interaction-to-next-paint" | "experimental-interaction-to-next-paint" => "INP",
        _ => return None,
    })
}

/// Reads a Lighthouse CI configuration (`lighthouserc.json`: `ci.assert`),
/// its `assert` object, or a bare `{assertions}` / `{assertMatrix}`.
pub fn import_lighthouse(config: &Value) -> Result<Import, BudgetError> {
    let bad = |m: &str| BudgetError::Lighthouse(m.to_owned());
    if !config.is_object() {
        return Err(bad("expected a JSON object"));
    }
    let desktop = ["preset", "formFactor"].iter().any(|k| {
        config
            .pointer(&format!("/ci/collect/settings/{k}"))
            .and_then(Value::as_str)
            == Some("desktop")
    });
    let assert = config
        .pointer("/ci/assert")
        .or_else(|| config.get("assert"))
        .unwrap_or(config);
    let mut groups: Vec<(Option<String>, &serde_json::Map<String, Value>)> = Vec::new();
    if let Some(a) = assert.get("assertions") {
        groups.push((
            None,
            a.as_object()
                .ok_or_else(|| bad("assertions must be an object"))?,
        ));
    }
    if let Some(m) = assert.get("assertMatrix") {
        for entry in m
            .as_array()
            .ok_or_else(|| bad("assertMatrix must be an array"))?
        {
            let pattern = entry
                .get("matchingUrlPattern")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let a = entry
                .get("assertions")
                .and_then(Value::as_object)
                .ok_or_else(|| bad("each assertMatrix entry needs an assertions object"))?;
            groups.push((pattern, a));
        }
    }
    if groups.is_empty() {
        return Err(bad(
            "no assertions or assertMatrix found (looked in ci.assert, assert and the top level)",
        ));
    }
    let mut import = Import::default();
    if let Some(preset) = assert.get("preset").and_then(Value::as_str) {
        import.skipped.push(format!(
            "preset {preset}: presets are Lighthouse CI's own audit lists, imported only as far as they are written out"
        ));
    }
    for (pattern, assertions) in groups {
        for (name, value) in assertions {
            let (level, options) = match value {
                Value::String(l) => (l.as_str(), None),
                Value::Array(a) => (
                    a.first().and_then(Value::as_str).unwrap_or(""),
                    a.get(1).and_then(Value::as_object),
                ),
                _ => {
                    import
                        .skipped
                        .push(format!("{name}: not a level or [level, options]"));
                    continue;
                }
            };
            let level = match level {
                "error" => Level::Error,
                "warn" => Level::Warn,
                "off" => {
                    import.skipped.push(format!("{name}: off"));
                    continue;
                }
                other => {
                    import
                        .skipped
                        .push(format!("{name}: unknown level {other:?}"));
                    continue;
                }
            };
            let min_score = options
                .and_then(|o| o.get("minScore"))
                .and_then(Value::as_f64);
            let max_value = options
                .and_then(|o| o.get("maxNumericValue"))
                .and_then(Value::as_f64);
            let source = format!("lighthouse {name} {}", value);
            let mut push = |metric: &'static str, threshold: f64| {
                import.budgets.push(ImportedBudget {
                    metric,
                    page_pattern: pattern.clone(),
                    threshold,
                    level,
                    source: source.clone(),
                })
            };
            if name == "categories:performance" {
                let Some(score) = min_score else {
                    import.skipped.push(format!("{name}: needs minScore"));
                    continue;
                };
                for metric in ["LCP", "FCP", "CLS"] {
                    if let Some(c) = curve(metric, desktop) {
                        push(metric, value_at_score(c, score));
                    }
                }
                continue;
            }
            let Some(metric) = field_metric(name) else {
                import.skipped.push(format!(
                    "{name}: a lab-only assertion with no field metric to budget"
                ));
                continue;
            };
            match (
                max_value,
                min_score.and_then(|s| curve(metric, desktop).map(|c| (c, s))),
            ) {
                (Some(v), _) => push(metric, v),
                (None, Some((c, s))) => push(metric, value_at_score(c, s)),
                (None, None) => import.skipped.push(format!(
                    "{name}: needs maxNumericValue{}",
                    if curve(metric, desktop).is_some() {
                        " or minScore"
                    } else {
                        ""
                    }
                )),
            }
        }
    }
    Ok(import)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(level: Level, pages: &[(&str, f64, u64)]) -> BudgetObservation {
        BudgetObservation {
            id: 1,
            metric: "LCP".into(),
            page_pattern: None,
            environment: Some("production".into()),
            threshold: 2500.0,
            level,
            min_samples: 5,
            pages: pages
                .iter()
                .map(|(p, v, n)| PageP75 {
                    page: (*p).into(),
                    p75: *v,
                    samples: *n,
                })
                .collect(),
        }
    }

    #[test]
    fn a_page_over_budget_fails_an_error_budget_and_warns_a_warn_budget() {
        let pages = [
            ("https://a/", 1800.0, 50),
            ("https://a/checkout", 3100.0, 20),
        ];
        let r = evaluate(&obs(Level::Error, &pages));
        assert_eq!(r.status, BudgetStatus::Fail);
        assert_eq!(r.worst.unwrap().page, "https://a/checkout");
        assert_eq!(r.pages_over.len(), 1);
        assert_eq!(
            evaluate(&obs(Level::Warn, &pages)).status,
            BudgetStatus::Warn
        );
    }

    #[test]
    fn pages_with_too_few_samples_are_not_judged() {
        let r = evaluate(&obs(Level::Error, &[("https://a/", 9000.0, 4)]));
        assert_eq!(r.status, BudgetStatus::NoData);
        let r = evaluate(&obs(
            Level::Error,
            &[("https://a/", 9000.0, 4), ("https://a/b", 900.0, 9)],
        ));
        assert_eq!(r.status, BudgetStatus::Pass);
    }

    #[test]
    fn the_scoring_curve_inverts_at_its_control_points() {
        let c = curve("LCP", false).unwrap();
        assert!((value_at_score(c, 0.9) - 2500.0).abs() < 0.5);
        assert!((value_at_score(c, 0.5) - 4000.0).abs() < 0.5);
        // Higher scores need lower values.
        assert!(value_at_score(c, 0.95) < 2500.0);
    }

    #[test]
    fn imports_lighthouse_ci_assertions() {
        let config = json!({"ci": {"assert": {
            "preset": "lighthouse:no-pwa",
            "assertions": {
                "categories:performance": ["error", {"minScore": 0.9}],
                "largest-contentful-paint": ["warn", {"maxNumericValue": 3000, "aggregationMethod": "median"}],
                "total-blocking-time": ["error", {"maxNumericValue": 200}],
                "server-response-time": ["error", {"maxNumericValue": 600}],
                "uses-http2": "off"
            },
            "assertMatrix": [{"matchingUrlPattern": "https://[^/]+/checkout.*",
                              "assertions": {"interaction-to-next-paint": ["error", {"maxNumericValue": 200}]}}]
        }}});
        let import = import_lighthouse(&config).unwrap();
        let got: Vec<(&str, i64, Level, Option<&str>)> = import
            .budgets
            .iter()
            .map(|b| {
                (
                    b.metric,
                    (b.threshold * 1000.0).round() as i64,
                    b.level,
                    b.page_pattern.as_deref(),
                )
            })
            .collect();
        assert!(
            got.contains(&("LCP", 2_500_000, Level::Error, None)),
            "{got:?}"
        );
        assert!(got.contains(&("FCP", 1_800_000, Level::Error, None)));
        assert!(got.contains(&("CLS", 100, Level::Error, None)));
        assert!(got.contains(&("LCP", 3_000_000, Level::Warn, None)));
        assert!(got.contains(&("TTFB", 600_000, Level::Error, None)));
        assert!(got.contains(&(
            "INP",
            200_000,
            Level::Error,
            Some("https://[^/]+/checkout.*")
        )));
        assert_eq!(import.budgets.len(), 6);
        assert!(import
            .skipped
            .iter()
            .any(|s| s.starts_with("total-blocking-time")));
        assert!(import
            .skipped
            .iter()
            .any(|s| s.starts_with("uses-http2: off")));
    }

    #[test]
    fn desktop_preset_uses_desktop_curves_and_garbage_is_refused() {
        let config = json!({"ci": {"collect": {"settings": {"preset": "desktop"}},
                                   "assert": {"assertions": {"categories:performance": ["error", {"minScore": 0.9}]}}}});
        let import = import_lighthouse(&config).unwrap();
        let lcp = import.budgets.iter().find(|b| b.metric == "LCP").unwrap();
        assert!((lcp.threshold - 1200.0).abs() < 0.5);
        assert!(import_lighthouse(&json!([1])).is_err());
        assert!(import_lighthouse(&json!({"ci": {}})).is_err());
    }
}
