//! Rules: created with defaults and named arguments, changed and deleted,
//! and bad ones refused with an error naming the argument, storing nothing.

use pg_observe_tests::{message, sqlstate, TestDb};

use super::rule;

#[tokio::test]
async fn a_rule_needs_only_a_name_and_its_threshold() {
    let db = TestDb::new().await;
    let id = rule(&db, "'errors spike', threshold => 10").await;
    let row = db
        .client
        .query_one(
            "select kind, metric, comparator, window_size::text, pending_for::text, keep_firing_for::text,
                    repeat_interval::text, severity, enabled, send_resolved, group_wait::text, group_interval::text
               from observe.alert_rules where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let got: Vec<String> = (0..12)
        .map(|i| {
            row.try_get::<_, String>(i)
                .or_else(|_| row.try_get::<_, bool>(i).map(|b| b.to_string()))
                .unwrap()
        })
        .collect();
    assert_eq!(
        got,
        [
            "threshold",
            "error_events",
            ">=",
            "00:05:00",
            "00:00:00",
            "00:00:00",
            "04:00:00",
            "high",
            "true",
            "true",
            "00:00:30",
            "00:05:00"
        ]
    );
}

#[tokio::test]
async fn bad_rules_are_refused_naming_the_argument() {
    let db = TestDb::new().await;
    for (arguments, named) in [
        ("'r', kind => 'spike', threshold => 1", "kind"),
        ("'r', metric => 'cpu', threshold => 1", "metric"),
        ("'r', comparator => '=>', threshold => 1", "comparator"),
        (
            "'r', window_size => '0 seconds', threshold => 1",
            "window_size",
        ),
        (
            "'r', window_size => '-5 minutes', threshold => 1",
            "window_size",
        ),
        (
            "'r', window_size => '1 month', threshold => 1",
            "window_size",
        ),
        ("'r'", "threshold"),
        (
            "'r', threshold => 1, recipients => array['ops@example.com', 'ops at example']",
            "recipients",
        ),
        ("'r', threshold => 1, severity => 'urgent'", "severity"),
        (
            "'r', threshold => 1, group_by => array['hostname']",
            "group_by",
        ),
        ("null, threshold => 1", "name"),
    ] {
        let err = db
            .client
            .batch_execute(&format!("select observe.create_alert_rule({arguments})"))
            .await
            .expect_err(arguments);
        assert_eq!(sqlstate(&err), "22023", "{arguments}: {}", message(&err));
        assert!(
            message(&err).starts_with(named),
            "{arguments}: {}",
            message(&err)
        );
    }
    let stored: i64 = db.scalar("select count(*) from observe.alert_rules").await;
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn rules_are_changed_by_name_and_checked_again() {
    let db = TestDb::new().await;
    let id = rule(&db, "'errors', threshold => 10").await;
    db.client
        .execute(
            "select observe.update_alert_rule($1, '{\"threshold\": 25, \"window_size\": \"10 minutes\", \"group_by\": [\"service\"]}')",
            &[&id],
        )
        .await
        .unwrap();
    let (threshold, window): (f64, String) = db
        .client
        .query_one(
            "select threshold, window_size::text from observe.alert_rules where id = $1",
            &[&id],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!((threshold, window.as_str()), (25.0, "00:10:00"));
    for (changes, named) in [
        ("{\"comparator\": \"~\"}", "comparator"),
        ("{\"threshold\": null}", "threshold"),
        ("{\"nonsense\": 1}", "changes"),
    ] {
        let err = db
            .client
            .execute(
                "select observe.update_alert_rule($1, $2::text::jsonb)",
                &[&id, &changes],
            )
            .await
            .expect_err(changes);
        assert_eq!(sqlstate(&err), "22023", "{changes}");
        assert!(
            message(&err).starts_with(named),
            "{changes}: {}",
            message(&err)
        );
    }
    let missing = db
        .client
        .batch_execute("select observe.delete_alert_rule(424242)")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&missing), "P0002");
    db.client
        .execute("select observe.delete_alert_rule($1)", &[&id])
        .await
        .unwrap();
    let left: i64 = db.scalar("select count(*) from observe.alert_rules").await;
    assert_eq!(left, 0);
}

#[tokio::test]
async fn bad_silences_are_refused_and_store_nothing() {
    let db = TestDb::new().await;
    for (arguments, problem) in [
        ("'{\"service\": \"billing\"}', now() - interval '1 minute'", "ends_at"),
        ("'[]', now() + interval '1 hour'", "matchers"),
        ("'[{\"name\": \"service\", \"value\": \".*\", \"isRegex\": true}]', now() + interval '1 hour'", "matchers"),
        ("'\"billing\"', now() + interval '1 hour'", "matchers"),
    ] {
        let err = db
            .client
            .batch_execute(&format!("select observe.silence({arguments})"))
            .await
            .expect_err(arguments);
        assert_eq!(sqlstate(&err), "22023", "{arguments}");
        assert!(message(&err).starts_with(problem), "{arguments}: {}", message(&err));
    }
    let stored: i64 = db.scalar("select count(*) from observe.silences").await;
    assert_eq!(stored, 0);
}
