//! V8 stacks: Node, Deno, Supabase Edge Runtime, Chrome and Edge.
//!
//! Also the shapes other engines print in V8's style: Internet Explorer and the old
//! Edge (Chakra), React Native's V8 and Hermes, webpack's eval builds and Safari's
//! extension frames.
//!
//! ```text
//! TypeError: Cannot read properties of undefined (reading 'id')
//!     at getUser (/app/src/users.ts:42:17)
//!     at async Promise.all (index 0)
//!     at file:///home/deno/functions/log-error/index.ts:12:3
//!     at Template.render (eval at Template (file:///app/t.mjs:3:19), <anonymous>:2:24)
//!     at Layout (eval at proxyClass (webpack:///./src/proxy.js?), <anonymous>:4:17)
//!     at Object.callback (async http://localhost:5000/:25:7)
//!     at render(/home/app/src/GpsMonitorScene.js:78:24)          (React Native, webpack)
//!     at onPress (address at index.android.bundle:1:452701)      (Hermes)
//!     at Anonymous function (http://host/file.js:48:13)          (Internet Explorer)
//!     at Array.prototype.map (native code)                       (Edge)
//!     at f@safari-extension:(//3284871F/commons.js:2:10)          (Safari extension)
//! ```
//! Innermost call first.

use std::borrow::Cow;

use super::{header, in_app, location, Frame, Parsed, Stack, StackFormat};

/// Nested `eval at f (eval at g (...))` origins are followed this many levels deep.
/// Each level rescans the remaining text, so a bound keeps hostile input linear.
const MAX_EVAL_DEPTH: usize = 8;

pub(super) fn parse(text: &str) -> Option<Parsed> {
    let mut frames = Vec::new();
    let mut exception_type = None;
    for line in text.lines() {
        crate::interrupt::check();
        let line = line.trim();
        // Node's util.inspect prints an error's `cause` with its own stack after the
        // outer one; those frames belong to a different exception.
        if line.starts_with("[cause]:") && !frames.is_empty() {
            break;
        }
        match frame(line) {
            Some(frame) => frames.push(frame),
            // Node's uncaught-exception report puts the source excerpt first and the
            // `Type: message` line just before the frames; take the first that fits.
            None if frames.is_empty() && exception_type.is_none() => {
                exception_type = header::javascript(line);
            }
            None => {}
        }
    }
    if frames.is_empty() {
        return None;
    }
    Some(Parsed {
        recognised_lines: frames.len(),
        stack: Stack {
            format: StackFormat::V8,
            exception_type,
            frames,
        },
    })
}

fn frame(line: &str) -> Option<Frame> {
    let rest = line.strip_prefix("at ")?.trim();
    let (function, location) = split_call(rest);
    let (function, location) = rejoin_scheme(function, location);
    let (filename, lineno, colno) = resolve(&location)?;
    Some(Frame {
        in_app: in_app::javascript(filename.as_deref()),
        function: function.map(str::to_owned),
        module: None,
        filename,
        lineno,
        colno,
    })
}

/// `name (location)`, `name(location)` or a bare `location`. React Native's V8 and
/// webpack's eval builds print no space before the parenthesis. The location is the
/// last balanced parenthesised group, because eval origins nest parentheses inside it
/// and Next.js route groups put them in paths.
fn split_call(rest: &str) -> (Option<&str>, &str) {
    if let Some(body) = rest.strip_suffix(')') {
        if let Some(open) = matching_open(body) {
            let name = body[..open].trim();
            return ((!name.is_empty()).then_some(name), &body[open + 1..]);
        }
    }
    (None, rest.strip_prefix("async ").unwrap_or(rest))
}

/// Safari prints an extension's frames as `name@safari-extension:(//ID/file.js:1:2)`, so
/// the URL's scheme lands before the parenthesis; this puts it back in front of the rest
/// of the URL.
fn rejoin_scheme<'a>(
    function: Option<&'a str>,
    location: &'a str,
) -> (Option<&'a str>, Cow<'a, str>) {
    let unchanged = (function, Cow::Borrowed(location));
    let Some(before_colon) = function.and_then(|name| name.strip_suffix(':')) else {
        return unchanged;
    };
    if !location.starts_with("//") {
        return unchanged;
    }
    let (name, scheme) = match before_colon.rsplit_once('@') {
        Some((name, scheme)) => (Some(name).filter(|n| !n.is_empty()), scheme),
        None => (None, before_colon),
    };
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !is_scheme {
        return unchanged;
    }
    (name, Cow::Owned(format!("{scheme}:{location}")))
}

fn matching_open(body: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (index, byte) in body.bytes().enumerate().rev() {
        match byte {
            b')' => depth += 1,
            b'(' if depth == 0 => return Some(index),
            b'(' => depth -= 1,
            _ => {}
        }
    }
    None
}

type Resolved = (Option<String>, Option<u32>, Option<u32>);

