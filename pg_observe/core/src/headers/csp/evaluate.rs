//! The CSP test: Google CSP Evaluator's checks (`security_checks.ts`,
//! `strictcsp_checks.ts`) on the policies as a CSP3 browser enforces them,
//! priced with the HTTP Observatory's CSP modifiers.
//!
//! A response may carry several enforced policies, and content must pass
//! every one of them. So a weakness is reported only when *every* policy has
//! it (a policy without the governing directive allows everything), and a
//! protection counts when *any* policy provides it.

use super::source::{HostSource, Keyword, Source};
use super::{Directive, Policy};
use crate::headers::bypass_hosts::{bypasses, BypassKind};
use crate::headers::finding::{Finding, FindingId, Severity, Test};
use crate::headers::grade::TestResult;

/// Observatory `csp-not-implemented` / `csp-not-implemented-but-reporting-enabled`.
const NOT_IMPLEMENTED: i32 = -25;
/// Observatory `csp-implemented-with-unsafe-inline`, which also covers broad
/// sources and unrestricted `script-src` / `object-src`; CSP Evaluator rates
/// allowlist bypasses and a missing `base-uri` under nonces as just as severe.
const UNSAFE: i32 = -20;
/// Observatory `csp-implemented-with-insecure-scheme`.
const INSECURE_SCHEME: i32 = -20;
/// Observatory `csp-implemented-with-insecure-scheme-in-passive-content-only`.
const INSECURE_SCHEME_PASSIVE: i32 = -10;
/// Observatory `csp-implemented-with-unsafe-eval`; CSP Evaluator's medium
/// nonce-length finding is priced the same.
const UNSAFE_EVAL: i32 = -10;
/// Observatory `csp-implemented-with-no-unsafe` and `…-default-src-none`.
const BONUS: i32 = 5;
const BONUS_DEFAULT_SRC_NONE: i32 = 10;
/// CSP Evaluator's `checkNonceLength`.
const MIN_NONCE_LENGTH: usize = 8;

const STRICT_POLICY: &str = "script-src 'nonce-{random}' 'strict-dynamic'; \
                             object-src 'none'; base-uri 'none'";

/// The CSP findings for these policies (`report_only` are those of
/// `Content-Security-Policy-Report-Only`, which are only noted). Framing
/// (`frame-ancestors`) is graded separately, with `X-Frame-Options`.
pub fn evaluate(enforced: &[Policy], report_only: &[Policy]) -> Vec<Finding> {
    test(enforced, report_only, false).findings
}

/// `header_sent`: a `Content-Security-Policy` header arrived, even if it
/// held no directives.
pub(crate) fn test(enforced: &[Policy], report_only: &[Policy], header_sent: bool) -> TestResult {
    let mut result = TestResult::new(Test::ContentSecurityPolicy);
    if enforced.is_empty() {
        result.push(if !report_only.is_empty() {
            Finding::new(
                FindingId::CspReportOnly,
                Severity::High,
                NOT_IMPLEMENTED,
                "Only Content-Security-Policy-Report-Only is sent, which reports \
                 violations but blocks nothing: once its reports are clean, send the \
                 same policy as Content-Security-Policy",
            )
        } else if header_sent {
            Finding::new(
                FindingId::CspMissing,
                Severity::High,
                NOT_IMPLEMENTED,
                format!(
                    "Content-Security-Policy has no directives, so it restricts \
                     nothing: send a policy such as {STRICT_POLICY}"
                ),
            )
        } else {
            Finding::new(
                FindingId::CspMissing,
                Severity::High,
                NOT_IMPLEMENTED,
                format!("No Content-Security-Policy: send one such as {STRICT_POLICY}"),
            )
        });
        return result;
    }
    if !report_only.is_empty() {
        result.push(Finding::new(
            FindingId::CspReportOnly,
            Severity::Info,
            0,
            "A Content-Security-Policy-Report-Only policy is sent beside the enforced \
             one; it blocks nothing, so promote it to Content-Security-Policy once its \
             reports are clean",
        ));
    }

    let facts: Vec<PolicyFacts<'_>> = enforced.iter().map(PolicyFacts::of).collect();
    if facts
        .iter()
        .all(|p| p.element().is_none() && p.attribute().is_none())
    {
        result.push(Finding::new(
            FindingId::CspMissingScriptSrc,
            Severity::High,
            UNSAFE,
            "Neither script-src nor default-src is set, so scripts from anywhere run: \
             add script-src 'nonce-{random}' 'strict-dynamic'",
        ));
    } else {
        check_inline(&facts, &mut result);
        check_eval(&facts, &mut result);
        check_broad(&facts, &mut result);
        check_bypass_hosts(&facts, &mut result);
    }
    check_insecure_scheme(enforced, &facts, &mut result);
    check_object_src(&facts, &mut result);
    check_base_uri(enforced, &facts, &mut result);
    check_nonce_length(enforced, &mut result);
    check_reporting(enforced, report_only, &mut result);
    check_trusted_types(enforced, &mut result);

    if result.findings.iter().all(|f| f.penalty == 0) {
        result.bonus = if default_src_none(enforced) {
            BONUS_DEFAULT_SRC_NONE
        } else {
            BONUS
        };
    }
    result
}

