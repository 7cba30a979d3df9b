#!/usr/bin/env bash
# Import throughput: `selfcare import subscribers` of N subscribers without clear passwords, against `sqlite3 .import`
# of the same file into an indexed table (the bare SQLite load), alternately ROUNDS times in one run.
#
#   scripts/bench-import.sh [--rows 1000000] [--rounds 3] [--binary PATH]
#
# Each round starts from a fresh demo database (`selfcare init --demo`) and a fresh baseline database. The baseline
# table has the subscribers file's columns and its primary key on msisdn, in WAL mode with synchronous=FULL like
# the gateway's. Prints each round, the medians in rows/s, the ratio, and the importer's peak resident memory.
# Needs python3, sqlite3 (Debian's package) and /usr/bin/time; BINARY defaults to .build/release/selfcare.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rows=1000000 rounds=3 bin=$root/.build/release/selfcare
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) rows=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --binary) bin=$2; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "bench-import: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ -x "$bin" ] || { echo "bench-import: no binary at $bin (swift build -c release first)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "bench-import: sqlite3 is needed (apt-get install sqlite3)" >&2; exit 1; }
work=$(mktemp -d /tmp/selfcare-bench-import.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$root/prompts" "$work/"
cd "$work"
export SELFCARE_NOW=2026-11-24T10:00:00+08:00

echo "writing $rows subscribers…" >&2
python3 - "$rows" <<'PY'
import random, sys
random.seed(1)
n = int(sys.argv[1])
with open("subscribers.csv", "w", encoding="utf-8") as f:
    f.write("msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,"
            "contract_end,blacklist,password\n")
    for i in range(n):
        f.write(f"139{i:08d},用户{i},normal,postpaid,,P38,{random.randint(0, 99999)},{random.randint(0, 9999)},"
                f"standard,zh-CN,false,,false,\n")
PY

seconds() { python3 -c "import sys; print(float(sys.argv[1]) - float(sys.argv[2]))" "$2" "$1"; }
base_rates=() gate_rates=() peak=0
for round in $(seq 1 "$rounds"); do
    rm -f base.sqlite*
    start=$(date +%s.%N)
    sqlite3 base.sqlite "PRAGMA journal_mode = WAL;" "PRAGMA synchronous = FULL;" \
        "CREATE TABLE subscribers (msisdn TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
            payment TEXT NOT NULL, prepaid_period TEXT, plan TEXT NOT NULL, balance_fen INTEGER NOT NULL,
            points INTEGER NOT NULL, tier TEXT NOT NULL, language TEXT NOT NULL, premium BOOLEAN NOT NULL,
            contract_end TEXT, blacklist BOOLEAN NOT NULL, password TEXT);" \
        ".import --csv --skip 1 subscribers.csv subscribers" >/dev/null
    base=$(seconds "$start" "$(date +%s.%N)")

    rm -f selfcare.sqlite* selfcare.pepper
    "$bin" init --demo >/dev/null
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o time.txt "$bin" import subscribers subscribers.csv >import.txt 2>import.err
    gate=$(seconds "$start" "$(date +%s.%N)")
    grep -q "applied $rows," import.txt || { echo "bench-import: the import did not apply every row:" >&2; cat import.txt import.err >&2; exit 1; }
    kib=$(tail -1 time.txt)
    [ "$kib" -gt "$peak" ] && peak=$kib
    base_rates+=("$(python3 -c "print(round($rows / $base))")")
    gate_rates+=("$(python3 -c "print(round($rows / $gate))")")
    printf 'round %d: sqlite3 .import %.2f s (%s rows/s); selfcare import %.2f s (%s rows/s)\n' \
        "$round" "$base" "${base_rates[-1]}" "$gate" "${gate_rates[-1]}" >&2
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
b=$(median "${base_rates[@]}") g=$(median "${gate_rates[@]}")
echo
echo "import of $rows subscribers without clear passwords, $rounds rounds, medians"
echo "| load | rows/s | seconds for $rows |"
echo "|---|---|---|"
echo "| sqlite3 .import into an indexed table (baseline) | $b | $(python3 -c "print(f'{$rows / $b:.1f}')") |"
echo "| selfcare import subscribers (checks, merge rules, one transaction, its record) | $g | $(python3 -c "print(f'{$rows / $g:.1f}')") |"
echo "selfcare / sqlite3 = $(python3 -c "print(f'{100 * $g / $b:.1f}')") %; importer peak resident memory $((peak / 1024)) MiB"
