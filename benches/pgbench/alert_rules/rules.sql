-- Fifty enabled rules of every kind a team would keep: thresholds on each
-- metric capture feeds (some split by group_by, some matching tags or
-- context), and the event rules that fire inside the capturing transaction.
select observe.create_alert_rule('errors ' || s || ' ' || l, metric => 'error_events', threshold => 100 * i,
                                 service => s, level => l, group_by => '{environment}')
  from generate_series(1, 10) as i,
       lateral (select (array['billing', 'auth', 'search', 'checkout', 'web'])[1 + i % 5] as s,
                       (array['warning', 'error'])[1 + i % 2] as l) as pick;
select observe.create_alert_rule('issue spike ' || i, metric => 'issue_events', threshold => 50 * i,
                                 group_by => '{issue_id}', window_size => (i || ' minutes')::interval)
  from generate_series(1, 10) as i;
select observe.create_alert_rule('users ' || i, metric => 'affected_users', threshold => 20 * i,
                                 service => 'billing', window_size => '15 minutes')
  from generate_series(1, 10) as i;
select observe.create_alert_rule('order ' || i, metric => 'error_events', threshold => 10 * i,
                                 match => jsonb_build_object('order_id', i * 21), severity => 'critical')
  from generate_series(1, 10) as i;
select observe.create_alert_rule('new issue ' || i, kind => 'new_issue',
                                 service => (array['billing', 'auth', 'search', 'checkout', 'web'])[i])
  from generate_series(1, 5) as i;
select observe.create_alert_rule('regression ' || i, kind => 'regression', severity => 'critical',
                                 service => (array['billing', 'auth', 'search', 'checkout', 'web'])[i])
  from generate_series(1, 5) as i;
