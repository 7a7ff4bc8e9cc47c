#!/usr/bin/env bash
# Builds pg_observe and installs it into Debian's PostgreSQL 15.
#   scripts/install.sh            debug build (what the tests use)
#   scripts/install.sh --release  optimised build (what the demo and benchmarks use)
#
# Besides the current version (library, control file, install script,
# upgrade scripts), this installs every released version as it was
# released, for the upgrade test (ARCHITECTURE.md, "Versions and upgrades"):
# its frozen install script from pg_observe/sql/, and its library, built
# once per machine from the commit that released it and installed as
# pg_observe-<version>.so, which the frozen script names.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"
PG_CONFIG=/usr/bin/pg_config
sudo=()
sudo_flag=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); sudo_flag=(--sudo); fi
extdir="$($PG_CONFIG --sharedir)/extension"
libdir="$($PG_CONFIG --pkglibdir)"

# version  commit that released it
RELEASED=(
  "0.1.0   195f5d7e428069dc8e633f05879f4c294005e0c0"
)

for release in "${RELEASED[@]}"; do
  read -r version commit <<<"$release"
  library="$libdir/pg_observe-$version.so"
  stamp="$ROOT/target/released/$version.installed"
  if [ -f "$library" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$commit" ]; then
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
  (cd "$tree" && CARGO_TARGET_DIR="$ROOT/target/released-build" cargo build -q -p pg_observe --lib)
  "${sudo[@]}" install -m 755 "$ROOT/target/released-build/debug/libpg_observe.so" "$library"
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
