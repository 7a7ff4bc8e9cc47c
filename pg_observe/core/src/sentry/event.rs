//! A Sentry v7 event (develop.sentry.dev, "Event Payloads") as an
//! [`EventInput`]. What has a field of its own goes there; what Sentry knows
//! and pg_observe has no column for is kept in the event's context under
//! `sentry` (the SDK's `extra` under `extra`), in order of use, so that the
//! context limit, if reached, cuts the least useful part:
//!
//! `context.sentry`: `platform`, `sdk` {name, version}, `exception` (the
//! chain, oldest first, each with its mechanism and frames as sent),
//! `breadcrumbs` (the last 100), `contexts`, `user`, `logentry`, `tags`
//! that are not pg_observe tags (longer, or more than 50), then every other
//! member of the event as sent (`dist`, `server_name`, `transaction`,
//! `modules`, `threads`, …).
//!
//! Nothing is scrubbed here: the capture pipeline scrubs, bounds and groups
//! the result like any event. This only removes what is a credential by
//! construction (cookie values, the user's IP address), before anything else
//! sees it.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use sentry_types::protocol::v7::Exception;
use serde_json::{Map, Value};

use crate::event::{EventError, EventInput, Level};
use crate::scrub::FILTERED;
use crate::stack::{self, Stack, StackFormat};

/// Breadcrumbs kept per event, the latest; SDKs keep 100 by default.
pub const MAX_BREADCRUMBS: usize = 100;

/// Members mapped onto fields of their own, or read into `context.sentry`
/// in the order above; every other member follows as sent.
const MAPPED: &[&str] = &[
    "event_id",
    "timestamp",
    "level",
    "platform",
    "release",
    "environment",
    "message",
    "logentry",
    "exception",
    "fingerprint",
    "tags",
    "extra",
    "user",
    "request",
    "contexts",
    "breadcrumbs",
    "sdk",
];

/// An SDK's event, ready for capture.
#[derive(Debug, Clone, PartialEq)]
pub struct SdkEvent {
    /// The SDK's id for the event (`event_id`), by which a resend is known.
    pub event_id: Option<uuid::Uuid>,
    pub input: EventInput,
}

