\set n random(1, 1000)
select observe.log('Checkout completed for order ' || :n, 'info', 'billing', 'production',
                   '{"order_id": 42, "items": 3}', 'req-' || :client_id);
