//! Resend's API as documented (https://resend.com/docs/api-reference): the
//! request for one e-mail, what each response means for the notification,
//! and the pace the responses allow.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::email::{Email, Notification};
use crate::protocol::Command;

pub const DEFAULT_API_URL: &str = "https://api.resend.com";
/// `to` takes at most 50 addresses (POST /emails).
pub const MAX_RECIPIENTS: usize = 50;
/// "The default maximum rate limit is 2 requests per second per team"
/// (https://resend.com/docs/api-reference/rate-limit); the response headers
/// override it when present.
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 2;
const SEND_TIMEOUT_MS: u64 = 10_000;
/// Added to the spacing the limit allows: the provider counts requests when
/// they arrive, and arrival jitters by a few milliseconds.
const SPACING_MARGIN_MS: u64 = 25;
/// How long to wait before retrying a key whose first request is still in
/// flight (409 `concurrent_idempotent_requests`): Resend gives no figure.
const IN_FLIGHT_RETRY_MS: u64 = 5_000;

#[derive(Debug, Clone)]
pub struct Resend {
    pub api_url: String,
    pub api_key: String,
    pub from: String,
    /// MONITORING_ALERT_EMAIL: for notifications that name nobody.
    pub fallback_recipients: Vec<String>,
}

impl Resend {
    /// POST /emails with the notification's idempotency key, or why it can
    /// never be sent.
    pub fn request(&self, n: &Notification, email: &Email) -> Result<Command, String> {
        let to: Vec<&str> = if n.recipients.is_empty() {
            self.fallback_recipients
                .iter()
                .map(String::as_str)
                .collect()
        } else {
            n.recipients.iter().map(String::as_str).collect()
        };
        if to.is_empty() {
            return Err(
                "no recipients: the notification names none and MONITORING_ALERT_EMAIL is not set"
                    .to_owned(),
            );
        }
        if to.len() > MAX_RECIPIENTS {
            return Err(format!(
                "{} recipients; Resend sends to at most {MAX_RECIPIENTS}",
                to.len()
            ));
        }
        let mut tags = vec![tag("notification", &n.id), tag("kind", &n.kind)];
        if let Some(rule) = &n.rule_id {
            tags.push(tag("rule", &rule.to_string()));
        }
        let body = json!({
            "from": self.from,
            "to": to,
            "subject": email.subject,
            "html": email.html,
            "text": email.text,
            "tags": tags,
        });
        let headers: BTreeMap<String, String> = [
            ("authorization", format!("Bearer {}", self.api_key)),
            ("content-type", "application/json".to_owned()),
            ("idempotency-key", n.idempotency_key.clone()),
            ("user-agent", "pg_observe-alert-dispatch".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Ok(Command::Http {
            method: "POST",
            url: format!("{}/emails", self.api_url.trim_end_matches('/')),
            headers,
            body: body.to_string(),
            timeout_ms: SEND_TIMEOUT_MS,
        })
    }
}

/// Tag names and values may hold only ASCII letters, digits, `_` and `-`
/// (POST /emails, `tags`).
fn tag(name: &str, value: &str) -> Value {
    let clean: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(256)
        .collect();
    json!({ "name": name, "value": clean })
}

/// What a response means for the notification.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Sent {
        id: String,
    },
    /// Send the same request again after `after_ms`, within this claim: the
    /// request was refused for pace alone (429 `rate_limit_exceeded`).
    Paced {
        after_ms: u64,
        reason: String,
    },
    /// Try again later, after `after_ms` or the outbox's backoff when None.
    /// `quota`: nothing more can be sent until then.
    Retry {
        after_ms: Option<u64>,
        reason: String,
        quota: bool,
    },
    /// Never: the dead-letter reason, with the provider's message.
    Dead {
        reason: String,
    },
}

/// The documented error body: `{statusCode, name, message}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorBody {
    name: String,
    message: String,
}

