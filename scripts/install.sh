#!/usr/bin/env bash
# Builds pg_observe and installs it into Debian's PostgreSQL 15.
#   scripts/install.sh            debug build (what the tests use)
#   scripts/install.sh --release  optimised build (what the demo and benchmarks use)
set -euo pipefail
cd "$(dirname "$0")/../pg_observe"
export PATH="$HOME/.cargo/bin:$PATH"
sudo_flag=()
[ "$(id -u)" -eq 0 ] || sudo_flag=(--sudo)
cargo pgrx install --pg-config /usr/bin/pg_config "${sudo_flag[@]}" "$@"
