-- Capturing through the SQL API: the SQLSTATEs callers branch on, the
-- named-argument calls supabase-js and PostgREST make, and the PL/pgSQL
-- exception handler pattern the README recommends.
begin;
select plan(24);

-- Invalid input: 22023 (invalid_parameter_value), missing input: 22004.
select throws_ok(
    $$select observe.log_error('x', level => 'critical')$$,
    '22023', 'invalid level "critical": allowed values are debug, info, warning, error, fatal',
    'an unknown level is refused (argument list)');
select throws_ok(
    $$select observe.log_error('{"message": "x", "level": "verbose"}'::jsonb)$$,
    '22023', 'invalid level "verbose": allowed values are debug, info, warning, error, fatal',
    'an unknown level is refused (JSON)');
select lives_ok(
    $$select observe.log_error('x', level => 'WARNING')$$,
    'levels are case-insensitive');
select throws_ok(
    $$select observe.log_error(null::text)$$,
    '22004', 'event field "message" is required',
    'a NULL message is refused');
select throws_ok(
    $$select observe.log_error('{"level": "error"}'::jsonb)$$,
    '22004', 'event field "message" is required',
    'a JSON event without a message is refused');
select throws_ok(
    $$select observe.log_error(null::jsonb)$$,
    '22004', 'event field "event" is required',
    'a NULL JSON event is refused');
select throws_ok(
    $$select observe.log_errors(null)$$,
    '22004', 'event field "events" is required',
    'a NULL batch is refused');

-- JSON of the wrong shape or types.
select throws_ok(
    $$select observe.log_error('{"message": 5}'::jsonb)$$,
    '22023', 'event field "message" must be a string, got a number',
    'a numeric message is refused');
select throws_ok(
    $$select observe.log_error('[{"message": "x"}]'::jsonb)$$,
    '22023', 'event field "event" must be an object, got an array',
    'log_error(jsonb) takes one object, not an array');
select throws_ok(
    $$select observe.log_errors('{"message": "x"}'::jsonb)$$,
    '22023', 'events must be a JSON array of event objects, got an object',
    'log_errors takes an array');
select throws_ok(
    $$select observe.log_error('{"message": "x", "user_ref": 42}'::jsonb)$$,
    '22023', 'event field "user_ref" must be a string, got a number',
    'a numeric user_ref is refused');
select throws_ok(
    $$select observe.log_error('{"message": "x", "tags": {"plan": ["pro"]}}'::jsonb)$$,
    '22023', 'event field "tags.plan" must be a string, got an array',
    'tag values must be strings');
select throws_ok(
    $$select observe.log_error('x', context => '[1, 2]')$$,
    '22023', 'event field "context" must be an object, got an array',
    'context must be an object, and the error does not echo it');
select throws_ok(
    $$select observe.log_error('x', fingerprint => array['checkout', null])$$,
    '22023', 'event field "fingerprint" must not contain NULL elements',
    'a fingerprint with a NULL part is refused');
select throws_ok(
    $$select observe.log_errors('[{"message": "fine"}, {"message": 7}]'::jsonb)$$,
    '22023', 'event 1: event field "message" must be a string, got a number',
    'a batch names the failing event');
select is((select count(*) from observe.events where message = 'fine'), 0::bigint,
    'a failing batch stores none of its events');

-- Named arguments, as supabase-js rpc() and PostgREST call them.
select lives_ok(
    $$select observe.log_error(message => 'Checkout failed', level => 'warning', service => 'web',
                               environment => 'production', context => '{"cart": 3}')$$,
    'log_error with named arguments');
select lives_ok(
    $$select observe.log_error(event => '{"message": "Upload failed", "service": "web"}'::jsonb)$$,
    'log_error(event => jsonb)');
select lives_ok(
    $$select observe.log_errors(events => '[{"message": "One"}, {"message": "Two"}]'::jsonb)$$,
    'log_errors(events => jsonb)');
select results_eq(
    $$select message, level::text, service from observe.events
       where message in ('Checkout failed', 'Upload failed', 'One', 'Two') order by message$$,
    $$values ('Checkout failed', 'warning', 'web'), ('One', 'error', 'default'),
             ('Two', 'error', 'default'), ('Upload failed', 'error', 'web')$$,
    'named-argument calls store what they were given');

-- A PL/pgSQL handler that records the error and carries on.
create function pg_temp.apply_discount(order_id int) returns text
language plpgsql as $$
declare
    where_it_failed text;
begin
    perform 100 / (order_id - order_id);
    return 'applied';
exception when others then
    get stacked diagnostics where_it_failed = pg_exception_context;
    perform observe.log_error(SQLERRM, exception_type => SQLSTATE, service => 'db',
                              stack => where_it_failed,
                              context => jsonb_build_object('order_id', order_id));
    return 'logged';
end
$$;

select is(pg_temp.apply_discount(1), 'logged', 'the handler catches the error and logs it');
select is(pg_temp.apply_discount(2), 'logged', 'and again for another order');
select results_eq(
    $$select title, exception_type, events, grouping_basis from observe.issues where service = 'db'$$,
    $$values ('22012: division by zero'::text, '22012'::text, 2::bigint, 'stack'::text)$$,
    'both failures form one issue, grouped by the PL/pgSQL stack');
select results_eq(
    $$select context ->> 'order_id' from observe.events where service = 'db' order by occurred_at, context ->> 'order_id'$$,
    $$values ('1'), ('2')$$,
    'each event keeps its own context');

select * from finish();
rollback;
