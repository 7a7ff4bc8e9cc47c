//! `pg-observe gate`: every quality gate at once — the deploy's
//! verification, the web-vitals budgets, the security-header grade and the
//! critical alerts still firing — as one table (or JSON) and one exit code.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use crate::budgets;
use crate::db;
use crate::deploy::{verify_value, Verify};
use crate::error::{CliError, Outcome};
use crate::headers::{self, Format};
use crate::output::{table, upper};

pub struct Gate {
    pub id: Option<String>,
    pub window: Duration,
    pub wait: bool,
    pub release: Option<String>,
    pub environment: Option<String>,
    pub url: Option<String>,
    pub policy: Option<PathBuf>,
    pub inconclusive_ok: bool,
}

struct Check {
    name: &'static str,
    status: &'static str,
    detail: String,
}

impl Check {
    fn outcome(&self) -> Outcome {
        match self.status {
            "fail" => Outcome::Fail,
            "inconclusive" => Outcome::Inconclusive,
            _ => Outcome::Pass,
        }
    }
}

fn verification(g: &Gate) -> Result<Check, CliError> {
    let Some(id) = &g.id else {
        return Ok(Check {
            name: "verification",
            status: "skipped",
            detail: "no --id given".into(),
        });
    };
    let r = verify_value(&Verify {
        id: id.clone(),
        window: g.window,
        wait: g.wait,
        inconclusive_ok: g.inconclusive_ok,
        poll: Duration::from_secs(10),
        timeout: None,
    })?;
    let verdict = r["verdict"].as_str().unwrap_or("inconclusive");
    let worst: Vec<String> = r["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|x| x["status"] == verdict)
        .map(|x| x["message"].as_str().unwrap_or("").to_owned())
        .collect();
    Ok(Check {
        name: "verification",
        status: match verdict {
            "pass" => "pass",
            "fail" => "fail",
            _ => "inconclusive",
        },
        detail: format!(
            "{id}: {}",
            if worst.is_empty() {
                verdict.to_owned()
            } else {
                worst.join("; ")
            }
        ),
    })
}

fn budgets_check(g: &Gate) -> Result<Check, CliError> {
    let r = budgets::check_value(g.release.as_deref(), g.environment.as_deref())?;
    let n = r["budgets"].as_array().map_or(0, Vec::len);
    let failing: Vec<String> = r["budgets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["status"] == "fail")
        .map(|b| b["summary"].as_str().unwrap_or("").to_owned())
        .collect();
    Ok(if n == 0 {
        Check {
            name: "budgets",
            status: "skipped",
            detail: "no web-vitals budgets".into(),
        }
    } else if failing.is_empty() {
        Check {
            name: "budgets",
            status: "pass",
            detail: format!(
                "{n} budgets: {} warned, {} without data",
                r["warned"], r["no_data"]
            ),
        }
    } else {
        Check {
            name: "budgets",
            status: "fail",
            detail: failing.join("; "),
        }
    })
}

fn header_check(g: &Gate) -> Result<Check, CliError> {
    let (grade, what) = match (&g.url, &g.policy) {
        (Some(url), _) => (headers::grade_url(url)?, url.clone()),
        (None, Some(p)) => {
            let policy = headers::load_policy(Some(p))?;
            let generated = headers::generate(&policy, Format::Plain, None)?;
            (
                generated.enforced_grade.unwrap_or(generated.grade),
                p.display().to_string(),
            )
        }
        (None, None) => {
            return Ok(Check {
                name: "headers",
                status: "skipped",
                detail: "no --url or --policy to grade".into(),
            })
        }
    };
    let summary = headers::grade_summary(&grade).replace('\n', ";");
    Ok(Check {
        name: "headers",
        status: if headers::is_a_plus(&grade) {
            "pass"
        } else {
            "fail"
        },
        detail: format!("{what}: {summary}"),
    })
}

fn alerts_check(g: &Gate) -> Result<Check, CliError> {
    let mut client = db::connect()?;
    let rows = client.query(
        "select rule, labels::text from observe.active_alerts
          where severity = 'critical' and state = 'firing' and not silenced
            and ($1::text is null or labels->>'environment' is null or labels->>'environment' = $1)
          order by fired_at",
        &[&g.environment],
    )?;
    let firing: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {}", r.get::<_, String>(0), r.get::<_, String>(1)))
        .collect();
    Ok(if firing.is_empty() {
        Check {
            name: "alerts",
            status: "pass",
            detail: "no critical alert firing".into(),
        }
    } else {
        Check {
            name: "alerts",
            status: "fail",
            detail: format!(
                "{} critical alerts firing: {}",
                firing.len(),
                firing.join("; ")
            ),
        }
    })
}

pub fn run(g: &Gate, as_json: bool) -> Result<i32, CliError> {
    let checks = [
        verification(g)?,
        budgets_check(g)?,
        header_check(g)?,
        alerts_check(g)?,
    ];
    let outcome = checks
        .iter()
        .map(Check::outcome)
        .max()
        .unwrap_or(Outcome::Pass);
    let verdict = match outcome {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::Inconclusive => "inconclusive",
    };
    if as_json {
        let list: Vec<Value> = checks
            .iter()
            .map(|c| json!({"check": c.name, "status": c.status, "detail": c.detail}))
            .collect();
        println!("{}", json!({"verdict": verdict, "checks": list}));
    } else {
        let rows: Vec<Vec<String>> = checks
            .iter()
            .map(|c| vec![c.name.to_owned(), upper(c.status), c.detail.clone()])
            .collect();
        print!("{}", table(&["GATE", "STATUS", "DETAIL"], &rows));
        println!("gate: {}", upper(verdict));
    }
    Ok(outcome.exit_code(g.inconclusive_ok))
}