pub fn event_from_sentry(value: &Value) -> Result<SdkEvent, EventError> {
    let event = value
        .as_object()
        .ok_or_else(|| EventError::wrong_type("event", "an object", value))?;
    let get = |name: &str| event.get(name).filter(|v| !v.is_null());
    let string = |name: &str| -> Result<Option<String>, EventError> {
        match get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(EventError::wrong_type(name, "a string", other)),
        }
    };

    let event_id = string("event_id")?
        .map(|id| {
            uuid::Uuid::try_parse(&id)
                .map_err(|_| EventError::invalid("event_id", "must be a UUID (32 hex digits)"))
        })
        .transpose()?;
    let platform = string("platform")?.unwrap_or_else(|| "other".to_owned());
    let exceptions = exceptions(get("exception"))?;
    let logentry = logentry(get("logentry").or(get("message")))?;

    let outermost = exceptions.last();
    let message = outermost
        .and_then(|e| e.typed.value.clone())
        .filter(|v| !v.trim().is_empty())
        .or_else(|| logentry.as_ref().map(|l| l.formatted.clone()))
        .or_else(|| outermost.map(|e| e.typed.ty.clone()))
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| "<unlabeled event>".to_owned());
    let mut input = EventInput::new(message);
    input.level = match string("level")? {
        Some(level) => level_of(&level)?,
        None => Level::Error,
    };
    input.release = string("release")?;
    input.environment = string("environment")?;
    input.occurred_at = timestamp(get("timestamp"))?;
    input.fingerprint = fingerprint(get("fingerprint"))?;
    if let Some(outermost) = outermost {
        input.exception_type = qualified_type(&platform, &outermost.typed);
        input.unhandled = outermost
            .typed
            .mechanism
            .as_ref()
            .and_then(|m| m.handled)
            .map(|handled| !handled);
        let rendered: Vec<(Option<Stack>, String)> = exceptions
            .iter()
            .map(|e| {
                let ty = qualified_type(&platform, &e.typed);
                let frames = e.typed.stacktrace.as_ref().map_or(&[][..], |s| &s.frames);
                let header = match (&ty, &e.typed.value) {
                    (Some(ty), Some(value)) => format!("{ty}: {value}"),
                    (Some(ty), None) => ty.clone(),
                    (None, value) => value.clone().unwrap_or_default(),
                };
                (stack::from_sentry(&platform, ty, frames), header)
            })
            .collect();
        input.stack = render_chain(&rendered);
        input.frames = rendered.into_iter().last().and_then(|(stack, _)| stack);
    }

    let mut sentry = Map::new();
    sentry.insert("platform".into(), Value::String(platform.clone()));
    if let Some(sdk) = get("sdk").and_then(Value::as_object) {
        let pick: Map<String, Value> = ["name", "version"]
            .iter()
            .filter_map(|k| sdk.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect();
        sentry.insert("sdk".into(), Value::Object(pick));
    }
    if !exceptions.is_empty() {
        let chain = exceptions.iter().map(|e| e.raw.clone()).collect();
        sentry.insert("exception".into(), Value::Array(chain));
    }
    if let Some(crumbs) = breadcrumbs(get("breadcrumbs"))? {
        sentry.insert("breadcrumbs".into(), crumbs);
    }
    if let Some(contexts) = get("contexts") {
        sentry.insert("contexts".into(), contexts.clone());
    }
    if let Some(user) = get("user") {
        let (user_ref, stored) = user_of(user)?;
        input.user_ref = user_ref;
        sentry.insert("user".into(), stored);
    }
    if let Some(logentry) = &logentry {
        sentry.insert("logentry".into(), logentry.raw.clone());
    }
    let (tags, other_tags) = tags(get("tags"))?;
    input.tags = tags;
    if !other_tags.is_empty() {
        sentry.insert("tags".into(), Value::Object(other_tags));
    }
    for (name, value) in event {
        if !MAPPED.contains(&name.as_str()) && !value.is_null() {
            sentry.insert(name.clone(), value.clone());
        }
    }
    for tag in ["dist", "server_name"] {
        if let Some(Value::String(value)) = sentry.get(tag) {
            if !value.is_empty()
                && value.chars().count() <= 200
                && !value.contains(char::is_control)
            {
                input
                    .tags
                    .entry(tag.to_owned())
                    .or_insert_with(|| value.clone());
            }
        }
    }
    if let Some(extra) = get("extra") {
        let extra = extra
            .as_object()
            .ok_or_else(|| EventError::wrong_type("extra", "an object", extra))?;
        input
            .context
            .insert("extra".into(), Value::Object(extra.clone()));
    }
    input.context.insert("sentry".into(), Value::Object(sentry));
    if let Some(request) = get("request") {
        input.request = request_of(request)?;
    }
    input.validate()?;
    Ok(SdkEvent { event_id, input })
}

/// One exception as Sentry's model reads it, and as sent.
struct SdkException {
    typed: Exception,
    raw: Value,
}

/// `exception` is `{"values": [...]}`, or the bare list older SDKs send;
/// oldest first, so the last is the one that escaped.
fn exceptions(value: Option<&Value>) -> Result<Vec<SdkException>, EventError> {
    let values = match value {
        None => return Ok(Vec::new()),
        Some(Value::Object(o)) => o.get("values").cloned().unwrap_or(Value::Array(vec![])),
        Some(list @ Value::Array(_)) => list.clone(),
        Some(other) => {
            return Err(EventError::wrong_type(
                "exception",
                "an object with \"values\"",
                other,
            ))
        }
    };
    let Value::Array(values) = values else {
        return Err(EventError::wrong_type(
            "exception.values",
            "an array",
            &values,
        ));
    };
    values
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let mut value = raw.clone();
            // The protocol asks for a type or a value; Sentry's model wants a type.
            if let Value::Object(o) = &mut value {
                if o.get("type").is_none_or(Value::is_null) {
                    o.insert("type".into(), Value::String(String::new()));
                }
            }
            let typed: Exception = serde_json::from_value(value).map_err(|e| {
                EventError::invalid(
                    &format!("exception.values[{i}]"),
                    format!("is not a Sentry exception: {e}"),
                )
            })?;
            Ok(SdkException { typed, raw })
        })
        .collect()
}

/// The exception's type as its runtime prints it: Python prints a class
/// outside `builtins` and `__main__` with its module (`app.errors.PaymentError`),
/// which is what a traceback logged as text gives grouping.
fn qualified_type(platform: &str, exception: &Exception) -> Option<String> {
    let ty = exception.ty.trim();
    if ty.is_empty() {
        return None;
    }
    Some(match exception.module.as_deref() {
        Some(module)
            if platform == "python"
                && !matches!(module, "" | "builtins" | "__main__" | "exceptions") =>
        {
            format!("{module}.{ty}")
        }
        _ => ty.to_owned(),
    })
}

