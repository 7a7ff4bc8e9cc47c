//! The `pg-observe` binary end to end: exit codes and messages against a
//! real PostgreSQL with pg_observe (PG_OBSERVE_TEST_URL, a fresh database
//! per test) and the Vercel stand-in (standins/vercel) in-process.

use std::path::PathBuf;
use std::process::Command;

use postgres::{Client, NoTls};
use serde_json::Value;

const TOKEN: &str = "test-token";
const PROJECT: &str = "prj_shop";
const TEAM: &str = "team_1";

struct Db {
    name: String,
    url: String,
    client: Client,
}

fn cluster_url() -> String {
    std::env::var("PG_OBSERVE_TEST_URL").expect("PG_OBSERVE_TEST_URL: see scripts/test.sh")
}

impl Db {
    fn new() -> Db {
        let name = format!("cli_{}_{}", std::process::id(), rand_suffix());
        let mut admin =
            Client::connect(&cluster_url(), NoTls).expect("connect to the test cluster");
        admin
            .batch_execute(&format!("create database {name}"))
            .unwrap();
        let url = format!("{} dbname={name}", cluster_url());
        let mut client = Client::connect(&url, NoTls).unwrap();
        client.batch_execute("create extension pg_observe").unwrap();
        Db { name, url, client }
    }

