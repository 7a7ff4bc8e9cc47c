//! Addresses: emails, URLs, hostnames (and the TLDs that end them), IPv4
//! and IPv6 with their CIDR suffixes.

use std::net::Ipv6Addr;
use std::str::FromStr;

use super::Scanner;

impl Scanner<'_> {
    pub(super) fn email(&mut self, i: usize) -> Option<usize> {
        if i < self.email_dead_until {
            return None;
        }
        let mut j = i;
        while is_email_local(self.at(j)) {
            j += 1;
        }
        let Some(mut end) = (self.at(j) == b'@')
            .then(|| self.domain_label(j + 1))
            .flatten()
        else {
            self.email_dead_until = j;
            return None;
        };
        while self.at(end) == b'.' {
            match self.domain_label(end + 1) {
                Some(e) => end = e,
                None => break,
            }
        }
        Some(end)
    }

    fn domain_label(&self, i: usize) -> Option<usize> {
        let mut j = i;
        while is_label(self.at(j)) {
            j += 1;
        }
        (j > i).then_some(j)
    }

    pub(super) fn url(&self, i: usize) -> Option<usize> {
        // RFC 3986 also allows `.` in a scheme, but in messages a dot before
        // `://` ends a hostname (`db-1.example.com-https://...`).
        let mut j = i;
        while j - i < 32
            && matches!(self.at(j), b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'+' | b'-')
        {
            j += 1;
        }
        if !self.b[j..].starts_with(b"://") {
            return None;
        }
        let body = j + 3;
        let mut end = body;
        let (mut open, mut close) = ([0usize; 3], [0usize; 3]);
        while let Some(ch) = self.char_at(end) {
            if ch.is_whitespace() || matches!(ch, '"' | '\'' | '<' | '>' | '`') {
                break;
            }
            if let Some(k) = "([{".find(ch) {
                open[k] += 1;
            } else if let Some(k) = ")]}".find(ch) {
                close[k] += 1;
            }
            end += ch.len_utf8();
        }
        // Prose punctuation and the closing bracket of a parenthesised URL
        // end the sentence, not the URL.
        while end > body {
            let last = self.b[end - 1];
            match last {
                b'.' | b',' | b';' | b':' | b'!' | b'?' => {}
                _ => match b")]}".iter().position(|&p| p == last) {
                    Some(k) if close[k] > open[k] => close[k] -= 1,
                    _ => break,
                },
            }
            end -= 1;
        }
        (end > body).then_some(end)
    }

    pub(super) fn hostname(&mut self, i: usize) -> Option<usize> {
        let after_slash = i > 0 && matches!(self.b[i - 1], b'/' | b'\\');
        let mut best = None;
        // Set when a TLD was refused only because of where this name starts
        // (too few labels before it, or after a `/`): a later start in the
        // same run might be accepted, so the run must not be skipped.
        let mut refused_here = false;
        let mut j = i;
        let mut labels = 0;
        loop {
            let start = j;
            while is_label(self.at(j)) && j - start <= 63 {
                j += 1;
            }
            if j == start {
                break;
            }
            // A label over 63 characters ends the name, but its start can
            // still be the TLD (`a.com-<64 more characters>`).
            let long = j - start > 63;
            if labels > 0 {
                // The TLD is the whole label or, as `\b` allows in Sentry's
                // pattern, the part before a `-` (`example.com-prod`). The
                // longest name wins (Sentry's lazy `+?` stops at the first).
                let before_dash = self.b[start..j]
                    .iter()
                    .position(|&c| c == b'-')
                    .map(|k| start + k);
                let whole = (!long).then_some(j);
                let tld_end = whole.into_iter().chain(before_dash).find(|&end| {
                    let tld = if end > start && self.word_ends(end) {
                        tld_kind(&self.s[start..end])
                    } else {
                        None
                    };
                    match tld {
                        Some(Tld::Plain) => true,
                        Some(Tld::Ambiguous) if self.at(end) != b'(' => {
                            let accepted = labels >= 2 && !after_slash;
                            refused_here |= !accepted;
                            accepted
                        }
                        _ => false,
                    }
                });
                best = tld_end.or(best);
            }
            labels += 1;
            if long {
                // Starts inside this label (after a `-`) begin a new name.
                j = start;
                break;
            }
            if self.at(j) != b'.' {
                break;
            }
            j += 1;
        }
        if best.is_none() && !refused_here {
            self.host_dead_until = j;
        }
        best
    }

    pub(super) fn ip_v4(&self, i: usize) -> Option<usize> {
        let mut j = i;
        for octet in 0..4 {
            if octet > 0 {
                if self.at(j) != b'.' {
                    return None;
                }
                j += 1;
            }
            j = self.octet(j)?;
        }
        if !self.word_ends(j) {
            return None;
        }
        Some(self.cidr(j, 32).unwrap_or(j))
    }

    /// One IPv4 octet as Sentry's pattern accepts it: up to two digits freely
    /// (`01` included), three only as `1xx`, `2[0-4]x` or `25[0-5]`.
    fn octet(&self, i: usize) -> Option<usize> {
        let mut j = i;
        while self.at(j).is_ascii_digit() && j - i < 4 {
            j += 1;
        }
        let d = &self.b[i..j];
        let ok = match d.len() {
            1 | 2 => true,
            3 => d[0] == b'1' || (d[0] == b'2' && (d[1] <= b'4' || (d[1] == b'5' && d[2] <= b'5'))),
            _ => false,
        };
        ok.then_some(j)
    }

    fn cidr(&self, i: usize, max: u32) -> Option<usize> {
        if self.at(i) != b'/' {
            return None;
        }
        let mut j = i + 1;
        while self.at(j).is_ascii_digit() && j - i <= 3 {
            j += 1;
        }
        let bits: u32 = self.s.get(i + 1..j)?.parse().ok()?;
        (bits <= max && self.word_ends(j)).then_some(j)
    }

    pub(super) fn ip_v6(&self, i: usize) -> Option<usize> {
        // The run of address characters, cut where no address can continue:
        // 45 characters is the longest textual IPv6, and an address has at
        // most one `::` and never `:::`.
        let mut j = i;
        let (mut colons, mut double, mut digit) = (0, false, false);
        while j - i < 45
            && matches!(self.at(j), b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' | b':' | b'.')
        {
            if self.at(j) == b':' {
                if self.at(j + 1) == b':' {
                    if double || self.at(j + 2) == b':' {
                        break;
                    }
                    double = true;
                }
                colons += 1;
            }
            digit |= self.at(j).is_ascii_digit();
            j += 1;
        }
        if !digit || !double && colons < 6 {
            return None;
        }
        // The longest prefix that is an address and is not followed by an
        // alphanumeric (Sentry's lookahead). Shorter prefixes can only end
        // before a `:` or `.`, and only 7 colons, or 6 before an embedded
        // IPv4, or any number up to 7 with a `::`, can make an address.
        let mut end = (i + 2..=j).rev().find(|&e| {
            if e < j && !matches!(self.b[e], b':' | b'.') {
                return false;
            }
            let candidate = &self.b[i..e];
            let colons = candidate.iter().filter(|&&c| c == b':').count();
            let shape_ok = if candidate.windows(2).any(|w| w == b"::") {
                colons <= 7
            } else {
                colons == 7 || colons == 6 && candidate.contains(&b'.')
            };
            shape_ok
                && !self.char_at(e).is_some_and(|c| c.is_alphanumeric())
                && self.at(e) != b'('
                && !(self.b[e - 1] == b':' && self.at(e) == b'<')
                && candidate.iter().any(u8::is_ascii_digit)
                && Ipv6Addr::from_str(&self.s[i..e]).is_ok()
        })?;
        if self.at(end) == b'%'
            && self.s[i..]
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("fe80"))
        {
            let zone = end + 1;
            let mut k = zone;
            while self.at(k).is_ascii_alphanumeric() {
                k += 1;
            }
            if k > zone {
                end = k;
            }
        }
        Some(self.cidr(end, 128).unwrap_or(end))
    }
}

