# shellcheck shell=bash
# What the HTTP benchmarks share (sourced by scripts/bench-http.sh and scripts/bench-nodes.sh): running wrk
# and reading its output. Uses the caller's `threads` (default 1), `connections`, `duration` and `round`.

# wrk's output → "requests/s p99_ms non2xx errors"
parse() {
    awk '
        /Requests\/sec:/ { rps = $2 }
        /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); p = v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); p = v } else if (v ~ /s$/) { sub(/s$/, "", v); p = v * 1000 } }
        /Non-2xx/ { non2xx = $NF }
        /Socket errors/ { errors = $0 }
        END { printf "%s %.3f %d %s\n", (rps == "" ? "none" : rps), p, non2xx + 0, (errors == "" ? "none" : "yes") }'
}

# wrk_run NAME WRK_ARGS… → one result line "NAME requests/s p99_ms non2xx"; wrk's output kept in wrk-NAME-ROUND.txt
wrk_run() {
    local name=$1; shift
    local out
    out=$(wrk -t"${threads:-1}" -c"$connections" -d"${duration}s" --latency "$@")
    echo "$out" >"wrk-$name-$round.txt"
    set -- $(echo "$out" | parse)
    [ "$1" != none ] || { echo "wrk reported no rate for $name:" >&2; echo "$out" >&2; exit 1; }
    printf '%-18s round %d: %10.0f req/s  p99 %7.2f ms  non-2xx %s  socket errors %s\n' "$name" "$round" "$1" "$2" "$3" "$4" >&2
    echo "$name $1 $2 $3"
}

# The median of the numbers on standard input, one a line.
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
