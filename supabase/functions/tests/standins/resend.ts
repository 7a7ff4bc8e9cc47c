// STAND-IN for Resend's API (api.resend.com cannot be reached from here): a
// local server speaking its documented contract, started by the tests.
//   POST /emails       https://resend.com/docs/api-reference/emails/send-email
//   errors             https://resend.com/docs/api-reference/errors
//                      ({statusCode, name, message}; 401 missing_api_key,
//                      403 invalid_api_key, 422 missing_required_field)
//   rate limit         https://resend.com/docs/api-reference/rate-limit
//                      (2 requests per second per team by default; headers
//                      ratelimit-limit, ratelimit-remaining, ratelimit-reset,
//                      and retry-after on a 429 rate_limit_exceeded)
//   idempotency keys   https://resend.com/docs/dashboard/emails/idempotency-keys
//                      (1 to 256 characters, kept 24 hours; the same key and
//                      body replays the first response without sending; 409
//                      invalid_idempotent_request for another body, 409
//                      concurrent_idempotent_requests while the first is in
//                      flight)
// Faults for the tests are scripted with `failNext`: each answers one
// request, before any processing, as Resend does for requests it refuses.

export interface Accepted {
  id: string;
  key: string | null;
  body: Record<string, unknown>;
  at: number;
}

export interface Logged {
  status: number;
  key: string | null;
  at: number;
}

type Fault = 429 | 500 | "lose-response";

const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

export class ResendStandIn {
  readonly accepted: Accepted[] = [];
  readonly log: Logged[] = [];
  private readonly keys = new Map<string, { body: string; response: string | null; at: number }>();
  private readonly faults: Fault[] = [];
  private window: number[] = [];
  private server: Deno.HttpServer<Deno.NetAddr>;

  constructor(
    readonly apiKey: string,
    readonly requestsPerSecond = 2,
    /** How long a send takes, so that concurrent requests overlap. */
    readonly processingMs = 0,
  ) {
    this.server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (r) => this.handle(r));
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.addr.port}`;
  }

  /** The next requests get these answers, one each, in order. */
  failNext(...faults: Fault[]) {
    this.faults.push(...faults);
  }

  async close() {
    await this.server.shutdown();
  }

  private error(status: number, name: string, message: string, headers: Record<string, string> = {}) {
    return Response.json({ statusCode: status, name, message }, { status, headers });
  }

  private rateHeaders(now: number): Record<string, string> {
    return {
      "ratelimit-limit": String(this.requestsPerSecond),
      "ratelimit-remaining": String(Math.max(0, this.requestsPerSecond - this.window.length)),
      "ratelimit-reset": String(
        this.window.length ? Math.max(1, Math.ceil((this.window[0] + 1000 - now) / 1000)) : 1,
      ),
    };
  }

  private async handle(request: Request): Promise<Response> {
    const now = Date.now();
    const key = request.headers.get("idempotency-key");
    const response = await this.answer(request, key, now);
    this.log.push({ status: response.status, key, at: now });
    return response;
  }

  private async answer(request: Request, key: string | null, now: number): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== "/emails") {
      return this.error(404, "not_found", "The requested endpoint does not exist.");
    }
    if (request.method !== "POST") return this.error(405, "method_not_allowed", "Method is not allowed.");
    const auth = request.headers.get("authorization");
    if (!auth) return this.error(401, "missing_api_key", "Missing API key in the authorization header.");
    if (auth !== `Bearer ${this.apiKey}`) return this.error(403, "invalid_api_key", "API key is invalid.");

    this.window = this.window.filter((t) => t > now - 1000);
    if (this.window.length >= this.requestsPerSecond) {
      const retryAfter = Math.max(1, Math.ceil((this.window[0] + 1000 - now) / 1000));
      return this.error(
        429,
        "rate_limit_exceeded",
        "Too many requests. You can only make 2 requests per second.",
        {
          ...this.rateHeaders(now),
          "retry-after": String(retryAfter),
        },
      );
    }
    this.window.push(now);
    const headers = this.rateHeaders(now);

    const fault = this.faults.shift();
    if (fault === 429) {
      return this.error(429, "rate_limit_exceeded", "Too many requests.", { ...headers, "retry-after": "1" });
    }
    if (fault === 500) {
      return this.error(500, "internal_server_error", "An unexpected error occurred.", headers);
    }

    const text = await request.text();
    if (key !== null && (key.length < 1 || key.length > 256)) {
      return this.error(400, "invalid_idempotency_key", "The key must be between 1-256 chars.", headers);
    }
    if (key !== null) {
      const seen = this.keys.get(key);
      if (seen && seen.at > now - IDEMPOTENCY_WINDOW_MS) {
        if (seen.body !== text) {
          return this.error(
            409,
            "invalid_idempotent_request",
            "This idempotency key has already been used on a request that had a different payload.",
            headers,
          );
        }
        if (seen.response === null) {
          return this.error(
            409,
            "concurrent_idempotent_requests",
            "Another request with the same idempotency key is currently in progress.",
            headers,
          );
        }
        return new Response(seen.response, {
          status: 200,
          headers: { ...headers, "content-type": "application/json" },
        });
      }
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text);
    } catch {
      return this.error(422, "validation_error", "The body is not valid JSON.", headers);
    }
    for (const field of ["from", "to", "subject"]) {
      if (body[field] === undefined) {
        return this.error(422, "missing_required_field", `Missing \`${field}\` field.`, headers);
      }
    }
    const to = Array.isArray(body.to) ? body.to : [body.to];
    if (to.length > 50) {
      return this.error(422, "validation_error", "Too many recipients: 50 at most.", headers);
    }
    if (body.html === undefined && body.text === undefined) {
      return this.error(422, "validation_error", "Either `html` or `text` must be provided.", headers);
    }

    if (key !== null) this.keys.set(key, { body: text, response: null, at: now });
    if (this.processingMs) await new Promise((r) => setTimeout(r, this.processingMs));
    const id = crypto.randomUUID();
    this.accepted.push({ id, key, body, at: now });
    const answer = JSON.stringify({ id });
    if (key !== null) this.keys.set(key, { body: text, response: answer, at: now });
    if (fault === "lose-response") {
      // Sent, but the answer never arrives: the client sees a failure.
      return this.error(502, "bad_gateway", "The connection was lost.", headers);
    }
    return new Response(answer, { status: 200, headers: { ...headers, "content-type": "application/json" } });
  }
}
