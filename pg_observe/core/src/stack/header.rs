//! Reading the exception type from the line that names the error (`TypeError: ...`,
//! `psycopg.errors.UniqueViolation: ...`).

/// Exception type from a JavaScript header line such as `TypeError: message`.
///
/// JavaScript has no fixed error hierarchy (`PostgrestError`, Deno's `NotFound`,
/// DOM `AbortError`), so this goes by shape: a PascalCase identifier, optionally
/// dotted, followed by `:`. A bare name with no message (`new Error()` prints just
/// `Error`) is only trusted when it says it is an error, because a lone capitalised
/// word is more often the first word of a log message.
pub(super) fn javascript(line: &str) -> Option<String> {
    let mut rest = line.trim();
    // Deno prints `error: Uncaught (in promise) TypeError: ...`; Chrome's console
    // prints `Uncaught TypeError: ...`.
    for prefix in ["error: ", "Uncaught ", "(in promise) "] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.')))
        .unwrap_or(rest.len());
    let (name, after) = rest.split_at(end);
    let last_segment = name.rsplit('.').next().unwrap_or(name);
    if !is_dotted_identifier(name) || !last_segment.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    // Node appends the error code: `Error [ERR_HTTP_HEADERS_SENT]: ...`.
    let after = match after.strip_prefix(" [") {
        Some(code) => code.split_once(']').map_or(after, |(_, rest)| rest),
        None => after,
    };
    let says_error = name.ends_with("Error") || name.ends_with("Exception");
    (after.starts_with(':') || (after.trim().is_empty() && says_error)).then(|| name.to_owned())
}

/// Exception type from the last line of a Python traceback.
///
/// CPython prints `module.Class: message`, or just the class when the message is empty
/// (`TimeoutError`). Python class names need not be PascalCase (`socket.timeout`), and
/// this line's position already says it is the exception, so any dotted identifier
/// counts.
pub(super) fn python(line: &str) -> Option<String> {
    let line = line.trim_end();
    let name = line.split_once(':').map_or(line, |(name, _)| name);
    is_dotted_identifier(name).then(|| name.to_owned())
}

fn is_dotted_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|segment| {
            segment.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '$')
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn javascript_types() {
        let cases = [
            (
                "TypeError: Cannot read properties of undefined",
                Some("TypeError"),
            ),
            ("PostgrestError: duplicate key", Some("PostgrestError")),
            ("AbortError: The operation was aborted.", Some("AbortError")),
            ("Error", Some("Error")),
            (
                "Error [ERR_HTTP_HEADERS_SENT]: Cannot set headers",
                Some("Error"),
            ),
            ("Uncaught TypeError: x is null", Some("TypeError")),
            (
                "error: Uncaught (in promise) NotFound: No such file",
                Some("NotFound"),
            ),
            (
                "Deno.errors.NotFound: No such file",
                Some("Deno.errors.NotFound"),
            ),
            ("Oops", None),
            ("failed to fetch: timeout", None),
            ("/app/src/config.js:6", None),
            ("  return url.trim();", None),
            ("Node.js v20.20.2", None),
            ("", None),
        ];
        for (line, expected) in cases {
            assert_eq!(javascript(line).as_deref(), expected, "{line}");
        }
    }

    #[test]
    fn python_types() {
        let cases = [
            (
                "psycopg.errors.UniqueViolation: duplicate key",
                Some("psycopg.errors.UniqueViolation"),
            ),
            ("TimeoutError", Some("TimeoutError")),
            ("socket.timeout: timed out", Some("socket.timeout")),
            (
                "During handling of the above exception, another exception occurred:",
                None,
            ),
            ("[Previous line repeated 996 more times]", None),
        ];
        for (line, expected) in cases {
            assert_eq!(python(line).as_deref(), expected, "{line}");
        }
    }
}
