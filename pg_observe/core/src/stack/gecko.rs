//! `function@location` stacks: Firefox (Gecko/SpiderMonkey) and Safari
//! (JavaScriptCore) share this shape, so one parser reads both and then tells them
//! apart by the details only one engine prints.
//!
//! ```text
//! getUser@https://app.example.com/static/js/main.4f3a2b1c.js:1:2345
//! async*loadDashboard@https://app.example.com/main.js:1:49102      (Firefox)
//! renderRow@https://shop.example.com/app.js line 214 > eval:3:7      (Firefox)
//! @debugger eval code:1:1                                           (Firefox)
//! global code@https://app.example.com/main.js:2:2301991             (Safari)
//! forEach@[native code]                                             (Safari)
//! eval code@                                                        (Safari)
//! ```
//! Innermost call first. Neither engine includes the `Type: message` line in
//! `error.stack`, but reporters usually prepend it, so it is read when present.

use super::{header, in_app, location, Frame, Parsed, Stack, StackFormat};

/// Scope names JavaScriptCore gives code that is not inside a function.
const JSC_SCOPES: &[&str] = &["global code", "eval code", "module code"];

pub(super) fn parse(text: &str) -> Option<Parsed> {
    let mut frames = Vec::new();
    let mut exception_type = None;
    let mut evidence = Evidence::default();
    for line in text.lines() {
        let line = line.trim();
        match frame(line, &mut evidence) {
            Some(frame) => frames.push(frame),
            None if frames.is_empty() && exception_type.is_none() => {
                exception_type = header::javascript(line);
                // Only JavaScriptCore words its TypeErrors `(evaluating 'x.y')`.
                if exception_type.is_some() && line.contains("(evaluating '") {
                    evidence.javascript_core += 1;
                }
            }
            None => {}
        }
    }
    // A name alone (`name@`) or `[native code]` proves nothing about positions; demand
    // at least one frame that points into a file before calling this a stack.
    if !frames.iter().any(|f| f.lineno.is_some()) {
        return None;
    }
    let format = if evidence.javascript_core > evidence.gecko {
        StackFormat::JavaScriptCore
    } else {
        StackFormat::Gecko
    };
    Some(Parsed {
        recognised_lines: frames.len(),
        stack: Stack {
            format,
            exception_type,
            frames,
        },
    })
}

#[derive(Default)]
struct Evidence {
    gecko: usize,
    javascript_core: usize,
}

fn frame(line: &str, evidence: &mut Evidence) -> Option<Frame> {
    // Old Safari prints native frames without any `@`.
    if line == "[native code]" {
        evidence.javascript_core += 1;
        return Some(located(None, Some("[native code]"), None, None));
    }
    let (function, location) = line.split_once('@')?;
    if !is_function_name(function) {
        return None;
    }
    let function = (!function.is_empty()).then_some(function);
    let is_jsc_scope = function.is_some_and(|f| JSC_SCOPES.contains(&f));
    let is_firefox_name = function.is_some_and(|f| f.contains('*') || f.ends_with('<'));
    evidence.javascript_core += usize::from(is_jsc_scope);
    evidence.gecko += usize::from(is_firefox_name);

    let location = location.trim();
    if location.is_empty() {
        // JavaScriptCore prints `name@` when the code has no source URL.
        evidence.javascript_core += 1;
        return function.map(|f| located(Some(f), None, None, None));
    }
    if location == "[native code]" {
        evidence.javascript_core += 1;
        return Some(located(function, Some(location), None, None));
    }
    if let Some((url, line)) = firefox_eval(location) {
        evidence.gecko += 1;
        return Some(located(function, Some(url), line, None));
    }
    let parsed = location::split(location);
    parsed.line?;
    if [
        "debugger eval code",
        "resource://",
        "moz-extension://",
        "chrome://",
    ]
    .iter()
    .any(|marker| parsed.path.starts_with(marker))
    {
        evidence.gecko += 1;
    }
    Some(located(
        function,
        Some(parsed.path),
        parsed.line,
        parsed.column,
    ))
}

fn located(
    function: Option<&str>,
    filename: Option<&str>,
    lineno: Option<u32>,
    colno: Option<u32>,
) -> Frame {
    Frame {
        function: function.map(str::to_owned),
        module: None,
        filename: filename.map(str::to_owned),
        lineno,
        colno,
        in_app: in_app::javascript(filename),
    }
}

