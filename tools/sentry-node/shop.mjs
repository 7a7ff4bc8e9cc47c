// A small Node "application" that reports through the real @sentry/node,
// driven by sentry.test.ts: node tools/sentry-node/shop.mjs <scenario>, with
// SENTRY_DSN set. Prints one JSON line with what the test compares against
// the database, and every envelope the SDK sent: its status and whether it
// carried an event (one the SDK held back for a rate limit is not sent).
import * as Sentry from "@sentry/node";
import { charge } from "./payments.mjs";

const sent = [];

function init() {
  Sentry.init({
    dsn: process.env.SENTRY_DSN,
    release: "node-shop@2.0.1",
    environment: "staging",
    // What a server sends besides errors: session aggregates and client reports.
    autoSessionTracking: true,
    sendClientReports: true,
    transport: (options) => {
      const transport = Sentry.makeNodeTransport(options);
      return {
        ...transport,
        send: async (envelope) => {
          const response = await transport.send(envelope);
          if (response.statusCode !== undefined) {
            sent.push({ status: response.statusCode, event: envelope[1].some(([item]) => item.type === "event") });
          }
          return response;
        },
      };
    },
  });
}

function report(result) {
  process.stdout.write(JSON.stringify({ ...result, sent }) + "\n");
}

async function errors() {
  init();
  Sentry.setUser({ id: "user-7", email: "carol@example.com", ip_address: "198.51.100.23" });
  Sentry.addBreadcrumb({ category: "auth", message: "login carol@example.com with token=hunter2" });
  Sentry.setTag("region", "eu-west-1");
  Sentry.captureMessage("Inventory cache stale for 120s", "warning");
  let printed;
  try {
    charge(42);
  } catch (error) {
    Sentry.captureException(error);
    printed = error.stack;
  }
  await Sentry.flush(5000);
  report({ stack: printed });
  // Unhandled: the SDK's onUncaughtException integration reports it and the
  // process exits 1.
  setTimeout(function syncInventory() {
    throw new TypeError("inventory sync failed for warehouse 7");
  });
}

async function burst(count) {
  init();
  for (let i = 0; i < count; i++) {
    Sentry.captureException(new RangeError(`burst event ${i}`));
    await Sentry.flush(5000);
  }
  report({});
}

const [scenario, arg] = process.argv.slice(2);
if (scenario === "errors") await errors();
else if (scenario === "burst") await burst(Number(arg));
else {
  console.error(`unknown scenario ${scenario}`);
  process.exit(2);
}
