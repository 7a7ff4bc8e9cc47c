//! JSON limiting: nesting depth and serialized size.

use std::io;

use serde_json::{Map, Number, Value};

use super::ELLIPSIS;

/// What a container beyond the depth limit becomes.
pub const DEPTH_MARKER: &str = "[depth limit]";
/// The JSON limiter recurses once per nesting level, on the Postgres
/// backend's stack; deeper limits are treated as this one.
pub const MAX_SUPPORTED_DEPTH: usize = 256;

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
    let mut limiter = JsonLimiter {
        max_depth,
        report: &mut report,
    };
    if limiter.fit(value, 1, max_bytes).is_none() {
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
pub(crate) fn string_len(text: &str, cap: usize) -> Option<usize> {
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

struct JsonLimiter<'r> {
    max_depth: usize,
    report: &'r mut JsonLimitReport,
}

impl JsonLimiter<'_> {
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
            crate::interrupt::check();
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
            crate::interrupt::check();
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
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

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

    proptest! {
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
