#!/usr/bin/env bash
# Loads the HTTP gateway with wrk and compares it with a bare endpoint of the same server.
#
#   scripts/bench-http.sh [--numbers 10000] [--connections 32] [--duration 10] [--rounds 3] [--threads 1]
#
# Builds selfcare in release, creates a scratch database with the demo data plus NUMBERS
# subscribers, starts `selfcare serve` on a free port and runs, alternately ROUNDS times:
#   - GET /healthz                                   (the bare baseline: routing and HTTP only)
#   - GET /sms/kannel?from=<random number>&text=CXYE (a balance query: match, read, durable record)
# each for DURATION seconds with CONNECTIONS connections (wrk -t THREADS; the load generator shares
# the machine's cores). Then password-checked CXZD from 200 subscribers at the default cost, alone and
# beside a paced balance-query load, against the raw KDF rate on every core (`selfcare bench --kdf`).
# Prints each run, the medians of requests/s and p99 latency, the ratio kannel/healthz, the password
# ratios, and the server's resident memory. Needs wrk (Debian's package `wrk`).
set -euo pipefail
cd "$(dirname "$0")/.."

numbers=10000 connections=32 duration=10 rounds=3 threads=1
while [ $# -gt 0 ]; do
    case "$1" in
        --numbers) numbers=$2; shift 2 ;;
        --connections) connections=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "bench-http: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
command -v wrk >/dev/null || { echo "bench-http: wrk is missing (apt-get install wrk)" >&2; exit 1; }
# shellcheck source=scripts/wrk-lib.sh
. "$(pwd)/scripts/wrk-lib.sh"

echo "building selfcare (release)…" >&2
swift build -c release --product selfcare >&2
bin="$(swift build -c release --show-bin-path)/selfcare"

work=$(mktemp -d /tmp/selfcare-bench-http.XXXXXX)
server= side=
cleanup() {
    [ -n "$side" ] && kill "$side" 2>/dev/null || true
    [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cp -r grammars prompts "$work/"
cd "$work"

echo "creating the database: demo data and $numbers subscribers…" >&2
"$bin" init --demo >/dev/null
{
    echo "msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password"
    for ((i = 0; i < numbers; i++)); do
        printf '187%08d,Bench %d,normal,postpaid,,P38,%d,%d,standard,zh,false,,false,\n' "$i" "$i" $((i * 7 % 100000)) $((i % 5000))
    done
} >bench-subscribers.csv
"$bin" import subscribers bench-subscribers.csv >&2
# Subscribers with a password at the default cost, for the password-checked transactions.
{
    echo "msisdn,name,status,payment,prepaid_period,plan,balance_fen,points,tier,language,premium,contract_end,blacklist,password"
    for ((i = 0; i < 200; i++)); do
        printf '188%08d,Secure %d,normal,postpaid,,P38,1000,0,standard,zh,false,,false,470159\n' "$i" "$i"
    done
} >bench-passwords.csv
echo "hashing 200 passwords at the default cost…" >&2
"$bin" import subscribers bench-passwords.csv >&2

# No rate limit in the way: each number sends several messages a second here.
export SELFCARE_SMS_RATE_LIMIT=100000
"$bin" serve --port 0 2>serve.log &
server=$!
for _ in $(seq 1 200); do
    port=$(grep -o 'serving on http://127.0.0.1:[0-9]*' serve.log | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "${port:-}" ] || { echo "bench-http: the server did not start:" >&2; cat serve.log >&2; exit 1; }
base="http://127.0.0.1:$port"
# Resident memory in KiB: "total anonymous file" (file: pages of the database mapped for reading, the
# kernel's page cache rather than the server's own memory).
rss() { awk '/VmRSS/ { t = $2 } /RssAnon/ { a = $2 } /RssFile/ { f = $2 } END { print t, a, f }' "/proc/$server/status"; }
idle_rss=$(rss)
sample=$(curl -s "$base/sms/kannel?from=18700000042&to=10010&text=CXYE")
echo "server $base; sample reply: $sample" >&2
case "$sample" in *余额*) ;; *) echo "bench-http: the sample reply is not a balance" >&2; exit 1 ;; esac

cat >kannel.lua <<EOF
math.randomseed(os.time())
request = function()
    local n = string.format("187%08d", math.random(0, $numbers - 1))
    return wrk.format("GET", "/sms/kannel?from=" .. n .. "&to=10010&text=CXYE")
end
EOF

