//! CPython tracebacks (`Traceback (most recent call last):` / `  File "...", line N, in f`).

use super::{header, in_app, Frame, Parsed, Stack, StackFormat};

const TRACEBACK_HEADER: &str = "Traceback (most recent call last):";

/// With chained exceptions (`During handling of the above exception...`, `The above
/// exception was the direct cause...`) CPython prints the oldest traceback first; the
/// last one is the exception that actually escaped, so it is the one kept.
pub(super) fn parse(text: &str) -> Option<Parsed> {
    let mut frames = Vec::new();
    let mut exception_type = None;
    let mut exception_line_read = false;
    let mut previous = None;
    let mut recognised_lines = 0;
    for line in text.lines() {
        crate::interrupt::check();
        if line.trim() == TRACEBACK_HEADER {
            if !frames.is_empty() {
                previous = Some((std::mem::take(&mut frames), exception_type.take()));
            }
            exception_type = None;
            exception_line_read = false;
        } else if let Some(frame) = frame(line) {
            frames.push(frame);
            recognised_lines += 1;
            exception_line_read = false;
        } else if !frames.is_empty()
            && !exception_line_read
            && line.starts_with(|c: char| !c.is_whitespace())
        {
            // Source lines and carets are indented; the first line at column 0 after the
            // frames is `Type: message`.
            exception_type = header::python(line);
            exception_line_read = true;
        }
    }
    let (mut frames, exception_type) = if frames.is_empty() {
        previous?
    } else {
        (frames, exception_type)
    };
    frames.reverse();
    Some(Parsed {
        recognised_lines,
        stack: Stack {
            format: StackFormat::Python,
            exception_type,
            frames,
        },
    })
}

fn frame(line: &str) -> Option<Frame> {
    let rest = line.trim_start().strip_prefix("File \"")?;
    let (filename, rest) = rest.split_once("\", line ")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (number, rest) = rest.split_at(digits);
    // SyntaxError tracebacks print the location without `, in function`.
    let function = match rest.strip_prefix(", in ") {
        Some(function) => Some(function.trim().to_owned()),
        None if rest.trim().is_empty() => None,
        None => return None,
    };
    Some(Frame {
        function,
        module: library_module(filename),
        filename: Some(filename.to_owned()),
        lineno: number.parse().ok(),
        colno: None,
        in_app: in_app::python(filename),
    })
}

/// The import name of a file under a library root (`site-packages`, `dist-packages`,
/// the standard library, frozen modules).
///
/// Application files get no module: their import name depends on where the deploy put
/// `sys.path` (`/app`, `/var/task`, `/srv/app`), which is exactly what grouping must
/// not see, while a library's import name is fixed by the library.
pub(super) fn library_module(filename: &str) -> Option<String> {
    if let Some(frozen) = filename
        .strip_prefix("<frozen ")
        .and_then(|rest| rest.strip_suffix('>'))
    {
        return Some(frozen.to_owned());
    }
    let path = filename.replace('\\', "/");
    let relative = ["site-packages/", "dist-packages/"]
        .iter()
        .find_map(|root| path.rfind(root).map(|at| &path[at + root.len()..]))
        .or_else(|| standard_library_relative(&path))?;
    let relative = relative.strip_suffix(".py").unwrap_or(relative);
    let module = relative.replace('/', ".");
    let module = module.strip_suffix(".__init__").unwrap_or(&module);
    (!module.is_empty()).then(|| module.to_owned())
}

/// The part after `lib/pythonX.Y/` (POSIX layouts) or `PythonXY/Lib/` (Windows).
fn standard_library_relative(path: &str) -> Option<&str> {
    let mut previous: Option<&str> = None;
    let mut end = 0;
    for segment in path.split('/') {
        end += segment.len();
        if let Some(previous) = previous {
            let posix = previous == "lib" && is_python_directory(segment);
            let windows = is_python_directory(previous) && segment.eq_ignore_ascii_case("lib");
            if posix || windows {
                return path.get(end + 1..);
            }
        }
        previous = Some(segment);
        end += 1;
    }
    None
}

fn is_python_directory(segment: &str) -> bool {
    segment
        .get(..6)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("python"))
        && segment.len() > 6
        && segment[6..]
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_lines() {
        let f = frame(r#"  File "/app/api/users.py", line 12, in get_user"#).unwrap();
        assert_eq!(f.filename.as_deref(), Some("/app/api/users.py"));
        assert_eq!(f.lineno, Some(12));
        assert_eq!(f.function.as_deref(), Some("get_user"));
        assert_eq!(f.module, None);
        assert!(f.in_app);

        let f = frame(r#"  File "<frozen runpy>", line 198, in _run_module_as_main"#).unwrap();
        assert_eq!(f.module.as_deref(), Some("runpy"));
        assert!(!f.in_app);

        let f = frame(r#"  File "/app/x.py", line 3"#).unwrap();
        assert_eq!(f.function, None);

        assert!(frame(r#"  File "/app/x.py", line 3 and more"#).is_none());
        assert!(frame(r#"  File "/app/x.py", line x, in f"#).is_none());
        assert!(frame("    return db.fetch(...)").is_none());
    }

    #[test]
    fn modules_from_library_paths() {
        let cases = [
            (
                "/usr/local/lib/python3.11/site-packages/psycopg/cursor.py",
                Some("psycopg.cursor"),
            ),
            (
                "/usr/lib/python3/dist-packages/yaml/__init__.py",
                Some("yaml"),
            ),
            (
                "/root/.pyenv/versions/3.11.7/lib/python3.11/json/decoder.py",
                Some("json.decoder"),
            ),
            (
                "/usr/lib/python3.12/asyncio/runners.py",
                Some("asyncio.runners"),
            ),
            (
                r"C:\Python311\Lib\asyncio\runners.py",
                Some("asyncio.runners"),
            ),
            (
                "<frozen importlib._bootstrap>",
                Some("importlib._bootstrap"),
            ),
            ("/app/api/users.py", None),
            ("/srv/lib/pythonic/x.py", None),
            ("<string>", None),
        ];
        for (path, expected) in cases {
            assert_eq!(library_module(path).as_deref(), expected, "{path}");
        }
    }

    #[test]
    fn chained_exceptions_keep_the_last_traceback() {
        let text = "Traceback (most recent call last):\n  File \"/app/a.py\", line 1, in first\nKeyError: 'x'\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"/app/a.py\", line 5, in outer\n  File \"/app/b.py\", line 9, in inner\nValueError: bad\n";
        let stack = parse(text).unwrap().stack;
        assert_eq!(stack.exception_type.as_deref(), Some("ValueError"));
        let functions: Vec<_> = stack
            .frames
            .iter()
            .map(|f| f.function.as_deref().unwrap())
            .collect();
        assert_eq!(functions, ["inner", "outer"]);
    }

    #[test]
    fn a_truncated_final_traceback_falls_back_to_the_previous_one() {
        let text = "Traceback (most recent call last):\n  File \"/app/a.py\", line 1, in first\nKeyError: 'x'\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n";
        let stack = parse(text).unwrap().stack;
        assert_eq!(stack.exception_type.as_deref(), Some("KeyError"));
        assert_eq!(stack.frames.len(), 1);
    }

    #[test]
    fn not_a_traceback() {
        assert!(parse("Traceback (most recent call last):\nValueError: x").is_none());
        assert!(parse("hello").is_none());
    }
}
