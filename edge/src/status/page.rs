//! The status page's HTML. Every value from the database goes through
//! `text` or `attr` (html-escape); the data the script needs travels in a
//! JSON data block with `<` escaped, so no value can close it. No inline
//! handler: the one script carries the nonce and writes markup only
//! through the Trusted Types policy, whose rule admits nothing but the bars.

use std::fmt::Write;

use serde_json::Value;

use super::headers::POLICY;

fn text(value: &str) -> String {
    html_escape::encode_text(value).into_owned()
}

fn attr(value: &str) -> String {
    html_escape::encode_double_quoted_attribute(value).into_owned()
}

fn field<'a>(row: &'a Value, key: &str) -> &'a str {
    row.get(key).and_then(Value::as_str).unwrap_or("")
}

fn number(row: &Value, key: &str) -> String {
    match row.get(key) {
        Some(Value::Number(n)) => n.as_f64().map_or_else(String::new, |f| {
            if f.fract() == 0.0 {
                format!("{f:.0}")
            } else {
                format!("{f:.2}")
            }
        }),
        Some(Value::String(s)) => s.clone(),
        _ => "–".to_owned(),
    }
}

const SCRIPT: &str = r#"
"use strict";
const factory = self.trustedTypes ?? { createPolicy: (_name, rules) => rules };
const policy = factory.createPolicy("POLICY", {
  createHTML(markup) {
    if (!/^(<span class="bar (up|down)" title="[a-z0-9 :]*"><\/span>)*$/.test(markup)) {
      throw new TypeError("the status page writes uptime bars only");
    }
    return markup;
  },
});
const bars = JSON.parse(document.getElementById("bars").textContent);
for (const cell of document.querySelectorAll("[data-bars]")) {
  const results = bars[cell.dataset.bars] ?? [];
  cell.innerHTML = policy.createHTML(results.map((up, i) =>
    `<span class="bar ${up ? "up" : "down"}" title="check ${i + 1}: ${up ? "up" : "down"}"></span>`).join(""));
}
for (const time of document.querySelectorAll("time[datetime]")) {
  const minutes = Math.round((Date.now() - Date.parse(time.dateTime)) / 60000);
  time.textContent = minutes < 1 ? "just now" : minutes < 120 ? `${minutes} min ago` : `${Math.round(minutes / 60)} h ago`;
}
document.body.dataset.rendered = "true";
"#;

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1b1f24}\
table{border-collapse:collapse;width:100%;margin-bottom:2rem}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd}\
.up{color:#1a7f37}.down{color:#cf222e}.bar{display:inline-block;width:6px;height:18px;margin-right:1px;background:#1a7f37}\
.bar.down{background:#cf222e}.empty{color:#777}";

/// The whole page, from the status query's JSON and the open alerts (None:
/// no alerts table yet).
pub fn render(doc: &Value, alerts: Option<&[Value]>, nonce: &str) -> String {
    let mut html = String::with_capacity(16 * 1024);
    let rows = |key: &str| {
        doc.get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let checks = rows("checks");
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"icon\" href=\"data:,\"><title>Status</title><style nonce=\"{n}\">{STYLE}</style></head><body>",
        n = attr(nonce)
    );
    let down = checks
        .iter()
        .filter(|c| c.get("up") == Some(&Value::Bool(false)))
        .count();
    let _ = write!(
        html,
        "<h1>Status</h1><p id=\"summary\" class=\"{}\">{}</p>",
        if down == 0 { "up" } else { "down" },
        if checks.is_empty() {
            "No health checks yet.".to_owned()
        } else if down == 0 {
            "All systems operational.".to_owned()
        } else {
            format!("{down} of {} checks down.", checks.len())
        }
    );

    html.push_str("<h2>Health checks</h2>");
    let mut bars = serde_json::Map::new();
    if checks.is_empty() {
        html.push_str("<p class=\"empty\">None.</p>");
    } else {
        html.push_str("<table id=\"checks\"><tr><th>Check</th><th>State</th><th>Since</th><th>Status</th><th>Response</th><th>Uptime 24 h</th><th>Headers</th><th>Last 30</th></tr>");
        for (i, check) in checks.iter().enumerate() {
            let up = check.get("up") != Some(&Value::Bool(false));
            bars.insert(
                i.to_string(),
                check.get("bars").cloned().unwrap_or(Value::Array(vec![])),
            );
            let _ = write!(
                html,
                "<tr><td>{name}</td><td class=\"{state}\">{state}</td><td><time datetime=\"{since}\">{since_text}</time></td>\
                 <td>{status}</td><td>{time} ms</td><td>{uptime} %</td><td>{grade}</td><td data-bars=\"{i}\"></td></tr>",
                name = text(field(check, "name")),
                state = if up { "up" } else { "down" },
                since = attr(field(check, "since")),
                since_text = text(field(check, "since")),
                status = text(&number(check, "status_code")),
                time = text(&number(check, "response_time_ms")),
                uptime = text(&number(check, "uptime_24h")),
                grade = text(field(check, "grade")),
            );
        }
        html.push_str("</table>");
    }

    if let Some(alerts) = alerts {
        html.push_str("<h2>Open alerts</h2>");
        if alerts.is_empty() {
            html.push_str("<p class=\"empty\">None.</p>");
        } else {
            html.push_str("<ul id=\"alerts\">");
            for alert in alerts {
                let title = ["title", "summary", "name", "rule", "subject"]
                    .iter()
                    .map(|k| field(alert, k))
                    .find(|v| !v.is_empty())
                    .unwrap_or("alert");
                let _ = write!(
                    html,
                    "<li>{} <span class=\"empty\">{}</span></li>",
                    text(title),
                    text(field(alert, "severity"))
                );
            }
            html.push_str("</ul>");
        }
    }

    html.push_str("<h2>Top issues, last 24 h</h2>");
    let issues = rows("issues");
    if issues.is_empty() {
        html.push_str("<p class=\"empty\">None.</p>");
    } else {
        html.push_str("<table id=\"issues\"><tr><th>Issue</th><th>Service</th><th>Level</th><th>Events 24 h</th><th>Trend</th></tr>");
        for issue in &issues {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                text(field(issue, "title")),
                text(field(issue, "service")),
                text(field(issue, "level")),
                text(&number(issue, "events_24h")),
                text(field(issue, "trend"))
            );
        }
        html.push_str("</table>");
    }

    let deploys = rows("deploys");
    if !deploys.is_empty() {
        html.push_str("<h2>Recent deploys</h2><table id=\"deploys\"><tr><th>Project</th><th>Environment</th><th>Commit</th><th>State</th><th>When</th></tr>");
        for deploy in &deploys {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><time datetime=\"{}\">{}</time></td></tr>",
                text(field(deploy, "project")),
                text(field(deploy, "environment")),
                text(&field(deploy, "commit_sha").chars().take(7).collect::<String>()),
                text(field(deploy, "state")),
                attr(field(deploy, "created_at")),
                text(field(deploy, "created_at"))
            );
        }
        html.push_str("</table>");
    }

    html.push_str("<h2>Web vitals, p75 over 7 days</h2>");
    let vitals = rows("vitals");
    if vitals.is_empty() {
        html.push_str("<p class=\"empty\">No beacons yet.</p>");
    } else {
        html.push_str("<table id=\"vitals\"><tr><th>Page</th><th>Metric</th><th>Device</th><th>p75</th><th>Rating</th><th>Samples</th></tr>");
        for vital in &vitals {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                text(field(vital, "page")),
                text(field(vital, "metric")),
                text(field(vital, "device")),
                text(&number(vital, "p75")),
                text(field(vital, "rating")),
                text(&number(vital, "samples"))
            );
        }
        html.push_str("</table>");
    }

    let data = Value::Object(bars)
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let _ = write!(
        html,
        "<script type=\"application/json\" id=\"bars\">{data}</script><script nonce=\"{n}\">{script}</script></body></html>",
        n = attr(nonce),
        script = SCRIPT.replace("POLICY", POLICY)
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_value_is_escaped() {
        let hostile = "<img src=x onerror=alert(1)>\"'&";
        let doc = json!({
            "checks": [{"name": hostile, "up": false, "since": hostile, "status_code": 500, "grade": hostile,
                        "bars": [true, false]}],
            "issues": [{"title": hostile, "service": "web", "level": "error", "events_24h": 3, "trend": "new"}],
            "deploys": [{"project": hostile, "environment": "production", "commit_sha": "abcdef0123", "state": "ready", "created_at": hostile}],
            "vitals": [{"page": hostile, "metric": "LCP", "p75": 2600.5, "rating": "needs-improvement", "samples": 4}]
        });
        let alerts = [json!({"title": hostile, "severity": "critical"})];
        let html = render(&doc, Some(&alerts), "n0nce");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("onerror=alert(1)>"));
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("1 of 1 checks down"));
        assert_eq!(html.matches("<script").count(), 2);
        assert!(html.contains("<script nonce=\"n0nce\">"));
        assert!(html.contains("createPolicy(\"pg-observe-status\""));
        let without = render(
            &json!({"checks": [], "issues": [], "deploys": [], "vitals": []}),
            None,
            "n",
        );
        assert!(
            !without.contains("Open alerts"),
            "no alerts table, no section"
        );
        assert!(!without.contains("Recent deploys"));
    }

    #[test]
    fn the_data_block_cannot_be_closed() {
        let doc =
            json!({"checks": [{"name": "x", "bars": ["</script><script>alert(1)</script>"]}]});
        let html = render(&doc, None, "n");
        assert_eq!(html.matches("</script>").count(), 2);
    }
}