/// What a source list allows, read once.
struct ListFacts<'a> {
    name: &'a str,
    nonce: bool,
    hash: bool,
    strict_dynamic: bool,
    unsafe_inline: bool,
    unsafe_eval: bool,
    matches_urls: bool,
    broad: Vec<&'a str>,
    hosts: Vec<(&'a str, HostSource<'a>)>,
}

impl<'a> ListFacts<'a> {
    fn of(directive: &'a Directive) -> Self {
        let mut facts = ListFacts {
            name: directive.name(),
            nonce: false,
            hash: false,
            strict_dynamic: false,
            unsafe_inline: false,
            unsafe_eval: false,
            matches_urls: false,
            broad: Vec::new(),
            hosts: Vec::new(),
        };
        for (raw, source) in directive.values().iter().zip(directive.sources()) {
            facts.matches_urls |= source.matches_urls();
            if is_broad(&source) {
                facts.broad.push(raw);
            }
            match source {
                Source::Nonce(_) => facts.nonce = true,
                Source::Hash { .. } => facts.hash = true,
                Source::Keyword(Keyword::StrictDynamic) => facts.strict_dynamic = true,
                Source::Keyword(Keyword::UnsafeInline) => facts.unsafe_inline = true,
                Source::Keyword(Keyword::UnsafeEval) => facts.unsafe_eval = true,
                // `*` is broad, not a host that could be a known bypass.
                Source::Host(host) if host.host != "*" => facts.hosts.push((raw, host)),
                _ => {}
            }
        }
        facts
    }

    /// CSP3 §6.7.3.3: a nonce, a hash or `'strict-dynamic'` switches
    /// `'unsafe-inline'` off, which is what makes the backward-compatible
    /// strict policy (`'nonce-…' 'strict-dynamic' 'unsafe-inline' https:`) safe.
    fn allows_inline(&self) -> bool {
        self.unsafe_inline && !self.nonce && !self.hash && !self.strict_dynamic
    }

    /// Under `'strict-dynamic'` a CSP3 browser ignores host and scheme
    /// sources (they only serve browsers without it), so they allow nothing.
    fn effective_broad(&self) -> &[&'a str] {
        if self.strict_dynamic {
            &[]
        } else {
            &self.broad
        }
    }

    fn effective_hosts(&self) -> &[(&'a str, HostSource<'a>)] {
        if self.strict_dynamic {
            &[]
        } else {
            &self.hosts
        }
    }
}

