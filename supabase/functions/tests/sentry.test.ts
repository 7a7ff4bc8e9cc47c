// The Sentry SDK protocol end to end: the real Python sentry-sdk
// (tools/.venv), the real @sentry/node under Node and @sentry/deno under Deno
// (tools/sentry-node, tools/sentry-deno), and the real @sentry/browser in
// Debian's headless Chromium (tools/sentry-browser.mjs) point their DSN at
// the ingest function, served by real Deno running the real WASM against the
// real PostgreSQL.
import nodeAssert from "node:assert/strict";
import postgres from "postgres";
import { ALLOWED_ORIGIN, type Stack, startStack } from "./stack.ts";

const assertEquals = (actual: unknown, expected: unknown, message?: string) =>
  nodeAssert.deepStrictEqual(JSON.parse(JSON.stringify(actual)), expected, message);
const assert = (condition: unknown, message?: string) => nodeAssert.ok(condition, message);
const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
const ROOT = new URL("../../../", import.meta.url).pathname;
const HERE = `${ROOT}supabase/functions/tests/sentry/`;
const decoder = new TextDecoder();

async function createProject(db: postgres.Sql, name: string) {
  const [project] = await db`select * from observe.create_project(${name}, environment => 'production')`;
  return project as { project_id: string; public_key: string; dsn_path: string };
}

function dsn(stack: Stack, key: string, path: string) {
  const url = new URL(stack.functionsUrl);
  return `http://${key}@${url.host}${path}`;
}

/** Runs an application that reports through a real SDK; its last line of
 * output is JSON. */
async function app(command: string, args: string[], cwd: string, sentryDsn: string) {
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd,
    env: { SENTRY_DSN: sentryDsn },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = decoder.decode(stdout).trim().split("\n").filter(Boolean);
  return { code, stderr: decoder.decode(stderr), result: lines.length ? JSON.parse(lines.at(-1)!) : null };
}

const python = (scenario: string[], sentryDsn: string) =>
  app(`${ROOT}tools/.venv/bin/python`, ["shop.py", ...scenario], HERE, sentryDsn);
const node = (scenario: string[], sentryDsn: string) =>
  app("node", [`${ROOT}tools/sentry-node/shop.mjs`, ...scenario], `${ROOT}tools`, sentryDsn);
const deno = (scenario: string[], sentryDsn: string) =>
  app(
    `${ROOT}tools/node_modules/.bin/deno`,
    [
      "run",
      "--node-modules-dir=manual",
      "--allow-env",
      "--allow-net",
      "--allow-read",
      "sentry-deno/shop.ts",
      ...scenario,
    ],
    `${ROOT}tools`,
    sentryDsn,
  );

