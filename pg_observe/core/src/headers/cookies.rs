//! `Set-Cookie` attributes (RFC 6265bis), graded like the Observatory's
//! cookie test. Values are never read beyond their length, never reported.

use super::finding::{Finding, FindingId, Severity, Test};
use super::grade::TestResult;

/// Observatory cookie modifiers.
const SESSION_WITHOUT_SECURE: i32 = -40;
const SESSION_WITHOUT_SECURE_BUT_HSTS: i32 = -10;
const WITHOUT_SECURE: i32 = -20;
const WITHOUT_SECURE_BUT_HSTS: i32 = -5;
const SESSION_WITHOUT_HTTPONLY: i32 = -30;
const SAMESITE_INVALID: i32 = -20;
const ANTI_CSRF_WITHOUT_SAMESITE: i32 = -20;
/// `cookies-secure-with-httponly-sessions-and-samesite`.
const BONUS: i32 = 5;

/// Names longer than this are cut in messages.
const MAX_NAME_IN_MESSAGE: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    Strict,
    Lax,
    None,
    Invalid,
}

/// The attributes of one `Set-Cookie` value that grading looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie<'a> {
    pub name: &'a str,
    pub secure: bool,
    pub http_only: bool,
    pub same_site: Option<SameSite>,
    pub domain: bool,
    pub path: Option<&'a str>,
    /// `Max-Age` ≤ 0 or an `Expires` in 1970: the header deletes the cookie.
    pub deletes: bool,
}

impl<'a> SetCookie<'a> {
    /// `None` when the value sets nothing (empty name and value).
    pub fn parse(value: &'a str) -> Option<SetCookie<'a>> {
        let mut parts = value.split(';');
        let pair = parts.next().unwrap_or("");
        let (name, cookie_value) = pair.split_once('=').unwrap_or(("", pair));
        let name = name.trim();
        if name.is_empty() && cookie_value.trim().is_empty() {
            return None;
        }
        let mut cookie = SetCookie {
            name,
            secure: false,
            http_only: false,
            same_site: None,
            domain: false,
            path: None,
            deletes: false,
        };
        for attribute in parts {
            let (key, argument) = attribute.split_once('=').unwrap_or((attribute, ""));
            let (key, argument) = (key.trim(), argument.trim());
            match key.to_ascii_lowercase().as_str() {
                "secure" => cookie.secure = true,
                "httponly" => cookie.http_only = true,
                "samesite" => cookie.same_site = Some(same_site(argument)),
                "domain" => cookie.domain = !argument.is_empty(),
                "path" => cookie.path = Some(argument),
                "max-age" => {
                    cookie.deletes = argument.starts_with('-')
                        || (!argument.is_empty() && argument.bytes().all(|b| b == b'0'))
                }
                "expires" => cookie.deletes |= argument.contains("1970"),
                _ => {}
            }
        }
        Some(cookie)
    }

    /// Observatory's session-cookie test (name contains `sess` or `login`),
    /// plus `auth`, which catches `sb-…-auth-token` and its kind.
    pub fn looks_like_session(&self) -> bool {
        let name = self.name.to_ascii_lowercase();
        !self.looks_like_anti_csrf() && ["sess", "login", "auth"].iter().any(|w| name.contains(w))
    }

    /// Observatory's `csrf`, plus Angular's `XSRF-TOKEN`.
    pub fn looks_like_anti_csrf(&self) -> bool {
        let name = self.name.to_ascii_lowercase();
        name.contains("csrf") || name.contains("xsrf")
    }

    /// Browsers refuse `__Secure-` cookies without `Secure`, and `__Host-`
    /// cookies without `Secure`, with a `Domain`, or not on `Path=/`.
    fn prefix_broken(&self) -> Option<&'static str> {
        let starts = |prefix: &str| {
            self.name
                .get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        };
        if starts("__Host-") && (!self.secure || self.domain || self.path != Some("/")) {
            Some("__Host- cookies need Secure, Path=/ and no Domain")
        } else if starts("__Secure-") && !self.secure {
            Some("__Secure- cookies need Secure")
        } else {
            None
        }
    }
}

fn same_site(argument: &str) -> SameSite {
    if argument.eq_ignore_ascii_case("strict") {
        SameSite::Strict
    } else if argument.eq_ignore_ascii_case("lax") {
        SameSite::Lax
    } else if argument.eq_ignore_ascii_case("none") {
        SameSite::None
    } else {
        SameSite::Invalid
    }
}

/// `hsts_protects`: a valid HSTS of six months or more keeps even cookies
/// without `Secure` off plain http, which Observatory penalises less.
pub(crate) fn test(values: &[String], hsts_protects: bool) -> TestResult {
    let mut result = TestResult::new(Test::Cookies);
    let mut graded = 0;
    for cookie in values.iter().filter_map(|v| SetCookie::parse(v)) {
        if cookie.deletes {
            continue;
        }
        graded += 1;
        grade_cookie(&cookie, hsts_protects, &mut result);
    }
    if graded > 0 && result.findings.iter().all(|f| f.severity == Severity::Info) {
        result.bonus = BONUS;
    }
    result
}

