// The host of pg_observe's edge functions: every decision is made in Rust
// (edge/, compiled to ./wasm/); this file only carries out the commands a
// function returns (run SQL, send HTTP, wait, answer) and feeds the outcomes
// back. It knows no function by name.
import postgres from "postgres";
import tls from "node:tls";
import { Buffer } from "node:buffer";
import { body_limit, env_names, missing_env, Session } from "./wasm/pg_observe_edge.js";

/** A probe's body past this is cut: conditions read the start of a body. */
const MAX_PROBE_BODY_BYTES = 1024 * 1024;

interface Probe {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
  timeout_ms: number;
  certificate: boolean;
}

type Command =
  | { do: "sql"; query: string; params: unknown[] }
  | { do: "sql_as"; role: string; query: string; params: unknown[] }
  | { do: "sql_batched"; role: string; query: string; max: number; member: string }
  | { do: "probe"; probes: Probe[] }
  | {
    do: "http";
    method: string;
    url: string;
    headers: Record<string, string>;
    body: string;
    timeout_ms: number;
  }
  | { do: "sleep"; ms: number }
  | { do: "reply"; status: number; headers: Record<string, string>; body: string }
  | { do: "respond"; status: number; body: unknown; log?: string };

const NAMES: string[] = JSON.parse(env_names());

function environment(): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const name of NAMES) {
    const value = Deno.env.get(name);
    if (value !== undefined) vars[name] = value;
  }
  return vars;
}

const pools = new Map<string, postgres.Sql>();
/** The process's pool for `role` ("" for the URL's own user), opened on first
 * use: a function that answers without the database never connects. A role's
 * pool names the role in each connection's startup packet, so its statements
 * run as that role with no BEGIN, SET LOCAL ROLE and COMMIT around them
 * (four round trips fewer per statement). */
function database(url: string, role: string): postgres.Sql {
  let pool = pools.get(role);
  if (pool === undefined) {
    pool = postgres(url, {
      max: 4,
      idle_timeout: 30,
      connect_timeout: 10,
      onnotice: () => {},
      ...(role === "" ? {} : { connection: { role } }),
    });
    pools.set(role, pool);
  }
  return pool;
}

/** The path after the function's name: `/functions/v1/<name>/x` and `/<name>/x` both give `/x`. */
function route(name: string, url: URL): string {
  const parts = url.pathname.split("/");
  const at = parts.indexOf(name);
  return at < 0 ? url.pathname : "/" + parts.slice(at + 1).join("/");
}

async function readBody(
  request: { body: ReadableStream<Uint8Array> | null },
  limit: number,
): Promise<{ body: Uint8Array; tooLarge: boolean }> {
  if (!request.body) return { body: new Uint8Array(), tooLarge: false };
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      return { body: new Uint8Array(), tooLarge: true };
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return { body, tooLarge: false };
}

/** The server's leaf certificate, DER as base64, from a TLS connection of
 * its own: fetch does not expose the certificate. Not verified here: the
 * probe's fetch verifies the chain; this only reads the expiry. */
function peerCertificate(url: URL, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: Number(url.port || 443),
      servername: /^[\d.]+$|:/.test(url.hostname) ? undefined : url.hostname,
      rejectUnauthorized: false,
    }, () => {
      const raw = socket.getPeerCertificate()?.raw;
      socket.end();
      if (raw) resolve(Buffer.from(raw).toString("base64"));
      else reject(new Error("the server sent no certificate"));
    });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`no TLS handshake within ${timeoutMs} ms`));
    });
    socket.on("error", reject);
  });
}

async function probe(p: Probe): Promise<unknown> {
  const started = performance.now();
  const certificate = p.certificate
    ? peerCertificate(new URL(p.url), p.timeout_ms).then(
      (der) => ({ certificate: der }),
      (e) => ({ certificate_error: String((e as Error).message ?? e) }),
    )
    : Promise.resolve({});
  try {
    const response = await fetch(p.url, {
      method: p.method,
      headers: p.headers,
      body: p.body ?? undefined,
      signal: AbortSignal.timeout(p.timeout_ms),
    });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, key) => (headers[key] = value));
    const { body } = await readBody(response, MAX_PROBE_BODY_BYTES);
    const elapsed_ms = performance.now() - started;
    return {
      status: response.status,
      headers,
      body: new TextDecoder().decode(body),
      elapsed_ms,
      ...(await certificate),
    };
  } catch (error) {
    const e = error as Error;
    const message = e.name === "TimeoutError" ? `timed out after ${p.timeout_ms} ms` : String(e.message ?? e);
    return { error: message, elapsed_ms: performance.now() - started, ...(await certificate) };
  }
}

async function runSql(url: string, role: string | null, query: string, params: unknown[]): Promise<unknown> {
  try {
    // The role's name comes from the WASM, never from a request; a query is
    // one of the WASM's constants, so it is prepared once per connection
    // (one round trip per statement instead of two).
    const rows = await database(url, role ?? "").unsafe(
      query,
      params as postgres.ParameterOrJSON<never>[],
      { prepare: true },
    );
    return { kind: "rows", rows: [...rows] };
  } catch (error) {
    const e = error as { code?: string; message?: string };
    return { kind: "sql_error", code: e.code ?? null, message: String(e.message ?? error) };
  }
}

