//! Rust backtraces as printed by the panic hook (`RUST_BACKTRACE=1` or `full`) and by
//! `std::backtrace::Backtrace`'s `Display` (what anyhow and eyre show).
//!
//! ```text
//!    2: myapp::handlers::orders::create::h1a2b3c4d5e6f7a8b
//!              at ./src/handlers/orders.rs:42:9
//!   14:     0x55d4b3bf0f35 - myapp::main::h5e0b3a3f5b6c7d8e
//! ```
//! Frame 0 is the innermost call already.

use super::{clean, in_app, location, Frame, Parsed, Stack, StackFormat};

pub(super) fn parse(text: &str) -> Option<Parsed> {
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut recognised_lines = 0;
    let mut previous_was_frame = false;
    let mut after_header = false;
    for line in text.lines() {
        crate::interrupt::check();
        // A panic whose message embeds an anyhow report prints that report's `Stack
        // backtrace:` first and the panic's own `stack backtrace:` last; the frames that
        // matter follow the last header. Before a header, anyhow's `Caused by:` list uses
        // the same `N: text` shape for messages, which must not be read as frames.
        if line.trim().eq_ignore_ascii_case("stack backtrace:") {
            recognised_lines += recognised(&candidates, after_header);
            candidates.clear();
            previous_was_frame = false;
            after_header = true;
            continue;
        }
        if let Some(candidate) = candidate(line) {
            candidates.push(candidate);
            previous_was_frame = true;
            continue;
        }
        if let (true, Some(at)) = (previous_was_frame, line.trim_start().strip_prefix("at ")) {
            if let Some(last) = candidates.last_mut() {
                last.location = Some(location::split(at.trim()));
            }
        }
        previous_was_frame = false;
    }
    recognised_lines += recognised(&candidates, after_header);
    let frames: Vec<Frame> = candidates
        .into_iter()
        .filter(|c| c.is_frame(after_header))
        .map(Candidate::into_frame)
        .collect();
    if frames.is_empty() {
        return None;
    }
    Some(Parsed {
        recognised_lines,
        stack: Stack {
            format: StackFormat::Rust,
            exception_type: exception_type(text),
            frames,
        },
    })
}

/// Frame lines and their `at` lines, in sections that were not kept as well: they
/// are Rust syntax all the same, and count when formats compete for the text.
fn recognised(candidates: &[Candidate], after_header: bool) -> usize {
    candidates
        .iter()
        .filter(|c| c.is_frame(after_header))
        .map(|c| 1 + usize::from(c.location.is_some()))
        .sum()
}

struct Candidate<'a> {
    symbol: &'a str,
    has_address: bool,
    location: Option<location::Location<'a>>,
}

impl Candidate<'_> {
    /// Without the `stack backtrace:` header, any numbered list could look like a
    /// backtrace, so a bare word (`__rust_try`, `main`) needs corroboration: an address,
    /// a path, or a source location.
    fn is_frame(&self, after_header: bool) -> bool {
        after_header || self.has_address || self.symbol.contains("::") || self.location.is_some()
    }

    fn into_frame(self) -> Frame {
        let function = (self.symbol != "<unknown>").then(|| clean::rust_symbol(self.symbol));
        let filename = self.location.map(|l| l.path.to_owned());
        Frame {
            in_app: in_app::rust(function.as_deref(), filename.as_deref()),
            function,
            module: None,
            filename,
            lineno: self.location.and_then(|l| l.line),
            colno: self.location.and_then(|l| l.column),
        }
    }
}

fn candidate(line: &str) -> Option<Candidate<'_>> {
    let trimmed = line.trim_start();
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let rest = trimmed[digits..].strip_prefix(':')?;
    if !rest.starts_with(' ') {
        return None;
    }
    let rest = rest.trim();
    let (has_address, symbol) = match rest.split_once(" - ") {
        Some((address, symbol)) if is_address(address.trim()) => (true, symbol.trim()),
        _ => (false, rest),
    };
    is_symbol(symbol).then_some(Candidate {
        symbol,
        has_address,
        location: None,
    })
}

