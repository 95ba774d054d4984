#!/usr/bin/env bash
# Mutation testing (cargo-mutants) of the modules that keep the README's Guarantees, each
# against the tests that prove it. CI does not run it (it takes hours on 2 cores): it is run by
# hand, and TESTING.md keeps the numbers, the equivalent mutants and how long each module takes.
#
#   .ci/mutants.sh                        every module, one after the other
#   .ci/mutants.sh retry bulk-order       only these (names below)
#   MUTANTS_SHARD=1/3 .ci/mutants.sh hooks   one mutant in three (round-robin: a sample spread
#                                         over the whole file, for a quick look at a big module)
#   MUTANTS_ITERATE=1 .ci/mutants.sh store   only the mutants the last run of the module did not
#                                         catch (after new tests; MUTANTS_FILTER=REGEX narrows
#                                         them); that run is kept as mutants.out.old, and
#                                         .ci/mutants_table.py reads every mutants.out* of the
#                                         module, newest outcome winning (to keep a run through a
#                                         second iteration, rename it first, say to
#                                         mutants.out.1). After a change to the module's code, run
#                                         it in full: names carry line numbers
#   .ci/mutants.sh --check                that every module's files and tests still exist (CI)
#
# It mutates the checkout in place (no copy: the built dependencies are reused, which makes a
# module minutes instead of an hour) and puts each file back after each mutant. It refuses to
# start on a checkout with uncommitted changes, and checks at the end that nothing is left
# changed. Results: target/mutation/<module>/mutants.out/ (caught.txt, missed.txt,
# timeout.txt, unviable.txt, outcomes.json). Shared settings: .cargo/mutants.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

# The tests that prove each module: the packages whose tests run, and which tests.
# The SDK: its unit tests and the end-to-end tests of the client against the emulator and
# hostile servers (the property tests hold the client's limits equal to the emulator's).
api_packages=nateq-api,nateq-tests
api_tests=(--lib --test client --test hostile_responses --test throttle --test properties)
# The request path (the hooks): the SDK's unit tests, the client's end-to-end tests (ids,
# keys, deadlines, redirects, retries) and every hostile response.
request_packages=nateq-api,nateq-tests
request_tests=(--lib --test client --test hostile_responses)
# The pace (the throttle and its controller): the SDK's unit tests (the controller's, on
# explicit instants), the client's and the end-to-end tests against emulated rate limits.
pace_packages=nateq-api,nateq-tests
pace_tests=(--lib --test client --test throttle)
# The bulk run: the CLI's unit tests and the end-to-end tests that run `nateq contacts
# update-many` against the emulator (soak.rs, 45 s, is left out: bulk.rs and order.rs cover
# the same paths, faster).
bulk_packages=nateq-cli
bulk_tests=(--lib --test bulk --test order --test coalesce --test report_durability
  --test failed_out --test drift --test progress --test rails)
# The emulator: its own tests, the end-to-end tests of hostile requests, and the property
# tests that hold the client's and the emulator's limits equal.
emulator_packages=nateq-emulator,nateq-tests
emulator_tests=(--lib --test emulator --test emulator_hostile --test properties)

# A module: the group of its tests, then its files.
module() {
  case "$1" in
    retry) echo api nateq-api/src/retry.rs ;;
    decode) echo api nateq-api/src/decode.rs ;;
    update) echo api nateq-api/src/update.rs ;;
    # The pace: the lanes and the wait (throttle.rs) and the controller that reads the limit.
    throttle) echo pace nateq-api/src/throttle.rs nateq-api/src/throttle/control.rs ;;
    hooks) echo request nateq-api/src/hooks.rs ;;
    bulk-order) echo bulk nateq-cli/src/bulk/order.rs ;;
    bulk-report) echo bulk nateq-cli/src/bulk/report.rs ;;
    bulk-mod) echo bulk nateq-cli/src/bulk/mod.rs ;;
    auth) echo emulator nateq-emulator/src/auth.rs ;;
    # The store's logic: the update and isolation (store.rs), the contact's JSON with what was
    # written laid over the seed (patch.rs), and the bounded activity history (history.rs).
    store) echo emulator nateq-emulator/src/store.rs nateq-emulator/src/patch.rs nateq-emulator/src/history.rs ;;
    validate) echo emulator nateq-emulator/src/validate.rs ;;
    *) return 1 ;;
  esac
}

