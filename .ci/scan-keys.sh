#!/usr/bin/env bash
# Scans a log for every API key that appears in the project's sources (test keys, the
# emulator's demo keys). Any hit fails: keys must never reach output, logs or errors.
set -euo pipefail
cd "$(dirname "$0")/.."
log="$1"
[ -s "$log" ] || { echo "scan-keys: $log is empty or missing" >&2; exit 1; }
mapfile -t keys < <(git ls-files -z -- '*.rs' | xargs -0 grep -hoE 'tg_(test|live)_[A-Za-z0-9_]{12,}' | sort -u)
[ "${#keys[@]}" -gt 0 ] || { echo "scan-keys: no keys found in the sources" >&2; exit 1; }
hits=0
for key in "${keys[@]}"; do
  n=$(grep -cF -- "$key" "$log" || true)
  if [ "$n" -ne 0 ]; then
    echo "scan-keys: a key used by the tests appears $n time(s) in $log" >&2
    hits=$((hits + n))
  fi
done
lines=$(wc -l < "$log")
echo "scan-keys: ${#keys[@]} keys, $lines log lines, $hits hits"
[ "$hits" -eq 0 ]
