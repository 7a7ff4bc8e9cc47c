// Load test of the landing page and key flows with autocannon, against
// thresholds like k6's: it exits 1 when one is missed. The defaults are the
// platform's: 1000 requests a minute from 100 concurrent users, p95 under
// 500 ms, under 1 % errors (non-2xx/3xx answers, timeouts, resets).
//   node tools/pipeline/load-test.mjs <base-url> [--path /]... [--duration 30]
//        [--connections 100] [--rate-per-minute 1000] [--p95-ms 500] [--max-error-rate 0.01]
import autocannon from "autocannon";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    path: { type: "string", multiple: true, default: ["/"] },
    duration: { type: "string", default: "30" },
    connections: { type: "string", default: "100" },
    "rate-per-minute": { type: "string", default: "1000" },
    "p95-ms": { type: "string", default: "500" },
    "max-error-rate": { type: "string", default: "0.01" },
  },
});
// Paths are relative to the base URL, which may itself have a path.
const base = positionals[0]?.replace(/\/?$/, "/");
if (!base) {
  console.error("usage: load-test.mjs <base-url> [--path /p]... [thresholds]");
  process.exit(64);
}
const perMinute = Number(values["rate-per-minute"]);
const latencies = [];
let failed = 0;
const instance = autocannon({
  url: base,
  connections: Number(values.connections),
  duration: Number(values.duration),
  // The overall rate, spread over every connection.
  overallRate: Math.max(1, Math.round(perMinute / 60)),
  requests: values.path.map((path) => ({ method: "GET", path: new URL(path.replace(/^\//, ""), base).pathname })),
  timeout: 10,
});
// autocannon's summary has no p95; every response's time is kept instead.
instance.on("response", (_client, status, _bytes, ms) => {
  latencies.push(ms);
  if (status >= 400) failed += 1;
});
const result = await instance;
const total = latencies.length + result.errors;
// autocannon counts a timeout among its errors too.
failed += result.errors;
latencies.sort((a, b) => a - b);
const p95 = latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil(0.95 * latencies.length) - 1)] : Infinity;
const errorRate = total ? failed / total : 1;
const rate = (total / Number(values.duration)) * 60;
const thresholds = [
  [`p95 ${p95.toFixed(1)} ms < ${values["p95-ms"]} ms`, p95 < Number(values["p95-ms"])],
  [`errors ${(errorRate * 100).toFixed(2)} % < ${Number(values["max-error-rate"]) * 100} %`, errorRate < Number(values["max-error-rate"])],
  // The rate asked for was reached (10 % of slack for the first second).
  [`rate ${rate.toFixed(0)}/min >= ${(perMinute * 0.9).toFixed(0)}/min`, rate >= perMinute * 0.9],
];
console.log(JSON.stringify({ requests: total, failed, p95_ms: p95, error_rate: errorRate, rate_per_minute: rate,
  connections: Number(values.connections), thresholds: thresholds.map(([t, ok]) => ({ threshold: t, ok })) }));
let ok = true;
for (const [t, pass] of thresholds) {
  console.error(`load-test: ${pass ? "ok  " : "FAIL"} ${t}`);
  ok &&= pass;
}
process.exit(ok ? 0 : 1);