    fn exec(&mut self, sql: &str) {
        self.client
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Ok(mut admin) = Client::connect(&cluster_url(), NoTls) {
            let _ = admin.batch_execute(&format!(
                "drop database if exists {} with (force)",
                self.name
            ));
        }
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{nanos}_{}", N.fetch_add(1, Ordering::Relaxed))
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn pg_observe(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pg-observe"));
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("SUPABASE_DB_URL")
        .env_remove("VERCEL_TOKEN")
        .env_remove("VERCEL_PROJECT_ID")
        .env_remove("VERCEL_TEAM_ID")
        .env_remove("VERCEL_API_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run pg-observe");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A Vercel stand-in with a "good" and a "bad" site directory.
struct Vercel {
    origin: String,
    dir: PathBuf,
}

impl Vercel {
    fn start() -> Vercel {
        Self::with_rate_limit(1000, 60)
    }

    fn with_rate_limit(rate_limit: u64, rate_window_seconds: u64) -> Vercel {
        let origin = vercel_standin::start(vercel_standin::Options {
            token: TOKEN.into(),
            project: PROJECT.into(),
            team: Some(TEAM.into()),
            port: 0,
            rate_limit,
            rate_window_seconds,
        })
        .expect("start the stand-in");
        let dir = std::env::temp_dir().join(format!("pg-observe-cli-{}", rand_suffix()));
        for (name, body) in [("good", "<h1>good</h1>"), ("bad", "<h1>bad</h1>")] {
            std::fs::create_dir_all(dir.join(name)).unwrap();
            std::fs::write(dir.join(name).join("index.html"), body).unwrap();
        }
        Vercel { origin, dir }
    }

    /// Creates a deploy of `site`: live at once for production unless staged.
    fn deploy(&self, id: &str, site: &str, target: &str, stage: bool) {
        let body = serde_json::json!({"id": id, "dir": self.dir.join(site), "target": target, "stage": stage});
        ureq::post(&format!("{}/_standin/deployments", self.origin))
            .send_string(&body.to_string())
            .expect("create deploy");
    }

    fn production(&self) -> String {
        let body: Value = ureq::get(&format!(
            "{}/v9/projects/{PROJECT}?teamId={TEAM}",
            self.origin
        ))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
        body["targets"]["production"]["id"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    fn env<'a>(&'a self, db_url: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("DATABASE_URL", db_url),
            ("VERCEL_TOKEN", TOKEN),
            ("VERCEL_PROJECT_ID", PROJECT),
            ("VERCEL_TEAM_ID", TEAM),
            ("VERCEL_API_URL", self.origin.as_str()),
        ]
    }
}

/// Records a deploy that became live `minutes_ago`, with a stored verdict.
fn recorded(db: &mut Db, id: &str, environment: &str, minutes_ago: i32, verdict: Option<&str>) {
    db.exec(&format!(
        "select observe.record_deploy('{id}', '{environment}', commit_sha => 'abc{id}',
                occurred_at => now() - interval '{minutes_ago} minutes')"
    ));
    if let Some(v) = verdict {
        db.exec(&format!(
            "insert into observe.deploy_verifications (deployment, deployment_id, environment, verdict, reasons,
                    metrics, window_size, window_start, window_end, policy)
             select id, deployment_id, environment, '{v}', '[]', '{{}}', '15 minutes', ready_at,
                    ready_at + interval '15 minutes', '{{}}'
               from observe.deployments where deployment_id = '{id}'"
        ));
    }
}

/// `n` page loads of production since `minutes_ago`.
fn traffic(db: &mut Db, n: i32, minutes_ago: i32) {
    db.exec(&format!(
        "insert into observe.web_vitals (name, value, rating, page, environment, received_at)
         select 'TTFB', 200, 'good', 'https://shop.example.com/', 'production',
                now() - make_interval(secs => {minutes_ago} * 60 * i / {n}::float8 - 0.5)
           from generate_series(1, {n}) i"
    ));
}

#[test]
fn usage_errors_and_help() {
    let r = pg_observe(&[], &[]);
    assert_eq!(r.code, 64, "{}", r.stderr);
    let r = pg_observe(
        &["deploy", "verify", "--id", "x", "--window", "15 minutes"],
        &[],
    );
    assert_eq!(r.code, 64);
    assert!(r.stderr.contains("not a duration"), "{}", r.stderr);
    let r = pg_observe(&["deploy", "--help"], &[]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("Exit codes:") && r.stdout.contains("VERCEL_TOKEN"),
        "{}",
        r.stdout
    );
    let r = pg_observe(&["deploy", "verify", "--id", "x"], &[]);
    assert_eq!(r.code, 78);
    assert!(r.stderr.contains("set DATABASE_URL"), "{}", r.stderr);
    let r = pg_observe(
        &["deploy", "verify", "--id", "x"],
        &[(
            "DATABASE_URL",
            "host=127.0.0.1 port=1 user=postgres connect_timeout=2",
        )],
    );
    assert_eq!(r.code, 69, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot reach the database"),
        "{}",
        r.stderr
    );
}

#[test]
fn verify_exits_by_verdict() {
    let mut db = Db::new();
    let env = [("DATABASE_URL", db.url.clone())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let r = pg_observe(&["deploy", "verify", "--id", "dpl_nowhere"], &env);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("is not known"), "{}", r.stderr);

    let r = pg_observe(
        &[
            "deploy",
            "record",
            "--id",
            "dpl_1",
            "--environment",
            "production",
            "--commit",
            "abc1234",
            "--commit-time",
            "2026-01-02T03:04:05Z",
        ],
        &env,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("recorded deploy dpl_1"), "{}", r.stdout);
    let r = pg_observe(
        &[
            "deploy",
            "record",
            "--id",
            "dpl_1",
            "--environment",
            "Prod!",
            "--commit",
            "x",
        ],
        &env,
    );
    assert_eq!(r.code, 70, "{}", r.stderr);

    // Just deployed: the window is not over.
    let r = pg_observe(&["deploy", "verify", "--id", "dpl_1"], &env);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("verdict: INCONCLUSIVE") && r.stdout.contains("to go"),
        "{}",
        r.stdout
    );
    let r = pg_observe(
        &["deploy", "verify", "--id", "dpl_1", "--inconclusive-ok"],
        &env,
    );
    assert_eq!(r.code, 0);

    // A new issue fails it at once.
    db.exec(
        "select observe.log_error('TypeError: total is undefined', environment => 'production')",
    );
    let r = pg_observe(&["--json", "deploy", "verify", "--id", "dpl_1"], &env);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["verdict"], "fail");
    assert!(v["notification_id"].is_string());

    // A quiet deploy whose window is over, with users: pass.
    recorded(&mut db, "dpl_2", "production", 16, None);
    traffic(&mut db, 200, 15);
    let r = pg_observe(&["deploy", "verify", "--id", "dpl_2"], &env);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("verdict: PASS"));
    assert!(r.stdout.contains("CHECK") && r.stdout.contains("traffic"));
}

