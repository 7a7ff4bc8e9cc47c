//! Errors PostgreSQL itself raised, as server-side capture records them
//! (`record`) and the event each becomes (ARCHITECTURE.md, "Server-side
//! capture"): service `postgres`, the SQLSTATE's condition name as the
//! exception type, the PL/pgSQL context as the stack, and the rest as
//! context. Grouping then sees the condition name, the normalized message
//! and the PL/pgSQL frames, so two SQLSTATEs never share an issue and a
//! constraint's violations share one whatever the key value.

pub mod echoes;
mod errcodes;
pub mod record;
pub mod sqlstates;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::event::{EventInput, Level};
use record::{Decoded, Field};

/// The service of every server-side event.
pub const SERVICE: &str = "postgres";

/// PostgreSQL's message levels (`utils/elog.h`) that capture distinguishes.
pub mod elevel {
    pub const DEBUG5: i32 = 10;
    pub const DEBUG1: i32 = 14;
    pub const LOG: i32 = 15;
    pub const INFO: i32 = 17;
    pub const NOTICE: i32 = 18;
    pub const WARNING: i32 = 19;
    pub const ERROR: i32 = 21;
    pub const FATAL: i32 = 22;
    pub const PANIC: i32 = 23;
}

/// The event level of a message level.
pub fn level_of(elevel: i32) -> Level {
    match elevel {
        e if e >= elevel::FATAL => Level::Fatal,
        e if e >= elevel::ERROR => Level::Error,
        e if e >= elevel::WARNING => Level::Warning,
        e if e >= elevel::LOG => Level::Info,
        _ => Level::Debug,
    }
}

/// The condition name PL/pgSQL knows a SQLSTATE by (`unique_violation`).
pub fn condition_name(sqlstate: &str) -> Option<&'static str> {
    errcodes::CONDITIONS
        .binary_search_by(|(code, _)| (*code).cmp(sqlstate))
        .ok()
        .map(|at| errcodes::CONDITIONS[at].1)
}

/// A server error with the names its record holds as oids resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerError {
    pub record: Decoded,
    pub database: String,
    pub role: String,
    pub session_role: String,
    pub occurred_at: DateTime<Utc>,
}

impl ServerError {
    pub fn sqlstate(&self) -> String {
        sqlstates::text(self.record.meta.sqlerrcode)
    }

    /// The event the capture pipeline scrubs, bounds, groups and stores.
    pub fn into_event(self) -> EventInput {
        let sqlstate = self.sqlstate();
        let record = &self.record;
        let exception_type =
            condition_name(&sqlstate).map_or_else(|| sqlstate.clone(), str::to_owned);
        let message = record
            .field(Field::Message)
            .filter(|m| !m.trim().is_empty())
            .unwrap_or(&exception_type);
        let mut event = EventInput::new(message);
        event.level = level_of(record.meta.elevel);
        event.service = Some(SERVICE.to_owned());
        event.exception_type = Some(exception_type.clone());
        event.stack = record.field(Field::Context).map(str::to_owned);
        event.occurred_at = Some(self.occurred_at);

        let mut context = Map::new();
        context.insert("sqlstate".into(), Value::from(sqlstate.as_str()));
        for field in [
            Field::Detail,
            Field::Hint,
            Field::Statement,
            Field::ApplicationName,
            Field::BackendType,
        ] {
            if let Some(text) = record.field(field) {
                context.insert(field.as_str().into(), Value::from(text));
            }
        }
        if record.meta.cursor_position > 0 {
            context.insert(
                "cursor_position".into(),
                Value::from(record.meta.cursor_position),
            );
        }
        context.insert("database".into(), Value::from(self.database.as_str()));
        context.insert("role".into(), Value::from(self.role.as_str()));
        if self.session_role != self.role {
            context.insert(
                "session_role".into(),
                Value::from(self.session_role.as_str()),
            );
        }
        context.insert("pid".into(), Value::from(record.meta.pid));
        if !record.truncated.is_empty() {
            context.insert(
                "truncated".into(),
                record.truncated.iter().map(|f| f.as_str()).collect(),
            );
        }
        event.context = context;
        event.tags.insert("sqlstate".into(), sqlstate);
        event.tags.insert("database".into(), self.database);
        event
    }
}

#[cfg(test)]
mod tests {
    use super::record::{encode, encoded_len, Meta, FIELDS};
    use super::*;
    use crate::fingerprint::GroupingBasis;
    use crate::limits::Limits;
    use crate::process::{process, Pipeline, UserKey};
    use crate::scrub::Scrubber;

