//! Cross-origin isolation headers: COOP (who may hold a window reference),
//! COEP (what may be embedded) and CORP (who may embed this response).
//! Only CORP is an Observatory test; see the module doc of `headers`.

use super::finding::{Finding, FindingId, Severity, Test};
use super::grade::TestResult;
use super::input::list_elements;

const COOP_MISSING: i32 = -5;
/// Observatory `corp-header-invalid`.
const CORP_INVALID: i32 = -5;
/// Observatory `corp-implemented-with-same-origin` / `-same-site`.
const CORP_BONUS: i32 = 10;

/// The structured-field token, without parameters (`same-origin; report-to="x"`).
fn token(values: &[String]) -> Option<String> {
    let first = list_elements(values).next()?;
    let token = first.split(';').next().unwrap_or(first).trim();
    Some(token.to_ascii_lowercase())
}

pub(crate) fn coop(values: &[String]) -> TestResult {
    let mut result = TestResult::new(Test::CrossOriginOpenerPolicy);
    let message = match token(values).as_deref() {
        Some("same-origin" | "same-origin-allow-popups" | "noopener-allow-popups") => {
            return result
        }
        None => {
            "No Cross-Origin-Opener-Policy, so pages that open or are opened by this one \
             keep a handle to it (tabnabbing, cross-site leaks): add \
             Cross-Origin-Opener-Policy: same-origin (or same-origin-allow-popups)"
        }
        Some("unsafe-none") => {
            "Cross-Origin-Opener-Policy is unsafe-none, which isolates nothing: use \
             same-origin (or same-origin-allow-popups)"
        }
        Some(_) => {
            "Cross-Origin-Opener-Policy has a value browsers do not know: use same-origin \
             (or same-origin-allow-popups)"
        }
    };
    result.push(Finding::new(
        FindingId::CoopMissing,
        Severity::Low,
        COOP_MISSING,
        message,
    ));
    result
}

pub(crate) fn coep(values: &[String]) -> TestResult {
    let mut result = TestResult::new(Test::CrossOriginEmbedderPolicy);
    if matches!(
        token(values).as_deref(),
        Some("require-corp" | "credentialless")
    ) {
        return result;
    }
    // Info only: require-corp breaks third-party embeds that do not opt in,
    // so it is worth it for pages that need cross-origin isolation.
    result.push(Finding::new(
        FindingId::CoepMissing,
        Severity::Info,
        0,
        "No Cross-Origin-Embedder-Policy, so the page cannot be cross-origin isolated: \
         add Cross-Origin-Embedder-Policy: credentialless (or require-corp) once its \
         embeds allow it",
    ));
    result
}

pub(crate) fn corp(values: &[String]) -> TestResult {
    let mut result = TestResult::new(Test::CrossOriginResourcePolicy);
    match token(values).as_deref() {
        Some("same-origin" | "same-site") => result.bonus = CORP_BONUS,
        Some("cross-origin") => {}
        None => result.push(Finding::new(
            FindingId::CorpMissing,
            Severity::Info,
            0,
            "No Cross-Origin-Resource-Policy, so any site can embed this response: add \
             Cross-Origin-Resource-Policy: same-origin (or same-site)",
        )),
        Some(_) => result.push(Finding::new(
            FindingId::CorpInvalid,
            Severity::Low,
            CORP_INVALID,
            "Cross-Origin-Resource-Policy has a value browsers do not know, so it does \
             nothing: use same-origin, same-site or cross-origin",
        )),
    }
    result
}
