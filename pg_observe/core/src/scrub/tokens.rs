//! Secrets recognisable by their shape alone, wherever they stand: private
//! key blocks, JWTs, authorization-scheme credentials, connection-string
//! secrets, webhook URLs and vendor tokens with a documented prefix.
//!
//! The shapes are data: one row per format in `FORMATS`. Adding a format is
//! adding a row (and a sample to `tests/secrets.rs`). Where two rows match
//! at the same place the earlier wins, so a specific shape comes before the
//! generic one it overlaps (`sk-ant-…` before `sk-…`).
//!
//! A row replaces its whole match with its marker, unless its pattern has a
//! group named `secret`: then only that group is replaced, and what around
//! it says what was there stays (`Basic [Filtered]`,
//! `https://hooks.slack.com/services/[Filtered]`, `AccountKey=[Filtered]`).
//!
//! All rows are compiled into one alternation, so the text is scanned
//! once, whatever the number of formats. Each row also lists keywords,
//! literals one of which every match holds (as gitleaks does): they say
//! which rows to try when the alternation has found a match, so that only
//! matches pay for learning their row and its `secret` group.
//!
//! Patterns are written for the regex crate's DFA: ASCII classes rather than
//! `\w`/`\d`/`\s`, and ASCII word boundaries (`(?-u:\b)`), since the Unicode
//! ones would force a slower engine on non-ASCII text.

use std::ops::Range;
use std::sync::{LazyLock, OnceLock};

use regex::{Regex, RegexBuilder};

use super::splice::Edits;
use super::{API_KEY_MARKER, BEARER_MARKER, FILTERED, JWT_MARKER, MARKERS, PRIVATE_KEY_MARKER};
use crate::interrupt;

pub(super) struct Format {
    pub name: &'static str,
    /// Literals one of which every match holds. A match starts with one of
    /// them unless the row is `inner`. A list out of step with its pattern
    /// fails a debug assertion on the row's samples in `tests/secrets.rs`.
    pub keywords: &'static [&'static str],
    /// The keywords may stand anywhere in a match.
    pub inner: bool,
    /// Rust `regex` syntax; may hold one group named `secret`.
    pub pattern: &'static str,
    pub marker: &'static str,
    /// A test the replaced part must also pass, for shapes that prose can
    /// take too (`Basic auth`).
    pub check: Option<fn(&str) -> bool>,
    /// Where the shape is specified.
    pub documented_by: &'static str,
}

const fn row(
    name: &'static str,
    keywords: &'static [&'static str],
    pattern: &'static str,
    marker: &'static str,
    documented_by: &'static str,
) -> Format {
    Format {
        name,
        keywords,
        inner: false,
        pattern,
        marker,
        check: None,
        documented_by,
    }
}

impl Format {
    const fn inner(self) -> Self {
        Format {
            inner: true,
            ..self
        }
    }

    const fn checked(self, check: fn(&str) -> bool) -> Self {
        Format {
            check: Some(check),
            ..self
        }
    }
}

const GITLEAKS: &str = "https://github.com/gitleaks/gitleaks/blob/master/config/gitleaks.toml";

/// Private key blocks are replaced whole: the BEGIN line, every line that
/// looks like key material or an armor header (`Proc-Type:`, `Comment:`),
/// and the END line. Lines may be separated by newlines, by the `\n` escapes
/// of JSON and environment files, or by spaces (keys pasted on one line).
/// Without an END (text cut short) the block runs to the last line that
/// still looks like key material.
macro_rules! key_block {
    ($begin:literal, $end:literal) => {
        concat!(
            $begin,
            r#"(?:(?:[ \t\r\n]|\\+[rn])+(?:[A-Za-z][A-Za-z0-9-]*:[ \t][^\r\n\\]*|[A-Za-z0-9+/=]+))*"#,
            r#"(?:(?:[ \t\r\n]|\\+[rn])*"#,
            $end,
            r#")?"#
        )
    };
}

