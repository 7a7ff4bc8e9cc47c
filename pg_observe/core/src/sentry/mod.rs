//! The Sentry SDK protocol: what the official SDKs (browser, Node, Deno,
//! Python, …) send once their DSN points at pg_observe, turned into the same
//! [`EventInput`](crate::event::EventInput) every other capture path builds.
//!
//! * `envelope`: the newline-delimited envelope framing (item headers with
//!   and without `length`);
//! * `auth`: the project key, from `X-Sentry-Auth`, the `sentry_key` query
//!   parameter or the envelope header's DSN;
//! * `event`: a v7 event (exceptions with structured frames, message or
//!   `logentry`, level, release, tags, user, request, contexts, breadcrumbs,
//!   fingerprint, SDK) mapped onto an event.
//!
//! Sentry's own protocol crate, `sentry-types`, reads what it models exactly:
//! the auth header and query (`Auth`), the DSN (`Dsn`), and each exception
//! with its mechanism and frames (`Exception`, `Frame`), which feed grouping.
//! It is not used for the rest, for reasons a real SDK's traffic shows:
//!
//! * its envelope parser refuses an envelope with any item type it does not
//!   know (`profile`, `replay_event`, `feedback`, `span`, `user_report`, …)
//!   and with any item its strict model refuses, so one odd item would lose
//!   the event beside it; the protocol says unknown items are skipped;
//! * its `Request` wants `cookies` and `data` as strings and `url` absolute,
//!   its `User` an `id` string, its `Breadcrumb` a level it knows (the
//!   browser SDK's console breadcrumbs say `log`): the Python SDK's Flask and
//!   Django integrations send cookies and bodies as objects, and
//!   `set_user({"id": 42})` sends a number. Those parts are read as JSON,
//!   scrubbed and bounded like any context.

mod auth;
mod envelope;
mod event;

pub use auth::{public_key, AuthError};
pub use envelope::{parse_envelope, Envelope, EnvelopeError, Item, MAX_ITEMS};
pub use event::{event_from_sentry, SdkEvent, MAX_BREADCRUMBS};