fn is_label(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

pub(super) fn is_email_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b".!#$%&*+?^_~-".contains(&c)
}

#[derive(PartialEq, Eq)]
enum Tld {
    Plain,
    /// Also a common property, method or file-extension name.
    Ambiguous,
}

fn tld_kind(label: &str) -> Option<Tld> {
    let lower = label.bytes().all(|c| c.is_ascii_lowercase());
    let upper = label.bytes().all(|c| c.is_ascii_uppercase());
    if !(lower || upper) || label.len() > 6 {
        return None;
    }
    let mut buf = [0u8; 6];
    for (d, s) in buf.iter_mut().zip(label.bytes()) {
        *d = s.to_ascii_lowercase();
    }
    match &buf[..label.len()] {
        b"id" | b"at" | b"is" | b"it" | b"to" | b"me" | b"my" | b"by" | b"ms" | b"ga" | b"rs"
        | b"cc" | b"info" | b"app" | b"cat" | b"pro" | b"link" | b"site" | b"jobs" | b"news"
        | b"club" | b"tips" | b"wiki" | b"online" => Some(Tld::Ambiguous),
        b"com" | b"net" | b"org" | b"jp" | b"de" | b"uk" | b"fr" | b"br" | b"ru" | b"es"
        | b"gov" | b"pl" | b"ca" | b"au" | b"cn" | b"co" | b"in" | b"nl" | b"edu" | b"eu"
        | b"ch" | b"kr" | b"cz" | b"mx" | b"be" | b"tv" | b"se" | b"tr" | b"tw" | b"al" | b"ua"
        | b"ir" | b"vn" | b"cl" | b"sk" | b"ly" | b"no" | b"fi" | b"us" | b"pt" | b"dk" | b"ar"
        | b"hu" | b"tk" | b"gr" | b"il" | b"ro" | b"biz" | b"ie" | b"za" | b"nz" | b"sg"
        | b"ee" | b"th" | b"io" | b"xyz" | b"pe" | b"bg" | b"hk" | b"lt" | b"ph" | b"si"
        | b"mobi" | b"la" | b"xxx" | b"cf" | b"hr" | b"ng" | b"kz" | b"ug" | b"gq" | b"ae"
        | b"lv" | b"fm" | b"sa" | b"dev" | b"ai" => Some(Tld::Plain),
        _ => None,
    }
}
