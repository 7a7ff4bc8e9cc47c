//! The alert e-mail: a subject like `[CRITICAL][billing] Error rate above
//! 5%`, an HTML part in which every interpolated value is escaped (and only
//! http(s) URLs become links), and a plain-text part saying the same.

use std::fmt::Write;

use html_escape::{encode_double_quoted_attribute, encode_text};
use serde::Deserialize;
use serde_json::{Map, Value};

/// A row of `observe.claim_notifications`, as the host reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct Notification {
    pub id: String,
    #[serde(default)]
    pub rule_id: Option<Value>,
    pub kind: String,
    #[serde(default)]
    pub recipients: Vec<String>,
    pub subject: String,
    #[serde(default)]
    pub payload: Payload,
    pub idempotency_key: String,
    #[serde(default)]
    pub group_labels: Map<String, Value>,
}

/// What the alert evaluator puts in `observe.notifications.payload`; every
/// field is optional, and numbers or strings are shown as given.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Payload {
    pub rule: Option<String>,
    pub severity: Option<String>,
    pub service: Option<String>,
    pub environment: Option<String>,
    pub labels: Map<String, Value>,
    pub annotations: Map<String, Value>,
    pub metric: Option<Value>,
    pub window: Option<Value>,
    pub value: Option<Value>,
    pub threshold: Option<Value>,
    pub alerts: Vec<Alert>,
    pub links: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Alert {
    pub labels: Map<String, Value>,
    pub value: Option<Value>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Resend refuses nothing shorter, but a mail client shows about this much.
const MAX_SUBJECT_CHARS: usize = 200;

impl Notification {
    pub fn resolved(&self) -> bool {
        self.kind == "resolved"
    }

    fn service(&self) -> Option<String> {
        self.payload
            .service
            .clone()
            .or_else(|| self.payload.labels.get("service").map(shown))
            .or_else(|| self.group_labels.get("service").map(shown))
    }

    fn severity(&self) -> String {
        self.payload
            .severity
            .clone()
            .or_else(|| self.payload.labels.get("severity").map(shown))
            .unwrap_or_else(|| "alert".to_owned())
    }
}

pub fn render(n: &Notification) -> Email {
    let status = if n.resolved() {
        "RESOLVED".to_owned()
    } else {
        one_line(&n.severity()).to_uppercase()
    };
    let mut subject = format!("[{status}]");
    if let Some(service) = n.service() {
        let _ = write!(subject, "[{}]", one_line(&service));
    }
    let _ = write!(subject, " {}", one_line(&n.subject));
    let subject: String = subject.chars().take(MAX_SUBJECT_CHARS).collect();

    let facts = facts(n);
    let links = links(&n.payload.links);
    Email {
        html: html(n, &subject, &facts, &links),
        text: text(n, &subject, &facts, &links),
        subject,
    }
}

/// The rows of the summary table, in the order the e-mail shows them.
fn facts(n: &Notification) -> Vec<(String, String)> {
    let p = &n.payload;
    let mut facts = vec![];
    let mut push = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            facts.push((name.to_owned(), value));
        }
    };
    push(
        "Status",
        Some(if n.resolved() { "resolved" } else { "firing" }.to_owned()),
    );
    push("Rule", p.rule.clone());
    push("Severity", Some(n.severity()));
    push("Service", n.service());
    push("Environment", p.environment.clone());
    push("Metric", p.metric.as_ref().map(shown));
    push("Window", p.window.as_ref().map(shown));
    push("Value", p.value.as_ref().map(shown));
    push("Threshold", p.threshold.as_ref().map(shown));
    for (key, value) in &p.annotations {
        push(&title_case(key), Some(shown(value)));
    }
    if !p.labels.is_empty() {
        push("Labels", Some(label_list(&p.labels)));
    }
    facts
}

/// `(label, url, linkable)`: runbook and issue first, then the rest.
fn links(links: &Map<String, Value>) -> Vec<(String, String, bool)> {
    let mut ordered: Vec<(&String, &Value)> = links.iter().collect();
    ordered.sort_by_key(|(k, _)| match k.as_str() {
        "runbook" => 0,
        "issue" => 1,
        _ => 2,
    });
    ordered
        .into_iter()
        .map(|(k, v)| {
            let url = shown(v);
            let linkable = url.starts_with("https://") || url.starts_with("http://");
            (title_case(k), url, linkable)
        })
        .collect()
}

fn html(
    n: &Notification,
    subject: &str,
    facts: &[(String, String)],
    links: &[(String, String, bool)],
) -> String {
    let colour = if n.resolved() { "#1a7f37" } else { "#cf222e" };
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html><body style=\"font-family:sans-serif\">\
         <h2 style=\"color:{colour}\">{}</h2><table cellpadding=\"4\">",
        encode_text(subject)
    );
    for (name, value) in facts {
        let _ = write!(
            h,
            "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
            encode_text(name),
            encode_text(value)
        );
    }
    h.push_str("</table>");
    if !n.payload.alerts.is_empty() {
        let _ = write!(
            h,
            "<h3>Alerts in this group ({})</h3><ul>",
            n.payload.alerts.len()
        );
        for alert in &n.payload.alerts {
            let _ = write!(h, "<li>{}</li>", encode_text(&alert_line(alert)));
        }
        h.push_str("</ul>");
    }
    if !links.is_empty() {
        h.push_str("<p>");
        for (label, url, linkable) in links {
            if *linkable {
                let _ = write!(
                    h,
                    "<a href=\"{}\">{}</a> ",
                    encode_double_quoted_attribute(url),
                    encode_text(label)
                );
            } else {
                let _ = write!(h, "{}: {} ", encode_text(label), encode_text(url));
            }
        }
        h.push_str("</p>");
    }
    let _ = write!(
        h,
        "<p style=\"color:#57606a;font-size:12px\">pg_observe notification {}</p></body></html>",
        encode_text(&n.id)
    );
    h
}

