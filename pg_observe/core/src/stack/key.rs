//! What a frame contributes to grouping and to an issue's culprit.

use super::{clean, Frame};

impl Frame {
    /// This frame's contribution to the grouping hash: module if known, else the
    /// lowercased basename of the filename; plus the cleaned function name. NEVER line
    /// or column numbers, never absolute paths, never build hashes.
    ///
    /// Shaped `location|function`, or just `function` when the frame has no location.
    pub fn grouping_key(&self) -> String {
        let function = self.clean_function();
        let location = match &self.module {
            Some(module) => module.clone(),
            None => self
                .filename
                .as_deref()
                .map(|f| clean::file_basename(f).to_lowercase())
                .unwrap_or_default(),
        };
        if location.is_empty() {
            function
        } else {
            format!("{location}|{function}")
        }
    }

    /// Human-readable "function (module-or-file)" for an issue's culprit column.
    pub fn culprit(&self) -> String {
        let function = self.clean_function();
        let location = self
            .module
            .clone()
            .or_else(|| self.filename.as_deref().map(clean::file_basename))
            .filter(|location| !location.is_empty());
        match location {
            Some(location) => format!("{function} ({location})"),
            None => function,
        }
    }

    fn clean_function(&self) -> String {
        clean::function(self.function.as_deref().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: Option<&str>, module: Option<&str>, filename: Option<&str>) -> Frame {
        Frame {
            function: function.map(str::to_owned),
            module: module.map(str::to_owned),
            filename: filename.map(str::to_owned),
            lineno: Some(42),
            colno: Some(17),
            in_app: true,
        }
    }

    #[test]
    fn keys() {
        let f = frame(Some("async getUser"), None, Some("/app/src/Users.ts"));
        assert_eq!(f.grouping_key(), "users.ts|getUser");
        assert_eq!(f.culprit(), "getUser (Users.ts)");

        let f = frame(
            Some("execute"),
            Some("psycopg.cursor"),
            Some("/usr/lib/python3/site-packages/psycopg/cursor.py"),
        );
        assert_eq!(f.grouping_key(), "psycopg.cursor|execute");
        assert_eq!(f.culprit(), "execute (psycopg.cursor)");

        let f = frame(Some("billing.charge(bigint,numeric) at RAISE"), None, None);
        assert_eq!(f.grouping_key(), "billing.charge(bigint,numeric) at RAISE");
        assert_eq!(f.culprit(), "billing.charge(bigint,numeric) at RAISE");

        let f = frame(None, None, Some("https://x/static/js/main.4f3a2b1c.js?v=3"));
        assert_eq!(f.grouping_key(), "main.js|?");
        assert_eq!(f.culprit(), "? (main.js)");

        let f = frame(None, None, None);
        assert_eq!(f.grouping_key(), "?");
        assert_eq!(f.culprit(), "?");
    }
}
