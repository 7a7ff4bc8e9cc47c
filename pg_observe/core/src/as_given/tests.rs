use proptest::prelude::*;
use serde_json::{json, Map, Number, Value};

use super::*;
use crate::limits::JsonLimitReport;
use crate::process::bounded_json;
use crate::scrub::ScrubConfig;

/// serde values walked the way the extension walks jsonb.
struct Json<'a>(&'a Value);

impl Container for Json<'_> {
    fn is_array(&self) -> bool {
        self.0.is_array()
    }

    fn count(&self) -> usize {
        match self.0 {
            Value::Array(items) => items.len(),
            Value::Object(members) => members.len(),
            _ => 0,
        }
    }

    fn visit(&self, mut visit: impl FnMut(Option<&str>, Item<'_, Self>) -> bool) -> bool {
        fn item(value: &Value) -> Item<'_, Json<'_>> {
            match value {
                Value::Null => Item::Null,
                Value::Bool(b) => Item::Bool(*b),
                Value::Number(_) => Item::Number,
                Value::String(text) => Item::Text(text.as_str()),
                container => Item::Container(Json(container)),
            }
        }
        match self.0 {
            Value::Array(items) => items.iter().all(|value| visit(None, item(value))),
            Value::Object(members) => members
                .iter()
                .all(|(name, value)| visit(Some(name), item(value))),
            _ => true,
        }
    }
}

fn scrubber() -> Scrubber {
    Scrubber::new(&ScrubConfig::default()).unwrap()
}

fn as_given(value: &Value, limits: &Limits) -> bool {
    is_as_given(&Json(value), limits, &scrubber())
}

fn limits(context_bytes: usize, context_depth: usize) -> Limits {
    Limits {
        context_bytes,
        context_depth,
        ..Limits::default()
    }
}

#[test]
fn clean_context_is_as_given() {
    let context = json!({
        "order_id": 42, "items": 3, "total": 19.99, "paid": true, "coupon": null,
        "customer": {"tier": "gold", "tags": ["new", "eu"]},
        "session": null, "password": "[Filtered]",
    });
    assert!(as_given(&context, &Limits::default()));
    assert!(as_given(&json!({}), &Limits::default()));
}

#[test]
fn anything_processing_would_change_is_not() {
    let defaults = Limits::default();
    for context in [
        json!({"password": "hunter2"}),
        json!({"user": {"authToken": {"nested": true}}}),
        json!({"note": "mail jane@example.com"}),
        json!({"jane@example.com": 1}),
        json!({"rows": [{"url": "postgres://app:secret@db.internal/app"}]}),
    ] {
        assert!(!as_given(&context, &defaults), "{context}");
    }
    // Deeper than the limit, at the limit.
    let deep = json!({"a": {"b": {"c": 1}}});
    assert!(!as_given(&deep, &limits(1024, 2)));
    assert!(as_given(&deep, &limits(1024, 3)));
    // Longer than the limit once serialized, escapes included.
    let quoted = json!({"q": "\"\"\"\""});
    let size = serde_json::to_string(&quoted).unwrap().len();
    assert!(as_given(&quoted, &limits(size, 10)));
    assert!(!as_given(&quoted, &limits(size - 1, 10)));
}

#[test]
fn numbers_are_counted_at_their_longest() {
    let one = json!({"n": 1});
    // `{"n":` and `}` around a number of up to MAX_NUMBER_LEN.
    assert!(as_given(&one, &limits(6 + MAX_NUMBER_LEN, 10)));
    assert!(!as_given(&one, &limits(5 + MAX_NUMBER_LEN, 10)));
}

#[test]
fn the_readers_budget_counts_as_the_reader_does() {
    // {"a":[null,"xy"]}: the reader counts 2 + (1 + 4) + 2 + 2 + 8 + (2 + 2)
    // = 23, and one byte must be left over.
    let context = json!({"a": [null, "xy"]});
    let defaults = Limits::default();
    assert!(within(&Json(&context), &defaults, 24, &scrubber()));
    assert!(!within(&Json(&context), &defaults, 23, &scrubber()));
}

fn printed(x: f64) -> usize {
    serde_json::to_string(&Number::from_f64(x).unwrap())
        .unwrap()
        .len()
}

#[test]
fn the_longest_numbers_fit_max_number_len() {
    for x in [
        -2.2250738585072014e-308,
        -1.7976931348623157e308,
        -5e-324,
        -1.2345678901234567e-100,
    ] {
        assert!(printed(x) <= MAX_NUMBER_LEN, "{x}");
    }
    assert_eq!(printed(-2.2250738585072014e-308), MAX_NUMBER_LEN);
    assert!(serde_json::to_string(&json!(i64::MIN)).unwrap().len() <= MAX_NUMBER_LEN);
    assert!(serde_json::to_string(&json!(u64::MAX)).unwrap().len() <= MAX_NUMBER_LEN);
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter_map("finite", Number::from_f64)
            .prop_map(Value::Number),
        prop_oneof![
            Just("[Filtered]".to_owned()),
            Just("jane@example.com".to_owned()),
            "[\"\\\\\n\t\u{1}a-z é]{0,24}",
        ]
        .prop_map(Value::String),
    ];
    let key = prop_oneof![
        Just("password".to_owned()),
        Just("authToken".to_owned()),
        Just("bob@example.org".to_owned()),
        "[a-z_\"]{0,12}",
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

proptest! {
    /// The promise: "as given" is never said of a context that processing
    /// would change (the reader's part is the extension's, tested there).
    #[test]
    fn as_given_is_never_wrong(
        members in prop::collection::vec(("[a-z@.]{0,10}", json_value()), 0..6),
        context_bytes in 2usize..600,
        context_depth in 0usize..5,
    ) {
        let members: Map<String, Value> = members.into_iter().collect();
        let context = Value::Object(members.clone());
        let limits = limits(context_bytes, context_depth);
        if as_given(&context, &limits) {
            let (processed, report, kept) =
                bounded_json(members, JsonLimitReport::default(), &limits, &scrubber());
            prop_assert!(kept);
            prop_assert_eq!(report, JsonLimitReport::default());
            prop_assert_eq!(processed, context);
        }
    }

    #[test]
    fn no_finite_number_prints_longer_than_max_number_len(x in any::<f64>()) {
        if let Some(number) = Number::from_f64(x) {
            prop_assert!(serde_json::to_string(&number).unwrap().len() <= MAX_NUMBER_LEN);
        }
    }
}
