// End to end under real Deno with the real WASM, against the real PostgreSQL
// 15 with pg_observe (scripts/test.sh starts it and sets PGPORT). Only Resend,
// Vercel and GitHub are stand-ins (./standins/), speaking their documented
// contracts.
import nodeAssert from "node:assert/strict";
import {
  dispatch,
  GITHUB_SECRET,
  raiseAlert,
  RESEND_WEBHOOK_SECRET,
  RING_TOKEN,
  startStack,
  VERCEL_SECRET,
} from "./stack.ts";
import * as sign from "./standins/webhooks.ts";

// Rows and bodies are compared as the JSON they stand for.
const assertEquals = (actual: unknown, expected: unknown, message?: string) =>
  nodeAssert.deepStrictEqual(JSON.parse(JSON.stringify(actual)), expected, message);
const assert = (condition: unknown, message?: string) => nodeAssert.ok(condition, message);

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

/** Lets a failed notification be due now instead of after its backoff
 * (the backoff itself is tested in tests/tests/outbox.rs). */
async function skipBackoff(db: import("postgres").Sql) {
  await db.unsafe("update observe.notifications set next_attempt_at = now() where status = 'failed'");
}

test("an alert reaches Resend exactly once despite a 429 and a 500", async () => {
  const stack = await startStack();
  try {
    const id = await raiseAlert(stack.db, "billing-error-rate/firing/1");
    stack.resend.failNext(429, 500);

    const first = await dispatch(stack);
    assertEquals(first.status, 200);
    assertEquals(first.body, { sent: 0, retried: 1, dead: 0, remaining: 1 });
    assertEquals(stack.resend.log.map((l) => l.status), [429, 500], "the 429 was waited out and resent");
    assert(stack.resend.log[1].at - stack.resend.log[0].at >= 1000, "retry-after: 1 was honoured");

    await skipBackoff(stack.db);
    const second = await dispatch(stack);
    assertEquals(second.body, { sent: 1, retried: 0, dead: 0, remaining: 0 });
    const third = await dispatch(stack);
    assertEquals(third.body, { sent: 0, retried: 0, dead: 0, remaining: 0 });

    assertEquals(stack.resend.accepted.length, 1, "exactly one e-mail");
    const email = stack.resend.accepted[0];
    assertEquals(email.key, "billing-error-rate/firing/1");
    assertEquals(email.body.subject, "[CRITICAL][billing] Error rate above 5%");
    assertEquals(email.body.to, ["oncall@example.com"]);
    assert(String(email.body.html).includes('<a href="https://runbooks.example.com/billing">Runbook</a>'));
    assert(String(email.body.text).includes("Issue: https://app.example.com/issues/42"));
    const keys = new Set(stack.resend.log.map((l) => l.key));
    assertEquals([...keys], ["billing-error-rate/firing/1"], "every attempt used the notification's key");

    const [row] = await stack
      .db`select status, attempts, provider_message_id from observe.notifications where id = ${id}`;
    assertEquals(row, { status: "sent", attempts: 2, provider_message_id: email.id });
  } finally {
    await stack.close();
  }
});

test("errors captured in Postgres cross a rule and reach Resend as one e-mail", async () => {
  const stack = await startStack();
  try {
    await stack.db`
      select observe.create_alert_rule('checkout_errors', threshold => 10, service => 'checkout',
               severity => 'critical', group_wait => '0 seconds', recipients => '{payments@example.com}',
               annotations => '{"summary": "Checkout is failing", "runbook_url": "https://runbooks.example.com/checkout"}')`;
    for (let i = 0; i < 12; i++) {
      await stack.db`select observe.log_error(${`Card declined for order ${1000 + i}`}, service => 'checkout',
                                              environment => 'production')`;
    }
    const [{ summary }] = await stack.db`select observe.evaluate_alerts() as summary`;
    assertEquals([summary.state_changes, summary.notifications_queued], [1, 1]);

    assertEquals((await dispatch(stack)).body, { sent: 1, retried: 0, dead: 0, remaining: 0 });
    assertEquals(stack.resend.accepted.length, 1);
    const email = stack.resend.accepted[0].body;
    assertEquals(email.subject, "[CRITICAL][checkout] Checkout is failing");
    assertEquals(email.to, ["payments@example.com"]);
    for (const fact of ["checkout_errors", "error_events", "12"]) {
      assert(String(email.text).includes(fact), `the e-mail names ${fact}: ${email.text}`);
    }
    assert(String(email.html).includes('<a href="https://runbooks.example.com/checkout">Runbook</a>'));

    // Evaluating again sends nothing new.
    await stack.db`select observe.evaluate_alerts()`;
    assertEquals((await dispatch(stack)).body, { sent: 0, retried: 0, dead: 0, remaining: 0 });
  } finally {
    await stack.close();
  }
});

