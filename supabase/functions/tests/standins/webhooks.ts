// STAND-INS for the senders of webhooks this machine cannot receive from:
// requests signed exactly as each provider documents, built with Web Crypto
// (independently of the Rust code that verifies them).
//   Vercel  https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks
//           x-vercel-signature: hex HMAC-SHA1 of the raw body
//   GitHub  https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
//           X-Hub-Signature-256: "sha256=" + hex HMAC-SHA256 of the raw body,
//           with X-GitHub-Event and X-GitHub-Delivery
//   Resend  https://resend.com/docs/dashboard/webhooks/verify-webhooks-requests
//           (Svix: svix-id, svix-timestamp, svix-signature "v1,<base64
//           HMAC-SHA256 of id.timestamp.body>", keyed with the base64 after
//           whsec_; https://docs.svix.com/receiving/verifying-payloads/how-manual)

const encoder = new TextEncoder();

async function hmac(
  hash: "SHA-1" | "SHA-256",
  key: Uint8Array<ArrayBuffer>,
  data: string,
): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(data)));
}

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

export interface Signed {
  headers: Record<string, string>;
  body: string;
}

export async function vercel(secret: string, event: unknown): Promise<Signed> {
  const body = JSON.stringify(event);
  return {
    body,
    headers: {
      "content-type": "application/json",
      "x-vercel-signature": hex(await hmac("SHA-1", encoder.encode(secret), body)),
    },
  };
}

export async function github(
  secret: string,
  kind: string,
  delivery: string,
  event: unknown,
): Promise<Signed> {
  const body = JSON.stringify(event);
  return {
    body,
    headers: {
      "content-type": "application/json",
      "x-github-event": kind,
      "x-github-delivery": delivery,
      "x-hub-signature-256": "sha256=" + hex(await hmac("SHA-256", encoder.encode(secret), body)),
    },
  };
}

export async function svix(secret: string, id: string, event: unknown, at = Date.now()): Promise<Signed> {
  const body = JSON.stringify(event);
  const timestamp = String(Math.floor(at / 1000));
  const key = Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (c) => c.charCodeAt(0));
  const signature = base64(await hmac("SHA-256", key, `${id}.${timestamp}.${body}`));
  return {
    body,
    headers: {
      "content-type": "application/json",
      "svix-id": id,
      "svix-timestamp": timestamp,
      "svix-signature": `v1,${signature}`,
    },
  };
}
