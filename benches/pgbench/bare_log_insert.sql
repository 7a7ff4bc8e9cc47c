\set n random(1, 1000)
insert into bench.bare_logs (message, level, service, environment, context, request_id)
values ('Checkout completed for order ' || :n, 'info', 'billing', 'production',
        '{"order_id": 42, "items": 3}', 'req-' || :client_id);
