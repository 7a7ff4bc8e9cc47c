//! When a TLS certificate expires, read from its DER encoding: only the
//! path to `tbsCertificate.validity.notAfter` (RFC 5280, 4.1) is walked, so
//! no X.509 library is needed in the WASM.

use base64::Engine;
use chrono::NaiveDate;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CertificateError {
    #[error("the certificate is not base64")]
    Base64,
    #[error("the certificate is not DER-encoded X.509: {0}")]
    Der(&'static str),
}

/// `notAfter` in Unix milliseconds, from the base64 DER the host read.
pub fn not_after_ms(base64_der: &str) -> Result<i64, CertificateError> {
    let der = base64::engine::general_purpose::STANDARD
        .decode(base64_der.trim())
        .map_err(|_| CertificateError::Base64)?;
    let certificate = enter(&der, 0x30)?;
    let mut tbs = enter(certificate, 0x30)?;
    // [0] version (optional), serialNumber, signature, issuer, then validity.
    if tbs.first() == Some(&0xa0) {
        tbs = skip(tbs)?;
    }
    for _ in 0..3 {
        tbs = skip(tbs)?;
    }
    let validity = enter(tbs, 0x30)?;
    let not_after = skip(validity)?;
    let (tag, value, _) = element(not_after)?;
    let text = std::str::from_utf8(value)
        .map_err(|_| CertificateError::Der("a time that is not ASCII"))?;
    time_ms(tag, text)
}

/// (tag, contents, rest) of the first element.
fn element(der: &[u8]) -> Result<(u8, &[u8], &[u8]), CertificateError> {
    let (&tag, rest) = der
        .split_first()
        .ok_or(CertificateError::Der("truncated"))?;
    let (&first, rest) = rest
        .split_first()
        .ok_or(CertificateError::Der("truncated"))?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err(CertificateError::Der("a bad length"));
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(CertificateError::Der("truncated"));
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

fn enter(der: &[u8], tag: u8) -> Result<&[u8], CertificateError> {
    match element(der)? {
        (t, contents, _) if t == tag => Ok(contents),
        _ => Err(CertificateError::Der("an unexpected element")),
    }
}

fn skip(der: &[u8]) -> Result<&[u8], CertificateError> {
    Ok(element(der)?.2)
}

/// UTCTime (`YYMMDDHHMMSSZ`, years 1950–2049) or GeneralizedTime
/// (`YYYYMMDDHHMMSSZ`).
fn time_ms(tag: u8, text: &str) -> Result<i64, CertificateError> {
    let (year, rest) = match tag {
        0x17 if text.len() == 13 => {
            let yy: i32 = number(&text[..2])?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &text[2..])
        }
        0x18 if text.len() == 15 => (number(&text[..4])?, &text[4..]),
        _ => return Err(CertificateError::Der("notAfter is not a UTC time")),
    };
    if !rest.ends_with('Z') {
        return Err(CertificateError::Der("notAfter is not in UTC"));
    }
    let part = |i: usize| number::<u32>(&rest[i..i + 2]);
    NaiveDate::from_ymd_opt(year, part(0)?, part(2)?)
        .and_then(|d| d.and_hms_opt(part(4).ok()?, part(6).ok()?, part(8).ok()?))
        .map(|t| t.and_utc().timestamp_millis())
        .ok_or(CertificateError::Der("notAfter is not a date"))
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, CertificateError> {
    text.parse()
        .map_err(|_| CertificateError::Der("a time with non-digits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 2
    /// -subj /CN=localhost`, made 2026-11-30 09:45:55 UTC.
    const LOCALHOST: &str = include_str!("../tests/fixtures/localhost.der.b64");

    #[test]
    fn utc_and_generalized_times() {
        assert_eq!(time_ms(0x17, "261202094555Z").unwrap(), 1_796_204_755_000);
        assert_eq!(time_ms(0x18, "20261202094555Z").unwrap(), 1_796_204_755_000);
        assert_eq!(time_ms(0x17, "491231235959Z").unwrap(), 2_524_607_999_000);
        assert!(time_ms(0x17, "261302094555Z").is_err());
        assert!(time_ms(0x17, "2612020945+01").is_err());
    }

    #[test]
    fn walks_to_not_after() {
        assert_eq!(not_after_ms(LOCALHOST).unwrap(), 1_796_204_755_000);
        assert_eq!(not_after_ms("%%%"), Err(CertificateError::Base64));
        assert!(matches!(
            not_after_ms("MAA="),
            Err(CertificateError::Der(_))
        ));
    }
}