#[rustfmt::skip]
pub(super) const FORMATS: &[Format] = &[
    // Private keys.
    row("private_key_block", &["-----BEGIN"],
        key_block!(r"-----BEGIN[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----",
                   r"-----END[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----"),
        PRIVATE_KEY_MARKER, "RFC 7468 (PEM), RFC 4880 (OpenPGP armor), OpenSSH PROTOCOL.key")
        .inner(),
    row("putty_private_key", &["Private-Lines:"],
        r"Private-Lines:[ \t]*[0-9]+(?:(?:[ \t\r\n]|\\+[rn])+[A-Za-z0-9+/=]{8,})*(?:(?:[ \t\r\n]|\\+[rn])+Private-(?:MAC|Hash):[ \t]*[0-9a-fA-F]+)?",
        PRIVATE_KEY_MARKER, "https://the.earth.li/~sgtatham/putty/0.81/htmldoc/AppendixC.html")
        .inner(),
    // The DER encoding of RSA (PKCS#1, PKCS#8), EC and Ed25519 private keys
    // begins with fixed bytes, hence a fixed base64 prefix: a key whose
    // BEGIN/END lines were stripped is still recognisable.
    row("private_key_der_base64", &["MII", "MHcCAQEEI", "MIGHAgEAMBMGByqGSM49", "MC4CAQAwBQYDK2VwBCIEI"],
        r"(?-u:\b)(?:MII[A-Za-z0-9+/]{3}IBA(?:DANBgkqhkiG9w0BAQEFAASC|AKC)|MHcCAQEEI|MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg|MC4CAQAwBQYDK2VwBCIEI)[A-Za-z0-9+/=]*(?:(?:\r?\n|\\n)[A-Za-z0-9+/=]{8,})*",
        PRIVATE_KEY_MARKER, "RFC 8017 A.1.2, RFC 5208, RFC 5915, RFC 8410"),
    // Authorization-scheme credentials, anywhere in text. A bearer token
    // and its scheme become one fixed marker, whatever the case; other
    // schemes keep their word.
    row("bearer_auth", &["Bearer", "bearer", "BEARER"],
        r"(?i-u:\bbearer)[ \t]+[A-Za-z0-9._~+/-]+=*",
        BEARER_MARKER, "RFC 6750 section 2.1").checked(is_bearer_credentials),
    row("basic_auth", &["Basic", "basic", "BASIC"], r"(?-u:\b)(?:Basic|basic|BASIC)[ \t]+(?P<secret>[A-Za-z0-9+/]{4,}={0,2})",
        FILTERED, "RFC 7617").checked(is_basic_credentials),
    row("digest_auth", &["Digest ", "digest ", "DIGEST ", "Digest	", "digest	", "DIGEST	"],
        r#"(?-u:\b)(?:Digest|digest|DIGEST)[ \t]+(?P<secret>(?:username|Username)=(?:"[^"\r\n]*"|\\"[^"\\\r\n]*\\"|[^ \t\r\n,"\\]+)(?:[ \t]*,[ \t]*[A-Za-z-]+=(?:"[^"\r\n]*"|\\"[^"\\\r\n]*\\"|[^ \t\r\n,"\\]+))*)"#,
        FILTERED, "RFC 7616"),
    row("negotiate_auth", &["Negotiate", "negotiate", "NEGOTIATE", "NTLM", "ntlm"], r"(?-u:\b)(?:Negotiate|negotiate|NEGOTIATE|NTLM|ntlm)[ \t]+(?P<secret>[A-Za-z0-9+/]{16,}={0,2})",
        FILTERED, "RFC 4559"),
    row("token_auth", &["Token ", "token ", "TOKEN ", "Token	", "token	", "TOKEN	"], r"(?-u:\b)(?:Token|token|TOKEN)[ \t]+(?P<secret>[A-Za-z0-9._~+/-]{20,}=*)",
        FILTERED, "https://docs.github.com/en/rest/authentication").checked(has_digit_and_letter),
    // Connection strings (Azure, ADO.NET, ODBC): a secret value runs to the
    // end of the connection string, not to the next `;`, since a password
    // may hold one.
    row("connection_string_key", &["AccountKey", "SharedAccessKey", "SharedAccessSignature", "SharedSecretValue", "accountkey", "sharedaccesskey"],
        r#"(?-u:\b)(?:AccountKey|SharedAccessKey|SharedAccessSignature|SharedSecretValue|accountkey|sharedaccesskey)[ \t]*=[ \t]*(?P<secret>(?:"[^"\r\n]*"|'[^'\r\n]*'|\{[^}\r\n]*\}|[^ \t\r\n"'`<>])[^ \t\r\n"'`<>]*)"#,
        FILTERED, "https://learn.microsoft.com/en-us/azure/storage/common/storage-configure-connection-string"),
    row("connection_string_password", &[";Password", ";password", ";PASSWORD", ";Pwd", ";pwd", ";PWD", "; Password", "; password", "; PASSWORD", "; Pwd", "; pwd", "; PWD"],
        r#";[ ]?(?:Password|password|PASSWORD|Pwd|pwd|PWD)[ \t]*=[ \t]*(?P<secret>(?:"[^"\r\n]*"|'[^'\r\n]*'|\{[^}\r\n]*\}|[^ \t\r\n"'`<>])[^ \t\r\n"'`<>]*)"#,
        FILTERED, "https://learn.microsoft.com/en-us/dotnet/api/system.data.sqlclient.sqlconnection.connectionstring")
        .inner(),
    // Webhook URLs: scheme and host stay, the path that authorizes posting
    // goes.
    row("slack_webhook_url", &["hooks.slack.com/"],
        r"(?-u:\b)hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9+/_-]{16,})",
        FILTERED, "https://api.slack.com/messaging/webhooks"),
    row("discord_webhook_url", &["discord"],
        r"(?-u:\b)discord(?:app)?\.com/api(?:/v[0-9]+)?/webhooks/(?P<secret>[0-9]{5,}/[A-Za-z0-9_-]{20,})",
        FILTERED, "https://discord.com/developers/docs/resources/webhook"),
    row("teams_webhook_url", &[".webhook.office.com/"],
        r"\.webhook\.office\.com/webhookb?2?/(?P<secret>[A-Za-z0-9@/_-]{20,})",
        FILTERED, GITLEAKS)
        .inner(),
    // Signed URLs (Azure SAS, S3 and GCS presigned URLs, CloudFront) grant
    // access until they expire.
    row("signed_url_signature", &["sig=", "ignature=", "Security-Token=", "security-token="],
        r"[?&](?:sig|[Ss]ignature|X-Amz-Signature|x-amz-signature|X-Amz-Security-Token|x-amz-security-token|X-Goog-Signature|x-goog-signature)=(?P<secret>[A-Za-z0-9%+/=._-]{16,})",
        FILTERED, "https://learn.microsoft.com/en-us/rest/api/storageservices/create-service-sas")
        .inner(),
    // JWTs: signed (JWS), unsigned (`alg: none`, with or without the final
    // dot) and encrypted (JWE, five parts, the second empty for `dir`).
    row("jwt", &["eyJ"],
        r"(?-u:\b)eyJ[A-Za-z0-9_-]{8,}\.(?:[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)?|eyJ[A-Za-z0-9_-]{2,}|\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)",
        JWT_MARKER, "RFC 7519, RFC 7515 (JWS), RFC 7516 (JWE)"),
    row("jwt_base64", &["ZXlK"], r"(?-u:\b)ZXlK(?:aGJHY2lPaU|MGVYQWlPaU)[A-Za-z0-9+/]{20,}={0,2}",
        JWT_MARKER, GITLEAKS),
    row("age_secret_key", &["AGE-SECRET-KEY-1"], r"(?-u:\b)AGE-SECRET-KEY-1[0-9A-Z]{50,}",
        PRIVATE_KEY_MARKER, "https://age-encryption.org/v1"),
    // Cloud providers.
    row("aws_access_key_pair", &["A3T", "AKIA", "ASIA", "ABIA", "ACCA"],
        r#"(?-u:\b)(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}['"]?[ \t]*[:,;|][ \t]*['"]?[A-Za-z0-9/+]{40}"#,
        API_KEY_MARKER, "https://docs.aws.amazon.com/IAM/latest/UserGuide/security-creds.html"),
    row("aws_access_key_id", &["A3T", "AKIA", "ASIA", "ABIA", "ACCA"], r"(?-u:\b)(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?-u:\b)",
        API_KEY_MARKER, "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids"),
    row("google_api_key", &["AIza"], r"(?-u:\b)AIza[0-9A-Za-z_-]{35}",
        API_KEY_MARKER, "https://cloud.google.com/docs/authentication/api-keys"),
    row("google_oauth_access_token", &["ya29."], r"(?-u:\b)ya29\.[0-9A-Za-z_-]{20,}",
        API_KEY_MARKER, "https://developers.google.com/identity/protocols/oauth2"),
    row("google_oauth_client_secret", &["GOCSPX-"], r"(?-u:\b)GOCSPX-[0-9A-Za-z_-]{20,}",
        API_KEY_MARKER, GITLEAKS),
    row("google_oauth_refresh_token", &["1//0"], r"(?-u:\b)1//0[0-9A-Za-z_-]{30,}",
        API_KEY_MARKER, "https://github.com/trufflesecurity/trufflehog/tree/main/pkg/detectors/googleoauth2"),
    row("firebase_cloud_messaging_key", &["AAAA"], r"(?-u:\b)AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{30,}",
        API_KEY_MARKER, "https://firebase.google.com/docs/cloud-messaging/auth-server"),
    row("azure_ad_client_secret", &["Q~"], r"(?-u:\b)[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}",
        API_KEY_MARKER, GITLEAKS)
        .inner(),
    row("digitalocean_token", &["dop_v1_", "doo_v1_", "dor_v1_"], r"(?-u:\b)do[opr]_v1_[a-f0-9]{64}",
        API_KEY_MARKER, "https://docs.digitalocean.com/reference/api/create-personal-access-token/"),
    row("alibaba_access_key_id", &["LTAI"], r"(?-u:\b)LTAI[A-Za-z0-9]{20}(?-u:\b)", API_KEY_MARKER, GITLEAKS),
    row("heroku_api_key", &["HRKU-"], r"(?-u:\b)HRKU-[A-Za-z0-9_-]{20,}", API_KEY_MARKER, GITLEAKS),
    row("flyio_token", &["fo1_", "fm1", "fm2"], r"(?-u:\b)(?:fo1_[A-Za-z0-9_-]{40,}|fm[12][ar]?_[A-Za-z0-9+/]{50,}={0,3})",
        API_KEY_MARKER, GITLEAKS),
    row("cloudflare_origin_ca_key", &["v1.0-"], r"(?-u:\b)v1\.0-[a-f0-9]{24}-[a-f0-9]{100,}", API_KEY_MARKER, GITLEAKS),
    // Source hosting and package registries.
    row("github_token", &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"], r"(?-u:\b)gh[pousr]_[A-Za-z0-9]{20,}",
        API_KEY_MARKER, "https://github.blog/engineering/platform-security/behind-githubs-new-authentication-token-formats/"),
    row("github_fine_grained_pat", &["github_pat_"], r"(?-u:\b)github_pat_[A-Za-z0-9_]{20,}",
        API_KEY_MARKER, "https://docs.github.com/en/code-security/secret-scanning/introduction/supported-secret-scanning-patterns"),
    row("gitlab_token", &["glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glimt-", "glagent-", "gloas-", "glsoat-", "glffct-", "glcbt-"],
        r"(?-u:\b)gl(?:pat|dt|rt|ptt|ft|imt|agent|oas|soat|ffct|cbt)-[0-9A-Za-z_-]{20,}(?:\.[0-9a-z]{9})?",
        API_KEY_MARKER, "https://docs.gitlab.com/security/tokens/#token-prefixes"),
    row("gitlab_runner_registration_token", &["GR1348941"], r"(?-u:\b)GR1348941[0-9A-Za-z_-]{20,}",
        API_KEY_MARKER, "https://docs.gitlab.com/security/tokens/#token-prefixes"),
    row("atlassian_api_token", &["ATATT3", "ATCTT3"], r"(?-u:\b)AT[AC]TT3[A-Za-z0-9_=-]{40,}", API_KEY_MARKER, GITLEAKS),
    row("npm_token", &["npm_"], r"(?-u:\b)npm_[A-Za-z0-9]{30,}",
        API_KEY_MARKER, "https://github.blog/changelog/2021-09-23-npm-has-a-new-access-token-format/"),
    row("pypi_token", &["pypi-AgE"], r"(?-u:\b)pypi-AgE[A-Za-z0-9_-]{50,}",
        API_KEY_MARKER, "https://pypi.org/help/#apitoken"),
    row("rubygems_token", &["rubygems_"], r"(?-u:\b)rubygems_[a-f0-9]{48}", API_KEY_MARKER, GITLEAKS),
    row("clojars_token", &["CLOJARS_"], r"(?-u:\b)CLOJARS_[a-z0-9]{60}", API_KEY_MARKER, GITLEAKS),
    row("artifactory_api_key", &["AKCp"], r"(?-u:\b)AKCp[A-Za-z0-9]{69}", API_KEY_MARKER, GITLEAKS),
    row("postman_api_key", &["PMAK-"], r"(?-u:\b)PMAK-[a-f0-9]{24}-[a-f0-9]{34}", API_KEY_MARKER, GITLEAKS),
    row("databricks_token", &["dapi"], r"(?-u:\b)dapi[a-f0-9]{32}(?:-[0-9])?(?-u:\b)", API_KEY_MARKER, GITLEAKS),
    row("pulumi_token", &["pul-"], r"(?-u:\b)pul-[a-f0-9]{40}", API_KEY_MARKER, GITLEAKS),
    row("prefect_token", &["pnu_"], r"(?-u:\b)pnu_[A-Za-z0-9]{36}", API_KEY_MARKER, GITLEAKS),
    row("readme_token", &["rdme_"], r"(?-u:\b)rdme_[a-z0-9]{70}", API_KEY_MARKER, GITLEAKS),
    row("terraform_cloud_token", &[".atlasv1."], r"(?-u:\b)[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,}", API_KEY_MARKER, GITLEAKS)
        .inner(),
    row("dynatrace_token", &["dt0c01."], r"(?-u:\b)dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}", API_KEY_MARKER, GITLEAKS),
    // Chat and messaging.
    row("slack_config_token", &["xoxe."], r"(?-u:\b)xoxe\.xox[bp]-[0-9]-[A-Za-z0-9-]{10,}",
        API_KEY_MARKER, "https://api.slack.com/authentication/config-tokens"),
    row("slack_token", &["xox"], r"(?-u:\b)xox[abeoprs]-[A-Za-z0-9-]{10,}",
        API_KEY_MARKER, "https://api.slack.com/authentication/token-types"),
    row("slack_app_token", &["xapp-"], r"(?-u:\b)xapp-[0-9]-[A-Za-z0-9-]{10,}",
        API_KEY_MARKER, "https://api.slack.com/authentication/token-types#app-level"),
    row("telegram_bot_token", &[":AA"], r"(?-u:\b)[0-9]{8,10}:AA[0-9A-Za-z_-]{33}",
        API_KEY_MARKER, "https://core.telegram.org/bots/api#authorizing-your-bot")
        .inner(),
    row("twilio_api_key", &["SK"], r"(?-u:\b)SK[0-9a-fA-F]{32}(?-u:\b)",
        API_KEY_MARKER, "https://www.twilio.com/docs/iam/api-keys"),
    // An account SID is an identifier; the auth token written next to it
    // is the secret.
    row("twilio_auth_token", &["AC"],
        r#"(?-u:\b)AC[0-9a-f]{32}['"]?[ \t]*[:,;|][ \t]*['"]?(?P<secret>[0-9a-f]{32})(?-u:\b)"#,
        API_KEY_MARKER, "https://www.twilio.com/docs/iam/credentials/api"),
    row("sendgrid_api_key", &["SG."], r"(?-u:\b)SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",
        API_KEY_MARKER, "https://www.twilio.com/docs/sendgrid/ui/account-and-settings/api-keys"),
    row("brevo_api_key", &["xkeysib-"], r"(?-u:\b)xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}", API_KEY_MARKER, GITLEAKS),
    row("mailgun_api_key", &["key-"], r"(?-u:\b)key-[0-9a-f]{32}(?-u:\b)",
        API_KEY_MARKER, "https://documentation.mailgun.com/docs/mailgun/api-reference/authentication"),
    row("mailchimp_api_key", &["-us"], r"(?-u:\b)[0-9a-f]{32}-us[0-9]{1,2}(?-u:\b)",
        API_KEY_MARKER, "https://mailchimp.com/developer/marketing/guides/quick-start/")
        .inner(),
    row("resend_api_key", &["re_"], r"(?-u:\b)re_[A-Za-z0-9]{8,}_[A-Za-z0-9]{16,}",
        API_KEY_MARKER, "https://resend.com/docs/dashboard/api-keys/introduction"),
    // Payments.
    row("stripe_secret_key", &["sk_live_", "sk_test_", "sk_prod_", "rk_live_", "rk_test_", "rk_prod_"], r"(?-u:\b)(?:sk|rk)_(?:live|test|prod)_[0-9A-Za-z]{10,}",
        API_KEY_MARKER, "https://docs.stripe.com/keys"),
    row("stripe_webhook_secret", &["whsec_"], r"(?-u:\b)whsec_[0-9A-Za-z+/=]{10,}",
        API_KEY_MARKER, "https://docs.stripe.com/webhooks#verify-official-libraries"),
    row("square_token", &["sq0atp-", "sq0csp-", "EAAA"], r"(?-u:\b)(?:sq0(?:atp|csp)-[0-9A-Za-z_-]{22,}|EAAA[0-9A-Za-z_-]{60,})",
        API_KEY_MARKER, "https://developer.squareup.com/docs/build-basics/access-tokens"),
    row("shopify_token", &["shpat_", "shpca_", "shppa_", "shpss_"], r"(?-u:\b)shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}",
        API_KEY_MARKER, "https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens"),
    row("facebook_access_token", &["EAAC", "EAAM"], r"(?-u:\b)EAA[CM][0-9A-Za-z]{90,}", API_KEY_MARKER, GITLEAKS),
    row("easypost_api_key", &["EZAK", "EZTK"], r"(?-u:\b)EZ[AT]K[A-Za-z0-9]{54}", API_KEY_MARKER, GITLEAKS),
    row("shippo_token", &["shippo_"], r"(?-u:\b)shippo_(?:live|test)_[a-f0-9]{40}", API_KEY_MARKER, GITLEAKS),
    row("duffel_token", &["duffel_"], r"(?-u:\b)duffel_(?:live|test)_[A-Za-z0-9_=-]{43}", API_KEY_MARKER, GITLEAKS),
    row("flutterwave_secret_key", &["FLWSECK"], r"(?-u:\b)FLWSECK(?:_TEST)?-[a-h0-9]{12,32}(?:-X)?", API_KEY_MARKER, GITLEAKS),
    // AI providers.
    row("anthropic_api_key", &["sk-ant-"], r"(?-u:\b)sk-ant-(?:api|admin|sid|oat|ort)[0-9]{2}-[A-Za-z0-9_-]{20,}",
        API_KEY_MARKER, "https://docs.anthropic.com/en/api/overview#authentication"),
    row("openai_project_key", &["sk-proj-", "sk-svcacct-", "sk-admin-", "sk-None-"], r"(?-u:\b)sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}",
        API_KEY_MARKER, "https://platform.openai.com/docs/api-reference/authentication"),
    // Legacy OpenAI keys and the many `sk-` keys modelled on them
    // (DeepSeek, Moonshot …). A digit is required: kebab-case names such as
    // `sk-navigation-menu-container` have none.
    row("sk_dash_api_key", &["sk-"], r"(?-u:\b)sk-[A-Za-z0-9_-]{20,}", API_KEY_MARKER, GITLEAKS)
        .checked(has_digit_and_letter),
    row("groq_api_key", &["gsk_"], r"(?-u:\b)gsk_[A-Za-z0-9]{40,}", API_KEY_MARKER, "https://console.groq.com/docs/api-keys"),
    row("xai_api_key", &["xai-"], r"(?-u:\b)xai-[A-Za-z0-9]{40,}", API_KEY_MARKER, "https://docs.x.ai/docs/api-reference"),
    row("perplexity_api_key", &["pplx-"], r"(?-u:\b)pplx-[A-Za-z0-9]{40,}", API_KEY_MARKER, GITLEAKS),
    row("replicate_api_token", &["r8_"], r"(?-u:\b)r8_[A-Za-z0-9]{30,}", API_KEY_MARKER, "https://replicate.com/docs/topics/security/api-tokens"),
    row("huggingface_token", &["hf_", "api_org_"], r"(?-u:\b)(?:hf_|api_org_)[A-Za-z0-9]{30,}",
        API_KEY_MARKER, "https://huggingface.co/docs/hub/security-tokens"),
    // Secrets managers and observability.
    row("vault_token", &["hvs.", "hvb.", "hvr."], r"(?-u:\b)hv[sbr]\.[A-Za-z0-9_-]{24,}",
        API_KEY_MARKER, "https://developer.hashicorp.com/vault/docs/concepts/tokens#token-prefixes"),
    // Before Vault 1.10: `s.` and 24 characters. Words such as
    // `s.ReadAllFromTheStreamNow` have no digit.
    row("vault_legacy_token", &["s."], r"(?-u:\b)s\.[A-Za-z0-9]{24}(?-u:\b)",
        API_KEY_MARKER, "https://developer.hashicorp.com/vault/docs/concepts/tokens#token-prefixes")
        .checked(has_digit_and_both_cases),
    row("doppler_token", &["dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."], r"(?-u:\b)dp\.(?:pt|st|sa|ct|scim|audit)\.(?:[a-z0-9_-]+\.)?[A-Za-z0-9]{30,}",
        API_KEY_MARKER, "https://docs.doppler.com/reference/auth-token-formats"),
    row("onepassword_token", &["ops_eyJ", "A3-"],
        r"(?-u:\b)(?:ops_eyJ[A-Za-z0-9+/]{100,}={0,3}|A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5})",
        API_KEY_MARKER, GITLEAKS),
    row("sentry_token", &["sntrys_", "sntryu_", "sntrya_"], r"(?-u:\b)sntry[usa]_[A-Za-z0-9+/=_]{20,}",
        API_KEY_MARKER, "https://docs.sentry.io/account/auth-tokens/"),
    row("grafana_token", &["glc_", "glsa_", "eyJrIjoi"],
        r"(?-u:\b)(?:glc_[A-Za-z0-9+/]{32,}={0,3}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|eyJrIjoi[A-Za-z0-9]{40,}={0,3})",
        API_KEY_MARKER, "https://grafana.com/docs/grafana/latest/administration/service-accounts/"),
    // Productivity and developer platforms.
    row("linear_api_key", &["lin_api_", "lin_oauth_"], r"(?-u:\b)lin_(?:api|oauth)_[A-Za-z0-9]{32,}", API_KEY_MARKER, "https://linear.app/developers/graphql"),
    row("notion_token", &["secret_", "ntn_"], r"(?-u:\b)(?:secret_[A-Za-z0-9]{43}|ntn_[0-9]{11}[A-Za-z0-9]{35})(?-u:\b)",
        API_KEY_MARKER, "https://developers.notion.com/docs/authorization"),
    row("contentful_token", &["CFPAT-"], r"(?-u:\b)CFPAT-[A-Za-z0-9_-]{43}", API_KEY_MARKER, GITLEAKS),
    row("figma_token", &["figd_", "figo_", "figu_"], r"(?-u:\b)fig[dou]_[A-Za-z0-9_-]{40,}", API_KEY_MARKER, "https://www.figma.com/developers/api#access-tokens"),
    row("netlify_token", &["nfp_"], r"(?-u:\b)nfp_[A-Za-z0-9]{36,}", API_KEY_MARKER, GITLEAKS),
    row("render_api_key", &["rnd_"], r"(?-u:\b)rnd_[A-Za-z0-9]{32,}", API_KEY_MARKER, "https://render.com/docs/api#1-create-an-api-key"),
    row("planetscale_token", &["pscale_"], r"(?-u:\b)pscale_(?:tkn|oauth|pw)_[A-Za-z0-9_=-]{32,}", API_KEY_MARKER, GITLEAKS),
    row("mapbox_secret_token", &["sk.eyJ"], r"(?-u:\b)sk\.eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}", API_KEY_MARKER, GITLEAKS),
    row("openshift_token", &["sha256~"], r"(?-u:\b)sha256~[A-Za-z0-9_-]{43}", API_KEY_MARKER, GITLEAKS),
    // Supabase. Publishable keys (`sb_publishable_…`) are public by design,
    // like the `anon` key the browser holds, and stay.
    row("supabase_access_token", &["sbp_"], r"(?-u:\b)sbp_[A-Za-z0-9_]{20,}",
        API_KEY_MARKER, "https://supabase.com/docs/guides/api/api-keys"),
    row("supabase_secret_key", &["sb_secret_"], r"(?-u:\b)sb_secret_[A-Za-z0-9_-]{10,}",
        API_KEY_MARKER, "https://supabase.com/docs/guides/api/api-keys"),
];

