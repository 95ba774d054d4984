#!/usr/bin/env python3
"""The results table of TESTING.md, from what `.ci/mutants.sh` leaves in target/mutation/:
caught / missed / timeout / unviable per file, and every mutant still missed or timed out.

A module run again with MUTANTS_ITERATE=1 (only the mutants its last run did not catch, or some
of them with MUTANTS_FILTER) keeps that last run as mutants.out.old. Every mutants.out* of a
module is read, oldest run first, so a mutant's newest outcome wins (keep an earlier run by
renaming it, say to mutants.out.1, before iterating again). After a change to the module's
code, run it in full.

A missed mutant listed in .ci/mutants-equivalent.txt (`<mutant name> | <why no caller can tell>`)
counts as equivalent, not missed; the script says which listed ones no run produced any more.

    python3 .ci/mutants_table.py [target/mutation]
"""
import json
import sys
from collections import defaultdict
from pathlib import Path

KINDS = {
    "CaughtMutant": "caught",
    "MissedMutant": "missed",
    "Timeout": "timeout",
    "Unviable": "unviable",
}


def outcomes(path):
    """The outcome of each mutant in one outcomes.json, by name: (file, kind, seconds)."""
    found = {}
    for outcome in json.loads(path.read_text())["outcomes"]:
        scenario = outcome["scenario"]
        if not isinstance(scenario, dict) or "Mutant" not in scenario:
            continue  # the baseline
        mutant = scenario["Mutant"]
        seconds = sum(p["duration"] for p in outcome["phase_results"])
        kind = KINDS.get(outcome["summary"], outcome["summary"])
        found[mutant["name"]] = (mutant["file"], kind, seconds)
    return found


def equivalents():
    """The mutants listed as equivalent, by name, with the reason."""
    listed = {}
    path = Path(__file__).with_name("mutants-equivalent.txt")
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, why = line.rpartition(" | ")
            listed[name.strip()] = why.strip()
    return listed


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "target/mutation")
    listed = equivalents()
    used = set()
    equivalent = []
    rows = defaultdict(lambda: defaultdict(int))
    minutes = defaultdict(float)
    left = []
    for module_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        merged = {}
        runs = sorted(
            module_dir.glob("mutants.out*/outcomes.json"),
            key=lambda p: json.loads(p.read_text()).get("start_time", ""),
        )
        for path in runs:
            for name, (file, kind, seconds) in outcomes(path).items():
                spent = merged.get(name, (None, None, 0.0))[2]
                merged[name] = (file, kind, spent + seconds)
        for name, (file, kind, seconds) in sorted(merged.items()):
            if kind == "missed" and name in listed:
                kind = "equivalent"
                used.add(name)
                equivalent.append(f"`{name}`: {listed[name]}")
            key = (module_dir.name, file)
            rows[key][kind] += 1
            minutes[key] += seconds / 60
            if kind in ("missed", "timeout"):
                left.append(f"{kind}: {name}")

    print(
        "| module | file | mutants | caught | timeout | missed | equivalent | unviable "
        "| seen / viable | seen / (viable - equivalent) | minutes |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (module, file), n in sorted(rows.items()):
        total = sum(n.values())
        viable = total - n["unviable"]
        seen = n["caught"] + n["timeout"]
        share = f"{100 * seen / viable:.0f}%" if viable else "-"
        real = viable - n["equivalent"]
        real_share = f"{100 * seen / real:.0f}%" if real else "-"
        print(
            f"| {module} | `{file}` | {total} | {n['caught']} | {n['timeout']} | {n['missed']} "
            f"| {n['equivalent']} | {n['unviable']} | {share} | {real_share} "
            f"| {minutes[(module, file)]:.0f} |"
        )
    print("\nStill missed or timed out:\n")
    for line in left or ["none"]:
        print(f"- {line}")
    print("\nEquivalent:\n")
    for line in equivalent or ["none"]:
        print(f"- {line}")
    for name in sorted(set(listed) - used):
        print(f"listed as equivalent, but no run left it missed: {name}", file=sys.stderr)


if __name__ == "__main__":
    main()