#[test]
fn verify_wait_polls_with_progress_until_the_window_ends() {
    let mut db = Db::new();
    db.exec("select observe.record_deploy('dpl_w', 'production', occurred_at => now() - interval '55 seconds')");
    traffic(&mut db, 150, 1);
    let r = pg_observe(
        &[
            "deploy", "verify", "--id", "dpl_w", "--window", "1m", "--wait", "--poll", "2s",
        ],
        &[("DATABASE_URL", db.url.as_str())],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("of the window"),
        "progress lines: {}",
        r.stderr
    );
    assert!(r.stdout.contains("verdict: PASS"));
}

#[test]
fn rollback_goes_to_the_last_healthy_deploy_and_refuses_without_one() {
    let mut db = Db::new();
    let vercel = Vercel::start();
    vercel.deploy("dpl_good", "good", "production", false);
    vercel.deploy("dpl_bad", "bad", "production", false);
    recorded(&mut db, "dpl_good", "production", 60, Some("pass"));
    recorded(&mut db, "dpl_bad", "production", 5, Some("fail"));
    let db_url = db.url.clone();
    let env = vercel.env(&db_url);
    let origin = vercel.origin.clone();

    let r = pg_observe(&["deploy", "rollback", "--url", &origin], &env);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("from dpl_bad to dpl_good"),
        "{}",
        r.stdout
    );
    assert_eq!(vercel.production(), "dpl_good");
    let body = ureq::get(&origin).call().unwrap().into_string().unwrap();
    assert!(body.contains("good"), "production serves the good build");
    let n: i64 = db
        .client
        .query_one("select count(*) from observe.deploy_rollbacks", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1);

    // Now dpl_good is live and nothing else passed: refuse.
    let r = pg_observe(&["deploy", "rollback", "--url", &origin], &env);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("no healthy deploy to roll back to"),
        "{}",
        r.stderr
    );
    // An explicit target without a passing verdict is refused too, unless forced.
    let r = pg_observe(
        &["deploy", "rollback", "--to", "dpl_bad", "--url", &origin],
        &env,
    );
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("no passing verification"), "{}", r.stderr);
    let r = pg_observe(&["deploy", "rollback", "--to", "dpl_unknown"], &env);
    assert_eq!(r.code, 4, "{}", r.stderr);
}

#[test]
fn vercel_errors_have_their_own_exit_codes() {
    let mut db = Db::new();
    let vercel = Vercel::start();
    vercel.deploy("dpl_good", "good", "production", false);
    vercel.deploy("dpl_bad", "bad", "production", false);
    recorded(&mut db, "dpl_good", "production", 60, Some("pass"));
    recorded(&mut db, "dpl_bad", "production", 5, None);
    let db_url = db.url.clone();

    let mut env = vercel.env(&db_url);
    env.push(("VERCEL_TOKEN", "wrong"));
    let r = pg_observe(&["deploy", "rollback"], &env);
    assert_eq!(r.code, 77, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Vercel API error 403 (forbidden): Not authorized"),
        "{}",
        r.stderr
    );

    let mut env = vercel.env(&db_url);
    env.push(("VERCEL_API_URL", "http://127.0.0.1:1"));
    let r = pg_observe(&["deploy", "rollback"], &env);
    assert_eq!(r.code, 75, "{}", r.stderr);

    let mut env = vercel.env(&db_url);
    env.push(("VERCEL_PROJECT_ID", "prj_other"));
    let r = pg_observe(&["deploy", "rollback"], &env);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("not_found"), "{}", r.stderr);

    let env: Vec<(&str, &str)> = vec![("DATABASE_URL", db.url.as_str())];
    let r = pg_observe(&["deploy", "rollback"], &env);
    assert_eq!(r.code, 78);
    assert!(r.stderr.contains("VERCEL_TOKEN"), "{}", r.stderr);
}

