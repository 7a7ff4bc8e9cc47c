//! Request counts that middleware reports (`observe.record_requests`): the
//! denominator of error rates. Service, environment and route follow the
//! identifier rules of events; a route is scrubbed (a path may carry a
//! token), and counts are refused when they could not have happened.

use chrono::{DateTime, TimeDelta, Utc};
use thiserror::Error;

use crate::event::{
    environment, identifier, EventError, EventErrorKind, MAX_IDENTIFIER, MAX_SERVICE,
};
use crate::process::refuse_scrubbed;
use crate::scrub::Scrubber;

/// How far ahead of the server's clock a report may be stamped.
pub const MAX_CLOCK_DRIFT: TimeDelta = TimeDelta::minutes(1);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RequestError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{field} {problem}")]
    Invalid { field: String, problem: String },
}

impl RequestError {
    pub fn kind(&self) -> EventErrorKind {
        match self {
            RequestError::Missing(_) => EventErrorKind::NullValueNotAllowed,
            RequestError::Invalid { .. } => EventErrorKind::InvalidParameterValue,
        }
    }

    fn invalid(field: &str, problem: impl Into<String>) -> Self {
        RequestError::Invalid {
            field: field.to_owned(),
            problem: problem.into(),
        }
    }
}

impl From<EventError> for RequestError {
    fn from(error: EventError) -> Self {
        match error {
            EventError::Invalid { field, problem } => RequestError::Invalid { field, problem },
            other => RequestError::invalid("request counts", other.to_string()),
        }
    }
}

/// A report as the caller gave it, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestReport<'a> {
    pub service: &'a str,
    pub environment: Option<&'a str>,
    pub route: Option<&'a str>,
    pub requests: Option<i64>,
    pub errors: Option<i64>,
    pub at: Option<DateTime<Utc>>,
}

/// A report ready to queue: empty strings for no environment or route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCounts {
    pub service: String,
    pub environment: String,
    pub route: String,
    pub requests: i64,
    pub errors: i64,
    pub at: DateTime<Utc>,
}

pub fn request_counts(
    report: RequestReport<'_>,
    scrubber: &Scrubber,
    now: DateTime<Utc>,
) -> Result<RequestCounts, RequestError> {
    let requests = report.requests.ok_or(RequestError::Missing("requests"))?;
    let errors = report.errors.ok_or(RequestError::Missing("errors"))?;
    if requests < 0 || errors < 0 {
        return Err(RequestError::invalid(
            "requests and errors",
            format!("must not be negative, got {requests} and {errors}"),
        ));
    }
    if errors > requests {
        return Err(RequestError::invalid(
            "errors",
            format!("({errors}) must not exceed requests ({requests})"),
        ));
    }
    identifier("service", report.service, MAX_SERVICE)?;
    refuse_scrubbed("service", report.service, scrubber)?;
    if let Some(env) = report.environment {
        environment(env)?;
        refuse_scrubbed("environment", env, scrubber)?;
    }
    let route = match report.route.filter(|r| !r.is_empty()) {
        Some(route) => {
            identifier("route", route, MAX_IDENTIFIER)?;
            scrubber.scrub_text(route).into_owned()
        }
        None => String::new(),
    };
    let at = report.at.unwrap_or(now);
    if at > now + MAX_CLOCK_DRIFT {
        return Err(RequestError::invalid(
            "at",
            format!("must not be more than a minute ahead of the server's clock, got {at}"),
        ));
    }
    Ok(RequestCounts {
        service: report.service.to_owned(),
        environment: report.environment.unwrap_or("").to_owned(),
        route,
        requests,
        errors,
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scrub::ScrubConfig;

    fn check(
        mutate: impl FnOnce(&mut RequestReport<'static>),
    ) -> Result<RequestCounts, RequestError> {
        let mut report = RequestReport {
            service: "api",
            environment: Some("production"),
            route: Some("/users/:id"),
            requests: Some(100),
            errors: Some(3),
            at: None,
        };
        mutate(&mut report);
        let scrubber = Scrubber::new(&ScrubConfig::default()).unwrap();
        request_counts(
            report,
            &scrubber,
            DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        )
    }

    #[test]
    fn accepts_a_report_and_defaults_its_time() {
        let counts = check(|_| {}).unwrap();
        assert_eq!((counts.requests, counts.errors), (100, 3));
        assert_eq!(counts.route, "/users/:id");
        assert_eq!(counts.at.timestamp(), 1_800_000_000);
        let counts = check(|r| {
            r.route = None;
            r.environment = None;
        })
        .unwrap();
        assert_eq!(
            (counts.route.as_str(), counts.environment.as_str()),
            ("", "")
        );
    }

    #[test]
    fn refuses_impossible_counts_and_future_reports() {
        for (expected, mutate) in [
            (
                "requests is required",
                Box::new(|r: &mut RequestReport| r.requests = None)
                    as Box<dyn Fn(&mut RequestReport)>,
            ),
            (
                "must not be negative",
                Box::new(|r: &mut RequestReport| r.errors = Some(-1)),
            ),
            (
                "must not exceed requests",
                Box::new(|r: &mut RequestReport| r.errors = Some(101)),
            ),
            (
                "at must not be more than a minute ahead",
                Box::new(|r: &mut RequestReport| r.at = DateTime::from_timestamp(1_800_000_120, 0)),
            ),
            (
                "service must not be empty",
                Box::new(|r: &mut RequestReport| r.service = " "),
            ),
            (
                "environment must not contain whitespace",
                Box::new(|r: &mut RequestReport| r.environment = Some("a b")),
            ),
            (
                "route must be at most 256 characters",
                Box::new(|r: &mut RequestReport| {
                    r.route = Some(Box::leak("x".repeat(257).into_boxed_str()))
                }),
            ),
        ] {
            let err = check(|r| mutate(r)).expect_err(expected);
            assert!(err.to_string().contains(expected), "{err}");
        }
    }

    #[test]
    fn scrubs_routes() {
        let counts = check(|r| r.route = Some("/reset/jane@example.com")).unwrap();
        assert!(
            !counts.route.contains("jane@example.com"),
            "{}",
            counts.route
        );
    }
}
