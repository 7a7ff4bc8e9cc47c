//! Source expressions (CSP3 §2.3.1): keywords, nonces, hashes, schemes and
//! hosts. Anything else is `Unrecognised`, which browsers ignore.

/// The quoted keywords of CSP3 (plus `'none'`), matched case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Keyword {
    None,
    SelfOrigin,
    UnsafeInline,
    UnsafeEval,
    UnsafeHashes,
    StrictDynamic,
    ReportSample,
    WasmUnsafeEval,
    UnsafeAllowRedirects,
    InlineSpeculationRules,
}

const KEYWORDS: [(&str, Keyword); 10] = [
    ("'none'", Keyword::None),
    ("'self'", Keyword::SelfOrigin),
    ("'unsafe-inline'", Keyword::UnsafeInline),
    ("'unsafe-eval'", Keyword::UnsafeEval),
    ("'unsafe-hashes'", Keyword::UnsafeHashes),
    ("'strict-dynamic'", Keyword::StrictDynamic),
    ("'report-sample'", Keyword::ReportSample),
    ("'wasm-unsafe-eval'", Keyword::WasmUnsafeEval),
    ("'unsafe-allow-redirects'", Keyword::UnsafeAllowRedirects),
    (
        "'inline-speculation-rules'",
        Keyword::InlineSpeculationRules,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

/// `[scheme://]host[:port][/path]`; `host` may be `*` or start with `*.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostSource<'a> {
    pub scheme: Option<&'a str>,
    pub host: &'a str,
    pub port: Option<&'a str>,
    pub path: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    Keyword(Keyword),
    /// The nonce's base64 value, without `'nonce-` and `'`.
    Nonce(&'a str),
    Hash {
        algorithm: HashAlgorithm,
        digest: &'a str,
    },
    /// The scheme without its colon, as written (`https` for `https:`).
    Scheme(&'a str),
    Host(HostSource<'a>),
    Unrecognised(&'a str),
}

impl<'a> Source<'a> {
    pub fn parse(token: &'a str) -> Source<'a> {
        if let Some(source) = parse_quoted(token) {
            return source;
        }
        if let Some(scheme) = token.strip_suffix(':') {
            if is_scheme(scheme) {
                return Source::Scheme(scheme);
            }
        }
        parse_host(token).map_or(Source::Unrecognised(token), Source::Host)
    }

    pub fn is_keyword(&self, keyword: Keyword) -> bool {
        *self == Source::Keyword(keyword)
    }

    /// Whether the expression can match a URL at all (`'self'`, a scheme or
    /// a host), as opposed to keywords, nonces and hashes.
    pub fn matches_urls(&self) -> bool {
        matches!(
            self,
            Source::Keyword(Keyword::SelfOrigin) | Source::Scheme(_) | Source::Host(_)
        )
    }
}

impl HostSource<'_> {
    /// Whether this source allows `https://{host}{path}` (host lowercase),
    /// following CSP3 §6.7.2.8–12 for the parts a bypass URL exercises: an
    /// `http` scheme also matches `https`, `*.` matches proper subdomains
    /// only, and a path ending in `/` is a prefix while any other path must
    /// match exactly.
    pub fn allows_https(&self, host: &str, path: &str) -> bool {
        let scheme_ok = self
            .scheme
            .is_none_or(|s| s.eq_ignore_ascii_case("https") || s.eq_ignore_ascii_case("http"));
        let port_ok = self.port.is_none_or(|p| p == "*" || p == "443");
        scheme_ok && port_ok && self.host_matches(host) && self.path_matches(path)
    }

    fn host_matches(&self, host: &str) -> bool {
        let pattern = self.host.strip_suffix('.').unwrap_or(self.host);
        if pattern == "*" {
            return true;
        }
        if let Some(suffix) = pattern.strip_prefix('*') {
            // `suffix` keeps its leading dot, so `*.a.com` never matches `a.com`.
            return host.len() > suffix.len()
                && host
                    .get(host.len() - suffix.len()..)
                    .is_some_and(|end| end.eq_ignore_ascii_case(suffix));
        }
        pattern.eq_ignore_ascii_case(host)
    }

    fn path_matches(&self, path: &str) -> bool {
        match self.path {
            None | Some("/") => true,
            Some(prefix) if prefix.ends_with('/') => path.starts_with(prefix),
            Some(exact) => path == exact,
        }
    }
}

fn parse_quoted(token: &str) -> Option<Source<'_>> {
    if token.len() < 2 || !token.starts_with('\'') || !token.ends_with('\'') {
        return None;
    }
    if let Some(&(_, keyword)) = KEYWORDS
        .iter()
        .find(|(text, _)| text.eq_ignore_ascii_case(token))
    {
        return Some(Source::Keyword(keyword));
    }
    let inner = &token[1..token.len() - 1];
    let (prefix, value) = inner.split_once('-')?;
    if !is_base64_value(value) {
        return None;
    }
    let source = match prefix.to_ascii_lowercase().as_str() {
        "nonce" => Source::Nonce(value),
        "sha256" => Source::Hash {
            algorithm: HashAlgorithm::Sha256,
            digest: value,
        },
        "sha384" => Source::Hash {
            algorithm: HashAlgorithm::Sha384,
            digest: value,
        },
        "sha512" => Source::Hash {
            algorithm: HashAlgorithm::Sha512,
            digest: value,
        },
        _ => return None,
    };
    Some(source)
}

/// CSP3 `base64-value`: `1*( ALPHA / DIGIT / "+" / "/" / "-" / "_" )*2( "=" )`.
fn is_base64_value(value: &str) -> bool {
    let body = value.trim_end_matches('=');
    !body.is_empty()
        && value.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'))
}

/// RFC 3986 `scheme`: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

fn parse_host(token: &str) -> Option<HostSource<'_>> {
    let (scheme, rest) = match token.split_once("://") {
        Some((scheme, rest)) if is_scheme(scheme) => (Some(scheme), rest),
        Some(_) => return None,
        None => (None, token),
    };
    let host_end = rest.find([':', '/']).unwrap_or(rest.len());
    let (host, mut tail) = rest.split_at(host_end);
    if !is_host(host) {
        return None;
    }
    let mut port = None;
    if let Some(after_colon) = tail.strip_prefix(':') {
        let port_end = after_colon.find('/').unwrap_or(after_colon.len());
        let (digits, after_port) = after_colon.split_at(port_end);
        if digits != "*" && (digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit())) {
            return None;
        }
        port = Some(digits);
        tail = after_port;
    }
    Some(HostSource {
        scheme,
        host,
        port,
        path: (!tail.is_empty()).then_some(tail),
    })
}

/// CSP3 `host-part`: `"*" / [ "*." ] 1*host-char *( "." 1*host-char ) [ "." ]`.
fn is_host(host: &str) -> bool {
    if host == "*" {
        return true;
    }
    let host = host.strip_prefix("*.").unwrap_or(host);
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(token: &str) -> HostSource<'_> {
        match Source::parse(token) {
            Source::Host(host) => host,
            other => panic!("{token} parsed as {other:?}"),
        }
    }

    #[test]
    fn keywords_nonces_and_hashes() {
        assert_eq!(
            Source::parse("'SELF'"),
            Source::Keyword(Keyword::SelfOrigin)
        );
        assert_eq!(
            Source::parse("'Strict-Dynamic'"),
            Source::Keyword(Keyword::StrictDynamic)
        );
        assert_eq!(
            Source::parse("'nonce-abc+/_-=='"),
            Source::Nonce("abc+/_-==")
        );
        assert_eq!(
            Source::parse("'NONCE-abc'"),
            Source::Nonce("abc"),
            "the prefix is case-insensitive"
        );
        assert_eq!(
            Source::parse("'sha384-AbC='"),
            Source::Hash {
                algorithm: HashAlgorithm::Sha384,
                digest: "AbC="
            }
        );
        for bad in [
            "'nonce-'",
            "'nonce-a===",
            "'nonce-a!b'",
            "'sha1-abc'",
            "'",
            "''",
            "self",
        ] {
            assert!(
                !matches!(
                    Source::parse(bad),
                    Source::Nonce(_) | Source::Hash { .. } | Source::Keyword(_)
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn schemes_and_hosts() {
        assert_eq!(Source::parse("https:"), Source::Scheme("https"));
        assert_eq!(Source::parse("data:"), Source::Scheme("data"));
        assert_eq!(
            host("https://*.example.com:*/js/"),
            HostSource {
                scheme: Some("https"),
                host: "*.example.com",
                port: Some("*"),
                path: Some("/js/")
            }
        );
        assert_eq!(host("*").host, "*");
        assert_eq!(host("cdn.example.com.").host, "cdn.example.com.");
        for bad in [
            "https://",
            "a..b",
            "*.",
            "a.com:80x",
            "1https://a.com",
            "a.*.com",
            ":80",
        ] {
            assert!(
                matches!(Source::parse(bad), Source::Unrecognised(_)),
                "{bad} parsed as {:?}",
                Source::parse(bad)
            );
        }
    }

    #[test]
    fn host_matching_follows_csp3() {
        assert!(host("*.googleapis.com").allows_https("ajax.googleapis.com", "/x"));
        assert!(!host("*.googleapis.com").allows_https("googleapis.com", "/x"));
        assert!(host("http://A.example").allows_https("a.example", "/"));
        assert!(!host("wss://a.example").allows_https("a.example", "/"));
        assert!(!host("a.example:8443").allows_https("a.example", "/"));
        assert!(host("a.example/js/").allows_https("a.example", "/js/app.js"));
        assert!(!host("a.example/js").allows_https("a.example", "/js/app.js"));
        assert!(host("a.example/js/app.js").allows_https("a.example", "/js/app.js"));
    }
}
