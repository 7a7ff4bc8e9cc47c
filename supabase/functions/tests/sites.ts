// The sites the health checks probe, started by the tests: healthy, slow,
// failing, one with bad headers, and one over HTTPS whose certificate
// (signed by a CA made for the test with Debian's openssl) expires in a day.
export interface Sites {
  http: string;
  https: string;
  caFile: string;
  close(): Promise<void>;
}

const STRICT = {
  "content-security-policy":
    "default-src 'none'; script-src 'nonce-r4nd0mr4nd0m' 'strict-dynamic'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'",
  "strict-transport-security": "max-age=63072000; includeSubDomains; preload",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "permissions-policy": "camera=()",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

async function openssl(dir: string, ...args: string[]) {
  const { code, stderr } = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (code !== 0) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(stderr)}`);
}

function handler(request: Request): Promise<Response> | Response {
  const path = new URL(request.url).pathname;
  switch (path) {
    case "/health":
      return Response.json({ status: "UP" }, { headers: STRICT });
    case "/slow":
      return new Promise((resolve) =>
        setTimeout(() => resolve(Response.json({ status: "UP" }, { headers: STRICT })), 1200)
      );
    case "/failing":
      return Response.json({ status: "DOWN" }, { status: 500, headers: STRICT });
    case "/bad-headers":
      return new Response("<p>hello</p>", {
        headers: { "content-type": "text/html", "set-cookie": "session=abc; Path=/" },
      });
    default:
      return new Response("not found", { status: 404 });
  }
}

export async function startSites(): Promise<Sites> {
  const dir = await Deno.makeTempDir({ prefix: "pg_observe_sites_" });
  const curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await openssl(
    dir,
    "req",
    "-x509",
    ...curve,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "3",
    "-subj",
    "/CN=pg_observe e2e CA",
  );
  await openssl(dir, "req", ...curve, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost");
  await Deno.writeTextFile(
    `${dir}/leaf.ext`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
  );
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "leaf.pem",
    "-days",
    "1",
    "-extfile",
    "leaf.ext",
  );
  const plain = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  const secure = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(`${dir}/leaf.pem`),
    key: await Deno.readTextFile(`${dir}/leaf.key`),
    onListen: () => {},
  }, handler);
  return {
    http: `http://127.0.0.1:${plain.addr.port}`,
    https: `https://localhost:${secure.addr.port}`,
    caFile: `${dir}/ca.pem`,
    async close() {
      await plain.shutdown();
      await secure.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