/// The exceptions' stacks as their runtime prints a chain: Python, oldest
/// first, each "the direct cause of" the next; elsewhere the one that
/// escaped, then its causes (Node's `[cause]:`). Either way the text parser
/// reads the escaped exception's frames from it.
fn render_chain(chain: &[(Option<Stack>, String)]) -> Option<String> {
    let render = |(stack, header): &(Option<Stack>, String)| match stack {
        Some(stack) => stack::render(stack, header),
        None => header.clone(),
    };
    let python = chain
        .iter()
        .any(|(s, _)| s.as_ref().is_some_and(|s| s.format == StackFormat::Python));
    let text =
        if python {
            chain.iter().map(render).collect::<Vec<_>>().join(
                "\n\nThe above exception was the direct cause of the following exception:\n\n",
            )
        } else {
            let mut parts: Vec<String> = chain.iter().rev().map(render).collect();
            for cause in parts.iter_mut().skip(1) {
                *cause = format!("[cause]: {cause}");
            }
            parts.join("\n")
        };
    chain.iter().any(|(s, _)| s.is_some()).then_some(text)
}

struct LogEntry {
    formatted: String,
    raw: Value,
}

/// `logentry` (or the older `message`): a string, or `{message, params,
/// formatted}` where `message` is a `%s` or `{0}` template.
fn logentry(value: Option<&Value>) -> Result<Option<LogEntry>, EventError> {
    let entry = match value {
        None => return Ok(None),
        Some(Value::String(s)) => {
            return Ok(Some(LogEntry {
                formatted: s.clone(),
                raw: Value::String(s.clone()),
            }))
        }
        Some(Value::Object(o)) => o,
        Some(other) => {
            return Err(EventError::wrong_type(
                "logentry",
                "a string or an object",
                other,
            ))
        }
    };
    let text = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_owned);
    let params: Vec<String> = match entry.get("params") {
        Some(Value::Array(params)) => params.iter().map(display).collect(),
        _ => Vec::new(),
    };
    let formatted = text("formatted")
        .or_else(|| text("message").map(|template| format_template(&template, &params)));
    Ok(formatted.map(|formatted| LogEntry {
        formatted,
        raw: Value::Object(entry.clone()),
    }))
}

/// `%s`-style (`%s %d %i %f %r`, `%%`) or positional `{0}` placeholders.
fn format_template(template: &str, params: &[String]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut next = params.iter();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().copied()) {
            ('%', Some('%')) => {
                chars.next();
                out.push('%');
            }
            ('%', Some('s' | 'd' | 'i' | 'f' | 'r')) => {
                chars.next();
                match next.next() {
                    Some(param) => out.push_str(param),
                    None => out.push_str("%s"),
                }
            }
            _ => out.push(c),
        }
    }
    for (i, param) in params.iter().enumerate() {
        out = out.replace(&format!("{{{i}}}"), param);
    }
    out
}

fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Sentry's levels, and the names SDKs and logging libraries also send.
fn level_of(level: &str) -> Result<Level, EventError> {
    Ok(match level.to_ascii_lowercase().as_str() {
        "debug" | "trace" => Level::Debug,
        "info" | "log" | "notice" => Level::Info,
        "warning" | "warn" => Level::Warning,
        "error" => Level::Error,
        "fatal" | "critical" => Level::Fatal,
        _ => return Err(EventError::invalid_level(level)),
    })
}

/// RFC 3339 (the Python SDK's form, sometimes without a zone: UTC) or
/// seconds since the epoch (the browser SDK's).
fn timestamp(value: Option<&Value>) -> Result<Option<DateTime<Utc>>, EventError> {
    let invalid =
        || EventError::invalid("timestamp", "must be RFC 3339 or seconds since the epoch");
    match value {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|s| s.is_finite())
            .and_then(|s| DateTime::from_timestamp_micros((s * 1e6).round() as i64))
            .map(Some)
            .ok_or_else(invalid),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .or_else(|_| {
                NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
            })
            .map(Some)
            .map_err(|_| invalid()),
        Some(other) => Err(EventError::wrong_type("timestamp", "a timestamp", other)),
    }
}