test("a lost response is resent with the same key and Resend sends it once", async () => {
  const stack = await startStack();
  try {
    await raiseAlert(stack.db, "lost/1");
    stack.resend.failNext("lose-response");
    assertEquals((await dispatch(stack)).body, { sent: 0, retried: 1, dead: 0, remaining: 1 });
    await skipBackoff(stack.db);
    assertEquals((await dispatch(stack)).body, { sent: 1, retried: 0, dead: 0, remaining: 0 });
    assertEquals(stack.resend.accepted.length, 1, "the replayed key sent nothing new");
    const [row] = await stack.db`select provider_message_id from observe.notifications`;
    assertEquals(row.provider_message_id, stack.resend.accepted[0].id, "the replay answered the first id");
  } finally {
    await stack.close();
  }
});

test("two dispatchers at once send nothing twice, at Resend's pace", async () => {
  const stack = await startStack();
  try {
    for (let i = 0; i < 8; i++) await raiseAlert(stack.db, `burst/${i}`, `Alert ${i}`);
    const [a, b] = await Promise.all([
      dispatch(stack, { budget_ms: 15000 }),
      dispatch(stack, { budget_ms: 15000 }),
    ]);
    assertEquals(a.status, 200);
    assertEquals(b.status, 200);
    let sent = Number(a.body.sent) + Number(b.body.sent);
    for (let round = 0; round < 5 && sent < 8; round++) {
      await skipBackoff(stack.db);
      sent += Number((await dispatch(stack, { budget_ms: 15000 })).body.sent);
    }
    assertEquals(sent, 8);
    const keys = stack.resend.accepted.map((e) => e.key).sort();
    assertEquals(keys, [...Array(8).keys()].map((i) => `burst/${i}`).sort(), "each alert once, none twice");
    const [{ count }] = await stack.db`select count(*)::int from observe.notifications where status = 'sent'`;
    assertEquals(count, 8);
  } finally {
    await stack.close();
  }
});

test("the doorbell's ring token buys a drain; a wrong token is refused", async () => {
  const stack = await startStack();
  try {
    await raiseAlert(stack.db, "ring/1");
    assertEquals((await dispatch(stack, {}, "not-the-token")).status, 401);
    const ring = await dispatch(stack, { ring: true }, RING_TOKEN);
    assertEquals(ring.body, { sent: 1, retried: 0, dead: 0, remaining: 0 });
  } finally {
    await stack.close();
  }
});

