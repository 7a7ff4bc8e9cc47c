//! Webhook signatures of the three providers, each checked over the body's
//! exact bytes with a constant-time comparison (`Mac::verify_slice`).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("the {0} header is malformed")]
    Malformed(&'static str),
    #[error("the signature does not match the body")]
    Mismatch,
    #[error("the timestamp is {0} s away from now; at most 300 s are accepted")]
    OutsideTolerance(i64),
}

/// Vercel: `x-vercel-signature` is the hex HMAC-SHA1 of the raw body, keyed
/// with the webhook's secret (https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks).
pub fn vercel(secret: &str, body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    const HEADER: &str = "x-vercel-signature";
    let given = header.ok_or(SignatureError::Missing(HEADER))?;
    let given = hex::decode(given.trim()).map_err(|_| SignatureError::Malformed(HEADER))?;
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    mac.verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch)
}

/// GitHub: `X-Hub-Signature-256` is `sha256=` and the hex HMAC-SHA256 of the
/// raw body (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
pub fn github(secret: &str, body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    const HEADER: &str = "x-hub-signature-256";
    let given = header.ok_or(SignatureError::Missing(HEADER))?;
    let given = given
        .trim()
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(SignatureError::Malformed(HEADER))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    mac.verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch)
}

/// Svix, which signs Resend's webhooks
/// (https://docs.svix.com/receiving/verifying-payloads/how-manual): the
/// key is the base64 after `whsec_`; the signed content is
/// `svix-id.svix-timestamp.body`; `svix-signature` lists space-separated
/// `v1,<base64 HMAC-SHA256>` entries (several while a secret rotates), any
/// of which may match; a timestamp more than five minutes from now is
/// refused, so a captured delivery cannot be replayed later.
pub struct SvixHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

pub const SVIX_TOLERANCE_S: i64 = 5 * 60;

pub fn svix(
    secret: &str,
    headers: &SvixHeaders<'_>,
    body: &[u8],
    now_s: i64,
) -> Result<(), SignatureError> {
    let id = headers.id.ok_or(SignatureError::Missing("svix-id"))?;
    let timestamp = headers
        .timestamp
        .ok_or(SignatureError::Missing("svix-timestamp"))?;
    let signatures = headers
        .signature
        .ok_or(SignatureError::Missing("svix-signature"))?;
    let sent_at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Malformed("svix-timestamp"))?;
    let skew = now_s - sent_at;
    if skew.abs() > SVIX_TOLERANCE_S {
        return Err(SignatureError::OutsideTolerance(skew));
    }
    let key = BASE64
        .decode(
            secret
                .trim()
                .strip_prefix("whsec_")
                .unwrap_or(secret.trim()),
        )
        .map_err(|_| SignatureError::Malformed("RESEND_WEBHOOK_SECRET"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.trim().as_bytes());
    mac.update(b".");
    mac.update(body);
    let candidates: Vec<Vec<u8>> = signatures
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|sig| BASE64.decode(sig).ok())
        .collect();
    if candidates.is_empty() {
        return Err(SignatureError::Malformed("svix-signature"));
    }
    if candidates
        .iter()
        .any(|sig| mac.clone().verify_slice(sig).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's published example: secret "It's a Secret to Everybody",
    /// payload "Hello, World!" (docs.github.com, "Validating webhook
    /// deliveries", "Testing the webhook payload validation").
    #[test]
    fn github_published_test_vector() {
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(
            github("It's a Secret to Everybody", b"Hello, World!", Some(header)),
            Ok(())
        );
        assert_eq!(
            github("It's a Secret to Everybody", b"Hello, World?", Some(header)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            github("another secret", b"Hello, World!", Some(header)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            github("s", b"x", Some("757107ea0eb2509fc211221cce984b8a")),
            Err(SignatureError::Malformed("x-hub-signature-256"))
        );
        assert_eq!(
            github("s", b"x", None),
            Err(SignatureError::Missing("x-hub-signature-256"))
        );
    }

    /// Svix's own test vector, used by every Svix library's test suite
    /// (svix-webhooks: `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`,
    /// `msg_p5jXN8AQM9LWM0D4loKWxJek`, 1614265330).
    #[test]
    fn svix_published_test_vector() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let headers = |signature| SvixHeaders {
            id: Some("msg_p5jXN8AQM9LWM0D4loKWxJek"),
            timestamp: Some("1614265330"),
            signature: Some(signature),
        };
        let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert_eq!(svix(secret, &headers(good), body, 1614265330), Ok(()));
        // Several signatures while a secret rotates: one valid is enough.
        let rotated = format!("v1,bm90IHRoZSBzaWduYXR1cmUgYXQgYWxsIQ== {good}");
        assert_eq!(svix(secret, &headers(&rotated), body, 1614265330), Ok(()));
        assert_eq!(
            svix(
                secret,
                &headers(good),
                br#"{"test": 2432232315}"#,
                1614265330
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            svix(secret, &headers(good), body, 1614265330 + 301),
            Err(SignatureError::OutsideTolerance(301))
        );
        assert_eq!(
            svix(secret, &headers(good), body, 1614265330 - 301),
            Err(SignatureError::OutsideTolerance(-301))
        );
        assert_eq!(svix(secret, &headers(good), body, 1614265330 + 300), Ok(()));
        assert_eq!(
            svix(secret, &headers("v2,abc"), body, 1614265330),
            Err(SignatureError::Malformed("svix-signature"))
        );
        let no_id = SvixHeaders {
            id: None,
            ..headers(good)
        };
        assert_eq!(
            svix(secret, &no_id, body, 1614265330),
            Err(SignatureError::Missing("svix-id"))
        );
    }

    /// Vercel publishes no test vector; this one was computed independently
    /// with `openssl dgst -sha1 -hmac whsec-vercel-example`.
    #[test]
    fn vercel_hmac_sha1_of_the_raw_body() {
        let body = br#"{"type":"deployment.created","id":"uQ4bXd4EwfG1pVbLkmRvEqQY"}"#;
        let header = "18f8a4ef14c138a8b33da3cdaa006095fdf1123b";
        assert_eq!(vercel("whsec-vercel-example", body, Some(header)), Ok(()));
        assert_eq!(
            vercel("whsec-vercel-example", &body[1..], Some(header)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            vercel("whsec-vercel-example", body, Some("not hex")),
            Err(SignatureError::Malformed("x-vercel-signature"))
        );
        assert_eq!(
            vercel("whsec-vercel-example", body, None),
            Err(SignatureError::Missing("x-vercel-signature"))
        );
    }
}
