//! Writes a processed event: finds or creates its issue, queues its count,
//! stores it (unless flood control samples it out), and applies the issue
//! lifecycle.
//!
//! An event of an issue this backend knows to be unresolved, which flood
//! control does not store, costs one insert into the count queue; any other
//! event of a known issue costs one statement that also reads the issue
//! (ARCHITECTURE.md, "Counting").

use std::cell::RefCell;
use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use pg_observe_core::budget::{Amounts, DropReason};
use pg_observe_core::event::{uuid_v7, Level};
use pg_observe_core::flood::MinuteCount;
use pg_observe_core::lifecycle::{on_event, EventFacts, IssueState, IssueStatus, Writer};
use pg_observe_core::process::ProcessedEvent;
use pg_observe_core::release::{is_newer, FirstSeen};
use pg_observe_core::sampling::keep;
use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::spi::{SpiClient, SpiError, SpiResult};
use pgrx::{pg_sys, JsonB, Spi, Uuid};

use super::plans::{reopen_args, with_plans, Plans};
use super::writer::WriterRole;
use super::{bounded_insert, budgets, fold, issue_cache, CaptureError, Captured};
use crate::pgtime::{from_pg, to_pg};
use crate::settings;

/// Rows per ignored issue counting its events towards "ignore until N more".
/// Backend ids are small and dense, so sixteen slots keep concurrently
/// active backends apart in practice.
const SLOTS: i32 = 16;

thread_local! {
    static RNG: RefCell<fastrand::Rng> = RefCell::new(seeded_rng());
    /// Flood control's view of each issue's current minute (core's `flood`).
    static MINUTES: RefCell<HashMap<i64, MinuteCount>> = RefCell::new(HashMap::new());
    /// Releases this backend has made known (service, version); each is
    /// registered once, by the first trusted event that names it.
    static KNOWN_RELEASES: RefCell<HashMap<(String, String), ()>> = RefCell::new(HashMap::new());
}

fn seeded_rng() -> fastrand::Rng {
    let mut seed = [0u8; 8];
    // SAFETY: the buffer is valid for 8 bytes.
    if unsafe { pg_sys::pg_strong_random(seed.as_mut_ptr().cast(), seed.len()) } {
        fastrand::Rng::with_seed(u64::from_ne_bytes(seed))
    } else {
        fastrand::Rng::new()
    }
}

/// What this backend remembers beside the database (flood control's
/// counts, known releases), kept by a caller that may roll back what it
/// stores and store it again (`restore`).
pub struct Remembered {
    minutes: HashMap<i64, MinuteCount>,
    known_releases: HashMap<(String, String), ()>,
}

pub fn remembered() -> Remembered {
    Remembered {
        minutes: MINUTES.with(|minutes| minutes.borrow().clone()),
        known_releases: KNOWN_RELEASES.with(|known| known.borrow().clone()),
    }
}

/// Forgets what was learnt since `remembered`: the events it counted and
/// the releases it registered were rolled back.
pub fn restore(remembered: Remembered) {
    MINUTES.with(|minutes| *minutes.borrow_mut() = remembered.minutes);
    KNOWN_RELEASES.with(|known| *known.borrow_mut() = remembered.known_releases);
}

pub fn backend_slot() -> i16 {
    // SAFETY: MyBackendId is set once at backend start and only read here.
    let backend = unsafe { pg_sys::MyBackendId };
    backend.rem_euclid(SLOTS) as i16
}

/// Stores the event under `id`, or under a new id when none is given.
pub fn store(
    event: ProcessedEvent,
    writer: &WriterRole,
    id: Option<Uuid>,
) -> Result<Captured, CaptureError> {
    if issue_cache::refresh() {
        MINUTES.with(|minutes| minutes.borrow_mut().clear());
        KNOWN_RELEASES.with(|known| known.borrow_mut().clear());
    }
    Spi::connect_mut(|client| {
        with_plans(client, |client, plans| {
            let id = store_with(client, plans, event, writer, id)?;
            fold::fold_if_stale(client, plans)?;
            crate::partitions::create_ahead_now_and_then(client)?;
            Ok(id)
        })?
    })
}

/// An event on its way in, with its id and who wrote it.
struct Incoming<'a> {
    event: &'a ProcessedEvent,
    service: &'a str,
    id: Uuid,
    writer: &'a WriterRole,
}

/// The issue as `record_event` returns it.
struct Recorded {
    level: Level,
    state: IssueState,
    status_changed_at: Option<DateTime<Utc>>,
}

/// A new event id: UUIDv7, so ids sort by capture time.
pub fn new_event_id() -> Uuid {
    RNG.with(|rng| {
        let mut random = [0u8; 10];
        rng.borrow_mut().fill(&mut random);
        let millis = Utc::now().timestamp_millis().max(0) as u64;
        Uuid::from_bytes(uuid_v7(millis, random))
    })
}

