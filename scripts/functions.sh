#!/usr/bin/env bash
# Serves every edge function under real Deno, at
# http://127.0.0.1:${FUNCTIONS_PORT:-54321}/functions/v1/<name> (the URL shape
# of `supabase functions serve`), configured from the environment only:
# SUPABASE_DB_URL, OBSERVE_FUNCTION_SECRET, OBSERVE_RING_TOKEN, RESEND_API_KEY,
# RESEND_API_URL, RESEND_WEBHOOK_SECRET, MONITORING_ALERT_FROM,
# MONITORING_ALERT_EMAIL, VERCEL_WEBHOOK_SECRET, GITHUB_WEBHOOK_SECRET.
# Build the WASM first (scripts/build-edge.sh; scripts/setup.sh installs Deno).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FUNCTIONS=$ROOT/supabase/functions
if [ ! -f "$FUNCTIONS/_shared/wasm/pg_observe_edge_bg.wasm" ]; then
  echo "functions.sh: no WASM yet; run scripts/build-edge.sh" >&2
  exit 1
fi
cd "$FUNCTIONS"
exec "$ROOT/tools/node_modules/.bin/deno" run --frozen --config deno.json \
  --allow-net --allow-env --allow-read="$FUNCTIONS" _local/serve.ts
