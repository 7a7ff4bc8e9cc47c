// Opens a page that reports through the real @sentry/browser in Debian's
// Chromium (headless, playwright-core), waits until the page says it is
// done, and prints as JSON what the SDK sent to the envelope endpoint (each
// request's status and whether it carried an event) and what the browser
// complained about: sentry.test.ts asserts on it.
//   node tools/sentry-browser.mjs 'http://127.0.0.1:8123/?scenario=errors&dsn=...'
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const url = process.argv[2];
const profile = mkdtempSync(join(tmpdir(), "pg_observe_chromium_"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  const consoleErrors = [];
  page.on("console", (message) => message.type() === "error" && consoleErrors.push(message.text()));
  const envelopes = [];
  page.on("response", (response) => {
    const request = response.request();
    if (!request.url().includes("/envelope/")) return;
    envelopes.push({
      status: response.status(),
      event: (request.postData() ?? "").includes('"type":"event"'),
      rateLimits: response.headers()["x-sentry-rate-limits"] ?? null,
    });
  });
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => globalThis.done === true, null, { timeout: 30_000 });
  const result = await page.evaluate(() => globalThis.result ?? null);
  process.stdout.write(JSON.stringify({ envelopes, result, consoleErrors }));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
