#!/usr/bin/env bash
# The new-field drill: proves that a new optional property in openapi.yaml needs only
# `cargo xtask codegen`. On a copy of the workspace (without target/ and .git) it adds three
# properties to the spec by editing its YAML structure:
#   drillNote      optional, maxLength 40, in UpdateContactRequest and in Contact (echoed);
#   drillTicketId  optional, maxLength 12, in UpdateContactRequest only (request-only);
# runs `cargo xtask codegen` (which must report exactly those additions, none breaking),
# builds `nateq` and `nateq-emulator`, and checks, through the CLI and the emulator, that the
# new flags set the fields, the contact echoes drillNote and not drillTicketId, each logs an
# activity, and both limits are enforced (by the CLI, exit 3 naming the field, and by the
# emulator, a 400 naming it). Nothing in the real workspace changes.
#
# Usage: .ci/drill-new-field.sh
#   The copy builds in the workspace's own target directory (CARGO_TARGET_DIR is honoured), so
#   it compiles only the workspace's crates and reuses every dependency. Its crates get another
#   version (the workspace's, plus "+drill"), so their artifacts sit beside the workspace's
#   without replacing them; the binaries cargo copies to target/debug (nateq, nateq-emulator,
#   xtask) are put back at the end.
# Needs python3 with PyYAML (the schemathesis venv of .ci/schemathesis.sh has it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
START=$SECONDS
say() { printf 'drill: %s  [%ss]\n' "$*" "$((SECONDS - START))" >&2; }
fail() { printf 'drill: FAILED: %s\n' "$*" >&2; exit 1; }

PYTHON=""
for candidate in python3 "$ROOT/target/schemathesis-venv/bin/python3"; do
    if "$candidate" -c 'import yaml' 2>/dev/null; then
        PYTHON="$candidate"
        break
    fi
done
[[ -n "$PYTHON" ]] || fail "needs python3 with PyYAML (pip install pyyaml, or run .ci/schemathesis.sh first)"

TARGET="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps --locked |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
BINARIES=(nateq nateq-emulator xtask)
HAD=()
for bin in "${BINARIES[@]}"; do
    [[ -e "$TARGET/debug/$bin" ]] && HAD+=("$bin")
done