all=(retry decode update bulk-order bulk-report bulk-mod throttle hooks auth store validate)

if [ "${1:-}" = "--check" ]; then
  missing=0
  for name in "${all[@]}"; do
    read -r group files < <(module "$name")
    tests_var=${group}_tests[@]
    for f in $files; do
      [ -f "$f" ] || { echo "mutants.sh: module $name: no file $f" >&2; missing=1; }
    done
    set -- "${!tests_var}"
    while [ $# -gt 0 ]; do
      if [ "$1" = --test ]; then
        if ! compgen -G "*/tests/$2.rs" >/dev/null && ! compgen -G "*/tests/$2/main.rs" >/dev/null; then
          echo "mutants.sh: module $name: no test target $2" >&2
          missing=1
        fi
        shift
      fi
      shift
    done
  done
  [ "$missing" -eq 0 ] && echo "mutants.sh: ${#all[@]} modules, every file and test target found"
  exit "$missing"
fi

if ! git diff --quiet HEAD --; then
  echo "the checkout has uncommitted changes: commit or stash them first (mutants are made in place)" >&2
  exit 2
fi
command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants@27.1.0
[ $# -gt 0 ] || set -- "${all[@]}"
for name in "$@"; do
  if ! read -r group files < <(module "$name"); then
    echo "unknown module $name (one of: ${all[*]})" >&2
    exit 2
  fi
  packages_var=${group}_packages
  tests_var=${group}_tests[@]
  packages=${!packages_var}
  tests=("${!tests_var}")
  cargo_test=(cargo test --locked --profile mutants)
  for p in ${packages//,/ }; do cargo_test+=(-p "$p"); done
  cargo_test+=("${tests[@]}")
  file_args=()
  for f in $files; do file_args+=(--file "$f"); done
  shard_args=()
  [ -z "${MUTANTS_SHARD:-}" ] || shard_args=(--shard "$MUTANTS_SHARD" --sharding round-robin)
  [ -z "${MUTANTS_ITERATE:-}" ] || shard_args+=(--iterate)
  [ -z "${MUTANTS_FILTER:-}" ] || shard_args+=(--re "$MUTANTS_FILTER")

  echo "=== $name: $files  [$(date +%T)]"
  start=$SECONDS
  # The baseline: the same tests, unmutated. (cargo-mutants 27 runs its own baseline with the
  # mutated package's tests only, not those of --test-package: it is skipped below.) A mutant's
  # tests may take three times as long, and at least a minute, before they count as a timeout.
  "${cargo_test[@]}" --no-run 2>/dev/null
  tested=$SECONDS
  if ! "${cargo_test[@]}" >/dev/null 2>&1; then
    echo "$name: the unmutated tests fail: ${cargo_test[*]}" >&2
    exit 1
  fi
  timeout=$(((SECONDS - tested) * 3))
  [ "$timeout" -ge 60 ] || timeout=60
  echo "baseline: ${cargo_test[*]} in $((SECONDS - tested)) s; timeout $timeout s"

  mkdir -p "target/mutation/$name"
  status=0
  cargo mutants --in-place --no-shuffle --baseline skip --timeout "$timeout" --build-timeout 1200 \
    --output "target/mutation/$name" "${file_args[@]}" "${shard_args[@]}" \
    --test-package "$packages" -- "${tests[@]}" || status=$?
  if ! git diff --quiet HEAD --; then
    echo "$name: a mutated file was not put back: see git diff" >&2
    exit 1
  fi
  # cargo-mutants keeps the run before as mutants.out.old; only an iteration builds on it.
  [ -n "${MUTANTS_ITERATE:-}" ] || rm -rf "target/mutation/$name/mutants.out.old"
  # 2: some mutants were missed, 3: some timed out; both are results. Anything else stops.
  case "$status" in
    0 | 2 | 3) ;;
    *)
      echo "$name: cargo mutants failed (exit $status)" >&2
      exit "$status"
      ;;
  esac
  echo "=== $name: $(((SECONDS - start) / 60)) min"
done