fn store_with(
    client: &mut SpiClient<'_>,
    plans: &Plans,
    event: ProcessedEvent,
    writer: &WriterRole,
    id: Option<Uuid>,
) -> Result<Captured, CaptureError> {
    let service = event.service.as_deref().expect("capture sets the service");
    let key = (service.to_owned(), event.grouping.hashes.join(" "));
    let id = id.unwrap_or_else(new_event_id);
    let draw = RNG.with(|rng| rng.borrow_mut().f64());
    let incoming = Incoming {
        event: &event,
        service,
        id,
        writer,
    };
    let id = incoming.id;
    if writer.trust == Writer::Trusted {
        register_release(client, plans, &event, service)?;
    }

    let mut attempt = issue_cache::issue_id(&key);
    // Flood control counts the event once, whichever issue id it settles on;
    // so does an untrusted writer's byte and event budget.
    let mut rated: Option<(i64, f64)> = None;
    let mut within_budget = None;
    loop {
        let issue_id = match attempt {
            Some(issue_id) => issue_id,
            None => match find_or_create_issue(client, plans, &event, service, writer)? {
                Some(issue_id) => issue_id,
                // An untrusted writer's new-issue budget is spent.
                None => {
                    return Ok(Captured {
                        id,
                        dropped: Some(DropReason::NewIssues),
                    })
                }
            },
        };
        let rate = match rated {
            Some((rated_issue, rate)) if rated_issue == issue_id => rate,
            _ => flood_rate(client, plans, issue_id)?,
        };
        rated = Some((issue_id, rate));
        let mut stored = keep(rate, draw);
        if stored && writer.trust == Writer::Untrusted {
            let admitted = match within_budget {
                Some(admitted) => admitted,
                None => {
                    let wanted = Amounts {
                        new_issues: 0,
                        events: 1,
                        bytes: budgets::stored_bytes(&event),
                    };
                    budgets::spend(client, plans, &writer.budget_scope, backend_slot(), wanted)?
                }
            };
            within_budget = Some(admitted);
            stored = admitted.is_ok();
        }
        let dropped = within_budget.and_then(Result::err);
        if !stored && issue_cache::unresolved_at(issue_id, event.level) {
            client.update(&plans.queue_count, None, &count_args(&event, issue_id))?;
            return Ok(Captured { id, dropped });
        }
        let read_in = issue_cache::generation();
        if let Some(recorded) = record_event(client, plans, &incoming, issue_id, stored, rate)? {
            issue_cache::remember_issue(key, issue_id);
            apply_issue_state(client, plans, &incoming, issue_id, &recorded, read_in)?;
            return Ok(Captured { id, dropped });
        }
        if attempt.is_none() {
            // Found or created a moment ago, yet gone: deleted concurrently.
            return Err(CaptureError::Concurrent("deleted"));
        }
        attempt = None;
    }
}

/// A trusted event makes its release known, once per backend and release;
/// untrusted events of that release may then drive triage.
fn register_release(
    client: &mut SpiClient<'_>,
    plans: &Plans,
    event: &ProcessedEvent,
    service: &str,
) -> SpiResult<()> {
    let Some(release) = event.release.as_deref() else {
        return Ok(());
    };
    let key = (service.to_owned(), release.to_owned());
    if KNOWN_RELEASES.with(|known| known.borrow().contains_key(&key)) {
        return Ok(());
    }
    client.update(
        &plans.register_release,
        None,
        &[
            service.into(),
            release.into(),
            to_pg(event.occurred_at).into(),
        ],
    )?;
    KNOWN_RELEASES.with(|known| bounded_insert(&mut known.borrow_mut(), key, ()));
    Ok(())
}

/// What an event does to the issue it was counted in, given the issue as the
/// counting statement read it.
fn apply_issue_state(
    client: &mut SpiClient<'_>,
    plans: &Plans,
    incoming: &Incoming<'_>,
    issue_id: i64,
    recorded: &Recorded,
    read_in: u64,
) -> SpiResult<()> {
    let event = incoming.event;
    if event.level > recorded.level {
        client.update(
            &plans.escalate_level,
            None,
            &[issue_id.into(), event.level.as_str().into()],
        )?;
    }
    if recorded.state.status == IssueStatus::Unresolved {
        // An escalation just announced itself and voids this at once; the
        // next event reads the issue again.
        issue_cache::remember_unresolved(issue_id, recorded.level.max(event.level), read_in);
        return Ok(());
    }
    apply_lifecycle(client, plans, incoming, issue_id, recorded)
}

