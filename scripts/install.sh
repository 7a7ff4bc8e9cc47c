#!/usr/bin/env bash
# Builds pg_observe and installs it into Debian's PostgreSQL 15.
#   scripts/install.sh            debug build (what the tests use)
#   scripts/install.sh --release  optimised build (what the demo and benchmarks use)
#
# Each version's library is a file of its own (pg_observe-0.2.0.so; 0.1.0's
# was pg_observe.so), so a database keeps running the library of the version
# it is at until ALTER EXTENSION UPDATE moves it on. Besides the current
# version (library, control file, install script, upgrade scripts), this
# installs every released version as it was released: its frozen install
# script from pg_observe/sql/ and its library, built once per machine from
# the commit that released it. The upgrade test starts from there
# (ARCHITECTURE.md, "Versions and upgrades").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"
PG_CONFIG=/usr/bin/pg_config
sudo=()
sudo_flag=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); sudo_flag=(--sudo); fi
extdir="$($PG_CONFIG --sharedir)/extension"
libdir="$($PG_CONFIG --pkglibdir)"

# version  commit that released it                   its library
RELEASED=(
  "0.1.0   195f5d7e428069dc8e633f05879f4c294005e0c0  pg_observe"
)

for release in "${RELEASED[@]}"; do
  read -r version commit library <<<"$release"
  stamp="$ROOT/target/released/$version.installed"
  if [ -f "$libdir/$library.so" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$commit" ]; then
    continue
  fi
  if ! git -C "$ROOT" cat-file -e "$commit^{commit}" 2>/dev/null; then
    echo "install.sh: commit $commit (release $version) is not in this clone; the upgrade test needs the full history (git fetch --unshallow)" >&2
    exit 1
  fi
  echo "install.sh: building the library of release $version from $commit (once per machine)"
  tree="$ROOT/target/released/$version"
  rm -rf "$tree"
  mkdir -p "$tree"
  git -C "$ROOT" archive "$commit" | tar -x -C "$tree"
  # Its own target directory: the released tree pins its own dependencies.
  (cd "$tree/pg_observe" &&
    CARGO_TARGET_DIR="$ROOT/target/released-build" \
      cargo pgrx install --pg-config "$PG_CONFIG" "${sudo_flag[@]}" >/dev/null)
  echo "$commit" >"$stamp"
done

cd "$ROOT/pg_observe"
cargo pgrx install --pg-config "$PG_CONFIG" "${sudo_flag[@]}" "$@"
for frozen in sql/pg_observe--*.sql; do
  case "$(basename "$frozen")" in
    pg_observe--*--*.sql) ;;  # upgrade scripts: cargo-pgrx copied them
    *) "${sudo[@]}" install -m 644 "$frozen" "$extdir/" ;;
  esac
done
