// Opens the status page in Debian's Chromium (headless, driven by
// playwright-core) and prints what a person would see and what the browser
// complained about, as JSON: the end-to-end test asserts on it.
//   node tools/status-smoke.mjs http://127.0.0.1:54341/functions/v1/status
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const url = process.argv[2];
const profile = mkdtempSync(join(tmpdir(), "pg_observe_chromium_"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  // Without the background-networking flags Chromium keeps dialling
  // Google's hosts, which this machine's closed network refuses.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  const consoleErrors = [];
  page.on("console", (message) => message.type() === "error" && consoleErrors.push(message.text()));
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  await page.addInitScript(() => {
    globalThis.violations = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      globalThis.violations.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample }));
  });
  const response = await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector("body[data-rendered=true]", { timeout: 10_000 });
  const result = {
    status: response.status(),
    text: await page.innerText("body"),
    bars: await page.locator("[data-bars] .bar").count(),
    violations: await page.evaluate(() => globalThis.violations),
    consoleErrors: [...consoleErrors],
  };
  // Trusted Types are enforced: a plain string into a sink throws.
  result.trustedTypesEnforced = await page.evaluate(() => {
    try {
      document.createElement("div").innerHTML = "<b>x</b>";
      return false;
    } catch {
      return true;
    }
  });
  process.stdout.write(JSON.stringify(result));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
