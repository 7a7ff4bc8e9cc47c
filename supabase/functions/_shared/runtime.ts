// The host of pg_observe's edge functions: every decision is made in Rust
// (edge/, compiled to ./wasm/); this file only carries out the commands a
// function returns (run SQL, send HTTP, wait, answer) and feeds the outcomes
// back. It knows no function by name.
import postgres from "postgres";
import { env_names, missing_env, Session } from "./wasm/pg_observe_edge.js";

/** Bodies past this are refused (413) without being read further. */
const MAX_BODY_BYTES = 1024 * 1024;

type Command =
  | { do: "sql"; query: string; params: unknown[] }
  | {
    do: "http";
    method: string;
    url: string;
    headers: Record<string, string>;
    body: string;
    timeout_ms: number;
  }
  | { do: "sleep"; ms: number }
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

let sql: postgres.Sql | undefined;
function database(url: string): postgres.Sql {
  // One pool per process, opened on first use: a function that answers
  // without the database never connects.
  sql ??= postgres(url, { max: 4, idle_timeout: 30, connect_timeout: 10, onnotice: () => {} });
  return sql;
}

/** The path after the function's name: `/functions/v1/<name>/x` and `/<name>/x` both give `/x`. */
function route(name: string, url: URL): string {
  const parts = url.pathname.split("/");
  const at = parts.indexOf(name);
  return at < 0 ? url.pathname : "/" + parts.slice(at + 1).join("/");
}

async function readBody(request: Request): Promise<{ body: Uint8Array; tooLarge: boolean }> {
  if (!request.body) return { body: new Uint8Array(), tooLarge: false };
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_BODY_BYTES) {
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

async function execute(command: Command, vars: Record<string, string>): Promise<unknown> {
  switch (command.do) {
    case "sql":
      try {
        const rows = await database(vars.SUPABASE_DB_URL).unsafe(
          command.query,
          command.params as postgres.ParameterOrJSON<never>[],
        );
        return { kind: "rows", rows: [...rows] };
      } catch (error) {
        const e = error as { code?: string; message?: string };
        return { kind: "sql_error", code: e.code ?? null, message: String(e.message ?? error) };
      }
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
export function handlerFor(name: string): (request: Request) => Promise<Response> {
  const missing: string[] = JSON.parse(missing_env(name, JSON.stringify(environment())));
  for (const variable of missing) {
    console.error(`${name}: environment variable ${variable} is not set; requests that need it answer 500`);
  }
  return async (request: Request): Promise<Response> => {
    const vars = environment();
    try {
      const { body, tooLarge } = await readBody(request);
      const headers: Record<string, string> = {};
      request.headers.forEach((value, key) => (headers[key] = value));
      const meta = {
        method: request.method,
        route: route(name, new URL(request.url)),
        headers,
        body_too_large: tooLarge,
      };
      const session = new Session(name, JSON.stringify(meta), body, JSON.stringify(vars), Date.now());
      try {
        let command: Command = JSON.parse(session.step("", Date.now()));
        while (command.do !== "respond") {
          const outcome = await execute(command, vars);
          command = JSON.parse(session.step(JSON.stringify(outcome), Date.now()));
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
