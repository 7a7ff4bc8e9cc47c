use std::fmt;
use std::str::FromStr;

use super::EventError;

/// Event severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Debug,
    Info,
    Warning,
    Error,
    Fatal,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Debug,
        Level::Info,
        Level::Warning,
        Level::Error,
        Level::Fatal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }

    /// The allowed values as the error message lists them.
    pub fn allowed() -> String {
        Level::ALL.map(Level::as_str).join(", ")
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = EventError;

    /// Case-insensitive, because SQL callers write `'ERROR'` as often as
    /// `'error'`; aliases such as `warn` are refused so that stored levels
    /// stay one closed vocabulary.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| EventError::invalid_level(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_level_in_any_case() {
        for level in Level::ALL {
            assert_eq!(level.as_str().parse::<Level>().unwrap(), level);
            assert_eq!(
                level.as_str().to_uppercase().parse::<Level>().unwrap(),
                level
            );
        }
    }

    #[test]
    fn rejects_unknown_levels_listing_the_allowed_ones() {
        for bad in ["warn", "critical", "", "error "] {
            let err = bad.parse::<Level>().unwrap_err();
            assert!(
                err.to_string()
                    .contains("debug, info, warning, error, fatal"),
                "{err}"
            );
        }
    }

    #[test]
    fn orders_by_severity() {
        assert!(Level::Fatal > Level::Error && Level::Error > Level::Warning);
        assert!(Level::Info > Level::Debug);
    }
}