pub fn classify(
    status: u16,
    headers: &BTreeMap<String, String>,
    body: &str,
    now_ms: i64,
) -> Verdict {
    if (200..300).contains(&status) {
        #[derive(Deserialize)]
        struct Sent {
            id: String,
        }
        return match serde_json::from_str::<Sent>(body) {
            Ok(sent) if !sent.id.is_empty() => Verdict::Sent { id: sent.id },
            _ => Verdict::Retry {
                after_ms: None,
                reason: format!("Resend answered {status} without an email id"),
                quota: false,
            },
        };
    }
    let error: ErrorBody = serde_json::from_str(body).unwrap_or_else(|_| ErrorBody {
        name: String::new(),
        message: body.chars().take(500).collect(),
    });
    let reason = format!("Resend {status} {}: {}", error.name, error.message)
        .trim()
        .to_owned();
    let wait = retry_after_ms(headers, now_ms);
    match (status, error.name.as_str()) {
        (429, "daily_quota_exceeded") => Verdict::Retry {
            after_ms: Some(wait.unwrap_or_else(|| until_next_day(now_ms))),
            reason,
            quota: true,
        },
        (429, "monthly_quota_exceeded") => Verdict::Retry {
            after_ms: Some(wait.unwrap_or_else(|| until_next_month(now_ms))),
            reason,
            quota: true,
        },
        (429, _) => Verdict::Paced {
            after_ms: wait.unwrap_or(1_000),
            reason,
        },
        (409, "invalid_idempotent_request") => Verdict::Dead { reason },
        (409, "concurrent_idempotent_requests") => Verdict::Retry {
            after_ms: Some(wait.unwrap_or(IN_FLIGHT_RETRY_MS)),
            reason,
            quota: false,
        },
        (400..=499, _) => Verdict::Dead { reason },
        _ => Verdict::Retry {
            after_ms: None,
            reason,
            quota: false,
        },
    }
}

/// `retry-after` (seconds or an HTTP date), else `ratelimit-reset`
/// (seconds), in milliseconds from now.
fn retry_after_ms(headers: &BTreeMap<String, String>, now_ms: i64) -> Option<u64> {
    if let Some(value) = headers.get("retry-after").map(|v| v.trim()) {
        if let Ok(seconds) = value.parse::<f64>() {
            if seconds.is_finite() && seconds >= 0.0 {
                return Some((seconds * 1000.0).ceil() as u64);
            }
        }
        if let Ok(at) = DateTime::parse_from_rfc2822(value) {
            return Some((at.timestamp_millis() - now_ms).max(0) as u64);
        }
    }
    headers
        .get("ratelimit-reset")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| (s * 1000.0).ceil() as u64)
}

fn utc(now_ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(now_ms).unwrap_or_default()
}

fn until(now_ms: i64, date: Option<NaiveDate>) -> u64 {
    date.and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| (t.and_utc().timestamp_millis() - now_ms).max(0) as u64)
        .unwrap_or(86_400_000)
}

fn until_next_day(now_ms: i64) -> u64 {
    until(now_ms, Some(utc(now_ms).date_naive() + Duration::days(1)))
}

fn until_next_month(now_ms: i64) -> u64 {
    let today = utc(now_ms).date_naive();
    let (year, month) = if today.month() == 12 {
        (today.year() + 1, 1)
    } else {
        (today.year(), today.month() + 1)
    };
    until(now_ms, NaiveDate::from_ymd_opt(year, month, 1))
}

/// Spaces requests so that the rate limit is never hit in steady state:
/// one request per `1000 / ratelimit-limit` ms (and a margin), none before the window
/// resets once `ratelimit-remaining` reaches 0, none before `retry-after`
/// after a 429.
#[derive(Debug, Clone)]
pub struct Pace {
    interval_ms: u64,
    next_at_ms: i64,
}

impl Default for Pace {
    fn default() -> Pace {
        Pace {
            interval_ms: 1000 / u64::from(DEFAULT_REQUESTS_PER_SECOND) + SPACING_MARGIN_MS,
            next_at_ms: i64::MIN,
        }
    }
}

impl Pace {
    pub fn interval_ms(&self) -> u64 {
        self.interval_ms
    }

    /// How long to wait before the next request may go.
    pub fn wait_ms(&self, now_ms: i64) -> u64 {
        (self.next_at_ms.saturating_sub(now_ms)).max(0) as u64
    }

    /// A request goes now.
    pub fn sent(&mut self, now_ms: i64) {
        self.next_at_ms = now_ms + self.interval_ms as i64;
    }