fn text(
    n: &Notification,
    subject: &str,
    facts: &[(String, String)],
    links: &[(String, String, bool)],
) -> String {
    let mut t = format!("{subject}\n\n");
    for (name, value) in facts {
        let _ = writeln!(t, "{name}: {value}");
    }
    if !n.payload.alerts.is_empty() {
        let _ = writeln!(t, "\nAlerts in this group ({}):", n.payload.alerts.len());
        for alert in &n.payload.alerts {
            let _ = writeln!(t, "- {}", alert_line(alert));
        }
    }
    if !links.is_empty() {
        t.push('\n');
        for (label, url, _) in links {
            let _ = writeln!(t, "{label}: {url}");
        }
    }
    let _ = write!(t, "\npg_observe notification {}\n", n.id);
    t
}

fn alert_line(alert: &Alert) -> String {
    let mut line = label_list(&alert.labels);
    if let Some(value) = &alert.value {
        let _ = write!(line, " value={}", shown(value));
    }
    if let Some(started) = &alert.started_at {
        let _ = write!(line, " since {started}");
    }
    if let Some(ended) = &alert.ended_at {
        let _ = write!(line, " until {ended}");
    }
    line.trim().to_owned()
}

fn label_list(labels: &Map<String, Value>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={}", shown(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A JSON value as a person reads it: strings without quotes.
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn title_case(key: &str) -> String {
    let words = key.replace(['_', '-'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn notification(kind: &str, payload: Value) -> Notification {
        serde_json::from_value(json!({
            "id": "7d0c2a5e-0000-4000-8000-000000000001",
            "kind": kind,
            "subject": "Error rate above 5%",
            "idempotency_key": "rule-1/firing/1",
            "recipients": ["oncall@example.com"],
            "payload": payload,
        }))
        .unwrap()
    }

    fn billing() -> Value {
        json!({
            "rule": "billing error rate", "severity": "critical", "service": "billing",
            "environment": "production", "metric": "error_rate", "window": "5m",
            "value": 0.072, "threshold": "5%",
            "labels": {"service": "billing", "region": "eu"},
            "annotations": {"summary": "Errors are up"},
            "alerts": [{"labels": {"route": "/pay"}, "value": 0.072, "started_at": "2026-11-30T08:00:00Z"}],
            "links": {"issue": "https://app.example.com/issues/42", "runbook": "https://runbooks.example.com/billing"}
        })
    }

    #[test]
    fn subject_names_severity_and_service() {
        let email = render(&notification("firing", billing()));
        assert_eq!(email.subject, "[CRITICAL][billing] Error rate above 5%");
        let email = render(&notification("resolved", billing()));
        assert_eq!(email.subject, "[RESOLVED][billing] Error rate above 5%");
        let email = render(&notification("firing", json!({})));
        assert_eq!(email.subject, "[ALERT] Error rate above 5%");
    }

    #[test]
    fn the_subject_is_one_bounded_line() {
        let mut n = notification(
            "firing",
            json!({"severity": "warn\r\ning", "service": "a\nb"}),
        );
        n.subject = format!("line one\r\nBcc: victim@example.com {}", "x".repeat(500));
        let email = render(&n);
        assert!(!email.subject.contains(['\r', '\n']));
        assert!(email.subject.starts_with("[WARN ING][a b] line one Bcc:"));
        assert_eq!(email.subject.chars().count(), MAX_SUBJECT_CHARS);
    }

    #[test]
    fn every_part_shows_the_facts_and_links() {
        let email = render(&notification("firing", billing()));
        for needle in [
            "billing error rate",
            "production",
            "error_rate",
            "5m",
            "0.072",
            "Errors are up",
            "region=eu",
            "route=/pay",
            "https://runbooks.example.com/billing",
            "https://app.example.com/issues/42",
        ] {
            assert!(email.text.contains(needle), "text lacks {needle}");
            assert!(email.html.contains(needle), "html lacks {needle}");
        }
        assert!(email
            .html
            .contains("<a href=\"https://runbooks.example.com/billing\">Runbook</a>"));
        let runbook = email.text.find("Runbook:").unwrap();
        let issue = email.text.find("Issue:").unwrap();
        assert!(runbook < issue, "the runbook comes first");
    }

    #[test]
    fn html_escapes_every_interpolated_value() {
        let hostile = "<script>alert(1)</script>\"'&";
        let mut n = notification(
            "firing",
            json!({
                "rule": hostile, "severity": hostile, "service": hostile, "environment": hostile,
                "value": hostile, "labels": {"k": hostile}, "annotations": {"summary": hostile},
                "alerts": [{"labels": {"x": hostile}, "started_at": hostile}],
                "links": {"issue": "javascript:alert(1)", "runbook": format!("https://x.example/\"><script>")}
            }),
        );
        n.subject = hostile.to_owned();
        n.id = hostile.to_owned();
        let email = render(&n);
        assert!(!email.html.contains("<script>"), "{}", email.html);
        assert!(!email.html.contains("\"'&\""));
        assert!(email.html.contains("&lt;script&gt;"));
        assert!(
            !email.html.contains("href=\"javascript:"),
            "only http(s) URLs become links"
        );
        assert!(email
            .html
            .contains("https://x.example/&quot;&gt;&lt;script&gt;"));
        // The text part is not HTML: it shows the values as they are.
        assert!(email.text.contains(hostile));
    }
}
