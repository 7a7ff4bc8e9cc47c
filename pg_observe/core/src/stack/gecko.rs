//! `function@location` stacks: Firefox (Gecko/SpiderMonkey) and Safari
//! (JavaScriptCore) share this shape, so one parser reads both and then tells them
//! apart by the details only one engine prints.
//!
//! ```text
//! getUser@https://app.example.com/static/js/main.4f3a2b1c.js:1:2345
//! async*loadDashboard@https://app.example.com/main.js:1:49102      (Firefox)
//! renderRow@https://shop.example.com/app.js line 214 > eval:3:7      (Firefox)
//! @debugger eval code:1:1                                           (Firefox)
//! obj["@fn"]@https://host/@scope/app.js:10:29                       (Firefox)
//! bar(1)@http://host/js/file.js:13                                  (Firefox 3 to 13)
//! global code@https://app.example.com/main.js:2:2301991             (Safari)
//! forEach@[native code]                                             (Safari)
//! eval code@                                                        (Safari)
//! https://app.example.com/main.js:48:22                             (Safari)
//! value@index.android.bundle:12:1917                        (React Native, JSC)
//! ```
//! Innermost call first. Neither engine includes the `Type: message` line in
//! `error.stack`, but reporters usually prepend it, so it is read when present.

use super::{clean, header, in_app, location, Frame, Parsed, Stack, StackFormat};

/// Scope names JavaScriptCore gives code that is not inside a function.
const JSC_SCOPES: &[&str] = &["global code", "eval code", "module code"];

