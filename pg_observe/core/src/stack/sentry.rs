//! Structured frames, as Sentry SDKs send them (`exception.values[].stacktrace.frames`,
//! oldest call first). There is no text to parse: each frame names its file, function
//! and line. Each becomes the [`Frame`] the text parser of the same runtime makes of
//! the printed stack, so that one error sent through an SDK and logged with its stack
//! text (`observe.log_error(stack => …)`) gets the same grouping keys, and one issue:
//!
//! * Python: the file is `abs_path`, what a traceback prints; only library files get
//!   a module (`python::library_module`), as in tracebacks. The module the SDK gives
//!   an application file (`app.users`) depends on `sys.path`, which grouping must not
//!   see (see `python.rs`).
//! * JavaScript (browsers, Node, Deno, Bun): the file is the URL or path (`abs_path`,
//!   else `filename`) and there is no module: V8 prints none, and the one the Node
//!   SDK derives from the path would split the issue from the printed stack's.
//! * Any other platform: the SDK's module and file as given.
//!
//! The SDK's `in_app` wins when it says (its `in_app_include`/`exclude` options are
//! the user's word); otherwise the runtime's rules decide (`in_app.rs`), as for text.

use sentry_types::protocol::v7::Frame as SdkFrame;

use super::{in_app, python, Frame, Stack, StackFormat};

/// How a platform's frames are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runtime {
    Python,
    JavaScript,
    Other,
}

fn runtime(platform: &str) -> Runtime {
    match platform {
        "python" => Runtime::Python,
        "javascript" | "node" => Runtime::JavaScript,
        _ => Runtime::Other,
    }
}

/// The stack of one exception; None without frames. `platform` is the event's
/// (`python`, `javascript`, `node`, …).
pub fn from_sentry(
    platform: &str,
    exception_type: Option<String>,
    frames: &[SdkFrame],
) -> Option<Stack> {
    if frames.is_empty() {
        return None;
    }
    let runtime = runtime(platform);
    let frames = frames.iter().rev().map(|sdk| frame(runtime, sdk)).collect();
    Some(Stack {
        format: match runtime {
            Runtime::Python => StackFormat::Python,
            Runtime::JavaScript => StackFormat::V8,
            Runtime::Other => StackFormat::Structured,
        },
        exception_type,
        frames,
    })
}

fn frame(runtime: Runtime, sdk: &SdkFrame) -> Frame {
    let filename = sdk
        .abs_path
        .clone()
        .or_else(|| sdk.filename.clone())
        .filter(|f| !f.is_empty());
    // `?` is the SDKs' name for an anonymous function, which the text parsers
    // leave unnamed.
    let function = sdk.function.clone().filter(|f| !f.is_empty() && f != "?");
    let (module, in_app) = match runtime {
        Runtime::Python => {
            let file = filename.as_deref().unwrap_or("");
            (
                python::library_module(file),
                sdk.in_app.unwrap_or_else(|| in_app::python(file)),
            )
        }
        Runtime::JavaScript => (
            None,
            sdk.in_app
                .unwrap_or_else(|| in_app::javascript(filename.as_deref())),
        ),
        Runtime::Other => (sdk.module.clone(), sdk.in_app.unwrap_or(false)),
    };
    Frame {
        function,
        module,
        filename,
        lineno: sdk.lineno.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        colno: sdk.colno.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        in_app,
    }
}

