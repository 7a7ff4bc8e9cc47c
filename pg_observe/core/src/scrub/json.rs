//! Scrubbing of JSON context. The walk uses an explicit stack rather than
//! recursion: context comes from applications, and a deeply nested value
//! must not overflow the Postgres backend's stack before size limits apply.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{owned, Scrubber, FILTERED};
use crate::interrupt;

pub(super) fn scrub_json(scrubber: &Scrubber, root: &mut Value) -> usize {
    let mut scrubbed = 0;
    let mut pending = vec![root];
    while let Some(value) = pending.pop() {
        interrupt::check();
        match value {
            Value::String(text) => {
                if let Some(clean) = owned(scrubber.scrub_text(text)) {
                    *text = clean;
                    scrubbed += 1;
                }
            }
            Value::Array(items) => pending.extend(items.iter_mut()),
            Value::Object(members) => {
                scrubbed += scrub_keys(scrubber, members);
                for (key, member) in members.iter_mut() {
                    if scrubber.is_sensitive_key(key) {
                        scrubbed += usize::from(filter(member));
                    } else {
                        pending.push(member);
                    }
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    scrubbed
}

/// Null is kept: it holds no secret, and "the password was missing" is
/// often the very thing being debugged. Everything else, containers
/// included, is replaced whole.
fn filter(value: &mut Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(text) if text == FILTERED => false,
        _ => {
            *value = Value::String(FILTERED.to_string());
            true
        }
    }
}

/// Maps keyed by e-mail address or user id leak through their keys, so keys
/// are scrubbed like text. Two keys that scrub to the same marker must both
/// survive, so later ones get a `#2`, `#3` … suffix (in order, hence stable).
fn scrub_keys(scrubber: &Scrubber, members: &mut Map<String, Value>) -> usize {
    if members.keys().all(|key| scrubber.is_clean_name(key)) {
        return 0;
    }
    let mut renamed = 0;
    let mut next_suffix: HashMap<String, usize> = HashMap::new();
    for (key, member) in std::mem::take(members) {
        let key = match owned(scrubber.scrub_text(&key)) {
            Some(clean) => {
                renamed += 1;
                clean
            }
            None => key,
        };
        let key = if members.contains_key(&key) {
            let suffix = next_suffix.entry(key.clone()).or_insert(1);
            loop {
                *suffix += 1;
                let candidate = format!("{key}#{suffix}");
                if !members.contains_key(&candidate) {
                    break candidate;
                }
            }
        } else {
            key
        };
        members.insert(key, member);
    }
    renamed
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::ScrubConfig;
    use super::*;

    #[test]
    fn sensitive_keys_are_filtered_at_every_depth() {
        let mut value = json!({
            "user": {"id": 42, "email": "jane@example.com", "password": "hunter2"},
            "request": {
                "headers": {"Authorization": "Bearer abc", "X-Api-Key": "k", "Accept": "*/*"},
                "cookies": {"sid": "abc", "theme": "dark"},
                "query": "?token=abc&page=2"
            },
            "items": [
                {"name": "a", "secret": {"nested": true}},
                {"name": "b", "card_number": 4242424242424242u64, "cvv": 123}
            ],
            "usage": {"prompt_tokens": 12, "max_tokens": 100, "promptTokenCount": 7},
            "author": "Ann",
            "session": null
        });
        let count = Scrubber::default().scrub_json(&mut value);
        assert_eq!(
            value,
            json!({
                "user": {"id": 42, "email": "[email]", "password": "[Filtered]"},
                "request": {
                    "headers": {"Authorization": "[Filtered]", "X-Api-Key": "[Filtered]", "Accept": "*/*"},
                    "cookies": "[Filtered]",
                    "query": "?token=[Filtered]&page=2"
                },
                "items": [
                    {"name": "a", "secret": "[Filtered]"},
                    {"name": "b", "card_number": "[Filtered]", "cvv": "[Filtered]"}
                ],
                "usage": {"prompt_tokens": 12, "max_tokens": 100, "promptTokenCount": 7},
                "author": "Ann",
                "session": null
            })
        );
        assert_eq!(count, 9);
    }

    #[test]
    fn free_text_values_are_scrubbed_inside_arrays() {
        let mut value = json!([
            "mail bob@example.com",
            4242424242424242u64,
            "4242424242424242",
            ["deep ghp_16C7e42F292c6912E7710c838347Ae178B4a"]
        ]);
        assert_eq!(Scrubber::default().scrub_json(&mut value), 3);
        assert_eq!(
            value,
            json!([
                "mail [email]",
                4242424242424242u64,
                "[card]",
                ["deep [api_key]"]
            ])
        );
    }

    #[test]
    fn keys_holding_pii_are_renamed_in_order() {
        let mut value = json!({"a@x.io": 1, "plain": 2, "b@x.io": 3, "[email]#2": 4});
        assert_eq!(Scrubber::default().scrub_json(&mut value), 2);
        let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["[email]", "plain", "[email]#2", "[email]#2#2"]);
        assert_eq!(value["[email]#2"], 3);
        assert_eq!(value["[email]#2#2"], 4);
    }

    #[test]
    fn extra_keys_apply_to_json() {
        let scrubber = Scrubber::new(&ScrubConfig {
            extra_keys: vec!["customerRef".into()],
            ..ScrubConfig::default()
        })
        .unwrap();
        let mut value = json!({"customer_ref": "C-1", "stripe": {"CUSTOMER-REF": ["x"]}});
        assert_eq!(scrubber.scrub_json(&mut value), 2);
        assert_eq!(
            value,
            json!({"customer_ref": "[Filtered]", "stripe": {"CUSTOMER-REF": "[Filtered]"}})
        );
    }

    #[test]
    fn second_pass_scrubs_nothing() {
        let mut value = json!({"password": "x", "note": "a@b.io", "k@x.io": {"token": 1}});
        let scrubber = Scrubber::default();
        assert!(scrubber.scrub_json(&mut value) > 0);
        let once = value.clone();
        assert_eq!(scrubber.scrub_json(&mut value), 0);
        assert_eq!(value, once);
    }

    #[test]
    fn very_deep_values_do_not_overflow_the_stack() {
        let mut value = json!("a@b.io");
        for _ in 0..100_000 {
            value = Value::Array(vec![value]);
        }
        assert_eq!(Scrubber::default().scrub_json(&mut value), 1);
        // serde_json drops recursively; unwind the nesting by hand.
        let mut current = value;
        while let Value::Array(mut items) = current {
            current = items.pop().unwrap_or(Value::Null);
        }
        assert_eq!(current, json!("[email]"));
    }
}