/// The file, line and column a location names, or `None` when it is not a location
/// (so that prose starting with "at " is not taken for a frame).
fn resolve(location: &str) -> Option<Resolved> {
    // Hermes prints a bytecode position as `address at FILE:1:N`; Chrome marks a frame
    // reached through `await` as `async URL`. Neither prefix is part of the file.
    let location = ["address at ", "async "]
        .iter()
        .find_map(|prefix| location.strip_prefix(prefix))
        .unwrap_or(location);
    match location {
        // `native code` is the old Edge's `native`.
        "native" | "native code" | "<anonymous>" => {
            return Some((Some(location.to_owned()), None, None))
        }
        // `Promise.all (index 0)`: the position of the promise in the argument list.
        _ if location
            .strip_prefix("index ")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) =>
        {
            return Some((None, None, None))
        }
        _ => {}
    }
    if location.starts_with("eval at ") {
        // The eval'd code's own position (`<anonymous>:2:24`) is meaningless outside it;
        // the origin is the application line that called eval.
        return Some(eval_origin(location).map_or((None, None, None), positioned));
    }
    let parsed = location::split(location);
    parsed.line.is_some().then(|| positioned(parsed))
}

fn positioned(l: location::Location<'_>) -> Resolved {
    (Some(l.path.to_owned()), l.line, l.column)
}

/// Follows `eval at f (ORIGIN), <anonymous>:L:C` to the innermost real ORIGIN. webpack's
/// eval source maps name the origin's file without a position (`eval at proxyClass
/// (webpack:///./src/proxy.js?)`); that file is still where the code came from.
fn eval_origin(location: &str) -> Option<location::Location<'_>> {
    let mut current = location;
    for _ in 0..MAX_EVAL_DEPTH {
        let Some(inner) = current.strip_prefix("eval at ") else {
            let parsed = location::split(current);
            return (!parsed.path.is_empty()).then_some(parsed);
        };
        let open = inner.find('(')?;
        let close = matching_close(inner, open)?;
        current = &inner[open + 1..close];
    }
    None
}

