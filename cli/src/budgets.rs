//! `pg-observe budgets check | import`.

use std::path::Path;

use serde_json::Value;

use crate::db;
use crate::error::CliError;
use crate::output::{table, upper};

pub fn check_value(release: Option<&str>, environment: Option<&str>) -> Result<Value, CliError> {
    let mut client = db::connect()?;
    db::json(
        &mut client,
        "select observe.check_budgets(release => $1, environment => $2)",
        &[&release, &environment],
    )
}

pub fn rows(result: &Value) -> Vec<Vec<String>> {
    result["budgets"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|b| {
                    let unit = if b["metric"] == "CLS" { "" } else { " ms" };
                    let num = |v: &Value| {
                        v.as_f64().map_or("-".into(), |x| {
                            if unit.is_empty() {
                                format!("{x:.3}")
                            } else {
                                format!("{x:.0}{unit}")
                            }
                        })
                    };
                    vec![
                        b["metric"].as_str().unwrap_or("").to_owned(),
                        b["page_pattern"]
                            .as_str()
                            .unwrap_or("(all pages)")
                            .to_owned(),
                        b["environment"].as_str().unwrap_or("(all)").to_owned(),
                        num(&b["threshold"]),
                        b["level"].as_str().unwrap_or("").to_owned(),
                        num(&b["p75"]),
                        b["samples"].as_u64().map_or("-".into(), |n| n.to_string()),
                        upper(b["status"].as_str().unwrap_or("")),
                        b["page"].as_str().unwrap_or("").to_owned(),
                    ]
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn check(
    release: Option<&str>,
    environment: Option<&str>,
    as_json: bool,
) -> Result<i32, CliError> {
    let result = check_value(release, environment)?;
    if as_json {
        println!("{result}");
    } else {
        print!(
            "{}",
            table(
                &[
                    "METRIC",
                    "PAGES",
                    "ENV",
                    "BUDGET",
                    "LEVEL",
                    "P75",
                    "SAMPLES",
                    "STATUS",
                    "WORST PAGE"
                ],
                &rows(&result)
            )
        );
        println!(
            "{} failed, {} warned, {} without data",
            result["failed"], result["warned"], result["no_data"]
        );
    }
    Ok(if result["passed"] == true { 0 } else { 1 })
}

pub fn import(
    file: &Path,
    environment: Option<&str>,
    keep: bool,
    as_json: bool,
) -> Result<i32, CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::Input(format!("cannot read {}: {e}", file.display())))?;
    let config: Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Input(format!("{} is not JSON: {e}", file.display())))?;
    let mut client = db::connect()?;
    let result = db::json(
        &mut client,
        "select observe.import_lighthouse_budgets($1, $2, replace => $3)",
        &[&config, &environment, &!keep],
    )
    .map_err(|e| match e {
        CliError::Db { sqlstate, message } if sqlstate == "22023" => {
            CliError::Input(format!("{}: {message}", file.display()))
        }
        other => other,
    })?;
    if as_json {
        println!("{result}");
    } else {
        println!(
            "imported {} budgets from {} ({} replaced)",
            result["created"].as_array().map_or(0, Vec::len),
            file.display(),
            result["replaced"]
        );
        for s in result["skipped"].as_array().into_iter().flatten() {
            println!("  skipped {}", s.as_str().unwrap_or(""));
        }
    }
    Ok(0)
}