test("signed Vercel and GitHub webhooks land in observe.deployments; tampered ones get 401", async () => {
  const stack = await startStack();
  try {
    const created = Date.now() - 60_000;
    const vercelEvent = (type: string, id: string, at: number) => ({
      id,
      type,
      createdAt: at,
      payload: {
        deployment: {
          id: "dpl_e2e",
          name: "web",
          url: "web-e2e.vercel.app",
          meta: { githubCommitSha: "3f2a9c1d0e5b7a", githubCommitRef: "main" },
        },
        target: "production",
        project: { id: "prj_e2e" },
        user: { id: "user_1", email: "dev@example.com" },
      },
    });
    const post = async (signed: sign.Signed) =>
      await stack.call("deploy-events", { headers: signed.headers, body: signed.body });

    const ready = await post(
      await sign.vercel(VERCEL_SECRET, vercelEvent("deployment.ready", "evt_ready", created + 30_000)),
    );
    assertEquals(ready.status, 200);
    assertEquals(ready.body.state, "ready");
    const late = await post(
      await sign.vercel(VERCEL_SECRET, vercelEvent("deployment.created", "evt_created", created)),
    );
    assertEquals(late.body.state, "ready", "a late event does not move the deploy backwards");
    const replay = await post(
      await sign.vercel(VERCEL_SECRET, vercelEvent("deployment.ready", "evt_ready", created + 30_000)),
    );
    assertEquals(replay.body.replayed, true);

    const tampered = await sign.vercel(VERCEL_SECRET, vercelEvent("deployment.error", "evt_forged", created));
    tampered.body = tampered.body.replace("deployment.error", "deployment.ready");
    assertEquals((await post(tampered)).status, 401);
    assertEquals((await post({ headers: {}, body: "{}" })).status, 401, "no signature");
    const untracked = await post(
      await sign.vercel(VERCEL_SECRET, vercelEvent("project.created", "evt_p", created)),
    );
    assertEquals(untracked.status, 202);

    const status = {
      action: "created",
      deployment_status: {
        id: 9,
        state: "success",
        environment: "production",
        environment_url: "https://app.example.com",
        created_at: new Date().toISOString(),
      },
      deployment: { id: 4242, sha: "a1b2c3d4e5f60718", ref: "main", environment: "production" },
      repository: { full_name: "octo/app", default_branch: "main" },
    };
    const gh = await post(await sign.github(GITHUB_SECRET, "deployment_status", "delivery-1", status));
    assertEquals(gh.status, 200);
    assertEquals(gh.body.state, "ready");
    const forged = await sign.github("wrong secret", "deployment_status", "delivery-2", status);
    assertEquals((await post(forged)).status, 401);

    const rows = await stack.db`
      select provider, deployment_id, project, environment, commit_sha, branch, state
        from observe.deployments order by provider`;
    assertEquals(rows, [
      {
        provider: "github",
        deployment_id: "deployment/4242",
        project: "octo/app",
        environment: "production",
        commit_sha: "a1b2c3d4e5f60718",
        branch: "main",
        state: "ready",
      },
      {
        provider: "vercel",
        deployment_id: "dpl_e2e",
        project: "web",
        environment: "production",
        commit_sha: "3f2a9c1d0e5b7a",
        branch: "main",
        state: "ready",
      },
    ]);
    const [{ leaked }] = await stack.db`
      select count(*)::int as leaked from observe.deployment_events where payload::text like '%dev@example.com%'`;
    assertEquals(leaked, 0, "the raw event is kept scrubbed");
  } finally {
    await stack.close();
  }
});

test("a signed body that is not JSON is a 400; Resend delivery webhooks are recorded", async () => {
  const stack = await startStack();
  try {
    const body = "{not json";
    const signed = await sign.github(GITHUB_SECRET, "deployment_status", "d-1", null);
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(GITHUB_SECRET),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body)));
    signed.headers["x-hub-signature-256"] = "sha256=" +
      [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
    const bad = await stack.call("deploy-events", { headers: signed.headers, body });
    assertEquals(bad.status, 400);
    assertEquals(bad.body.error, "invalid_body");

    await raiseAlert(stack.db, "delivery/1");
    assertEquals((await dispatch(stack)).body.sent, 1);
    const emailId = stack.resend.accepted[0].id;
    const event = {
      type: "email.delivered",
      created_at: new Date().toISOString(),
      data: { email_id: emailId, to: ["oncall@example.com"] },
    };
    const delivered = await stack.call("alert-dispatch", {
      path: "/webhooks/resend",
      ...(await sign.svix(RESEND_WEBHOOK_SECRET, "msg_e2e_1", event)),
    });
    assertEquals(delivered, { status: 200, body: { recorded: true } });
    const stale = await sign.svix(RESEND_WEBHOOK_SECRET, "msg_e2e_2", event, Date.now() - 10 * 60_000);
    assertEquals((await stack.call("alert-dispatch", { path: "/webhooks/resend", ...stale })).status, 401);
    const [row] = await stack.db`select delivery_status from observe.notifications`;
    assertEquals(row.delivery_status, "delivered");
  } finally {
    await stack.close();
  }
});
