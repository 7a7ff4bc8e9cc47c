// Smoke test of a deployed site in Debian's headless Chromium
// (playwright-core): every page loads with status < 400, shows what it
// should, and the browser reports no console error, no uncaught exception
// and no CSP or Trusted Types violation. Exits 1 on any, printing why.
//   node tools/pipeline/smoke.mjs <base-url> [--path /] [--path /checkout/] [--expect text]
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { path: { type: "string", multiple: true, default: ["/"] }, expect: { type: "string" } },
});
// Paths are relative to the base URL, which may itself have a path.
const base = positionals[0]?.replace(/\/?$/, "/");
if (!base) {
  console.error("usage: smoke.mjs <base-url> [--path /p]... [--expect text]");
  process.exit(64);
}
const profile = mkdtempSync(join(tmpdir(), "pg_observe_smoke_"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const problems = [];
const pages = [];
try {
  for (const path of values.path) {
    const url = new URL(path.replace(/^\//, ""), base).href;
    const page = await browser.newPage();
    const errors = [];
    page.on("console", (m) => {
      // The browser's own favicon request is not the page's doing.
      const favicon = m.text().startsWith("Failed to load resource") && m.location().url?.endsWith("/favicon.ico");
      if (m.type() === "error" && !favicon) errors.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`uncaught: ${e}`));
    await page.addInitScript(() => {
      globalThis.__violations = [];
      document.addEventListener("securitypolicyviolation", (e) =>
        globalThis.__violations.push(`${e.disposition} ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`));
    });
    const response = await page.goto(url, { waitUntil: "load" });
    await page.waitForTimeout(300);
    const violations = await page.evaluate(() => globalThis.__violations);
    const text = await page.innerText("body");
    const headers = response.headers();
    pages.push({ url, status: response.status(), csp: headers["content-security-policy"] ?? null, violations, errors });
    if (response.status() >= 400) problems.push(`${url}: HTTP ${response.status()}`);
    for (const v of violations) problems.push(`${url}: CSP violation: ${v}`);
    for (const e of errors) problems.push(`${url}: ${e}`);
    if (values.expect && !text.includes(values.expect)) problems.push(`${url}: page does not show "${values.expect}"`);
    await page.close();
  }
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify({ passed: problems.length === 0, problems, pages }));
if (problems.length) {
  for (const p of problems) console.error(`smoke: ${p}`);
  process.exit(1);
}