test("the Python sentry-sdk: issues with the SDK's frames, scrubbed user and breadcrumbs, one issue with the text traceback", async () => {
  const stack = await startStack();
  try {
    const project = await createProject(stack.db, "py-shop");
    assert(/^[0-9a-f]{32}$/.test(project.public_key), project.public_key);
    assertEquals(project.dsn_path, `/functions/v1/ingest/${project.project_id}`);
    const run = await python(["errors"], dsn(stack, project.public_key, project.dsn_path));
    assertEquals(run.code, 1, "the unhandled exception ends the script");
    assert(run.stderr.includes("RuntimeError: inventory sync failed"), run.stderr);

    const issues = await stack.db`
      select i.title, i.culprit, i.level::text, i.exception_type, e.unhandled, e.release, e.environment,
             e.user_ref, e.context, e.writer_role, i.id
        from observe.issues i join observe.events e on e.issue_id = i.id
       where i.service = 'py-shop' order by i.title collate "C"`;
    assertEquals(issues.map((i) => [i.title, i.culprit, i.level, i.unhandled]), [
      ["Payment provider timeout after 3000ms", null, "info", null],
      ["RuntimeError: inventory sync failed for warehouse 7", "sync_inventory (shop.py)", "error", true],
      ["payments.PaymentError: card declined for order 42", "authorize (payments.py)", "error", false],
    ]);
    for (const issue of issues) {
      assertEquals([issue.release, issue.environment, issue.writer_role], [
        "py-shop@1.4.2",
        "staging",
        "observe_ingest",
      ]);
      const stored = JSON.stringify(issue.context);
      // The SDK's source context is code and kept; the e-mail and token in it are scrubbed too.
      for (const secret of ["alice@example.com", "hunter2"]) {
        assert(!stored.includes(secret), `${secret} stored: ${stored}`);
      }
      assertEquals(issue.user_ref, "user-42");
      assertEquals(issue.context.sentry.user.email, "[email]");
      assert(issue.context.sentry.sdk.name.startsWith("sentry.python"), issue.context.sentry.sdk.name);
      const crumb = issue.context.sentry.breadcrumbs.find((b: { category: string }) => b.category === "auth");
      assert(crumb.message.includes("[email]") && crumb.message.includes("[Filtered]"), crumb.message);
    }
    const paymentIssue = issues[2].id;
    const [frames] = await stack.db`
      select e.context->'sentry'->'exception'->0->'stacktrace'->'frames' as frames, e.stack
        from observe.events e where e.issue_id = ${paymentIssue}`;
    assert(frames.frames.length >= 3, "the SDK's own frames are kept");
    assert(frames.stack.startsWith("Traceback (most recent call last):"), frames.stack);

    // The same error, logged as text through log_error, joins the SDK's issue.
    const [logged] = await stack.db`
      select observe.log_error('card declined for order 42', service => 'py-shop',
                               stack => ${run.result.traceback}) as id`;
    const [text] = await stack.db`select issue_id from observe.events where id = ${logged.id}`;
    assertEquals(String(text.issue_id), String(paymentIssue));
  } finally {
    await stack.close();
  }
});

test("the Python sentry-sdk honours 429 and X-Sentry-Rate-Limits, a revoked key gets 401, a disabled project 403", async () => {
  const stack = await startStack();
  try {
    const project = await createProject(stack.db, "py-burst");
    await stack.db`select observe.set_project_budget(${project.project_id}, events_per_minute => 3)`;
    const run = await python(["burst", "10"], dsn(stack, project.public_key, project.dsn_path));
    assertEquals(run.code, 0, run.stderr);
    assert(run.result.rate_limited.includes("error"), JSON.stringify(run.result));
    const [counts] = await stack.db`
      select (select count(*) from observe.events where service = 'py-burst')::int as stored,
             (select coalesce(sum(events), 0) from observe.ingest_drops
               where role = ${`project:${project.project_id}`})::int as refused`;
    // Three stored (six if the minute turned mid-burst); after the one 429
    // the SDK held every other event back itself.
    assert(counts.stored === 3 || counts.stored === 6, JSON.stringify(counts));
    assertEquals(counts.refused, 1);

    const [rotated] = await stack.db`select * from observe.rotate_project_key(${project.project_id})`;
    const revoked = await python(["one"], dsn(stack, project.public_key, project.dsn_path));
    assert(revoked.stderr.includes("401"), revoked.stderr);
    const envelope = `{}\n{"type":"event"}\n{"message":"hello"}\n`;
    const post = (key: string) =>
      fetch(`${stack.functionsUrl}/ingest/api/${project.project_id}/envelope/?sentry_key=${key}`, {
        method: "POST",
        body: envelope,
      });
    const old = await post(project.public_key);
    assertEquals([old.status, (await old.json()).error], [401, "unknown_key"]);
    // The burst spent the project's budget for this minute; the new key shares it.
    await stack.db`select observe.set_project_budget(${project.project_id}, events_per_minute => 1000)`;
    const fresh = await post(rotated.public_key);
    assertEquals(fresh.status, 200);
    await fresh.body?.cancel();
    await stack.db`select observe.disable_project(${project.project_id})`;
    const disabled = await post(rotated.public_key);
    assertEquals(disabled.status, 403);
    await disabled.body?.cancel();
  } finally {
    await stack.close();
  }
});

