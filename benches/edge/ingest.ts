// The load of benches/edge/ingest.sh, as markdown on stdout: 100 concurrent
// clients posting web-vitals batches to the ingest function, and the same
// load against a Deno server in this run answering 204 without pg_observe.
const functions = `http://127.0.0.1:${Deno.env.get("FUNCTIONS_PORT") ?? "54327"}/functions/v1/ingest`;
const basePort = Number(Deno.env.get("BASELINE_PORT") ?? "54326");
const baseline = Deno.serve(
  { hostname: "127.0.0.1", port: basePort, onListen: () => {} },
  async (request) => {
    await request.arrayBuffer();
    return new Response(null, { status: 204 });
  },
);
const CLIENTS = 100;
const body = JSON.stringify(
  ["LCP", "INP", "CLS", "FCP", "TTFB"].map((name, i) => ({
    name,
    value: [2400, 180, 0.05, 1500, 600][i],
    rating: "good",
    delta: 1,
    id: `v4-${i}`,
    navigationType: "navigate",
    page: "https://shop.example.com/products/42",
    release: "web@5.12.1",
  })),
);

interface Run {
  latencies: number[];
  errors: number;
  seconds: number;
}

// Paced, each of the 100 clients is one visitor (its own address, well within
// the per-client bucket). Saturated, every request comes from a new visitor,
// as a traffic peak does: 100 addresses at full speed would measure the
// bucket's 429s, not ingest.
let visitors = 0;
const address = (client: number, perClientIntervalMs: number | null) => {
  if (perClientIntervalMs) return `198.51.${client >> 8}.${client & 255}`;
  const n = visitors++;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

async function load(url: string, seconds: number, perClientIntervalMs: number | null): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all([...Array(CLIENTS).keys()].map(async (client) => {
    // Clients start spread over one interval, as real pages do.
    if (perClientIntervalMs) {
      await new Promise((r) => setTimeout(r, (perClientIntervalMs * client) / CLIENTS));
    }
    while (performance.now() < end) {
      const started = performance.now();
      try {
        const response = await fetch(url, {
          method: "POST",
          body,
          headers: {
            "content-type": "text/plain;charset=UTF-8",
            origin: "https://shop.example.com",
            "x-forwarded-for": address(client, perClientIntervalMs),
          },
        });
        await response.arrayBuffer();
        if (response.status >= 400) errors++;
      } catch {
        errors++;
      }
      const took = performance.now() - started;
      latencies.push(took);
      if (perClientIntervalMs) {
        await new Promise((r) => setTimeout(r, Math.max(0, perClientIntervalMs - took)));
      }
    }
  }));
  return { latencies, errors, seconds };
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const row = (what: string, run: Run) =>
  `| ${what} | ${run.latencies.length} | ${(run.latencies.length / run.seconds).toFixed(0)} | ${
    pct(run.latencies, 0.5).toFixed(1)
  } | ${pct(run.latencies, 0.95).toFixed(1)} | ${
    (100 * run.errors / Math.max(1, run.latencies.length)).toFixed(2)
  } % |`;

await load(functions, 3, null); // warm-up: JIT, pool, WASM
const out = [
  "| load (100 clients, 5 beacons per request) | requests | per second | p50 ms | p95 ms | errors |",
  "|---|---:|---:|---:|---:|---:|",
];
// 1000 requests per minute from 100 clients: one request per client every 6 s.
const target = await load(functions, 30, 6000);
const targetBase = await load(`http://127.0.0.1:${basePort}/`, 30, 6000);
out.push(row("ingest, 1000 requests/min for 30 s", target));
out.push(row("baseline 204, same pace", targetBase));
const saturated = await load(functions, 15, null);
const saturatedBase = await load(`http://127.0.0.1:${basePort}/`, 15, null);
out.push(row("ingest, saturated for 15 s", saturated));
out.push(row("baseline 204, saturated", saturatedBase));
const met = pct(target.latencies, 0.95) < 500 && target.errors / target.latencies.length < 0.01;
out.push("");
out.push(
  `Target (1000 requests/min, p95 < 500 ms, < 1 % errors): **${
    met ? "met" : "not met"
  }**; saturated ingest runs at ${
    (100 * (saturated.latencies.length / saturatedBase.latencies.length)).toFixed(1)
  } % of the baseline's throughput.`,
);
console.log(out.join("\n"));
await baseline.shutdown();
