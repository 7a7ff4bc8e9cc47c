//! Who is calling `ingest`: the origin CORS allows, and a per-client token
//! bucket. The buckets live in this function instance's memory (the WASM
//! module outlives a request), so the limit is per instance: a client
//! spread over several instances gets several buckets. The global bound is
//! the database's per-minute budgets for untrusted writers.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::protocol::Request;

/// Requests a client may send at once, and per second after that: a page
/// sends a handful of beacons and reports per view.
pub const BURST: f64 = 30.0;
pub const PER_SECOND: f64 = 1.0;
/// Clients remembered; past it the oldest half is forgotten.
const MAX_CLIENTS: usize = 10_000;

/// Whether `origin` may post, given `OBSERVE_ALLOWED_ORIGINS`
/// (comma-separated origins, or `*`).
pub fn origin_allowed(allowed: Option<&str>, origin: &str) -> bool {
    allowed.is_some_and(|list| {
        list.split(',')
            .map(|o| o.trim().trim_end_matches('/'))
            .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    })
}

/// The client a request comes from: the address the platform's proxy
/// reports (Cloudflare's header, else the first X-Forwarded-For hop), else
/// the connection's peer.
pub fn client_key(request: &Request) -> String {
    request
        .header("cf-connecting-ip")
        .or_else(|| {
            request
                .header("x-forwarded-for")
                .and_then(|f| f.split(',').next())
        })
        .or_else(|| request.header("x-real-ip"))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .unwrap_or(&request.meta.remote_addr)
        .chars()
        .take(64)
        .collect()
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
}

thread_local! {
    static BUCKETS: RefCell<HashMap<String, Bucket>> = RefCell::new(HashMap::new());
}

/// Takes one token from `client`'s bucket, or says in how many seconds one
/// will be there.
pub fn take(client: &str, now_ms: i64) -> Result<(), u64> {
    BUCKETS.with(|buckets| {
        let mut buckets = buckets.borrow_mut();
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(client) {
            let mut ages: Vec<i64> = buckets.values().map(|b| b.at_ms).collect();
            ages.sort_unstable();
            let cutoff = ages[ages.len() / 2];
            buckets.retain(|_, b| b.at_ms > cutoff);
        }
        let bucket = buckets.entry(client.to_owned()).or_insert(Bucket {
            tokens: BURST,
            at_ms: now_ms,
        });
        let elapsed = (now_ms - bucket.at_ms).max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * PER_SECOND).min(BURST);
        bucket.at_ms = now_ms;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / PER_SECOND).ceil().max(1.0) as u64)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_a_burst_then_its_rate() {
        let t0 = 1_000_000;
        for _ in 0..BURST as usize {
            assert!(take("198.51.100.1", t0).is_ok());
        }
        assert_eq!(take("198.51.100.1", t0), Err(1));
        assert!(
            take("198.51.100.2", t0).is_ok(),
            "another client has its own bucket"
        );
        assert!(take("198.51.100.1", t0 + 1000).is_ok(), "a token a second");
        assert!(take("198.51.100.1", t0 + 1000).is_err());
    }

    #[test]
    fn origins() {
        let list = Some("https://shop.example.com, https://www.example.com/");
        assert!(origin_allowed(list, "https://shop.example.com"));
        assert!(origin_allowed(list, "https://www.example.com"));
        assert!(!origin_allowed(list, "https://evil.example"));
        assert!(!origin_allowed(None, "https://shop.example.com"));
        assert!(origin_allowed(Some("*"), "https://any.example"));
    }
}