    /// The response to that request arrived.
    pub fn observe(&mut self, status: u16, headers: &BTreeMap<String, String>, now_ms: i64) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|n| n.is_finite() && *n >= 0.0)
        };
        if let Some(limit) = number("ratelimit-limit").filter(|l| *l >= 1.0) {
            self.interval_ms = (1000.0 / limit).ceil() as u64 + SPACING_MARGIN_MS;
        }
        // ratelimit-reset counts whole seconds, so for a window of about a
        // second it says no more than the spacing above already does (and,
        // rounded up, it would halve the pace). A longer reset with nothing
        // remaining means others spent the team's shared limit: wait it out.
        if number("ratelimit-remaining") == Some(0.0) {
            if let Some(reset) = number("ratelimit-reset").filter(|r| *r > 1.0) {
                self.hold_until(now_ms + (reset * 1000.0).ceil() as i64);
            }
        }
        if status == 429 {
            if let Some(wait) = retry_after_ms(headers, now_ms) {
                self.hold_until(now_ms + wait as i64);
            }
        }
    }

    pub fn hold_until(&mut self, at_ms: i64) {
        self.next_at_ms = self.next_at_ms.max(at_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_493_200_000; // 2025-11-30T09:00:00Z

    fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn error(status: u16, name: &str) -> String {
        json!({"statusCode": status, "name": name, "message": format!("{name} happened")})
            .to_string()
    }

    #[test]
    fn success_carries_the_email_id() {
        let v = classify(
            200,
            &headers(&[]),
            r#"{"id":"49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"}"#,
            NOW,
        );
        assert_eq!(
            v,
            Verdict::Sent {
                id: "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794".into()
            }
        );
        assert!(matches!(
            classify(200, &headers(&[]), "{}", NOW),
            Verdict::Retry { after_ms: None, .. }
        ));
    }

    #[test]
    fn rate_limited_requests_are_paced_by_retry_after() {
        let v = classify(
            429,
            &headers(&[("retry-after", "2")]),
            &error(429, "rate_limit_exceeded"),
            NOW,
        );
        assert!(matches!(v, Verdict::Paced { after_ms: 2000, .. }), "{v:?}");
        let v = classify(
            429,
            &headers(&[("ratelimit-reset", "1")]),
            &error(429, "rate_limit_exceeded"),
            NOW,
        );
        assert!(matches!(v, Verdict::Paced { after_ms: 1000, .. }), "{v:?}");
        let v = classify(
            429,
            &headers(&[("retry-after", "Sun, 30 Nov 2025 09:00:03 GMT")]),
            "",
            NOW,
        );
        assert!(matches!(v, Verdict::Paced { after_ms: 3000, .. }), "{v:?}");
    }

    #[test]
    fn quotas_wait_for_their_reset() {
        let v = classify(429, &headers(&[]), &error(429, "daily_quota_exceeded"), NOW);
        assert_eq!(
            v,
            Verdict::Retry {
                after_ms: Some(15 * 3600 * 1000),
                reason: "Resend 429 daily_quota_exceeded: daily_quota_exceeded happened".into(),
                quota: true
            }
        );
        let v = classify(
            429,
            &headers(&[]),
            &error(429, "monthly_quota_exceeded"),
            NOW,
        );
        assert!(
            matches!(v, Verdict::Retry { after_ms: Some(ms), quota: true, .. } if ms == 15 * 3600 * 1000),
            "{v:?}"
        );
        let v = classify(
            429,
            &headers(&[("retry-after", "60")]),
            &error(429, "daily_quota_exceeded"),
            NOW,
        );
        assert!(
            matches!(
                v,
                Verdict::Retry {
                    after_ms: Some(60_000),
                    quota: true,
                    ..
                }
            ),
            "{v:?}"
        );
    }

    #[test]
    fn idempotency_conflicts() {
        let v = classify(
            409,
            &headers(&[]),
            &error(409, "concurrent_idempotent_requests"),
            NOW,
        );
        assert!(
            matches!(
                v,
                Verdict::Retry {
                    after_ms: Some(IN_FLIGHT_RETRY_MS),
                    quota: false,
                    ..
                }
            ),
            "{v:?}"
        );
        let v = classify(
            409,
            &headers(&[]),
            &error(409, "invalid_idempotent_request"),
            NOW,
        );
        assert!(matches!(v, Verdict::Dead { .. }), "{v:?}");
    }

    #[test]
    fn client_errors_are_dead_with_the_providers_message() {
        for (status, name) in [
            (400, "validation_error"),
            (400, "invalid_idempotency_key"),
            (401, "missing_api_key"),
            (403, "invalid_api_key"),
            (403, "validation_error"),
            (404, "not_found"),
            (405, "method_not_allowed"),
            (422, "invalid_parameter"),
            (422, "missing_required_field"),
        ] {
            match classify(status, &headers(&[]), &error(status, name), NOW) {
                Verdict::Dead { reason } => {
                    assert!(
                        reason.contains(name)
                            && reason.contains("happened")
                            && reason.contains(&status.to_string()),
                        "{reason}"
                    )
                }
                other => panic!("{status} {name}: {other:?}"),
            }
        }
    }

    #[test]
    fn server_errors_retry_with_the_outbox_backoff() {
        for status in [500, 502, 503, 504] {
            let v = classify(
                status,
                &headers(&[]),
                &error(status, "internal_server_error"),
                NOW,
            );
            assert!(
                matches!(
                    v,
                    Verdict::Retry {
                        after_ms: None,
                        quota: false,
                        ..
                    }
                ),
                "{v:?}"
            );
        }
        let v = classify(502, &headers(&[]), "<html>bad gateway</html>", NOW);
        assert!(
            matches!(&v, Verdict::Retry { reason, .. } if reason.contains("bad gateway")),
            "{v:?}"
        );
    }

    #[test]
    fn pace_follows_the_headers() {
        let mut pace = Pace::default();
        assert_eq!(pace.wait_ms(NOW), 0);
        pace.sent(NOW);
        assert_eq!(
            pace.wait_ms(NOW),
            500 + SPACING_MARGIN_MS,
            "2 requests per second by default"
        );
        pace.observe(
            200,
            &headers(&[("ratelimit-limit", "5"), ("ratelimit-remaining", "4")]),
            NOW + 10,
        );
        pace.sent(NOW + 10);
        assert_eq!(
            pace.wait_ms(NOW + 10),
            200 + SPACING_MARGIN_MS,
            "ratelimit-limit sets the pace"
        );
        pace.observe(
            200,
            &headers(&[
                ("ratelimit-limit", "5"),
                ("ratelimit-remaining", "0"),
                ("ratelimit-reset", "1"),
            ]),
            NOW + 20,
        );
        assert_eq!(
            pace.wait_ms(NOW + 20),
            190 + SPACING_MARGIN_MS,
            "a one-second window is kept by the spacing alone"
        );
        pace.observe(
            200,
            &headers(&[
                ("ratelimit-limit", "5"),
                ("ratelimit-remaining", "0"),
                ("ratelimit-reset", "4"),
            ]),
            NOW + 20,
        );
        assert_eq!(
            pace.wait_ms(NOW + 20),
            4000,
            "a spent limit with a longer reset is waited out"
        );
        let mut pace = Pace::default();
        pace.observe(429, &headers(&[("retry-after", "3")]), NOW + 30);
        assert_eq!(pace.wait_ms(NOW + 30), 3000, "a 429 waits for retry-after");
    }

    #[test]
    fn the_request_follows_the_documented_shape() {
        let n: Notification = serde_json::from_value(json!({
            "id": "7d0c2a5e-0000-4000-8000-000000000001", "kind": "firing", "subject": "s",
            "idempotency_key": "rule-1/firing/1", "recipients": [], "rule_id": 7
        }))
        .unwrap();
        let email = Email {
            subject: "s".into(),
            html: "<p>h</p>".into(),
            text: "t".into(),
        };
        let resend = Resend {
            api_url: "http://127.0.0.1:1/".into(),
            api_key: "re_test".into(),
            from: "alerts@example.com".into(),
            fallback_recipients: vec!["ops@example.com".into()],
        };
        let Ok(Command::Http {
            method,
            url,
            headers,
            body,
            ..
        }) = resend.request(&n, &email)
        else {
            panic!()
        };
        assert_eq!(
            (method, url.as_str()),
            ("POST", "http://127.0.0.1:1/emails")
        );
        assert_eq!(headers["authorization"], "Bearer re_test");
        assert_eq!(headers["idempotency-key"], "rule-1/firing/1");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["to"], json!(["ops@example.com"]));
        assert_eq!(body["from"], "alerts@example.com");
        assert_eq!(
            body["tags"][0],
            json!({"name": "notification", "value": "7d0c2a5e-0000-4000-8000-000000000001"})
        );
        assert_eq!(body["tags"][2], json!({"name": "rule", "value": "7"}));

        let nobody = Resend {
            fallback_recipients: vec![],
            ..resend.clone()
        };
        assert!(nobody
            .request(&n, &email)
            .unwrap_err()
            .contains("no recipients"));
    }
}
