//! What the benchmarks in `benches/throughput.rs` share: the corpus, its
//! generator, and the naive baselines that every measured function is
//! compared with in the same run.
//!
//! The baselines live here rather than in the benchmark so that tests can
//! check they do the same job: on inputs both handle alike, a baseline must
//! produce exactly the real function's output, or its ratio would compare
//! different work.

pub mod corpus;
pub mod generate;
pub mod naive;

#[cfg(test)]
mod tests {
    use std::fs;

    use pg_observe_core::normalize::normalize_message;
    use pg_observe_core::scrub::Scrubber;

    use super::naive::normalize::NaiveNormalizer;
    use super::naive::scrub::NaiveScrubber;
    use super::{corpus, generate};

    /// One per placeholder kind and per kept span the baseline implements.
    const NORMALIZE_AGREES: &[&str] = &[
        "Timeout after 3000ms for user 42",
        "Connection refused for maisey.thedog+tag@dogsaregreat.com",
        "FetchError: request to https://api.example.com/v1/users/42?expand=true failed, reason: socket hang up",
        "Error: getaddrinfo ENOTFOUND db.abcdefghijkl.supabase.co",
        "TypeError: user.id is undefined",
        "Error: connect ECONNREFUSED 127.0.0.1:5432",
        "no route to 2001:db8::8a2e:370:7334 via fe80::1%eth0",
        "blocked by rule for 10.0.0.0/8 and fc00::/7",
        "Option::unwrap() on Fee::add() and std::io::Error",
        "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "X-Amzn-Trace-Id: Root=1-67891233-abcdef012345678912345678",
        "Document 7c1811ed-e98f-4c9c-a9f9-58c757ff494f not found",
        "commit 5fc35719b9cf96ec602dbc748ff31c587a46961d is not an ancestor",
        "ETag \"0751007cd28df267e8e051b51f918c60\" does not match",
        "Token expired at 2024-01-15T10:30:00.123Z",
        "Job scheduled for 2024-01-15 10:30:00+01:00 was skipped",
        "Date: Mon, 02 Jan 2006 15:04:05 GMT",
        "Invalid Date: Mon Jan 02 2006 14:04:05 GMT-0800 (Pacific Standard Time)",
        "cron fired at 11:21 PM instead of 23:21:12",
        "can't compare datetime.datetime(2025, 6, 24, 18, 33, 0, 447640) to None",
        "TimeoutError: Navigation timeout of 30000 ms exceeded",
        "context deadline exceeded after 1m30.5s",
        "For security purposes, you can only request this after 42 seconds.",
        "Payload of 512 KiB exceeds 100 bytes",
        "Swift request tx274a77a8975c4a66aeb24-0052d95365-cluster01 failed",
        "Object at 0x7f3a2b1c4d50 is not JSON serializable",
        "build a93c7d2 failed",
        "session 3f2a expired",
        "scientific 1.5e-10 and 6.02E23",
        "Amount 1,234,567 exceeds limit 1,000 at lat -33.8688",
        "maisey-908 and 415-908",
        "price=19.99 qty=3 active=true name=\"Widget 3000\"",
        "Key (org_id, slug)=(42, my-post) already exists.",
        "Failing row contains (42, null, 2024-01-15 10:30:00+00, pending).",
        "invalid input syntax for type integer: \"abc\"",
        "KeyError: 'user_id'",
        "Request failed with status code 404",
        "HTTP/1.1 502 Bad Gateway",
        "GET https://api.stripe.com/v1/charges 404 (Not Found)",
        "signature: sha-256 mismatch for ed25519 key, charset iso-8859-1",
        "A quick brown fox",
    ];

    #[test]
    fn naive_normalize_gives_the_same_placeholders() {
        let naive = NaiveNormalizer::new();
        for &message in NORMALIZE_AGREES {
            assert_eq!(
                naive.normalize(message),
                normalize_message(message),
                "{message}"
            );
        }
    }

    const SCRUB_AGREES: &[&str] = &[
        "send to jane.doe@example.com now",
        "Authorization: Bearer abc123",
        "Authorization: Basic dXNlcjpwYXNz",
        "JWT expired: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "Invalid API Key provided: sk_live_51H8abcdEFGHijklMNOPqrstUVwx",
        "login failed password=hunter2 user=bob",
        "payment failed for 4242 4242 4242 4242 today",
        "could not connect to postgres://app:s3cr3t@db.internal:5432/prod",
        "TypeError: Cannot read properties of undefined (reading 'map')",
    ];

    #[test]
    fn naive_scrub_gives_the_same_markers() {
        let (naive, real) = (NaiveScrubber::new(), Scrubber::default());
        for &text in SCRUB_AGREES {
            assert_eq!(naive.scrub_text(text), real.scrub_text(text), "{text}");
        }
        let context = || {
            serde_json::json!({
                "user": { "email": "a@b.io", "password": "hunter2", "age": 42 },
                "headers": [{ "cookie": "sid=1" }, { "accept": "text/html" }],
                "a@b.io": null,
            })
        };
        let (mut scrubbed_naively, mut scrubbed) = (context(), context());
        naive.scrub_json(&mut scrubbed_naively);
        real.scrub_json(&mut scrubbed);
        assert_eq!(scrubbed_naively, scrubbed);
    }

    #[test]
    fn the_checked_in_corpus_is_what_the_generator_writes() {
        // Rerun `cargo run -p pg_observe_benches --bin gen_corpus` after
        // changing the generator.
        for (path, generated) in [
            (corpus::messages_path(), generate::messages()),
            (corpus::contexts_path(), generate::contexts()),
        ] {
            let checked_in = fs::read_to_string(&path).expect("corpus file");
            assert!(checked_in == generated, "{} is stale", path.display());
        }
    }

    #[test]
    fn the_corpus_loads_and_has_the_sizes_the_benchmarks_report() {
        assert_eq!(corpus::messages().len(), generate::MESSAGE_COUNT);
        assert_eq!(corpus::contexts().len(), generate::CONTEXT_COUNT);
        let stacks = corpus::stacks();
        assert!(stacks.len() >= 20, "{} stack fixtures", stacks.len());
        assert!(stacks
            .iter()
            .all(|s| pg_observe_core::stack::parse(&s.stack).is_some()));
    }
}
