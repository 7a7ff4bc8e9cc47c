//! Secrets written in free text, as anyone holding the public `anon` key
//! can send them: every sample must be scrubbed in every placement a token
//! reaches storage through (a sentence, a stack frame, a JSON value under a
//! harmless key, after `key=`, in quotes).
//!
//! The samples are made up, shaped after each format's specification (the
//! random parts come from a fixed-seed generator); none is a live secret.
//! Each names the part that must not survive: all of it, or for formats
//! whose surroundings stay (`Basic [Filtered]`, a webhook's host), the
//! secret part only.

use pg_observe_core::scrub::Scrubber;
use serde_json::{json, Value};

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_DIGITS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const LOWER_HEX: &str = "0123456789abcdef";
const URL_SAFE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const BASE64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A fixed-seed generator of the random parts, so samples are stable and
/// none is copied from anywhere.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick(&mut self, charset: &str, len: usize) -> String {
        let chars: Vec<char> = charset.chars().collect();
        // Every sample gets letters of both cases and a digit where the
        // charset has them, as real tokens do.
        let mut out: String = (0..len)
            .map(|_| chars[self.next() as usize % chars.len()])
            .collect();
        if len >= 4 && charset == ALNUM {
            out.replace_range(0..3, "aZ7");
        }
        out
    }
}

struct Sample {
    format: &'static str,
    text: String,
    /// What must not survive; the whole text unless told otherwise.
    secret: String,
}

fn whole(format: &'static str, text: String) -> Sample {
    Sample {
        format,
        secret: text.clone(),
        text,
    }
}

fn part(format: &'static str, text: String, secret: String) -> Sample {
    assert!(
        text.contains(&secret),
        "{format}: {secret:?} not in {text:?}"
    );
    Sample {
        format,
        text,
        secret,
    }
}