/// The lists of one policy that grading reads, with CSP3's fallbacks:
/// `<script>` elements obey `script-src-elem`, event handlers
/// `script-src-attr` (both falling back to `script-src`), `eval`
/// `script-src`, plugins `object-src`; all fall back to `default-src`.
struct PolicyFacts<'a> {
    script: Option<ListFacts<'a>>,
    script_elem: Option<ListFacts<'a>>,
    script_attr: Option<ListFacts<'a>>,
    default: Option<ListFacts<'a>>,
    object: Option<ListFacts<'a>>,
}

impl<'a> PolicyFacts<'a> {
    fn of(policy: &'a Policy) -> Self {
        let list = |name| policy.directive(name).map(ListFacts::of);
        PolicyFacts {
            script: list("script-src"),
            script_elem: list("script-src-elem"),
            script_attr: list("script-src-attr"),
            default: list("default-src"),
            object: list("object-src"),
        }
    }

    fn script_or_default(&self) -> Option<&ListFacts<'a>> {
        self.script.as_ref().or(self.default.as_ref())
    }

    fn element(&self) -> Option<&ListFacts<'a>> {
        self.script_elem
            .as_ref()
            .or_else(|| self.script_or_default())
    }

    fn attribute(&self) -> Option<&ListFacts<'a>> {
        self.script_attr
            .as_ref()
            .or_else(|| self.script_or_default())
    }

    fn eval(&self) -> Option<&ListFacts<'a>> {
        self.script_or_default()
    }

    fn object(&self) -> Option<&ListFacts<'a>> {
        self.object.as_ref().or(self.default.as_ref())
    }
}

/// Sources that match any origin: `*` (with any scheme, port or path) and
/// the schemes an attacker can serve from (CSP Evaluator's
/// `URL_SCHEMES_CAUSING_XSS`: `data:`, `http:`, `https:`).
pub(crate) fn is_broad(source: &Source<'_>) -> bool {
    match source {
        Source::Host(host) => host.host == "*",
        Source::Scheme(scheme) => ["http", "https", "data"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(scheme)),
        _ => false,
    }
}

/// The first list, among the policies that have one, for naming in messages.
fn first_list<'f, 'a: 'f>(
    facts: &'f [PolicyFacts<'a>],
    pick: impl Fn(&'f PolicyFacts<'a>) -> Option<&'f ListFacts<'a>>,
    matching: impl Fn(&ListFacts<'a>) -> bool,
) -> Option<&'f ListFacts<'a>> {
    facts.iter().filter_map(pick).find(|list| matching(list))
}