#[test]
fn a_rate_limited_call_waits_for_the_reset_and_succeeds() {
    let mut db = Db::new();
    // Two API calls per two seconds; a rollback makes four or more.
    let vercel = Vercel::with_rate_limit(2, 2);
    vercel.deploy("dpl_good", "good", "production", false);
    vercel.deploy("dpl_bad", "bad", "production", false);
    recorded(&mut db, "dpl_good", "production", 60, Some("pass"));
    recorded(&mut db, "dpl_bad", "production", 5, None);
    let db_url = db.url.clone();
    let origin = vercel.origin.clone();
    let r = pg_observe(
        &["deploy", "rollback", "--url", &origin],
        &vercel.env(&db_url),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Vercel rate limit reached (x-ratelimit-limit 2), retrying in"),
        "{}",
        r.stderr
    );
}

#[test]
fn promote_only_verified_deploys() {
    let mut db = Db::new();
    let vercel = Vercel::start();
    vercel.deploy("dpl_live", "good", "production", false);
    vercel.deploy("dpl_next", "bad", "production", true);
    vercel.deploy("dpl_unverified", "bad", "production", true);
    recorded(&mut db, "dpl_live", "production", 60, Some("pass"));
    recorded(&mut db, "dpl_next", "staging", 30, Some("pass"));
    recorded(&mut db, "dpl_unverified", "staging", 30, None);
    let db_url = db.url.clone();
    let env = vercel.env(&db_url);
    let origin = vercel.origin.clone();

    let r = pg_observe(
        &[
            "deploy",
            "promote",
            "--id",
            "dpl_unverified",
            "--url",
            &origin,
        ],
        &env,
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("no passing verification"));
    assert_eq!(vercel.production(), "dpl_live");

    let r = pg_observe(
        &["deploy", "promote", "--id", "dpl_next", "--url", &origin],
        &env,
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(vercel.production(), "dpl_next");
    let (environment, promoted): (String, bool) = {
        let row = db
            .client
            .query_one(
                "select environment, promoted_at is not null from observe.deployments where deployment_id = 'dpl_next'",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!((environment.as_str(), promoted), ("production", true));
    // The production window now starts at the promotion.
    let r = pg_observe(&["--json", "deploy", "verify", "--id", "dpl_next"], &env);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["environment"], "production");
    assert_eq!(v["metrics"]["complete"], false);
}

#[test]
fn headers_are_generated_strict_and_graded() {
    // Without a policy, a static format gets a hash-based CSP (no inline
    // script hashed: script-src 'none'), still A+.
    let r = pg_observe(&["headers"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("script-src 'none'"), "{}", r.stdout);
    assert!(r.stderr.contains("grade A+"), "{}", r.stderr);

    let dir = std::env::temp_dir().join(format!("pg-observe-headers-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let nonce = dir.join("nonce.toml");
    std::fs::write(&nonce, "csp = \"nonce\"\n").unwrap();
    let r = pg_observe(&["headers", "--policy", nonce.to_str().unwrap()], &[]);
    assert_eq!(
        r.code, 65,
        "a static format cannot carry a nonce: {}",
        r.stderr
    );
    assert!(r.stderr.contains("csp = \"hash\""), "{}", r.stderr);

    let r = pg_observe(
        &[
            "headers",
            "--format",
            "nginx",
            "--report-uri",
            "https://x.supabase.co/functions/v1/ingest",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("add_header Content-Security-Policy \"default-src 'self'; script-src 'nonce-$request_id' 'strict-dynamic'"), "{}", r.stdout);
    assert!(r.stdout.contains("sub_filter '__CSP_NONCE__' $request_id;"));
    assert!(r.stderr.contains("grade A+"), "{}", r.stderr);

    std::fs::write(
        dir.join("index.html"),
        "<html><script>document.title = 'x'</script></html>",
    )
    .unwrap();
    let r = pg_observe(
        &["--json", "headers", "--hash-from", dir.to_str().unwrap()],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["grade"]["grade"], "A+");
    let config: Value = serde_json::from_str(v["config"].as_str().unwrap()).unwrap();
    let csp = config["headers"][0]["headers"][0]["value"]
        .as_str()
        .unwrap();
    // sha256 of "document.title = 'x'".
    assert!(csp.contains("'sha256-"), "{csp}");

    let r = pg_observe(
        &[
            "headers",
            "--format",
            "netlify",
            "--hash-from",
            dir.to_str().unwrap(),
            "--report-only",
        ],
        &[],
    );
    assert_eq!(
        r.code, 0,
        "enforced, the report-only policy is A+: {}",
        r.stderr
    );
    assert!(r.stdout.contains("Content-Security-Policy-Report-Only:"));
    assert!(r.stderr.contains("report-only rollout"));

    let weak = dir.join("weak.toml");
    std::fs::write(&weak, "csp = \"hash\"\nhsts_max_age = 300\nframe_ancestors = [\"*\"]\ncross_origin_opener_policy = \"unsafe-none\"\n").unwrap();
    let r = pg_observe(&["headers", "--policy", weak.to_str().unwrap()], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("hsts_short_max_age"),
        "says why not A+: {}",
        r.stderr
    );

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[directives]\n\"script-src\" = [\"*\"]\n").unwrap();
    let r = pg_observe(
        &[
            "headers",
            "--policy",
            bad.to_str().unwrap(),
            "--format",
            "plain",
        ],
        &[],
    );
    assert_eq!(r.code, 65);
    assert!(r.stderr.contains("script-src is generated"), "{}", r.stderr);
}

#[test]
fn budgets_and_the_gate() {
    let mut db = Db::new();
    let env = [("DATABASE_URL", db.url.clone())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = std::env::temp_dir().join(format!("pg-observe-budgets-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let lhci = dir.join("lighthouserc.json");
    std::fs::write(
        &lhci,
        r#"{"ci": {"assert": {"assertions": {"largest-contentful-paint": ["error", {"maxNumericValue": 2500}],
                                              "total-blocking-time": ["warn", {"maxNumericValue": 300}]}}}}"#,
    )
    .unwrap();
    let r = pg_observe(
        &[
            "budgets",
            "import",
            lhci.to_str().unwrap(),
            "--environment",
            "production",
        ],
        &env,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("imported 1 budgets") && r.stdout.contains("skipped total-blocking-time"),
        "{}",
        r.stdout
    );
    let junk = dir.join("junk.json");
    std::fs::write(&junk, "{\"ci\": {}}").unwrap();
    let r = pg_observe(&["budgets", "import", junk.to_str().unwrap()], &env);
    assert_eq!(r.code, 65, "{}", r.stderr);

    let r = pg_observe(&["budgets", "check"], &env);
    assert_eq!(r.code, 0, "no data is no breach: {}", r.stdout);
    assert!(r.stdout.contains("NO_DATA"), "{}", r.stdout);
    db.exec(
        "insert into observe.web_vitals (name, value, rating, page, environment, release)
         select 'LCP', 3900, 'poor', 'https://shop.example.com/', 'production', 'web@1.0.0' from generate_series(1, 20)",
    );
    let r = pg_observe(&["budgets", "check", "--release", "web@1.0.0"], &env);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("FAIL") && r.stdout.contains("3900 ms"),
        "{}",
        r.stdout
    );

    recorded(&mut db, "dpl_gate", "production", 16, Some("pass"));
    traffic(&mut db, 200, 15);
    let r = pg_observe(
        &[
            "--json",
            "gate",
            "--id",
            "dpl_gate",
            "--environment",
            "production",
        ],
        &env,
    );
    assert_eq!(r.code, 1, "budgets fail the gate: {}", r.stdout);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let status = |name: &str| {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(v["verdict"], "fail");
    assert_eq!(status("budgets"), "fail");
    assert_eq!(status("headers"), "skipped");
    assert_eq!(status("alerts"), "pass");
    db.exec("delete from observe.web_vitals where name = 'LCP'");
    db.exec("delete from observe.deploy_verifications");
    let r = pg_observe(
        &["gate", "--id", "dpl_gate", "--environment", "production"],
        &env,
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains("GATE") && r.stdout.contains("gate: PASS"),
        "{}",
        r.stdout
    );
}