/** The issues of `service` with their events, in title order. */
async function issuesOf(db: postgres.Sql, service: string) {
  return await db`
    select i.id, i.title, i.culprit, i.level::text, i.exception_type, e.unhandled, e.release,
           e.environment, e.user_ref, e.context, e.stack, e.writer_role
      from observe.issues i join observe.events e on e.issue_id = i.id
     where i.service = ${service} order by i.title collate "C"`;
}

/** What both JavaScript server SDKs must deliver: the caught, chained error
 * as one issue with the SDK's frames and its cause in the event, a scrubbed
 * user and breadcrumb, and the same error logged with its printed stack in
 * the SDK's issue. */
async function assertChargeIssue(
  db: postgres.Sql,
  service: string,
  file: string,
  order: number,
  secrets: string[],
  printedStack: string,
) {
  const issues = await issuesOf(db, service);
  const charge = issues.find((i) => i.title.startsWith("PaymentError: charge failed"));
  if (!charge) throw new Error(`no charge issue among ${JSON.stringify(issues.map((i) => i.title))}`);
  assertEquals([charge.culprit, charge.level, charge.exception_type, charge.unhandled], [
    `charge (${file})`,
    "error",
    "PaymentError",
    false,
  ]);
  const chain = charge.context.sentry.exception;
  assertEquals(
    chain.map((e: { value: string }) => e.value),
    [`card declined for order ${order}`, `charge failed for order ${order}`],
    "the cause is kept in the event, oldest first as Sentry orders a chain",
  );
  assert(charge.stack.includes(file), charge.stack);
  const stored = JSON.stringify(charge.context);
  for (const secret of secrets) assert(!stored.includes(secret), `${secret} stored: ${stored}`);
  assertEquals(charge.context.sentry.user.email, "[email]");
  const crumb = charge.context.sentry.breadcrumbs.find((b: { category: string }) => b.category === "auth");
  assert(crumb.message.includes("[email]") && crumb.message.includes("[Filtered]"), crumb.message);

  const [logged] = await db`
    select observe.log_error(${
    printedStack.split("\n")[0]
  }, service => ${service}, stack => ${printedStack}) as id`;
  const [text] = await db`select issue_id from observe.events where id = ${logged.id}`;
  assertEquals(String(text.issue_id), String(charge.id), "the printed stack joins the SDK's issue");
  return issues;
}

/** With the project's budget at 3 a minute, a burst of 10 errors: the SDK is
 * answered 429 once and sends no more events (six and then 429 if the
 * minute turned during the burst). */
async function assertBurstBackOff(
  db: postgres.Sql,
  project: { project_id: string },
  burst: () => Promise<
    { code: number; stderr: string; result: { sent: { status: number; event: boolean }[] } }
  >,
) {
  await db`select observe.set_project_budget(${project.project_id}, events_per_minute => 3)`;
  await db`delete from observe.ingest_usage`;
  const run = await burst();
  assertEquals(run.code, 0, run.stderr);
  const [counts] = await db`
    select (select count(*) from observe.events e join observe.issues i on i.id = e.issue_id
             where i.title like 'RangeError: burst event%')::int as stored,
           (select coalesce(sum(events), 0) from observe.ingest_drops
             where role = ${`project:${project.project_id}`})::int as refused`;
  assert(counts.stored === 3 || counts.stored === 6, JSON.stringify(counts));
  assertEquals(counts.refused, 1);
  const events = run.result.sent.filter((s) => s.event).map((s) => s.status);
  assertEquals(events, [...Array(counts.stored).fill(200), 429], JSON.stringify(run.result.sent));
}

