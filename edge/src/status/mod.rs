//! `status`: one HTML page of the project's health, for people: each
//! health check with its uptime bars, open alerts (when the alerting
//! tables exist), the top issues of the last 24 hours, recent deploys and
//! the web vitals' p75. It reads as `observe_reader` and is our own
//! showcase of the headers we grade (`headers`).

mod headers;
mod page;

use serde_json::{json, Value};

use crate::env::{self, Env};
use crate::protocol::{error, sql_failed, Answered, Command, Function, Outcome, Request};

pub const REQUIRED: [&str; 1] = [env::SUPABASE_DB_URL];
const ROLE: &str = "observe_reader";

const PAGE: &str = "
select jsonb_build_object(
  'checks', (select coalesce(jsonb_agg(jsonb_build_object(
                 'name', s.name, 'up', s.up, 'since', s.since, 'status_code', s.status_code,
                 'response_time_ms', round(s.response_time_ms::numeric, 1), 'grade', s.grade,
                 'uptime_24h', u.uptime_percent,
                 'bars', (select coalesce(jsonb_agg(r.success order by r.checked_at), '[]')
                            from (select r.success, r.checked_at from observe.health_results r
                                   where r.check_id = s.check_id order by r.checked_at desc limit 30) r))
               order by s.name), '[]')
               from observe.health_status s
               left join observe.uptime u on u.check_id = s.check_id and u.period = '24h'
              where s.enabled),
  'issues', (select coalesce(jsonb_agg(i), '[]') from (
               select title, service, level, events_24h, trend from observe.issue_overview
                where events_24h > 0 order by events_24h desc limit 10) i),
  'deploys', (select coalesce(jsonb_agg(d), '[]') from (
               select project, environment, commit_sha, state, created_at from observe.deployments
                order by created_at desc limit 10) d),
  'vitals', (select coalesce(jsonb_agg(v), '[]') from (
               select page, metric, device, round(p75::numeric, 3) as p75, rating, samples
                 from observe.web_vitals_p75 order by samples desc, page, metric limit 30) v),
  'has_alerts', to_regclass('observe.alerts') is not null) as page";

/// The alerting work's table may not exist yet, nor have a fixed shape: its
/// rows are read whole and those without a resolution shown.
const ALERTS: &str = "
select coalesce(jsonb_agg(a), '[]') as alerts from (
  select to_jsonb(x) as a from observe.alerts x limit 200) rows(a)
 where coalesce(a->>'resolved_at', '') = ''
   and coalesce(a->>'status', a->>'state', 'firing') not in ('resolved', 'ok', 'inactive')";

pub fn start(request: Request, env: &Env) -> Box<dyn Function> {
    if request.meta.method != "GET" {
        return Box::new(Answered(Some(error(
            405,
            "method_not_allowed",
            "status takes GET",
        ))));
    }
    if let Err(answer) = env.require(env::SUPABASE_DB_URL) {
        return Box::new(Answered(Some(answer)));
    }
    let nonce = request.meta.random.clone();
    if nonce.len() < 16 {
        return Box::new(Answered(Some(error(
            500,
            "internal",
            "the host passed no randomness for the nonce",
        ))));
    }
    Box::new(Status { nonce, doc: None })
}

struct Status {
    nonce: String,
    doc: Option<Value>,
}

impl Function for Status {
    fn step(&mut self, outcome: Option<Outcome>, _now_ms: i64) -> Command {
        let first = |rows: &[Value], key: &str| {
            rows.first()
                .and_then(|r| r.get(key))
                .cloned()
                .unwrap_or(Value::Null)
        };
        match (outcome, self.doc.take()) {
            (None, _) => Command::SqlAs {
                role: ROLE,
                query: PAGE,
                params: vec![],
            },
            (Some(Outcome::Rows { rows }), None) => {
                let doc = first(&rows, "page");
                if doc.get("has_alerts") == Some(&Value::Bool(true)) {
                    self.doc = Some(doc);
                    return Command::SqlAs {
                        role: ROLE,
                        query: ALERTS,
                        params: vec![],
                    };
                }
                self.page(&doc, None)
            }
            (Some(Outcome::Rows { rows }), Some(doc)) => {
                let alerts = first(&rows, "alerts")
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                self.page(&doc, Some(&alerts))
            }
            // An alerts table the reader may not read, or of another shape:
            // the page goes on without the section's rows.
            (Some(Outcome::SqlError { .. }), Some(doc)) => self.page(
                &doc,
                Some(&[json!({"title": "alerts are unavailable to observe_reader"})]),
            ),
            (Some(Outcome::SqlError { code, message }), None) => {
                sql_failed(code.as_deref(), &message)
            }
            _ => error(500, "internal", "the host answered a step out of turn"),
        }
    }
}

impl Status {
    fn page(&self, doc: &Value, alerts: Option<&[Value]>) -> Command {
        Command::Reply {
            status: 200,
            headers: headers::headers(&self.nonce),
            body: page::render(doc, alerts, &self.nonce),
        }
    }
}
