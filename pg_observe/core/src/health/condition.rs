//! The grammar: `operand comparator operand`, where an operand is a
//! placeholder (`[STATUS]`, `[BODY].a.b[0]`, `[HEADER].name`…), a function of
//! one (`len(…)`, `has(…)`), a pattern (`pat(…)`), a list (`any(…)`) or a
//! literal. Errors carry the 1-based column where parsing stopped.

use std::fmt;

use thiserror::Error;

use super::MAX_CONDITION_BYTES;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("at column {column}: {problem}")]
pub struct ConditionError {
    pub column: usize,
    pub problem: String,
}

fn fail<T>(column: usize, problem: impl Into<String>) -> Result<T, ConditionError> {
    Err(ConditionError {
        column,
        problem: problem.into(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparator {
    pub const fn as_str(self) -> &'static str {
        match self {
            Comparator::Eq => "==",
            Comparator::Ne => "!=",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
        }
    }
}

/// One step of a JSON path into the body: `.name` or `[index]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placeholder {
    Status,
    /// Milliseconds.
    ResponseTime,
    Body(Vec<PathStep>),
    /// A response header, by lower-case name.
    Header(String),
    /// Time left until the TLS certificate expires, in milliseconds.
    CertificateExpiration,
    Connected,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    Placeholder(Placeholder),
    /// `len(x)`: characters of a string, elements of an array or object.
    Len(Placeholder),
    /// `has(x)`: whether the path exists.
    Has(Placeholder),
    /// `pat(…)`: `*` matches any run of characters (only with `==`, `!=`).
    Pattern(String),
    /// `any(a, b, …)`: equal to one of them (only with `==`, `!=`).
    Any(Vec<String>),
    Literal(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub source: String,
    pub left: Operand,
    pub comparator: Comparator,
    pub right: Operand,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Condition {
    pub fn parse(source: &str) -> Result<Condition, ConditionError> {
        if source.len() > MAX_CONDITION_BYTES {
            return fail(
                MAX_CONDITION_BYTES + 1,
                format!("a condition is at most {MAX_CONDITION_BYTES} bytes"),
            );
        }
        let source = source.trim();
        if source.is_empty() {
            return fail(1, "the condition is empty");
        }
        let (at, comparator, width) = find_comparator(source)?;
        let left_text = &source[..at];
        let right_text = &source[at + width..];
        let left = operand(left_text, 0)?;
        let right = operand(right_text, at + width)?;
        if matches!(left, Operand::Pattern(_) | Operand::Any(_)) {
            return fail(1, "pat() and any() belong on the right of the comparator");
        }
        if matches!(right, Operand::Pattern(_) | Operand::Any(_))
            && !matches!(comparator, Comparator::Eq | Comparator::Ne)
        {
            return fail(at + 1, "pat() and any() compare with == or != only");
        }
        if !matches!(
            left,
            Operand::Placeholder(_) | Operand::Len(_) | Operand::Has(_)
        ) && !matches!(
            right,
            Operand::Placeholder(_) | Operand::Len(_) | Operand::Has(_)
        ) {
            return fail(
                1,
                "one side must be a placeholder such as [STATUS] or [BODY]",
            );
        }
        Ok(Condition {
            source: source.to_owned(),
            left,
            comparator,
            right,
        })
    }

    /// Whether it needs the TLS certificate ([CERTIFICATE_EXPIRATION]).
    pub fn needs_certificate(&self) -> bool {
        [&self.left, &self.right]
            .into_iter()
            .any(|o| matches!(o, Operand::Placeholder(Placeholder::CertificateExpiration)))
    }
}

/// The comparator outside parentheses; exactly one is allowed.
fn find_comparator(source: &str) -> Result<(usize, Comparator, usize), ConditionError> {
    let bytes = source.as_bytes();
    let mut depth = 0i32;
    let mut opened = 0;
    let mut found = None;
    let mut i = 0;
    while i < bytes.len() {
        let here = bytes[i];
        let next = bytes.get(i + 1).copied();
        let hit = match (here, next) {
            (b'(', _) => {
                if depth == 0 {
                    opened = i;
                }
                depth += 1;
                None
            }
            (b')', _) => {
                depth -= 1;
                None
            }
            _ if depth > 0 => None,
            (b'=', Some(b'=')) => Some((Comparator::Eq, 2)),
            (b'!', Some(b'=')) => Some((Comparator::Ne, 2)),
            (b'<', Some(b'=')) => Some((Comparator::Le, 2)),
            (b'>', Some(b'=')) => Some((Comparator::Ge, 2)),
            (b'<', _) => Some((Comparator::Lt, 1)),
            (b'>', _) => Some((Comparator::Gt, 1)),
            (b'=', _) => return fail(i + 1, "a single = is not a comparator; use =="),
            _ => None,
        };
        if let Some((comparator, width)) = hit {
            if found.is_some() {
                return fail(i + 1, "a condition has exactly one comparator");
            }
            found = Some((i, comparator, width));
            i += width;
            continue;
        }
        i += 1;
    }
    if depth > 0 {
        return fail(opened + 1, "( is not closed with )");
    }
    found.ok_or_else(|| ConditionError {
        column: source.len() + 1,
        problem: "expected a comparator: one of == != < <= > >=".into(),
    })
}

/// `offset`: where `text` starts in the condition, for error columns.
fn operand(text: &str, offset: usize) -> Result<Operand, ConditionError> {
    let lead = text.len() - text.trim_start().len();
    let start = offset + lead;
    let text = text.trim();
    if text.is_empty() {
        return fail(start + 1, "expected a value or a placeholder");
    }
    for (name, make) in [
        ("len(", Operand::Len as fn(Placeholder) -> Operand),
        ("has(", Operand::Has),
    ] {
        if let Some(inner) = strip_call(text, name) {
            let inner_at = start + name.len();
            let placeholder =
                placeholder(inner.trim(), inner_at)?.ok_or_else(|| ConditionError {
                    column: inner_at + 1,
                    problem: format!("{name}) takes a placeholder such as [BODY].items"),
                })?;
            return Ok(make(placeholder));
        }
    }
    if let Some(inner) = strip_call(text, "pat(") {
        return Ok(Operand::Pattern(inner.to_owned()));
    }
    if let Some(inner) = strip_call(text, "any(") {
        let items: Vec<String> = inner.split(',').map(|s| s.trim().to_owned()).collect();
        if items.iter().any(String::is_empty) {
            return fail(start + 5, "any() takes a comma-separated list of values");
        }
        return Ok(Operand::Any(items));
    }
    for name in ["len(", "has(", "pat(", "any("] {
        if text.starts_with(name) {
            return fail(
                start + text.len() + 1,
                format!("{name} is not closed with )"),
            );
        }
    }
    match placeholder(text, start)? {
        Some(p) => Ok(Operand::Placeholder(p)),
        None => Ok(Operand::Literal(text.to_owned())),
    }
}

fn strip_call<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.strip_prefix(name)?.strip_suffix(')')
}

/// A placeholder, or `None` when `text` is not one (a literal).
fn placeholder(text: &str, start: usize) -> Result<Option<Placeholder>, ConditionError> {
    if !text.starts_with('[') {
        return Ok(None);
    }
    let Some(close) = text.find(']') else {
        return fail(start + 1, "a placeholder is not closed with ]");
    };
    let name = &text[1..close];
    let rest = &text[close + 1..];
    let rest_at = start + close + 1;
    let simple = |p: Placeholder| -> Result<Option<Placeholder>, ConditionError> {
        if rest.is_empty() {
            Ok(Some(p))
        } else {
            fail(rest_at + 1, format!("[{name}] takes no path"))
        }
    };
    match name {
        "STATUS" => simple(Placeholder::Status),
        "RESPONSE_TIME" => simple(Placeholder::ResponseTime),
        "CERTIFICATE_EXPIRATION" => simple(Placeholder::CertificateExpiration),
        "CONNECTED" => simple(Placeholder::Connected),
        "BODY" => Ok(Some(Placeholder::Body(path(rest, rest_at)?))),
        "HEADER" => {
            let Some(header) = rest.strip_prefix('.') else {
                return fail(rest_at + 1, "[HEADER] needs a name: [HEADER].content-type");
            };
            if header.is_empty()
                || !header
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
            {
                return fail(rest_at + 2, "a header name is letters, digits, - and _");
            }
            Ok(Some(Placeholder::Header(header.to_ascii_lowercase())))
        }
        other => fail(
            start + 2,
            format!(
                "unknown placeholder [{other}]; known: [STATUS], [RESPONSE_TIME], [BODY], [HEADER], [CERTIFICATE_EXPIRATION], [CONNECTED]"
            ),
        ),
    }
}

/// `.a.b[0].c` after `[BODY]`.
fn path(text: &str, start: usize) -> Result<Vec<PathStep>, ConditionError> {
    let mut steps = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'.' => {
                let end = text[i + 1..]
                    .find(['.', '['])
                    .map_or(text.len(), |e| i + 1 + e);
                let key = &text[i + 1..end];
                if key.is_empty() || key.contains(char::is_whitespace) {
                    return fail(start + i + 2, "expected a key after .");
                }
                steps.push(PathStep::Key(key.to_owned()));
                i = end;
            }
            b'[' => {
                let Some(close) = text[i..].find(']') else {
                    return fail(start + i + 1, "an index is not closed with ]");
                };
                let index = &text[i + 1..i + close];
                match index.parse::<usize>() {
                    Ok(n) => steps.push(PathStep::Index(n)),
                    Err(_) => return fail(start + i + 2, "an index is a number: [0]"),
                }
                i += close + 1;
            }
            _ => return fail(start + i + 1, "expected . or [ in a body path"),
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Condition {
        Condition::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn error(s: &str) -> ConditionError {
        Condition::parse(s).expect_err(s)
    }

    #[test]
    fn gatus_conditions_parse() {
        let c = parse("[STATUS] == 200");
        assert_eq!(c.left, Operand::Placeholder(Placeholder::Status));
        assert_eq!(c.comparator, Comparator::Eq);
        assert_eq!(c.right, Operand::Literal("200".into()));
        assert_eq!(parse("[RESPONSE_TIME] < 300").comparator, Comparator::Lt);
        assert_eq!(
            parse("[BODY].data[0].status == UP").left,
            Operand::Placeholder(Placeholder::Body(vec![
                PathStep::Key("data".into()),
                PathStep::Index(0),
                PathStep::Key("status".into())
            ]))
        );
        assert_eq!(
            parse("len([BODY].items) >= 1").left,
            Operand::Len(Placeholder::Body(vec![PathStep::Key("items".into())]))
        );
        assert_eq!(
            parse("[STATUS] == any(200, 204)").right,
            Operand::Any(vec!["200".into(), "204".into()])
        );
        assert_eq!(
            parse("[BODY] == pat(*healthy*)").right,
            Operand::Pattern("*healthy*".into())
        );
        assert_eq!(
            parse("[HEADER].Content-Type == pat(*json*)").left,
            Operand::Placeholder(Placeholder::Header("content-type".into()))
        );
        assert!(parse("[CERTIFICATE_EXPIRATION] > 48h").needs_certificate());
        assert_eq!(
            parse("has([BODY].errors) == false").comparator,
            Comparator::Eq
        );
        assert_eq!(parse("  [CONNECTED]==true ").source, "[CONNECTED]==true");
        assert_eq!(parse("[RESPONSE_TIME] <= 1s").comparator, Comparator::Le);
        assert_eq!(parse("[STATUS] != 500").comparator, Comparator::Ne);
        assert_eq!(parse("[STATUS] >= 200").comparator, Comparator::Ge);
        assert_eq!(parse("[STATUS] > 199").comparator, Comparator::Gt);
    }

    #[test]
    fn errors_name_the_column() {
        assert_eq!(error("[STATUS] 200").column, 13);
        assert!(error("[STATUS] 200").problem.contains("comparator"));
        assert_eq!(error("[STATUS] = 200").column, 10);
        assert_eq!(error("[STATSU] == 200").column, 2);
        assert!(error("[STATSU] == 200")
            .problem
            .contains("unknown placeholder"));
        assert_eq!(error("[STATUS] == ").column, 12);
        assert_eq!(error("[STATUS == 200").column, 1);
        assert_eq!(error("[BODY].a[x] == 1").column, 10);
        assert_eq!(error("[BODY]x == 1").column, 7);
        assert_eq!(error("len([BODY] > 1").column, 4);
        assert!(error("200 == 200").problem.contains("placeholder"));
        assert!(error("[STATUS] < any(1, 2)").problem.contains("== or !="));
        assert!(error("[STATUS] == 1 == 2").problem.contains("exactly one"));
        assert_eq!(error("   ").column, 1);
        assert_eq!(error("[HEADER] == x").column, 9);
        assert!(error("[STATUS].x == 1").problem.contains("no path"));
        assert!(error(&"x".repeat(600)).problem.contains("at most"));
        assert!(error("[STATUS] == any(1,,2)").problem.contains("comma"));
    }
}
