// Health checks, ingest and the status page end to end: real Deno running
// the real WASM (scripts/functions.sh) against the real PostgreSQL, probing
// sites this test starts (./sites.ts), and the status page opened in
// Debian's headless Chromium (tools/status-smoke.mjs, playwright-core).
import nodeAssert from "node:assert/strict";
import { ALLOWED_ORIGIN, SECRET, startStack } from "./stack.ts";
import { startSites } from "./sites.ts";

const assertEquals = (actual: unknown, expected: unknown, message?: string) =>
  nodeAssert.deepStrictEqual(JSON.parse(JSON.stringify(actual)), expected, message);
const assert = (condition: unknown, message?: string) => nodeAssert.ok(condition, message);
const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
const ROOT = new URL("../../../", import.meta.url).pathname;

test("a failing, a slow, an expiring and a badly-headed check show in health_status with findings", async () => {
  const sites = await startSites();
  // The functions trust the test's CA, as they trust public CAs in production.
  const stack = await startStack({ env: { DENO_CERT: sites.caFile } });
  try {
    const create = (name: string, url: string, conditions: string[]) =>
      stack.db`select observe.create_health_check(${name}, ${url}, ${conditions}, failure_threshold => 1,
                                                 timeout => '3 seconds') as id`;
    await create("api", `${sites.http}/health`, [
      "[STATUS] == 200",
      "[BODY].status == UP",
      "[RESPONSE_TIME] < 1000",
      "[HEADER].content-type == pat(*json*)",
    ]);
    await create("slow", `${sites.http}/slow`, ["[STATUS] == 200", "[RESPONSE_TIME] < 500"]);
    await create("failing", `${sites.http}/failing`, ["[STATUS] == any(200, 204)"]);
    await create("marketing", `${sites.http}/bad-headers`, ["[STATUS] == 200"]);
    await create("tls", `${sites.https}/health`, ["[STATUS] == 200", "[CERTIFICATE_EXPIRATION] > 48h"]);
    await nodeAssert.rejects(
      create("typo", `${sites.http}/health`, ["[STATUS] = 200"]),
      (e: { code: string; message: string }) => e.code === "22023" && e.message.includes("at column 10"),
    );

    const started = Date.now();
    const run = await stack.call("health-check", { headers: { authorization: `Bearer ${SECRET}` } });
    assertEquals(run.status, 200, JSON.stringify(run.body));
    assertEquals([run.body.checked, run.body.succeeded, run.body.failed], [5, 2, 3]);
    assert(Date.now() - started < 2_900, "the probes ran in parallel");
    const again = await stack.call("health-check", { headers: { authorization: `Bearer ${SECRET}` } });
    assertEquals(again.body.checked, 0, "nothing is due until its interval has passed");
    assertEquals((await stack.call("health-check", {})).status, 401);

    const rows = await stack.db`
      select name, up, status_code, grade, jsonb_array_length(findings) as findings, error,
             (select array_agg(c->>'condition' order by c->>'condition') from jsonb_array_elements(conditions) c
               where c->'success' = 'false'::jsonb) as failed
        from observe.health_status order by name`;
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    assertEquals(byName.api.up, true);
    assertEquals(byName.api.grade, "A+");
    assertEquals(byName.slow.up, false);
    assertEquals(byName.slow.failed, ["[RESPONSE_TIME] < 500"]);
    assertEquals([byName.failing.up, byName.failing.status_code], [false, 500]);
    assertEquals([byName.tls.up, byName.tls.status_code], [false, 200]);
    assertEquals(byName.tls.failed, ["[CERTIFICATE_EXPIRATION] > 48h"], "the certificate expires in a day");
    assertEquals(byName.marketing.up, true);
    assertEquals(byName.marketing.grade, "F");
    assert(byName.marketing.findings >= 5, "the bad header set is told what to change");
    const [{ csp }] = await stack.db`
      select f->>'message' as csp from observe.health_status s, jsonb_array_elements(s.findings) f
       where s.name = 'marketing' and f->>'id' = 'csp_missing'`;
    assert(String(csp).length > 20);
    const [{ down }] = await stack.db`select down::int from observe.health_failures`;
    assertEquals(down, 3);
    const [{ transitions }] = await stack
      .db`select count(*)::int as transitions from observe.health_transitions`;
    assertEquals(transitions, 3);
  } finally {
    await stack.close();
    await sites.close();
  }
});

