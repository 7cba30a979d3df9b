#!/usr/bin/env bash
# Gateway nodes on PostgreSQL behind nginx, against one node on SQLite and against PostgreSQL's own pgbench.
#
#   scripts/bench-nodes.sh [--postgres ADMIN_URL] [--numbers 10000] [--connections 32] [--duration 10] [--rounds 3]
#
# Builds selfcare in release. Starts, in one run and on one machine:
#   - one node on a SQLite database (the embedded default), behind nginx;
#   - two nodes on one PostgreSQL database, behind nginx twice: one balancer with one node, one with both;
# every database holding the demo data and NUMBERS subscribers (scripts/balancer.sh, deploy/nginx.conf).
# Then, ROUNDS times, each setup in turn, each for DURATION seconds with CONNECTIONS connections (wrk):
#   - GET /healthz through nginx                    (the baseline: nginx, routing and HTTP only)
#   - GET /sms/kannel?from=<random number>&text=CXYE  (a balance query: match, read, durable record)
# and pgbench's simple update (-N: three updates and an insert a transaction, the shape of a gateway's
# write) with as many connections, on a database of its own on the same server. Prints each run, then
# the medians of requests/s and p99 latency and the ratios. Without --postgres it starts a throwaway
# PostgreSQL 15 server (scripts/postgres-server.sh). Needs wrk, nginx, pgbench and psql.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

postgres= numbers=10000 connections=32 duration=10 rounds=3
while [ $# -gt 0 ]; do
    case "$1" in
        --postgres) postgres=$2; shift 2 ;;
        --numbers) numbers=$2; shift 2 ;;
        --connections) connections=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "bench-nodes: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
for tool in wrk pgbench psql; do
    command -v "$tool" >/dev/null || { echo "bench-nodes: $tool is missing (apt-get install wrk postgresql-15)" >&2; exit 1; }
done
# shellcheck source=scripts/wrk-lib.sh
. "$root/scripts/wrk-lib.sh"

echo "building selfcare (release)…" >&2
swift build -c release --product selfcare >&2
bin="$(swift build -c release --show-bin-path)/selfcare"

work=$(mktemp -d /tmp/selfcare-bench-nodes.XXXXXX)
pids=() balancers=() databases=() server_dir=
cleanup() {
    cd /  # the server's user cannot read the scratch folder
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    for dir in "${balancers[@]}"; do "$root/scripts/balancer.sh" stop "$dir" || true; done
    for db in "${databases[@]}"; do psql -X -q -d "$postgres" -c "DROP DATABASE IF EXISTS $db" 2>/dev/null || true; done
    [ -n "$server_dir" ] && "$root/scripts/postgres-server.sh" stop "$server_dir"
    rm -rf "$work"
}
trap cleanup EXIT
if [ -z "$postgres" ]; then
    server_dir=$("$root/scripts/postgres-server.sh" start)
    postgres=$(cat "$server_dir/url")
fi
cp -r grammars prompts "$work/"
cd "$work"
export SELFCARE_SMS_RATE_LIMIT=100000  # each number sends several messages a second here

{
    echo "msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password"
    for ((i = 0; i < numbers; i++)); do
        printf '187%08d,Bench %d,normal,postpaid,,P38,%d,%d,standard,zh,false,,false,\n' "$i" "$i" $((i * 7 % 100000)) $((i % 5000))
    done
} >bench-subscribers.csv
# fill DATABASE: the demo data and the bench subscribers.
fill() {
    SELFCARE_DATABASE=$1 "$bin" init --demo >/dev/null
    SELFCARE_DATABASE=$1 "$bin" import subscribers bench-subscribers.csv >&2
}
# node NAME DATABASE: starts a node (this shell's child); sets `address` to its host:port.
node() {
    SELFCARE_DATABASE=$2 "$bin" serve --port 0 2>"serve-$1.log" &
    pids+=($!)
    local port=
    for _ in $(seq 1 400); do
        port=$(grep -o 'serving on http://127.0.0.1:[0-9]*' "serve-$1.log" | grep -o '[0-9]*$' || true)
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { echo "bench-nodes: node $1 did not start:" >&2; cat "serve-$1.log" >&2; exit 1; }
    address="127.0.0.1:$port"
}

echo "creating the databases: demo data and $numbers subscribers each…" >&2
fill "$work/bench.sqlite"
suffix="$$_$RANDOM"
nodes_db="selfcare_bench_$suffix" pgbench_db="selfcare_pgbench_$suffix"
psql -X -q -d "$postgres" -c "CREATE DATABASE $nodes_db" -c "CREATE DATABASE $pgbench_db"
databases+=("$nodes_db" "$pgbench_db")
nodes_url="${postgres%/*}/$nodes_db"
fill "$nodes_url"
pgbench -q -i -s 10 "${postgres%/*}/$pgbench_db" >/dev/null 2>&1