test("@sentry/node: the SDK's frames and cause, a scrubbed user, the unhandled error, the printed stack in the same issue; 429 stops it", async () => {
  const stack = await startStack();
  try {
    const project = await createProject(stack.db, "node-shop");
    const run = await node(["errors"], dsn(stack, project.public_key, project.dsn_path));
    assertEquals(run.code, 1, "the unhandled exception ends the process");
    assert(run.result.sent.every((s: { status: number }) => s.status === 200), JSON.stringify(run.result));
    const issues = await assertChargeIssue(
      stack.db,
      "node-shop",
      "payments.mjs",
      42,
      ["carol@example.com", "hunter2"],
      run.result.stack,
    );
    assertEquals(issues.map((i) => [i.title, i.culprit, i.level, i.unhandled]), [
      // The Node SDK sends a message with a synthetic exception carrying
      // the caller's frames: the title stays the message, the culprit is
      // where it was logged.
      ["Inventory cache stale for 120s", "errors (shop.mjs)", "warning", false],
      ["PaymentError: charge failed for order 42", "charge (payments.mjs)", "error", false],
      ["TypeError: inventory sync failed for warehouse 7", "Timeout.syncInventory (shop.mjs)", "fatal", true],
    ]);
    for (const issue of issues) {
      assertEquals([issue.release, issue.environment, issue.user_ref, issue.writer_role], [
        "node-shop@2.0.1",
        "staging",
        "user-7",
        "observe_ingest",
      ]);
      assert(
        issue.context.sentry.sdk.name.startsWith("sentry.javascript.node"),
        issue.context.sentry.sdk.name,
      );
      assertEquals(issue.context.sentry.user.ip_address, "[Filtered]");
    }

    await assertBurstBackOff(
      stack.db,
      project,
      () => node(["burst", "10"], dsn(stack, project.public_key, project.dsn_path)),
    );
  } finally {
    await stack.close();
  }
});

test("@sentry/deno: the SDK's frames and cause, a scrubbed user, the printed stack in the same issue; 429 stops it", async () => {
  const stack = await startStack();
  try {
    const project = await createProject(stack.db, "deno-shop");
    const run = await deno(["errors"], dsn(stack, project.public_key, project.dsn_path));
    assertEquals(run.code, 0, run.stderr);
    assert(run.result.sent.every((s: { status: number }) => s.status === 200), JSON.stringify(run.result));
    const issues = await assertChargeIssue(
      stack.db,
      "deno-shop",
      "payments.ts",
      7,
      ["dave@example.com", "hunter2"],
      run.result.stack,
    );
    assertEquals(issues.map((i) => [i.title, i.culprit, i.level, i.user_ref]), [
      ["Edge cache miss storm", null, "warning", "user-9"],
      ["PaymentError: charge failed for order 7", "charge (payments.ts)", "error", "user-9"],
    ]);
    assert(
      issues[1].context.sentry.sdk.name.startsWith("sentry.javascript.deno"),
      issues[1].context.sentry.sdk.name,
    );

    await assertBurstBackOff(
      stack.db,
      project,
      () => deno(["burst", "10"], dsn(stack, project.public_key, project.dsn_path)),
    );
  } finally {
    await stack.close();
  }
});

/** Serves the shop page, its script and the @sentry/browser bundle. */
async function startShop() {
  const bundleDir = await Deno.makeTempDir();
  const bundle = await new Deno.Command(`${ROOT}tools/node_modules/.bin/deno`, {
    args: [
      "bundle",
      "--node-modules-dir=manual",
      "--platform=browser",
      "--format=iife",
      "-o",
      `${bundleDir}/sentry.js`,
      "sentry-bundle.mjs",
    ],
    cwd: `${ROOT}tools`,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(bundle.code, 0, decoder.decode(bundle.stderr));
  const files: Record<string, string> = {
    "/sentry.js": await Deno.readTextFile(`${bundleDir}/sentry.js`),
    "/shop.js": await Deno.readTextFile(`${HERE}shop.js`),
    "/":
      `<!doctype html><title>shop</title><script src="/sentry.js"></script><script src="/shop.js"></script>`,
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    // Chromium asks for one; a 404 would be a console error.
    if (path === "/favicon.ico") return new Response(null, { status: 204 });
    const body = files[path];
    if (body === undefined) return new Response("not found", { status: 404 });
    const type = body.startsWith("<!doctype") ? "text/html" : "text/javascript";
    return new Response(body, { headers: { "content-type": type } });
  });
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      await server.shutdown();
      await Deno.remove(bundleDir, { recursive: true });
    },
  };
}

