-- The notification outbox: alert e-mails are rows first and e-mails second,
-- so that each reaches the provider exactly once (ARCHITECTURE.md,
-- "Notification outbox").
--
--  * A notification is written in the transaction that decides to send it
--    (by observe.enqueue_notification), so a rolled-back alert sends nothing.
--  * Dispatchers (the alert-dispatch edge function) claim rows with
--    FOR UPDATE SKIP LOCKED under a lease, send them with the row's
--    idempotency key, and record the outcome. A dispatcher that dies while
--    holding a lease leaves the row to be claimed again when the lease runs
--    out, with the same key: the provider deduplicates the second send.
--  * That deduplication lasts 24 hours from the first send (Resend: "We keep
--    idempotency keys in our system for 24 hours",
--    https://resend.com/docs/dashboard/emails/idempotency-keys), so no retry
--    is ever scheduled later than observe.notifications.first_attempt_at +
--    23 hours: the hour to spare covers a lease and clock skew. A row that
--    cannot be retried inside that window is dead, never sent twice.

create table observe.notifications (
    id uuid primary key default gen_random_uuid(),
    -- The alert rule that raised it; rules live elsewhere, so no foreign key.
    rule_id bigint,
    group_key text not null,
    group_labels jsonb not null default '{}' check (jsonb_typeof(group_labels) = 'object'),
    kind text not null check (kind in ('firing', 'resolved')),
    -- Empty: the dispatcher's fallback recipients (MONITORING_ALERT_EMAIL).
    -- Resend takes at most 50 addresses in `to`
    -- (https://resend.com/docs/api-reference/emails/send-email).
    recipients text[] not null default '{}' check (cardinality(recipients) <= 50),
    subject text not null,
    -- Everything the e-mail shows: rule, severity, labels, annotations,
    -- metric, window, value, environment, the group's alerts, links.
    payload jsonb not null check (jsonb_typeof(payload) = 'object'),
    -- Resend accepts keys of 1 to 256 characters.
    idempotency_key text not null unique check (length(idempotency_key) between 1 and 256),
    status text not null default 'queued'
        check (status in ('queued', 'claimed', 'sent', 'failed', 'dead')),
    attempts integer not null default 0,
    max_attempts integer not null default 10 check (max_attempts between 1 and 100),
    next_attempt_at timestamptz not null default now(),
    first_attempt_at timestamptz,
    lease_until timestamptz,
    -- Which session holds the lease (application_name and backend pid).
    claimed_by text,
    last_error text,
    provider_message_id text,
    -- From the provider's delivery webhooks (observe.record_delivery).
    delivery_status text check (delivery_status in ('delivery_delayed', 'delivered', 'bounced', 'complained')),
    delivered_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    sent_at timestamptz,
    check ((status = 'claimed') = (lease_until is not null))
);
create index notifications_due_idx on observe.notifications (next_attempt_at)
    where status in ('queued', 'failed');
create index notifications_lease_idx on observe.notifications (lease_until)
    where status = 'claimed';
create index notifications_provider_message_id_idx on observe.notifications (provider_message_id)
    where provider_message_id is not null;
comment on table observe.notifications is
    'Alert e-mails to send, each exactly once towards the provider: queued → claimed → sent, or failed (retried with backoff) → dead.';

create view observe.dead_notifications with (security_invoker = true) as
select id, rule_id, group_key, kind, subject, recipients, idempotency_key, attempts, last_error,
       created_at, first_attempt_at, updated_at as died_at
  from observe.notifications
 where status = 'dead'
 order by updated_at desc;
comment on view observe.dead_notifications is
    'Notifications that will not be sent: refused by the provider, out of attempts, or out of the idempotency window; last_error says why.';

-- Queues one notification; returns its id. Idempotent on idempotency_key:
-- queuing the same key again returns the first notification's id and
-- changes nothing, so an evaluator that runs twice alerts once.
create function observe.enqueue_notification(
    idempotency_key text,
    kind text,
    subject text,
    payload jsonb,
    recipients text[] default '{}',
    rule_id bigint default null,
    group_key text default null,
    group_labels jsonb default '{}',
    not_before timestamptz default null)
returns uuid
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    key alias for idempotency_key;
    notification_id uuid;
begin
    if key is null or kind is null or subject is null or payload is null then
        raise exception 'idempotency_key, kind, subject and payload are required'
            using errcode = 'null_value_not_allowed';
    end if;
    if length(key) not between 1 and 256 then
        raise exception 'idempotency_key has % characters; the provider accepts 1 to 256', length(key)
            using errcode = 'invalid_parameter_value';
    end if;
    if kind not in ('firing', 'resolved') then
        raise exception 'kind must be firing or resolved, got "%"', kind
            using errcode = 'invalid_parameter_value';
    end if;
    if jsonb_typeof(payload) <> 'object' then
        raise exception 'payload must be a JSON object, got %', jsonb_typeof(payload)
            using errcode = 'invalid_parameter_value';
    end if;
    if cardinality(coalesce(recipients, '{}')) > 50 then
        raise exception '% recipients; the provider sends to at most 50', cardinality(recipients)
            using errcode = 'invalid_parameter_value';
    end if;
    if exists (select from unnest(recipients) r where r is null or r !~ '^[^@\s]+@[^@\s]+$') then
        raise exception 'every recipient must be an e-mail address'
            using errcode = 'invalid_parameter_value';
    end if;
    if group_labels is not null and jsonb_typeof(group_labels) <> 'object' then
        raise exception 'group_labels must be a JSON object, got %', jsonb_typeof(group_labels)
            using errcode = 'invalid_parameter_value';
    end if;

    insert into observe.notifications as n
           (idempotency_key, kind, subject, payload, recipients, rule_id, group_key, group_labels,
            next_attempt_at)
    values (key, kind, subject, payload, coalesce(recipients, '{}'), rule_id,
            coalesce(group_key, key), coalesce(group_labels, '{}'), coalesce(not_before, now()))
    on conflict on constraint notifications_idempotency_key_key do nothing
    returning n.id into notification_id;
    if notification_id is null then
        select n.id into notification_id from observe.notifications n where n.idempotency_key = key;
    end if;
    return notification_id;
end
$$;
comment on function observe.enqueue_notification(text, text, text, jsonb, text[], bigint, text, jsonb, timestamptz) is
    'Queues an alert e-mail (internal: the alert evaluator calls it); returns its id, the existing one when idempotency_key was queued before.';

-- Hands out up to `batch` due notifications under a lease. SKIP LOCKED: two
-- dispatchers never hold the same row, and neither waits for the other.
-- Every claim counts as an attempt, since a dispatcher may send and then
-- die before it records the outcome.
create function observe.claim_notifications(batch integer default 10, lease interval default '1 minute')
returns setof observe.notifications
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if batch is null or lease is null then
        raise exception 'batch and lease are required' using errcode = 'null_value_not_allowed';
    end if;
    if batch not between 1 and 100 then
        raise exception 'batch must be between 1 and 100, got %', batch
            using errcode = 'invalid_parameter_value';
    end if;
    if lease < interval '1 second' or lease > interval '1 hour' then
        raise exception 'lease must be between 1 second and 1 hour, got %', lease
            using errcode = 'invalid_parameter_value';
    end if;

    -- A lease that ran out on the last attempt, or past the idempotency
    -- window, may have sent: claiming it again could send twice.
    with doomed as (
        select n.id from observe.notifications n
         where n.status = 'claimed' and n.lease_until < now()
           and (n.attempts >= n.max_attempts or n.first_attempt_at + interval '23 hours' <= now())
           for update skip locked
    )
    update observe.notifications n
       set status = 'dead', lease_until = null, updated_at = now(),
           last_error = coalesce(n.last_error || '; ', '')
                        || case when n.attempts >= n.max_attempts
                                then format('lease expired on the last of %s attempts', n.max_attempts)
                                else 'lease expired after the 23-hour idempotency window' end
      from doomed where n.id = doomed.id;

    return query
    with due as (
        select n.id from observe.notifications n
         where (n.status in ('queued', 'failed') and n.next_attempt_at <= now())
            or (n.status = 'claimed' and n.lease_until < now())
         order by n.next_attempt_at, n.created_at
         limit batch
           for update skip locked
    )
    update observe.notifications n
       set status = 'claimed', attempts = n.attempts + 1, lease_until = now() + lease,
           first_attempt_at = coalesce(n.first_attempt_at, now()),
           claimed_by = format('%s[%s]', nullif(current_setting('application_name'), ''), pg_backend_pid()),
           updated_at = now()
      from due where n.id = due.id
    returning n.*;
end
$$;
comment on function observe.claim_notifications(integer, interval) is
    'Claims up to batch due notifications for lease (FOR UPDATE SKIP LOCKED); an expired lease makes a row claimable again with the same idempotency key.';

create function observe.complete_notification(id uuid, provider_message_id text)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    notification_id alias for id;
    message_id alias for provider_message_id;
begin
    if notification_id is null or message_id is null then
        raise exception 'id and provider_message_id are required' using errcode = 'null_value_not_allowed';
    end if;
    -- Whatever the row says (a lease that ran out, even dead), the provider
    -- accepted the e-mail: the record follows the provider.
    update observe.notifications n
       set status = 'sent', provider_message_id = message_id, sent_at = coalesce(n.sent_at, now()),
           lease_until = null, last_error = null, updated_at = now()
     where n.id = notification_id;
    if not found then
        raise exception 'notification % does not exist', notification_id using errcode = 'no_data_found';
    end if;
end
$$;
comment on function observe.complete_notification(uuid, text) is
    'Records that the provider accepted the notification, with the provider''s message id.';

-- Backoff: exponential with full jitter (a uniform delay between 0 and
-- min(2 hours, 30 s * 2^(attempt - 1))), or the provider's retry_after,
-- never past the idempotency window.
create function observe.fail_notification(
    id uuid,
    error text,
    retry_after interval default null,
    permanent boolean default false)
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    notification_id alias for id;
    claimed observe.notifications;
    window_end timestamptz;
    next_at timestamptz;
    reason text;
begin
    if notification_id is null or error is null or permanent is null then
        raise exception 'id, error and permanent are required' using errcode = 'null_value_not_allowed';
    end if;
    if retry_after < interval '0' then
        raise exception 'retry_after must not be negative, got %', retry_after
            using errcode = 'invalid_parameter_value';
    end if;
    select * into claimed from observe.notifications n where n.id = notification_id for update;
    if not found then
        raise exception 'notification % does not exist', notification_id using errcode = 'no_data_found';
    end if;
    -- Only the outcome of a claim counts: a report from a dispatcher whose
    -- lease ran out must not undo what another one recorded since.
    if claimed.status <> 'claimed' then
        return claimed.status;
    end if;

    window_end := claimed.first_attempt_at + interval '23 hours';
    next_at := least(now() + coalesce(retry_after,
                                      random() * least(interval '2 hours',
                                                       interval '30 seconds' * power(2, least(claimed.attempts - 1, 20)))),
                     window_end);
    reason := case
        when permanent then null
        when claimed.attempts >= claimed.max_attempts then format('; gave up after %s attempts', claimed.attempts)
        when window_end <= now() then '; no retry fits the 23-hour idempotency window'
    end;

    update observe.notifications n
       set status = case when permanent or reason is not null then 'dead' else 'failed' end,
           last_error = left(error, 2000) || coalesce(reason, ''),
           next_attempt_at = case when permanent or reason is not null then n.next_attempt_at else next_at end,
           lease_until = null, updated_at = now()
     where n.id = notification_id
    returning n.* into claimed;
    return claimed.status;
end
$$;
comment on function observe.fail_notification(uuid, text, interval, boolean) is
    'Records a failed send: retried later (exponential backoff with full jitter, or retry_after), or dead when permanent, out of attempts or out of the idempotency window. Returns the new status.';

-- What the dispatcher reports as remaining: notifications not yet sent nor
-- dead, due now or later. The dispatcher may read this count and nothing
-- more of the outbox.
create function observe.pending_notifications()
returns bigint
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select count(*) from observe.notifications where status in ('queued', 'claimed', 'failed')
$$;
comment on function observe.pending_notifications() is
    'How many notifications are waiting to be sent (queued, claimed or failed), due now or later.';

-- Delivery events only move forward (sent < delivery_delayed < delivered <
-- bounced, complained), since the provider's webhooks may arrive out of
-- order and more than once.
create function observe.record_delivery(provider_message_id text, event text, occurred_at timestamptz)
returns boolean
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    message_id alias for provider_message_id;
    progress constant jsonb := '{"delivery_delayed": 1, "delivered": 2, "bounced": 3, "complained": 3}';
begin
    if message_id is null or event is null or occurred_at is null then
        raise exception 'provider_message_id, event and occurred_at are required'
            using errcode = 'null_value_not_allowed';
    end if;
    if not progress ? event then
        raise exception 'event must be delivery_delayed, delivered, bounced or complained, got "%"', event
            using errcode = 'invalid_parameter_value';
    end if;
    update observe.notifications n
       set delivery_status = event,
           delivered_at = case when event = 'delivered' then occurred_at else n.delivered_at end,
           updated_at = now()
     where n.provider_message_id = message_id
       and coalesce((progress ->> n.delivery_status)::int, 0) <= (progress ->> event)::int;
    return found or exists (select from observe.notifications n where n.provider_message_id = message_id);
end
$$;
comment on function observe.record_delivery(text, text, timestamptz) is
    'Records a delivery webhook of the provider (delivered, bounced, complained, delivery_delayed); returns whether a notification has that message id.';

-- The doorbell: with pg_net installed and a dispatch URL configured, a
-- transaction that queues notifications asks the dispatcher to drain the
-- outbox right after it commits. pg_net is at most once and every role can
-- read its request table, so the ring carries only a low-value token that
-- can trigger nothing but a short drain; the scheduled drain delivers
-- whatever a lost ring would have.
create table observe.dispatch_config (
    singleton boolean primary key default true check (singleton),
    url text not null check (url ~ '^https?://'),
    token text,
    updated_at timestamptz not null default now()
);
comment on table observe.dispatch_config is
    'Where the doorbell rings (observe.configure_dispatch); readable by no role, since it holds the ring token.';

create function observe.configure_dispatch(url text, token text default null)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    dispatch_url alias for url;
    ring_token alias for token;
begin
    if dispatch_url is null then
        delete from observe.dispatch_config;
        return;
    end if;
    if dispatch_url !~ '^https?://[^/?#\s]+' then
        raise exception 'url must be an http or https URL, got "%"', dispatch_url
            using errcode = 'invalid_parameter_value';
    end if;
    if ring_token is not null and (length(ring_token) not between 16 and 256 or ring_token !~ '^[\x21-\x7e]+$') then
        raise exception 'token must be 16 to 256 printable characters without spaces'
            using errcode = 'invalid_parameter_value';
    end if;
    insert into observe.dispatch_config (url, token) values (dispatch_url, ring_token)
    on conflict (singleton) do update set url = excluded.url, token = excluded.token, updated_at = now();
    if observe.extension_schema('pg_net') is null then
        raise notice 'pg_net is not installed in database %: the doorbell stays silent until it is, and the scheduled drain delivers',
            current_database();
    end if;
end
$$;
comment on function observe.configure_dispatch(text, text) is
    'Sets the URL the doorbell rings (the alert-dispatch function) and its ring token: a token that can only trigger a short drain, never OBSERVE_FUNCTION_SECRET. A null url turns the doorbell off.';

create function observe.ring_dispatch()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    net name;
    config observe.dispatch_config;
begin
    if not exists (select from queued where status = 'queued')
       or current_setting('pg_observe.dispatch_rung', true) = 'on' then
        return null;
    end if;
    net := observe.extension_schema('pg_net');
    select * into config from observe.dispatch_config;
    if net is null or config.url is null then
        return null;
    end if;
    -- Once per transaction: pg_net sends after commit, so a second ring in
    -- the same transaction would only start a second drain of the same rows.
    perform set_config('pg_observe.dispatch_rung', 'on', true);
    begin
        execute format('select %I.http_post(url => $1, body => $2, headers => $3, timeout_milliseconds => $4)', net)
          using config.url,
                jsonb_build_object('ring', true),
                jsonb_strip_nulls(jsonb_build_object('Content-Type', 'application/json',
                                                     'Authorization', 'Bearer ' || config.token)),
                10000;
    exception when others then
        -- A doorbell that cannot ring must not cost the alert: the scheduled
        -- drain still sends it.
        raise warning 'pg_observe: the dispatch doorbell did not ring: %', sqlerrm;
    end;
    return null;
end
$$;

create trigger notifications_ring_dispatch
    after insert on observe.notifications
    referencing new table as queued
    for each statement execute function observe.ring_dispatch();
