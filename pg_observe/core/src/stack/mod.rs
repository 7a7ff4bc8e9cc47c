//! Stack trace parsing: recognises the stack formats our users' runtimes print, splits
//! them into frames (innermost call first), marks which frames are the application's,
//! and derives the per-frame grouping keys that issues are grouped by.
//!
//! One module per format (`v8`, `gecko` for Firefox and Safari, `python`, `rust`,
//! `plpgsql`, and `sentry` for the frames Sentry SDKs send as data), plus what they
//! share: `location` (`path:line:col`), `header` (the exception type line), `in_app`
//! (whose code a frame is), `clean` (what is stripped from names before grouping) and
//! `key` (the grouping key and culprit). Engines that borrowed a format are read by
//! its parser: Internet Explorer, the old Edge and Hermes print V8's
//! `at name (location)`, React Native on JavaScriptCore prints Safari's
//! `name@location`.
//!
//! Everything here runs for every captured error, on stacks up to 64 KiB, so every
//! parser is a single pass over the lines with bounded work per character.

mod clean;
mod gecko;
mod header;
mod in_app;
mod key;
mod location;
mod plpgsql;
mod python;
mod rust;
mod sentry;
mod v8;

pub use sentry::{from_sentry, render};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub function: Option<String>,
    pub module: Option<String>,
    pub filename: Option<String>,
    pub lineno: Option<u32>,
    pub colno: Option<u32>,
    pub in_app: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackFormat {
    V8,
    Gecko,
    JavaScriptCore,
    Python,
    Rust,
    PlPgSql,
    /// Frames an SDK sent as data (`sentry.rs`), of a platform with no text format here.
    Structured,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    pub format: StackFormat,
    pub exception_type: Option<String>,
    pub frames: Vec<Frame>,
}

/// Detects the format and parses; None when no frame is recognised. Frames are ordered
/// innermost (most recent call) first, whatever the source format's order.
///
/// Every parser reads the text and the one that recognises the most lines as its own
/// syntax wins, so text quoted inside another format (a Python source line containing
/// `@`, the `at` location lines of a Rust backtrace, which look like V8 frames) cannot
/// outvote the real format. Ties go to the earlier parser: those with the most
/// distinctive syntax come first.
pub fn parse(text: &str) -> Option<Stack> {
    let parsers: [fn(&str) -> Option<Parsed>; 5] = [
        python::parse,
        plpgsql::parse,
        rust::parse,
        v8::parse,
        gecko::parse,
    ];
    parsers
        .iter()
        .filter_map(|parse| parse(text))
        .fold(None, |best: Option<Parsed>, candidate| match best {
            Some(best) if best.recognised_lines >= candidate.recognised_lines => Some(best),
            _ => Some(candidate),
        })
        .map(|parsed| parsed.stack)
}

/// A format parser's reading of a text.
struct Parsed {
    stack: Stack,
    /// Lines recognised as this format's syntax, including ones that did not end up as
    /// frames (Rust `at` lines, frames of an earlier chained traceback).
    recognised_lines: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_location_lines_do_not_make_it_v8() {
        let text = "   0: myapp::main\n             at /app/src/main.rs:4:5\n";
        assert_eq!(parse(text).unwrap().format, StackFormat::Rust);
    }

    #[test]
    fn not_stacks() {
        for text in [
            "",
            "   \n\n",
            "The quick brown fox jumps over the lazy dog.",
            r#"{"error":"not found","at":"2024-01-01T00:00:00Z","stack":"Error: x\n    at f (/a.js:1:2)"}"#,
            "Meet me at the station at 5:30.",
            "ERROR:  duplicate key value violates unique constraint \"users_email_key\"",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
