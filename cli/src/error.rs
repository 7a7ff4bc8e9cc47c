//! Every way the CLI can end, each with its own exit code, so CI can tell a
//! failed gate from a broken pipe. The codes are part of the contract
//! (README, "The pg-observe CLI"); above 63 they follow sysexits.h.

use thiserror::Error;

pub const EXIT_CODES: &str = "\
Exit codes:
   0  pass / done
   1  a verdict, gate or budget failed
   2  inconclusive (too little traffic, window not over); 0 with --inconclusive-ok
   3  refused: nothing healthy to roll back to, a deploy not verified, a target that does not answer
   4  not found: an unknown deploy or project
  64  bad arguments
  65  bad input file (policy, Lighthouse configuration)
  69  database unreachable
  70  the database refused a statement
  75  Vercel API unreachable
  76  Vercel API error
  77  not authorised (Vercel token, database role)
  78  configuration missing (an environment variable)";

#[derive(Debug, Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Config(String),
    #[error("cannot reach the database: {0}")]
    DbUnreachable(String),
    #[error("the database refused: {message} (SQLSTATE {sqlstate})")]
    Db { sqlstate: String, message: String },
    #[error("cannot reach the Vercel API at {url}: {reason}")]
    ApiUnreachable { url: String, reason: String },
    #[error("Vercel API error {status} ({code}): {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Refused(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 64,
            CliError::Input(_) => 65,
            CliError::Config(_) => 78,
            CliError::DbUnreachable(_) => 69,
            CliError::Db { sqlstate, .. } => match sqlstate.as_str() {
                "P0002" => 4,
                "42501" | "28000" | "28P01" => 77,
                _ => 70,
            },
            CliError::ApiUnreachable { .. } => 75,
            CliError::Api { status, .. } => match status {
                401 | 403 => 77,
                404 => 4,
                _ => 76,
            },
            CliError::NotFound(_) => 4,
            CliError::Refused(_) => 3,
        }
    }
}

impl From<postgres::Error> for CliError {
    fn from(e: postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => CliError::Db {
                sqlstate: db.code().code().to_owned(),
                message: match db.hint() {
                    Some(h) => format!("{} (hint: {h})", db.message()),
                    None => db.message().to_owned(),
                },
            },
            None => CliError::DbUnreachable(e.to_string()),
        }
    }
}

/// The outcome of a command that judged something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Pass,
    Inconclusive,
    Fail,
}

impl Outcome {
    pub fn parse(s: &str) -> Outcome {
        match s {
            "pass" => Outcome::Pass,
            "fail" => Outcome::Fail,
            _ => Outcome::Inconclusive,
        }
    }

    pub fn exit_code(self, inconclusive_ok: bool) -> i32 {
        match self {
            Outcome::Pass => 0,
            Outcome::Fail => 1,
            Outcome::Inconclusive if inconclusive_ok => 0,
            Outcome::Inconclusive => 2,
        }
    }
}
