-- The triage functions and the activity log: unknown issues, invalid
-- arguments, and resolve -> regress, ignore -> reopen as recorded in
-- observe.issue_activity.
begin;
select plan(16);

select throws_ok($$select observe.resolve_issue(-1)$$, 'P0002', 'issue -1 does not exist',
    'resolving an unknown issue');
select throws_ok($$select observe.ignore_issue(-1)$$, 'P0002', 'issue -1 does not exist',
    'ignoring an unknown issue');
select throws_ok($$select observe.reopen_issue(-1)$$, 'P0002', 'issue -1 does not exist',
    'reopening an unknown issue');

-- A statement does not see the rows that a function it calls inserts, so
-- the event id is kept and its issue looked up in the next statement.
create temporary table t_event on commit drop as
select observe.log_error('Invoice 7 could not be rendered', service => 'billing', release => 'billing@1.0.0') as id;
create temporary table t_issue on commit drop as
select e.issue_id as id from observe.events e join t_event using (id);

select is((select count(*) from t_issue), 1::bigint, 'an issue was captured');

select throws_ok(format('select observe.resolve_issue(%s, in_release => %L)', (select id from t_issue), ' '),
    '22023', null, 'a blank release name is refused');
select throws_ok(format('select observe.ignore_issue(%s, until => now() - interval %L)', (select id from t_issue), '1 hour'),
    '22023', null, 'ignoring until a past time is refused');
select throws_ok(format('select observe.ignore_issue(%s, until_count => 0)', (select id from t_issue)),
    '22023', null, 'ignoring until zero more events is refused');

-- resolve -> regress
select is((observe.resolve_issue((select id from t_issue))).status, 'resolved'::observe.issue_status,
    'resolve_issue returns the resolved issue');
select is((select status from observe.issues where id = (select id from t_issue)), 'resolved'::observe.issue_status,
    'the issue is resolved');
select lives_ok($$select observe.log_error('Invoice 9 could not be rendered', service => 'billing', release => 'billing@1.0.0')$$,
    'the same error happens again');
select results_eq(
    $$select status::text, times_regressed, regressed_at is not null from observe.issues where id = (select id from t_issue)$$,
    $$values ('unresolved', 1, true)$$,
    'the issue regressed');
select results_eq(
    $$select kind, from_status::text, to_status::text, reason
        from observe.issue_activity where issue_id = (select id from t_issue) order by id$$,
    $$values ('created', null, 'unresolved', 'new_issue'),
             ('resolved', 'unresolved', 'resolved', 'manual'),
             ('regressed', 'resolved', 'unresolved', 'regression')$$,
    'creation, resolution and regression are recorded in order');

-- ignore -> reopen
select is((observe.ignore_issue((select id from t_issue), until_count => 100)).status, 'ignored'::observe.issue_status,
    'ignore_issue returns the ignored issue');
select is((observe.reopen_issue((select id from t_issue))).status, 'unresolved'::observe.issue_status,
    'reopen_issue returns the reopened issue');
select results_eq(
    $$select kind, reason, details from observe.issue_activity
       where issue_id = (select id from t_issue) and kind in ('ignored', 'reopened') order by id$$,
    $$values ('ignored', 'manual', '{"ignore_until_count": 100}'::jsonb), ('reopened', 'manual', '{}'::jsonb)$$,
    'ignoring and reopening are recorded with their conditions');
select is((select count(*) from observe.issue_activity where issue_id = (select id from t_issue) and actor = session_user),
    5::bigint, 'every entry names who acted');

select * from finish();
rollback;
