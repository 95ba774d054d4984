#!/usr/bin/env bash
# Runs every benchmark and writes BENCHMARKS.md: `bench/run.sh` (or `bench/run.sh --quick` for a
# fast smoke run that only prints). Other arguments go to nateq-bench, e.g. `bench/run.sh bulk`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk" >&2
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

args=("$@")
has_command=false
for a in "${args[@]}"; do
  case "$a" in
    all|client|decode|bulk|emulator|memory|build|throttled|report) has_command=true ;;
  esac
done
if [ "$has_command" = false ]; then args+=(all); fi

cargo build --release --locked -p nateq-bench -p nateq-cli -p nateq-emulator
exec cargo run --release --locked -q -p nateq-bench -- "${args[@]}"
