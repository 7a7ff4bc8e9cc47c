//! Cleaning function and file names before they enter a grouping key.
//!
//! A grouping key must be identical for every occurrence of the same bug, so each rule
//! below removes something that changes between occurrences without the bug changing:
//!
//! * JavaScript function names
//!   - `async ` (V8) and Firefox's `async*`, `promise callback*`, ... prefixes say how
//!     the frame was reached, which depends on scheduling, not on the code.
//!   - `new ` marks a constructor call; the constructor is the same function either way.
//!   - ` [as alias]` (V8) is the property the function was called through, which
//!     changes with the caller.
//!   - `Object.` / `Module.` receivers only say "a plain object" or "a CommonJS
//!     module"; they appear or vanish when a bundler or a refactor changes how an
//!     export is reached.
//!   - `<anonymous>` (V8), `(anonymous function)` (older V8), `Anonymous function`
//!     (Internet Explorer and the old Edge) and `anonymous` (Hermes) become `?`, the
//!     name used for functions without one, so that "anonymous" reads the same
//!     whichever engine reported it.
//!   - argument lists (`bar(1)`, `()`, `(null)`), which Firefox up to version 13
//!     printed after the name, are removed by the Gecko parser before a name is stored
//!     (`without_arguments`): they are the call's values, not the function's name.
//!   - Firefox's trailing `/<` and `<` (anonymous function *inside* the named one) are
//!     dropped: the enclosing name is the stable part.
//! * Rust symbols
//!   - the `::h0123456789abcdef` suffix and `crate[0123456789abcdef]` disambiguators
//!     are hashes that change with every build;
//!   - generic arguments (`Vec<T,A>`, `::<u32>`) name instantiations, which change with
//!     callers; qualified paths (`<T as Trait>::f`, `<impl X for Y>`) name *which* code
//!     runs, so those are kept, with their own generic arguments removed;
//!   - `{{closure}}` (legacy mangling) and `{closure#N}` (v0) become `{closure}`: the
//!     index counts closures above it in the file, which shifts like a line number.
//! * File names
//!   - only the basename is used: directories carry the deploy prefix (`/app/`,
//!     `/var/task/`, a CDN host) that differs between environments;
//!   - query strings and fragments (`?v=20240311`) are cache busters;
//!   - content hashes (`main.4f3a2b1c.js`, `page-9f8e7d6c5b4a.js`, Vite's
//!     `index-BfG3sH_a.js`) change on every build, and UUIDs in a name change on
//!     every generation of the file;
//!   - a `blob:` URL names a random UUID that the browser draws anew on every page
//!     load, so every blob is `<blob>`;
//!   - the key lowercases it (see `key.rs`), since case-insensitive file systems and
//!     CDNs make `UserCard.tsx` and `usercard.tsx` the same file.

/// A function name as it enters the grouping key and the culprit.
pub(super) fn function(name: &str) -> String {
    let name = name.trim();
    let cleaned = if name.contains("::") {
        rust_function(name)
    } else {
        javascript_function(name)
    };
    if cleaned.is_empty() {
        "?".to_owned()
    } else {
        cleaned
    }
}

fn javascript_function(name: &str) -> String {
    // Firefox async causes (`promise callback*`) may contain spaces, so they go first.
    let name = name.rsplit_once('*').map_or(name, |(_, rest)| rest);
    let name = name.strip_prefix("async ").unwrap_or(name);
    let name = name.strip_prefix("new ").unwrap_or(name);
    let name = match name.find(" [as ") {
        Some(alias) if name.ends_with(']') => &name[..alias],
        _ => name,
    };
    let name = ["Object.", "Module."]
        .iter()
        .find_map(|receiver| name.strip_prefix(receiver).filter(|rest| !rest.is_empty()))
        .unwrap_or(name);
    let name = name.trim_end_matches(['<', '/']);
    if matches!(name, "Anonymous function" | "anonymous") {
        return "?".to_owned();
    }
    name.replace("<anonymous>", "?")
        .replace("(anonymous function)", "?")
}