/// The count statement's parameters ($1 to $6).
fn count_args(event: &ProcessedEvent, issue_id: i64) -> Vec<DatumWithOid<'_>> {
    vec![
        issue_id.into(),
        event.environment.as_deref().unwrap_or("").into(),
        event.release.as_deref().unwrap_or("").into(),
        to_pg(event.occurred_at).into(),
        event.user_hash.into(),
        event.level.as_str().into(),
    ]
}

fn current_minute() -> i64 {
    Utc::now().timestamp().div_euclid(60)
}

/// The rate at which this event is stored, from the issue's events this
/// minute (this one included) as far as this backend knows them.
fn flood_rate(client: &mut SpiClient<'_>, plans: &Plans, issue_id: i64) -> SpiResult<f64> {
    let limit = settings::flood_limit();
    if limit == 0 {
        return Ok(1.0);
    }
    let previous = MINUTES.with(|minutes| minutes.borrow().get(&issue_id).copied());
    let mut count = MinuteCount::in_minute(previous, current_minute());
    if count.needs_refresh(limit) {
        let folded = client
            .update(&plans.minute_events, None, &[issue_id.into()])?
            .first()
            .get_one::<i64>()?
            .unwrap_or(0);
        count.refresh(folded.max(0) as u64);
    }
    let rate = count.count_event(limit);
    MINUTES.with(|minutes| bounded_insert(&mut minutes.borrow_mut(), issue_id, count));
    Ok(rate)
}

fn record_event(
    client: &mut SpiClient<'_>,
    plans: &Plans,
    incoming: &Incoming<'_>,
    issue_id: i64,
    stored: bool,
    rate: f64,
) -> Result<Option<Recorded>, CaptureError> {
    let event = incoming.event;
    let mut args = count_args(event, issue_id);
    if stored {
        let tags = serde_json::to_value(&event.tags).expect("string maps serialize");
        let flags: Vec<&str> = event.flags.iter().map(|f| f.as_str()).collect();
        args.extend([
            incoming.id.into(),
            event.service.as_deref().into(),
            event.exception_type.as_deref().into(),
            event.message.as_str().into(),
            event.stack.as_deref().into(),
            JsonB(event.context.clone()).into(),
            JsonB(event.request.clone()).into(),
            JsonB(tags).into(),
            event.user_ref.as_deref().into(),
            event.request_id.as_deref().into(),
            event.unhandled.into(),
            (rate as f32).into(),
            flags.into(),
            incoming.writer.name.as_str().into(),
        ]);
    }
    let rows = client.update(plans.record_event(stored), None, &args)?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    let status: String = row.get(1)?.unwrap_or_default();
    let level: String = row.get(2)?.unwrap_or_default();
    Ok(Some(Recorded {
        level: Level::from_str(&level).map_err(|e| CaptureError::Corrupt(e.to_string()))?,
        state: IssueState {
            status: IssueStatus::from_str(&status)
                .map_err(|e| CaptureError::Corrupt(e.to_string()))?,
            resolved_in_release: row.get(3)?,
            ignored_until: row.get::<TimestampWithTimeZone>(4)?.map(from_pg),
            ignore_until_count: row.get(5)?,
        },
        status_changed_at: row.get::<TimestampWithTimeZone>(6)?.map(from_pg),
    }))
}

/// The issue the event's hashes name (preferring the most specific hash), or
/// a new one; none when the event would make a new issue beyond an untrusted
/// writer's budget. Hashes the issue does not answer to yet are added to it.
fn find_or_create_issue(
    client: &mut SpiClient<'_>,
    plans: &Plans,
    event: &ProcessedEvent,
    service: &str,
    writer: &WriterRole,
) -> Result<Option<i64>, CaptureError> {
    let hashes = &event.grouping.hashes;
    let mut budgeted = writer.trust == Writer::Trusted;
    // Two rounds: a concurrent session may create the issue between our
    // lookup and our insert, and then the second lookup finds it.
    for _ in 0..2 {
        let mut best: Option<(usize, i64)> = None;
        let mut known = 0;
        for row in client.update(
            &plans.find_issue,
            None,
            &[service.into(), hashes.clone().into()],
        )? {
            let issue_id: i64 = row.get(1)?.unwrap_or_default();
            let hash: String = row.get(2)?.unwrap_or_default();
            let rank = hashes.iter().position(|h| *h == hash).unwrap_or(usize::MAX);
            known += 1;
            if best.is_none_or(|(best_rank, _)| rank < best_rank) {
                best = Some((rank, issue_id));
            }
        }
        if let Some((_, issue_id)) = best {
            if known < hashes.len() {
                add_hashes(client, plans, service, hashes, issue_id)?;
            }
            return Ok(Some(issue_id));
        }
        if !budgeted {
            let wanted = Amounts {
                new_issues: 1,
                events: 0,
                bytes: 0,
            };
            if budgets::spend(client, plans, &writer.budget_scope, backend_slot(), wanted)?.is_err()
            {
                return Ok(None);
            }
            budgeted = true;
        }
        let created = client
            .update(
                &plans.create_issue,
                None,
                &[
                    service.into(),
                    event.grouping.primary().into(),
                    event.grouping.basis.as_str().into(),
                    event.title.as_str().into(),
                    event.culprit.as_deref().into(),
                    event.exception_type.as_deref().into(),
                    event.level.as_str().into(),
                    to_pg(event.occurred_at).into(),
                    event.release.as_deref().into(),
                ],
            )?
            .next()
            .map(|row| row.get::<i64>(1))
            .transpose()?
            .flatten();
        // No row: a concurrent session created the issue first (the insert
        // met its key and did nothing); the next round finds it.
        if let Some(issue_id) = created {
            add_hashes(client, plans, service, hashes, issue_id)?;
            return Ok(Some(issue_id));
        }
    }
    // Only a snapshot older than the competing insert gets here (REPEATABLE
    // READ or SERIALIZABLE); retrying the transaction is the right answer.
    Err(CaptureError::Concurrent("created"))
}

