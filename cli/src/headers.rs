//! `pg-observe headers`: strict security headers from `headers.toml`
//! (pg_observe_core::header_policy), written for Vercel (`vercel.json`),
//! Netlify (`_headers`), nginx or as plain `Name: value` lines, and graded
//! with the same code as `observe.grade_headers`.

use std::path::Path;

use base64::Engine;
use pg_observe_core::header_policy::{CspMode, HeaderPolicy};
use pg_observe_core::headers::{grade, Grade, Headers};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::CliError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Vercel,
    Netlify,
    Nginx,
    Plain,
}

/// Where nginx writes the per-request nonce into pages (`sub_filter`).
pub const NONCE_PLACEHOLDER: &str = "__CSP_NONCE__";

pub fn load_policy(path: Option<&Path>) -> Result<HeaderPolicy, CliError> {
    match path {
        None => Ok(HeaderPolicy::default()),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| CliError::Input(format!("cannot read {}: {e}", p.display())))?;
            toml::from_str(&text).map_err(|e| CliError::Input(format!("{}: {e}", p.display())))
        }
    }
}

/// SHA-256 sources of every inline `<script>` (no `src`) in the `.html`
/// files under `dir`, as browsers hash them: the exact text between the tags.
pub fn inline_script_hashes(dir: &Path) -> Result<Vec<String>, CliError> {
    let mut hashes = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .map_err(|e| CliError::Input(format!("cannot read {}: {e}", d.display())))?;
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "html" || x == "htm") {
                let html = std::fs::read_to_string(&p)
                    .map_err(|e| CliError::Input(format!("cannot read {}: {e}", p.display())))?;
                for script in inline_scripts(&html) {
                    let digest = Sha256::digest(script.as_bytes());
                    let h = format!(
                        "sha256-{}",
                        base64::engine::general_purpose::STANDARD.encode(digest)
                    );
                    if !hashes.contains(&h) {
                        hashes.push(h);
                    }
                }
            }
        }
    }
    Ok(hashes)
}

fn inline_scripts(html: &str) -> Vec<&str> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = lower[from..].find("<script").map(|i| i + from) {
        let Some(tag_end) = lower[open..].find('>').map(|i| i + open) else {
            break;
        };
        let Some(close) = lower[tag_end..].find("</script").map(|i| i + tag_end) else {
            break;
        };
        let tag = &lower[open..tag_end];
        let external = tag.split_whitespace().any(|a| a.starts_with("src="));
        let non_js =
            tag.contains("type=\"application/json\"") || tag.contains("type=application/json");
        if !external && !non_js {
            out.push(&html[tag_end + 1..close]);
        }
        from = close;
    }
    out
}

pub struct Generated {
    pub headers: Vec<(String, String)>,
    pub config: String,
    pub grade: Grade,
    /// The enforced policy's grade, when the output is report-only.
    pub enforced_grade: Option<Grade>,
}

