//! Bounded, linear work that honours cancellation. A hostile event used to
//! hold a backend for seconds (a 100 kB key of `pwd.` words, 5.6 s) and to
//! ignore `statement_timeout` (a 60 MB context was scrubbed whole before
//! being cut: 9.9 s past a 500 ms timeout); truncation threw away all but
//! `Error:` of a message followed by one long token; context nested deeper
//! than 128 levels failed with XX000.

use std::time::{Duration, Instant};

use pg_observe_tests::{message, sqlstate, TestDb};

/// Debug builds (what the tests install) run this code several times
/// slower than release builds; quadratic work would still take minutes.
const QUICK: Duration = Duration::from_secs(3);

#[tokio::test]
async fn statement_timeout_stops_capture_of_a_huge_context() {
    let db = TestDb::new().await;
    let started = Instant::now();
    let err = db
        .client
        .batch_execute(
            "set statement_timeout = '500ms';
             select observe.log_error('x', context => jsonb_build_object(
                 'blob', repeat('mail someone@example.com password=hunter2 ', 1500000)));",
        )
        .await;
    let elapsed = started.elapsed();
    // Building 60 MB of jsonb is PostgreSQL's own work; either it or capture
    // may be what the timeout cancels, or capture finishes first because it
    // reads only what it keeps. Whichever: promptly.
    if let Err(err) = &err {
        assert_eq!(sqlstate(err), "57014", "{}", message(err));
    }
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    db.client
        .batch_execute("reset statement_timeout")
        .await
        .unwrap();
}

#[tokio::test]
async fn pg_cancel_backend_stops_a_long_capture() {
    let db = TestDb::new().await;
    let victim = db.connect().await;
    let pid: i32 = victim
        .query_one("select pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let canceller = db.connect().await;
    let cancel = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        canceller
            .execute("select pg_cancel_backend($1)", &[&pid])
            .await
            .unwrap();
        Instant::now()
    });
    // A thousand maximum-size events: minutes of work without cancellation.
    let result = victim
        .batch_execute(
            "select observe.log_errors(jsonb_agg(jsonb_build_object(
                 'message', repeat('pwd.', 2000) || 'error=1 ' || i,
                 'service', 'svc-' || i,
                 'context', jsonb_build_object('k', repeat('someone@example.com ', 3000)))))
               from generate_series(1, 1000) as i",
        )
        .await;
    let finished = Instant::now();
    let cancelled_at = cancel.await.unwrap();
    match result {
        Err(err) => {
            assert_eq!(sqlstate(&err), "57014", "{}", message(&err));
            let late = finished.saturating_duration_since(cancelled_at);
            assert!(
                late < Duration::from_millis(500),
                "stopped {late:?} after the cancel"
            );
        }
        // Finished before the cancel arrived: nothing to stop.
        Ok(()) => assert!(finished <= cancelled_at + Duration::from_millis(50)),
    }
}

#[tokio::test]
async fn sensitive_key_checks_are_linear() {
    let db = TestDb::new().await;
    for (shape, key) in [
        ("dotted", "repeat('pwd.', 25000) || 'error'"),
        ("camelCase", "repeat('Pwd', 25000) || 'Error'"),
    ] {
        let started = Instant::now();
        db.client
            .batch_execute(&format!(
                "select observe.log_error('x', context => jsonb_build_object('note', {key} || '=1'));
                 select observe.log_error({key} || '=1 in a message');"
            ))
            .await
            .unwrap_or_else(|e| panic!("{shape}: {}", message(&e)));
        let elapsed = started.elapsed();
        assert!(elapsed < QUICK, "{shape}: {elapsed:?}");
    }
}

#[tokio::test]
async fn a_long_token_after_a_word_is_cut_not_dropped() {
    let db = TestDb::new().await;
    db.client
        .batch_execute("select observe.log_error('Error: ' || repeat('x', 1000000))")
        .await
        .unwrap();
    let row = db
        .client
        .query_one(
            "select message, flags::text[] from observe.events order by received_at desc limit 1",
            &[],
        )
        .await
        .unwrap();
    let (message, flags): (String, Vec<String>) = (row.get(0), row.get(1));
    assert!(
        message.starts_with("Error: xxxx"),
        "{}",
        &message[..message.len().min(40)]
    );
    assert!(message.len() > 4000, "kept {} bytes", message.len());
    assert!(flags.contains(&"message_truncated".to_owned()), "{flags:?}");

    db.client
        .batch_execute(&format!(
            "select observe.log_error('one frame', stack => '    at f (https://x/{}.js:1:2)')",
            "y".repeat(1_000_000)
        ))
        .await
        .unwrap();
    let stack: String = db
        .scalar("select stack from observe.events where message = 'one frame'")
        .await;
    assert!(
        stack.len() > 32 * 1024,
        "kept {} bytes of the frame",
        stack.len()
    );
}

#[tokio::test]
async fn context_deeper_than_128_levels_is_limited_not_refused() {
    let db = TestDb::new().await;
    let deep = format!("{}\"leaf\"{}", "{\"d\": ".repeat(200), "}".repeat(200));
    db.client
        .batch_execute(&format!(
            "select observe.log_error('deep', context => '{deep}'::jsonb);
             select observe.log_error(jsonb_build_object('message', 'deep json', 'context', '{deep}'::jsonb));"
        ))
        .await
        .unwrap_or_else(|e| panic!("{}", message(&e)));
    let flagged: i64 = db
        .scalar("select count(*) from observe.events where 'context_depth_limited' = any(flags)")
        .await;
    assert_eq!(flagged, 2);
}