fn add_hashes(
    client: &mut SpiClient<'_>,
    plans: &Plans,
    service: &str,
    hashes: &[String],
    issue_id: i64,
) -> SpiResult<()> {
    client.update(
        &plans.add_hashes,
        None,
        &[service.into(), hashes.to_vec().into(), issue_id.into()],
    )?;
    Ok(())
}

/// The database side of the lifecycle's lazy facts.
struct StoredFacts<'a, 'conn> {
    client: &'a mut SpiClient<'conn>,
    plans: &'a Plans,
    issue_id: i64,
    resolved_at: Option<DateTime<Utc>>,
    service: &'a str,
    release: Option<&'a str>,
    slot: i16,
    error: Option<SpiError>,
}

impl EventFacts for StoredFacts<'_, '_> {
    fn release_is_newer(&mut self, resolved_in: &str) -> bool {
        let Some(release) = self.release else {
            return false;
        };
        let resolved_at = self.resolved_at.unwrap_or_else(Utc::now);
        is_newer(release, resolved_in, resolved_at, || {
            let row = self.client.update(
                &self.plans.release_first_seen,
                None,
                &[self.service.into(), release.into(), resolved_in.into()],
            );
            match row.and_then(|t| {
                t.first()
                    .get_two::<TimestampWithTimeZone, TimestampWithTimeZone>()
            }) {
                Ok((candidate, baseline)) => FirstSeen {
                    candidate: candidate.map(from_pg),
                    baseline: baseline.map(from_pg),
                },
                Err(e) => {
                    self.error = Some(e);
                    FirstSeen {
                        candidate: None,
                        baseline: None,
                    }
                }
            }
        })
    }

    fn release_is_known(&mut self) -> bool {
        let Some(release) = self.release else {
            return false;
        };
        let known = self
            .client
            .update(
                &self.plans.release_known,
                None,
                &[self.service.into(), release.into()],
            )
            .and_then(|t| t.first().get_one::<bool>());
        match known {
            Ok(known) => known.unwrap_or(false),
            Err(e) => {
                self.error = Some(e);
                false
            }
        }
    }

    fn events_since_ignore(&mut self) -> i64 {
        let counted = self
            .client
            .update(
                &self.plans.count_ignored_event,
                None,
                &[self.issue_id.into(), self.slot.into()],
            )
            .and_then(|t| t.first().get_one::<i64>());
        match counted {
            Ok(n) => n.unwrap_or(1),
            Err(e) => {
                self.error = Some(e);
                0
            }
        }
    }
}

fn apply_lifecycle(
    client: &mut SpiClient<'_>,
    plans: &Plans,
    incoming: &Incoming<'_>,
    issue_id: i64,
    recorded: &Recorded,
) -> SpiResult<()> {
    let mut facts = StoredFacts {
        client,
        plans,
        issue_id,
        resolved_at: recorded.status_changed_at,
        service: incoming.service,
        release: incoming.event.release.as_deref(),
        slot: backend_slot(),
        error: None,
    };
    let transition = on_event(
        &recorded.state,
        incoming.writer.trust,
        Utc::now(),
        &mut facts,
    );
    if let Some(e) = facts.error {
        return Err(e);
    }
    if let Some(transition) = transition {
        facts.client.update(
            &plans.reopen,
            None,
            &reopen_args(issue_id, transition, recorded.state.status),
        )?;
    }
    Ok(())
}
