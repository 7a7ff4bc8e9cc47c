// The entry of the @sentry/browser bundle the end-to-end test serves to
// Chromium (deno bundle --platform=browser --format=iife): the npm package
// ships ES modules only, and the page loads the SDK as a CDN would, as a
// global `Sentry`.
import * as Sentry from "@sentry/browser";
globalThis.Sentry = Sentry;
