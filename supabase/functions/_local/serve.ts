// Serves every function from one Deno process at
// http://127.0.0.1:$FUNCTIONS_PORT/functions/v1/<name>/..., the URL shape of
// `supabase functions serve` (scripts/functions.sh runs this).
import alertDispatch from "../alert-dispatch/handler.ts";
import deployEvents from "../deploy-events/handler.ts";
import healthCheck from "../health-check/handler.ts";
import ingest from "../ingest/handler.ts";
import status from "../status/handler.ts";

const handlers: Record<string, (request: Request, info: Deno.ServeHandlerInfo) => Promise<Response>> = {
  "alert-dispatch": alertDispatch,
  "deploy-events": deployEvents,
  "health-check": healthCheck,
  ingest,
  status,
};

const port = Number(Deno.env.get("FUNCTIONS_PORT") ?? "54321");

Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen: () => console.log(`functions listening on http://127.0.0.1:${port}/functions/v1/`),
}, (request, info) => {
  const [, prefix, version, name] = new URL(request.url).pathname.split("/");
  const handler = prefix === "functions" && version === "v1" ? handlers[name] : undefined;
  if (!handler) {
    return Response.json(
      {
        error: "not_found",
        message: `no function at ${new URL(request.url).pathname}; try /functions/v1/<name>`,
      },
      { status: 404 },
    );
  }
  return handler(request, info);
});
