//! Size limits applied to captured errors before they are stored.
//!
//! Everything here is about size only: NUL bytes and other characters
//! Postgres cannot store are handled where text is normalised, not here, so
//! that a limit never changes a character it keeps.
//!
//! Inputs can be several megabytes; the functions look at the part they keep
//! (plus, for stack traces, one byte scan to count the omitted lines), not at
//! the whole input, and never panic, whatever the limits.

use std::borrow::Cow;
use std::io;

use serde_json::{Map, Number, Value};

const ELLIPSIS: &str = "…";
const DEPTH_MARKER: &str = "[depth limit]";
/// The JSON limiter recurses once per nesting level, on the Postgres
/// backend's stack; deeper limits are treated as this one.
const MAX_SUPPORTED_DEPTH: usize = 256;

/// Truncates to at most max_bytes (UTF-8 char boundary), ending with "…"
/// when cut. Borrowed exactly when it fits, so callers can tell a cut by
/// `Cow::Owned`. Below 3 bytes the ellipsis itself does not fit, and the
/// result is a bare prefix.
pub fn truncate_text(text: &str, max_bytes: usize) -> Cow<'_, str> {
    if text.len() <= max_bytes {
        return Cow::Borrowed(text);
    }
    let Some(room) = max_bytes.checked_sub(ELLIPSIS.len()) else {
        return Cow::Owned(text[..floor_char_boundary(text, max_bytes)].to_string());
    };
    let cut = floor_char_boundary(text, room);
    let mut out = String::with_capacity(cut + ELLIPSIS.len());
    out.push_str(&text[..cut]);
    out.push_str(ELLIPSIS);
    Cow::Owned(out)
}

fn floor_char_boundary(text: &str, at: usize) -> usize {
    (0..=at.min(text.len()))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// For stack traces: keeps the head and the tail lines (the innermost frames
/// and the entry point both matter, and which end holds which depends on the
/// language), replacing the middle with one line "… N lines omitted …";
/// result at most max_bytes. Half the room goes to the head, the rest (and
/// whatever the head left) to the tail. A first or last line too long to keep
/// whole is cut with "…". Falls back to `truncate_text` when there are no
/// whole middle lines to omit. Borrowed exactly when it fits.
pub fn truncate_stack(text: &str, max_bytes: usize) -> Cow<'_, str> {
    if text.len() <= max_bytes {
        return Cow::Borrowed(text);
    }
    // Fewer lines than bytes can be omitted, so a marker sized for
    // `text.len()` always has room for the real count.
    let Some(room) = max_bytes.checked_sub(omitted_marker(text.len()).len()) else {
        return truncate_text(text, max_bytes);
    };
    let bytes = text.as_bytes();

    let head_room = room / 2;
    let mut head_end = 0;
    while let Some(newline) = bytes[head_end..head_room.min(bytes.len())]
        .iter()
        .position(|&b| b == b'\n')
    {
        head_end += newline + 1;
    }
    let (head, consumed) = if head_end > 0 {
        (Cow::Borrowed(&text[..head_end]), head_end)
    } else {
        let Some(first_end) = text.find('\n').map(|newline| newline + 1) else {
            return truncate_text(text, max_bytes);
        };
        match cut_line(&text[..first_end], head_room) {
            Some(cut) => (Cow::Owned(cut), first_end),
            None => (Cow::Borrowed(""), 0),
        }
    };

    let tail_room = room - head.len();
    let mut tail_start = bytes.len();
    loop {
        let lowest = bytes
            .len()
            .saturating_sub(tail_room)
            .saturating_sub(1)
            .max(consumed);
        let Some(search_end) = tail_start.checked_sub(1).filter(|&end| end > lowest) else {
            break;
        };
        match bytes[lowest..search_end].iter().rposition(|&b| b == b'\n') {
            Some(newline) => tail_start = lowest + newline + 1,
            None => break,
        }
    }
    let (tail, middle_end) = if tail_start < bytes.len() {
        (Cow::Borrowed(&text[tail_start..]), tail_start)
    } else {
        let last_start = text[consumed..]
            .trim_end_matches('\n')
            .rfind('\n')
            .map_or(consumed, |newline| consumed + newline + 1);
        match cut_line(&text[last_start..], tail_room) {
            Some(cut) => (Cow::Owned(cut), last_start),
            None => (Cow::Borrowed(""), bytes.len()),
        }
    };

    let middle = &bytes[consumed..middle_end];
    let omitted = middle.iter().filter(|&&b| b == b'\n').count()
        + usize::from(middle.last().is_some_and(|&b| b != b'\n'));
    if omitted == 0 {
        return truncate_text(text, max_bytes);
    }
    let marker = omitted_marker(omitted);
    let mut out = String::with_capacity(head.len() + marker.len() + tail.len());
    out.push_str(&head);
    out.push_str(&marker);
    out.push_str(&tail);
    Cow::Owned(out)
}

