//! Which project key a request presents. SDKs put it in one of three
//! places: the `X-Sentry-Auth` header (server SDKs), the `sentry_key` query
//! parameter (browsers, whose `fetch` would otherwise need a preflight), or
//! the DSN in the envelope header (tunnels and relays). Read with
//! `sentry-types`' own parsers; the first place that has one wins.

use std::str::FromStr;

use sentry_types::{Auth, Dsn, ParseAuthError};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    #[error("the X-Sentry-Auth header is malformed: {0}")]
    Header(String),
    #[error("the sentry_key query parameter is malformed: {0}")]
    Query(String),
    #[error("the envelope header's dsn is not a DSN: {0}")]
    Dsn(String),
}

/// The public key, or None when the request presents none.
pub fn public_key(
    auth_header: Option<&str>,
    query: Option<&str>,
    envelope_dsn: Option<&str>,
) -> Result<Option<String>, AuthError> {
    if let Some(header) = auth_header.filter(|h| !h.trim().is_empty()) {
        return Auth::from_str(header.trim())
            .map(|auth| Some(auth.public_key().to_owned()))
            .map_err(|e| AuthError::Header(e.to_string()));
    }
    if let Some(query) = query {
        match Auth::from_querystring(query.as_bytes()) {
            Ok(auth) => return Ok(Some(auth.public_key().to_owned())),
            Err(ParseAuthError::MissingPublicKey) => {}
            Err(e) => return Err(AuthError::Query(e.to_string())),
        }
    }
    envelope_dsn
        .map(|dsn| {
            Dsn::from_str(dsn)
                .map(|dsn| dsn.public_key().to_owned())
                .map_err(|e| AuthError::Dsn(e.to_string()))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0d5d2ab07b3f4c3e9d1f1b8a64a2c5e1";

    #[test]
    fn each_place_sdks_put_the_key() {
        let header = format!(
            "Sentry sentry_key={KEY}, sentry_version=7, sentry_client=sentry.python/2.19.0"
        );
        assert_eq!(
            public_key(Some(&header), None, None).unwrap().as_deref(),
            Some(KEY)
        );
        let query = format!(
            "sentry_version=7&sentry_key={KEY}&sentry_client=sentry.javascript.browser%2F8.0.0"
        );
        assert_eq!(
            public_key(None, Some(&query), None).unwrap().as_deref(),
            Some(KEY)
        );
        let dsn = format!("https://{KEY}@example.supabase.co/functions/v1/ingest/7");
        assert_eq!(
            public_key(None, Some(""), Some(&dsn)).unwrap().as_deref(),
            Some(KEY)
        );
        assert_eq!(public_key(None, Some("a=b"), None).unwrap(), None);
    }

    #[test]
    fn the_header_wins_and_malformed_places_are_refused() {
        let header = format!("Sentry sentry_key={KEY}");
        let from_header = public_key(Some(&header), Some("sentry_key=other"), None).unwrap();
        assert_eq!(from_header.as_deref(), Some(KEY));
        assert!(public_key(Some("Bearer abc"), None, None).is_err());
        assert!(public_key(Some("Sentry sentry_version=7"), None, None).is_err());
        assert!(public_key(None, Some("sentry_key=k&sentry_version=x"), None).is_err());
        assert!(public_key(None, None, Some("not a url")).is_err());
    }
}
