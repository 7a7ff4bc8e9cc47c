//! Grouping: which issue an event belongs to.
//!
//! Precedence follows Sentry: an explicit fingerprint, then the stack trace,
//! then exception type plus the normalized message. A stack yields two
//! hashes, one over the in-app frames and one over all frames; an event joins
//! the issue of whichever hash is already known. That keeps an issue together
//! when a frame changes side (a vendored file becomes in-app, a dependency is
//! inlined), which a single hash would split.

use md5::{Digest, Md5};

use crate::normalize::normalize_message;
use crate::stack::{Frame, Stack, StackFormat};

/// Frames beyond this are dropped from the middle: deep recursion or
/// framework plumbing must not make every event its own issue.
pub const MAX_GROUPING_FRAMES: usize = 50;

#[derive(Debug, Clone, Copy)]
pub struct GroupingInput<'a> {
    pub message: &'a str,
    pub exception_type: Option<&'a str>,
    pub stack: Option<&'a Stack>,
    pub fingerprint: Option<&'a [String]>,
}

/// What grouping was based on, stored with each issue so analysts can see
/// why two events did or did not group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupingBasis {
    Custom,
    Stack,
    Message,
}

impl GroupingBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupingBasis::Custom => "custom",
            GroupingBasis::Stack => "stack",
            GroupingBasis::Message => "message",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    pub basis: GroupingBasis,
    /// Hex MD5 hashes, most specific first; the first names a new issue.
    pub hashes: Vec<String>,
}

impl Grouping {
    pub fn primary(&self) -> &str {
        &self.hashes[0]
    }
}

/// Computes the grouping hashes of an event.
pub fn group(input: GroupingInput<'_>) -> Grouping {
    let defaults = default_variants(&input);
    let custom = input
        .fingerprint
        .filter(|parts| parts.iter().any(|p| !p.trim().is_empty()));
    let (basis, variants) = match custom {
        Some(parts) => (
            GroupingBasis::Custom,
            custom_variants(parts, &input, &defaults.1),
        ),
        None => defaults,
    };
    let mut hashes: Vec<String> = variants.iter().map(|v| hash(v)).collect();
    hashes.dedup();
    Grouping { basis, hashes }
}

fn default_variants(input: &GroupingInput<'_>) -> (GroupingBasis, Vec<Vec<String>>) {
    let exception_type = effective_type(input);
    if let Some(stack) = input.stack.filter(|s| !s.frames.is_empty()) {
        let type_component = format!("type:{}", exception_type.unwrap_or(""));
        let in_app: Vec<&Frame> = stack.frames.iter().filter(|f| f.in_app).collect();
        let all: Vec<&Frame> = stack.frames.iter().collect();
        // A PL/pgSQL frame names a function and a statement kind, not a code
        // location: one INSERT can violate either of two constraints, which
        // only the message tells apart. Its normalized form joins the stack.
        let message_component = (stack.format == StackFormat::PlPgSql)
            .then(|| normalize_message(input.message.trim()).into_owned());
        let mut variants = Vec::with_capacity(2);
        for frames in [in_app, all] {
            if frames.is_empty() {
                continue;
            }
            let mut components = vec!["stack".to_owned(), type_component.clone()];
            components.extend(message_component.clone());
            components.extend(frame_components(&frames));
            variants.push(components);
        }
        return (GroupingBasis::Stack, variants);
    }
    let components = vec![
        "message".to_owned(),
        format!("type:{}", exception_type.unwrap_or("")),
        normalize_message(input.message.trim()).into_owned(),
    ];
    (GroupingBasis::Message, vec![components])
}

fn effective_type<'a>(input: &GroupingInput<'a>) -> Option<&'a str> {
    input
        .exception_type
        .or_else(|| input.stack.and_then(|s| s.exception_type.as_deref()))
}

/// Grouping keys without immediate recursion, trimmed from the middle.
fn frame_components(frames: &[&Frame]) -> Vec<String> {
    let mut keys: Vec<String> = frames.iter().map(|f| f.grouping_key()).collect();
    keys.dedup();
    if keys.len() > MAX_GROUPING_FRAMES {
        let half = MAX_GROUPING_FRAMES / 2;
        keys.drain(half..keys.len() - half);
    }
    keys
}

