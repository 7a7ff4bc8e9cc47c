//! Mapping of pure-logic errors onto SQLSTATEs. A `#[pg_extern]` returning
//! `Result<_, E>` would raise 22000 for everything; callers branching on the
//! SQLSTATE (a PL/pgSQL handler, supabase-js reading `error.code`) deserve the
//! precise class.

use pg_observe_core::event::{EventError, EventErrorKind};
use pg_observe_core::log_entry::LogError;
use pg_observe_core::requests::RequestError;
use pgrx::{ereport, PgSqlErrorCode};

use crate::capture::CaptureError;

pub fn raise_event_error(error: EventError) -> ! {
    raise(error.kind(), error.to_string())
}

pub fn raise_log_error(error: LogError) -> ! {
    raise(error.kind(), error.to_string())
}

pub fn raise_request_error(error: RequestError) -> ! {
    raise(error.kind(), error.to_string())
}

fn raise(kind: EventErrorKind, message: String) -> ! {
    let code = match kind {
        EventErrorKind::NullValueNotAllowed => PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
        EventErrorKind::InvalidParameterValue => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
    };
    ereport!(ERROR, code, message);
}

pub fn raise_capture_error(error: CaptureError) -> ! {
    let code = match &error {
        CaptureError::Event(e) => raise_event_error(e.clone()),
        CaptureError::Settings(_) => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        CaptureError::Concurrent(_) => PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
        CaptureError::LibraryUpgraded | CaptureError::SchemaOutdated { .. } => {
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE
        }
        CaptureError::Storage(_) | CaptureError::Corrupt(_) => {
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR
        }
    };
    ereport!(ERROR, code, error.to_string());
}

pub fn raise_internal(context: &str, error: impl std::fmt::Display) -> ! {
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
        format!("pg_observe: {context}: {error}")
    );
}

/// 22023 for a value the caller must change.
pub fn invalid(error: impl std::fmt::Display) -> ! {
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        error.to_string()
    );
}
