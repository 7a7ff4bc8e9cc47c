//! `#[pg_test]`s of the pgrx glue: what only a running backend can show.
//! Behaviour of the SQL API as applications see it is tested from outside
//! (tests/ and supabase/tests/); the pure logic in pg_observe_core.

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use chrono::{DateTime, Utc};
    use pgrx::datum::TimestampWithTimeZone;
    use pgrx::prelude::*;

    use crate::{pgtime, settings};

    fn utc(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .expect("valid RFC 3339")
            .with_timezone(&Utc)
    }

    const INSTANTS: [&str; 6] = [
        "2000-01-01T00:00:00Z",        // PostgreSQL's epoch: zero microseconds
        "1999-12-31T23:59:59.999999Z", // just before it: negative
        "1970-01-01T00:00:00Z",        // the Unix epoch
        "2024-02-29T12:34:56.789012Z", // microseconds survive
        "1901-12-13T20:45:52Z",
        "2262-04-11T23:47:16.854775Z",
    ];

    #[pg_test]
    fn timestamps_from_postgres_convert_exactly() {
        // Conversion must not depend on the session's time zone.
        Spi::run("set local timezone = 'Pacific/Chatham'").unwrap();
        for instant in INSTANTS {
            let pg =
                Spi::get_one::<TimestampWithTimeZone>(&format!("select '{instant}'::timestamptz"))
                    .unwrap()
                    .expect("not null");
            assert_eq!(
                pgtime::from_pg(pg),
                utc(instant),
                "{instant} read from PostgreSQL"
            );
        }
    }

    #[pg_test]
    fn timestamps_to_postgres_convert_exactly() {
        Spi::run("set local timezone = 'America/St_Johns'").unwrap();
        for instant in INSTANTS {
            let text = Spi::get_one_with_args::<String>(
                "select to_char($1 at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
                &[pgtime::to_pg(utc(instant)).into()],
            )
            .unwrap()
            .expect("not null");
            assert_eq!(utc(&text), utc(instant), "{instant} written to PostgreSQL");
        }
    }

    #[pg_test]
    fn timestamps_round_trip_through_postgres() {
        for instant in INSTANTS {
            let back = Spi::get_one_with_args::<TimestampWithTimeZone>(
                "select $1::timestamptz",
                &[pgtime::to_pg(utc(instant)).into()],
            )
            .unwrap()
            .expect("not null");
            assert_eq!(pgtime::from_pg(back), utc(instant));
        }
        // now() read through SPI agrees with chrono's clock to within a second.
        let now = Spi::get_one::<TimestampWithTimeZone>("select clock_timestamp()")
            .unwrap()
            .expect("not null");
        let drift = (pgtime::from_pg(now) - Utc::now()).num_milliseconds().abs();
        assert!(drift < 1000, "PostgreSQL and chrono disagree by {drift} ms");
    }

    #[pg_test]
    fn limits_follow_the_session_settings() {
        assert_eq!(settings::limits().message_bytes, 8 * 1024, "the default");
        Spi::run("set observe.max_message_bytes = '16kB'").unwrap();
        assert_eq!(
            settings::limits().message_bytes,
            16 * 1024,
            "units are understood"
        );
        Spi::run("set observe.max_message_bytes = 300").unwrap();
        assert_eq!(settings::limits().message_bytes, 300);
        Spi::run("set observe.max_context_depth = 3").unwrap();
        assert_eq!(settings::limits().context_depth, 3);

        // And capture uses them.
        let id = Spi::get_one::<pgrx::Uuid>("select observe.log_error(repeat('x', 1000))")
            .unwrap()
            .expect("an event id");
        let (length, flags) = Spi::get_two_with_args::<i32, Vec<String>>(
            "select octet_length(message), flags from observe.events where id = $1",
            &[id.into()],
        )
        .unwrap();
        assert!(length.unwrap() <= 300, "message stored in {length:?} bytes");
        assert_eq!(flags.unwrap(), ["message_truncated"]);
    }

    /// Kept plans of this backend whose query text contains `needle`.
    fn kept_plans(needle: &str) -> i64 {
        Spi::get_one_with_args::<i64>(
            "select count(*) from pg_backend_memory_contexts
              where name = 'CachedPlanSource' and ident like '%' || $1 || '%'",
            &[needle.into()],
        )
        .unwrap()
        .unwrap_or(0)
    }

    #[pg_test]
    fn captures_in_one_backend_reuse_the_kept_plans() {
        const INSERT: &str = "insert into observe.events";
        assert_eq!(
            kept_plans(INSERT),
            0,
            "a fresh backend has no capture plans yet"
        );

        let first =
            Spi::get_one::<pgrx::Uuid>("select observe.log_error('first', service => 'glue')")
                .unwrap()
                .expect("an event id");
        // One record statement stores events.
        assert_eq!(
            kept_plans(INSERT),
            1,
            "the first capture prepares and keeps its plans"
        );
        let plans_after_first = kept_plans("observe.");

        let second =
            Spi::get_one::<pgrx::Uuid>("select observe.log_error('second', service => 'glue')")
                .unwrap()
                .expect("an event id");
        assert_ne!(first, second);
        assert_eq!(kept_plans(INSERT), 1, "the second capture reuses it");
        assert_eq!(
            kept_plans("observe."),
            plans_after_first,
            "and prepares nothing new"
        );

        let stored =
            Spi::get_one::<i64>("select count(*) from observe.events where service = 'glue'")
                .unwrap()
                .unwrap_or(0);
        assert_eq!(stored, 2, "both events are stored");
        let issues = Spi::get_one::<i64>(
            "select count(distinct issue_id) from observe.events where service = 'glue'",
        )
        .unwrap()
        .unwrap_or(0);
        assert_eq!(issues, 2);
    }

    #[pg_test(
        error = "invalid level \"bogus\": allowed values are debug, info, warning, error, fatal"
    )]
    fn an_invalid_level_raises_a_postgres_error() {
        Spi::run("select observe.log_error('x', level => 'bogus')").unwrap();
    }

    #[pg_test(error = "event field \"message\" is required")]
    fn a_null_message_raises_a_postgres_error() {
        Spi::run("select observe.log_error(null::text)").unwrap();
    }

    /// The words SQL stores are core's: the activity kinds the table
    /// accepts, and the reasons the triage functions and capture write.
    #[pg_test]
    fn sql_speaks_the_lifecycle_words_of_core() {
        use pg_observe_core::lifecycle::{ActivityKind, MANUAL_REASON, NEW_ISSUE_REASON};

        let check = Spi::get_one::<String>(
            "select pg_get_constraintdef(oid) from pg_constraint
              where conrelid = 'observe.issue_activity'::regclass and contype = 'c'",
        )
        .unwrap()
        .expect("issue_activity has a check constraint on kind");
        let accepted: Vec<&str> = check.split('\'').skip(1).step_by(2).collect();
        let core: Vec<&str> = ActivityKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(accepted, core, "{check}");

        Spi::run("select observe.log_error('words', service => 'words')").unwrap();
        let issue =
            Spi::get_one::<i64>("select id from observe.issue_groups where service = 'words'")
                .unwrap()
                .expect("captured");
        let created = Spi::get_one_with_args::<String>(
            "select reason from observe.issue_activity where issue_id = $1 and kind = 'created'",
            &[issue.into()],
        )
        .unwrap();
        assert_eq!(created.as_deref(), Some(NEW_ISSUE_REASON));
        let resolved = Spi::get_one_with_args::<String>(
            "select status_reason from observe.resolve_issue($1)",
            &[issue.into()],
        )
        .unwrap();
        assert_eq!(resolved.as_deref(), Some(MANUAL_REASON));
    }
}