/// The line cut with "…" to fit `room`, keeping its newline; `None` when
/// not even one character and "…" fit.
fn cut_line(line: &str, room: usize) -> Option<String> {
    let (content, newline) = match line.strip_suffix('\n') {
        Some(content) => (content, "\n"),
        None => (line, ""),
    };
    let room = room.checked_sub(newline.len())?;
    if room <= ELLIPSIS.len() {
        return None;
    }
    let mut cut = truncate_text(content, room).into_owned();
    cut.push_str(newline);
    Some(cut)
}

fn omitted_marker(lines: usize) -> String {
    let noun = if lines == 1 { "line" } else { "lines" };
    format!("{ELLIPSIS} {lines} {noun} omitted {ELLIPSIS}\n")
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimitReport {
    pub truncated: bool,
    pub depth_limited: bool,
}

/// Enforces a nesting depth (containers deeper than max_depth become the
/// string "[depth limit]"; the root container is at depth 1) and a
/// serialized size: the compact serde_json serialization of the result is at
/// most max_bytes. Members are kept in order until the budget runs out (room
/// for the drop marker is set aside as they are kept), long strings are cut
/// with "…", and dropped members are recorded by a final member
/// `"…": "<n> more"` (objects) or a final element `"… <n> more"` (arrays)
/// when it fits. The value is untouched (report all false) when already
/// within both limits.
///
/// When not even an empty container fits, the result is the shortest string
/// that does (`"…"`, else `""`); no JSON value is shorter than 2 bytes except
/// a one-digit number, so below `max_bytes = 2` the result can exceed it.
/// Depths above 256 are treated as 256.
pub fn limit_json(value: &mut Value, max_bytes: usize, max_depth: usize) -> JsonLimitReport {
    let max_depth = max_depth.min(MAX_SUPPORTED_DEPTH);
    let mut report = JsonLimitReport::default();
    if measure(value, 1, max_bytes, max_depth).is_some() {
        return report;
    }
    let mut limits = Limits {
        max_depth,
        report: &mut report,
    };
    if limits.fit(value, 1, max_bytes).is_none() {
        *value = match value {
            Value::Object(_) if max_depth >= 1 => Value::Object(Map::new()),
            Value::Array(_) if max_depth >= 1 => Value::Array(Vec::new()),
            _ if max_bytes >= ELLIPSIS.len() + 2 => Value::String(ELLIPSIS.to_string()),
            _ => Value::String(String::new()),
        };
        report.truncated = true;
    }
    report
}

/// Serialized size of `value` if it fits `budget` with no container deeper
/// than `max_depth`; stops as soon as either limit is exceeded, so it costs
/// at most about `budget` steps whatever the size of `value`.
fn measure(value: &Value, depth: usize, budget: usize, max_depth: usize) -> Option<usize> {
    let size = match value {
        Value::Null | Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(number) => number_len(number)?,
        Value::String(text) => string_len(text, budget)?,
        Value::Array(items) => {
            if depth > max_depth {
                return None;
            }
            let mut size = 2 + items.len().saturating_sub(1);
            for item in items {
                size += measure(item, depth + 1, budget.checked_sub(size)?, max_depth)?;
            }
            size
        }
        Value::Object(members) => {
            if depth > max_depth {
                return None;
            }
            let mut size = 2 + members.len().saturating_sub(1);
            for (key, member) in members {
                size += string_len(key, budget.checked_sub(size)?)? + 1;
                size += measure(member, depth + 1, budget.checked_sub(size)?, max_depth)?;
            }
            size
        }
    };
    (size <= budget).then_some(size)
}

/// Quoted and escaped the way serde_json writes it, or `None` above `cap`.
fn string_len(text: &str, cap: usize) -> Option<usize> {
    // Escaping only grows a string, so the raw length rules out most
    // oversized strings without looking at them.
    if text.len() + 2 > cap {
        return None;
    }
    let mut len = 2;
    for &b in text.as_bytes() {
        len += escaped_len(b);
        if len > cap {
            return None;
        }
    }
    Some(len)
}

fn escaped_len(b: u8) -> usize {
    match b {
        b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
        0x00..=0x1f => 6,
        _ => 1,
    }
}

fn number_len(number: &Number) -> Option<usize> {
    let mut count = ByteCount(0);
    serde_json::to_writer(&mut count, number).ok()?;
    Some(count.0)
}

struct ByteCount(usize);

impl io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Limits<'r> {
    max_depth: usize,
    report: &'r mut JsonLimitReport,
}

