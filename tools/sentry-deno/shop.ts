// A small Deno "application" (an edge function's code) that reports through
// the real @sentry/deno, driven by sentry.test.ts:
//   deno run --node-modules-dir=manual -A tools/sentry-deno/shop.ts <scenario>
// with SENTRY_DSN set. Prints one JSON line with what the test compares
// against the database, and every envelope the SDK sent (its transport
// calls fetch): its status and whether it carried an event.
import * as Sentry from "@sentry/deno";
import { charge } from "./payments.ts";

const sent: { status: number; event: boolean }[] = [];
const fetchForReal = globalThis.fetch;
globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
  const response = await fetchForReal(input, init);
  if (String(input).includes("/envelope/")) {
    const body = typeof init?.body === "string" ? init.body : new TextDecoder().decode(init?.body as Uint8Array);
    sent.push({ status: response.status, event: body.includes('"type":"event"') });
  }
  return response;
};

function init() {
  Sentry.init({
    dsn: Deno.env.get("SENTRY_DSN"),
    release: "deno-shop@0.9.0",
    environment: "staging",
  });
}

function report(result: Record<string, unknown>) {
  console.log(JSON.stringify({ ...result, sent }));
}

async function errors() {
  init();
  Sentry.setUser({ id: "user-9", email: "dave@example.com" });
  Sentry.addBreadcrumb({ category: "auth", message: "login dave@example.com with token=hunter2" });
  Sentry.captureMessage("Edge cache miss storm", "warning");
  let printed: string | undefined;
  try {
    charge(7);
  } catch (error) {
    Sentry.captureException(error);
    printed = (error as Error).stack;
  }
  await Sentry.flush(5000);
  report({ stack: printed });
}

async function burst(count: number) {
  init();
  for (let i = 0; i < count; i++) {
    Sentry.captureException(new RangeError(`burst event ${i}`));
    await Sentry.flush(5000);
  }
  report({});
}

const [scenario, arg] = Deno.args;
if (scenario === "errors") await errors();
else if (scenario === "burst") await burst(Number(arg));
else {
  console.error(`unknown scenario ${scenario}`);
  Deno.exit(2);
}
