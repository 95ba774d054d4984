#!/usr/bin/env bash
# Mutation testing (cargo-mutants) of the modules that keep the README's Guarantees, each
# against the tests that prove it. CI does not run it (hours on 2 cores): it is run by hand,
# and TESTING.md keeps the numbers, the equivalent mutants and how long each module takes.
#
#   .ci/mutants.sh                    every module, one after the other
#   .ci/mutants.sh retry bulk-order   only these (names below)
#
# Each run copies the workspace to a temporary directory, builds it there and removes it at
# the end; the results stay in target/mutants/<module>/mutants.out/ (caught.txt, missed.txt,
# timeout.txt, unviable.txt, outcomes.json). Shared settings: .cargo/mutants.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

# The SDK's modules: its unit tests and the end-to-end tests of the client against the
# emulator and hostile servers.
api_tests=(--test-package nateq-api --test-package nateq-tests --
  --lib --test client --test hostile_responses --test properties --test throttle)
# The bulk run's modules: the CLI's unit tests and the end-to-end tests that run `nateq
# contacts update-many` against the emulator (soak.rs, 45 s, is left out: bulk.rs and
# order.rs cover the same paths, and faster).
bulk_tests=(--test-package nateq-cli --
  --lib --test bulk --test order --test coalesce --test report_durability --test failed_out
  --test drift --test progress)
# The emulator's modules: its own tests, and the end-to-end tests of hostile requests.
emulator_tests=(--test-package nateq-emulator --test-package nateq-tests --
  --lib --test emulator --test emulator_hostile)

module() {
  case "$1" in
    retry) echo nateq-api/src/retry.rs api ;;
    decode) echo nateq-api/src/decode.rs api ;;
    update) echo nateq-api/src/update.rs api ;;
    throttle) echo nateq-api/src/throttle.rs api ;;
    hooks) echo nateq-api/src/hooks.rs api ;;
    bulk-order) echo nateq-cli/src/bulk/order.rs bulk ;;
    bulk-report) echo nateq-cli/src/bulk/report.rs bulk ;;
    bulk-mod) echo nateq-cli/src/bulk/mod.rs bulk ;;
    auth) echo nateq-emulator/src/auth.rs emulator ;;
    store) echo nateq-emulator/src/store.rs emulator ;;
    validate) echo nateq-emulator/src/validate.rs emulator ;;
    *) return 1 ;;
  esac
}

all=(retry decode update bulk-order bulk-report bulk-mod throttle hooks auth store validate)
[ $# -gt 0 ] || set -- "${all[@]}"
for name in "$@"; do
  if ! read -r file tests < <(module "$name"); then
    echo "unknown module $name (one of: ${all[*]})" >&2
    exit 2
  fi
  case "$tests" in
    api) args=("${api_tests[@]}") ;;
    bulk) args=("${bulk_tests[@]}") ;;
    emulator) args=("${emulator_tests[@]}") ;;
  esac
  echo "=== $name: $file  [$(date +%T)]"
  start=$SECONDS
  mkdir -p "target/mutants/$name"
  status=0
  cargo mutants --jobs 1 --no-shuffle --output "target/mutants/$name" --file "$file" "${args[@]}" ||
    status=$?
  # 2: some mutants were missed, 3: some timed out; both are results. Anything else (the
  # unmutated tests fail, a bad option) stops here.
  case "$status" in
    0 | 2 | 3) ;;
    *) echo "$name: cargo mutants failed (exit $status)" >&2; exit "$status" ;;
  esac
  echo "=== $name: $(((SECONDS - start) / 60)) min"
done
