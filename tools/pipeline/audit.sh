#!/usr/bin/env bash
# Dependency vulnerability scan: cargo audit (RustSec) for a Cargo.lock,
# npm audit for a package-lock.json, in the directories given (default: .).
# A scan that cannot reach its advisory database says SKIPPED, loudly and
# as a GitHub warning, instead of passing silently; a scan that finds
# vulnerabilities fails (exit 1).
#   tools/pipeline/audit.sh [dir...]
set -uo pipefail
status=0
skip() {
  echo "audit: SKIPPED $1: $2"
  [ -n "${GITHUB_ACTIONS:-}" ] && echo "::warning title=dependency scan skipped::$1: $2"
  return 0
}
for dir in "${@:-.}"; do
  if [ -f "$dir/Cargo.lock" ]; then
    if ! cargo audit --version >/dev/null 2>&1; then
      skip "cargo audit in $dir" "cargo-audit is not installed (cargo install cargo-audit --locked)"
    else
      out=$(cd "$dir" && cargo audit 2>&1); rc=$?
      if [ $rc -eq 0 ]; then
        echo "audit: ok cargo audit in $dir"
      elif grep -qiE "couldn't fetch|failed to fetch|error fetching|network|resolve|timed out" <<<"$out"; then
        skip "cargo audit in $dir" "the RustSec advisory database cannot be reached"
      else
        echo "$out"; echo "audit: FAIL cargo audit in $dir"; status=1
      fi
    fi
  fi
  if [ -f "$dir/package-lock.json" ]; then
    out=$(cd "$dir" && npm audit --audit-level=high --json 2>&1); rc=$?
    if [ $rc -eq 0 ]; then
      echo "audit: ok npm audit in $dir"
    elif grep -qE 'audit endpoint returned an error|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|ENETUNREACH' <<<"$out" \
         && ! grep -qE '"vulnerabilities": *\{ *"' <<<"$out"; then
      skip "npm audit in $dir" "the npm advisory endpoint cannot be reached"
    else
      echo "$out" | head -50; echo "audit: FAIL npm audit in $dir"; status=1
    fi
  fi
done
exit $status