test("ingest takes errors, a web-vitals batch and both CSP formats, with CORS and limits", async () => {
  const stack = await startStack();
  try {
    const post = (body: string, headers: Record<string, string>) =>
      fetch(`${stack.functionsUrl}/ingest`, { method: "POST", body, headers });
    const browser = { origin: ALLOWED_ORIGIN, "x-forwarded-for": "198.51.100.20" };

    const preflight = await fetch(`${stack.functionsUrl}/ingest`, {
      method: "OPTIONS",
      headers: { origin: ALLOWED_ORIGIN, "access-control-request-method": "POST" },
    });
    assertEquals(preflight.status, 204);
    assertEquals(preflight.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
    await preflight.body?.cancel();

    // navigator.sendBeacon(url, JSON.stringify(metrics)) sends text/plain.
    const vitals = await post(
      JSON.stringify([
        { name: "LCP", value: 4200, rating: "poor", delta: 4200, id: "v4-1", navigationType: "navigate" },
        { name: "CLS", value: 0.02, rating: "good", delta: 0.02, id: "v4-2", navigationType: "navigate" },
        {
          name: "INP",
          value: 350,
          rating: "needs-improvement",
          delta: 350,
          id: "v4-3",
          navigationType: "navigate",
        },
      ]),
      {
        ...browser,
        "content-type": "text/plain;charset=UTF-8",
        referer: "https://shop.example.com/checkout?token=s3cr3t",
        "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148",
      },
    );
    assertEquals(vitals.status, 202);
    assertEquals(vitals.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
    assertEquals(await vitals.json(), { accepted: 3 });

    const legacy = {
      "effective-directive": "script-src-elem",
      "blocked-uri": "inline",
      "line-number": 4,
      "document-uri": "https://shop.example.com/?email=jane@example.com",
      "source-file": "https://shop.example.com/",
    };
    for (let i = 0; i < 3; i++) {
      const r = await post(
        JSON.stringify({ "csp-report": { ...legacy, "violated-directive": "script-src-elem" } }),
        {
          ...browser,
          "content-type": "application/csp-report",
        },
      );
      assertEquals(r.status, 202);
      await r.body?.cancel();
    }
    const reporting = await post(
      JSON.stringify([{
        type: "csp-violation",
        age: 3,
        url: "https://shop.example.com/",
        user_agent: "Chrome",
        body: {
          documentURL: "https://shop.example.com/",
          blockedURL: "https://evil.example.net/x.js?u=1",
          effectiveDirective: "script-src-elem",
          disposition: "enforce",
          sourceFile: "https://shop.example.com/app.js",
        },
      }]),
      { ...browser, "content-type": "application/reports+json" },
    );
    assertEquals(reporting.status, 202);
    await reporting.body?.cancel();

    const error = await post(
      JSON.stringify({
        message: "Cannot read properties of undefined (reading 'id')",
        error_type: "javascript",
        context: "client",
        url: "https://shop.example.com/profile",
        severity: "high",
      }),
      { ...browser, "content-type": "application/json" },
    );
    assertEquals(error.status, 202);
    await error.body?.cancel();

    const refusal = async (body: string, headers: Record<string, string>) => {
      const r = await post(body, headers);
      const json = await r.json();
      assert(typeof json.error === "string" && typeof json.message === "string" && !("stack" in json));
      return r.status;
    };
    assertEquals(
      await refusal("{}", { origin: "https://evil.example", "x-forwarded-for": "198.51.100.21" }),
      403,
    );
    assertEquals(
      await refusal("x".repeat(70 * 1024), { ...browser, "x-forwarded-for": "198.51.100.22" }),
      413,
    );
    assertEquals(await refusal("{not json", { ...browser, "x-forwarded-for": "198.51.100.23" }), 400);
    let limited: Response | undefined;
    for (let i = 0; i < 40 && !limited; i++) {
      const r = await post(JSON.stringify({ message: "flood" }), {
        ...browser,
        "x-forwarded-for": "198.51.100.99",
      });
      if (r.status === 429) limited = r;
      else await r.body?.cancel();
    }
    assert(limited, "one client is rate limited");
    assertEquals(limited!.headers.get("retry-after"), "1");
    await limited!.body?.cancel();

    const stored = await stack.db`
      select name, page, device, rating from observe.web_vitals order by name`;
    assertEquals(stored, [
      { name: "CLS", page: "https://shop.example.com/checkout", device: "mobile", rating: "good" },
      {
        name: "INP",
        page: "https://shop.example.com/checkout",
        device: "mobile",
        rating: "needs-improvement",
      },
      { name: "LCP", page: "https://shop.example.com/checkout", device: "mobile", rating: "poor" },
    ]);
    const [{ writers }] = await stack
      .db`select array_agg(distinct writer_role::text) as writers from observe.web_vitals`;
    assertEquals(writers, ["observe_ingest"], "written as the untrusted ingest role");
    const csp = await stack.db`
      select directive, blocked, source_file, count::int, document from observe.csp_violations order by count desc`;
    assertEquals(csp, [
      {
        directive: "script-src-elem",
        blocked: "inline",
        source_file: "https://shop.example.com/",
        count: 3,
        document: "https://shop.example.com/",
      },
      {
        directive: "script-src-elem",
        blocked: "https://evil.example.net",
        source_file: "https://shop.example.com/app.js",
        count: 1,
        document: "https://shop.example.com/",
      },
    ]);
    const events = await stack.db`
      select level::text, writer_role::text from observe.events where message like 'Cannot read properties%'`;
    assertEquals(
      events,
      [{ level: "error", writer_role: "observe_ingest" }],
      "the log-error body, written untrusted",
    );
  } finally {
    await stack.close();
  }
});

test("the status page grades A+ on our grader and renders in headless Chromium without violations", async () => {
  const stack = await startStack();
  try {
    await stack.db`select observe.create_health_check('checkout api', 'http://127.0.0.1:9/health')`;
    await stack
      .db`select observe.record_health_result(id, '[{"condition": "[STATUS] == 200", "success": true}]',
                                                       200, 83.5, observe.grade_headers('{}'))
                     from observe.health_checks`;
    await stack.db`select observe.log_error('<img src=x onerror=alert(1)> broke', service => 'web')`;
    // Issue counts are read as of the last fold, which the scheduled tick
    // makes every minute (README, "Scheduling, partitions and retention").
    await stack.db`select observe.fold_counts()`;
    await stack.db.begin(async (tx) => {
      await tx`set local role observe_ingest`;
      await tx`select observe.record_web_vitals('[{"name": "LCP", "value": 1800, "page": "https://shop.example.com/"}]')`;
    });

    const page = await fetch(`${stack.functionsUrl}/status`);
    assertEquals(page.status, 200);
    const html = await page.text();
    assert(html.includes("checkout api") && html.includes("&lt;img src=x onerror=alert(1)&gt; broke"), html);
    const headers: Record<string, string> = {};
    page.headers.forEach((value, key) => (headers[key] = value));
    const [{ graded }] = await stack.db`select observe.grade_headers(${stack.db.json(headers)}) as graded`;
    assertEquals([graded.grade, graded.score >= 100], ["A+", true], JSON.stringify(graded.findings));
    assert(headers["content-security-policy"].includes("'strict-dynamic'"));
    assert(headers["content-security-policy"].includes("require-trusted-types-for 'script'"));
    const nonce = /'nonce-([0-9a-f]+)'/.exec(headers["content-security-policy"])![1];
    const second = await fetch(`${stack.functionsUrl}/status`);
    assert(!second.headers.get("content-security-policy")!.includes(nonce), "a fresh nonce per response");
    await second.body?.cancel();

    const smoke = new Deno.Command("node", {
      args: [`${ROOT}tools/status-smoke.mjs`, `${stack.functionsUrl}/status`],
      cwd: `${ROOT}tools`,
      stdout: "piped",
      stderr: "piped",
    });
    const { code, stdout, stderr } = await smoke.output();
    assertEquals(code, 0, new TextDecoder().decode(stderr));
    const seen = JSON.parse(new TextDecoder().decode(stdout));
    assertEquals(seen.status, 200);
    assert(seen.text.includes("checkout api") && seen.text.includes("All systems operational"), seen.text);
    assert(seen.text.includes("<img src=x onerror=alert(1)> broke"), "shown as text, never as markup");
    assertEquals(seen.bars, 1, "the uptime bars were written through the Trusted Types policy");
    assertEquals(seen.violations, [], "no CSP or Trusted Types violation");
    assertEquals(seen.consoleErrors, [], "no console error");
    assertEquals(seen.trustedTypesEnforced, true);
  } finally {
    await stack.close();
  }
});