fn is_address(text: &str) -> bool {
    text.strip_prefix("0x")
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Symbols contain spaces only inside angle brackets (`<T as Trait>`), while the
/// messages in anyhow's numbered `Caused by:` list are prose.
fn is_symbol(symbol: &str) -> bool {
    let mut depth = 0usize;
    let mut previous = '\0';
    for c in symbol.chars() {
        match c {
            '<' => depth += 1,
            '>' if previous != '-' => depth = depth.saturating_sub(1),
            c if c.is_whitespace() && depth == 0 => return false,
            _ => {}
        }
        previous = c;
    }
    !symbol.is_empty()
}

/// `panic` for the panic hook's header (`thread 'main' panicked at src/main.rs:4:5:`,
/// or `thread 'main' (12910) panicked at ...` since Rust 1.89), `Error` for an error
/// returned from `main` (`Error: ...`), which is how anyhow reports reach stderr.
fn exception_type(text: &str) -> Option<String> {
    let panicked = text.lines().any(|line| {
        let line = line.trim_start();
        line.starts_with("thread '") && line.contains(" panicked at ")
    });
    if panicked {
        return Some("panic".to_owned());
    }
    let first = text.lines().find(|line| !line.trim().is_empty())?;
    first.starts_with("Error: ").then(|| "Error".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_full_frame_lines() {
        let c = candidate("   2: myapp::handlers::orders::create::h1a2b3c4d5e6f7a8b").unwrap();
        assert_eq!(
            c.symbol,
            "myapp::handlers::orders::create::h1a2b3c4d5e6f7a8b"
        );
        assert!(!c.has_address);
        let c = candidate("  14:     0x55d4b3bf0f35 - myapp::main::h5e0b3a3f5b6c7d8e").unwrap();
        assert_eq!(c.symbol, "myapp::main::h5e0b3a3f5b6c7d8e");
        assert!(c.has_address);
        let c = candidate("  48:                0x0 - <unknown>").unwrap();
        assert_eq!(c.symbol, "<unknown>");
        assert!(candidate("   3: <usize as core::slice::index::SliceIndex<[T]>>::index").is_some());
        assert!(candidate("    0: database error").is_none());
        assert!(candidate("2:foo").is_none());
        assert!(candidate("foo: bar").is_none());
    }

    #[test]
    fn locations_attach_to_the_frame_above() {
        let text = "   0: rust_begin_unwind\n             at /rustc/abc/library/std/src/panicking.rs:645:5\n   1: myapp::main\n             at ./src/main.rs:4:5\n";
        let stack = parse(text).unwrap().stack;
        assert_eq!(stack.frames.len(), 2);
        assert_eq!(stack.frames[1].filename.as_deref(), Some("./src/main.rs"));
        assert_eq!(stack.frames[1].lineno, Some(4));
        assert_eq!(stack.frames[1].colno, Some(5));
        assert!(!stack.frames[0].in_app);
        assert!(stack.frames[1].in_app);
        assert_eq!(stack.exception_type, None);
    }

    #[test]
    fn numbered_prose_is_not_a_backtrace() {
        assert!(parse("Caused by:\n    0: timeout\n    1: connection refused\n").is_none());
        assert!(parse("1: buy milk\n2: call mom\n").is_none());
    }

    #[test]
    fn bare_symbols_count_after_a_header() {
        let text = "stack backtrace:\n   0: myapp::run\n   1: __rust_try\n   2: main\n";
        assert_eq!(parse(text).unwrap().stack.frames.len(), 3);
        let text = "   0: myapp::run\n   1: __rust_try\n   2: main\n";
        assert_eq!(parse(text).unwrap().stack.frames.len(), 1);
    }

    #[test]
    fn pre_1_73_panic_header() {
        let text = "thread 'main' panicked at 'called `Option::unwrap()` on a `None` value', src/main.rs:4:37\nstack backtrace:\n   0: myapp::main\n             at ./src/main.rs:4:37\n";
        let stack = parse(text).unwrap().stack;
        assert_eq!(stack.exception_type.as_deref(), Some("panic"));
        assert_eq!(stack.frames[0].function.as_deref(), Some("myapp::main"));
    }
}