/** Statements of one batched query (and role) run one at a time; members
 * that arrive meanwhile wait and go together in the next, so a burst costs
 * a few transactions (and durable commits) instead of one each. Allowing
 * two or four at once stored no faster on the Bugsink benchmark (707, 711
 * and 725 events/s alone), and one makes the largest batches, the least
 * CPU per event. */
const BATCHES_IN_FLIGHT = 1;

interface Member {
  member: string;
  resolve: (outcome: unknown) => void;
}

const batches = new Map<string, { waiting: Member[]; running: number }>();

/** Runs `member` with the others of the same query and role that reach
 * the host meanwhile (the WASM's `sql_batched`): `$1` is the JSON array of
 * their texts, and each gets the statement's row at its position. */
function runBatched(url: string, role: string, query: string, max: number, member: string): Promise<unknown> {
  const key = `${role}\n${query}`;
  let batch = batches.get(key);
  if (batch === undefined) {
    batch = { waiting: [], running: 0 };
    batches.set(key, batch);
  }
  const queue = batch;
  const outcome = new Promise<unknown>((resolve) => queue.waiting.push({ member, resolve }));
  const drain = async () => {
    queue.running++;
    while (queue.waiting.length > 0) {
      const members = queue.waiting.splice(0, max);
      const outcome = await runSql(url, role, query, [`[${members.map((m) => m.member).join(",")}]`]);
      const result = outcome as { kind: string; rows?: unknown[] };
      members.forEach((m, i) => {
        if (result.kind !== "rows") m.resolve(outcome);
        else if (result.rows?.length !== members.length) {
          m.resolve({
            kind: "sql_error",
            code: null,
            message: `a batch of ${members.length} answered ${result.rows?.length} rows`,
          });
        } else m.resolve({ kind: "rows", rows: [result.rows[i]] });
      });
    }
    queue.running--;
  };
  if (queue.running < BATCHES_IN_FLIGHT) drain();
  return outcome;
}

async function execute(command: Command, vars: Record<string, string>): Promise<unknown> {
  switch (command.do) {
    case "sql_as":
      return await runSql(vars.SUPABASE_DB_URL, command.role, command.query, command.params);
    case "sql_batched":
      return await runBatched(vars.SUPABASE_DB_URL, command.role, command.query, command.max, command.member);
    case "probe":
      return { kind: "probed", results: await Promise.all(command.probes.map(probe)) };
    case "sql":
      return await runSql(vars.SUPABASE_DB_URL, null, command.query, command.params);
    case "http":
      try {
        const response = await fetch(command.url, {
          method: command.method,
          headers: command.headers,
          body: command.body,
          signal: AbortSignal.timeout(command.timeout_ms),
        });
        const headers: Record<string, string> = {};
        response.headers.forEach((value, key) => (headers[key] = value));
        return { kind: "http", status: response.status, headers, body: await response.text() };
      } catch (error) {
        return { kind: "network_error", message: String((error as Error).message ?? error) };
      }
    case "sleep":
      await new Promise((resolve) => setTimeout(resolve, command.ms));
      return { kind: "slept" };
    default:
      throw new Error(`unknown command ${JSON.stringify(command)}`);
  }
}

/** The request handler of function `name`; logs its missing variables once. */
export function handlerFor(
  name: string,
): (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response> {
  const limit = body_limit(name);
  const missing: string[] = JSON.parse(missing_env(name, JSON.stringify(environment())));
  for (const variable of missing) {
    console.error(`${name}: environment variable ${variable} is not set; requests that need it answer 500`);
  }
  return async (request: Request, info?: Deno.ServeHandlerInfo): Promise<Response> => {
    const vars = environment();
    try {
      const { body, tooLarge } = await readBody(request, limit);
      const headers: Record<string, string> = {};
      request.headers.forEach((value, key) => (headers[key] = value));
      const url = new URL(request.url);
      const meta = {
        method: request.method,
        route: route(name, url),
        query: url.search.slice(1),
        headers,
        body_too_large: tooLarge,
        remote_addr: info && "hostname" in info.remoteAddr ? info.remoteAddr.hostname : "",
        random: [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0"))
          .join(""),
      };
      const session = new Session(name, JSON.stringify(meta), body, JSON.stringify(vars), Date.now());
      try {
        let command: Command = JSON.parse(session.step("", Date.now()));
        while (command.do !== "respond" && command.do !== "reply") {
          const outcome = await execute(command, vars);
          command = JSON.parse(session.step(JSON.stringify(outcome), Date.now()));
        }
        if (command.do === "reply") {
          const empty = command.status === 204 || command.status === 304;
          return new Response(empty ? null : command.body, {
            status: command.status,
            headers: command.headers,
          });
        }
        if (command.log) console.error(`${name}: ${command.log}`);
        return Response.json(command.body, { status: command.status });
      } finally {
        session.free();
      }
    } catch (error) {
      console.error(`${name}:`, error);
      return Response.json(
        { error: "internal", message: "the function failed; see its log" },
        { status: 500 },
      );
    }
  };
}
