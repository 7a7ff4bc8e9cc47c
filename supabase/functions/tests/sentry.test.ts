// The Sentry SDK protocol end to end: the real Python sentry-sdk
// (tools/.venv) and the real @sentry/browser in Debian's headless Chromium
// (tools/sentry-browser.mjs) point their DSN at the ingest function, served
// by real Deno running the real WASM against the real PostgreSQL.
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

async function python(scenario: string[], sentryDsn: string) {
  const { code, stdout, stderr } = await new Deno.Command(`${ROOT}tools/.venv/bin/python`, {
    args: ["shop.py", ...scenario],
    cwd: HERE,
    env: { SENTRY_DSN: sentryDsn },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = decoder.decode(stdout).trim().split("\n").filter(Boolean);
  return { code, stderr: decoder.decode(stderr), result: lines.length ? JSON.parse(lines.at(-1)!) : null };
}

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