node sqlite "$work/bench.sqlite"
sqlite_node=$address
node pg-a "$nodes_url"
pg_a=$address
node pg-b "$nodes_url"
pg_b=$address
declare -A base
# balancer SETUP NODE…: nginx in front of the nodes, its URL in base[SETUP].
balancer() {
    local setup=$1 dir
    shift
    dir=$("$root/scripts/balancer.sh" start "$@")
    balancers+=("$dir")
    base[$setup]=$(cat "$dir/url")
}
balancer sqlite1 "$sqlite_node"
balancer postgres1 "$pg_a"
balancer postgres2 "$pg_a" "$pg_b"
for setup in sqlite1 postgres1 postgres2; do
    sample=$(curl -s "${base[$setup]}/sms/kannel?from=18700000042&to=10010&text=CXYE")
    case "$sample" in *余额*) ;; *) echo "bench-nodes: $setup: the sample reply is not a balance: $sample" >&2; exit 1 ;; esac
done

cat >kannel.lua <<EOF
math.randomseed(os.time())
request = function()
    local n = string.format("187%08d", math.random(0, $numbers - 1))
    return wrk.format("GET", "/sms/kannel?from=" .. n .. "&to=10010&text=CXYE")
end
EOF

# pgbench -N with CONNECTIONS clients → "tps p99_ms"
pgbench_run() {
    rm -f pgbench_log.*
    local out
    out=$(pgbench -n -N -c "$connections" -j 2 -T "$duration" -l "${postgres%/*}/$pgbench_db" 2>&1)
    echo "$out" >"pgbench-$round.txt"
    local tps p99
    tps=$(echo "$out" | awk '/^tps = / { print $3; exit }')
    # The transaction logs: the third field is each transaction's latency in microseconds.
    p99=$(cat pgbench_log.* | awk '{ print $3 }' | sort -n | awk '{ a[NR] = $1 } END { printf "%.3f", a[int(NR * 0.99)] / 1000 }')
    printf '%-18s round %d: %10.0f tps      p99 %7.2f ms\n' pgbench "$round" "$tps" "$p99" >&2
    echo "pgbench $tps $p99 0"
}

results=()
for ((round = 1; round <= rounds; round++)); do
    for setup in sqlite1 postgres1 postgres2; do
        results+=("$(wrk_run "$setup-healthz" "${base[$setup]}/healthz")")
        results+=("$(wrk_run "$setup-kannel" -s kannel.lua "${base[$setup]}")")
    done
    results+=("$(pgbench_run)")
done

rps() { printf '%s\n' "${results[@]}" | awk -v n="$1" '$1 == n { print $2 }' | median; }
p99() { printf '%s\n' "${results[@]}" | awk -v n="$1" '$1 == n { print $3 }' | median; }
bad() { printf '%s\n' "${results[@]}" | awk -v n="$1" '$1 == n { s += $4 } END { print s + 0 }'; }
row() { printf '| %s | %.0f | %.2f ms | %.0f | %.2f ms | %.1f %% |\n' "$1" "$(rps "$2-healthz")" "$(p99 "$2-healthz")" \
    "$(rps "$2-kannel")" "$(p99 "$2-kannel")" "$(awk -v k="$(rps "$2-kannel")" -v h="$(rps "$2-healthz")" 'BEGIN { print 100 * k / h }')"; }
ratio() { awk -v a="$(rps "$1")" -v b="$(rps "$2")" 'BEGIN { printf "%.2f", a / b }'; }

cat <<EOF

Gateway nodes behind nginx, wrk -t1 -c$connections, ${duration}s a run, $rounds rounds, medians
($(nproc) cores shared by wrk, nginx, the nodes and PostgreSQL; $numbers subscribers; $(date -u +%Y-%m-%dT%H:%MZ))

| setup | /healthz req/s | p99 | /sms/kannel CXYE req/s | p99 | kannel / healthz |
|---|---|---|---|---|---|
$(row "1 node, SQLite" sqlite1)
$(row "1 node, PostgreSQL" postgres1)
$(row "2 nodes, PostgreSQL" postgres2)

pgbench -N (simple update), $connections connections, same server: $(printf '%.0f' "$(rps pgbench)") tps, p99 $(printf '%.2f' "$(p99 pgbench)") ms

1 PostgreSQL node / 1 SQLite node (kannel): $(ratio postgres1-kannel sqlite1-kannel)
2 PostgreSQL nodes / 1 PostgreSQL node (kannel): $(ratio postgres2-kannel postgres1-kannel)
1 PostgreSQL node (kannel) / pgbench tps: $(ratio postgres1-kannel pgbench)
non-2xx kannel answers: $(( $(bad sqlite1-kannel) + $(bad postgres1-kannel) + $(bad postgres2-kannel) ))
EOF