/// Sentry's fingerprint semantics: each element is a literal value or a
/// variable; `{{ default }}` stands for the default grouping, so a custom
/// fingerprint can split an issue further without replacing its grouping.
fn custom_variants(
    parts: &[String],
    input: &GroupingInput<'_>,
    defaults: &[Vec<String>],
) -> Vec<Vec<String>> {
    let has_default = parts.iter().any(|p| variable(p) == Some("default"));
    let expand = |default: Option<&Vec<String>>| -> Vec<String> {
        let mut out = vec!["custom".to_owned()];
        for part in parts {
            match variable(part) {
                Some("default") => out.extend(default.into_iter().flatten().cloned()),
                Some("type" | "error.type") => {
                    out.push(effective_type(input).unwrap_or("<no-type>").to_owned())
                }
                Some("message" | "error.value") => {
                    out.push(normalize_message(input.message.trim()).into_owned())
                }
                Some("function") => out.push(top_frame(input, |f| f.function.clone())),
                Some("module") => out.push(top_frame(input, |f| {
                    f.module.clone().or_else(|| f.filename.clone())
                })),
                _ => out.push(part.clone()),
            }
        }
        out
    };
    if has_default {
        defaults.iter().map(|d| expand(Some(d))).collect()
    } else {
        vec![expand(None)]
    }
}

/// The name inside `{{ name }}`, if the whole element is a variable.
fn variable(part: &str) -> Option<&str> {
    part.trim()
        .strip_prefix("{{")?
        .strip_suffix("}}")
        .map(str::trim)
}

fn top_frame(input: &GroupingInput<'_>, pick: impl Fn(&Frame) -> Option<String>) -> String {
    input
        .stack
        .and_then(|s| s.frames.iter().find(|f| f.in_app).or(s.frames.first()))
        .and_then(pick)
        .unwrap_or_else(|| "<no-frame>".to_owned())
}