fn base64(bytes: &[u8]) -> String {
    let table = BASE64.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(table[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

fn base64url(text: &str) -> String {
    base64(text.as_bytes())
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

fn jwt(g: &mut Gen, header: &str, payload: &str, signature_len: usize) -> String {
    let signature = g.pick(URL_SAFE, signature_len);
    format!("{}.{}.{signature}", base64url(header), base64url(payload))
}

fn pem(g: &mut Gen, label: &str, lines: usize) -> (String, String) {
    let body: Vec<String> = (0..lines).map(|_| g.pick(BASE64, 64)).collect();
    let body = format!("MIIEowIBAAKCAQEA{}", body.join("\n"));
    (
        format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----"),
        body,
    )
}

#[rustfmt::skip]
fn samples() -> Vec<Sample> {
    let g = &mut Gen(0x5eed);
    let mut s = Vec::new();

    // Private keys: the body must go with the BEGIN line.
    for label in ["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "DSA PRIVATE KEY"] {
        let (text, body) = pem(g, label, 3);
        s.push(part("private_key_block", text, body.lines().nth(1).unwrap().to_string()));
    }
    let (text, body) = pem(g, "PRIVATE KEY", 2);
    s.push(part("private_key_block (\\n escapes)", text.replace('\n', "\\n"), body.lines().nth(1).unwrap().to_string()));
    let (text, body) = pem(g, "RSA PRIVATE KEY", 2);
    s.push(part("private_key_block (one line)", text.replace('\n', " "), body.lines().nth(1).unwrap().to_string()));
    let (text, body) = pem(g, "EC PRIVATE KEY", 3);
    let cut = text[..text.find("-----END").unwrap()].trim_end().to_string();
    s.push(part("private_key_block (no END)", cut, body.lines().last().unwrap().to_string()));
    let line = g.pick(BASE64, 64);
    s.push(part("private_key_block (encrypted)", format!("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,{}\n\n{line}\n-----END RSA PRIVATE KEY-----", g.pick("0123456789ABCDEF", 16)), line.clone()));
    let line = g.pick(BASE64, 64);
    s.push(part("private_key_block (PGP)", format!("-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBF{line}\n={}\n-----END PGP PRIVATE KEY BLOCK-----", g.pick(BASE64, 4)), line));
    let line = g.pick(BASE64, 64);
    s.push(part("putty_private_key", format!("Private-Lines: 14\n{line}\n{}\nPrivate-MAC: {}", g.pick(BASE64, 64), g.pick(LOWER_HEX, 40)), line));
    s.push(whole("private_key_der_base64 (PKCS#8)", format!("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC{}", g.pick(BASE64, 120))));
    s.push(whole("private_key_der_base64 (EC)", format!("MHcCAQEEI{}", g.pick(BASE64, 100))));
    s.push(whole("age_secret_key", format!("AGE-SECRET-KEY-1{}", g.pick("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58))));

    // JWTs: signed, unsigned, encrypted, base64-wrapped.
    s.push(whole("jwt (HS256)", jwt(g, r#"{"alg":"HS256","typ":"JWT"}"#, r#"{"sub":"1234567890","role":"service_role"}"#, 43)));
    s.push(whole("jwt (RS256)", jwt(g, r#"{"alg":"RS256","kid":"k1"}"#, r#"{"iss":"https://auth.example.com","exp":2000000000}"#, 342)));
    s.push(whole("jwt (unsigned, final dot)", format!("{}.{}.", base64url(r#"{"alg":"none"}"#), base64url(r#"{"sub":"42","admin":true}"#))));
    s.push(whole("jwt (unsigned, no final dot)", format!("{}.{}", base64url(r#"{"alg":"none"}"#), base64url(r#"{"sub":"42","admin":true}"#))));
    s.push(whole("jwt (JWE)", format!("{}.{}.{}.{}.{}", base64url(r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#), g.pick(URL_SAFE, 342), g.pick(URL_SAFE, 16), g.pick(URL_SAFE, 80), g.pick(URL_SAFE, 22))));
    s.push(whole("jwt (JWE dir)", format!("{}..{}.{}.{}", base64url(r#"{"alg":"dir","enc":"A256GCM"}"#), g.pick(URL_SAFE, 16), g.pick(URL_SAFE, 60), g.pick(URL_SAFE, 22))));
    s.push(whole("jwt_base64", base64(jwt(g, r#"{"alg":"HS256"}"#, r#"{"sub":"7"}"#, 43).as_bytes()).trim_end_matches('=').to_string()));

    // Authorization schemes: the scheme word stays.
    let token = g.pick(URL_SAFE, 40);
    s.push(part("bearer_auth", format!("Bearer {token}"), token));
    let token = jwt(g, r#"{"alg":"ES256"}"#, r#"{"sub":"u1"}"#, 86);
    s.push(part("bearer_auth (jwt)", format!("bearer {token}"), token));
    let creds = base64(b"svc-account:Sup3r-S3cret!");
    s.push(part("basic_auth", format!("Basic {creds}"), creds));
    let creds = base64(b"api:key-0123456789");
    s.push(part("basic_auth (lowercase)", format!("basic {creds}"), creds));
    let token = g.pick(LOWER_HEX, 40);
    s.push(part("token_auth", format!("Token {token}"), token));
    let response = g.pick(LOWER_HEX, 32);
    s.push(part("digest_auth", format!(r#"Digest username="ops", realm="api", nonce="{}", uri="/v1", response="{response}""#, g.pick(LOWER_HEX, 32)), response));
    let ticket = format!("YII{}", g.pick(BASE64, 60));
    s.push(part("negotiate_auth", format!("Negotiate {ticket}"), ticket));
    let ticket = format!("TlRMTVNTUAAB{}", g.pick(BASE64, 40));
    s.push(part("negotiate_auth (NTLM)", format!("NTLM {ticket}"), ticket));

    // Connection strings: the secret runs to the end of the string.
    let key = format!("{}==", g.pick(BASE64, 86));
    s.push(part("connection_string_key (storage)", format!("DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={key};EndpointSuffix=core.windows.net"), key));
    let key = format!("{}=", g.pick(BASE64, 43));
    s.push(part("connection_string_key (service bus)", format!("Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={key}"), key));
    let password = format!("p{};w{}", g.pick(ALNUM, 8), g.pick(ALNUM, 8));
    s.push(part("connection_string_password", format!("Server=tcp:acme.database.windows.net,1433;Initial Catalog=app;User ID=app;Password={password};Encrypt=True"), password));
    let password = format!("{{{};{}}}", g.pick(ALNUM, 10), g.pick(ALNUM, 6));
    s.push(part("connection_string_password (ODBC)", format!("Driver={{ODBC Driver 18}};Server=db;Uid=app;PWD={password};"), password));

    // URL credentials and DSNs (the URL rule).
    let password = g.pick(ALNUM, 16);
    s.push(part("url_credentials (postgres)", format!("postgres://app:{password}@db.abcdefghijklmnop.supabase.co:5432/postgres"), password));
    let password = g.pick(ALNUM, 20);
    s.push(part("url_credentials (mongodb+srv)", format!("mongodb+srv://admin:{password}@cluster0.ab1cd.mongodb.net/app"), password));
    let password = g.pick(ALNUM, 24);
    s.push(part("url_credentials (redis)", format!("redis://:{password}@cache.internal:6379/0"), password));
    let password = g.pick(ALNUM, 18);
    s.push(part("url_credentials (amqp)", format!("amqps://worker:{password}@mq.example.com/vhost"), password));
    let secret = g.pick(LOWER_HEX, 32);
    s.push(part("url_credentials (Sentry DSN)", format!("https://{}:{secret}@o12345.ingest.sentry.io/678", g.pick(LOWER_HEX, 32)), secret));

    // Webhook and signed URLs: the host stays.
    let path = format!("T{}/B{}/{}", g.pick(UPPER_DIGITS, 10), g.pick(UPPER_DIGITS, 10), g.pick(ALNUM, 24));
    s.push(part("slack_webhook_url", format!("https://hooks.slack.com/services/{path}"), path));
    let path = format!("{}/{}", g.pick(UPPER_DIGITS, 11), g.pick(ALNUM, 40));
    s.push(part("slack_webhook_url (workflow)", format!("https://hooks.slack.com/workflows/{path}"), path));
    let path = format!("{}/{}", g.pick("0123456789", 19), g.pick(URL_SAFE, 68));
    s.push(part("discord_webhook_url", format!("https://discord.com/api/webhooks/{path}"), path));
    let path = format!("{}@{}/IncomingWebhook/{}/{}", g.pick(LOWER_HEX, 32), g.pick(LOWER_HEX, 32), g.pick(LOWER_HEX, 32), g.pick(LOWER_HEX, 32));
    s.push(part("teams_webhook_url", format!("https://acme.webhook.office.com/webhookb2/{path}"), path));
    let sig = format!("{}%3D", g.pick(ALNUM, 43));
    s.push(part("signed_url_signature (Azure SAS)", format!("https://acme.blob.core.windows.net/c/report.pdf?sv=2022-11-02&se=2030-01-01T00%3A00%3A00Z&sr=b&sp=r&sig={sig}"), sig));
    let sig = g.pick(LOWER_HEX, 64);
    s.push(part("signed_url_signature (S3)", format!("https://bucket.s3.amazonaws.com/a.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20300101T000000Z&X-Amz-Expires=900&X-Amz-Signature={sig}"), sig));
    let token = g.pick(ALNUM, 120);
    s.push(part("signed_url_signature (S3 session)", format!("https://bucket.s3.amazonaws.com/a.png?X-Amz-Security-Token={token}&X-Amz-Expires=60"), token));
    let sig = g.pick(LOWER_HEX, 128);
    s.push(part("signed_url_signature (GCS)", format!("https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature={sig}"), sig));

    // Cloud providers.
    for prefix in ["AKIA", "ASIA", "ABIA", "ACCA", "A3TX"] {
        s.push(whole("aws_access_key_id", format!("{prefix}{}", g.pick(UPPER_DIGITS, 16))));
    }
    let secret = g.pick(BASE64, 40);
    s.push(part("aws_access_key_pair", format!("AKIA{}:{secret}", g.pick(UPPER_DIGITS, 16)), secret));
    s.push(whole("google_api_key", format!("AIza{}", g.pick(URL_SAFE, 35))));
    s.push(whole("google_oauth_access_token", format!("ya29.{}", g.pick(URL_SAFE, 120))));
    s.push(whole("google_oauth_client_secret", format!("GOCSPX-{}", g.pick(URL_SAFE, 28))));
    s.push(whole("google_oauth_refresh_token", format!("1//0{}", g.pick(URL_SAFE, 100))));
    s.push(whole("firebase_cloud_messaging_key", format!("AAAA{}:APA91b{}", g.pick(URL_SAFE, 7), g.pick(URL_SAFE, 134))));
    s.push(whole("azure_ad_client_secret", format!("{}8Q~{}", g.pick(ALNUM, 3), g.pick(ALNUM, 34))));
    for prefix in ["dop_v1_", "doo_v1_", "dor_v1_"] {
        s.push(whole("digitalocean_token", format!("{prefix}{}", g.pick(LOWER_HEX, 64))));
    }
    s.push(whole("alibaba_access_key_id", format!("LTAI{}", g.pick(ALNUM, 20))));
    s.push(whole("heroku_api_key", format!("HRKU-AA{}", g.pick(URL_SAFE, 58))));
    s.push(whole("flyio_token", format!("fo1_{}", g.pick(URL_SAFE, 43))));
    s.push(whole("cloudflare_origin_ca_key", format!("v1.0-{}-{}", g.pick(LOWER_HEX, 24), g.pick(LOWER_HEX, 146))));

    // Source hosting and package registries.
    for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
        s.push(whole("github_token", format!("{prefix}{}", g.pick(ALNUM, 36))));
    }
    s.push(whole("github_fine_grained_pat", format!("github_pat_11{}_{}", g.pick(UPPER_DIGITS, 20), g.pick(ALNUM, 59))));
    for prefix in ["glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glimt-", "gloas-"] {
        s.push(whole("gitlab_token", format!("{prefix}{}", g.pick(URL_SAFE, 20))));
    }
    s.push(whole("gitlab_token (CI job)", format!("glcbt-64_{}", g.pick(URL_SAFE, 20))));
    s.push(whole("gitlab_runner_registration_token", format!("GR1348941{}", g.pick(URL_SAFE, 20))));
    s.push(whole("atlassian_api_token", format!("ATATT3xFfGF0{}={}", g.pick(URL_SAFE, 170), g.pick("0123456789ABCDEF", 8))));
    s.push(whole("npm_token", format!("npm_{}", g.pick(ALNUM, 36))));
    s.push(whole("pypi_token", format!("pypi-AgEIcHlwaS5vcmc{}", g.pick(URL_SAFE, 150))));
    s.push(whole("rubygems_token", format!("rubygems_{}", g.pick(LOWER_HEX, 48))));
    s.push(whole("clojars_token", format!("CLOJARS_{}", g.pick("abcdefghijklmnopqrstuvwxyz0123456789", 60))));
    s.push(whole("artifactory_api_key", format!("AKCp{}", g.pick(ALNUM, 69))));
    s.push(whole("postman_api_key", format!("PMAK-{}-{}", g.pick(LOWER_HEX, 24), g.pick(LOWER_HEX, 34))));
    s.push(whole("databricks_token", format!("dapi{}", g.pick(LOWER_HEX, 32))));
    s.push(whole("pulumi_token", format!("pul-{}", g.pick(LOWER_HEX, 40))));
    s.push(whole("prefect_token", format!("pnu_{}", g.pick(ALNUM, 36))));
    s.push(whole("readme_token", format!("rdme_{}", g.pick("abcdefghijklmnopqrstuvwxyz0123456789", 70))));
    s.push(whole("terraform_cloud_token", format!("{}.atlasv1.{}", g.pick(ALNUM, 14), g.pick(URL_SAFE, 67))));
    s.push(whole("dynatrace_token", format!("dt0c01.{}.{}", g.pick(UPPER_DIGITS, 24), g.pick(UPPER_DIGITS, 64))));

    // Chat and messaging.
    for prefix in ["xoxb", "xoxp", "xoxa", "xoxr", "xoxs", "xoxe", "xoxo"] {
        s.push(whole("slack_token", format!("{prefix}-{}-{}-{}", g.pick("0123456789", 12), g.pick("0123456789", 13), g.pick(ALNUM, 24))));
    }
    s.push(whole("slack_config_token", format!("xoxe.xoxp-1-{}", g.pick(ALNUM, 160))));
    s.push(whole("slack_app_token", format!("xapp-1-A{}-{}-{}", g.pick(UPPER_DIGITS, 10), g.pick("0123456789", 13), g.pick(LOWER_HEX, 64))));
    s.push(whole("telegram_bot_token", format!("{}:AA{}", g.pick("0123456789", 10), g.pick(URL_SAFE, 33))));
    s.push(whole("twilio_api_key", format!("SK{}", g.pick(LOWER_HEX, 32))));
    let auth = g.pick(LOWER_HEX, 32);
    s.push(part("twilio_auth_token", format!("AC{}:{auth}", g.pick(LOWER_HEX, 32)), auth));
    s.push(whole("sendgrid_api_key", format!("SG.{}.{}", g.pick(URL_SAFE, 22), g.pick(URL_SAFE, 43))));
    s.push(whole("brevo_api_key", format!("xkeysib-{}-{}", g.pick(LOWER_HEX, 64), g.pick(ALNUM, 16))));
    s.push(whole("mailgun_api_key", format!("key-{}", g.pick(LOWER_HEX, 32))));
    s.push(whole("mailchimp_api_key", format!("{}-us21", g.pick(LOWER_HEX, 32))));
    s.push(whole("resend_api_key", format!("re_{}_{}", g.pick(ALNUM, 8), g.pick(ALNUM, 24))));

    // Payments.
    for prefix in ["sk_live_", "sk_test_", "sk_prod_", "rk_live_", "rk_prod_"] {
        s.push(whole("stripe_secret_key", format!("{prefix}51{}", g.pick(ALNUM, 96))));
    }
    s.push(whole("stripe_webhook_secret", format!("whsec_{}", g.pick(ALNUM, 32))));
    s.push(whole("square_token (sq0atp)", format!("sq0atp-{}", g.pick(URL_SAFE, 22))));
    s.push(whole("square_token (sq0csp)", format!("sq0csp-{}", g.pick(URL_SAFE, 43))));
    s.push(whole("square_token (EAAA)", format!("EAAA{}", g.pick(URL_SAFE, 60))));
    for prefix in ["shpat_", "shpca_", "shppa_", "shpss_"] {
        s.push(whole("shopify_token", format!("{prefix}{}", g.pick(LOWER_HEX, 32))));
    }
    s.push(whole("facebook_access_token", format!("EAAC{}", g.pick(ALNUM, 180))));
    s.push(whole("easypost_api_key", format!("EZAK{}", g.pick(ALNUM, 54))));
    s.push(whole("shippo_token", format!("shippo_live_{}", g.pick(LOWER_HEX, 40))));
    s.push(whole("duffel_token", format!("duffel_test_{}", g.pick(URL_SAFE, 43))));
    s.push(whole("flutterwave_secret_key", format!("FLWSECK_TEST-{}-X", g.pick("abcdefgh0123456789", 32))));

    // AI providers.
    s.push(whole("anthropic_api_key", format!("sk-ant-api03-{}AA", g.pick(URL_SAFE, 93))));
    s.push(whole("anthropic_api_key (admin)", format!("sk-ant-admin01-{}AA", g.pick(URL_SAFE, 93))));
    s.push(whole("openai_project_key", format!("sk-proj-{}T3BlbkFJ{}", g.pick(URL_SAFE, 74), g.pick(URL_SAFE, 74))));
    s.push(whole("openai_project_key (service account)", format!("sk-svcacct-{}", g.pick(URL_SAFE, 80))));
    s.push(whole("sk_dash_api_key (legacy OpenAI)", format!("sk-{}T3BlbkFJ{}", g.pick(ALNUM, 20), g.pick(ALNUM, 20))));
    s.push(whole("sk_dash_api_key (DeepSeek)", format!("sk-{}", g.pick(LOWER_HEX, 32))));
    s.push(whole("groq_api_key", format!("gsk_{}", g.pick(ALNUM, 52))));
    s.push(whole("xai_api_key", format!("xai-{}", g.pick(ALNUM, 80))));
    s.push(whole("perplexity_api_key", format!("pplx-{}", g.pick(ALNUM, 48))));
    s.push(whole("replicate_api_token", format!("r8_{}", g.pick(ALNUM, 37))));
    s.push(whole("huggingface_token", format!("hf_{}", g.pick(ALNUM, 34))));
    s.push(whole("huggingface_token (org)", format!("api_org_{}", g.pick(ALNUM, 34))));

    // Secrets managers and observability.
    s.push(whole("vault_token (service)", format!("hvs.{}", g.pick(URL_SAFE, 95))));
    s.push(whole("vault_token (batch)", format!("hvb.{}", g.pick(URL_SAFE, 140))));
    s.push(whole("vault_legacy_token", format!("s.{}", g.pick(ALNUM, 24))));
    s.push(whole("doppler_token (personal)", format!("dp.pt.{}", g.pick(ALNUM, 43))));
    s.push(whole("doppler_token (service)", format!("dp.st.prd.{}", g.pick(ALNUM, 40))));
    s.push(whole("onepassword_token (service account)", format!("ops_eyJ{}", g.pick(BASE64, 300))));
    s.push(whole("onepassword_token (secret key)", format!("A3-{}-{}-{}-{}-{}", g.pick(UPPER_DIGITS, 6), g.pick(UPPER_DIGITS, 11), g.pick(UPPER_DIGITS, 5), g.pick(UPPER_DIGITS, 5), g.pick(UPPER_DIGITS, 5))));
    s.push(whole("sentry_token (org)", format!("sntrys_eyJpYXQiO{}_{}", g.pick(BASE64, 120), g.pick(BASE64, 43))));
    s.push(whole("sentry_token (user)", format!("sntryu_{}", g.pick(LOWER_HEX, 64))));
    s.push(whole("grafana_token (cloud)", format!("glc_{}", g.pick(BASE64, 80))));
    s.push(whole("grafana_token (service account)", format!("glsa_{}_{}", g.pick(ALNUM, 32), g.pick(LOWER_HEX, 8))));
    s.push(whole("grafana_token (API key)", format!("eyJrIjoi{}", g.pick(ALNUM, 80))));

    // Productivity and developer platforms.
    s.push(whole("linear_api_key", format!("lin_api_{}", g.pick(ALNUM, 40))));
    s.push(whole("notion_token (secret_)", format!("secret_{}", g.pick(ALNUM, 43))));
    s.push(whole("notion_token (ntn_)", format!("ntn_{}{}", g.pick("0123456789", 11), g.pick(ALNUM, 35))));
    s.push(whole("contentful_token", format!("CFPAT-{}", g.pick(URL_SAFE, 43))));
    s.push(whole("figma_token", format!("figd_{}", g.pick(URL_SAFE, 40))));
    s.push(whole("netlify_token", format!("nfp_{}", g.pick(ALNUM, 40))));
    s.push(whole("render_api_key", format!("rnd_{}", g.pick(ALNUM, 32))));
    s.push(whole("planetscale_token", format!("pscale_tkn_{}", g.pick(URL_SAFE, 43))));
    s.push(whole("planetscale_token (password)", format!("pscale_pw_{}", g.pick(URL_SAFE, 43))));
    s.push(whole("mapbox_secret_token", format!("sk.eyJ1Ijoi{}.{}", g.pick(URL_SAFE, 40), g.pick(URL_SAFE, 22))));
    s.push(whole("openshift_token", format!("sha256~{}", g.pick(URL_SAFE, 43))));

    // Supabase.
    s.push(whole("supabase_access_token", format!("sbp_{}", g.pick(LOWER_HEX, 40))));
    s.push(whole("supabase_secret_key", format!("sb_secret_{}", g.pick(URL_SAFE, 31))));
    s.push(whole("jwt (Supabase service_role)", jwt(g, r#"{"alg":"HS256","typ":"JWT"}"#, r#"{"iss":"supabase","ref":"abcdefghijklmnop","role":"service_role","iat":1700000000,"exp":2000000000}"#, 43)));
    s
}

/// One way a token reaches storage: the text scrubbed, and the scrubbed
/// text to search for the secret.
type Placement = (&'static str, fn(&Scrubber, &str) -> String);

fn placements() -> Vec<Placement> {
    vec![
        ("in a sentence", |s, t| {
            s.scrub_text(&format!(
                "request failed: upstream rejected {t} after 3 retries"
            ))
            .into_owned()
        }),
        ("in a stack frame", |s, t| {
            s.scrub_text(&format!(
                "Error: upstream\n    at call ({t})\n    at main (index.ts:3:1)"
            ))
            .into_owned()
        }),
        ("in a stack frame's URL", |s, t| {
            s.scrub_text(&format!(
                "TypeError: fetch failed\n    at load (https://cdn.example.com/app.js?v={t}:12:7)"
            ))
            .into_owned()
        }),
        ("as a JSON value under a harmless key", |s, t| {
            let mut value = json!({"note": t, "attempt": 2});
            s.scrub_json(&mut value);
            match &value["note"] {
                Value::String(note) => note.clone(),
                other => other.to_string(),
            }
        }),
        ("after key=", |s, t| {
            s.scrub_text(&format!("config key={t} rejected"))
                .into_owned()
        }),
        ("in double quotes", |s, t| {
            s.scrub_text(&format!("value \"{t}\" is invalid"))
                .into_owned()
        }),
        ("in single quotes", |s, t| {
            s.scrub_text(&format!("value '{t}' is invalid"))
                .into_owned()
        }),
    ]
}

/// A secret survives if any 8 consecutive characters of it do: a partial
/// replacement that leaves a tail is a leak too.
fn survives(secret: &str, out: &str) -> Option<String> {
    let chars: Vec<char> = secret.chars().collect();
    let window = chars.len().min(8);
    chars
        .windows(window)
        .map(|w| w.iter().collect::<String>())
        .find(|piece| out.contains(piece.as_str()))
}

#[test]
fn every_sample_is_scrubbed_in_every_placement() {
    let scrubber = Scrubber::default();
    let samples = samples();
    let placements = placements();
    let mut misses = Vec::new();
    for sample in &samples {
        for (placement, scrub) in &placements {
            let out = scrub(&scrubber, &sample.text);
            if let Some(piece) = survives(&sample.secret, &out) {
                misses.push(format!(
                    "{} {placement}: {piece:?} survives in {out:?}",
                    sample.format
                ));
            }
        }
    }
    let total = samples.len() * placements.len();
    println!(
        "{} samples x {} placements: {} of {total} scrubbed",
        samples.len(),
        placements.len(),
        total - misses.len()
    );
    let missed = |sample: &Sample| {
        misses
            .iter()
            .any(|miss| miss.starts_with(&format!("{} ", sample.format)))
    };
    println!(
        "samples scrubbed in every placement: {} of {}",
        samples.iter().filter(|sample| !missed(sample)).count(),
        samples.len()
    );
    assert!(samples.len() >= 100, "{} samples", samples.len());
    assert!(
        misses.is_empty(),
        "{} misses:\n{}",
        misses.len(),
        misses.join("\n")
    );
}

/// Scrubbing what was scrubbed changes nothing, for every sample in every
/// placement.
#[test]
fn scrubbed_samples_stay_put() {
    let scrubber = Scrubber::default();
    for sample in samples() {
        let once = scrubber
            .scrub_text(&format!("x {} y", sample.text))
            .into_owned();
        assert_eq!(scrubber.scrub_text(&once), once, "{}", sample.format);
    }
}

#[test]
fn postgres_key_details_are_scrubbed_by_column() {
    let scrubber = Scrubber::default();
    let cases = [
        (
            "duplicate key value violates unique constraint \"users_ssn_key\"\nDETAIL: Key (ssn)=(123-45-6789) already exists.",
            "duplicate key value violates unique constraint \"users_ssn_key\"\nDETAIL: Key (ssn)=([Filtered]) already exists.",
        ),
        (
            "DETAIL: Key (api_key)=(k_live_0123456789) already exists.",
            "DETAIL: Key (api_key)=([Filtered]) already exists.",
        ),
        (
            "DETAIL: Key (password_hash)=($argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA) already exists.",
            "DETAIL: Key (password_hash)=([Filtered]) already exists.",
        ),
        (
            "DETAIL: Key (tenant_id, session_token)=(42, 9f8e7d6c5b4a) is not present in table \"sessions\".",
            "DETAIL: Key (tenant_id, session_token)=(42, [Filtered]) is not present in table \"sessions\".",
        ),
        (
            "DETAIL: Key (email)=(jane@example.com) already exists.",
            "DETAIL: Key (email)=([email]) already exists.",
        ),
        (
            "DETAIL: Key (org_id, slug)=(42, my-post) already exists.",
            "DETAIL: Key (org_id, slug)=(42, my-post) already exists.",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(scrubber.scrub_text(input), expected, "{input}");
    }
}

/// Identifiers and data that look like a format's prefix but are not
/// secrets: none may change.
#[test]
fn lookalikes_survive() {
    let scrubber = Scrubber::default();
    for text in [
        "TypeError: Cannot read properties of undefined (reading 'map')",
        "class sk-button sk-navigation-menu-container-wrapper",
        "call re_compile_pattern_for_user failed",
        "pk_live_51H8abcdEFGHijklMNOPqrstUVwx is a publishable key",
        "sb_publishable_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz is public",
        "Basic auth failed for realm \"admin\"",
        "basic usage: see the docs",
        "missing bearer token",
        "Token expired at 2024-01-01T00:00:00Z",
        "invalid token format",
        "Digest realm=\"api\", qop=\"auth\", nonce=\"abc\"",
        "digest mismatch for sha256 of upload",
        "Password must be at least 8 characters",
        "AccountKey is required",
        "key-value store unavailable",
        "commit 5fc35719b9cf96ec602dbc748ff31c587a46961d is not an ancestor",
        "Document 7c1811ed-e98f-4c9c-a9f9-58c757ff494f not found",
        "ETag \"0751007cd28df267e8e051b51f918c60\" does not match",
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
        "at Object.<anonymous> (/app/node_modules/@supabase/postgrest-js/dist/PostgrestBuilder.js:121:9)",
        "GET https://api.github.com/repos/acme/app/pulls?state=open&per_page=100 404",
        "-----BEGIN CERTIFICATE-----",
        "-----BEGIN PUBLIC KEY-----",
        "s.ReadAllFromTheStreamNowX",
        "eyJ alone is not a token",
        "AKIAIOSFODNN7EXAMPLEXX",
        "xox is not a token either",
        "ACL ACCESS_DENIED for SKU 42",
        "hooks.slack.com is unreachable",
        "discord.com/api/webhooks/ returned 404",
        "max_tokens=4096 exceeded by prompt_tokens: 5000",
        "Key (org_id, slug)=(42, my-post) already exists.",
    ] {
        let out = scrubber.scrub_text(text);
        assert_eq!(out, text, "{text}");
    }
}