fn fingerprint(value: Option<&Value>) -> Result<Option<Vec<String>>, EventError> {
    match value {
        None => Ok(None),
        Some(Value::Array(parts)) => Ok(Some(parts.iter().map(display).collect())),
        Some(other) => Err(EventError::wrong_type(
            "fingerprint",
            "an array of strings",
            other,
        )),
    }
}

/// Tags pg_observe keeps as tags, and the others as sent.
type SplitTags = (BTreeMap<String, String>, Map<String, Value>);

/// `tags` as an object or a list of pairs. Tags pg_observe's rules take
/// (`event::validate`) become tags; the others are kept as sent.
fn tags(value: Option<&Value>) -> Result<SplitTags, EventError> {
    let pairs: Vec<(String, Value)> = match value {
        None => Vec::new(),
        Some(Value::Object(o)) => o.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|pair| match pair.as_array().map(Vec::as_slice) {
                Some([Value::String(k), v]) => Some((k.clone(), v.clone())),
                _ => None,
            })
            .collect(),
        Some(other) => {
            return Err(EventError::wrong_type(
                "tags",
                "an object or a list of pairs",
                other,
            ))
        }
    };
    let mut kept = BTreeMap::new();
    let mut other = Map::new();
    for (key, value) in pairs {
        let text = display(&value);
        let fits = kept.len() < crate::event::MAX_TAGS
            && !key.is_empty()
            && key.len() <= crate::event::MAX_TAG_KEY
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
            && text.chars().count() <= crate::event::MAX_TAG_VALUE
            && !text.contains(char::is_control);
        if fits {
            kept.insert(key, text);
        } else {
            other.insert(key, value);
        }
    }
    Ok((kept, other))
}

/// The last `MAX_BREADCRUMBS` breadcrumbs, as sent (`{"values": [...]}` or
/// a bare list).
fn breadcrumbs(value: Option<&Value>) -> Result<Option<Value>, EventError> {
    let list = match value {
        None => return Ok(None),
        Some(Value::Object(o)) => o.get("values").and_then(Value::as_array),
        Some(Value::Array(list)) => Some(list),
        Some(other) => {
            return Err(EventError::wrong_type(
                "breadcrumbs",
                "an object with \"values\"",
                other,
            ))
        }
    };
    Ok(list.map(|list| Value::Array(list[list.len().saturating_sub(MAX_BREADCRUMBS)..].to_vec())))
}

/// The user reference (id, else e-mail, username or IP: the first given,
/// which capture hashes and scrubs like any `user_ref`) and the user as
/// stored, its IP address filtered.
fn user_of(user: &Value) -> Result<(Option<String>, Value), EventError> {
    let Value::Object(user) = user else {
        return Err(EventError::wrong_type("user", "an object", user));
    };
    let field = |name: &str| {
        user.get(name)
            .filter(|v| v.is_string() || v.is_number())
            .map(display)
            .filter(|s| !s.trim().is_empty())
    };
    let user_ref = ["id", "email", "username", "ip_address"]
        .iter()
        .find_map(|name| field(name));
    let mut stored = user.clone();
    if stored.get("ip_address").is_some_and(|ip| !ip.is_null()) {
        stored.insert("ip_address".into(), Value::String(FILTERED.into()));
    }
    Ok((user_ref, Value::Object(stored)))
}