fn grade_cookie(cookie: &SetCookie<'_>, hsts_protects: bool, result: &mut TestResult) {
    let name = display_name(cookie.name);
    if let Some(rule) = cookie.prefix_broken() {
        result.push(Finding::new(
            FindingId::CookiePrefixInvalid,
            Severity::Low,
            0,
            format!("Browsers drop cookie {name}: {rule}"),
        ));
        return;
    }
    let session = cookie.looks_like_session();
    let anti_csrf = cookie.looks_like_anti_csrf();
    if !cookie.secure {
        let (severity, penalty) = match (session, hsts_protects) {
            (true, false) => (Severity::High, SESSION_WITHOUT_SECURE),
            (true, true) => (Severity::Medium, SESSION_WITHOUT_SECURE_BUT_HSTS),
            (false, false) => (Severity::High, WITHOUT_SECURE),
            (false, true) => (Severity::Low, WITHOUT_SECURE_BUT_HSTS),
        };
        let kind = if session { "Session cookie" } else { "Cookie" };
        result.push(Finding::new(
            FindingId::CookieNoSecure,
            severity,
            penalty,
            format!("{kind} {name} can be sent over plain http: add Secure"),
        ));
    }
    match cookie.same_site {
        Some(SameSite::Invalid) => result.push(Finding::new(
            FindingId::CookieSamesiteInvalid,
            Severity::High,
            SAMESITE_INVALID,
            format!("Cookie {name} has a SameSite value browsers do not know: use Lax or Strict"),
        )),
        Some(SameSite::None) if !cookie.secure => result.push(Finding::new(
            FindingId::CookieSamesiteInvalid,
            Severity::High,
            SAMESITE_INVALID,
            format!(
                "Cookie {name} has SameSite=None without Secure, which browsers reject: \
                 use Lax or Strict, or add Secure if it must be sent cross-site"
            ),
        )),
        Some(_) => {}
        None if anti_csrf => result.push(Finding::new(
            FindingId::CookieNoSamesite,
            Severity::High,
            ANTI_CSRF_WITHOUT_SAMESITE,
            format!(
                "Anti-CSRF cookie {name} has no SameSite, so other sites' requests carry \
                 it: add SameSite=Strict (or Lax)"
            ),
        )),
        None => result.push(Finding::new(
            FindingId::CookieNoSamesite,
            Severity::Low,
            0,
            format!(
                "Cookie {name} has no SameSite and relies on the browser's default: add \
                 SameSite=Lax (or Strict)"
            ),
        )),
    }
    if !cookie.http_only && !anti_csrf {
        result.push(if session {
            Finding::new(
                FindingId::CookieNoHttponly,
                Severity::High,
                SESSION_WITHOUT_HTTPONLY,
                format!(
                    "Session cookie {name} is readable by page scripts, so any XSS can \
                     steal the session: add HttpOnly"
                ),
            )
        } else {
            Finding::new(
                FindingId::CookieNoHttponly,
                Severity::Info,
                0,
                format!(
                    "Cookie {name} is readable by page scripts: add HttpOnly unless they \
                     need to read it"
                ),
            )
        });
    }
}

/// The name, quoted, cut and stripped of control characters: it goes into a
/// message, unlike the value, which never does.
fn display_name(name: &str) -> String {
    let mut shown: String = name
        .chars()
        .take(MAX_NAME_IN_MESSAGE)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if name.chars().count() > MAX_NAME_IN_MESSAGE {
        shown.push('…');
    }
    format!("\"{shown}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_attributes_case_insensitively() {
        let cookie =
            SetCookie::parse("__Host-sid=abc; path=/; SECURE; httponly; SameSite=lax").unwrap();
        assert_eq!(cookie.name, "__Host-sid");
        assert!(cookie.secure && cookie.http_only && !cookie.domain);
        assert_eq!(cookie.same_site, Some(SameSite::Lax));
        assert_eq!(cookie.path, Some("/"));
        assert!(cookie.prefix_broken().is_none());
        assert!(SetCookie::parse("sid=; Max-Age=0").unwrap().deletes);
        assert!(
            SetCookie::parse("sid=; expires=Thu, 01-Jan-1970 00:00:01 GMT")
                .unwrap()
                .deletes
        );
        assert!(SetCookie::parse(" ; Secure").is_none());
        assert_eq!(SetCookie::parse("lonely").unwrap().name, "");
    }

    #[test]
    fn classifies_names() {
        let class = |name: &str| {
            let value = format!("{name}=1");
            let cookie = SetCookie::parse(&value).unwrap();
            (cookie.looks_like_session(), cookie.looks_like_anti_csrf())
        };
        assert_eq!(class("PHPSESSID"), (true, false));
        assert_eq!(class("sb-abc-auth-token"), (true, false));
        assert_eq!(class("XSRF-TOKEN"), (false, true));
        assert_eq!(class("csrf_session"), (false, true));
        assert_eq!(class("theme"), (false, false));
    }

    #[test]
    fn deleted_cookies_are_not_graded() {
        let result = test(&["session=; Max-Age=0; Path=/".to_owned()], false);
        assert!(result.findings.is_empty());
        assert_eq!(result.bonus, 0, "no cookie set, no bonus");
    }

    #[test]
    fn messages_never_show_values() {
        let result = test(&["session=s3cr3t-value; Path=/".to_owned()], false);
        assert!(!result.findings.is_empty());
        for finding in &result.findings {
            assert!(!finding.message.contains("s3cr3t"), "{}", finding.message);
            assert!(finding.message.contains("\"session\""));
        }
    }
}
