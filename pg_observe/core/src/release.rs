//! Release ordering, for "resolved in release X": only an event from a
//! release *newer* than X is a regression.
//!
//! Versions are compared as semantic versions when both sides parse as one
//! (`1.4.2`, `v2.0.0-rc.1`, `api@1.4.2+build.7`); anything else (git SHAs,
//! build numbers, date tags) is ordered by when the release was first seen,
//! which is how Sentry orders releases it cannot parse.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

/// A release as a semantic version: the package it names (`api` in
/// `api@1.4.2`) and the version itself. The lenient front (a `pkg@` prefix,
/// a `v`, one or two components standing for `x.y.0`) is ours; the version
/// grammar and its precedence are the `semver` crate's.
struct Release<'a> {
    package: Option<&'a str>,
    version: semver::Version,
}

fn parse(release: &str) -> Option<Release<'_>> {
    let (package, version) = match release.rsplit_once('@') {
        Some((package, version)) if !package.is_empty() => (Some(package), version),
        _ => (None, release),
    };
    let version = version.strip_prefix(['v', 'V']).unwrap_or(version);
    let end = version.find(['-', '+']).unwrap_or(version.len());
    let (core, suffix) = version.split_at(end);
    // A bare integer is a build number, not a version: order it by time.
    let padding = match core.split('.').count() {
        2 => ".0",
        3 => "",
        _ => return None,
    };
    let version = semver::Version::parse(&format!("{core}{padding}{suffix}")).ok()?;
    Some(Release { package, version })
}

/// Semantic-version ordering of two releases (SemVer precedence: build
/// metadata does not count), `None` when either does not parse or they
/// name different packages.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (parse(a)?, parse(b)?);
    if a.package != b.package {
        return None;
    }
    Some(a.version.cmp_precedence(&b.version))
}

/// When each release was first seen; `None` for a release never seen.
#[derive(Debug, Clone, Copy)]
pub struct FirstSeen {
    pub candidate: Option<DateTime<Utc>>,
    pub baseline: Option<DateTime<Utc>>,
}

/// Whether `candidate` is a newer release than `baseline`. A baseline never
/// seen is one the issue was resolved "in the next release" of: any release
/// first seen after the resolution counts as newer. `first_seen` is only
/// called when the versions do not compare semantically.
pub fn is_newer(
    candidate: &str,
    baseline: &str,
    resolved_at: DateTime<Utc>,
    first_seen: impl FnOnce() -> FirstSeen,
) -> bool {
    if candidate == baseline {
        return false;
    }
    if let Some(order) = compare(candidate, baseline) {
        return order == Ordering::Greater;
    }
    let first_seen = first_seen();
    match (first_seen.candidate, first_seen.baseline) {
        (Some(c), Some(b)) => c > b,
        (Some(c), None) => c > resolved_at,
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_ordering_table() {
        let table = [
            ("1.2.3", "1.2.4", Some(Ordering::Less)),
            ("1.10.0", "1.9.9", Some(Ordering::Greater)),
            ("v2.0.0", "2.0.0", Some(Ordering::Equal)),
            ("2.0.0-rc.1", "2.0.0", Some(Ordering::Less)),
            ("2.0.0-rc.2", "2.0.0-rc.10", Some(Ordering::Less)),
            ("2.0.0-alpha", "2.0.0-1", Some(Ordering::Greater)),
            ("2.0.0-alpha", "2.0.0-alpha.1", Some(Ordering::Less)),
            (
                "api@1.4.2+build.7",
                "api@1.4.2+build.9",
                Some(Ordering::Equal),
            ),
            ("api@1.5", "api@1.4.9", Some(Ordering::Greater)),
            ("api@1.5.0", "web@1.4.0", None),
            ("a1b2c3d", "1.0.0", None),
            ("42", "43", None),
            ("1.2.3.4", "1.2.3", None),
            ("1.2.3-", "1.2.3", None),
        ];
        for (a, b, expected) in table {
            assert_eq!(compare(a, b), expected, "{a} vs {b}");
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn newer_by_semver_then_by_first_seen() {
        let unseen = FirstSeen {
            candidate: None,
            baseline: None,
        };
        assert!(is_newer("1.0.1", "1.0.0", at(0), || panic!(
            "semver needs no lookup"
        )));
        assert!(!is_newer("0.9.0", "1.0.0", at(0), || unseen));
        assert!(!is_newer("1.0.0", "1.0.0", at(0), || unseen));

        let seen = |c: i64, b: Option<i64>| FirstSeen {
            candidate: Some(at(c)),
            baseline: b.map(at),
        };
        assert!(is_newer("def456", "abc123", at(150), || seen(
            200,
            Some(100)
        )));
        assert!(!is_newer("def456", "abc123", at(150), || seen(
            50,
            Some(100)
        )));
        // Resolved in a release not deployed yet: later releases count.
        assert!(is_newer("def456", "abc123", at(150), || seen(200, None)));
        assert!(!is_newer("def456", "abc123", at(150), || seen(100, None)));
        assert!(!is_newer("def456", "abc123", at(150), || unseen));
    }
}
