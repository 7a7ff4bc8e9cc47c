-- A small OLTP table; 5 % of transactions fail with a serialization
-- failure, which pgbench counts as a failed transaction without aborting
-- the client (PostgreSQL 15, --max-tries 1).
drop schema if exists bench cascade;
create schema bench;
create table bench.accounts (id int primary key, balance bigint not null default 0);
insert into bench.accounts (id) select generate_series(1, 10000);
create function bench.transfer(account int, draw int) returns void language plpgsql as $$
begin
    update bench.accounts set balance = balance + 1 where id = account;
    if draw <= 5 then
        raise exception 'transfer % refused: account locked', account
            using errcode = 'serialization_failure';
    end if;
end $$;
-- What the latency poller has seen, and when.
create table bench.seen (id uuid primary key, occurred_at timestamptz, seen_at timestamptz);
create procedure bench.watch(seconds float8) language plpgsql as $$
declare
    started timestamptz := clock_timestamp();
    deadline timestamptz := started + make_interval(secs => seconds);
begin
    while clock_timestamp() < deadline loop
        insert into bench.seen
        select e.id, e.occurred_at, clock_timestamp()
          from observe.events e
         where e.occurred_at >= started
           and not exists (select from bench.seen s where s.id = e.id);
        commit;
        perform pg_sleep(0.01);
    end loop;
end $$;
create extension if not exists pg_observe;
