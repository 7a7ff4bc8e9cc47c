"""A small Python "application" that reports through the real sentry-sdk,
driven by sentry.test.ts: python3 shop.py <scenario>, with SENTRY_DSN set.
Prints one JSON line with what the test compares against the database."""
import json
import sys
import traceback

import sentry_sdk

from payments import PaymentError, charge


def init(debug=True, **options):
    sentry_sdk.init(
        dsn=__import__("os").environ["SENTRY_DSN"],
        release="py-shop@1.4.2",
        environment="staging",
        # The default queue (100) drops a fast burst before it is sent.
        transport_queue_size=1000,
        debug=debug,
        **options,
    )


def errors():
    # Quiet: the SDK's debug lines come from its own thread and would cut
    # into the traceback the test reads on stderr.
    init(debug=False)
    sentry_sdk.set_user({"id": "user-42", "email": "alice@example.com"})
    sentry_sdk.add_breadcrumb(category="auth", message="login alice@example.com with token=hunter2")
    sentry_sdk.capture_message("Payment provider timeout after 3000ms")
    try:
        charge(order_id=42)
    except PaymentError:
        sentry_sdk.capture_exception()
        printed = traceback.format_exc()
    sentry_sdk.flush()
    print(json.dumps({"traceback": printed}), flush=True)
    sync_inventory()


def sync_inventory():
    # Unhandled: the SDK's excepthook reports it, then the process exits 1.
    raise RuntimeError("inventory sync failed for warehouse 7")


def burst(count):
    init()
    for i in range(count):
        sentry_sdk.capture_exception(ValueError(f"burst event {i}"))
        sentry_sdk.flush()
    transport = sentry_sdk.get_client().transport
    limited = sorted(str(c) for c in getattr(transport, "_disabled_until", {}))
    print(json.dumps({"rate_limited": limited}), flush=True)


def one():
    init()
    sentry_sdk.capture_message("sent with a revoked key")
    sentry_sdk.flush()


if __name__ == "__main__":
    scenario = sys.argv[1]
    if scenario == "errors":
        errors()
    elif scenario == "burst":
        burst(int(sys.argv[2]))
    elif scenario == "one":
        one()
    else:
        sys.exit(f"unknown scenario {scenario}")
