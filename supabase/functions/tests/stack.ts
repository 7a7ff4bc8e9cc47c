// The real parts, started for a test: a fresh database with pg_observe on the
// project's PostgreSQL 15 (PGPORT), the Resend stand-in, and every function
// served by scripts/functions.sh under real Deno running the real WASM.
import postgres from "postgres";
import { ResendStandIn } from "./standins/resend.ts";

export const SECRET = "function-secret-e2e-0123456789";
export const RING_TOKEN = "ring-token-e2e-0123456789";
export const RESEND_KEY = "re_e2e_standin";
export const VERCEL_SECRET = "vercel-e2e-secret";
export const GITHUB_SECRET = "github-e2e-secret";
export const RESEND_WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const ROOT = new URL("../../../", import.meta.url).pathname;

export interface Stack {
  db: postgres.Sql;
  resend: ResendStandIn;
  functionsUrl: string;
  call(
    name: string,
    init: RequestInit & { path?: string },
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

function server(database = "postgres") {
  const port = Number(Deno.env.get("PGPORT") ?? "5499");
  return `postgres://postgres@127.0.0.1:${port}/${database}`;
}

export const ALLOWED_ORIGIN = "https://shop.example.com";

export async function startStack(
  options: { requestsPerSecond?: number; processingMs?: number; env?: Record<string, string> } = {},
): Promise<Stack> {
  const name = `e2e_${crypto.randomUUID().replaceAll("-", "")}`;
  const admin = postgres(server(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const db = postgres(server(name), { max: 4, onnotice: () => {} });
  await db.unsafe("create extension pg_observe");
  // The functions run as a role holding only what they need: the
  // dispatcher's worker API, the deploy webhooks' admin function, the
  // prober's, the status page's reader, and the ingest role it switches to.
  await db.unsafe(`do $$ begin
                     if not exists (select from pg_roles where rolname = 'e2e_functions') then
                       create role e2e_functions login;
                     end if;
                   end $$;
                   grant observe_dispatcher, observe_admin, observe_prober, observe_reader, observe_ingest
                      to e2e_functions;
                   grant connect on database ${name} to e2e_functions`);

  const resend = new ResendStandIn(RESEND_KEY, options.requestsPerSecond ?? 2, options.processingMs ?? 0);
  const port = Number(Deno.env.get("FUNCTIONS_PORT") ?? "54331");
  const functionsUrl = `http://127.0.0.1:${port}/functions/v1`;
  const child = new Deno.Command(`${ROOT}scripts/functions.sh`, {
    env: {
      FUNCTIONS_PORT: String(port),
      SUPABASE_DB_URL: `postgres://e2e_functions@127.0.0.1:${Deno.env.get("PGPORT") ?? "5499"}/${name}`,
      OBSERVE_FUNCTION_SECRET: SECRET,
      OBSERVE_RING_TOKEN: RING_TOKEN,
      RESEND_API_KEY: RESEND_KEY,
      RESEND_API_URL: resend.url,
      RESEND_WEBHOOK_SECRET,
      MONITORING_ALERT_FROM: "pg_observe <alerts@example.com>",
      MONITORING_ALERT_EMAIL: "oncall@example.com",
      VERCEL_WEBHOOK_SECRET: VERCEL_SECRET,
      GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
      OBSERVE_ALLOWED_ORIGINS: ALLOWED_ORIGIN,
      ...options.env,
    },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await (await fetch(`${functionsUrl}/`)).body?.cancel();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`scripts/functions.sh did not listen on ${functionsUrl}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return {
    db,
    resend,
    functionsUrl,
    async call(fn, init) {
      const response = await fetch(`${functionsUrl}/${fn}${init.path ?? ""}`, { method: "POST", ...init });
      return { status: response.status, body: await response.json() };
    },
    async close() {
      child.kill("SIGTERM");
      await child.status;
      await resend.close();
      await db.end();
      const admin = postgres(server(), { max: 1, onnotice: () => {} });
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

/** Raises an alert the way the alert evaluator will: it queues a
 * notification. (When alert rules land, a rule that fires replaces this.) */
export async function raiseAlert(
  db: postgres.Sql,
  key: string,
  subject = "Error rate above 5%",
): Promise<string> {
  const [row] = await db`
    select observe.enqueue_notification(
             idempotency_key => ${key}, kind => 'firing', subject => ${subject},
             payload => ${
    db.json({
      rule: "billing error rate",
      severity: "critical",
      service: "billing",
      environment: "production",
      metric: "error_rate",
      window: "5m",
      value: 0.072,
      threshold: "5%",
      links: { runbook: "https://runbooks.example.com/billing", issue: "https://app.example.com/issues/42" },
    })
  }) as id`;
  return row.id;
}

export function dispatch(stack: Stack, body: Record<string, unknown> = {}, token = SECRET) {
  return stack.call("alert-dispatch", {
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}
