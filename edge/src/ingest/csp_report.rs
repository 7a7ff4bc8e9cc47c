//! CSP violation reports in both formats browsers send: the legacy
//! `report-uri` body (`application/csp-report`, `{"csp-report": {...}}`,
//! kebab-case fields) and the Reporting API's (`application/reports+json`,
//! an array of `{type: "csp-violation", body: {...}}` with camelCase fields;
//! w3.org/TR/CSP3 "Reporting"). Both become the rows
//! `observe.record_csp_reports` groups by directive, blocked origin and
//! source file.

use serde_json::{json, Value};

/// Reports per request; a Reporting API delivery batches a page's reports.
pub const MAX_REPORTS: usize = 100;

/// `{"csp-report": {...}}`.
pub fn legacy(root: &Value) -> Result<Vec<Value>, String> {
    let report = root
        .get("csp-report")
        .filter(|r| r.is_object())
        .ok_or("a CSP report is {\"csp-report\": {...}}")?;
    let text = |k: &str| report.get(k).and_then(as_text);
    Ok(vec![row(
        text("effective-directive").or_else(|| text("violated-directive")),
        text("blocked-uri"),
        text("source-file"),
        text("document-uri"),
        text("disposition"),
        text("script-sample"),
        report.get("line-number"),
        report.get("column-number"),
    )?])
}

/// `[{type, age, url, user_agent, body}]`; reports of other types (deprecation,
/// intervention…) are skipped.
pub fn reporting_api(root: &Value) -> Result<Vec<Value>, String> {
    let reports = root
        .as_array()
        .ok_or("a Reporting API delivery is a JSON array of reports")?;
    if reports.len() > MAX_REPORTS {
        return Err(format!(
            "at most {MAX_REPORTS} reports per request, got {}",
            reports.len()
        ));
    }
    reports
        .iter()
        .filter(|r| r.get("type").and_then(Value::as_str) == Some("csp-violation"))
        .map(|r| {
            let body = r
                .get("body")
                .filter(|b| b.is_object())
                .ok_or("a csp-violation report has a body")?;
            let text = |k: &str| body.get(k).and_then(as_text);
            row(
                text("effectiveDirective"),
                text("blockedURL"),
                text("sourceFile"),
                text("documentURL").or_else(|| r.get("url").and_then(as_text)),
                text("disposition"),
                text("sample"),
                body.get("lineNumber"),
                body.get("columnNumber"),
            )
        })
        .collect()
}

fn as_text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

#[allow(clippy::too_many_arguments)]
fn row(
    directive: Option<String>,
    blocked: Option<String>,
    source_file: Option<String>,
    document: Option<String>,
    disposition: Option<String>,
    sample: Option<String>,
    line: Option<&Value>,
    column: Option<&Value>,
) -> Result<Value, String> {
    // violated-directive may carry the policy's sources after the name.
    let directive = directive
        .as_deref()
        .and_then(|d| d.split_whitespace().next())
        .map(str::to_ascii_lowercase)
        .filter(|d| {
            !d.is_empty() && d.len() <= 64 && d.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        })
        .ok_or("the report names no violated directive")?;
    Ok(json!({
        "directive": directive,
        "blocked": blocked_origin(blocked.as_deref().unwrap_or("")),
        "source_file": source_file.filter(|s| s.starts_with("http://") || s.starts_with("https://")),
        "document": document,
        "disposition": disposition,
        "sample": sample.map(|s| s.chars().take(80).collect::<String>()),
        "line": line.and_then(Value::as_u64),
        "column": column.and_then(Value::as_u64),
    }))
}

/// What was blocked, as grouping wants it: a keyword (`inline`, `eval`,
/// `wasm-eval`, `data`, `blob`, `trusted-types-sink`…) or the origin of a
/// URL, never its path (one bad CDN is one group).
pub fn blocked_origin(uri: &str) -> String {
    let uri = uri.trim();
    if uri.is_empty() {
        return "inline".into();
    }
    let Some((scheme, rest)) = uri.split_once("://") else {
        // Keywords, and scheme-only values such as `data` or `blob:`.
        return uri
            .trim_end_matches(':')
            .split(':')
            .next()
            .unwrap_or(uri)
            .chars()
            .take(64)
            .collect();
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_reports() {
        // Chromium's report-uri body for an inline script.
        let report = json!({"csp-report": {
            "document-uri": "https://shop.example.com/checkout?session=abc",
            "referrer": "", "violated-directive": "script-src-elem",
            "effective-directive": "script-src-elem",
            "original-policy": "script-src 'nonce-r4nd0m' 'strict-dynamic'; report-uri /csp",
            "disposition": "enforce", "blocked-uri": "inline", "line-number": 12, "column-number": 5,
            "source-file": "https://shop.example.com/checkout", "status-code": 200, "script-sample": "alert(1)"}});
        assert_eq!(
            legacy(&report).unwrap(),
            [json!({"directive": "script-src-elem", "blocked": "inline",
                    "source_file": "https://shop.example.com/checkout",
                    "document": "https://shop.example.com/checkout?session=abc", "disposition": "enforce",
                    "sample": "alert(1)", "line": 12, "column": 5})]
        );
        // Firefox names the directive with its sources and no effective-directive.
        let firefox = json!({"csp-report": {"violated-directive": "img-src 'self'",
                                            "blocked-uri": "https://tracker.example.net/p.gif?u=1"}});
        let rows = legacy(&firefox).unwrap();
        assert_eq!(rows[0]["directive"], "img-src");
        assert_eq!(rows[0]["blocked"], "https://tracker.example.net");
        assert!(legacy(&json!({"report": {}})).is_err());
        assert!(legacy(&json!({"csp-report": {"blocked-uri": "eval"}})).is_err());
    }

    #[test]
    fn reporting_api_reports() {
        let delivery = json!([
            {"type": "csp-violation", "age": 10, "url": "https://shop.example.com/", "user_agent": "Chrome",
             "body": {"documentURL": "https://shop.example.com/", "blockedURL": "eval",
                      "effectiveDirective": "script-src", "disposition": "report", "sample": "",
                      "sourceFile": "https://cdn.example.com/app.js", "lineNumber": 1, "columnNumber": 99,
                      "statusCode": 200, "originalPolicy": "script-src 'self'"}},
            {"type": "deprecation", "url": "https://shop.example.com/", "body": {"id": "x"}}
        ]);
        let rows = reporting_api(&delivery).unwrap();
        assert_eq!(rows.len(), 1, "other report types are skipped");
        assert_eq!(rows[0]["blocked"], "eval");
        assert_eq!(rows[0]["source_file"], "https://cdn.example.com/app.js");
        assert!(reporting_api(&json!({"type": "csp-violation"})).is_err());
        assert!(reporting_api(&Value::Array(vec![delivery[0].clone(); 101])).is_err());
    }

    #[test]
    fn blocked_uris_group_by_origin() {
        assert_eq!(
            blocked_origin("https://CDN.example.com:8443/lib.js?v=1"),
            "https://cdn.example.com:8443"
        );
        assert_eq!(
            blocked_origin("https://user:pw@evil.example/x"),
            "https://evil.example"
        );
        assert_eq!(blocked_origin("data"), "data");
        assert_eq!(blocked_origin("data:image/png;base64,AAAA"), "data");
        assert_eq!(blocked_origin("blob:"), "blob");
        assert_eq!(blocked_origin("trusted-types-sink"), "trusted-types-sink");
        assert_eq!(blocked_origin(""), "inline");
    }
}
