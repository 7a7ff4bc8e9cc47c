-- The baseline: a plain table with exactly log_error's columns, no key,
-- no index, no trigger. The cheapest place one could put the same data.
drop schema if exists bench cascade;
create schema bench;
create table bench.bare_events (
    message text,
    level text,
    service text,
    environment text,
    release text,
    exception_type text,
    stack text,
    context jsonb,
    fingerprint text[],
    user_ref text,
    request_id text,
    occurred_at timestamptz
);
-- The same for log lines: observe.log's six columns.
create table bench.bare_logs (
    message text,
    level text,
    service text,
    environment text,
    context jsonb,
    request_id text
);
create extension if not exists pg_observe;