cat >password.lua <<EOF
math.randomseed(os.time() + 1)
request = function()
    local n = string.format("188%08d", math.random(0, 199))
    return wrk.format("GET", "/sms/kannel?from=" .. n .. "&to=10010&text=CXZD%20470159")
end
EOF

results=()
for ((round = 1; round <= rounds; round++)); do
    results+=("$(wrk_run healthz "$base/healthz")")
    results+=("$(wrk_run kannel -s kannel.lua "$base")")
done

# Password-checked transactions (a bill query with the password) from CONNECTIONS connections: first alone,
# then beside a query load of 4 connections each pausing 10 ms between requests (a steady few hundred
# balance queries a second; a load as fast as it can go would take the cores the ceiling is measured
# on). The ceiling is the raw KDF on every core, measured alone.
cat >paced.lua <<EOF
math.randomseed(os.time() + 2)
request = function()
    local n = string.format("187%08d", math.random(0, $numbers - 1))
    return wrk.format("GET", "/sms/kannel?from=" .. n .. "&to=10010&text=CXYE")
end
delay = function() return 10 end
EOF
round=0
pw_alone=$(wrk_run password -s password.lua "$base" | awk '{ print $2 }')
round=1
wrk -t1 -c4 -d"${duration}s" --latency -s paced.lua "$base" >wrk-queries-beside-passwords.txt &
side=$!
pw=$(wrk_run password -s password.lua "$base")
wait "$side"
side=
side_p99=$(parse <wrk-queries-beside-passwords.txt | awk '{ print $2 }')
side_rps=$(parse <wrk-queries-beside-passwords.txt | awk '{ print $1 }')
pw_rps=$(echo "$pw" | awk '{ print $2 }')
kdf=$("$bin" bench --kdf --seconds 5 --rounds 1 2>/dev/null | grep -o '^kdf: [0-9.]*' | grep -o '[0-9.]*$')
loaded_rss=$(rss)
records=$("$bin" records list 2>/dev/null | wc -l)
h_rps=$(printf '%s\n' "${results[@]}" | awk '$1 == "healthz" { print $2 }' | median)
h_p99=$(printf '%s\n' "${results[@]}" | awk '$1 == "healthz" { print $3 }' | median)
k_rps=$(printf '%s\n' "${results[@]}" | awk '$1 == "kannel" { print $2 }' | median)
k_p99=$(printf '%s\n' "${results[@]}" | awk '$1 == "kannel" { print $3 }' | median)
k_bad=$(printf '%s\n' "${results[@]}" | awk '$1 == "kannel" { s += $4 } END { print s + 0 }')
ratio=$(awk -v k="$k_rps" -v h="$h_rps" 'BEGIN { printf "%.1f", 100 * k / h }')

cat <<EOF

HTTP gateway under wrk -t$threads -c$connections, ${duration}s a run, $rounds rounds, medians
($(nproc) cores shared with wrk; $numbers subscribers; $(date -u +%Y-%m-%dT%H:%MZ))

| endpoint | requests/s | p99 |
|---|---|---|
| GET /healthz (baseline) | $(printf '%.0f' "$h_rps") | $(printf '%.2f' "$h_p99") ms |
| GET /sms/kannel CXYE, random numbers | $(printf '%.0f' "$k_rps") | $(printf '%.2f' "$k_p99") ms |

kannel / healthz = $ratio %; non-2xx kannel responses: $k_bad; service records written: $records

password-checked CXZD ($connections connections), against the raw KDF on $(nproc) cores $(printf '%.1f' "$kdf")/s:
  alone: $(printf '%.1f' "$pw_alone") req/s = $(awk -v a="$pw_alone" -v b="$kdf" 'BEGIN { printf "%.0f", 100 * a / b }') %
  beside $(printf '%.0f' "$side_rps") balance queries/s: $(printf '%.1f' "$pw_rps") req/s = $(awk -v a="$pw_rps" -v b="$kdf" 'BEGIN { printf "%.0f", 100 * a / b }') %; the queries' p99 $(printf '%.2f' "$side_p99") ms
server resident memory (total / anonymous / mapped database and libraries): $(echo "$idle_rss" | awk '{ printf "%d / %d / %d MiB", $1 / 1024, $2 / 1024, $3 / 1024 }') idle after start, $(echo "$loaded_rss" | awk '{ printf "%d / %d / %d MiB", $1 / 1024, $2 / 1024, $3 / 1024 }') after the load
EOF
