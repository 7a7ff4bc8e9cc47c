//! Splitting `path:line:column` locations, the shape V8, Gecko, JavaScriptCore and
//! Rust backtraces all print.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Location<'a> {
    pub path: &'a str,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

/// Peels up to two trailing `:<digits>` groups off `text`.
///
/// Numbers are taken from the end because paths may themselves contain colons
/// (`node:internal/...`, `C:\app`, `https://host:8443/...`). A number too large for
/// `u32` is still peeled off (as `u32::MAX`) so that it can never leak into a path,
/// and from there into a grouping key.
pub(super) fn split(text: &str) -> Location<'_> {
    let unpositioned = Location {
        path: text,
        line: None,
        column: None,
    };
    let Some((rest, last)) = numeric_suffix(text) else {
        return unpositioned;
    };
    let (path, line, column) = match numeric_suffix(rest) {
        Some((path, line)) => (path, line, Some(last)),
        None => (rest, last, None),
    };
    // `https://host:8443` is an origin with a port, not a file with a line number.
    if path.is_empty() || is_bare_origin(path) {
        return unpositioned;
    }
    Location {
        path,
        line: Some(line),
        column,
    }
}

fn numeric_suffix(text: &str) -> Option<(&str, u32)> {
    let colon = text.rfind(':')?;
    let digits = &text[colon + 1..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((&text[..colon], digits.parse().unwrap_or(u32::MAX)))
}

fn is_bare_origin(path: &str) -> bool {
    path.find("://")
        .is_some_and(|scheme_end| !path[scheme_end + 3..].contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> (&str, Option<u32>, Option<u32>) {
        let l = split(text);
        (l.path, l.line, l.column)
    }

    #[test]
    fn line_and_column() {
        assert_eq!(parts("/app/a.js:42:17"), ("/app/a.js", Some(42), Some(17)));
        assert_eq!(
            parts("node:internal/modules/cjs/loader:1105:14"),
            ("node:internal/modules/cjs/loader", Some(1105), Some(14))
        );
        assert_eq!(
            parts("https://h:8443/main.js:1:2"),
            ("https://h:8443/main.js", Some(1), Some(2))
        );
        assert_eq!(
            parts(r"C:\app\a.js:3:4"),
            (r"C:\app\a.js", Some(3), Some(4))
        );
    }

    #[test]
    fn line_only() {
        assert_eq!(parts("/app/a.js:42"), ("/app/a.js", Some(42), None));
    }

    #[test]
    fn no_position() {
        assert_eq!(parts("/app/a.js"), ("/app/a.js", None, None));
        assert_eq!(parts("a.js:x"), ("a.js:x", None, None));
        assert_eq!(parts(":1:2"), (":1:2", None, None));
        assert_eq!(parts(""), ("", None, None));
    }

    #[test]
    fn an_origin_port_is_not_a_line() {
        assert_eq!(
            parts("http://localhost:3000"),
            ("http://localhost:3000", None, None)
        );
    }

    #[test]
    fn huge_numbers_never_stay_in_the_path() {
        assert_eq!(
            parts("a.js:99999999999:1"),
            ("a.js", Some(u32::MAX), Some(1))
        );
    }
}