fn matching_close(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (index, byte) in text.bytes().enumerate().skip(open) {
        match byte {
            b'(' => depth += 1,
            b')' if depth == 1 => return Some(index),
            b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(
        line: &str,
    ) -> (
        Option<String>,
        Option<String>,
        Option<u32>,
        Option<u32>,
        bool,
    ) {
        let f = frame(line).unwrap();
        (f.function, f.filename, f.lineno, f.colno, f.in_app)
    }

    fn s(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    #[test]
    fn named_frames() {
        assert_eq!(
            parts("at getUser (/app/src/users.ts:42:17)"),
            (
                s("getUser"),
                s("/app/src/users.ts"),
                Some(42),
                Some(17),
                true
            )
        );
        assert_eq!(
            parts("at new Foo (/app/foo.js:1:2)"),
            (s("new Foo"), s("/app/foo.js"), Some(1), Some(2), true)
        );
        assert_eq!(
            parts("at Module._compile (node:internal/modules/cjs/loader:1105:14)"),
            (
                s("Module._compile"),
                s("node:internal/modules/cjs/loader"),
                Some(1105),
                Some(14),
                false
            )
        );
        assert_eq!(
            parts("at Object.t [as next] (https://x/_next/static/chunks/app/(shop)/page-1a2b3c4d.js:1:2)"),
            (
                s("Object.t [as next]"),
                s("https://x/_next/static/chunks/app/(shop)/page-1a2b3c4d.js"),
                Some(1),
                Some(2),
                true
            )
        );
    }

    #[test]
    fn anonymous_and_builtin_frames() {
        assert_eq!(
            parts("at file:///home/deno/functions/log-error/index.ts:12:3"),
            (
                None,
                s("file:///home/deno/functions/log-error/index.ts"),
                Some(12),
                Some(3),
                true
            )
        );
        assert_eq!(
            parts("at async file:///app/main.ts:9:1"),
            (None, s("file:///app/main.ts"), Some(9), Some(1), true)
        );
        assert_eq!(
            parts("at ext:core/01_core.js:168:7"),
            (None, s("ext:core/01_core.js"), Some(168), Some(7), false)
        );
        assert_eq!(
            parts("at async Promise.all (index 0)"),
            (s("async Promise.all"), None, None, None, false)
        );
        assert_eq!(
            parts("at Array.forEach (<anonymous>)"),
            (s("Array.forEach"), s("<anonymous>"), None, None, false)
        );
        assert_eq!(
            parts("at JSON.parse (native)"),
            (s("JSON.parse"), s("native"), None, None, false)
        );
        assert_eq!(
            parts("at <anonymous>:1:7"),
            (None, s("<anonymous>"), Some(1), Some(7), false)
        );
    }

    #[test]
    fn eval_frames_point_at_the_caller() {
        assert_eq!(
            parts("at Template.render (eval at Template (file:///srv/app/lib/template.mjs:3:19), <anonymous>:2:24)"),
            (s("Template.render"), s("file:///srv/app/lib/template.mjs"), Some(3), Some(19), true)
        );
        assert_eq!(
            parts("at eval (eval at outer (eval at run (/app/x.js:3:10), <anonymous>:1:1), <anonymous>:2:5)"),
            (s("eval"), s("/app/x.js"), Some(3), Some(10), true)
        );
        let deep = format!(
            "at eval ({}/app/x.js:1:1{})",
            "eval at f (".repeat(20),
            ")".repeat(20)
        );
        assert_eq!(parts(&deep), (s("eval"), None, None, None, false));
    }

    #[test]
    fn frames_without_a_space_before_the_location() {
        let cases = [
            (
                "at render(/home/app/src/components/GpsMonitorScene.js:78:24)",
                (
                    s("render"),
                    s("/home/app/src/components/GpsMonitorScene.js"),
                    Some(78),
                    Some(24),
                    true,
                ),
            ),
            (
                "at TESTTESTTEST.eval(webpack:///./src/components/test/test.jsx?:295:108)",
                (
                    s("TESTTESTTEST.eval"),
                    s("webpack:///./src/components/test/test.jsx?"),
                    Some(295),
                    Some(108),
                    true,
                ),
            ),
            (
                "at Object.onPress(index.android.bundle:2342:3773)",
                (
                    s("Object.onPress"),
                    s("index.android.bundle"),
                    Some(2342),
                    Some(3773),
                    true,
                ),
            ),
            (
                "at Array.reduce(<anonymous>)",
                (s("Array.reduce"), s("<anonymous>"), None, None, false),
            ),
            (
                "at key(webpack/runtime/jsonp chunk loading:27:18)",
                (
                    s("key"),
                    s("webpack/runtime/jsonp chunk loading"),
                    Some(27),
                    Some(18),
                    false,
                ),
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(parts(line), expected, "{line}");
        }
    }

    #[test]
    fn eval_origins_without_a_position_keep_their_file() {
        assert_eq!(
            parts("at Layout (eval at proxyClass (webpack:///./src/proxy/createClassProxy.js?), <anonymous>:4:17)"),
            (s("Layout"), s("webpack:///./src/proxy/createClassProxy.js?"), None, None, true)
        );
        assert_eq!(
            parts("at eval (eval at f (), <anonymous>:1:1)"),
            (s("eval"), None, None, None, false)
        );
    }

    #[test]
    fn other_engines_in_v8_style() {
        let cases = [
            (
                "at onPress (address at index.android.bundle:1:452701)",
                (s("onPress"), s("index.android.bundle"), Some(1), Some(452701), true),
            ),
            (
                "at anonymous (address at /var/containers/Bundle/Application/X/App.app/main.jsbundle:1:284713)",
                (s("anonymous"), s("/var/containers/Bundle/Application/X/App.app/main.jsbundle"), Some(1), Some(284713), true),
            ),
            (
                "at Object.callback (async http://localhost:5000/:25:7)",
                (s("Object.callback"), s("http://localhost:5000/"), Some(25), Some(7), true),
            ),
            (
                "at Anonymous function (http://path/to/file.js:48:13)",
                (s("Anonymous function"), s("http://path/to/file.js"), Some(48), Some(13), true),
            ),
            (
                "at Array.prototype.map (native code)",
                (s("Array.prototype.map"), s("native code"), None, None, false),
            ),
            (
                "at eval code (eval code:1:1)",
                (s("eval code"), s("eval code"), Some(1), Some(1), false),
            ),
            (
                "at ClipperError@safari-extension:(//3284871F-A480/2665fee0/commons.js:223036:10)",
                (s("ClipperError"), s("safari-extension://3284871F-A480/2665fee0/commons.js"), Some(223036), Some(10), false),
            ),
            (
                "at safari-web-extension:(//3284871F-A480/2665fee0/topee-content.js:3313:26)",
                (None, s("safari-web-extension://3284871F-A480/2665fee0/topee-content.js"), Some(3313), Some(26), false),
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(parts(line), expected, "{line}");
        }
        // A colon-ended name before a path that is not `//...` is left as it is.
        assert_eq!(
            parts("at weird: (/app/a.js:1:2)"),
            (s("weird:"), s("/app/a.js"), Some(1), Some(2), true)
        );
    }

    #[test]
    fn prose_is_not_a_frame() {
        assert!(frame("at the end of the day").is_none());
        assert!(frame("at noon (local time)").is_none());
        assert!(frame("at noon(local time)").is_none());
        assert!(frame("at f(x)").is_none());
        assert!(frame("look at /app/x.js:1:2").is_none());
        assert!(parse("We met at the station.\nIt was at 5 (or so).").is_none());
    }

    #[test]
    fn cause_stacks_are_left_out() {
        let text = "Error: outer\n    at a (/app/a.js:1:1)\n  [cause]: TypeError: inner\n      at b (/app/b.js:2:2)";
        let stack = parse(text).unwrap().stack;
        assert_eq!(stack.frames.len(), 1);
        assert_eq!(stack.exception_type.as_deref(), Some("Error"));
    }
}
