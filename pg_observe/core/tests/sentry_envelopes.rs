//! Envelopes the real Python sentry-sdk (2.75) sent, captured from
//! supabase/functions/tests/sentry/shop.py: framed, mapped, and grouped the
//! way the same error's printed traceback is.

use pg_observe_core::fingerprint::{group, GroupingInput};
use pg_observe_core::sentry::{event_from_sentry, parse_envelope};
use pg_observe_core::stack;
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/sentry/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn event(name: &str) -> pg_observe_core::sentry::SdkEvent {
    let bytes = fixture(name);
    let envelope = parse_envelope(&bytes).unwrap();
    let item = envelope
        .items
        .iter()
        .find(|i| i.kind == "event")
        .expect("an event item");
    let value: Value = serde_json::from_slice(item.payload).unwrap();
    event_from_sentry(&value).unwrap()
}

#[test]
fn a_captured_message() {
    let event = event("python_message.envelope").input;
    assert_eq!(event.message, "Payment provider timeout after 3000ms");
    assert_eq!(event.level, pg_observe_core::event::Level::Info);
    assert_eq!(event.user_ref.as_deref(), Some("user-42"));
    assert!(event.frames.is_none());
    // sentry.python.django: Django is installed (Bugsink brings it), so the SDK says so.
    assert!(event.context["sentry"]["sdk"]["name"]
        .as_str()
        .unwrap()
        .starts_with("sentry.python"));
}

#[test]
fn a_handled_exception_groups_like_its_printed_traceback() {
    let sdk = event("python_handled_exception.envelope");
    assert_eq!(
        sdk.event_id.unwrap().simple().to_string(),
        "63bb04a897324d618ed3fbc47f67924a"
    );
    let input = sdk.input;
    assert_eq!(
        input.exception_type.as_deref(),
        Some("payments.PaymentError")
    );
    assert_eq!(input.unhandled, Some(false));
    let frames = input.frames.as_ref().unwrap();
    let functions: Vec<_> = frames
        .frames
        .iter()
        .map(|f| f.function.clone().unwrap())
        .collect();
    assert_eq!(functions, ["authorize", "charge", "errors"]);
    // What traceback.format_exc() printed for the same exception.
    let printed = "Traceback (most recent call last):
  File \"/elsewhere/shop.py\", line 33, in errors
    charge(order_id=42)
  File \"/elsewhere/payments.py\", line 9, in charge
    authorize(order_id)
  File \"/elsewhere/payments.py\", line 13, in authorize
    raise PaymentError(f\"card declined for order {order_id}\")
payments.PaymentError: card declined for order 42";
    let parsed = stack::parse(printed).unwrap();
    let from_sdk = group(GroupingInput {
        message: &input.message,
        exception_type: input.exception_type.as_deref(),
        stack: Some(frames),
        fingerprint: None,
    });
    let from_text = group(GroupingInput {
        message: "card declined for order 42",
        exception_type: None,
        stack: Some(&parsed),
        fingerprint: None,
    });
    assert_eq!(from_sdk, from_text);
}

#[test]
fn an_unhandled_exception() {
    let input = event("python_unhandled_exception.envelope").input;
    assert_eq!(input.exception_type.as_deref(), Some("RuntimeError"));
    assert_eq!(input.unhandled, Some(true));
    let breadcrumbs = input.context["sentry"]["breadcrumbs"].as_array().unwrap();
    assert!(breadcrumbs.iter().any(|b| b["category"] == "auth"));
}

#[test]
fn a_captured_envelope_cut_short_is_refused_not_misread() {
    let bytes = fixture("python_handled_exception.envelope");
    // The last byte is the payload's closing newline, which may be missing.
    for cut in [bytes.len() - 2, bytes.len() / 2, bytes.len() / 4] {
        let error = parse_envelope(&bytes[..cut]).unwrap_err().to_string();
        assert!(error.contains("says 3733 bytes"), "cut at {cut}: {error}");
    }
}
