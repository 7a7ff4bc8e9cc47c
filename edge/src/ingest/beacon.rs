//! web-vitals beacons (github.com/GoogleChrome/web-vitals, the `Metric`
//! object: `name`, `value`, `rating`, `delta`, `id`, `navigationType`, plus
//! what the page adds: its URL, release, device class), normalised into the
//! rows `observe.record_web_vitals` takes. `entries` and `attribution` are
//! dropped: they hold DOM details nobody aggregates.

use serde_json::{json, Map, Value};

pub const METRICS: [&str; 5] = ["LCP", "INP", "CLS", "FCP", "TTFB"];
/// Beacons per request: a page sends five metrics, a batching SDK a few pages' worth.
pub const MAX_BEACONS: usize = 100;

/// Whether `value` looks like a web-vitals metric.
pub fn is_beacon(value: &Value) -> bool {
    value
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| METRICS.contains(&n))
        && value.get("value").is_some_and(Value::is_number)
}

/// The rows for one beacon or an array of them. `page` falls back to the
/// request's Referer, the device class to the User-Agent.
pub fn parse(
    root: &Value,
    referer: Option<&str>,
    user_agent: Option<&str>,
) -> Result<Vec<Value>, String> {
    let items: Vec<&Value> = match root {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    if items.len() > MAX_BEACONS {
        return Err(format!(
            "at most {MAX_BEACONS} beacons per request, got {}",
            items.len()
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            one(item, referer, user_agent).map_err(|e| format!("beacon {}: {e}", i + 1))
        })
        .collect()
}

fn one(item: &Value, referer: Option<&str>, user_agent: Option<&str>) -> Result<Value, String> {
    let Value::Object(fields) = item else {
        return Err("a beacon is a JSON object".into());
    };
    let name = fields
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| METRICS.contains(n))
        .ok_or("name must be one of LCP, INP, CLS, FCP, TTFB")?;
    let value = fields
        .get("value")
        .and_then(Value::as_f64)
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or("value must be a number >= 0")?;
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| fields.get(*k)?.as_str().map(str::to_owned))
    };
    let page = text(&["page", "url", "pageUrl", "href"])
        .or_else(|| referer.map(str::to_owned))
        .filter(|p| p.starts_with("http://") || p.starts_with("https://"))
        .ok_or("page (the page's URL) is missing, and the request has no Referer")?;
    let device = text(&["device", "deviceClass", "device_class"])
        .or_else(|| user_agent.map(|ua| device_class(ua).to_owned()));
    let mut row = Map::new();
    row.insert("name".into(), json!(name));
    row.insert("value".into(), json!(value));
    row.insert("page".into(), json!(page));
    for (to, from) in [
        ("rating", &["rating"][..]),
        ("id", &["id"][..]),
        (
            "navigation_type",
            &["navigationType", "navigation_type"][..],
        ),
        ("release", &["release"][..]),
        ("environment", &["environment"][..]),
    ] {
        if let Some(v) = text(from) {
            row.insert(to.into(), json!(v));
        }
    }
    if let Some(delta) = fields.get("delta").and_then(Value::as_f64) {
        row.insert("delta".into(), json!(delta));
    }
    if let Some(device) = device {
        row.insert("device".into(), json!(device));
    }
    Ok(Value::Object(row))
}

/// Speed Insights' three classes, from the User-Agent.
pub fn device_class(user_agent: &str) -> &'static str {
    if user_agent.contains("iPad") || user_agent.contains("Tablet") {
        "tablet"
    } else if user_agent.contains("Mobi") || user_agent.contains("Android") {
        "mobile"
    } else {
        "desktop"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `onLCP(sendToAnalytics)` hands over, with web-vitals 4's fields.
    fn lcp() -> Value {
        json!({"name": "LCP", "value": 2731.4, "rating": "needs-improvement", "delta": 2731.4,
               "id": "v4-1732960000000-8127301937", "navigationType": "navigate",
               "entries": [{"element": "img.hero", "size": 120000}], "page": "https://shop.example.com/p/1?ref=mail",
               "release": "web@5.12.1"})
    }

    #[test]
    fn web_vitals_metrics_become_rows() {
        let rows = parse(
            &lcp(),
            None,
            Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148"),
        )
        .unwrap();
        assert_eq!(
            rows,
            [
                json!({"name": "LCP", "value": 2731.4, "page": "https://shop.example.com/p/1?ref=mail",
                    "rating": "needs-improvement", "id": "v4-1732960000000-8127301937",
                    "navigation_type": "navigate", "release": "web@5.12.1", "delta": 2731.4, "device": "mobile"})
            ]
        );
        let batch = json!([lcp(), {"name": "CLS", "value": 0.02}, {"name": "INP", "value": 90, "deviceClass": "desktop"}]);
        let rows = parse(&batch, Some("https://shop.example.com/cart"), None).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[1]["page"], "https://shop.example.com/cart",
            "the Referer names the page"
        );
        assert_eq!(rows[2]["device"], "desktop");
    }

    #[test]
    fn malformed_beacons_are_refused_with_their_index() {
        assert!(parse(
            &json!({"name": "FID", "value": 3}),
            Some("https://a.example"),
            None
        )
        .unwrap_err()
        .contains("name must be"));
        assert!(
            parse(&json!([lcp(), {"name": "LCP", "value": -1}]), None, None)
                .unwrap_err()
                .starts_with("beacon 2")
        );
        assert!(parse(&json!({"name": "LCP", "value": 1}), None, None)
            .unwrap_err()
            .contains("page"));
        assert!(parse(&Value::Array(vec![lcp(); 101]), None, None)
            .unwrap_err()
            .contains("at most"));
        assert_eq!(device_class("Mozilla/5.0 (iPad; CPU OS 17_0)"), "tablet");
        assert_eq!(
            device_class("Mozilla/5.0 (X11; Linux x86_64) Chrome/156"),
            "desktop"
        );
    }
}
