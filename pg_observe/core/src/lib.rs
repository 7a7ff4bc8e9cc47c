//! Pure logic of pg_observe: everything that decides *what* is stored, with no
//! knowledge of *how*. The extension, the edge functions and the benchmarks all
//! link this crate, so it must never depend on pgrx or on a JavaScript host.

pub mod alerting;
pub mod as_given;
pub mod budget;
pub mod deploy;
pub mod dora;
pub mod event;
pub mod fingerprint;
pub mod flood;
pub mod header_policy;
pub mod headers;
pub mod health;
pub mod interrupt;
pub mod lifecycle;
pub mod limits;
pub mod log_entry;
pub mod normalize;
pub mod process;
pub mod release;
pub mod requests;
pub mod ring;
pub mod sampling;
pub mod scrub;
pub mod sentry;
pub mod server_error;
pub mod stack;
pub mod verdict;
pub mod vitals_budget;
pub mod wire;
