#!/usr/bin/env bash
# Crash safety: mixed load on every channel, SIGKILL at a random moment, restart, check.
#
#   scripts/crash-test.sh [--runs 20] [--workers 8] [--binary PATH] [--postgres ADMIN_URL [--nodes 3]]
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
#
# With --postgres (a server's administrator URL, such as SELFCARE_TEST_POSTGRES), the database is a new
# PostgreSQL database on that server (dropped at the end), and each run starts NODES nodes on it behind
# nginx (scripts/balancer.sh); the load goes through nginx, one node chosen at random is killed, the load
# goes on through the others for 2 s more (it must still succeed there), the others are stopped with
# SIGTERM, and the same checks run. Needs psql and nginx too.
# BINARY defaults to .build/release/selfcare, else .build/debug/selfcare. Needs python3 and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

runs=20 workers=8 bin= postgres= nodes=3
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --postgres) postgres=$2; shift 2 ;;
        --nodes) nodes=$2; shift 2 ;;
        --workers) workers=$2; shift 2 ;;
        --binary) bin=$2; shift 2 ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
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
servers=()
balancer=
billing=
database=selfcare.sqlite
cleanup() {
    [ -n "$server" ] && kill -KILL "$server" 2>/dev/null || true
    for pid in "${servers[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    [ -n "$balancer" ] && "$root/scripts/balancer.sh" stop "$balancer" || true
    if [ -n "$billing" ]; then kill -KILL "$billing" 2>/dev/null; wait "$billing" 2>/dev/null || true; fi
    if [ -n "$postgres" ] && [ "${KEEP:-}" != 1 ]; then
        psql -X -q -d "$postgres" -c "DROP DATABASE IF EXISTS $name" 2>/dev/null || true
    fi
    [ "${KEEP:-}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
if [ -n "$postgres" ]; then
    # A database of its own on the server: postgres://USER@HOST:PORT/selfcare_crash_…
    name="selfcare_crash_$$_$RANDOM"
    psql -X -q -d "$postgres" -c "CREATE DATABASE $name" >/dev/null
    database="${postgres%/*}/$name"
    export SELFCARE_DATABASE="$database"
fi
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

# Starts a node writing to LOG; sets node_pid, and node_port (empty when it did not start). Not in a subshell:
# the node must be this shell's child, for `wait`.
start_node() {
    "$bin" serve --port 0 --webhook "$webhook" --delivery-interval 1 --sendsms "$sendsms" --quiet-hours none \
        2>"$1" &
    node_pid=$!
    node_port=
    for _ in $(seq 1 400); do
        node_port=$(grep -o 'serving on http://127.0.0.1:[0-9]*' "$1" | grep -o '[0-9]*$' || true)
        [ -n "$node_port" ] && break
        kill -0 "$node_pid" 2>/dev/null || break
        sleep 0.05
    done
}

# One node: the load until the server goes away, SIGKILL after a random 0.8–3.0 s. Sets `killed`.
single_run() {
    local run=$1 before after delay load
    start_node "serve-$run.log"
    server=$node_pid
    if [ -z "$node_port" ]; then
        echo "run $run: the server did not start after the previous crash:" >&2
        cat "serve-$run.log" >&2
        exit 1
    fi
    before=$(wc -l <successes.log)
    python3 "$root/scripts/crash_load.py" load "http://127.0.0.1:$node_port" successes.log "$workers" 30 errors.log &
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
    killed="killed after ${delay}s"
}

# NODES nodes behind nginx: one, chosen at random, killed under load after a random 0.8–3.0 s; the load goes on
# through the others for 2 s, which must still succeed; then the others stop with SIGTERM. Sets `killed`.
balanced_run() {
    local run=$1 n pid ports=() before after atkill delay load victim
    servers=()
    for ((n = 1; n <= nodes; n++)); do
        start_node "serve-$run-$n.log"
        servers+=("$node_pid")
        if [ -z "$node_port" ]; then
            echo "run $run: node $n did not start:" >&2
            cat "serve-$run-$n.log" >&2
            exit 1
        fi
        ports+=("127.0.0.1:$node_port")
    done
    balancer=$("$root/scripts/balancer.sh" start "${ports[@]}")
    before=$(wc -l <successes.log)
    delay=$(awk -v seed="$RANDOM" 'BEGIN { srand(seed); printf "%.2f", 0.8 + rand() * 2.2 }')
    python3 "$root/scripts/crash_load.py" load "$(cat "$balancer/url")" successes.log "$workers" \
        "$(awk -v d="$delay" 'BEGIN { print d + 2 }')" errors.log --balanced &
    load=$!
    sleep "$delay"
    kill -0 "$load" 2>/dev/null || { echo "run $run: the load stopped before the kill" >&2; failures=$((failures + 1)); }
    victim=$((RANDOM % nodes))
    kill -KILL "${servers[victim]}"
    wait "${servers[victim]}" 2>/dev/null || true
    atkill=$(wc -l <successes.log)
    wait "$load" || true
    after=$(wc -l <successes.log)
    for ((n = 0; n < nodes; n++)); do
        [ "$n" = "$victim" ] || kill -TERM "${servers[n]}" 2>/dev/null || true
    done
    for pid in "${servers[@]}"; do wait "$pid" 2>/dev/null || true; done
    servers=()
    "$root/scripts/balancer.sh" stop "$balancer"
    balancer=
    if [ "$atkill" -le "$before" ]; then
        echo "run $run: no transaction succeeded before the kill (are the nodes answering?)" >&2
        failures=$((failures + 1))
    fi
    if [ "$after" -le "$atkill" ]; then
        echo "run $run: no transaction succeeded on the other nodes after node $((victim + 1)) was killed" >&2
        failures=$((failures + 1))
    fi
    killed="node $((victim + 1)) of $nodes killed after ${delay}s, $((after - atkill)) transactions after on the others"
}

failures=0
for ((run = 1; run <= runs; run++)); do
    killed=
    if [ -n "$postgres" ]; then balanced_run "$run"; else single_run "$run"; fi
    if [ -s errors.log ]; then
        echo "run $run: the server answered with errors:" >&2
        head -5 errors.log >&2
        : >errors.log
        failures=$((failures + 1))
    fi
    verify=$("$bin" records verify 2>&1) || { echo "run $run: records verify failed: $verify" >&2; failures=$((failures + 1)); }
    if summary=$(python3 "$root/scripts/crash_load.py" check "$database" successes.log "${numbers[@]}"); then
        echo "run $run: $killed; $(echo "$summary" | head -1); $(echo "$verify" | head -1)"
    else
        echo "run $run: $killed; $summary" >&2
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
if summary=$(python3 "$root/scripts/crash_load.py" delivered "$database" billing); then
    echo "delivery: $summary"
else
    echo "delivery: $summary" >&2
    failures=$((failures + 1))
fi
echo "crash-test: $runs runs, $failures failed"
[ "$failures" -eq 0 ]