WORK="$(mktemp -d)"
EMULATOR_PID=""
cleanup() {
    status=$?
    if [[ -n "$EMULATOR_PID" ]]; then
        kill "$EMULATOR_PID" 2>/dev/null || true
        wait "$EMULATOR_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
    # Put back the workspace's binaries in target/debug (a fresh build only links them).
    for bin in "${BINARIES[@]}"; do rm -f "$TARGET/debug/$bin"; done
    if [[ ${#HAD[@]} -gt 0 ]]; then
        packages=()
        for bin in "${HAD[@]}"; do
            case "$bin" in
                nateq) packages+=(-p nateq-cli) ;;
                *) packages+=(-p "$bin") ;;
            esac
        done
        (cd "$ROOT" && cargo build --quiet --locked --bins "${packages[@]}") ||
            echo "drill: could not restore ${HAD[*]} in $TARGET/debug" >&2
    fi
    exit "$status"
}
trap cleanup EXIT

say "copying the workspace to $WORK/ws"
mkdir "$WORK/ws"
(cd "$ROOT" && tar -c --exclude=./target --exclude=./.git --exclude=./.venv \
    --exclude="./${TARGET#"$ROOT"/}" .) | tar -x -m -C "$WORK/ws"
cd "$WORK/ws"

say "adding drillNote (request and contact) and drillTicketId (request only) to openapi.yaml"
"$PYTHON" - openapi.yaml Cargo.toml <<'PY'
import re
import sys

import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python before 3.11: the build below reads the manifest anyway
    tomllib = None

spec_path, manifest_path = sys.argv[1], sys.argv[2]
with open(spec_path, encoding="utf-8") as f:
    spec = yaml.safe_load(f)
schemas = spec["components"]["schemas"]
request = schemas["UpdateContactRequest"]["properties"]
contact = schemas["Contact"]["properties"]
for name in ("drillNote", "drillTicketId"):
    assert name not in request and name not in contact, f"the spec already has {name}"
request["drillNote"] = {
    "type": "string",
    "maxLength": 40,
    "description": "A note on the contact (at most 40 characters).",
}
request["drillTicketId"] = {
    "type": "string",
    "maxLength": 12,
    "description": "The ticket behind the change (at most 12 characters); not kept on the contact.",
}
contact["drillNote"] = {
    "type": "string",
    "nullable": True,
    "description": "A note on the contact.",
}
with open(spec_path, "w", encoding="utf-8") as f:
    yaml.safe_dump(spec, f, sort_keys=False, allow_unicode=True, width=100)

# Another version for the copy's crates, so that their artifacts in the shared target
# directory do not replace the workspace's (dependencies keep theirs, and are reused).
with open(manifest_path, encoding="utf-8") as f:
    manifest = f.read()
section = re.search(r"(?ms)^\[workspace\.package\]\n(.*?)(?=^\[)", manifest)
assert section, "no [workspace.package] in Cargo.toml"
body = re.sub(r'(?m)^version = "([^"+]+)"$', r'version = "\1+drill"', section.group(1), count=1)
assert body != section.group(1), "no version in [workspace.package]"
manifest = manifest[: section.start(1)] + body + manifest[section.end(1) :]
if tomllib:
    assert tomllib.loads(manifest)["workspace"]["package"]["version"].endswith("+drill")
with open(manifest_path, "w", encoding="utf-8") as f:
    f.write(manifest)
PY

export CARGO_TARGET_DIR="$TARGET"
say "cargo xtask codegen"
cargo xtask codegen --format json >"$WORK/changes.json" 2>"$WORK/codegen.log" ||
    { cat "$WORK/codegen.log" >&2; fail "cargo xtask codegen"; }
"$PYTHON" - "$WORK/changes.json" <<'PY' || fail "the spec changes are not the three additions"
import json
import sys

report = json.load(open(sys.argv[1], encoding="utf-8"))
paths = sorted(c["path"] for c in report["changes"])
expected = sorted(
    [
        "/components/schemas/UpdateContactRequest/properties/drillNote",
        "/components/schemas/UpdateContactRequest/properties/drillTicketId",
        "/components/schemas/Contact/properties/drillNote",
    ]
)
verdicts = {c["path"]: c["verdict"] for c in report["changes"]}
print(f"drill: spec changes: {json.dumps(verdicts)}", file=sys.stderr)
assert paths == expected, paths
assert all(v != "breaking" for v in verdicts.values()), verdicts
PY

say "building nateq and nateq-emulator"
cargo build --quiet --bins -p nateq-cli -p nateq-emulator
NATEQ="$TARGET/debug/nateq"
EMULATOR="$TARGET/debug/nateq-emulator"

NOTE="Drill note $RANDOM"
LONG_NOTE="$(printf 'n%.0s' $(seq 41))"
LONG_TICKET="$(printf 't%.0s' $(seq 13))"

say "the CLI: --help lists the new flags"
"$NATEQ" contacts update --help >"$WORK/help.txt"
grep -q -- '--drill-note <TEXT>' "$WORK/help.txt" || fail "no --drill-note in --help"
grep -q -- '--drill-ticket-id <TEXT>' "$WORK/help.txt" || fail "no --drill-ticket-id in --help"

say "the CLI on its embedded emulator: the flags set the fields, each logs an activity"
"$NATEQ" --emulator --output json contacts update ct_demo_1 \
    --drill-note "$NOTE" --drill-ticket-id TCK-1 >"$WORK/updated.json"
NOTE="$NOTE" "$PYTHON" - "$WORK/updated.json" <<'PY' || fail "the updated contact"
import json
import os
import sys

contact = json.load(open(sys.argv[1], encoding="utf-8"))
assert contact.get("drillNote") == os.environ["NOTE"], f"drillNote: {contact.get('drillNote')!r}"
assert "drillTicketId" not in contact, "the request-only property came back"
changed = {a["description"]: a["newValue"] for a in contact["activities"]}
assert changed.get("drillNote changed") == os.environ["NOTE"], changed
assert changed.get("drillTicketId changed") == "TCK-1", changed
PY

say "the CLI refuses values over the new limits before sending (exit 3, naming the field)"
for case in "drill-note $LONG_NOTE drillNote 40" "drill-ticket-id $LONG_TICKET drillTicketId 12"; do
    read -r flag value field limit <<<"$case"
    set +e
    "$NATEQ" --emulator contacts update ct_demo_1 "--$flag" "$value" >/dev/null 2>"$WORK/refused.txt"
    code=$?
    set -e
    [[ $code -eq 3 ]] || fail "--$flag over its limit exited $code, not 3: $(cat "$WORK/refused.txt")"
    grep -q "$field" "$WORK/refused.txt" || fail "the error does not name $field: $(cat "$WORK/refused.txt")"
    grep -q "limit of $limit" "$WORK/refused.txt" || fail "the error does not give $limit: $(cat "$WORK/refused.txt")"
done

say "the emulator: its validation, update and activities follow the spec"
"$EMULATOR" --port 0 --demo-contacts 3 >"$WORK/emulator.out" 2>"$WORK/emulator.err" &
EMULATOR_PID=$!
for _ in $(seq 100); do
    [[ -s "$WORK/emulator.out" ]] && break
    kill -0 "$EMULATOR_PID" 2>/dev/null || fail "the emulator exited: $(cat "$WORK/emulator.err")"
    sleep 0.1
done
read -r BASE_URL API_KEY <"$WORK/emulator.out" || true
[[ -n "${API_KEY:-}" ]] || fail "the emulator printed no base URL and key"
printf '%s\n' "{\"id\":\"ct_demo_2\",\"drillNote\":\"$NOTE\",\"drillTicketId\":\"TCK-2\"}" >"$WORK/rows.jsonl"
NATEQ_BASE_URL="$BASE_URL" NATEQ_API_KEY="$API_KEY" \
    "$NATEQ" contacts update-many --input "$WORK/rows.jsonl" 2>"$WORK/bulk.txt" ||
    fail "update-many: $(cat "$WORK/bulk.txt")"
BASE_URL="$BASE_URL" API_KEY="$API_KEY" NOTE="$NOTE" "$PYTHON" - <<'PY' || fail "the emulator"
import json
import os
import urllib.error
import urllib.request


def put(contact_id, body):
    request = urllib.request.Request(
        f"{os.environ['BASE_URL']}/contacts/{contact_id}",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={
            "Authorization": "Bearer " + os.environ["API_KEY"],
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


# The bulk row set both fields: an empty update reads the contact back.
status, envelope = put("ct_demo_2", {})
assert status == 200, (status, envelope)
contact = envelope["data"]
assert contact.get("drillNote") == os.environ["NOTE"], f"drillNote: {contact.get('drillNote')!r}"
assert "drillTicketId" not in contact, contact
fields = [json.loads(a["metadata"])["field"] for a in contact["activities"]]
assert fields.count("drillNote") == 1 and fields.count("drillTicketId") == 1, fields

# Over either limit: a 400 naming the field and its limit, and nothing applied.
for field, limit in (("drillNote", 40), ("drillTicketId", 12)):
    status, envelope = put("ct_demo_3", {field: "x" * (limit + 1), "name": "Not applied"})
    assert status == 400, (status, envelope)
    problems = {p["field"]: p for p in envelope["error"]["details"]["fields"]}
    assert problems[field]["limit"] == limit, problems
    assert problems[field]["length"] == limit + 1, problems
status, envelope = put("ct_demo_3", {})
assert envelope["data"]["name"] != "Not applied", envelope["data"]["name"]
PY

say "passed"