fn check_inline(facts: &[PolicyFacts<'_>], result: &mut TestResult) {
    let elements = facts
        .iter()
        .all(|p| p.element().is_none_or(ListFacts::allows_inline));
    let attributes = facts
        .iter()
        .all(|p| p.attribute().is_none_or(ListFacts::allows_inline));
    let list = match (elements, attributes) {
        (false, false) => return,
        (true, _) => first_list(facts, PolicyFacts::element, ListFacts::allows_inline),
        (false, true) => first_list(facts, PolicyFacts::attribute, ListFacts::allows_inline),
    };
    let name = list.map_or("script-src", |l| l.name);
    result.push(Finding::new(
        FindingId::CspUnsafeInline,
        Severity::High,
        UNSAFE,
        format!(
            "{name} allows 'unsafe-inline' without a nonce or hash, so injected inline \
             scripts and event handlers run: remove it and give your scripts a nonce \
             ('nonce-{{random}}') or hash, with 'strict-dynamic'"
        ),
    ));
}

fn check_eval(facts: &[PolicyFacts<'_>], result: &mut TestResult) {
    if !facts.iter().all(|p| p.eval().is_none_or(|l| l.unsafe_eval)) {
        return;
    }
    let name =
        first_list(facts, PolicyFacts::eval, |l| l.unsafe_eval).map_or("script-src", |l| l.name);
    result.push(Finding::new(
        FindingId::CspUnsafeEval,
        Severity::Medium,
        UNSAFE_EVAL,
        format!(
            "{name} allows 'unsafe-eval', so strings reach eval() and new Function(): \
             remove it (use 'wasm-unsafe-eval' if only WebAssembly needs it)"
        ),
    ));
}

fn check_broad(facts: &[PolicyFacts<'_>], result: &mut TestResult) {
    let any_origin = |l: &ListFacts<'_>| !l.effective_broad().is_empty();
    if !facts.iter().all(|p| p.element().is_none_or(&any_origin)) {
        return;
    }
    let Some(list) = first_list(facts, PolicyFacts::element, any_origin) else {
        return;
    };
    result.push(Finding::new(
        FindingId::CspWildcardScriptSrc,
        Severity::High,
        UNSAFE,
        format!(
            "{} allows {}, so scripts can come from anywhere: remove it and load \
             scripts with a nonce and 'strict-dynamic', or list exact hosts",
            list.name,
            examples(list.effective_broad())
        ),
    ));
}

/// The first few sources, so a message stays short whatever the policy.
fn examples(sources: &[&str]) -> String {
    const SHOWN: usize = 3;
    let mut text = sources[..sources.len().min(SHOWN)].join(" ");
    if sources.len() > SHOWN {
        text.push_str(" …");
    }
    text
}

/// CSP Evaluator's `checkScriptAllowlistBypass`: a known JSONP or AngularJS
/// URL that every policy lets a `<script>` load.
fn check_bypass_hosts(facts: &[PolicyFacts<'_>], result: &mut TestResult) {
    let mut reported: Vec<(&str, &str, BypassKind, &str)> = Vec::new();
    for bypass in bypasses() {
        let (host, path) = (bypass.host(), bypass.path());
        let mut via_host = None;
        let allowed_everywhere = facts.iter().all(|p| {
            let Some(list) = p.element() else {
                return true;
            };
            if bypass.needs_eval && !p.eval().is_none_or(|l| l.unsafe_eval) {
                return false;
            }
            match list
                .effective_hosts()
                .iter()
                .find(|(_, source)| source.allows_https(host, path))
            {
                Some(&(raw, _)) => {
                    via_host.get_or_insert((raw, list.name));
                    true
                }
                None => !list.effective_broad().is_empty(),
            }
        });
        if let (true, Some((raw, name))) = (allowed_everywhere, via_host) {
            if !reported.iter().any(|r| r.0 == raw) {
                reported.push((raw, name, bypass.kind, bypass.url));
            }
        }
    }
    for (raw, name, kind, url) in reported {
        let what = match kind {
            BypassKind::Jsonp => "JSONP endpoints",
            BypassKind::Angular => "AngularJS",
        };
        result.push(Finding::new(
            FindingId::CspBypassHost,
            Severity::High,
            UNSAFE,
            format!(
                "{name} allows {raw}, which hosts {what} (e.g. {url}) that turn the \
                 allowlist into script execution: remove it and load scripts with a \
                 nonce and 'strict-dynamic'"
            ),
        ));
    }
}

/// Observatory's insecure-scheme tests: `http:` (or `ftp:`) sources on a
/// page that is meant to be served over https. Script sources neutralised
/// by `'strict-dynamic'` and policies with `upgrade-insecure-requests` are
/// exempt, since browsers never fetch over http for them.
fn check_insecure_scheme(enforced: &[Policy], facts: &[PolicyFacts<'_>], result: &mut TestResult) {
    let mut active: Option<(&str, &str)> = None;
    let mut passive: Option<(&str, &str)> = None;
    for (policy, policy_facts) in enforced.iter().zip(facts) {
        if policy.directive("upgrade-insecure-requests").is_some() {
            continue;
        }
        for directive in policy.directives() {
            let name = directive.name();
            if !(name.ends_with("-src") || name == "form-action" || name == "frame-ancestors") {
                continue;
            }
            let neutralised = match name {
                "script-src" => policy_facts.script.as_ref(),
                "script-src-elem" => policy_facts.script_elem.as_ref(),
                _ => None,
            }
            .is_some_and(|l| l.strict_dynamic);
            if neutralised {
                continue;
            }
            let Some(raw) = directive
                .values()
                .iter()
                .zip(directive.sources())
                .find(|(_, s)| is_insecure(s))
                .map(|(raw, _)| raw.as_str())
            else {
                continue;
            };
            let slot = if matches!(name, "img-src" | "media-src") {
                &mut passive
            } else {
                &mut active
            };
            slot.get_or_insert((name, raw));
        }
    }
    let (severity, penalty, (name, raw)) = match (active, passive) {
        (Some(found), _) => (Severity::High, INSECURE_SCHEME, found),
        (None, Some(found)) => (Severity::Medium, INSECURE_SCHEME_PASSIVE, found),
        (None, None) => return,
    };
    result.push(Finding::new(
        FindingId::CspInsecureScheme,
        severity,
        penalty,
        format!(
            "{name} allows loading over plain http ({raw}): use https:// sources, or add \
             upgrade-insecure-requests"
        ),
    ));
}

fn is_insecure(source: &Source<'_>) -> bool {
    let insecure =
        |scheme: &str| scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("ftp");
    match source {
        Source::Scheme(scheme) => insecure(scheme),
        Source::Host(host) => host.scheme.is_some_and(insecure),
        _ => false,
    }
}

/// CSP Evaluator's `checkMissingObjectSrcDirective`, stricter: anything but
/// `'none'` is noted, but only an unrestricted `object-src` is penalised
/// (Observatory).
fn check_object_src(facts: &[PolicyFacts<'_>], result: &mut TestResult) {
    if facts
        .iter()
        .any(|p| p.object().is_some_and(|l| !l.matches_urls))
    {
        return;
    }
    let unrestricted = facts
        .iter()
        .all(|p| p.object().is_none_or(|l| !l.broad.is_empty()));
    result.push(if unrestricted {
        Finding::new(
            FindingId::CspMissingObjectSrc,
            Severity::High,
            UNSAFE,
            "object-src is unrestricted (neither it nor default-src limits it), so \
             injected <object> and <embed> can run script: add object-src 'none'",
        )
    } else {
        let name =
            first_list(facts, PolicyFacts::object, |_| true).map_or("object-src", |l| l.name);
        Finding::new(
            FindingId::CspMissingObjectSrc,
            Severity::Low,
            0,
            format!(
                "Plugins and embeds fall under {name}, which allows more than nothing: \
                 add object-src 'none' unless the page embeds <object> content"
            ),
        )
    });
}

/// CSP Evaluator's `checkMultipleMissingBaseUriDirective`: a missing
/// `base-uri` defeats nonce-based policies (an injected `<base>` moves the
/// page's own nonced relative scripts to another host), and is worth
/// setting everywhere else.
fn check_base_uri(enforced: &[Policy], facts: &[PolicyFacts<'_>], result: &mut TestResult) {
    let restricted = enforced.iter().any(|p| {
        p.directive("base-uri")
            .is_some_and(|d| !d.sources().any(|s| is_broad(&s)))
    });
    if restricted {
        return;
    }
    let nonce_based = facts.iter().any(|p| {
        p.element()
            .is_some_and(|l| l.nonce || (l.hash && l.strict_dynamic))
    });
    result.push(if nonce_based {
        Finding::new(
            FindingId::CspMissingBaseUri,
            Severity::High,
            UNSAFE,
            "base-uri is missing, so an injected <base> tag can point the page's nonced \
             relative scripts at another host: add base-uri 'none' (or 'self')",
        )
    } else {
        Finding::new(
            FindingId::CspMissingBaseUri,
            Severity::Low,
            0,
            "base-uri is missing, so an injected <base> tag can redirect relative URLs: \
             add base-uri 'none' (or 'self')",
        )
    });
}

fn check_nonce_length(enforced: &[Policy], result: &mut TestResult) {
    let shortest = enforced
        .iter()
        .flat_map(Policy::directives)
        .flat_map(Directive::sources)
        .filter_map(|s| match s {
            Source::Nonce(nonce) => Some(nonce.len()),
            _ => None,
        })
        .min();
    if let Some(length) = shortest.filter(|&l| l < MIN_NONCE_LENGTH) {
        result.push(Finding::new(
            FindingId::CspShortNonce,
            Severity::Medium,
            UNSAFE_EVAL,
            format!(
                "A nonce is only {length} characters long and can be guessed: use at \
                 least 16 random bytes per response, base64-encoded"
            ),
        ));
    }
}

fn check_reporting(enforced: &[Policy], report_only: &[Policy], result: &mut TestResult) {
    let reports = enforced.iter().chain(report_only).any(|p| {
        ["report-uri", "report-to"]
            .iter()
            .any(|name| p.directive(name).is_some_and(|d| !d.values().is_empty()))
    });
    if !reports {
        result.push(Finding::new(
            FindingId::CspNoReporting,
            Severity::Info,
            0,
            "The policy has no report-uri or report-to, so violations (attacks and \
             breakage alike) go unseen: add report-to with a Reporting-Endpoints \
             header, plus report-uri for browsers without it",
        ));
    }
}

/// CSP Evaluator's `checkRequiresTrustedTypesForScripts`.
fn check_trusted_types(enforced: &[Policy], result: &mut TestResult) {
    let required = enforced.iter().any(|p| {
        p.directive("require-trusted-types-for").is_some_and(|d| {
            d.values()
                .iter()
                .any(|v| v.eq_ignore_ascii_case("'script'"))
        })
    });
    if required {
        return;
    }
    let names_policies = enforced
        .iter()
        .any(|p| p.directive("trusted-types").is_some());
    result.push(Finding::new(
        FindingId::TrustedTypesMissing,
        Severity::Info,
        0,
        if names_policies {
            "trusted-types names the allowed policies, but nothing enforces them: add \
             require-trusted-types-for 'script'"
        } else {
            "DOM XSS sinks (innerHTML, eval, script src) accept plain strings: add \
             require-trusted-types-for 'script', with trusted-types naming your policies"
        },
    ));
}

/// Observatory's `csp-implemented-with-no-unsafe-default-src-none`, as its
/// code decides it: `default-src` is exactly `'none'`.
fn default_src_none(enforced: &[Policy]) -> bool {
    enforced.iter().any(|p| {
        p.directive("default-src")
            .is_some_and(|d| d.sources().all(|s| s.is_keyword(Keyword::None)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(enforced: &[&str]) -> Vec<&'static str> {
        let policies: Vec<Policy> = enforced
            .iter()
            .flat_map(|p| Policy::parse_list(p))
            .collect();
        evaluate(&policies, &[])
            .iter()
            .map(|f| f.id.as_str())
            .collect()
    }

    const TAIL: &str = "object-src 'none'; base-uri 'none'; \
                        require-trusted-types-for 'script'; report-uri /csp";

    #[test]
    fn backward_compatible_strict_policy_is_clean() {
        let policy = format!(
            "script-src 'nonce-r4nd0mBase64==' 'strict-dynamic' 'unsafe-inline' https: http:; {TAIL}"
        );
        assert!(ids(&[&policy]).is_empty(), "{:?}", ids(&[&policy]));
    }

    #[test]
    fn a_hash_also_neutralises_unsafe_inline() {
        let policy = format!("script-src 'sha256-abc=' 'unsafe-inline'; {TAIL}");
        assert!(ids(&[&policy]).is_empty());
    }

    #[test]
    fn strict_dynamic_without_nonce_still_switches_hosts_off() {
        let policy = format!("script-src 'strict-dynamic' cdnjs.cloudflare.com https:; {TAIL}");
        assert!(ids(&[&policy]).is_empty());
    }

    #[test]
    fn a_weakness_counts_only_when_every_policy_has_it() {
        let weak = format!("script-src 'self' 'unsafe-inline' 'unsafe-eval' https:; {TAIL}");
        let strict = "script-src 'nonce-r4nd0mBase64=='";
        assert_eq!(
            ids(&[&weak]),
            [
                "csp_unsafe_inline",
                "csp_unsafe_eval",
                "csp_wildcard_script_src"
            ]
        );
        assert!(ids(&[&weak, strict]).is_empty());
        // A policy without script directives restricts nothing, so it does not help.
        assert_eq!(ids(&[&weak, "img-src 'self'"]).len(), 3);
    }

    #[test]
    fn script_src_elem_and_attr_are_checked_separately() {
        let policy =
            format!("script-src 'nonce-r4nd0mBase64=='; script-src-attr 'unsafe-inline'; {TAIL}");
        assert_eq!(ids(&[&policy]), ["csp_unsafe_inline"]);
    }

    #[test]
    fn bypass_hosts_follow_wildcards_paths_and_eval() {
        let with = |sources: &str| ids(&[&format!("script-src 'self' {sources}; {TAIL}")]);
        assert_eq!(with("*.googleapis.com"), ["csp_bypass_host"]);
        assert_eq!(with("https://www.gstatic.com"), ["csp_bypass_host"]);
        assert_eq!(with("cdn.jsdelivr.net"), ["csp_bypass_host"]);
        assert_eq!(with("unpkg.com"), ["csp_bypass_host"]);
        assert!(
            with("www.gstatic.com/recaptcha/").is_empty(),
            "path outside the bypass"
        );
        assert!(
            with("www.googletagmanager.com").is_empty(),
            "needs 'unsafe-eval'"
        );
        assert_eq!(
            with("www.googletagmanager.com 'unsafe-eval'"),
            ["csp_unsafe_eval", "csp_bypass_host"]
        );
        assert!(with("static.example.com").is_empty());
    }

    #[test]
    fn object_src_falls_back_to_default_src() {
        let base = "script-src 'self'; base-uri 'none'; \
                    require-trusted-types-for 'script'; report-uri /r";
        assert!(ids(&[&format!("default-src 'none'; {base}")]).is_empty());
        let loose = evaluate(
            &Policy::parse_list(&format!("default-src 'self'; {base}")),
            &[],
        );
        assert_eq!(loose.len(), 1);
        assert_eq!(
            (loose[0].id, loose[0].severity),
            (FindingId::CspMissingObjectSrc, Severity::Low)
        );
        let open = evaluate(&Policy::parse_list(&format!("object-src *; {base}")), &[]);
        assert_eq!(open[0].severity, Severity::High);
    }

    #[test]
    fn missing_base_uri_is_high_only_for_nonce_policies() {
        let report = "object-src 'none'; require-trusted-types-for 'script'; report-uri /r";
        let nonce = evaluate(
            &Policy::parse_list(&format!("script-src 'nonce-r4nd0mBase64=='; {report}")),
            &[],
        );
        assert_eq!(nonce[0].severity, Severity::High);
        let plain = evaluate(
            &Policy::parse_list(&format!("script-src 'self'; {report}")),
            &[],
        );
        assert_eq!(plain[0].severity, Severity::Low);
    }

    #[test]
    fn insecure_schemes_are_graded_by_what_they_load() {
        let policy = |extra: &str| format!("script-src 'self'; {TAIL}; {extra}");
        let active = evaluate(
            &Policy::parse_list(&policy("connect-src http://api.example")),
            &[],
        );
        assert_eq!(
            (active[0].id, active[0].penalty),
            (FindingId::CspInsecureScheme, -20)
        );
        let passive = evaluate(&Policy::parse_list(&policy("img-src http:")), &[]);
        assert_eq!(passive[0].penalty, -10);
        assert!(ids(&[&policy("img-src http:; upgrade-insecure-requests")]).is_empty());
    }
}
