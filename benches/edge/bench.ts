// The figures of benches/edge/run.sh, as markdown on stdout.
import { handlerFor } from "../../supabase/functions/_shared/runtime.ts";
import { dispatch, raiseAlert, startStack } from "../../supabase/functions/tests/stack.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const port = Number(Deno.env.get("FUNCTIONS_PORT") ?? "54328");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const out: string[] = [];

// 1. Size.
const wasm = await Deno.stat(`${ROOT}supabase/functions/_shared/wasm/pg_observe_edge_bg.wasm`);
out.push(`| \`.wasm\` size | ${(wasm.size / 1024).toFixed(0)} KiB (${wasm.size} bytes; budget 1 MiB) |`);

// 2. Cold start: spawn to the first answer that went through the WASM (an
// unsigned deploy-events request, refused with 401 by Rust).
const colds: number[] = [];
for (let i = 0; i < 10; i++) {
  const start = performance.now();
  const child = new Deno.Command(`${ROOT}scripts/functions.sh`, {
    env: { FUNCTIONS_PORT: String(port), SUPABASE_DB_URL: "postgres://unused@127.0.0.1:1/x", VERCEL_WEBHOOK_SECRET: "s", GITHUB_WEBHOOK_SECRET: "s" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/functions/v1/deploy-events`, { method: "POST", body: "{}" });
      await r.body?.cancel();
      if (r.status === 401) break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
  colds.push(performance.now() - start);
  child.kill("SIGTERM");
  await child.status;
}
out.push(
  `| cold start (process spawn → first answer through the WASM), 10 runs | median ${median(colds).toFixed(0)} ms (min ${Math.min(...colds).toFixed(0)}, max ${Math.max(...colds).toFixed(0)}) |`,
);

// 3. Per request, in process: the real handler (Rust verifies the HMAC-SHA1
// of a 1 KiB body and refuses it) against the same host code answering the
// same 401 without calling Rust.
Deno.env.set("SUPABASE_DB_URL", "postgres://unused@127.0.0.1:1/x");
Deno.env.set("VERCEL_WEBHOOK_SECRET", "bench-secret");
Deno.env.set("GITHUB_WEBHOOK_SECRET", "bench-secret");
const withWasm = handlerFor("deploy-events");
async function withoutWasm(request: Request): Promise<Response> {
  const body = new Uint8Array(await request.arrayBuffer());
  const headers: Record<string, string> = {};
  request.headers.forEach((value, key) => (headers[key] = value));
  JSON.stringify({ method: request.method, route: "/", headers, body_too_large: body.length > 1 << 20 });
  return Response.json({ error: "invalid_signature", message: "the signature does not match the body" }, { status: 401 });
}
const payload = JSON.stringify({ id: "evt_bench", type: "deployment.ready", createdAt: Date.now(), payload: { pad: "x".repeat(900) } });
const request = () =>
  new Request(`http://127.0.0.1/functions/v1/deploy-events`, {
    method: "POST",
    headers: { "x-vercel-signature": "00".repeat(20), "content-type": "application/json" },
    body: payload,
  });
async function perRequest(handler: (r: Request) => Promise<Response>, n: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const response = await handler(request());
    if (response.status !== 401) throw new Error(`unexpected ${response.status}`);
    await response.arrayBuffer();
  }
  return ((performance.now() - start) * 1000) / n;
}
await perRequest(withWasm, 2000);
await perRequest(withoutWasm, 2000);
const a: number[] = [], b: number[] = [];
for (let round = 0; round < 5; round++) {
  a.push(await perRequest(withWasm, 10000));
  b.push(await perRequest(withoutWasm, 10000));
}
out.push(`| per request, handler with the Rust/WASM call (HMAC-SHA1 over 1 KiB, 401), median of 5 × 10,000 | ${median(a).toFixed(1)} µs |`);
out.push(`| per request, the same handler answering without it | ${median(b).toFixed(1)} µs |`);
out.push(`| overhead of the WASM call | **${(median(a) - median(b)).toFixed(1)} µs** per request |`);

// 4. Dispatch throughput: N alerts, one dispatcher, the stand-in enforcing
// Resend's default 2 requests per second.
const N = 20;
const stack = await startStack({ requestsPerSecond: 2 });
try {
  for (let i = 0; i < N; i++) await raiseAlert(stack.db, `bench/${i}`, `Alert ${i}`);
  const start = performance.now();
  const result = await dispatch(stack, { budget_ms: 60000 });
  const seconds = (performance.now() - start) / 1000;
  const limited = stack.resend.log.filter((l) => l.status === 429).length;
  out.push(
    `| dispatch of ${N} alerts, Resend stand-in at 2 requests/s | ${seconds.toFixed(1)} s (${(N / seconds).toFixed(2)} e-mails/s; the limit allows ${N / 2 - 0.5} s at best), ${limited} × 429, answer \`${JSON.stringify(result.body)}\` |`,
  );
} finally {
  await stack.close();
}

console.log(`| measure | result |\n|---|---|\n${out.join("\n")}`);
