#!/usr/bin/env bash
# Builds the edge functions' Rust core (edge/) to wasm32-unknown-unknown.
# rustup here has no wasm32 target, so this uses Debian's rustc-web with
# its standard library sources (-Zbuild-std) and lld-19 as the linker; the
# rest of the project keeps rustup's toolchain (scripts/setup.sh installs
# both).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/edge"
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/bin/wasm-ld-19 \
  /usr/bin/cargo build --release --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort "$@"
