#!/usr/bin/env bash
# Builds pg_observe and installs it into Debian's PostgreSQL 15.
#   scripts/install.sh            debug build (what the tests use)
#   scripts/install.sh --release  optimised build (what the demo and benchmarks use)
#
# Besides what cargo-pgrx installs (the library, the control file, the
# current version's install script and every upgrade script), the frozen
# install scripts of released versions go in too, so that
# `CREATE EXTENSION pg_observe VERSION '0.1.0'` works: the upgrade test
# starts from there.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/pg_observe"
export PATH="$HOME/.cargo/bin:$PATH"
sudo=()
sudo_flag=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); sudo_flag=(--sudo); fi
cargo pgrx install --pg-config /usr/bin/pg_config "${sudo_flag[@]}" "$@"
extdir="$(/usr/bin/pg_config --sharedir)/extension"
for frozen in sql/pg_observe--*.sql; do
  case "$(basename "$frozen")" in
    pg_observe--*--*.sql) ;;  # upgrade scripts: cargo-pgrx copied them
    *) "${sudo[@]}" install -m 644 "$frozen" "$extdir/" ;;
  esac
done
