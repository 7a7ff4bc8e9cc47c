//! PostgreSQL error context: what `GET STACKED DIAGNOSTICS ... = PG_EXCEPTION_CONTEXT`
//! returns, and what `CONTEXT:` shows in psql and in the server log.
//!
//! ```text
//! PL/pgSQL function billing.charge(bigint,numeric) line 12 at RAISE
//! SQL statement "SELECT billing.charge(42, 10.0)"
//! PL/pgSQL function api.checkout(uuid) line 5 at PERFORM
//! SQL function "sql_ratio" statement 2
//! compilation of PL/pgSQL function "f" near line 3
//! ```
//! The innermost call comes first. `SQL statement "..."`, `SQL expression "..."` and
//! similar lines describe the call in progress rather than a function, so they are not
//! frames.
//!
//! The frame's `function` is the signature followed by what the function was doing
//! (`billing.charge(bigint,numeric) at RAISE`): the signature tells overloads apart, and
//! the statement kind tells two failures in one function apart without the line number,
//! which moves whenever the function body is edited.

use super::{Frame, Parsed, Stack, StackFormat};

pub(super) fn parse(text: &str) -> Option<Parsed> {
    let frames: Vec<Frame> = text
        .lines()
        .inspect(|_| crate::interrupt::check())
        .filter_map(frame)
        .collect();
    if frames.is_empty() {
        return None;
    }
    Some(Parsed {
        recognised_lines: frames.len(),
        stack: Stack {
            format: StackFormat::PlPgSql,
            exception_type: None,
            frames,
        },
    })
}

fn frame(line: &str) -> Option<Frame> {
    // psql and the server log prefix the first context line with `CONTEXT:  `.
    let line = line
        .split_once("CONTEXT:")
        .map_or(line, |(_, context)| context)
        .trim();
    if let Some(rest) = line.strip_prefix("PL/pgSQL function ") {
        let (signature, rest) = split_signature(rest)?;
        let (lineno, activity) = line_number(rest);
        return Some(frame_of(describe(signature, activity), lineno));
    }
    if let Some(rest) = line.strip_prefix("SQL function \"") {
        let (name, rest) = rest.split_once('"')?;
        let rest = rest.trim();
        // `statement N` numbers the statements of the body; like a line number, it moves
        // when the body is edited.
        return Some(match rest.strip_prefix("statement ") {
            Some(number) => frame_of(name.to_owned(), number.trim().parse().ok()),
            None => frame_of(describe(name, rest), None),
        });
    }
    if let Some(rest) = line.strip_prefix("compilation of PL/pgSQL function \"") {
        let (name, rest) = rest.split_once('"')?;
        let lineno = rest
            .trim()
            .strip_prefix("near line ")
            .and_then(|n| n.parse().ok());
        return Some(frame_of(describe(name, "during compilation"), lineno));
    }
    None
}

fn frame_of(function: String, lineno: Option<u32>) -> Frame {
    Frame {
        function: Some(function),
        module: None,
        filename: None,
        lineno,
        colno: None,
        in_app: true,
    }
}

fn describe(signature: &str, activity: &str) -> String {
    if activity.is_empty() {
        signature.to_owned()
    } else {
        format!("{signature} {activity}")
    }
}

/// Splits `schema."My Func"(timestamp with time zone,jsonb) line 4 at EXECUTE` after
/// the signature. Argument types may contain spaces and names may be quoted, so the
/// signature ends at the first space outside quotes and parentheses. `inline_code_block`
/// (a DO block) has no parentheses at all.
fn split_signature(text: &str) -> Option<(&str, &str)> {
    let mut depth = 0usize;
    let mut quoted = false;
    for (index, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            ' ' if !quoted && depth == 0 => {
                return (index > 0).then(|| (&text[..index], text[index..].trim()));
            }
            _ => {}
        }
    }
    (!text.is_empty()).then_some((text, ""))
}

fn line_number(rest: &str) -> (Option<u32>, &str) {
    let Some(after) = rest.strip_prefix("line ") else {
        return (None, rest);
    };
    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return (None, rest);
    }
    (after[..digits].parse().ok(), after[digits..].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> (String, Option<u32>) {
        let f = frame(line).unwrap();
        (f.function.unwrap(), f.lineno)
    }

    #[test]
    fn plpgsql_lines() {
        assert_eq!(
            one("PL/pgSQL function billing.charge(bigint,numeric) line 12 at RAISE"),
            ("billing.charge(bigint,numeric) at RAISE".into(), Some(12))
        );
        assert_eq!(
            one("CONTEXT:  PL/pgSQL function observe_demo.f() line 7 during statement block local variable initialization"),
            ("observe_demo.f() during statement block local variable initialization".into(), Some(7))
        );
        assert_eq!(
            one("PL/pgSQL function inline_code_block line 3 at RAISE"),
            ("inline_code_block at RAISE".into(), Some(3))
        );
        assert_eq!(
            one("\tPL/pgSQL function observe_demo.record_event(timestamp with time zone,jsonb) line 4 at EXECUTE"),
            ("observe_demo.record_event(timestamp with time zone,jsonb) at EXECUTE".into(), Some(4))
        );
        assert_eq!(
            one(r#"PL/pgSQL function public."Odd name"(text) line 2 at FOR over SELECT rows"#),
            (
                r#"public."Odd name"(text) at FOR over SELECT rows"#.into(),
                Some(2)
            )
        );
        assert_eq!(
            one("PL/pgSQL function api.f(integer) while storing call arguments into local variables"),
            ("api.f(integer) while storing call arguments into local variables".into(), None)
        );
        assert_eq!(
            one("PL/pgSQL function api.f(integer)"),
            ("api.f(integer)".into(), None)
        );
    }

    #[test]
    fn sql_function_and_compilation_lines() {
        assert_eq!(
            one(r#"SQL function "sql_ratio" statement 2"#),
            ("sql_ratio".into(), Some(2))
        );
        assert_eq!(
            one(r#"SQL function "sql_ratio" during inlining"#),
            ("sql_ratio during inlining".into(), None)
        );
        assert_eq!(
            one(r#"compilation of PL/pgSQL function "f" near line 3"#),
            ("f during compilation".into(), Some(3))
        );
    }

    #[test]
    fn statement_lines_are_not_frames() {
        assert!(frame(r#"SQL statement "SELECT billing.charge(42, 10.0)""#).is_none());
        assert!(frame(r#"SQL expression "observe_demo.g('x'::text::int)""#).is_none());
        assert!(frame("ERROR:  division by zero").is_none());
        assert!(frame("PL/pgSQL function ").is_none());
    }
}