fn hash(components: &[String]) -> String {
    let mut md5 = Md5::new();
    for component in components {
        md5.update(component.as_bytes());
        md5.update([0u8]);
    }
    md5.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str, module: &str, in_app: bool) -> Frame {
        Frame {
            function: Some(function.into()),
            module: Some(module.into()),
            filename: None,
            lineno: Some(1),
            colno: None,
            in_app,
        }
    }

    fn stack(frames: Vec<Frame>) -> Stack {
        Stack {
            format: StackFormat::V8,
            exception_type: Some("TypeError".into()),
            frames,
        }
    }

    fn message_input(message: &str) -> GroupingInput<'_> {
        GroupingInput {
            message,
            exception_type: None,
            stack: None,
            fingerprint: None,
        }
    }

    #[test]
    fn messages_differing_in_variables_group_together() {
        let a = group(message_input("Timeout after 3000ms for user 42"));
        let b = group(message_input("Timeout after 1500ms for user 7"));
        assert_eq!(a, b);
        assert_eq!(a.basis, GroupingBasis::Message);
        assert_eq!(a.primary().len(), 32);
        assert_ne!(a, group(message_input("Connection refused")));
    }

    #[test]
    fn exception_type_separates_equal_messages() {
        let mut input = message_input("boom");
        input.exception_type = Some("TypeError");
        let typed = group(input);
        input.exception_type = Some("RangeError");
        assert_ne!(typed, group(input));
    }

    #[test]
    fn stack_grouping_ignores_the_message_and_yields_app_and_system_hashes() {
        let s = stack(vec![
            frame("getUser", "users", true),
            frame("run", "express", false),
        ]);
        let mut input = message_input("user 1 not found");
        input.stack = Some(&s);
        let a = group(input);
        input.message = "a completely different message";
        assert_eq!(a, group(input));
        assert_eq!(a.basis, GroupingBasis::Stack);
        assert_eq!(a.hashes.len(), 2);
    }

    #[test]
    fn plpgsql_stacks_keep_the_message_apart() {
        let s = Stack {
            format: StackFormat::PlPgSql,
            exception_type: None,
            frames: vec![frame("open_account(integer,text)", "SQL statement", true)],
        };
        let group_of = |message| {
            group(GroupingInput {
                message,
                exception_type: Some("23505"),
                stack: Some(&s),
                fingerprint: None,
            })
        };
        let pkey = group_of("duplicate key value violates unique constraint \"accounts_pkey\"");
        let email =
            group_of("duplicate key value violates unique constraint \"accounts_email_key\"");
        assert_ne!(pkey, email);
        assert_eq!(pkey.basis, GroupingBasis::Stack);
    }

    #[test]
    fn system_hash_survives_a_frame_changing_sides() {
        let before = stack(vec![
            frame("getUser", "users", true),
            frame("run", "lib", false),
        ]);
        let after = stack(vec![
            frame("getUser", "users", true),
            frame("run", "lib", true),
        ]);
        let group_of = |s: &Stack| {
            group(GroupingInput {
                stack: Some(s),
                ..message_input("x")
            })
        };
        let (b, a) = (group_of(&before), group_of(&after));
        assert_ne!(b.primary(), a.primary());
        assert!(a.hashes.iter().any(|h| b.hashes.contains(h)));
    }

    #[test]
    fn all_in_app_frames_give_one_hash_and_recursion_collapses() {
        let flat = stack(vec![
            frame("walk", "tree", true),
            frame("main", "app", true),
        ]);
        let recursive = stack(vec![
            frame("walk", "tree", true),
            frame("walk", "tree", true),
            frame("walk", "tree", true),
            frame("main", "app", true),
        ]);
        let group_of = |s: &Stack| {
            group(GroupingInput {
                stack: Some(s),
                ..message_input("x")
            })
        };
        assert_eq!(group_of(&flat).hashes.len(), 1);
        assert_eq!(group_of(&flat), group_of(&recursive));
    }

    #[test]
    fn deep_stacks_are_trimmed_from_the_middle() {
        let deep = |middle: &str| {
            let mut frames = vec![frame("top", "app", true)];
            frames.extend((0..200).map(|i| frame(&format!("{middle}{i}"), "app", true)));
            frames.push(frame("main", "app", true));
            stack(frames)
        };
        let (a, b) = (deep("a"), deep("b"));
        let keys = |s: &Stack| frame_components(&s.frames.iter().collect::<Vec<_>>());
        let trimmed = keys(&a);
        assert_eq!(trimmed.len(), MAX_GROUPING_FRAMES);
        assert_eq!(trimmed[0], frame("top", "app", true).grouping_key());
        assert_eq!(
            trimmed[MAX_GROUPING_FRAMES - 1],
            frame("main", "app", true).grouping_key()
        );
        assert_ne!(trimmed, keys(&b));
    }

    #[test]
    fn custom_fingerprints_follow_sentry_semantics() {
        let parts = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let plain = parts(&["payment-gateway"]);
        let with_default = parts(&["{{ default }}", "eu"]);
        let by_type = parts(&["{{type}}"]);
        let input = |message, fingerprint: &'static [String]| GroupingInput {
            message,
            exception_type: Some("StripeError"),
            stack: None,
            fingerprint: Some(fingerprint),
        };
        let plain: &'static [String] = Box::leak(plain.into_boxed_slice());
        let with_default: &'static [String] = Box::leak(with_default.into_boxed_slice());
        let by_type: &'static [String] = Box::leak(by_type.into_boxed_slice());

        // A literal fingerprint replaces grouping: different messages merge.
        assert_eq!(
            group(input("card declined", plain)),
            group(input("network down", plain))
        );
        assert_eq!(group(input("x", plain)).basis, GroupingBasis::Custom);
        // {{ default }} keeps default grouping and refines it.
        assert_ne!(
            group(input("card declined", with_default)),
            group(input("network down", with_default))
        );
        let default_only = group(GroupingInput {
            fingerprint: None,
            ..input("card declined", plain)
        });
        assert_ne!(group(input("card declined", with_default)), default_only);
        // Variables expand.
        assert_eq!(group(input("a", by_type)), group(input("b", by_type)));
        // An empty array means "no custom fingerprint".
        let empty: &'static [String] = &[];
        assert_eq!(group(input("a", empty)).basis, GroupingBasis::Message);
    }

    #[test]
    fn custom_default_over_a_stack_keeps_both_variants() {
        let s = stack(vec![
            frame("getUser", "users", true),
            frame("run", "lib", false),
        ]);
        let parts = vec!["{{ default }}".to_owned(), "tenant-a".to_owned()];
        let g = group(GroupingInput {
            message: "x",
            exception_type: None,
            stack: Some(&s),
            fingerprint: Some(&parts),
        });
        assert_eq!(g.basis, GroupingBasis::Custom);
        assert_eq!(g.hashes.len(), 2);
    }
}
