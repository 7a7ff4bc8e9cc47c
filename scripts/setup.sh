#!/usr/bin/env bash
# Installs everything the build, the tests and the local stack need on a fresh
# Debian 12 machine. Idempotent: each step checks before it acts, so running it
# again costs seconds.
set -euo pipefail

PGRX_VERSION=0.18.1
PG_CONFIG=/usr/bin/pg_config

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

apt_packages=(
  postgresql-15 postgresql-server-dev-15 postgresql-15-cron postgresql-15-pgtap
  libtap-parser-sourcehandler-pgtap-perl
  libclang-dev clang sudo pkg-config libssl-dev
  # The edge functions compile to wasm32, which rustup here cannot target:
  # Debian's rustc-web with its std sources and lld do (scripts/build-edge.sh).
  rustc-web cargo-web rust-web-src lld-19
  # The status page's smoke test runs in Debian's Chromium, driven by
  # playwright-core (tools/); Playwright's own browser downloads are not used.
  chromium openssl
  # The real Python sentry-sdk and Bugsink live in a virtual environment
  # (tools/.venv, below); the Bugsink benchmark reads its answers with jq, bc.
  python3-venv jq bc
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian starts a default cluster on 5432; our tests use their own cluster
# under target/, so the default one is left alone.

export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
  log "installing cargo-pgrx $PGRX_VERSION"
  cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
fi

if [ ! -f "$HOME/.pgrx/config.toml" ] || ! grep -q "pg15" "$HOME/.pgrx/config.toml"; then
  log "initialising pgrx for PostgreSQL 15"
  cargo pgrx init --pg15 "$PG_CONFIG"
fi

# The edge functions: the wasm-bindgen CLI at exactly the version of the
# wasm-bindgen crate edge/ pins (the glue and the crate must agree), and
# Deno from the npm registry at the version tools/package-lock.json pins.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' "$ROOT/edge/Cargo.toml")
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WASM_BINDGEN_VERSION"; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked
fi
if ! command -v npm >/dev/null; then
  log "installing Node.js and npm"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
DENO="$ROOT/tools/node_modules/.bin/deno"
DENO_VERSION=$(sed -n 's/.*"deno": "\(.*\)".*/\1/p' "$ROOT/tools/package.json")
# Every tool pinned in tools/package.json, at its version: Deno;
# playwright-core, which drives Debian's Chromium for the status page, the
# Sentry SDK tests and the pipeline's smoke test; @sentry/browser,
# @sentry/node and @sentry/deno, the SDKs those tests report through;
# autocannon (the pipeline's load test) and postgres (its traffic script's
# client).
tools_current() {
  "$DENO" --version 2>/dev/null | grep -q "^deno $DENO_VERSION " || return 1
  for tool in playwright-core @sentry/browser @sentry/node @sentry/deno autocannon postgres; do
    want=$(sed -n "s/.*\"$tool\": \"\(.*\)\".*/\1/p" "$ROOT/tools/package.json")
    have=$(sed -n 's/^  "version": "\(.*\)".*/\1/p' "$ROOT/tools/node_modules/$tool/package.json" 2>/dev/null)
    [ "$want" = "$have" ] || return 1
  done
}
if ! tools_current; then
  log "installing the pinned tools (npm ci in tools/: Deno $DENO_VERSION, playwright-core, the Sentry SDKs, autocannon, postgres)"
  (cd "$ROOT/tools" && npm ci --no-audit --no-fund)
fi
# The real Python sentry-sdk and Bugsink, pinned in tools/requirements.txt,
# in a virtual environment of their own (the Sentry SDK tests, the Bugsink
# benchmark).
VENV="$ROOT/tools/.venv"
venv_current() {
  [ -x "$VENV/bin/pip" ] || return 1
  local frozen
  frozen=$("$VENV/bin/pip" freeze 2>/dev/null)
  while read -r pin; do
    case "$pin" in ''|'#'*) continue ;; esac
    grep -qix "$pin" <<<"$frozen" || return 1
  done <"$ROOT/tools/requirements.txt"
}
if ! venv_current; then
  log "installing sentry-sdk and Bugsink into tools/.venv"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$ROOT/tools/requirements.txt"
fi
# The functions' npm: imports, from deno.lock, so that serving and testing
# need no registry.
(cd "$ROOT/supabase/functions" && "$DENO" install --frozen --config deno.json >/dev/null)

log "ready: $(cargo pgrx --version), $($PG_CONFIG --version), $(wasm-bindgen --version), $("$DENO" --version | head -1)"