impl Limits<'_> {
    /// Shrinks `value` to fit `budget` and returns its new size, or `None`
    /// when nothing of it fits and the caller must drop it.
    fn fit(&mut self, value: &mut Value, depth: usize, budget: usize) -> Option<usize> {
        if let Some(size) = measure(value, depth, budget, self.max_depth) {
            return Some(size);
        }
        match value {
            Value::Array(_) | Value::Object(_) if depth > self.max_depth => {
                self.report.depth_limited = true;
                let size = DEPTH_MARKER.len() + 2;
                if size > budget {
                    return None;
                }
                *value = Value::String(DEPTH_MARKER.to_string());
                Some(size)
            }
            Value::String(text) => {
                let size = cut_string(text, budget)?;
                self.report.truncated = true;
                Some(size)
            }
            Value::Array(items) => self.fit_array(items, depth, budget),
            Value::Object(members) => self.fit_object(members, depth, budget),
            Value::Null | Value::Bool(_) | Value::Number(_) => None,
        }
    }

    fn fit_array(&mut self, items: &mut Vec<Value>, depth: usize, budget: usize) -> Option<usize> {
        let total = items.len();
        let mut used = 2;
        if used > budget {
            return None;
        }
        let mut kept = 0;
        for item in items.iter_mut() {
            let comma = usize::from(kept > 0);
            let reserve = drop_marker_reserve(total - kept - 1, array_marker_len);
            let Some(room) = budget.checked_sub(used + comma + reserve) else {
                break;
            };
            let Some(size) = self.fit(item, depth + 1, room) else {
                break;
            };
            used += comma + size;
            kept += 1;
        }
        let dropped = total - kept;
        if dropped > 0 {
            self.report.truncated = true;
            items.truncate(kept);
            let cost = usize::from(kept > 0) + array_marker_len(dropped);
            if used + cost <= budget {
                items.push(Value::String(format!("{ELLIPSIS} {dropped} more")));
                used += cost;
            }
        }
        Some(used)
    }

    fn fit_object(
        &mut self,
        members: &mut Map<String, Value>,
        depth: usize,
        budget: usize,
    ) -> Option<usize> {
        let total = members.len();
        let mut used = 2;
        if used > budget {
            return None;
        }
        let mut kept = Map::new();
        for (key, mut member) in std::mem::take(members) {
            let comma = usize::from(!kept.is_empty());
            let reserve = drop_marker_reserve(total - kept.len() - 1, object_marker_len);
            let Some(key_len) = budget
                .checked_sub(used + comma + reserve)
                .and_then(|room| string_len(&key, room))
            else {
                break;
            };
            let Some(room) = budget.checked_sub(used + comma + reserve + key_len + 1) else {
                break;
            };
            let Some(size) = self.fit(&mut member, depth + 1, room) else {
                break;
            };
            used += comma + key_len + 1 + size;
            kept.insert(key, member);
        }
        let dropped = total - kept.len();
        if dropped > 0 {
            self.report.truncated = true;
            let cost = usize::from(!kept.is_empty()) + object_marker_len(dropped);
            // A kept member named "…" would be overwritten by the marker.
            if used + cost <= budget && !kept.contains_key(ELLIPSIS) {
                kept.insert(
                    ELLIPSIS.to_string(),
                    Value::String(format!("{dropped} more")),
                );
                used += cost;
            }
        }
        *members = kept;
        Some(used)
    }
}

/// Room set aside, while keeping a member, for the marker that will count
/// the members after it if they end up dropped. A later marker can only count
/// fewer, so it always fits in what was set aside.
fn drop_marker_reserve(remaining: usize, marker_len: fn(usize) -> usize) -> usize {
    if remaining == 0 {
        0
    } else {
        1 + marker_len(remaining)
    }
}

/// `"… <n> more"`
fn array_marker_len(dropped: usize) -> usize {
    2 + ELLIPSIS.len() + 1 + decimal_len(dropped) + " more".len()
}

