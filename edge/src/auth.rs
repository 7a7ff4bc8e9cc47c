//! Who may call. Secrets are compared in constant time, and as SHA-256
//! digests so that not even their length shows in the timing.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::protocol::Request;

pub fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    Sha256::digest(given)
        .ct_eq(&Sha256::digest(expected))
        .into()
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(request: &Request) -> Option<&str> {
    let value = request.header("authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RequestMeta;

    fn with_authorization(value: &str) -> Request {
        Request {
            meta: RequestMeta {
                method: "POST".into(),
                route: "/".into(),
                headers: [("authorization".to_owned(), value.to_owned())].into(),
                body_too_large: false,
                remote_addr: String::new(),
                random: String::new(),
            },
            body: vec![],
        }
    }

    #[test]
    fn bearer_tokens() {
        assert_eq!(bearer(&with_authorization("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&with_authorization("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(&with_authorization("Basic abc")), None);
        assert_eq!(bearer(&with_authorization("Bearer ")), None);
        assert_eq!(bearer(&with_authorization("abc")), None);
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"s3cret-value", b"s3cret-value"));
        assert!(!same_secret(b"s3cret-valu", b"s3cret-value"));
        assert!(!same_secret(b"s3cret-value-", b"s3cret-value"));
        assert!(!same_secret(b"", b"s3cret-value"));
    }
}
