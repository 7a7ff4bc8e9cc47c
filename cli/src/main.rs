//! `pg-observe`: deploy verification, rollback and quality gates for CI,
//! backed by the pg_observe extension (README, "The pg-observe CLI").

mod budgets;
mod db;
mod deploy;
mod error;
mod gate;
mod headers;
mod output;
mod vercel;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use error::{CliError, EXIT_CODES};
use output::parse_duration;

const ENVIRONMENT: &str = "\
Environment:
  DATABASE_URL (or SUPABASE_DB_URL)  the database pg_observe is installed in; the role needs observe_admin
  VERCEL_TOKEN, VERCEL_PROJECT_ID     Vercel access token and project (rollback, promote)
  VERCEL_TEAM_ID                      the team owning the project, when it is a team's
  VERCEL_API_URL                      defaults to https://api.vercel.com";

#[derive(Parser)]
#[command(name = "pg-observe", version, about = "Deploy verification, rollback and quality gates backed by pg_observe",
          after_help = format!("{ENVIRONMENT}\n\n{EXIT_CODES}"))]
struct Cli {
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Record, verify, promote or roll back deploys.
    #[command(subcommand, after_help = format!("{ENVIRONMENT}\n\n{EXIT_CODES}"))]
    Deploy(DeployCommand),
    /// Generate strict security headers and grade them (A+ or why not).
    #[command(after_help = EXIT_CODES)]
    Headers {
        /// A TOML header policy; without one, the strict defaults.
        #[arg(long)]
        policy: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "vercel")]
        format: headers::Format,
        /// Hash the inline scripts of the HTML files under this directory
        /// (implies csp = "hash").
        #[arg(long)]
        hash_from: Option<PathBuf>,
        /// Send the CSP as Content-Security-Policy-Report-Only (rollout).
        #[arg(long)]
        report_only: bool,
        /// Where violation reports go (the ingest function's URL).
        #[arg(long)]
        report_uri: Option<String>,
        /// A nonce value for --format plain (else a placeholder).
        #[arg(long)]
        nonce: Option<String>,
    },
    /// Web-vitals budgets: check them, or import Lighthouse CI assertions.
    #[command(subcommand)]
    Budgets(BudgetsCommand),
    /// Every quality gate at once: verification, budgets, header grade, critical alerts.
    #[command(after_help = format!("{ENVIRONMENT}\n\n{EXIT_CODES}"))]
    Gate {
        /// The deploy whose verification gates.
        #[arg(long)]
        id: Option<String>,
        #[arg(long, default_value = "15m", value_parser = parse_duration)]
        window: Duration,
        /// Wait for the verification's window to end.
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        release: Option<String>,
        #[arg(long)]
        environment: Option<String>,
        /// Grade the headers this URL answers with.
        #[arg(long)]
        url: Option<String>,
        /// Grade the headers this policy generates (when no --url).
        #[arg(long)]
        policy: Option<PathBuf>,
        #[arg(long)]
        inconclusive_ok: bool,
    },
}

#[derive(Subcommand)]
enum DeployCommand {
    /// Record a deploy from CI (where no webhook reports it).
    Record {
        #[arg(long)]
        id: String,
        #[arg(long)]
        environment: String,
        #[arg(long)]
        commit: String,
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        project: Option<String>,
        #[arg(long)]
        branch: Option<String>,
        #[arg(long, default_value = "vercel", value_parser = ["vercel", "github"])]
        provider: String,
        #[arg(long, default_value = "ready")]
        state: String,
        /// RFC 3339; default: the commit's time from git, when available.
        #[arg(long)]
        commit_time: Option<String>,
    },
    /// Verify a deploy: exit 0 pass, 1 fail, 2 inconclusive.
    Verify {
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "15m", value_parser = parse_duration)]
        window: Duration,
        /// Poll until the window has passed (or the deploy fails), showing progress.
        #[arg(long)]
        wait: bool,
        /// Treat inconclusive as pass (exit 0).
        #[arg(long)]
        inconclusive_ok: bool,
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        poll: Duration,
        /// Give up waiting after this long (default: the window plus 10 minutes).
        #[arg(long, value_parser = parse_duration)]
        timeout: Option<Duration>,
    },
    /// Point production back at the last deploy whose verdict was pass.
    Rollback {
        /// Roll back to this deploy instead of the latest healthy one.
        #[arg(long)]
        to: Option<String>,
        #[arg(long, default_value = "production")]
        environment: String,
        #[arg(long)]
        reason: Option<String>,
        /// The production URL that must answer afterwards (default: the deploy's URL).
        #[arg(long)]
        url: Option<String>,
        /// Roll back to a --to deploy without a passing verification.
        #[arg(long)]
        force: bool,
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        timeout: Duration,
    },
    /// Promote a verified staging or preview deploy to production.
    Promote {
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "production")]
        environment: String,
        #[arg(long)]
        url: Option<String>,
        /// Promote without a passing verification.
        #[arg(long)]
        force: bool,
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        timeout: Duration,
    },
}