/// The stack as its runtime prints it, for the event's `stack` column: a
/// traceback (oldest call first) for Python, `at` lines (innermost first)
/// otherwise. `header` is the `Type: value` line. Reading it back with
/// [`super::parse`] gives the same frames' grouping keys.
pub fn render(stack: &Stack, header: &str) -> String {
    let number = |n: Option<u32>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
    let mut text = String::new();
    if stack.format == StackFormat::Python {
        text.push_str("Traceback (most recent call last):\n");
        for frame in stack.frames.iter().rev() {
            text.push_str(&format!(
                "  File \"{}\", line {}, in {}\n",
                frame.filename.as_deref().unwrap_or("<unknown>"),
                number(frame.lineno),
                frame.function.as_deref().unwrap_or("<module>"),
            ));
        }
        text.push_str(header);
        return text;
    }
    text.push_str(header);
    for frame in &stack.frames {
        let mut location = frame
            .filename
            .clone()
            .unwrap_or_else(|| "<anonymous>".into());
        if let Some(line) = frame.lineno {
            location.push_str(&format!(":{line}"));
            if let Some(column) = frame.colno {
                location.push_str(&format!(":{column}"));
            }
        }
        match &frame.function {
            Some(function) => text.push_str(&format!("\n    at {function} ({location})")),
            None => text.push_str(&format!("\n    at {location}")),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdk_frame(json: serde_json::Value) -> SdkFrame {
        serde_json::from_value(json).unwrap()
    }

    fn keys(stack: &Stack) -> Vec<(String, bool)> {
        stack
            .frames
            .iter()
            .map(|f| (f.grouping_key(), f.in_app))
            .collect()
    }

    #[test]
    fn python_frames_read_like_a_traceback_of_the_same_error() {
        let frames = [
            sdk_frame(
                serde_json::json!({"filename": "app/main.py", "abs_path": "/srv/app/app/main.py",
                "module": "app.main", "function": "<module>", "lineno": 9}),
            ),
            sdk_frame(
                serde_json::json!({"filename": "app/users.py", "abs_path": "/srv/app/app/users.py",
                "module": "app.users", "function": "get_user", "lineno": 42, "in_app": true}),
            ),
            sdk_frame(serde_json::json!({"filename": "psycopg/cursor.py",
                "abs_path": "/usr/lib/python3/site-packages/psycopg/cursor.py",
                "module": "psycopg.cursor", "function": "execute", "lineno": 732, "in_app": false})),
        ];
        let structured = from_sentry("python", Some("ValueError".into()), &frames).unwrap();
        let text = render(&structured, "ValueError: no user 42");
        let printed = super::super::parse(&text).unwrap();
        assert_eq!(printed.format, StackFormat::Python);
        assert_eq!(printed.exception_type.as_deref(), Some("ValueError"));
        assert_eq!(keys(&structured), keys(&printed));
        assert_eq!(
            structured.frames[0].grouping_key(),
            "psycopg.cursor|execute"
        );
        assert_eq!(structured.frames[1].grouping_key(), "users.py|get_user");
    }

    #[test]
    fn javascript_frames_read_like_a_v8_stack_of_the_same_error() {
        let frames = [
            sdk_frame(
                serde_json::json!({"filename": "https://shop.example.com/assets/app.4f3a2b1c.js",
                "function": "?", "lineno": 1, "colno": 200, "in_app": true}),
            ),
            sdk_frame(
                serde_json::json!({"filename": "https://shop.example.com/assets/app.4f3a2b1c.js",
                "function": "HTMLButtonElement.onclick", "lineno": 1, "colno": 120}),
            ),
            sdk_frame(
                serde_json::json!({"filename": "https://shop.example.com/assets/app.4f3a2b1c.js",
                "function": "checkout", "lineno": 1, "colno": 80}),
            ),
        ];
        let structured = from_sentry("javascript", Some("TypeError".into()), &frames).unwrap();
        let text = render(&structured, "TypeError: x is undefined");
        assert!(text.starts_with("TypeError: x is undefined\n    at checkout ("));
        let printed = super::super::parse(&text).unwrap();
        assert_eq!(keys(&structured), keys(&printed));
        assert_eq!(structured.frames[0].grouping_key(), "app.js|checkout");
        assert_eq!(structured.frames[2].function, None);
    }

    #[test]
    fn the_sdk_in_app_wins_and_other_platforms_keep_their_module() {
        let frames = [sdk_frame(serde_json::json!({"module": "com.shop.Cart",
            "filename": "Cart.java", "function": "total", "lineno": 3}))];
        let stack = from_sentry("java", None, &frames).unwrap();
        assert_eq!(stack.format, StackFormat::Structured);
        assert_eq!(
            keys(&stack),
            vec![("com.shop.Cart|total".to_owned(), false)]
        );
        let vendored = [sdk_frame(serde_json::json!({
            "abs_path": "/app/node_modules/lib/index.js", "function": "f", "in_app": true}))];
        assert!(from_sentry("node", None, &vendored).unwrap().frames[0].in_app);
        assert!(from_sentry("node", None, &[]).is_none());
    }
}
