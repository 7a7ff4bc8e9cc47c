//! Message normalization through its public API: realistic messages,
//! Sentry's own parameterization suite, and properties (idempotence,
//! grouping, placeholders) on generated text.

use std::borrow::Cow;

use pg_observe_core::normalize::normalize_message;
use proptest::prelude::*;

fn check(cases: &[(&str, &str)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|&(input, expected)| {
            let got = normalize_message(input);
            (got != expected).then(|| {
                format!("\n  input:    {input:?}\n  expected: {expected:?}\n  got:      {got:?}")
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:{}",
        failures.len(),
        cases.len(),
        failures.concat()
    );
}

/// Realistic messages, one kind or one must-survive rule per group.
const MESSAGES: &[(&str, &str)] = &[
    // The example from the requirements.
    ("Timeout after 3000ms for user 42", "Timeout after <duration> for user <int>"),
    // email
    ("Connection refused for maisey.thedog+tag@dogsaregreat.com", "Connection refused for <email>"),
    ("Password reset failed: user=bob@example.io", "Password reset failed: user=<email>"),
    ("Mail from <noreply@mail.example.org> bounced", "Mail from <<email>> bounced"),
    // url: any scheme; quotes, trailing punctuation and unbalanced brackets stay outside
    ("FetchError: request to https://api.example.com/v1/users/42?expand=true failed, reason: socket hang up", "FetchError: request to <url> failed, reason: socket hang up"),
    ("see (https://example.com/docs/errors#42).", "see (<url>)."),
    (r#"Could not reach "https://x.supabase.co/rest/v1/orders", retrying"#, r#"Could not reach "<url>", retrying"#),
    ("redis://default:secret@cache.internal:6379/0 unreachable", "<url> unreachable"),
    ("tcp://dogsaregreat.com:10 had a problem", "<url> had a problem"),
    // hostname: the longest name; code-like TLDs need two labels before them...
    ("Error: getaddrinfo ENOTFOUND db.abcdefghijkl.supabase.co", "Error: getaddrinfo ENOTFOUND <hostname>"),
    ("getaddrinfo EAI_AGAIN www.google.com.au", "getaddrinfo EAI_AGAIN <hostname>"),
    ("no healthy upstream for db-5.supabase.co-replica", "no healthy upstream for <hostname>-replica"),
    ("Invalid host header: api.example.app", "Invalid host header: <hostname>"),
    // ...so property paths and source file names survive
    ("TypeError: user.id is undefined", "TypeError: user.id is undefined"),
    ("TypeError: logger.info is not a function", "TypeError: logger.info is not a function"),
    ("thread 'main' panicked at src/main.rs:42:5: called `Option::unwrap()` on a `None` value", "thread 'main' panicked at src/main.rs:<int>:<int>: called `Option::unwrap()` on a `None` value"),
    // ip: v4, v6, zones, CIDR; ports stay separate
    ("Error: connect ECONNREFUSED 127.0.0.1:5432", "Error: connect ECONNREFUSED <ip>:<int>"),
    ("dial tcp 10.0.0.12:6379: i/o timeout", "dial tcp <ip>:<int>: i/o timeout"),
    ("listen tcp [::1]:8080: bind: address already in use", "listen tcp [<ip>]:<int>: bind: address already in use"),
    ("no route to 2001:db8::8a2e:370:7334 via fe80::1%eth0", "no route to <ip> via <ip>"),
    ("blocked by rule for 10.0.0.0/8 and fc00::/7", "blocked by rule for <ip> and <ip>"),
    // ...but scope operators are not addresses
    ("Option::unwrap() on Fee::add() and std::io::Error", "Option::unwrap() on Fee::add() and std::io::Error"),
    // traceparent
    ("traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "traceparent: <traceparent>"),
    ("X-Amzn-Trace-Id: Root=1-67891233-abcdef012345678912345678", "X-Amzn-Trace-Id: Root=<traceparent>"),
    // uuid, sha1, md5
    ("Document 7c1811ed-e98f-4c9c-a9f9-58c757ff494f not found", "Document <uuid> not found"),
    ("Document 7C1811ED-E98F-4C9C-A9F9-58C757FF494F not found", "Document <uuid> not found"),
    ("commit 5fc35719b9cf96ec602dbc748ff31c587a46961d is not an ancestor", "commit <sha1> is not an ancestor"),
    (r#"ETag "0751007cd28df267e8e051b51f918c60" does not match"#, r#"ETag "<md5>" does not match"#),
    // date
    ("Token expired at 2024-01-15T10:30:00.123Z", "Token expired at <date>"),
    ("Job scheduled for 2024-01-15 10:30:00+01:00 was skipped", "Job scheduled for <date> was skipped"),
    ("Date: Mon, 02 Jan 2006 15:04:05 GMT", "Date: <date>"),
    ("Invalid Date: Mon Jan 02 2006 14:04:05 GMT-0800 (Pacific Standard Time)", "Invalid Date: <date>"),
    ("Report for Jan 18, 2019 failed", "Report for <date> failed"),
    ("backup 2024-01-15 missing", "backup <date> missing"),
    ("cron fired at 11:21 PM instead of 23:21:12", "cron fired at <date> instead of <date>"),
    ("can't compare datetime.datetime(2025, 6, 24, 18, 33, 0, 447640) to None", "can't compare <date> to None"),
    // duration, whatever the unit
    ("AxiosError: timeout of 30000ms exceeded", "AxiosError: timeout of <duration> exceeded"),
    ("TimeoutError: Navigation timeout of 30000 ms exceeded", "TimeoutError: Navigation timeout of <duration> exceeded"),
    ("Error: Query read timeout after 1.5s", "Error: Query read timeout after <duration>"),
    ("context deadline exceeded after 1m30.5s", "context deadline exceeded after <duration>"),
    ("operation took 250 µs", "operation took <duration>"),
    ("For security purposes, you can only request this after 42 seconds.", "For security purposes, you can only request this after <duration>."),
    ("Lock wait exceeded 5 min", "Lock wait exceeded <duration>"),
    // size
    ("File too large: 12MB exceeds limit of 10MB", "File too large: <size> exceeds limit of <size>"),
    ("Payload of 512 KiB exceeds 100 bytes", "Payload of <size> exceeds <size>"),
    // swift_txn_id, hex, git_sha
    ("Swift request tx274a77a8975c4a66aeb24-0052d95365-cluster01 failed", "Swift request <swift_txn_id> failed"),
    ("Object at 0x7f3a2b1c4d50 is not JSON serializable", "Object at <hex> is not JSON serializable"),
    ("segfault at 7ffd5e8c4a10 ip 00007f3a2b1c4d50 error 4", "segfault at <hex> ip <hex> error <int>"),
    ("build a93c7d2 failed", "build <git_sha> failed"),
    ("session 3f2a expired", "session <hex> expired"),
    // float and int: any length, thousands separators, exponents, a minus only when not glued
    ("Order 9999999 not found", "Order <int> not found"),
    ("Order 123 not found", "Order <int> not found"),
    ("Order 10000000 not found", "Order <int> not found"),
    ("Balance -42 below limit -12345678", "Balance <int> below limit <int>"),
    ("Amount 1,234,567 exceeds limit 1,000", "Amount <int> exceeds limit <int>"),
    ("lat -33.8688 lon 151.2093", "lat <float> lon <float>"),
    ("scientific 1.5e-10 and 6.02E23", "scientific <float> and <float>"),
    ("build 2.14.0 vs 2.15.1", "build <float>.<int> vs <float>.<int>"),
    ("Dog number 1, #1 dog", "Dog number <int>, #<int> dog"),
    ("maisey-908 and 415-908", "maisey-<int> and <int>-<int>"),
    ("Cache miss for key user:42:profile", "Cache miss for key user:<int>:profile"),
    // quoted_str and bool right after `=` only
    (r#"price=19.99 qty=3 active=true name="Widget 3000""#, "price=<float> qty=<int> active=<bool> name=<quoted_str>"),
    (r#"b = '1' and b = "1""#, r#"b = '<int>' and b = "<int>""#),
    // PostgreSQL: the names of what failed survive, the values go
    (r#"duplicate key value violates unique constraint "users_email_key""#, r#"duplicate key value violates unique constraint "users_email_key""#),
    ("Key (email)=(a@b.com) already exists.", "Key (email)=(<value>) already exists."),
    ("Key (org_id, slug)=(42, my-post) already exists.", "Key (org_id, slug)=(<value>) already exists."),
    ("Key (lower(email::text))=(Bob@Example.com) already exists.", "Key (lower(email::text))=(<value>) already exists."),
    (r#"Key (user_id)=(8f14e45f-ceea-467f-a0e6-5e6b2f7c7a10) is not present in table "users"."#, r#"Key (user_id)=(<value>) is not present in table "users"."#),
    ("Failing row contains (42, null, 2024-01-15 10:30:00+00, pending).", "Failing row contains (<value>)."),
    (r#"relation "public.orders" does not exist"#, r#"relation "public.orders" does not exist"#),
    (r#"relation "public.info" does not exist"#, r#"relation "public.info" does not exist"#),
    (r#"relation "orders_2023" does not exist"#, r#"relation "orders_2023" does not exist"#),
    (r#"column "foo" of relation "bar" does not exist"#, r#"column "foo" of relation "bar" does not exist"#),
    ("column u.id does not exist", "column u.id does not exist"),
    ("function observe.x(integer) does not exist", "function observe.x(integer) does not exist"),
    ("function pg_catalog.substring(numeric(10,2), integer) does not exist", "function pg_catalog.substring(numeric(10,2), integer) does not exist"),
    (r#"null value in column "email" of relation "users" violates not-null constraint"#, r#"null value in column "email" of relation "users" violates not-null constraint"#),
    (r#"insert or update on table "orders" violates foreign key constraint "orders_user_id_fkey""#, r#"insert or update on table "orders" violates foreign key constraint "orders_user_id_fkey""#),
    (r#"new row violates row-level security policy for table "documents""#, r#"new row violates row-level security policy for table "documents""#),
    ("permission denied for table orders", "permission denied for table orders"),
    (r#"invalid input syntax for type integer: "abc""#, "invalid input syntax for type integer: <quoted_str>"),
    (r#"invalid input syntax for type uuid: "123""#, "invalid input syntax for type uuid: <quoted_str>"),
    (r#"invalid input value for enum mood: "happy""#, "invalid input value for enum mood: <quoted_str>"),
    (r#"invalid value for parameter "TimeZone": "Mars/Olympus""#, r#"invalid value for parameter "TimeZone": <quoted_str>"#),
    ("value too long for type character varying(255)", "value too long for type character varying(<int>)"),
    ("Process 12345 waits for ShareLock on transaction 67890; blocked by process 54321.", "Process <int> waits for ShareLock on transaction <int>; blocked by process <int>."),
    (r#"could not extend file "base/16384/2619": No space left on device"#, r#"could not extend file "base/<int>/<int>": No space left on device"#),
    (r#"connection to server at "db.abc.supabase.co" (1.2.3.4), port 5432 failed: FATAL: password authentication failed for user "postgres""#, r#"connection to server at "<hostname>" (<ip>), port <int> failed: FATAL: password authentication failed for user "postgres""#),
    // Supabase / PostgREST
    ("JWT expired", "JWT expired"),
    ("canceling statement due to statement timeout", "canceling statement due to statement timeout"),
    ("Could not find the function public.get_stats(p_days) in the schema cache", "Could not find the function public.get_stats(p_days) in the schema cache"),
    ("JSON object requested, multiple (or no) rows returned", "JSON object requested, multiple (or no) rows returned"),
    ("The result contains 0 rows", "The result contains <int> rows"),
    // HTTP status codes are kept, other numbers are not
    ("Request failed with status code 404", "Request failed with status code 404"),
    ("HTTP error! status: 503", "HTTP error! status: 503"),
    ("GET https://api.stripe.com/v1/charges 404 (Not Found)", "GET <url> 404 (Not Found)"),
    ("HTTP/1.1 502 Bad Gateway", "HTTP/1.1 502 Bad Gateway"),
    ("upstream returned 429 Too Many Requests", "upstream returned 429 Too Many Requests"),
    ("exited with code 137", "exited with code <int>"),
    // Python
    ("KeyError: 'user_id'", "KeyError: 'user_id'"),
    ("ValueError: invalid literal for int() with base 10: 'abc'", "ValueError: invalid literal for int() with base <int>: <quoted_str>"),
    ("UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 1234: invalid start byte", "UnicodeDecodeError: 'utf-8' codec can't decode byte <hex> in position <int>: invalid start byte"),
    ("AttributeError: 'NoneType' object has no attribute 'id'", "AttributeError: 'NoneType' object has no attribute 'id'"),
    ("ModuleNotFoundError: No module named 'foo.info'", "ModuleNotFoundError: No module named 'foo.info'"),
    // Numbered identifiers, standard names and scrubber markers survive
    ("users_2023 v8 utf8mb4 ipv4 sha256 x86_64 http2 es2015 k8s ec2", "users_2023 v8 utf8mb4 ipv4 sha256 x86_64 http2 es2015 k8s ec2"),
    ("signature: sha-256 mismatch for ed25519 key, charset iso-8859-1", "signature: sha-256 mismatch for ed25519 key, charset iso-8859-1"),
    ("[Filtered] [email] [jwt] [card] [ip] [api_key] were scrubbed", "[Filtered] [email] [jwt] [card] [ip] [api_key] were scrubbed"),
    ("user=[Filtered] password=[Filtered]", "user=[Filtered] password=[Filtered]"),
    // JavaScript
    ("Uncaught (in promise) Error: Minified React error #418; visit https://reactjs.org/docs/error-decoder.html?invariant=418 for the full message", "Uncaught (in promise) Error: Minified React error #<int>; visit <url> for the full message"),
    ("Loading chunk 1234 failed.", "Loading chunk <int> failed."),
    ("Unexpected token < in JSON at position 0", "Unexpected token < in JSON at position <int>"),
    // Nothing to replace
    ("A quick brown fox", "A quick brown fox"),
];

#[test]
fn realistic_messages() {
    check(MESSAGES);
}

/// The inputs of Sentry's own parameterization test suite
/// (`tests/sentry/grouping/test_parameterization.py`) with the outputs
/// Sentry expects there.
const SENTRY_SUITE: &[(&str, &str)] = &[
    ("maisey@dogsaregreat.com", "<email>"),
    ("maisey.thedog@dogsaregreat.com", "<email>"),
    ("maisey+thedog@dogsaregreat.com", "<email>"),
    (
        "http://dogsaregreat.com/adopt/dont/shop.js?command=sit&trick=spin",
        "<url>",
    ),
    ("http://charlie:s3cretSqu1rrel@dogsaregreat.com:10", "<url>"),
    ("http://localhost:8000", "<url>"),
    ("http://[2001:db8::1]:80", "<url>"),
    ("dogs.squirrelchasers.net", "<hostname>"),
    ("11.21.12.31", "<ip>"),
    ("::1", "<ip>"),
    ("fc00::/7", "<ip>"),
    ("2012:d157::cbe:908:2013", "<ip>"),
    ("::ffff:192.168.1.1", "<ip>"),
    ("1121:0c03:1231:130d:0000:16da:0908:da07", "<ip>"),
    ("Option::unwrap()", "Option::unwrap()"),
    ("Bee::buzz()", "Bee::buzz()"),
    (
        "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "traceparent: <traceparent>",
    ),
    ("12345:6:789", "<int>:<int>:<int>"),
    ("123:4:56789", "<int>:<int>:<int>"),
    ("1-67891233-abcdef012345678912345678", "<traceparent>"),
    ("7c1811ed-e98f-4c9c-a9f9-58c757ff494f", "<uuid>"),
    (
        "bea691f2-2e25-4bec-6838-e0c44b03d60a/7c1811ed-e98f-4c9c-a9f9-58c757ff494f",
        "<uuid>/<uuid>",
    ),
    ("5fc35719b9cf96ec602dbc748ff31c587a46961d", "<sha1>"),
    ("0751007cd28df267e8e051b51f918c60", "<md5>"),
    ("2024-02-20T22:16:36", "<date>"),
    ("Mon, 02 Jan 06 15:04 MST", "<date>"),
    ("Mon, 02 Jan 06 15:04 -0700", "<date>"),
    ("Mon, 02-Jan-06 15:04:05 MST", "<date>"),
    ("Monday, 02-Jan-06 15:04:05 MST", "<date>"),
    ("Mon, 02 Jan 2006 15:04:05 MST", "<date>"),
    (
        "Mon Jan 02 2006 14:04:05 GMT-0800 (Pacific Standard Time)",
        "<date>",
    ),
    ("Mon Jan 02 2006 14:04:05 GMT+0800", "<date>"),
    ("2006-01-02T15:04:05Z07:00", "<date>"),
    ("2006-01-02T15:04:05.999999999Z07:00", "<date>"),
    ("2006-01-02", "<date>"),
    ("Jan 18, 2019", "<date>"),
    ("2006-01-02 15:04:05+01:00", "<date>"),
    ("20060102 150405+0100", "<date>"),
    ("20060102T150405Z", "<date>"),
    ("11:21", "<date>"),
    ("12:31:12", "<date>"),
    ("11:21:12 AM", "<date>"),
    ("12:31:12 pm", "<date>"),
    ("11:21PM", "<date>"),
    ("12:31 PM", "<date>"),
    ("23:21", "<date>"),
    ("09:08", "<date>"),
    ("9:08", "<date>"),
    ("0:12", "<date>"),
    ("908:31", "<int>:<int>"),
    ("11:2112", "<int>:<int>"),
    ("31:21", "<int>:<int>"),
    ("12:99", "<int>:<int>"),
    ("12:31:99", "<int>:<int>:<int>"),
    ("15:04:05", "<date>"),
    ("Mon Jan 02, 1999", "<date>"),
    ("20240220 11:55:33.546593", "<date>"),
    ("2024-02-23 02:13:53.418", "<date>"),
    (
        "datetime.datetime(2025, 6, 24, 18, 33, 0, 447640)",
        "<date>",
    ),
    ("0ms", "<duration>"),
    ("1000000ms", "<duration>"),
    ("0.100s", "<duration>"),
    ("100.0000s", "<duration>"),
    ("tx274a77a8975c4a66aeb24-0052d95365", "<swift_txn_id>"),
    (
        "tx274a77a8975c4a66aeb24-0052d95365-cluster01",
        "<swift_txn_id>",
    ),
    ("ab274a77a8975c4a66aeb24-0052d95365", "<hex>-<hex>"),
    ("0x9af8", "<hex>"),
    ("0x9AF8C3BE3A1231FE", "<hex>"),
    ("9af", "9af"),
    ("9af8", "<hex>"),
    ("9AF8C3BE", "<hex>"),
    ("deadbee", "deadbee"),
    ("deadbeef", "<hex>"),
    ("cafe 123", "cafe <int>"),
    ("1234567", "<int>"),
    ("-1234567", "<int>"),
    ("commit a93c7d2", "commit <git_sha>"),
    ("commit cabcafe", "commit cabcafe"),
    ("commit 4150908", "commit <int>"),
    ("0.23", "<float>"),
    ("-23", "<int>"),
    ("0:17502", "<int>:<int>"),
    ("value:-17502", "value:<int>"),
    ("value: -17502", "value: <int>"),
    ("415-908", "<int>-<int>"),
    ("maisey-908", "maisey-<int>"),
    (r#"{"msg" => "(#239323)"#, r#"{"msg" => "(#<int>)"#),
    ("2006-01-40", "<int>-<int>-<int>"),
    ("2006-20-02", "<int>-<int>-<int>"),
    ("10000-01-02", "<int>-<int>-<int>"),
    ("2006-01", "<int>-<int>"),
    ("b = '1'", "b = '<int>'"),
    (r#"b = "1""#, r#"b = "<int>""#),
    ("b='1'", "b=<quoted_str>"),
    (r#"b="0.0.0.0 1 a=True""#, "b=<quoted_str>"),
    (r#"b='value""#, r#"b='value""#),
    ("a=false", "a=<bool>"),
    ("a=True", "a=<bool>"),
    ("False", "False"),
    ("a = true", "a = true"),
    ("A quick brown fox", "A quick brown fox"),
    ("0.0.0.0:80", "<ip>:<int>"),
    (
        r#"{"dogs are great": true, "dog_id": "greatdog1231"}"#,
        r#"{"dogs are great": true, "dog_id": "greatdog1231"}"#,
    ),
    ("invoice k9Mtd2gDcgG", "invoice k9Mtd2gDcgG"),
    ("Dog number 1, #1 dog", "Dog number <int>, #<int> dog"),
];

/// The same suite where this module deliberately differs (see the module
/// docs). The last four are cases Sentry lists as known-incorrect; these
/// outputs are the ones it marks as desired.
const SENTRY_DEVIATIONS: &[(&str, &str)] = &[
    ("::", "::"),
    (
        "abc1-67891233-abcdef012345678912345678",
        "<hex>-<int>-<hex>",
    ),
    ("12345678", "<int>"),
    ("-12345678", "<int>"),
    ("Encoding: utf-8", "Encoding: utf-8"),
    ("4,150,908", "<int>"),
    ("Fee::add() called too early", "Fee::add() called too early"),
    (
        "tcp://charlie:s3cretSqu1rrel@dogsaregreat.com:10 had a problem",
        "<url> had a problem",
    ),
    ("tcp://dogsaregreat.com:10", "<url>"),
];

#[test]
fn sentry_suite_alone_and_between_words() {
    // Like Sentry's test: each value alone, and with text around it.
    for cases in [SENTRY_SUITE, SENTRY_DEVIATIONS] {
        check(cases);
        let wrapped: Vec<(String, String)> = cases
            .iter()
            .flat_map(|&(i, e)| {
                [
                    (format!("prefix {i}"), format!("prefix {e}")),
                    (format!("{i} suffix"), format!("{e} suffix")),
                    (format!("prefix {i} suffix"), format!("prefix {e} suffix")),
                ]
            })
            .collect();
        let wrapped: Vec<(&str, &str)> = wrapped
            .iter()
            .map(|(i, e)| (i.as_str(), e.as_str()))
            .collect();
        check(&wrapped);
    }
}

#[test]
fn required_example() {
    assert_eq!(
        normalize_message("Timeout after 3000ms for user 42"),
        normalize_message("Timeout after 1500ms for user 7")
    );
}

#[test]
fn nothing_to_replace_is_borrowed() {
    for input in [
        "",
        "JWT expired",
        "relation \"orders_2023\" does not exist",
        "Key (email)=(<value>) already exists.",
    ] {
        assert!(
            matches!(normalize_message(input), Cow::Borrowed(_)),
            "{input:?}"
        );
    }
}

#[test]
fn normalized_messages_are_fixed_points() {
    for &(input, _) in MESSAGES.iter().chain(SENTRY_SUITE).chain(SENTRY_DEVIATIONS) {
        let once = normalize_message(input).into_owned();
        assert!(
            matches!(normalize_message(&once), Cow::Borrowed(_)),
            "{input:?} -> {once:?}"
        );
    }
}

#[test]
fn long_pathological_messages_are_stable() {
    // 8 KiB of shapes that would make a naive scanner rescan the rest of
    // the text at every position (each recognizer bounds or caches that).
    let shapes = [
        "a.",
        "a@",
        "1:",
        "::",
        "a:",
        "1.",
        "=\"",
        ": \"",
        ")=(",
        "Key (a)=((",
        "datetime.datetime(",
        "Jan ",
        "-1",
        "1,",
        "0x",
        "x://",
        "relation \"",
        "function f(",
        "é1",
    ];
    let mut messages: Vec<String> = shapes.iter().map(|s| s.repeat(8192 / s.len())).collect();
    messages.push(format!("@ {}", "1-".repeat(4096)));
    for message in messages {
        let once = normalize_message(&message).into_owned();
        assert_eq!(normalize_message(&once), once, "{:?}", &message[..16]);
    }
}

const KINDS: &[&str] = &[
    "email",
    "url",
    "hostname",
    "ip",
    "traceparent",
    "uuid",
    "sha1",
    "md5",
    "date",
    "duration",
    "size",
    "swift_txn_id",
    "hex",
    "git_sha",
    "float",
    "int",
    "value",
    "quoted_str",
    "bool",
];

#[test]
fn every_kind_is_covered_by_the_tables() {
    for kind in KINDS {
        let placeholder = format!("<{kind}>");
        assert!(
            MESSAGES.iter().any(|(_, e)| e.contains(&placeholder)),
            "no case produces {placeholder}"
        );
    }
}

/// Pieces of messages: words (some of them keywords or standard names),
/// values of every kind, placeholders, markers and separators, so random
/// concatenations hit the places where rules meet.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "user",
            "relation",
            "column",
            "table",
            "function",
            "Key (",
            ")=(",
            ") already exists",
            "Failing row contains (",
            "status code",
            "HTTP",
            "Not Found",
            "utf-8",
            "sha-256",
            "x86_64",
            "v8",
            "KeyError",
            "at",
            "for",
            "<int>",
            "<uuid>",
            "<date>",
            "<value>",
            "[Filtered]",
            "[email]",
            "Jan",
            "Mon,",
            "PM",
            "ms",
            "MB",
            "seconds",
            "0x",
            "tx",
            "::",
            "://",
            "https",
            "www",
            "com",
            "id",
            "info",
            "T",
            "Z",
            "e",
            "-",
            ".",
            ",",
            ":",
            ": ",
            "=",
            "\"",
            "'",
            "(",
            ")",
            "[",
            "]",
            "/",
            "@",
            "#",
            "%",
            " ",
            "  ",
            "\n",
            "\t",
            "é",
            "µ",
            "日本",
            "datetime.datetime(",
            "(UTC)",
            "GMT+0100",
            "fe80",
            "%eth0",
            "/24",
            "ffff",
            "00-",
            "1-",
            "tx",
            "KiB",
            "bytes",
            "min",
            "h",
            "s",
            "true",
            "False",
            "_",
            "$",
            "+",
            "ed25519",
            "iso-8859-1",
            "HTTP/1.1",
            "Bad Gateway",
            "KeyError: ",
            "a.b",
            "user.id",
            "src/main.rs",
            "example.co",
            "api.x.app",
            "0A",
            "deadbeef",
            "a93c7d2",
        ])
        .prop_map(str::to_owned),
        any::<u32>().prop_map(|n| n.to_string()),
        (0u64..100_000_000, 1u32..4).prop_map(|(n, d)| format!("{}.{}", n, n % 10u64.pow(d))),
        "[0-9a-fA-F]{1,12}",
        "[0-9]{1,4}[-:./][0-9]{1,4}",
        "[a-z]{1,8}[0-9]{0,3}",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "(19|20)[0-9]{2}-[01][0-9]-[0-3][0-9][ T][0-2][0-9]:[0-5][0-9]:[0-5][0-9]",
        "[a-z]{1,6}@[a-z]{1,6}\\.(com|io)",
    ]
}

fn message() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..24).prop_map(|parts| parts.concat())
}

/// Words that never carry or trigger anything on their own.
fn plain_word() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "failed",
        "to",
        "load",
        "order",
        "user",
        "for",
        "table",
        "column",
        "relation",
        "after",
        "retry",
        "not",
        "found",
        "the",
        "request",
        "x86_64",
        "v8",
        "users_2023",
        "[Filtered]",
    ])
}

fn template() -> impl Strategy<Value = (Vec<&'static str>, Vec<&'static str>)> {
    (
        prop::collection::vec(plain_word(), 0..6),
        prop::collection::vec(plain_word(), 0..6),
    )
}

fn with_value(around: &(Vec<&str>, Vec<&str>), value: &str) -> String {
    let mut words = around.0.clone();
    words.push(value);
    words.extend(&around.1);
    words.join(" ")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn idempotent_on_arbitrary_text(s in any::<String>()) {
        let once = normalize_message(&s).into_owned();
        let twice = normalize_message(&once).into_owned();
        prop_assert_eq!(twice, once);
    }

    #[test]
    fn idempotent_on_message_like_text(s in message()) {
        let once = normalize_message(&s).into_owned();
        let twice = normalize_message(&once).into_owned();
        prop_assert_eq!(twice, once);
    }

    #[test]
    fn borrowed_exactly_when_unchanged(s in message()) {
        let out = normalize_message(&s);
        prop_assert_eq!(matches!(out, Cow::Borrowed(_)), out == s.as_str());
    }

    #[test]
    fn placeholders_are_whole_and_never_nested(s in message()) {
        // With no `<` in the input, every `<` in the output opens a known
        // placeholder that closes before the next `<`.
        let s = s.replace(['<', '>'], "");
        let out = normalize_message(&s);
        for (k, _) in out.match_indices('<') {
            let rest = &out[k + 1..];
            let close = rest.find('>');
            prop_assert!(close.is_some(), "unclosed placeholder in {:?}", out);
            let name = &rest[..close.unwrap_or(0)];
            prop_assert!(KINDS.contains(&name), "unknown placeholder <{}> in {:?}", name, out);
        }
    }

    #[test]
    fn values_of_one_kind_group_together(
        around in template(),
        kind in 0usize..7,
        a in any::<u64>(),
        b in any::<u64>(),
    ) {
        let value = |n: u64| match kind {
            0 => n.to_string(),
            1 => format!("-{}", n % 1_000_000),
            2 => format!("{}.{}", n % 10_000, n % 97),
            3 => format!("{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}", n as u32, n as u16, n % 4096, (n >> 12) % 4096, n % (1 << 48)),
            4 => format!("u{}@example.com", n % 100_000),
            5 => format!("{}.{}.{}.{}", n % 256, (n >> 8) % 256, (n >> 16) % 256, (n >> 24) % 256),
            _ => format!("{}ms", n % 100_000),
        };
        let (first, second) = (with_value(&around, &value(a)), with_value(&around, &value(b)));
        prop_assert_eq!(normalize_message(&first), normalize_message(&second));
    }

    #[test]
    fn standalone_numbers_never_survive(
        words in prop::collection::vec(prop_oneof![
            plain_word().prop_map(str::to_owned),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<i32>().prop_map(|n| n.to_string()),
            (any::<u32>(), 0u32..1000).prop_map(|(n, f)| format!("{n}.{f}")),
        ], 1..12)
    ) {
        let out = normalize_message(&words.join(" ")).into_owned();
        for token in out.split(' ') {
            prop_assert!(
                !token.bytes().any(|c| c.is_ascii_digit()) || token.contains('_') || token == "v8",
                "number {:?} survived in {:?}", token, out
            );
        }
    }

    #[test]
    fn scrubber_markers_pass_through(s in message()) {
        let markers = ["[email]", "[Filtered]", "[jwt]", "[card]", "[ip]", "[api_key]"].join(" ");
        let out = normalize_message(&format!("{markers} {s}\n{markers}")).into_owned();
        prop_assert!(out.starts_with(&format!("{markers} ")), "{:?}", out);
        prop_assert!(out.ends_with(&format!("\n{markers}")), "{:?}", out);
    }
}