    fn server_error(sqlstate: &str, message: &str, detail: &str, context: &str) -> ServerError {
        let fields: [&[u8]; FIELDS] = [
            message.as_bytes(),
            detail.as_bytes(),
            b"",
            context.as_bytes(),
            b"insert into users (email) values ('bob@example.com')",
            b"psql",
            b"client backend",
        ];
        let mut bytes = vec![0u8; encoded_len(&fields.map(<[u8]>::len))];
        let meta = Meta {
            elevel: elevel::ERROR,
            sqlerrcode: sqlstates::pack(sqlstate.as_bytes()),
            role: 16384,
            session_role: 16384,
            pid: 99,
            cursor_position: 0,
        };
        encode(&mut bytes, &meta, &fields, 0);
        ServerError {
            record: record::decode(&bytes).unwrap(),
            database: "app".into(),
            role: "authenticated".into(),
            session_role: "authenticated".into(),
            occurred_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        }
    }

    fn processed(error: ServerError) -> crate::process::ProcessedEvent {
        process(
            error.into_event(),
            &Pipeline {
                scrubber: &Scrubber::default(),
                limits: &Limits::default(),
                user_key: &UserKey::new(*b"k"),
                received_at: DateTime::from_timestamp(1_800_000_001, 0).unwrap(),
            },
        )
        .unwrap()
    }

    #[test]
    fn condition_names_come_from_errcodes() {
        for (code, name) in [
            ("23505", "unique_violation"),
            ("22012", "division_by_zero"),
            ("42501", "insufficient_privilege"),
            ("P0001", "raise_exception"),
            ("57014", "query_canceled"),
            ("40P01", "deadlock_detected"),
            ("XX000", "internal_error"),
        ] {
            assert_eq!(condition_name(code), Some(name), "{code}");
        }
        assert_eq!(condition_name("ZZ999"), None);
        assert!(errcodes::CONDITIONS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn levels_follow_the_message_level() {
        assert_eq!(level_of(elevel::PANIC), Level::Fatal);
        assert_eq!(level_of(elevel::FATAL), Level::Fatal);
        assert_eq!(level_of(elevel::ERROR), Level::Error);
        assert_eq!(level_of(elevel::WARNING), Level::Warning);
        assert_eq!(level_of(elevel::NOTICE), Level::Info);
        assert_eq!(level_of(elevel::LOG), Level::Info);
        assert_eq!(level_of(elevel::DEBUG1), Level::Debug);
    }

    #[test]
    fn a_unique_violation_groups_by_constraint_not_by_value() {
        let violation = |constraint: &str, email: &str| {
            processed(server_error(
                "23505",
                &format!("duplicate key value violates unique constraint \"{constraint}\""),
                &format!("Key (email)=({email}) already exists."),
                "",
            ))
        };
        let a = violation("users_email_key", "alice@example.com");
        let b = violation("users_email_key", "bob@example.org");
        let other = violation("users_handle_key", "alice@example.com");
        assert_eq!(a.grouping, b.grouping);
        assert_ne!(a.grouping, other.grouping);
        assert_eq!(a.service.as_deref(), Some("postgres"));
        assert_eq!(a.exception_type.as_deref(), Some("unique_violation"));
        assert_eq!(a.tags["sqlstate"], "23505");
        let stored = serde_json::to_string(&a.context).unwrap();
        assert!(!stored.contains("alice@example.com"), "{stored}");
        assert!(!stored.contains("bob@example.com"), "{stored}");
        assert_eq!(a.context["database"], "app");
        assert_eq!(a.context["backend_type"], "client backend");
    }

    #[test]
    fn two_sqlstates_never_share_an_issue() {
        let a = processed(server_error("P0001", "payment failed", "", ""));
        let b = processed(server_error("P0002", "payment failed", "", ""));
        assert_ne!(a.grouping, b.grouping);
    }

    #[test]
    fn the_plpgsql_context_becomes_frames() {
        let context = "PL/pgSQL function billing.check_order() line 4 at RAISE\n\
                       SQL statement \"insert into orders values (1)\"\n\
                       PL/pgSQL function api.checkout(integer) line 3 at SQL statement";
        let event = processed(server_error("P0001", "order 42 is invalid", "", context));
        assert_eq!(event.grouping.basis, GroupingBasis::Stack);
        assert_eq!(
            event.culprit.as_deref(),
            Some("billing.check_order() at RAISE")
        );
        let moved = processed(server_error(
            "P0001",
            "order 7 is invalid",
            "",
            &context.replace("line 4", "line 9"),
        ));
        assert_eq!(event.grouping, moved.grouping);
    }

    #[test]
    fn an_empty_message_falls_back_to_the_condition() {
        let event = server_error("57014", "", "", "").into_event();
        assert_eq!(event.message, "query_canceled");
        assert!(event.validate().is_ok());
    }
}