async function chromium(url: string) {
  const { code, stdout, stderr } = await new Deno.Command("node", {
    args: [`${ROOT}tools/sentry-browser.mjs`, url],
    cwd: `${ROOT}tools`,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, decoder.decode(stderr));
  return JSON.parse(decoder.decode(stdout));
}

test("@sentry/browser in Chromium: issues with the SDK's frames, one issue with the printed stack, 429 stops the SDK", async () => {
  const shop = await startShop();
  const stack = await startStack({ env: { OBSERVE_ALLOWED_ORIGINS: `${ALLOWED_ORIGIN},${shop.origin}` } });
  try {
    const project = await createProject(stack.db, "web-shop");
    const page = (scenario: string, extra = "") =>
      `${shop.origin}/?scenario=${scenario}&dsn=${
        encodeURIComponent(dsn(stack, project.public_key, project.dsn_path))
      }` +
      `&ingest=${encodeURIComponent(`${stack.functionsUrl}/ingest`)}${extra}`;
    const seen = await chromium(page("errors"));
    assertEquals(seen.result, null);
    assertEquals(seen.consoleErrors, []);
    assert(seen.envelopes.every((e: { status: number }) => e.status === 200), JSON.stringify(seen.envelopes));

    const events = await stack.db`
      select i.id, i.title, i.culprit, i.level::text, e.unhandled, e.writer_role, e.context, e.request
        from observe.issues i join observe.events e on e.issue_id = i.id
       where i.service = 'web-shop' order by e.occurred_at`;
    const byTitle = (prefix: string) => events.filter((e) => e.title.startsWith(prefix));
    assertEquals(byTitle("Checkout button clicked twice").map((e) => e.level), ["info"]);
    const caught = byTitle("TypeError: Cannot read properties of undefined");
    assertEquals(caught.length, 2, "the SDK's event and the printed stack's share one issue");
    assertEquals(new Set(caught.map((e) => String(e.id))).size, 1);
    assertEquals(caught.map((e) => e.writer_role), ["observe_ingest", "observe_ingest"]);
    const unhandled = byTitle("TypeError: Cannot read properties of null");
    assertEquals(unhandled.map((e) => [e.culprit, e.unhandled]), [["checkout (shop.js)", true]]);
    const sdkEvent = caught.find((e) => e.context.sentry)!;
    assertEquals(sdkEvent.culprit, "checkout (shop.js)");
    assertEquals(sdkEvent.context.sentry.user.email, "[email]");
    assertEquals(sdkEvent.context.sentry.user.ip_address, "[Filtered]");
    const stored = JSON.stringify(sdkEvent.context);
    for (const secret of ["bob@example.com", "hunter2", "203.0.113.9"]) {
      assert(!stored.includes(secret), `${secret} stored: ${stored}`);
    }
    assert(sdkEvent.request.url.startsWith(shop.origin), JSON.stringify(sdkEvent.request));

    await stack.db`select observe.set_project_budget(${project.project_id}, events_per_minute => 3)`;
    await stack.db`delete from observe.ingest_usage`;
    const burst = await chromium(page("burst", "&count=8"));
    const sent = burst.envelopes.filter((e: { event: boolean }) => e.event);
    const statuses = sent.map((e: { status: number }) => e.status);
    assert(statuses.includes(429), JSON.stringify(burst.envelopes));
    assertEquals(
      statuses.filter((s: number) => s === 429).length,
      1,
      "after a 429 the SDK sends no more errors",
    );
    assert(sent.find((e: { status: number }) => e.status === 429).rateLimits.includes(":error;"));
    assert(sent.length < 8, JSON.stringify(sent));
  } finally {
    await stack.close();
    await shop.close();
  }
});