/// The alternation of every row, without their groups: it only finds
/// where matches are.
static ALTERNATION: LazyLock<Regex> = LazyLock::new(|| {
    let alternation = FORMATS
        .iter()
        .map(|format| format!("(?:{})", format.pattern.replace("(?P<secret>", "(?:")))
        .collect::<Vec<_>>()
        .join("|");
    RegexBuilder::new(&alternation)
        .size_limit(64 << 20)
        .build()
        .expect("built-in token formats must compile")
});

/// Each row on its own, compiled the first time one of its matches is
/// found.
static ROWS: LazyLock<Vec<OnceLock<Regex>>> =
    LazyLock::new(|| FORMATS.iter().map(|_| OnceLock::new()).collect());

fn row_regex(row: usize) -> &'static Regex {
    ROWS[row]
        .get_or_init(|| Regex::new(FORMATS[row].pattern).expect("built-in format must compile"))
}

/// The rows whose match starts with a keyword, by the keyword's first byte,
/// and the rows whose keywords may stand anywhere.
struct Keywords {
    by_first_byte: Vec<Vec<(&'static str, usize)>>,
    inner: Vec<usize>,
}

static KEYWORDS: LazyLock<Keywords> = LazyLock::new(|| {
    let mut by_first_byte = vec![Vec::new(); 256];
    let mut inner = Vec::new();
    for (row, format) in FORMATS.iter().enumerate() {
        if format.inner {
            inner.push(row);
            continue;
        }
        for keyword in format.keywords {
            let first = keyword.as_bytes()[0];
            by_first_byte[usize::from(first)].push((*keyword, row));
            // A case-insensitive row (`bearer`) is also found by its other
            // spellings' first byte.
            if ignores_case(row) && first.is_ascii_alphabetic() {
                by_first_byte[usize::from(first ^ 0x20)].push((*keyword, row));
            }
        }
    }
    Keywords {
        by_first_byte,
        inner,
    }
});

fn ignores_case(row: usize) -> bool {
    FORMATS[row].pattern.starts_with("(?i")
}

fn has_secret_group(row: usize) -> bool {
    FORMATS[row].pattern.contains("(?P<secret>")
}

/// The rows that may have made a match: those whose keyword starts it, and
/// the inner rows whose keyword it holds, in table order.
fn candidates(matched: &str) -> Vec<usize> {
    let keywords = &*KEYWORDS;
    let mut rows: Vec<usize> = keywords.by_first_byte[usize::from(matched.as_bytes()[0])]
        .iter()
        .filter(|&&(keyword, row)| {
            matched.get(..keyword.len()).is_some_and(|start| {
                start == keyword || (ignores_case(row) && start.eq_ignore_ascii_case(keyword))
            })
        })
        .map(|&(_, row)| row)
        .chain(keywords.inner.iter().copied().filter(|&row| {
            FORMATS[row]
                .keywords
                .iter()
                .any(|keyword| matched.contains(keyword))
        }))
        .collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

pub(super) fn tokens(text: &str, edits: &mut Edits) {
    for found in ALTERNATION.find_iter(text) {
        interrupt::check();
        if let Some((range, marker)) = replacement(text, found.range()) {
            edits.replace(range, marker);
        }
    }
}

/// What to replace in a match of the alternation. The row that matched is
/// the first, in table order, that matches the same span on its own; that
/// takes a search only when the keywords leave a choice that matters, and
/// then it runs up to the span's end only, which keeps it bounded by the
/// span.
fn replacement(text: &str, span: Range<usize>) -> Option<(Range<usize>, &'static str)> {
    let rows = candidates(&text[span.clone()]);
    let whole_span = |&row: &usize| !has_secret_group(row) && FORMATS[row].check.is_none();
    let identified = match rows[..] {
        [row] if !has_secret_group(row) => Some((row, span.clone())),
        [first, ..]
            if rows.iter().all(whole_span)
                && rows
                    .iter()
                    .all(|&row| FORMATS[row].marker == FORMATS[first].marker) =>
        {
            Some((first, span.clone()))
        }
        _ => {
            let haystack = &text[..span.end];
            rows.into_iter().find_map(|row| {
                let caps = row_regex(row).captures_at(haystack, span.start)?;
                let whole = caps.get(0)?;
                (whole.range() == span).then(|| {
                    let target = caps.name("secret").unwrap_or(whole);
                    (row, target.range())
                })
            })
        }
    };
    debug_assert!(
        identified.is_some(),
        "no row claims {:?}: a keyword list is out of step with its pattern",
        &text[span.clone()]
    );
    // A match no row claims is still a secret's shape: replace it whole.
    let Some((row, target)) = identified else {
        return Some((span, API_KEY_MARKER));
    };
    let format = &FORMATS[row];
    let value = &text[target.clone()];
    // A marker is what an earlier pass left; replacing it again would keep
    // scrubbing from ever settling.
    let keep = value.is_empty()
        || MARKERS.contains(&value)
        || format.check.is_some_and(|check| !check(value));
    (!keep).then_some((target, format.marker))
}

/// Name and specification of each format, in the order they are tried.
pub(super) fn sources() -> impl Iterator<Item = (&'static str, &'static str)> {
    FORMATS
        .iter()
        .map(|format| (format.name, format.documented_by))
}

/// Words that follow "bearer" in prose and in `WWW-Authenticate` challenges;
/// scrubbing them would turn "missing bearer token" into a false secret and
/// change the message's fingerprint for nothing.
const BEARER_PROSE: &[&str] = &[
    "a",
    "an",
    "and",
    "auth",
    "authentication",
    "authorization",
    "error",
    "expected",
    "for",
    "format",
    "header",
    "in",
    "is",
    "missing",
    "must",
    "not",
    "of",
    "or",
    "prefix",
    "realm",
    "required",
    "scheme",
    "scope",
    "the",
    "to",
    "token",
    "tokens",
    "was",
    "with",
];

/// `Bearer <token>`, unless the word after "bearer" is prose.
fn is_bearer_credentials(matched: &str) -> bool {
    let word = matched
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .trim_start_matches([' ', '\t'])
        .trim_end_matches('=');
    !BEARER_PROSE
        .iter()
        .any(|prose| word.eq_ignore_ascii_case(prose))
}

fn has_digit_and_letter(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit()) && s.bytes().any(|b| b.is_ascii_alphabetic())
}

fn has_digit_and_both_cases(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && s.bytes().any(|b| b.is_ascii_uppercase())
}

/// `Basic` credentials are base64 of `user:password`; prose after the word
/// "basic" ("Basic auth failed") does not decode to text with a colon.
fn is_basic_credentials(encoded: &str) -> bool {
    let decoded = decode_base64(encoded);
    decoded
        .as_deref()
        .is_some_and(|bytes| bytes.contains(&b':') && bytes.iter().all(|&b| b >= 0x20 && b != 0x7f))
}

fn decode_base64(encoded: &str) -> Option<Vec<u8>> {
    let value = |b: u8| -> Option<u32> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let body = encoded.trim_end_matches('=');
    if body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.as_bytes().chunks(4) {
        let mut acc = 0u32;
        for &b in chunk {
            acc = (acc << 6) | value(b)?;
        }
        acc <<= 6 * (4 - chunk.len() as u32);
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> String {
        let mut edits = Edits::default();
        tokens(text, &mut edits);
        edits.apply(text).unwrap_or_else(|| text.to_string())
    }

    #[test]
    fn every_row_compiles_alone_and_names_are_unique() {
        let mut names = std::collections::HashSet::new();
        for format in FORMATS {
            assert!(names.insert(format.name), "duplicate {}", format.name);
            let regex =
                Regex::new(format.pattern).unwrap_or_else(|err| panic!("{}: {err}", format.name));
            assert!(
                regex.capture_names().flatten().all(|name| name == "secret"),
                "{}: only a `secret` group may be named",
                format.name
            );
            assert!(!format.documented_by.is_empty(), "{}", format.name);
            assert!(!format.keywords.is_empty(), "{}", format.name);
            assert!(
                format.keywords.iter().all(|k| !k.is_empty()),
                "{}",
                format.name
            );
            assert!(!regex.is_match(""), "{} matches nothing", format.name);
        }
    }

    #[test]
    fn base64_decoding() {
        assert_eq!(decode_base64("dXNlcjpwYXNz").unwrap(), b"user:pass");
        assert_eq!(decode_base64("YTpi").unwrap(), b"a:b");
        assert_eq!(decode_base64("YTpiYw==").unwrap(), b"a:bc");
        assert_eq!(decode_base64("YTpiYw").unwrap(), b"a:bc");
        assert!(decode_base64("a").is_none());
        assert!(decode_base64("a-b_").is_none());
    }

    #[test]
    fn jwts_become_markers() {
        let supabase_anon = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZSIsInJlZiI6ImFiY2RlZmdoaWprbG1ub3AiLCJyb2xlIjoiYW5vbiIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoyMDAwMDAwMDAwfQ.dc_X5iR_VP_qT0zsiyj_I_OZ2T9FtRU2BBNWN8Bu4GE";
        let cases = [
            (
                format!("apikey={supabase_anon}"),
                "apikey=[jwt]".to_string(),
            ),
            (
                format!("JWT expired: {supabase_anon}."),
                "JWT expired: [jwt].".to_string(),
            ),
            (
                "unsigned eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjMifQ. token".to_string(),
                "unsigned [jwt] token".to_string(),
            ),
            (
                "no final dot eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjMifQ here".to_string(),
                "no final dot [jwt] here".to_string(),
            ),
            (
                "jwe eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDbSv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb76FdIKLaVmqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je81860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTIy3brGPi6UklfCpIMfIjf7iGdXKHzg.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ done".to_string(),
                "jwe [jwt] done".to_string(),
            ),
            (
                "dir jwe eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AxY8DCtDaGlsbGljb3RoZQ.KDlTtXchhZTGufMYmOYGS4HffxPSUrfmqCHXaI9wOGY.Mz-VPPyU4RlcuYv1IwIvzw end".to_string(),
                "dir jwe [jwt] end".to_string(),
            ),
            (
                "eyJ alone is not a token".to_string(),
                "eyJ alone is not a token".to_string(),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(run(&input), expected, "{input}");
        }
    }

    #[test]
    fn vendor_api_keys_become_markers() {
        let keys = [
            "sk_live_51H8abcdEFGHijklMNOPqrstUVwx",
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "rk_live_51H8abcdEFGHijklMNOP",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLSwe",
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            "gho_16C7e42F292c6912E7710c838347Ae178B4a",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
            "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            "AKIAIOSFODNN7EXAMPLE",
            "ASIAIOSFODNN7EXAMPLE",
            "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
            "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx",
            "re_9dYSBUup_372aqzc7KUiUmMLrimP9w8gE",
            "sbp_0123456789abcdef0123456789abcdef01234567",
            "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz",
            "npm_abcdefghijklmnopqrstuvwxyz0123456789",
            "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",
        ];
        for key in keys {
            let text = format!("request failed (key \"{key}\") after 3 retries");
            assert_eq!(
                run(&text),
                "request failed (key \"[api_key]\") after 3 retries",
                "{key}"
            );
        }
    }

    #[test]
    fn identifiers_that_resemble_key_prefixes_survive() {
        for text in [
            "pk_live_51H8abcdEFGHijklMNOP is publishable",
            "sb_publishable_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz is public",
            "call re_compile_pattern_for_user failed",
            "class sk-button",
            "class sk-navigation-menu-container-wrapper",
            "my_sk_live_setting",
            "AKIAIOSFODNN7EXAMPLEXX",
            "Basic auth failed for realm",
            "basic usage: see docs",
            "Token expired at 2024-01-01T00:00:00Z",
            "invalid token format",
            "s.ReadAllFromTheStreamNowX",
            "Digest realm=\"api\", nonce=\"abc\"",
            "hooks.slack.com/services/",
            "key-value store",
            "ACL AC denied",
            "x-amz-date=20240101T000000Z",
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
            "-----BEGIN CERTIFICATE-----",
            "commit 5fc35719b9cf96ec602dbc748ff31c587a46961d",
            "id 7c1811ed-e98f-4c9c-a9f9-58c757ff494f",
            "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
        ] {
            assert_eq!(run(text), text);
        }
    }

    #[test]
    fn bearer_tokens_are_filtered_but_prose_is_not() {
        let cases = [
            ("Authorization: Bearer abc123", "Authorization: Bearer [Filtered]"),
            ("authorization: bearer x", "authorization: Bearer [Filtered]"),
            ("BEARER dGVzdA==", "Bearer [Filtered]"),
            (
                "curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig' https://api",
                "curl -H 'Authorization: Bearer [Filtered]' https://api",
            ),
            ("missing bearer token", "missing bearer token"),
            ("the bearer of bad news", "the bearer of bad news"),
            (
                "WWW-Authenticate: Bearer realm=\"api\", error=\"invalid_token\"",
                "WWW-Authenticate: Bearer realm=\"api\", error=\"invalid_token\"",
            ),
            ("Bearer [Filtered]", "Bearer [Filtered]"),
        ];
        for (input, expected) in cases {
            assert_eq!(run(input), expected, "{input}");
        }
    }

    #[test]
    fn private_key_blocks_are_replaced_whole() {
        let body = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK";
        let cases = [
            (
                format!("-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\nnext line"),
                "[private_key]\nnext line".to_string(),
            ),
            (
                format!("key=-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\", next", body.replace('\n', "\\n")),
                "key=[private_key]\\n\", next".to_string(),
            ),
            (
                format!("pasted -----BEGIN OPENSSH PRIVATE KEY----- {} -----END OPENSSH PRIVATE KEY----- done", body.replace('\n', " ")),
                "pasted [private_key] done".to_string(),
            ),
            (
                format!("cut short -----BEGIN EC PRIVATE KEY-----\n{body}"),
                "cut short [private_key]".to_string(),
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\nMIIEowIBAAKCAQEAu1SU1\n-----END RSA PRIVATE KEY-----".to_string(),
                "[private_key]".to_string(),
            ),
            (
                "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBF0Zk1EBCADJ8uQm\n=Ab12\n-----END PGP PRIVATE KEY BLOCK-----".to_string(),
                "[private_key]".to_string(),
            ),
            (
                format!("GOOGLE_KEY={}", body.replace('\n', "")),
                "GOOGLE_KEY=[private_key]".to_string(),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(run(&input), expected, "{input}");
        }
    }

    #[test]
    fn kept_parts_stay_and_only_the_secret_goes() {
        let cases = [
            ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [Filtered]"),
            ("retry with basic YWxhZGRpbjpvcGVuc2VzYW1l now", "retry with basic [Filtered] now"),
            (
                "Authorization: token 0123456789abcdef0123456789abcdef01234567",
                "Authorization: token [Filtered]",
            ),
            (
                r#"Digest username="Mufasa", realm="testrealm@host.com", response="6629fae49393a05397450978507c4ef1""#,
                "Digest [Filtered]",
            ),
            (
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zm9vYmFy;b==;EndpointSuffix=core.windows.net done",
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=[Filtered] done",
            ),
            (
                "Server=tcp:x.database.windows.net,1433;User ID=app;Password=p@ss;word;Encrypt=True",
                "Server=tcp:x.database.windows.net,1433;User ID=app;Password=[Filtered]",
            ),
            (
                "POST https://hooks.slack.com/services/T0ABCDEFG/B0ABCDEFG/abcdefghijklmnopqrstuvwx failed",
                "POST https://hooks.slack.com/services/[Filtered] failed",
            ),
            (
                "GET https://acct.blob.core.windows.net/c/b?sv=2022-11-02&se=2024-01-01&sig=AbCdEfGhIjKlMnOpQrStUvWxYz%3D 403",
                "GET https://acct.blob.core.windows.net/c/b?sv=2022-11-02&se=2024-01-01&sig=[Filtered] 403",
            ),
            (
                "Client('AC0123456789abcdef0123456789abcdef', 'fedcba9876543210fedcba9876543210')",
                "Client('AC0123456789abcdef0123456789abcdef', '[api_key]')",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(run(input), expected, "{input}");
        }
    }

    #[test]
    fn markers_are_not_replaced_again() {
        for text in [
            "AccountKey=[Filtered]",
            "Basic [Filtered]",
            "https://hooks.slack.com/services/[Filtered]",
            ";Password=[Filtered]",
        ] {
            assert_eq!(run(text), text);
        }
    }
}