/// Function names have no spaces, except JavaScriptCore's scope names and Firefox's
/// async causes (`promise callback*name`), whose spaces all come before the `*`.
fn is_function_name(function: &str) -> bool {
    let after_cause = function.rsplit_once('*').map_or(function, |(_, name)| name);
    JSC_SCOPES.contains(&function) || !after_cause.contains(char::is_whitespace)
}

/// Firefox locates eval'd code as `URL line N > eval:L:C` (or `> Function`, nested
/// `> eval` repeated). The eval'd code's own position is meaningless outside it; the
/// caller's URL and line are the application's.
fn firefox_eval(location: &str) -> Option<(&str, Option<u32>)> {
    let (url, rest) = location.split_once(" line ")?;
    if !rest.contains(" > ") {
        return None;
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    Some((url, rest[..digits].parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Frame {
        frame(line, &mut Evidence::default()).unwrap()
    }

    #[test]
    fn firefox_frames() {
        let f = one("getUser@https://app.example.com/static/js/main.4f3a2b1c.js:1:2345");
        assert_eq!(f.function.as_deref(), Some("getUser"));
        assert_eq!(
            f.filename.as_deref(),
            Some("https://app.example.com/static/js/main.4f3a2b1c.js")
        );
        assert_eq!((f.lineno, f.colno), (Some(1), Some(2345)));
        assert!(f.in_app);

        let f = one("@https://app.example.com/main.js:1:5");
        assert_eq!(f.function, None);

        let f = one("promise callback*Dashboard@https://app.example.com/main.js:1:5");
        assert_eq!(f.function.as_deref(), Some("promise callback*Dashboard"));

        let f = one("renderRow@https://shop.example.com/js/app.js?v=2 line 214 > eval:3:7");
        assert_eq!(
            f.filename.as_deref(),
            Some("https://shop.example.com/js/app.js?v=2")
        );
        assert_eq!((f.lineno, f.colno), (Some(214), None));

        let f = one("@debugger eval code:1:1");
        assert_eq!(f.filename.as_deref(), Some("debugger eval code"));
        assert!(!f.in_app);

        let f = one("x@https://unpkg.com/@scope/pkg@1.2.3/dist/index.js:1:2");
        assert_eq!(
            f.filename.as_deref(),
            Some("https://unpkg.com/@scope/pkg@1.2.3/dist/index.js")
        );
    }

    #[test]
    fn safari_frames() {
        let f = one("forEach@[native code]");
        assert_eq!(f.filename.as_deref(), Some("[native code]"));
        assert!(!f.in_app);
        let f = one("eval code@");
        assert_eq!(
            (f.function.as_deref(), f.filename),
            (Some("eval code"), None)
        );
        let f = one("global code@https://app.example.com/main.js:2:9");
        assert!(f.in_app);
        assert_eq!(
            one("[native code]").filename.as_deref(),
            Some("[native code]")
        );
    }

    #[test]
    fn not_frames() {
        for line in [
            "contact bob@example.com",
            "bob@example.com",
            "at foo (https://x/@scope/a.js:1:2)",
            "@",
            "some words@https://x/a.js:1:2",
        ] {
            assert!(frame(line, &mut Evidence::default()).is_none(), "{line}");
        }
    }

    #[test]
    fn engine_detection() {
        let firefox = "a/<@https://x/a.js:1:1\nb@https://x/a.js:2:2";
        assert_eq!(parse(firefox).unwrap().stack.format, StackFormat::Gecko);
        let safari = "a@https://x/a.js:1:1\nforEach@[native code]\nglobal code@https://x/a.js:2:2";
        assert_eq!(
            parse(safari).unwrap().stack.format,
            StackFormat::JavaScriptCore
        );
        let safari_header =
            "TypeError: undefined is not an object (evaluating 'a.b')\na@https://x/a.js:1:1";
        assert_eq!(
            parse(safari_header).unwrap().stack.format,
            StackFormat::JavaScriptCore
        );
        let undecided = "a@https://x/a.js:1:1";
        assert_eq!(parse(undecided).unwrap().stack.format, StackFormat::Gecko);
    }

    #[test]
    fn names_without_positions_are_not_a_stack() {
        assert!(parse("eval code@\nforEach@[native code]").is_none());
    }
}
