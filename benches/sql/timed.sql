-- bench.timed(query): runs a query returning one value, and returns that
-- value with the milliseconds it took, so a slow query runs once yet still
-- reports its result.
set client_min_messages = warning;
create schema if not exists bench;
create function bench.timed(query text, out ms float8, out result text) language plpgsql as $$
declare started timestamptz := clock_timestamp();
begin
    execute query into result;
    ms := extract(epoch from clock_timestamp() - started) * 1000;
end $$;
