#!/usr/bin/env bash
# Builds the edge functions' Rust core (edge/) to wasm32-unknown-unknown and
# writes it, with its wasm-bindgen glue for Deno, to
# supabase/functions/_shared/wasm/, where every function imports it from.
# rustup here has no wasm32 target, so this uses Debian's rustc-web with its
# standard library sources (-Zbuild-std) and lld-19 as the linker; the rest
# of the project keeps rustup's toolchain (scripts/setup.sh installs both,
# and the wasm-bindgen CLI at the version edge/Cargo.toml pins).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"
cd "$ROOT/edge"
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/bin/wasm-ld-19 \
  /usr/bin/cargo build --release --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort "$@"
OUT=$ROOT/supabase/functions/_shared/wasm
mkdir -p "$OUT"
wasm-bindgen --target deno --out-dir "$OUT" \
  target/wasm32-unknown-unknown/release/pg_observe_edge.wasm
size=$(stat -c %s "$OUT/pg_observe_edge_bg.wasm")
# The functions load this at every cold start; keep it small.
if [ "$size" -ge $((1024 * 1024)) ]; then
  echo "build-edge.sh: pg_observe_edge_bg.wasm is $size bytes, over the 1 MiB budget" >&2
  exit 1
fi
echo "build-edge.sh: $OUT/pg_observe_edge_bg.wasm ($size bytes)"
