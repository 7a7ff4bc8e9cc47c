// Users of the fixture app, and the app's own monitoring, for the local
// pipeline: requests the production (or staging) URL at a steady rate and
// reports what a real app would — page loads as web-vitals beacons
// (TTFB), request durations (observe.record_latencies) and server errors as
// captured events (observe.log_error) — tagged with the environment and
// release. --inject-errors makes that share of requests fail the way a
// broken deploy's would (the "bad deploy" of the pipeline).
//   node tools/pipeline/traffic.mjs <url> --environment production --release web@3
//        [--seconds 20] [--per-second 8] [--inject-errors 0.3]
// DATABASE_URL names the database.
import postgres from "postgres";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    environment: { type: "string", default: "production" },
    release: { type: "string" },
    seconds: { type: "string", default: "20" },
    "per-second": { type: "string", default: "8" },
    "inject-errors": { type: "string", default: "0" },
  },
});
const url = positionals[0];
// DATABASE_URL as a URL, or as libpq's `key=value` conninfo (what the
// pipeline and the CLI take), which the postgres client does not parse.
function connectOptions(conninfo = "") {
  if (/^postgres(ql)?:\/\//.test(conninfo)) return conninfo;
  const names = { host: "host", hostaddr: "host", port: "port", user: "user", password: "password", dbname: "database" };
  const options = {};
  for (const [, key, quoted, bare] of conninfo.matchAll(/(\w+)\s*=\s*(?:'((?:\\.|[^'])*)'|(\S+))/g)) {
    const value = quoted !== undefined ? quoted.replace(/\\(.)/g, "$1") : bare;
    if (names[key]) options[names[key]] = key === "port" ? Number(value) : value;
  }
  return options;
}
const connection = connectOptions(process.env.DATABASE_URL);
const clientOptions = { max: 2, onnotice: () => {} };
// With options alone postgres() takes the first argument as the options.
const sql = typeof connection === "string" ? postgres(connection, clientOptions) : postgres({ ...connection, ...clientOptions });
const share = Number(values["inject-errors"]);
const deadline = Date.now() + Number(values.seconds) * 1000;
const interval = 1000 / Number(values["per-second"]);
let sent = 0, injected = 0, failed = 0;
const durations = [];
try {
  while (Date.now() < deadline) {
    const started = performance.now();
    const response = await fetch(url, { redirect: "manual" });
    await response.arrayBuffer();
    const ms = performance.now() - started;
    sent += 1;
    durations.push(ms);
    await sql`select observe.record_web_vitals(${
      sql.json({ name: "TTFB", value: ms, page: url, release: values.release, environment: values.environment })
    })`;
    const broken = response.status >= 500 || Math.random() < share;
    if (broken) {
      if (response.status < 500) injected += 1;
      failed += 1;
      await sql`select observe.log_error('CheckoutError: payment session missing after deploy',
        service => 'web', environment => ${values.environment}, release => ${values.release ?? null},
        exception_type => 'CheckoutError', context => ${sql.json({ url, status: response.status })})`;
    }
    if (durations.length >= 20) {
      await sql`select observe.record_latencies(${durations.splice(0)}::float8[], service => 'web',
        environment => ${values.environment})`;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, interval - (performance.now() - started))));
  }
  if (durations.length) {
    await sql`select observe.record_latencies(${durations}::float8[], service => 'web', environment => ${values.environment})`;
  }
} finally {
  await sql.end();
}
console.log(JSON.stringify({ url, sent, failed, injected }));
