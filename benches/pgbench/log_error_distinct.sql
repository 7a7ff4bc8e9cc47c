\set user random(1, 500)
\set kind random(1, 1000)
select observe.log_error('Timeout after 3000ms calling payments provider for order 42', 'error', 'billing',
                         'production', 'billing@2.4.0', 'TimeoutError' || :kind, null,
                         '{"order_id": 42, "attempt": 1}', null, 'user-' || :user, 'req-' || :client_id, now());