pub(super) fn parse(text: &str) -> Option<Parsed> {
    let mut frames = Vec::new();
    let mut exception_type = None;
    let mut evidence = Evidence::default();
    for line in text.lines() {
        crate::interrupt::check();
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
    let Some((function, location)) = split_at_location(line) else {
        return unnamed(line, evidence);
    };
    let function = clean::without_arguments(function);
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
    if FIREFOX_LOCATIONS
        .iter()
        .any(|marker| parsed.path.starts_with(marker))
    {
        evidence.gecko += 1;
    } else if !parsed.path.contains(':') {
        // A browser gives Firefox a URL (`https:`, `file:`, `data:`, ...) for every
        // script; a file path or a bare bundle name (`/home/app/App.js`,
        // `main.jsbundle`) is React Native on JavaScriptCore.
        evidence.javascript_core += 1;
    }
    Some(located(
        function,
        Some(parsed.path),
        parsed.line,
        parsed.column,
    ))
}

/// Locations only Firefox prints: its devtools' consoles, its own and its extensions' code.
const FIREFOX_LOCATIONS: &[&str] = &[
    "debugger eval code",
    "Scratchpad/",
    "resource://",
    "moz-extension://",
    "chrome://",
];

/// Splits `name@location` at the `@` that ends the name.
///
/// Both halves may contain `@` themselves: Firefox names a function stored under a
/// computed key `obj["@fn"]`, old Firefox prints argument values (`f("a@b")`), and
/// URLs have `@scope` packages and `user@host` parts. The name's own `@`s are inside
/// brackets or quotes, or (JavaScriptCore's `@fn` for `{ "@fn": function () {} }`)
/// followed by more name; a location's first `@` always comes after a `/` or `:`. So the
/// separator is the first `@` outside brackets whose following text reaches another `@`
/// only after a `/` or `:`, if at all. A line that starts with a URL has no name
/// (JavaScriptCore's unnamed frames) whatever `@`s the URL holds.
///
/// One pass: the look-ahead from one `@` stops at the next one, which the pass then
/// reaches, so no character is looked at more than twice.
fn split_at_location(line: &str) -> Option<(&str, &str)> {
    let bytes = line.as_bytes();
    let mut depth = 0usize;
    let mut quote = None;
    let mut escaped = false;
    for (index, &byte) in bytes.iter().enumerate() {
        if depth == 0 && quote.is_none() && bytes[index..].starts_with(b"://") {
            return None;
        }
        if let Some(open) = quote {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == open {
                quote = None;
            }
            continue;
        }
        match byte {
            b'[' | b'(' => depth += 1,
            b']' | b')' => depth = depth.saturating_sub(1),
            b'"' | b'\'' if depth > 0 => quote = Some(byte),
            b'@' if depth == 0 => {
                let rest = &line[index + 1..];
                let ends_name = rest
                    .bytes()
                    .find(|b| matches!(b, b'/' | b':' | b'@'))
                    .is_none_or(|b| b != b'@');
                if ends_name {
                    return Some((&line[..index], rest));
                }
            }
            _ => {}
        }
    }
    None
}

/// A frame JavaScriptCore prints as its location alone, for code in no named function
/// (`http://host/file.js:48:22`, `index.android.bundle:156:572`); Firefox always prints
/// the `@`. Only a file with a line and a column counts, so that prose and clock times
/// (`12:30:05`) are not taken for frames.
fn unnamed(line: &str, evidence: &mut Evidence) -> Option<Frame> {
    if line.contains(char::is_whitespace) {
        return None;
    }
    let parsed = location::split(line);
    parsed.column?;
    if !names_a_file(parsed.path) {
        return None;
    }
    evidence.javascript_core += 1;
    Some(located(None, Some(parsed.path), parsed.line, parsed.column))
}

/// A URL (`https://...`, `safari-extension://...`), an absolute path, or a bare file
/// name with an extension (`102.js`, `index.android.bundle`; not `1.2` or `v2`).
fn names_a_file(path: &str) -> bool {
    if let Some((scheme, _)) = path.split_once("://") {
        return scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    }
    if path.starts_with('/') {
        return true;
    }
    let is_file_name_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    path.bytes().all(is_file_name_char)
        && path.rsplit_once('.').is_some_and(|(stem, extension)| {
            !stem.is_empty()
                && !extension.is_empty()
                && extension.bytes().all(|b| b.is_ascii_alphabetic())
        })
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
    fn names_and_urls_with_at_signs() {
        let cases = [
            (
                r#"obj["@fn"]@Scratchpad/1:10:29"#,
                Some(r#"obj["@fn"]"#),
                "Scratchpad/1",
            ),
            (
                r#"obj["@who"]@http://localhost:5000/misc/@stuff/foo.js:4:9"#,
                Some(r#"obj["@who"]"#),
                "http://localhost:5000/misc/@stuff/foo.js",
            ),
            (
                "who@http://localhost:5000/misc/@stuff/foo.js:3:9",
                Some("who"),
                "http://localhost:5000/misc/@stuff/foo.js",
            ),
            (
                "@https://x/@scope/pkg@1.2.3/index.js:1:2",
                None,
                "https://x/@scope/pkg@1.2.3/index.js",
            ),
            ("@fn@https://x/app.js:1:2", Some("@fn"), "https://x/app.js"),
            (
                r#"obj['a]@b']@https://user@x/app.js:1:2"#,
                Some(r#"obj['a]@b']"#),
                "https://user@x/app.js",
            ),
            (
                r#"obj["a\"@"]@https://x/app.js:1:2"#,
                Some(r#"obj["a\"@"]"#),
                "https://x/app.js",
            ),
            (
                r#"f("a@b")@https://x/app.js:1:2"#,
                Some("f"),
                "https://x/app.js",
            ),
        ];
        for (line, function, file) in cases {
            let f = one(line);
            assert_eq!(f.function.as_deref(), function, "{line}");
            assert_eq!(f.filename.as_deref(), Some(file), "{line}");
        }
    }

    #[test]
    fn argument_lists_are_not_names() {
        let cases = [
            ("()@http://127.0.0.1:8000/js/stacktrace.js:44", None),
            ("(null)@http://127.0.0.1:8000/js/stacktrace.js:31", None),
            (
                "printStackTrace()@http://127.0.0.1:8000/js/stacktrace.js:18",
                Some("printStackTrace"),
            ),
            ("bar(1)@file:///G:/js/file.js:13", Some("bar")),
            (r#"save("a b", 2)@https://x/app.js:1:2"#, Some("save")),
        ];
        for (line, function) in cases {
            assert_eq!(one(line).function.as_deref(), function, "{line}");
        }
        let f = one("bar(1)@file:///G:/js/file.js:13");
        assert_eq!((f.lineno, f.colno), (Some(13), None));
    }

    #[test]
    fn unnamed_safari_frames() {
        let cases = [
            (
                "http://path/to/file.js:48:22",
                "http://path/to/file.js",
                48,
                22,
            ),
            (
                "index.android.bundle:156:572",
                "index.android.bundle",
                156,
                572,
            ),
            ("102.js:1:2956", "102.js", 1, 2956),
            (
                "https://unpkg.com/@scope/pkg@1.2.3/index.js:1:2",
                "https://unpkg.com/@scope/pkg@1.2.3/index.js",
                1,
                2,
            ),
            (
                "/Users/me/App.app/main.jsbundle:97:13819",
                "/Users/me/App.app/main.jsbundle",
                97,
                13819,
            ),
            (
                "http://localhost:8081/index.ios.bundle?platform=ios&dev=true:64625:22",
                "http://localhost:8081/index.ios.bundle?platform=ios&dev=true",
                64625,
                22,
            ),
        ];
        for (line, file, lineno, colno) in cases {
            let mut evidence = Evidence::default();
            let f = frame(line, &mut evidence).unwrap();
            assert_eq!(f.function, None, "{line}");
            assert_eq!(f.filename.as_deref(), Some(file), "{line}");
            assert_eq!((f.lineno, f.colno), (Some(lineno), Some(colno)), "{line}");
            assert_eq!(evidence.javascript_core, 1, "{line}");
        }
        assert!(one("http://path/to/file.js:48:22").in_app);
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
            "12:30:05",
            "1.2:3:4",
            "v2:1:1",
            "http://path/to/file.js:48",
            "see http://path/to/file.js:48:22",
            "http://localhost:3000",
            "a(@https://x/a.js:1:2",
            "(@)@",
            "a(b.js:1:2",
            "a(@b://x/a.js:1:2",
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
        let safari_unnamed = "https://x/a.js:1:1\nb@https://x/a.js:2:2";
        assert_eq!(
            parse(safari_unnamed).unwrap().stack.format,
            StackFormat::JavaScriptCore
        );
        let react_native = "a@/home/app/App.js:1:1\nb@index.ios.bundle:2:2";
        assert_eq!(
            parse(react_native).unwrap().stack.format,
            StackFormat::JavaScriptCore
        );
        let scratchpad = r#"obj["@fn"]@Scratchpad/1:10:29"#;
        assert_eq!(parse(scratchpad).unwrap().stack.format, StackFormat::Gecko);
        let data_url = "f@data:text/html,<script>f()</script>:1:9";
        assert_eq!(parse(data_url).unwrap().stack.format, StackFormat::Gecko);
    }

    #[test]
    fn an_unnamed_safari_frame_keeps_its_place() {
        let stack = parse("http://x/a.js:47:22\nfoo@http://x/a.js:52:15")
            .unwrap()
            .stack;
        assert_eq!(stack.frames.len(), 2);
        assert_eq!(stack.frames[0].function, None);
        assert_eq!(stack.frames[0].lineno, Some(47));
        assert_eq!(stack.frames[1].function.as_deref(), Some("foo"));
    }

    #[test]
    fn names_without_positions_are_not_a_stack() {
        assert!(parse("eval code@\nforEach@[native code]").is_none());
    }
}
