//! Shape rules for identifier-like fields. Free text (message, stack,
//! context) is never refused for its size — it is truncated and flagged
//! later — but identifiers end up in unique keys, filters and e-mail
//! subjects, where a truncated or multi-line value would silently change
//! what it names. Those are refused instead, with the field named.

use super::{EventError, EventInput};

pub const MAX_SERVICE: usize = 100;
pub const MAX_ENVIRONMENT: usize = 64;
pub const MAX_RELEASE: usize = 200;
pub const MAX_IDENTIFIER: usize = 256;
pub const MAX_TAGS: usize = 50;
pub const MAX_TAG_KEY: usize = 32;
pub const MAX_TAG_VALUE: usize = 200;
pub const MAX_FINGERPRINT_PARTS: usize = 32;
pub const MAX_FINGERPRINT_PART: usize = 512;

pub(super) fn event(event: &EventInput) -> Result<(), EventError> {
    if event.message.trim().is_empty() {
        return Err(EventError::invalid("message", "must not be empty"));
    }
    if let Some(service) = &event.service {
        identifier("service", service, MAX_SERVICE)?;
    }
    if let Some(environment) = &event.environment {
        self::environment(environment)?;
    }
    if let Some(release) = &event.release {
        identifier("release", release, MAX_RELEASE)?;
        if matches!(release.as_str(), "." | "..") {
            return Err(EventError::invalid(
                "release",
                "must not be \".\" or \"..\"",
            ));
        }
    }
    for (field, value) in [
        ("exception_type", &event.exception_type),
        ("user_ref", &event.user_ref),
        ("request_id", &event.request_id),
    ] {
        if let Some(value) = value {
            identifier(field, value, MAX_IDENTIFIER)?;
        }
    }
    tags(event)?;
    if let Some(parts) = &event.fingerprint {
        fingerprint(parts)?;
    }
    Ok(())
}

/// The environment rule every capture form shares (logs and request counts
/// too): an identifier without whitespace or '/'.
pub(crate) fn environment(environment: &str) -> Result<(), EventError> {
    identifier("environment", environment, MAX_ENVIRONMENT)?;
    if environment.contains(|c: char| c.is_whitespace() || c == '/') {
        return Err(EventError::invalid(
            "environment",
            "must not contain whitespace or '/' (documented values: development, staging, production, preview)",
        ));
    }
    Ok(())
}

pub(crate) fn identifier(field: &str, value: &str, max_chars: usize) -> Result<(), EventError> {
    if value.trim().is_empty() {
        return Err(EventError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max_chars {
        return Err(EventError::invalid(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(EventError::invalid(
            field,
            "must not contain control characters or line breaks",
        ));
    }
    Ok(())
}

fn tags(event: &EventInput) -> Result<(), EventError> {
    if event.tags.len() > MAX_TAGS {
        return Err(EventError::invalid(
            "tags",
            format!("must have at most {MAX_TAGS} entries"),
        ));
    }
    for (key, value) in &event.tags {
        let key_ok = !key.is_empty()
            && key.len() <= MAX_TAG_KEY
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
        if !key_ok {
            return Err(EventError::invalid(
                &format!("tags.{key}"),
                format!("key must be 1-{MAX_TAG_KEY} characters of letters, digits, '_', '.', ':' or '-'"),
            ));
        }
        if value.chars().count() > MAX_TAG_VALUE || value.chars().any(char::is_control) {
            return Err(EventError::invalid(
                &format!("tags.{key}"),
                format!("value must be at most {MAX_TAG_VALUE} characters on one line"),
            ));
        }
    }
    Ok(())
}

fn fingerprint(parts: &[String]) -> Result<(), EventError> {
    if parts.len() > MAX_FINGERPRINT_PARTS {
        return Err(EventError::invalid(
            "fingerprint",
            format!("must have at most {MAX_FINGERPRINT_PARTS} elements"),
        ));
    }
    if parts.iter().any(|p| p.len() > MAX_FINGERPRINT_PART) {
        return Err(EventError::invalid(
            "fingerprint",
            format!("elements must be at most {MAX_FINGERPRINT_PART} bytes"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(mutate: impl FnOnce(&mut EventInput)) -> Result<(), EventError> {
        let mut event = EventInput::new("boom");
        mutate(&mut event);
        event.validate()
    }

    fn rejects(field: &str, mutate: impl FnOnce(&mut EventInput)) {
        let err = check(mutate).expect_err("should be refused");
        assert!(err.to_string().contains(&format!("\"{field}")), "{err}");
    }

    #[test]
    fn accepts_a_plain_event_and_documented_environments() {
        assert!(check(|_| {}).is_ok());
        for env in ["development", "staging", "production", "preview", "pr-1234"] {
            assert!(check(|e| e.environment = Some(env.into())).is_ok(), "{env}");
        }
    }

    #[test]
    fn refuses_blank_messages() {
        rejects("message", |e| e.message = "   ".into());
    }

    #[test]
    fn refuses_malformed_identifiers_naming_the_field() {
        rejects("environment", |e| {
            e.environment = Some("prod uction".into())
        });
        rejects("environment", |e| e.environment = Some("a/b".into()));
        rejects("environment", |e| e.environment = Some("x".repeat(65)));
        rejects("release", |e| e.release = Some("1.0\n2.0".into()));
        rejects("release", |e| e.release = Some("..".into()));
        rejects("service", |e| e.service = Some(String::new()));
        rejects("user_ref", |e| e.user_ref = Some("x".repeat(257)));
        rejects("exception_type", |e| e.exception_type = Some("A\tB".into()));
    }

    #[test]
    fn refuses_bad_tags_and_fingerprints() {
        rejects("tags.bad key", |e| {
            e.tags.insert("bad key".into(), "v".into());
        });
        rejects("tags.k", |e| {
            e.tags.insert("k".into(), "v".repeat(201));
        });
        rejects("fingerprint", |e| {
            e.fingerprint = Some(vec!["x".into(); 33])
        });
    }
}