#[derive(Subcommand)]
enum BudgetsCommand {
    /// Check every budget against real users' p75 (exit 1 on an error-level breach).
    Check {
        #[arg(long)]
        release: Option<String>,
        #[arg(long)]
        environment: Option<String>,
    },
    /// Import a Lighthouse CI configuration's assertions as budgets.
    Import {
        file: PathBuf,
        #[arg(long)]
        environment: Option<String>,
        /// Keep earlier Lighthouse budgets instead of replacing them.
        #[arg(long)]
        keep: bool,
    },
}

fn run(cli: Cli) -> Result<i32, CliError> {
    let json = cli.json;
    match cli.command {
        Command::Deploy(DeployCommand::Record {
            id,
            environment,
            commit,
            url,
            project,
            branch,
            provider,
            state,
            commit_time,
        }) => deploy::record(
            &deploy::Record {
                id,
                environment,
                commit,
                url,
                project,
                branch,
                provider,
                state,
                commit_time,
            },
            json,
        ),
        Command::Deploy(DeployCommand::Verify {
            id,
            window,
            wait,
            inconclusive_ok,
            poll,
            timeout,
        }) => deploy::verify(
            &deploy::Verify {
                id,
                window,
                wait,
                inconclusive_ok,
                poll,
                timeout,
            },
            json,
        ),
        Command::Deploy(DeployCommand::Rollback {
            to,
            environment,
            reason,
            url,
            force,
            timeout,
        }) => deploy::rollback(
            &deploy::Switch {
                id: to,
                environment,
                reason,
                url,
                force,
                timeout,
            },
            json,
        ),
        Command::Deploy(DeployCommand::Promote {
            id,
            environment,
            url,
            force,
            timeout,
        }) => deploy::promote(
            &deploy::Switch {
                id: Some(id),
                environment,
                reason: None,
                url,
                force,
                timeout,
            },
            json,
        ),
        Command::Headers {
            policy,
            format,
            hash_from,
            report_only,
            report_uri,
            nonce,
        } => {
            let mut p = headers::load_policy(policy.as_deref())?;
            if let Some(dir) = hash_from {
                p.csp = Some(pg_observe_core::header_policy::CspMode::Hash);
                p.script_hashes.extend(headers::inline_script_hashes(&dir)?);
            }
            p.report_only |= report_only;
            if report_uri.is_some() {
                p.report_uri = report_uri;
            }
            let g = headers::generate(&p, format, nonce.as_deref())?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "headers": g.headers.iter().map(|(k, v)| serde_json::json!({"name": k, "value": v})).collect::<Vec<_>>(),
                        "config": g.config, "grade": g.grade.to_json(),
                        "enforced_grade": g.enforced_grade.as_ref().map(|e| e.to_json()),
                    })
                );
            } else {
                print!("{}", g.config);
                eprintln!("pg-observe: {}", headers::grade_summary(&g.grade));
            }
            let judged = g.enforced_grade.as_ref().unwrap_or(&g.grade);
            if let Some(e) = &g.enforced_grade {
                eprintln!(
                    "pg-observe: report-only rollout; enforced, this policy grades {}",
                    headers::grade_summary(e)
                );
            }
            Ok(if headers::is_a_plus(judged) { 0 } else { 1 })
        }
        Command::Budgets(BudgetsCommand::Check {
            release,
            environment,
        }) => budgets::check(release.as_deref(), environment.as_deref(), json),
        Command::Budgets(BudgetsCommand::Import {
            file,
            environment,
            keep,
        }) => budgets::import(&file, environment.as_deref(), keep, json),
        Command::Gate {
            id,
            window,
            wait,
            release,
            environment,
            url,
            policy,
            inconclusive_ok,
        } => gate::run(
            &gate::Gate {
                id,
                window,
                wait,
                release,
                environment,
                url,
                policy,
                inconclusive_ok,
            },
            json,
        ),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind::*;
            let code = match e.kind() {
                DisplayHelp | DisplayVersion => 0,
                _ => 64,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("pg-observe: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
