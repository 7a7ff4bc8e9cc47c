-- Demo data for a local stack (also usable as `supabase db reset` seed).
-- Realistic errors from four services, sent the ways real callers send them:
-- named arguments, the JSON form an SDK posts, the platform's legacy
-- log-error body, and a PL/pgSQL exception handler.

select observe.log_error(
         format('Timeout after %sms calling payments provider for order %s', 1000 + (i * 37) % 4000, 10000 + i),
         level => 'error', service => 'billing', environment => 'production',
         release => case when i < 150 then 'billing@2.3.0' else 'billing@2.4.0' end,
         exception_type => 'TimeoutError',
         context => jsonb_build_object('order_id', 10000 + i, 'attempt', 1 + i % 3),
         user_ref => 'user-' || (i % 40))
  from generate_series(1, 240) as i;

select observe.log_error(jsonb_build_object(
         'message', 'Cannot read properties of undefined (reading ''id'')',
         'service', 'web', 'environment', 'production', 'release', 'web@5.12.1',
         'stack', format(E'TypeError: Cannot read properties of undefined (reading ''id'')\n'
                      || E'    at getCurrentUser (webpack-internal:///./src/lib/session.ts:%s:19)\n'
                      || E'    at ProfilePage (webpack-internal:///./src/app/profile/page.tsx:12:7)\n'
                      || E'    at renderWithHooks (webpack-internal:///./node_modules/react-dom/cjs/react-dom.development.js:16305:18)',
                      40 + i % 3),
         'user_ref', 'user-' || (i % 90),
         'request', jsonb_build_object('url', 'https://app.example.com/profile?token=abc123', 'method', 'GET'),
         'unhandled', true))
  from generate_series(1, 180) as i;

select observe.log_error(jsonb_build_object(
         'error_type', 'rls_violation',
         'message', 'new row violates row-level security policy for table "documents"',
         'context', 'documents', 'http_status', 403,
         'url', 'https://app.example.com/documents/new',
         'user_agent', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15',
         'session_id', 'sess-' || i, 'user_id', '6f1c2b0e-3a4d-4e5f-8a9b-0c1d2e3f4a' || lpad(i::text, 2, '0'),
         'labels', jsonb_build_object('plan', case when i % 2 = 0 then 'pro' else 'free' end)))
  from generate_series(1, 25) as i;

select observe.log_error(
         format('Login failed for %s: invalid password (attempt %s)', 'user' || i || '@example.com', i % 5),
         level => 'warning', service => 'api', environment => 'production', release => 'api@1.8.0',
         exception_type => 'AuthError',
         context => jsonb_build_object('email', 'user' || i || '@example.com', 'password', 'hunter' || i,
                                       'ip', '203.0.113.' || i))
  from generate_series(1, 60) as i;

select observe.log_error(
         E'duplicate key value violates unique constraint "users_email_key"',
         exception_type => '23505', service => 'db', environment => 'staging', release => 'api@1.9.0-rc.1',
         stack => E'PL/pgSQL function api.sign_up(text,text) line 9 at SQL statement\nSQL statement "INSERT INTO users(email) VALUES (p_email)"')
  from generate_series(1, 12);

select observe.log_error(
         format(E'psycopg.errors.QueryCanceled: canceling statement due to statement timeout'),
         service => 'reports', environment => 'production', release => 'reports@0.9.2',
         stack => format(E'Traceback (most recent call last):\n'
                      || E'  File "/srv/reports/app/jobs/monthly.py", line %s, in build_monthly_report\n'
                      || E'    rows = db.fetch_all(query)\n'
                      || E'  File "/srv/reports/app/db.py", line 42, in fetch_all\n'
                      || E'    cur.execute(sql)\n'
                      || E'  File "/usr/local/lib/python3.11/site-packages/psycopg/cursor.py", line 723, in execute\n'
                      || E'    raise ex.with_traceback(None)\n'
                      || E'psycopg.errors.QueryCanceled: canceling statement due to statement timeout', 100 + i))
  from generate_series(1, 30) as i;

-- A payment webhook handler failing, tagged the way the Stripe rule below
-- matches (the legacy body's `labels` become tags).
select observe.log_error(jsonb_build_object(
         'error_type', 'api', 'context', 'billing', 'http_status', 500,
         'message', 'Stripe webhook signature verification failed for evt_' || md5(i::text),
         'labels', jsonb_build_object('webhook', 'stripe', 'event_type', 'invoice.payment_failed')))
  from generate_series(1, 4) as i;

-- Triage: a fixed issue regresses, a noisy one is ignored for a while.
select observe.resolve_issue(id, in_release => 'billing@2.4.0')
  from observe.issue_groups where service = 'billing';
select observe.log_error('Timeout after 2100ms calling payments provider for order 99999',
                         service => 'billing', environment => 'production', release => 'billing@2.4.1',
                         exception_type => 'TimeoutError');
select observe.ignore_issue(id, until => now() + interval '1 day')
  from observe.issue_groups where service = 'api';

-- The platform's alert rules (README, "Alerting": how each maps). No
-- recipients: the dispatch function sends to MONITORING_ALERT_EMAIL.
select observe.create_alert_rule(
         'error_spike', threshold => 10, level => 'error', window_size => '5 minutes',
         group_by => '{service}', severity => 'critical',
         annotations => '{"summary": "At least 10 errors in 5 minutes"}');
select observe.create_alert_rule(
         'stripe_webhook_failures', threshold => 3, match => '{"webhook": "stripe"}',
         window_size => '10 minutes', severity => 'high',
         annotations => '{"summary": "Stripe webhooks are failing"}');
select observe.create_alert_rule(
         'warning_spike', threshold => 5, level => 'warning', window_size => '10 minutes',
         group_by => '{service}', severity => 'medium',
         annotations => '{"summary": "At least 5 warnings in 10 minutes"}');
select observe.create_alert_rule(
         'error_rate_high', metric => 'error_rate', comparator => '>', threshold => 0.05,
         window_size => '5 minutes', group_by => '{service}', severity => 'high',
         annotations => '{"summary": "More than 5 % of requests failed"}');
-- One alert per fingerprint per 30 minutes (ALERT_RATE_LIMIT_MINUTES): an
-- issue with errors in the last minute fires; while it keeps erring its
-- group repeats at most every 30 minutes, and it stays firing (so cannot
-- fire afresh) until 30 quiet minutes have passed.
select observe.create_alert_rule(
         'issue_alert', metric => 'issue_events', threshold => 1, level => 'error',
         window_size => '1 minute', group_by => '{issue_id}', group_wait => '0 seconds',
         keep_firing_for => '30 minutes', repeat_interval => '30 minutes', send_resolved => false,
         severity => 'high');
