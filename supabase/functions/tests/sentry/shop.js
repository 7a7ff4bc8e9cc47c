// A page that reports through the real @sentry/browser (sentry.test.ts):
// ?scenario=errors|burst&dsn=...&ingest=...
const params = new URLSearchParams(location.search);
Sentry.init({ dsn: params.get("dsn"), release: "web-shop@5.12.1", environment: "production" });

function checkout(cart) {
  return cart.items.length;
}

function payTwice() {
  try {
    checkout(undefined);
  } catch (error) {
    Sentry.captureException(error);
    return error;
  }
}

async function errors() {
  Sentry.setUser({ id: "u-7", email: "bob@example.com", ip_address: "203.0.113.9" });
  Sentry.addBreadcrumb({ category: "ui", message: "clicked pay as bob@example.com with password=hunter2" });
  Sentry.captureMessage("Checkout button clicked twice");
  const error = payTwice();
  // The same error's printed stack, through the ingest endpoint's JSON form.
  await fetch(params.get("ingest"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: error.message, stack: error.stack, service: "web-shop" }),
  });
  // Unhandled: the SDK's global handlers report it.
  setTimeout(() => checkout(null), 0);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await Sentry.flush(5000);
}

async function burst() {
  for (let i = 0; i < Number(params.get("count")); i++) {
    Sentry.captureException(new Error(`burst event ${i}`));
    await Sentry.flush(5000);
  }
}

(params.get("scenario") === "burst" ? burst() : errors()).then(
  () => globalThis.done = true,
  (error) => {
    globalThis.result = String(error);
    globalThis.done = true;
  },
);