/// `"…":"<n> more"`
fn object_marker_len(dropped: usize) -> usize {
    2 + ELLIPSIS.len() + 1 + 2 + decimal_len(dropped) + " more".len()
}

fn decimal_len(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |digits| digits as usize + 1)
}

/// Cuts at a char boundary so that the quoted, escaped string plus "…" fits
/// `budget`; `None` when not even `"…"` fits.
fn cut_string(text: &mut String, budget: usize) -> Option<usize> {
    let room = budget.checked_sub(2 + ELLIPSIS.len())?;
    let mut used = 0;
    let mut cut = 0;
    for (at, c) in text.char_indices() {
        let len = if c.is_ascii() {
            escaped_len(c as u8)
        } else {
            c.len_utf8()
        };
        if used + len > room {
            break;
        }
        used += len;
        cut = at + c.len_utf8();
    }
    text.truncate(cut);
    text.push_str(ELLIPSIS);
    Some(2 + used + ELLIPSIS.len())
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn truncate_text_table() {
        let cases = [
            ("hello", 10, "hello", false),
            ("hello", 5, "hello", false),
            ("hello world", 8, "hello…", true),
            ("héllo wörld", 6, "hé…", true),
            ("日本語テキスト", 7, "日…", true),
            ("🦀🦀", 5, "…", true),
            ("abc", 3, "abc", false),
            ("abcd", 3, "…", true),
            ("abc", 2, "ab", true),
            ("日本", 2, "", true),
            ("abc", 0, "", true),
            ("", 0, "", false),
        ];
        for (text, max, expected, cut) in cases {
            let out = truncate_text(text, max);
            assert_eq!(out, expected, "{text:?} at {max}");
            assert_eq!(matches!(out, Cow::Owned(_)), cut, "{text:?} at {max}");
        }
    }

    fn js_stack(frames: usize) -> String {
        let mut stack =
            String::from("TypeError: Cannot read properties of undefined (reading 'id')\n");
        for i in 0..frames {
            stack.push_str(&format!(
                "    at handler{i} (/app/src/routes/r{i}.js:{i}:17)\n"
            ));
        }
        stack.push_str(
            "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
        );
        stack
    }

    #[test]
    fn truncate_stack_keeps_both_ends() {
        let stack = js_stack(300);
        let out = truncate_stack(&stack, 1000);
        assert!(out.len() <= 1000, "{}", out.len());
        assert!(out.starts_with(
            "TypeError: Cannot read properties of undefined (reading 'id')\n    at handler0 "
        ));
        assert!(out.ends_with("(node:internal/process/task_queues:95:5)"));
        let marker = out.lines().find(|line| line.contains("omitted")).unwrap();
        let omitted: usize = marker.split(' ').nth(1).unwrap().parse().unwrap();
        assert_eq!(marker, format!("… {omitted} lines omitted …"));
        assert_eq!(out.lines().count() - 1 + omitted, stack.lines().count());
        let (head, tail) = out.split_once(&format!("{marker}\n")).unwrap();
        assert!(stack.starts_with(head));
        assert!(stack.ends_with(tail));
    }

    #[test]
    fn truncate_stack_keeps_the_python_exception_line() {
        let mut stack = String::from("Traceback (most recent call last):\n");
        for i in 0..100 {
            stack.push_str(&format!(
                "  File \"/app/m{i}.py\", line {i}, in f{i}\n    f{}()\n",
                i + 1
            ));
        }
        stack.push_str("ValueError: invalid literal for int() with base 10: 'x'\n");
        let out = truncate_stack(&stack, 600);
        assert!(out.len() <= 600);
        assert!(out.starts_with("Traceback (most recent call last):\n"));
        assert!(out.ends_with("ValueError: invalid literal for int() with base 10: 'x'\n"));
        assert!(out.contains(" lines omitted …\n"));
    }

    #[test]
    fn truncate_stack_cuts_an_overlong_first_line() {
        let stack = format!("Error: {}\n{}", "x".repeat(5000), js_stack(50));
        let out = truncate_stack(&stack, 800);
        assert!(out.len() <= 800);
        assert!(out.starts_with("Error: xxx"));
        assert!(out.lines().next().unwrap().ends_with('…'));
        assert!(out.contains(" lines omitted …\n"));
        assert!(out.ends_with("task_queues:95:5)"));
    }

    #[test]
    fn truncate_stack_falls_back_to_text_truncation() {
        let one_line = "x".repeat(500);
        assert_eq!(
            truncate_stack(&one_line, 100),
            truncate_text(&one_line, 100)
        );
        let two_lines = format!("{}\n{}", "a".repeat(300), "b".repeat(300));
        assert_eq!(
            truncate_stack(&two_lines, 100),
            truncate_text(&two_lines, 100)
        );
        let stack = js_stack(20);
        assert_eq!(truncate_stack(&stack, 10), truncate_text(&stack, 10));
        assert!(matches!(
            truncate_stack(&stack, stack.len()),
            Cow::Borrowed(_)
        ));
    }

    fn depth(value: &Value) -> usize {
        match value {
            Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    fn size(value: &Value) -> usize {
        serde_json::to_string(value).unwrap().len()
    }

    #[test]
    fn limit_json_leaves_fitting_values_alone() {
        let original = json!({"user": {"id": 1, "tags": ["a", "b"]}, "msg": "ok \"quoted\"\n"});
        let mut value = original.clone();
        let report = limit_json(&mut value, size(&original), 3);
        assert_eq!(report, JsonLimitReport::default());
        assert_eq!(value, original);
    }

    #[test]
    fn limit_json_replaces_deep_containers() {
        let mut value = json!({"a": {"b": {"c": 1}, "d": [1, [2]]}, "e": 5});
        let report = limit_json(&mut value, 10_000, 2);
        assert_eq!(
            value,
            json!({"a": {"b": "[depth limit]", "d": "[depth limit]"}, "e": 5})
        );
        assert_eq!(
            report,
            JsonLimitReport {
                truncated: false,
                depth_limited: true
            }
        );

        let mut root = json!([1, 2]);
        let report = limit_json(&mut root, 10_000, 0);
        assert_eq!(root, json!("[depth limit]"));
        assert!(report.depth_limited);
    }

    #[test]
    fn limit_json_keeps_members_in_order_and_counts_the_rest() {
        let mut value = json!({"a": "1111111111", "b": "2222222222", "c": "3333333333", "d": "4444444444", "e": 5});
        let report = limit_json(&mut value, 60, 5);
        assert!(size(&value) <= 60, "{value}");
        assert_eq!(
            report,
            JsonLimitReport {
                truncated: true,
                depth_limited: false
            }
        );
        let members = value.as_object().unwrap();
        let keys: Vec<_> = members.keys().map(String::as_str).collect();
        assert_eq!(keys.first(), Some(&"a"));
        assert_eq!(keys.last(), Some(&"…"));
        let kept = keys.len() - 1;
        assert_eq!(members["…"], json!(format!("{} more", 5 - kept)));
    }

    #[test]
    fn limit_json_counts_dropped_array_elements() {
        let mut value = Value::Array((0..1000).map(Value::from).collect());
        let report = limit_json(&mut value, 50, 5);
        assert!(report.truncated);
        assert!(size(&value) <= 50, "{value}");
        let items = value.as_array().unwrap();
        let kept = items.len() - 1;
        assert_eq!(
            items[..kept],
            (0..kept).map(Value::from).collect::<Vec<_>>()[..]
        );
        assert_eq!(items[kept], json!(format!("… {} more", 1000 - kept)));
    }

    #[test]
    fn limit_json_cuts_long_strings_with_escapes() {
        let mut value = json!({"msg": "say \"hi\"\n".repeat(100)});
        let report = limit_json(&mut value, 40, 5);
        assert!(report.truncated);
        assert_eq!(size(&value), 40.min(size(&value)));
        assert!(size(&value) <= 40);
        let msg = value["msg"].as_str().unwrap();
        assert!(msg.ends_with('…'));
        assert!("say \"hi\"\n"
            .repeat(100)
            .starts_with(msg.trim_end_matches('…')));
    }

    #[test]
    fn limit_json_handles_budgets_below_any_marker() {
        let cases = [
            (json!({"a": 1}), 2, 5, json!({})),
            (json!({"a": 1}), 1, 5, json!({})),
            (json!([1, 2, 3]), 3, 5, json!([])),
            (json!("long text"), 4, 5, json!("")),
            (json!("long text"), 5, 5, json!("…")),
            (json!(123456), 3, 5, json!("")),
            (json!(123456), 5, 5, json!("…")),
            (json!(true), 3, 5, json!("")),
            (json!({"a": [1, 2, 3, 4]}), 10, 5, json!({"a": []})),
            (json!([[1]]), 10, 1, json!([])),
            (json!([[1]]), 17, 1, json!(["[depth limit]"])),
            (json!({"a": 1}), 10, 0, json!("…")),
            (json!({"a": 1}), 4, 0, json!("")),
        ];
        for (input, max_bytes, max_depth, expected) in cases {
            let mut value = input.clone();
            let report = limit_json(&mut value, max_bytes, max_depth);
            assert_eq!(value, expected, "{input} at {max_bytes}/{max_depth}");
            assert!(
                report.truncated || report.depth_limited,
                "{input} at {max_bytes}"
            );
        }
    }

    #[test]
    fn limit_json_does_not_overwrite_a_member_named_ellipsis() {
        let mut value = json!({"…": "mine", "b": 12345678901234567890u64, "c": true});
        let report = limit_json(&mut value, 30, 5);
        assert!(report.truncated);
        assert_eq!(value, json!({"…": "mine"}));
    }

    #[test]
    fn limits_are_fast_on_multi_megabyte_input() {
        let big = "frame line\n".repeat(800_000);
        let mut value = json!({
            "items": (0..100_000).map(|i| json!({"id": i, "text": "x".repeat(100)})).collect::<Vec<_>>(),
            "blob": big.clone(),
        });
        let started = Instant::now();
        assert!(truncate_text(&big, 8192).len() <= 8192);
        assert!(truncate_stack(&big, 8192).len() <= 8192);
        let report = limit_json(&mut value, 65_536, 10);
        let elapsed = started.elapsed();
        assert!(report.truncated);
        assert!(size(&value) <= 65_536);
        // Generous even for an unoptimised build; a quadratic walk takes minutes.
        assert!(elapsed.as_secs() < 5, "{elapsed:?}");
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[\"\\\\\n\t\u{1}a-z…é]{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 128, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..8)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    fn stack_text() -> impl Strategy<Value = String> {
        prop::collection::vec(prop_oneof!["[ -~]{0,60}", any::<String>()], 0..40)
            .prop_map(|lines| lines.join("\n"))
    }

    proptest! {
        #[test]
        fn truncate_text_keeps_a_prefix_within_the_limit(text in any::<String>(), max in 0usize..64) {
            let out = truncate_text(&text, max);
            prop_assert!(out.len() <= max);
            prop_assert_eq!(matches!(out, Cow::Borrowed(_)), text.len() <= max);
            let kept = out.strip_suffix(ELLIPSIS).filter(|_| text.len() > max).unwrap_or(&out);
            prop_assert!(text.starts_with(kept));
        }

        #[test]
        fn truncate_stack_keeps_head_and_tail_within_the_limit(text in stack_text(), max in 0usize..400) {
            let out = truncate_stack(&text, max);
            prop_assert!(out.len() <= max, "{} > {}", out.len(), max);
            prop_assert_eq!(matches!(out, Cow::Borrowed(_)), text.len() <= max);
            if let Some((head, tail)) = out
                .split_once(" lines omitted …\n")
                .or_else(|| out.split_once(" line omitted …\n"))
                .filter(|_| text.len() > max)
            {
                let head = head.rsplit_once("… ").map_or(head, |(head, _)| head);
                let head = head.strip_suffix("…\n").unwrap_or(head);
                prop_assert!(text.starts_with(head), "head {head:?}");
                let cut_tail = tail.trim_end_matches('\n');
                let cut_tail = cut_tail.strip_suffix(ELLIPSIS).unwrap_or(cut_tail);
                prop_assert!(text.ends_with(tail) || text.contains(cut_tail), "tail {tail:?}");
            } else if text.len() > max {
                prop_assert_eq!(out, truncate_text(&text, max));
            }
        }

        #[test]
        fn limit_json_respects_both_limits(value in json_value(), max_bytes in 2usize..1500, max_depth in 0usize..6) {
            let original_size = size(&value);
            let within = original_size <= max_bytes && depth(&value) <= max_depth;
            let mut limited = value.clone();
            let report = limit_json(&mut limited, max_bytes, max_depth);
            prop_assert!(size(&limited) <= max_bytes, "{} > {max_bytes}: {limited}", size(&limited));
            prop_assert!(depth(&limited) <= max_depth, "{limited}");
            if within {
                prop_assert_eq!(report, JsonLimitReport::default());
                prop_assert_eq!(limited, value);
            } else {
                prop_assert!(report.truncated || report.depth_limited);
            }
        }

        #[test]
        fn measured_size_matches_serde_json(value in json_value()) {
            prop_assert_eq!(measure(&value, 1, usize::MAX, MAX_SUPPORTED_DEPTH), Some(size(&value)));
        }
    }
}
