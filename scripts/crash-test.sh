#!/usr/bin/env bash
# Crash safety: mixed load on every channel, SIGKILL at a random moment, restart, check.
#
#   scripts/crash-test.sh [--runs 20] [--workers 8] [--binary PATH]
#
# Creates a scratch database with the demo data and WORKERS subscribers (password 470159), then
# RUNS times: starts `selfcare serve`, runs scripts/crash_load.py (balance queries and loss
# report/cancel transactions over SMS with its Y confirmation, USSD and IVR JSON), kills the server
# with SIGKILL after a random 0.8–3.0 s, and checks, on the database as the crash left it:
#   - `selfcare records verify` passes;
#   - every transaction a client saw succeed has its ok record (same session, operation, subject);
#   - every subscriber's status agrees with its last ok loss record (no change without its record);
#   - every ok transaction record has exactly one service order, and every order such a record.
# The server delivers orders to a billing webhook and sends SMS notices (another phone's wrong passwords) to
# a fake Kannel sendsms while it is killed (scripts/crash_load.py billing). After the last run the orders and
# notices left are drained and checked: every order reached billing and was applied there once, and no
# notice reached Kannel twice.
# The next run starts the server on the same database, so recovery after SIGKILL is exercised too.
# BINARY defaults to .build/release/selfcare, else .build/debug/selfcare. Needs python3 and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

runs=20 workers=8 bin=
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --workers) workers=$2; shift 2 ;;
        --binary) bin=$2; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "crash-test: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [ -z "$bin" ]; then
    for candidate in .build/release/selfcare .build/debug/selfcare; do
        [ -x "$candidate" ] && { bin=$root/$candidate; break; }
    done
fi
[ -n "$bin" ] && [ -x "$bin" ] || { echo "crash-test: no selfcare binary; swift build first or pass --binary" >&2; exit 1; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"  # the runs happen in a scratch folder

work=$(mktemp -d /tmp/selfcare-crash.XXXXXX)
server=
billing=
cleanup() {
    [ -n "$server" ] && kill -KILL "$server" 2>/dev/null || true
    if [ -n "$billing" ]; then kill -KILL "$billing" 2>/dev/null; wait "$billing" 2>/dev/null || true; fi
    [ "${KEEP:-}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
cp -r grammars prompts "$work/"
cd "$work"
# A fixed clock: the outcome never depends on the day the test runs.
export SELFCARE_NOW=2026-11-24T10:00:00+08:00
export SELFCARE_PBKDF2_ITERATIONS=1000 SELFCARE_SMS_RATE_LIMIT=100000 SELFCARE_LOCKOUT_THRESHOLD=100
export SELFCARE_THIRD_PARTY_LIMIT=100
"$bin" init --demo >/dev/null
numbers=()
{
    echo "msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password"
    for ((i = 0; i < workers; i++)); do
        n=$(printf '1770000%04d' "$i")
        numbers+=("$n")
        echo "$n,Crash $i,normal,postpaid,,P38,10000,0,standard,en,false,,false,470159"
    done
} >crash-subscribers.csv
for ((i = 0; i < workers; i++)); do numbers[i]=$(printf '1770000%04d' "$i"); done
"$bin" import subscribers crash-subscribers.csv >/dev/null
: >successes.log
: >errors.log
mkdir billing
python3 "$root/scripts/crash_load.py" billing 0 billing &
billing=$!
for _ in $(seq 1 100); do [ -s billing/port ] && break; sleep 0.05; done
bport=$(cat billing/port)
webhook="http://127.0.0.1:$bport/orders"
sendsms="http://127.0.0.1:$bport/cgi-bin/sendsms?username=crash&password=crash"

failures=0
for ((run = 1; run <= runs; run++)); do
    "$bin" serve --port 0 --webhook "$webhook" --delivery-interval 1 --sendsms "$sendsms" --quiet-hours none \
        2>"serve-$run.log" &
    server=$!
    port=
    for _ in $(seq 1 400); do
        port=$(grep -o 'serving on http://127.0.0.1:[0-9]*' "serve-$run.log" | grep -o '[0-9]*$' || true)
        [ -n "$port" ] && break
        kill -0 "$server" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$port" ]; then
        echo "run $run: the server did not start after the previous crash:" >&2
        cat "serve-$run.log" >&2
        exit 1
    fi
    before=$(wc -l <successes.log)
    python3 "$root/scripts/crash_load.py" load "http://127.0.0.1:$port" successes.log "$workers" 30 errors.log &
    load=$!
    delay=$(awk -v seed="$RANDOM" 'BEGIN { srand(seed); printf "%.2f", 0.8 + rand() * 2.2 }')
    sleep "$delay"
    # The kill must land in the middle of the load, not after a load that gave up early.
    kill -0 "$load" 2>/dev/null || { echo "run $run: the load stopped before the kill" >&2; failures=$((failures + 1)); }
    kill -KILL "$server"
    wait "$server" 2>/dev/null || true
    server=
    wait "$load" || true
    after=$(wc -l <successes.log)
    if [ "$after" -le "$before" ]; then
        echo "run $run: no transaction succeeded before the kill (is the server answering?)" >&2
        failures=$((failures + 1))
    fi
    if [ -s errors.log ]; then
        echo "run $run: the server answered with errors:" >&2
        head -5 errors.log >&2
        : >errors.log
        failures=$((failures + 1))
    fi
    verify=$("$bin" records verify 2>&1) || { echo "run $run: records verify failed: $verify" >&2; failures=$((failures + 1)); }
    if summary=$(python3 "$root/scripts/crash_load.py" check selfcare.sqlite successes.log "${numbers[@]}"); then
        echo "run $run: killed after ${delay}s; $(echo "$summary" | head -1); $(echo "$verify" | head -1)"
    else
        echo "run $run: killed after ${delay}s; $summary" >&2
        failures=$((failures + 1))
    fi
done
# Drain what the kills left, an hour later by the clock (a notice left `sending` by a kill is then settled as
# unknown), and check every order reached billing once and no notice reached Kannel twice.
for _ in $(seq 1 50); do
    SELFCARE_NOW=2026-11-24T11:00:00+08:00 "$bin" orders deliver --webhook "$webhook" >/dev/null || true
    SELFCARE_NOW=2026-11-24T11:00:00+08:00 "$bin" notices send --sendsms "$sendsms" --quiet-hours none >/dev/null || true
    [ -z "$("$bin" orders list --state pending)" ] && [ -z "$("$bin" notices list --state pending)" ] && break
done
if summary=$(python3 "$root/scripts/crash_load.py" delivered selfcare.sqlite billing); then
    echo "delivery: $summary"
else
    echo "delivery: $summary" >&2
    failures=$((failures + 1))
fi
echo "crash-test: $runs runs, $failures failed"
[ "$failures" -eq 0 ]