fn graded(headers: &[(String, String)]) -> Result<Grade, CliError> {
    let h = Headers::from_pairs(headers.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .map_err(|e| CliError::Input(format!("generated headers do not grade: {e}")))?;
    Ok(grade(&h))
}

pub fn generate(
    policy: &HeaderPolicy,
    format: Format,
    nonce: Option<&str>,
) -> Result<Generated, CliError> {
    // Static formats cannot mint a nonce per response: hashes, unless the
    // policy insists on a nonce (refused below).
    let mut policy = policy.clone();
    if policy.csp.is_none() && matches!(format, Format::Vercel | Format::Netlify) {
        policy.csp = Some(CspMode::Hash);
    }
    let policy = &policy;
    let nonce = match (policy.csp.unwrap_or_default(), format, nonce) {
        (CspMode::Hash, _, _) => None,
        (CspMode::Nonce, Format::Nginx, None) => Some("$request_id"),
        (CspMode::Nonce, Format::Plain, None) => Some(NONCE_PLACEHOLDER),
        (CspMode::Nonce, Format::Vercel | Format::Netlify, _) => {
            return Err(CliError::Input(
                "a nonce-based CSP needs a fresh nonce per response, which static vercel.json / _headers \
                 cannot give: set csp = \"hash\" (with --hash-from <build dir>), or emit --format plain \
                 for middleware that sets the header with a fresh nonce"
                    .into(),
            ))
        }
        (CspMode::Nonce, _, given) => given,
    };
    let headers = policy
        .headers(nonce)
        .map_err(|e| CliError::Input(format!("header policy: {e}")))?;
    let grade = graded(&headers)?;
    let enforced_grade = if policy.report_only {
        Some(graded(&policy.enforced().headers(nonce).map_err(|e| {
            CliError::Input(format!("header policy: {e}"))
        })?)?)
    } else {
        None
    };
    let config = render(&headers, format);
    Ok(Generated {
        headers,
        config,
        grade,
        enforced_grade,
    })
}

fn render(headers: &[(String, String)], format: Format) -> String {
    match format {
        Format::Vercel => {
            let list: Vec<Value> = headers
                .iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect();
            let doc = json!({"headers": [{"source": "/(.*)", "headers": list}]});
            serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
        }
        Format::Netlify => {
            let mut out = String::from("/*\n");
            for (k, v) in headers {
                out.push_str(&format!("  {k}: {v}\n"));
            }
            out
        }
        Format::Nginx => {
            let mut out = String::new();
            for (k, v) in headers {
                out.push_str(&format!(
                    "add_header {k} \"{}\" always;\n",
                    v.replace('\\', "\\\\").replace('"', "\\\"")
                ));
            }
            if headers.iter().any(|(_, v)| v.contains("$request_id")) {
                out.push_str(&format!(
                    "# The nonce is nginx's per-request $request_id; pages carry {NONCE_PLACEHOLDER} where it goes:\n\
                     sub_filter_once off;\nsub_filter_types text/html;\nsub_filter '{NONCE_PLACEHOLDER}' $request_id;\n"
                ));
            }
            out
        }
        Format::Plain => headers.iter().map(|(k, v)| format!("{k}: {v}\n")).collect(),
    }
}

pub fn grade_summary(g: &Grade) -> String {
    let j = g.to_json();
    let mut out = format!(
        "grade {} (score {})",
        j["grade"].as_str().unwrap_or("?"),
        g.score
    );
    let findings: Vec<String> = j["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|f| f["severity"] != "info")
                .map(|f| {
                    format!(
                        "  {} [{}] {}",
                        f["id"].as_str().unwrap_or(""),
                        f["severity"].as_str().unwrap_or(""),
                        f["message"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if !findings.is_empty() {
        out.push('\n');
        out.push_str(&findings.join("\n"));
    }
    out
}

pub fn is_a_plus(g: &Grade) -> bool {
    g.to_json()["grade"] == "A+"
}

/// Fetches `url` and grades the headers of its answer.
pub fn grade_url(url: &str) -> Result<Grade, CliError> {
    let agent = ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(15))
        .build();
    let resp = match agent.get(url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(t)) => {
            return Err(CliError::Refused(format!("{url} does not answer: {t}")))
        }
    };
    let mut pairs = Vec::new();
    for name in resp.headers_names() {
        for v in resp.all(&name) {
            pairs.push((name.clone(), v.to_owned()));
        }
    }
    graded(&pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_inline_scripts_only() {
        let html = r#"<html><script>a()</script><script src="/x.js"></script>
            <SCRIPT type="module">b()</SCRIPT><script type="application/json">{}</script></html>"#;
        assert_eq!(inline_scripts(html), vec!["a()", "b()"]);
    }

    #[test]
    fn static_formats_refuse_a_nonce_and_hash_mode_grades_a_plus() {
        let nonce = HeaderPolicy {
            csp: Some(CspMode::Nonce),
            ..HeaderPolicy::default()
        };
        assert!(matches!(
            generate(&nonce, Format::Vercel, None),
            Err(CliError::Input(_))
        ));
        // Unset, the mode follows the format.
        let policy = HeaderPolicy::default();
        let vercel = generate(&policy, Format::Vercel, None).unwrap();
        assert!(
            vercel.config.contains("script-src 'none'"),
            "{}",
            vercel.config
        );
        let nginx = generate(&policy, Format::Nginx, None).unwrap();
        assert!(
            nginx
                .config
                .contains("'nonce-$request_id' 'strict-dynamic'"),
            "{}",
            nginx.config
        );
        assert!(is_a_plus(&nginx.grade), "{}", grade_summary(&nginx.grade));
        let policy = HeaderPolicy {
            csp: Some(CspMode::Hash),
            script_hashes: vec!["sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".into()],
            ..HeaderPolicy::default()
        };
        let vercel = generate(&policy, Format::Vercel, None).unwrap();
        let doc: Value = serde_json::from_str(&vercel.config).unwrap();
        assert_eq!(doc["headers"][0]["source"], "/(.*)");
        assert!(is_a_plus(&vercel.grade), "{}", grade_summary(&vercel.grade));
    }
}