/// `bar(1)` -> `bar`; `()` and `(null)` -> the empty name: the name without the
/// argument list that closes it. Only a list that ends the name counts; `f(a).g` keeps its parentheses.
/// Parentheses inside quoted argument values (`f("a)b")`) do not count.
pub(super) fn without_arguments(name: &str) -> &str {
    if !name.ends_with(')') {
        return name;
    }
    let mut depth = 0usize;
    let mut open = None;
    let mut quote = None;
    let mut escaped = false;
    for (index, byte) in name.bytes().enumerate() {
        if let Some(closing) = quote {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == closing {
                quote = None;
            }
            continue;
        }
        match byte {
            b'(' => {
                if depth == 0 {
                    open = Some(index);
                }
                depth += 1;
            }
            b')' => depth = depth.saturating_sub(1),
            b'"' | b'\'' if depth > 0 => quote = Some(byte),
            _ => {}
        }
    }
    match open {
        Some(open) if depth == 0 && quote.is_none() => &name[..open],
        _ => name,
    }
}

fn rust_function(name: &str) -> String {
    normalize_closures(&strip_generics(&rust_symbol(name)))
}

/// Removes the build hashes rustc prints in symbols: the legacy `::h<16 hex>` suffix
/// and v0's `crate[<hex>]` disambiguators. The parser stores symbols this way, so that
/// even the displayed name is stable.
pub(super) fn rust_symbol(symbol: &str) -> String {
    let symbol = symbol.trim();
    let symbol = match symbol.rsplit_once("::h") {
        Some((path, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            path
        }
        _ => symbol,
    };
    strip_disambiguators(symbol)
}

fn strip_disambiguators(symbol: &str) -> String {
    let mut out = String::with_capacity(symbol.len());
    let mut rest = symbol;
    while let Some(open) = rest.find('[') {
        let (before, from_open) = rest.split_at(open);
        out.push_str(before);
        let hex_len = from_open[1..]
            .bytes()
            .take_while(u8::is_ascii_hexdigit)
            .count();
        let follows_identifier = out
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let closes = from_open.as_bytes().get(hex_len + 1) == Some(&b']');
        if follows_identifier && closes && (8..=16).contains(&hex_len) {
            rest = &from_open[hex_len + 2..];
        } else {
            out.push('[');
            rest = &from_open[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Drops generic argument lists while keeping qualified-path brackets.
///
/// A `<` opens a qualified path (kept) at the start of a name or type, or as
/// `::<impl ...>`; anywhere else it follows a name and opens generic arguments
/// (dropped, together with a turbofish `::`). One pass, one stack: linear in the
/// length of the symbol whatever its nesting.
fn strip_generics(symbol: &str) -> String {
    let mut out = String::with_capacity(symbol.len());
    // One entry per open `<`: whether its contents are kept.
    let mut open: Vec<bool> = Vec::new();
    let mut previous = '\0';
    for (index, c) in symbol.char_indices() {
        let dropping = open.last() == Some(&false);
        match c {
            '<' => {
                let keep = !dropping && opens_qualified_path(&out, &symbol[index + 1..]);
                if keep {
                    out.push('<');
                } else if !dropping && out.ends_with("::") {
                    out.truncate(out.len() - 2);
                }
                open.push(keep);
            }
            // `->` inside `Fn() -> T` is an arrow, not a closing bracket.
            '>' if previous != '-' && open.last() == Some(&true) => {
                open.pop();
                out.push('>');
            }
            '>' if previous != '-' && open.last() == Some(&false) => {
                open.pop();
            }
            _ if !dropping => out.push(c),
            _ => {}
        }
        previous = c;
    }
    out
}

fn opens_qualified_path(before: &str, after: &str) -> bool {
    match before.chars().next_back() {
        None | Some('<' | ' ' | '(' | ',' | '[' | '&' | '*') => true,
        Some(':') => after.starts_with("impl "),
        Some(_) => false,
    }
}

fn normalize_closures(symbol: &str) -> String {
    let symbol = symbol.replace("{{closure}}", "{closure}");
    let mut out = String::with_capacity(symbol.len());
    let mut rest = symbol.as_str();
    while let Some(start) = rest.find("{closure#") {
        let after = &rest[start + "{closure#".len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        out.push_str(&rest[..start]);
        if digits > 0 && after.as_bytes().get(digits) == Some(&b'}') {
            out.push_str("{closure}");
            rest = &after[digits + 1..];
        } else {
            out.push_str("{closure#");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The file name as shown to people and, lowercased, as used in grouping keys:
/// basename only, without query string, fragment or content hash.
pub(super) fn file_basename(filename: &str) -> String {
    if filename.starts_with("blob:") {
        return "<blob>".to_owned();
    }
    let without_query = filename
        .split(['?', '#'])
        .next()
        .unwrap_or(filename)
        .trim_end_matches(['/', '\\']);
    let base = without_query
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(without_query);
    strip_content_hashes(base)
}

fn strip_content_hashes(base: &str) -> String {
    if base.is_empty() {
        return String::new();
    }
    let pieces: Vec<&str> = base.split('.').collect();
    let (stem, extension) = match pieces.split_last() {
        Some((extension, stem)) if !stem.is_empty() => (stem, Some(*extension)),
        _ => (pieces.as_slice(), None),
    };
    let kept: Vec<String> = stem
        .iter()
        .map(|piece| strip_dashed_hashes(piece))
        .filter(|piece| !piece.is_empty())
        .collect();
    let mut out = if kept.is_empty() {
        "<hash>".to_owned()
    } else {
        kept.join(".")
    };
    if let Some(extension) = extension {
        out.push('.');
        out.push_str(extension);
    }
    out
}

/// `page-9f8e7d6c5b4a` -> `page`, `index-BfG3sH_a` -> `index`, `libc-start` unchanged.
fn strip_dashed_hashes(piece: &str) -> String {
    // Rollup and Vite append 8 base64url characters, which may contain `-` themselves.
    let piece = match piece.len().checked_sub(9) {
        Some(dash) if piece.as_bytes()[dash] == b'-' && is_base64_hash(&piece[dash + 1..]) => {
            &piece[..dash]
        }
        _ => piece,
    };
    let parts: Vec<&str> = piece.split('-').collect();
    let mut kept = Vec::with_capacity(parts.len());
    let mut index = 0;
    while index < parts.len() {
        if is_uuid(&parts[index..]) {
            index += UUID_GROUPS.len();
        } else {
            if !is_hex_hash(parts[index]) {
                kept.push(parts[index]);
            }
            index += 1;
        }
    }
    kept.join("-")
}

const UUID_GROUPS: [usize; 5] = [8, 4, 4, 4, 12];

/// Whether `parts` starts with a UUID (`abfc40e9-4742-44ed-9dcd-af8f99a29379` split at its
/// dashes). Its short groups are too short to pass for hashes one by one, so a UUID is
/// recognised whole.
fn is_uuid(parts: &[&str]) -> bool {
    parts.len() >= UUID_GROUPS.len()
        && parts
            .iter()
            .zip(UUID_GROUPS)
            .all(|(part, len)| part.len() == len && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Webpack, Next.js and CRA hashes: hex, at least 6 long, with a digit (so words that
/// happen to be hex, like `facade`, survive).
fn is_hex_hash(part: &str) -> bool {
    part.len() >= 6
        && part.bytes().all(|b| b.is_ascii_hexdigit())
        && part.bytes().any(|b| b.is_ascii_digit())
}

/// Vite/Rollup/esbuild 8-character hashes. Told apart from an 8-letter word by what a
/// word does not have: a digit, an underscore or dash, or a capital after the start.
fn is_base64_hash(part: &str) -> bool {
    part.len() == 8
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && part.bytes().enumerate().any(|(i, b)| {
            b.is_ascii_digit() || b == b'_' || b == b'-' || (i > 0 && b.is_ascii_uppercase())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn javascript_names() {
        let cases = [
            ("getUser", "getUser"),
            ("async getUser", "getUser"),
            ("async Promise.all", "Promise.all"),
            ("new Widget", "Widget"),
            ("Object.<anonymous>", "?"),
            ("Server.<anonymous>", "Server.?"),
            ("<anonymous>", "?"),
            ("Module._compile", "_compile"),
            ("Object.loadOrders [as queryFn]", "loadOrders"),
            ("Layer.handle [as handle_request]", "Layer.handle"),
            ("async Object.fetchFn [as fn]", "fetchFn"),
            ("handleClick/<", "handleClick"),
            ("Table/rows<", "Table/rows"),
            ("hookAddEventListener/</<", "hookAddEventListener"),
            ("async*loadDashboard", "loadDashboard"),
            ("promise callback*Dashboard", "Dashboard"),
            ("EventListener.handleEvent*init", "init"),
            ("global code", "global code"),
            ("", "?"),
            ("Object.", "Object."),
            ("Anonymous function", "?"),
            ("anonymous", "?"),
            ("I.e.fn.(anonymous function) [as index]", "I.e.fn.?"),
            ("(anonymous function).then", "?.then"),
            ("anonymousUser", "anonymousUser"),
            ("Global code", "Global code"),
        ];
        for (raw, expected) in cases {
            assert_eq!(function(raw), expected, "{raw}");
        }
    }

    #[test]
    fn argument_lists() {
        let cases = [
            ("bar(1)", "bar"),
            ("printStackTrace()", "printStackTrace"),
            ("()", ""),
            ("(null)", ""),
            (r#"foo("a)b", [1, (2)])"#, "foo"),
            ("foo([arguments not available])", "foo"),
            ("f(a)(b)", "f(a)"),
            ("f(a).g", "f(a).g"),
            ("bar", "bar"),
            ("", ""),
            ("a)", "a)"),
            ("a(b", "a(b"),
        ];
        for (raw, expected) in cases {
            assert_eq!(without_arguments(raw), expected, "{raw}");
        }
    }

    #[test]
    fn non_javascript_names_pass_through() {
        for name in [
            "<module>",
            "<lambda>",
            "get_user",
            "billing.charge(bigint,numeric) at RAISE",
            "observe_demo.record_event(timestamp with time zone,jsonb) at EXECUTE",
        ] {
            assert_eq!(function(name), name);
        }
    }

    #[test]
    fn rust_names() {
        let cases = [
            ("myapp::main::h148d198aceabede4", "myapp::main"),
            ("myapp::handlers::orders::Repo<T>::nth", "myapp::handlers::orders::Repo::nth"),
            (
                "<alloc::vec::Vec<T,A> as core::ops::index::Index<I>>::index",
                "<alloc::vec::Vec as core::ops::index::Index>::index",
            ),
            (
                "core::slice::index::<impl core::ops::index::Index<I> for [T]>::index",
                "core::slice::index::<impl core::ops::index::Index for [T]>::index",
            ),
            (
                "<usize as core::slice::index::SliceIndex<[T]>>::index",
                "<usize as core::slice::index::SliceIndex>::index",
            ),
            ("myapp::create::{{closure}}", "myapp::create::{closure}"),
            ("std[e28293b1aa0f68bd]::rt::lang_start_internal::{closure#0}", "std::rt::lang_start_internal::{closure}"),
            (
                "std::panicking::catch_unwind::do_call::<&dyn core::ops::function::Fn<(), Output = i32> + core::marker::Sync, i32>",
                "std::panicking::catch_unwind::do_call",
            ),
            (
                "<&dyn core::ops::function::Fn<(), Output = i32> + core::marker::Sync as core::ops::function::FnOnce<()>>::call_once",
                "<&dyn core::ops::function::Fn + core::marker::Sync as core::ops::function::FnOnce>::call_once",
            ),
            (
                "<<std::sys::backtrace::BacktraceLock>::print::DisplayBacktrace as core::fmt::Display>::fmt",
                "<<std::sys::backtrace::BacktraceLock>::print::DisplayBacktrace as core::fmt::Display>::fmt",
            ),
            ("core::ptr::drop_in_place<myapp::Order>", "core::ptr::drop_in_place"),
            ("a::f<Box<dyn Fn() -> u32>>::g", "a::f::g"),
            ("a::b::{closure#x}", "a::b::{closure#x}"),
        ];
        for (raw, expected) in cases {
            assert_eq!(function(raw), expected, "{raw}");
        }
    }

    #[test]
    fn rust_symbol_keeps_generics_for_display() {
        assert_eq!(
            rust_symbol(
                "<alloc::vec::Vec<T,A> as core::ops::index::Index<I>>::index::haadc1567b02eeb26"
            ),
            "<alloc::vec::Vec<T,A> as core::ops::index::Index<I>>::index"
        );
        assert_eq!(
            rust_symbol("core[c1f1a4ba060b9bfa]::fmt::write"),
            "core::fmt::write"
        );
        assert_eq!(rust_symbol("a::hello"), "a::hello");
        assert_eq!(rust_symbol("<[u8]>::len"), "<[u8]>::len");
        assert_eq!(rust_symbol("f[x"), "f[x");
    }

    #[test]
    fn basenames() {
        let cases = [
            ("/app/src/users.ts", "users.ts"),
            (
                "https://app.example.com/static/js/main.4f3a2b1c.js",
                "main.js",
            ),
            (
                "https://app.example.com/static/js/787.8e2a91b4.chunk.js",
                "787.chunk.js",
            ),
            (
                "https://x/_next/static/chunks/chunk-1a2b3c4d.js",
                "chunk.js",
            ),
            (
                "https://x/_next/static/chunks/app/page-9f8e7d6c5b4a.js",
                "page.js",
            ),
            (
                "https://x/_next/static/chunks/main-app-0e6f2a1b3c4d5e6f.js",
                "main-app.js",
            ),
            (
                "https://x/_next/static/chunks/fd9d1056-2f8b1a6e4c3d5b70.js",
                "<hash>.js",
            ),
            ("https://x/assets/index-BfG3sH_a.js", "index.js"),
            ("https://x/assets/checkout-Dk3n_Q9x.js", "checkout.js"),
            ("https://x/assets/chunk-5XYPMZQD.js", "chunk.js"),
            ("https://x/assets/api-handlers.js", "api-handlers.js"),
            ("https://x/js/app.js?v=20240311#top", "app.js"),
            (
                "webpack-internal:///(app-pages-browser)/./src/Cart.tsx",
                "Cart.tsx",
            ),
            ("node:internal/modules/cjs/loader", "loader"),
            ("ext:core/01_core.js", "01_core.js"),
            (r"C:\app\src\a.js", "a.js"),
            ("./csu/../csu/libc-start.c", "libc-start.c"),
            ("facade.js", "facade.js"),
            ("<anonymous>", "<anonymous>"),
            (
                "blob:https://app.example.com/abfc40e9-4742-44ed-9dcd-af8f99a29379",
                "<blob>",
            ),
            (
                "blob:http%3A//localhost%3A8080/d4eefe0f-361a-4682-b217-76587d9f712a",
                "<blob>",
            ),
            (
                "https://x/workers/abfc40e9-4742-44ed-9dcd-af8f99a29379.js",
                "<hash>.js",
            ),
            (
                "https://x/report-d4eefe0f-361a-4682-b217-76587d9f712a.js",
                "report.js",
            ),
            ("https://x/blob.js", "blob.js"),
        ];
        for (path, expected) in cases {
            assert_eq!(file_basename(path), expected, "{path}");
        }
    }
}