/// The request as sent, with every cookie value filtered (cookies are
/// sessions), and its user agent where pg_observe's requests keep it.
fn request_of(request: &Value) -> Result<Map<String, Value>, EventError> {
    let Value::Object(request) = request else {
        return Err(EventError::wrong_type("request", "an object", request));
    };
    let mut out = request.clone();
    if let Some(cookies) = out.get_mut("cookies") {
        *cookies = match cookies {
            Value::Object(o) => Value::Object(
                o.keys()
                    .map(|k| (k.clone(), Value::String(FILTERED.into())))
                    .collect(),
            ),
            Value::Null => Value::Null,
            _ => Value::String(FILTERED.into()),
        };
    }
    let mut user_agent = None;
    if let Some(headers) = out.get_mut("headers") {
        let filter = |name: &str, value: &mut Value| {
            let name = name.to_ascii_lowercase();
            if name == "cookie" || name == "set-cookie" {
                *value = Value::String(FILTERED.into());
            }
        };
        match headers {
            Value::Object(o) => {
                for (name, value) in o.iter_mut() {
                    filter(name, value);
                    if name.eq_ignore_ascii_case("user-agent") {
                        user_agent = value.as_str().map(str::to_owned);
                    }
                }
            }
            Value::Array(pairs) => {
                for pair in pairs.iter_mut() {
                    if let Some([Value::String(name), value]) =
                        pair.as_array_mut().map(Vec::as_mut_slice)
                    {
                        filter(name, value);
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(agent) = user_agent {
        out.entry("user_agent").or_insert(Value::String(agent));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(value: Value) -> SdkEvent {
        event_from_sentry(&value).expect("a valid event")
    }

    #[test]
    fn an_exception_with_frames_maps_onto_every_field() {
        let event = map(json!({
            "event_id": "9ec79c33ec9942ab8353589fcb2e04dc",
            "timestamp": "2024-05-06T07:08:09.123456Z",
            "platform": "python",
            "level": "error",
            "release": "shop@2.4.0",
            "environment": "production",
            "server_name": "web-1",
            "dist": "42",
            "tags": {"plan": "pro"},
            "extra": {"order_id": 42},
            "user": {"id": 7, "email": "alice@example.com", "ip_address": "203.0.113.9"},
            "exception": {"values": [{
                "type": "PaymentError",
                "module": "shop.errors",
                "value": "card declined for order 42",
                "mechanism": {"type": "excepthook", "handled": false},
                "stacktrace": {"frames": [
                    {"filename": "shop/main.py", "abs_path": "/srv/shop/main.py", "module": "__main__",
                     "function": "<module>", "lineno": 3, "in_app": true},
                    {"filename": "shop/pay.py", "abs_path": "/srv/shop/pay.py", "module": "shop.pay",
                     "function": "charge", "lineno": 10, "in_app": true, "vars": {"amount": "12"}}
                ]}
            }]},
            "sdk": {"name": "sentry.python", "version": "2.19.0", "packages": []}
        }));
        assert_eq!(
            event.event_id.unwrap().simple().to_string(),
            "9ec79c33ec9942ab8353589fcb2e04dc"
        );
        let input = event.input;
        assert_eq!(input.message, "card declined for order 42");
        assert_eq!(
            input.exception_type.as_deref(),
            Some("shop.errors.PaymentError")
        );
        assert_eq!(input.unhandled, Some(true));
        assert_eq!(input.release.as_deref(), Some("shop@2.4.0"));
        assert_eq!(input.user_ref.as_deref(), Some("7"));
        assert_eq!(input.tags["plan"], "pro");
        assert_eq!(input.tags["server_name"], "web-1");
        assert_eq!(input.tags["dist"], "42");
        assert_eq!(input.occurred_at.unwrap().timestamp(), 1_714_979_289);
        let frames = input.frames.as_ref().unwrap();
        assert_eq!(frames.frames[0].function.as_deref(), Some("charge"));
        assert!(input
            .stack
            .as_deref()
            .unwrap()
            .ends_with("shop.errors.PaymentError: card declined for order 42"));
        let sentry = &input.context["sentry"];
        assert_eq!(
            sentry["sdk"],
            json!({"name": "sentry.python", "version": "2.19.0"})
        );
        assert_eq!(sentry["user"]["ip_address"], FILTERED);
        assert_eq!(
            sentry["exception"][0]["stacktrace"]["frames"][1]["vars"]["amount"],
            "12"
        );
        assert_eq!(input.context["extra"]["order_id"], 42);
        let keys: Vec<&String> = sentry.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "platform",
                "sdk",
                "exception",
                "user",
                "server_name",
                "dist"
            ]
        );
    }

    #[test]
    fn the_escaped_exception_is_the_issue_and_the_chain_is_kept() {
        let event = map(json!({
            "platform": "python",
            "exception": {"values": [
                {"type": "KeyError", "value": "'id'", "stacktrace": {"frames": [
                    {"abs_path": "/srv/a.py", "function": "lookup", "lineno": 1}]}},
                {"type": "ValueError", "value": "no user", "mechanism": {"type": "chained", "handled": true,
                  "source": "__context__", "exception_id": 1, "parent_id": 0},
                 "stacktrace": {"frames": [{"abs_path": "/srv/b.py", "function": "get_user", "lineno": 2}]}}
            ]}
        }));
        let input = event.input;
        assert_eq!(input.exception_type.as_deref(), Some("ValueError"));
        assert_eq!(input.unhandled, Some(false));
        assert_eq!(
            input.frames.unwrap().frames[0].function.as_deref(),
            Some("get_user")
        );
        let chain = &input.context["sentry"]["exception"];
        assert_eq!(chain[0]["type"], "KeyError");
        assert_eq!(chain[1]["mechanism"]["source"], "__context__");
        let stack = input.stack.unwrap();
        let printed = crate::stack::parse(&stack).unwrap();
        assert_eq!(printed.exception_type.as_deref(), Some("ValueError"));
        assert_eq!(printed.frames[0].function.as_deref(), Some("get_user"));
    }

    #[test]
    fn messages_logentries_and_levels() {
        let m = map(json!({"message": "plain", "level": "warning"})).input;
        assert_eq!((m.message.as_str(), m.level), ("plain", Level::Warning));
        let l = map(
            json!({"logentry": {"message": "user %s paid %d%%", "params": ["bob", 5]}, "level": "log"}),
        );
        assert_eq!(l.input.message, "user bob paid 5%");
        assert_eq!(l.input.level, Level::Info);
        let f = map(
            json!({"logentry": {"message": "x {0} {1}", "params": ["a", true], "formatted": "given"}}),
        );
        assert_eq!(f.input.message, "given");
        assert_eq!(
            format_template("x {0} {1}", &["a".into(), "b".into()]),
            "x a b"
        );
        assert_eq!(map(json!({"level": "critical"})).input.level, Level::Fatal);
        assert_eq!(map(json!({})).input.message, "<unlabeled event>");
        assert!(
            map(json!({"exception": {"values": [{"value": "no type"}]}}))
                .input
                .exception_type
                .is_none()
        );
    }

    #[test]
    fn javascript_events_from_the_browser_sdk() {
        let event = map(json!({
            "platform": "javascript",
            "timestamp": 1_714_979_289.5,
            "exception": {"values": [{"type": "TypeError", "value": "x is undefined",
                "mechanism": {"type": "onerror", "handled": false},
                "stacktrace": {"frames": [
                    {"filename": "http://127.0.0.1:8080/app.js", "function": "?", "lineno": 1, "colno": 1, "in_app": true},
                    {"filename": "http://127.0.0.1:8080/app.js", "function": "checkout", "lineno": 9, "colno": 5, "in_app": true}
                ]}}]},
            "breadcrumbs": {"values": (0..150).map(|i| json!({"category": "console", "level": "log",
                "message": format!("crumb {i}"), "timestamp": 1_714_979_200 + i})).collect::<Vec<_>>()},
            "request": {"url": "http://127.0.0.1:8080/checkout?token=abc",
                "headers": {"User-Agent": "Chromium", "Cookie": "sid=secret"}, "cookies": {"sid": "secret"}},
            "tags": [["browser", "Chrome"], ["a very long tag key that is not one of ours", "v"]]
        }));
        let input = event.input;
        assert_eq!(input.exception_type.as_deref(), Some("TypeError"));
        assert_eq!(
            input.occurred_at.unwrap().timestamp_millis(),
            1_714_979_289_500
        );
        let crumbs = input.context["sentry"]["breadcrumbs"].as_array().unwrap();
        assert_eq!(crumbs.len(), MAX_BREADCRUMBS);
        assert_eq!(crumbs[0]["message"], "crumb 50");
        assert_eq!(input.request["headers"]["Cookie"], FILTERED);
        assert_eq!(input.request["cookies"]["sid"], FILTERED);
        assert_eq!(input.request["user_agent"], "Chromium");
        assert_eq!(input.tags["browser"], "Chrome");
        assert_eq!(
            input.context["sentry"]["tags"]["a very long tag key that is not one of ours"],
            "v"
        );
        assert!(input.stack.unwrap().starts_with(
            "TypeError: x is undefined\n    at checkout (http://127.0.0.1:8080/app.js:9:5)"
        ));
    }

    #[test]
    fn malformed_events_name_the_field() {
        for (event, expected) in [
            (json!([]), "\"event\" must be an object"),
            (json!({"event_id": "nope"}), "\"event_id\" must be a UUID"),
            (json!({"level": "loud"}), "invalid level"),
            (
                json!({"timestamp": "yesterday"}),
                "\"timestamp\" must be RFC 3339",
            ),
            (
                json!({"exception": {"values": [{"type": "E", "stacktrace": {"frames": "x"}}]}}),
                "\"exception.values[0]\" is not a Sentry exception",
            ),
            (json!({"user": "bob"}), "\"user\" must be an object"),
            (json!({"release": "a\nb"}), "\"release\""),
        ] {
            let error = event_from_sentry(&event).unwrap_err().to_string();
            assert!(error.contains(expected), "{event}: {error}");
        }
    }
}
