#!/usr/bin/env bash
# nginx from Debian as the load balancer in front of SelfCare nodes, from deploy/nginx.conf, on a free
# port of 127.0.0.1: for the tests, the crash test and the benchmarks.
#
#   dir=$(scripts/balancer.sh start 127.0.0.1:8081 127.0.0.1:8082 …)   # prints its folder; URL in DIR/url
#   scripts/balancer.sh stop "$dir"
#
# The folder holds the configuration, nginx's logs (access.log names the node that answered each request)
# and its temporary files. Needs nginx (apt-get install nginx) and python3 (to find a free port).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
nginx=$(command -v nginx || echo /usr/sbin/nginx)
case "${1:-}" in
    start)
        shift
        [ $# -gt 0 ] || { echo "balancer: start HOST:PORT…" >&2; exit 2; }
        [ -x "$nginx" ] || { echo "balancer: no nginx (apt-get install nginx)" >&2; exit 1; }
        dir=$(mktemp -d /tmp/selfcare-balancer.XXXXXX)
        port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        servers=""
        for node in "$@"; do servers+="        server $node max_fails=1 fail_timeout=5s;"$'\n'; done
        user=""
        [ "$(id -u)" = 0 ] && user="user root;"  # the workers must write the temporary folders made here
        python3 - "$root/deploy/nginx.conf" "$dir/nginx.conf" "$dir" "127.0.0.1:$port" "$servers" "$user" <<'PY'
import sys
template, out, prefix, listen, servers, user = sys.argv[1:]
text = open(template).read()
for key, value in (("@PREFIX@", prefix), ("@LISTEN@", listen), ("@SERVERS@", servers.rstrip("\n")), ("@USER@", user)):
    text = text.replace(key, value)
open(out, "w").write(text)
PY
        "$nginx" -t -q -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" 2>"$dir/test.log" ||
            { cat "$dir/test.log" >&2; exit 1; }
        "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" </dev/null >"$dir/nginx.out" 2>&1 &
        for _ in $(seq 1 100); do
            [ -s "$dir/nginx.pid" ] && python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
            sleep 0.05
        done
        [ -s "$dir/nginx.pid" ] || { cat "$dir/nginx.out" "$dir/error.log" >&2; exit 1; }
        echo "http://127.0.0.1:$port" > "$dir/url"
        echo "$dir"
        ;;
    stop)
        dir=${2:?balancer: stop DIR}
        [ -f "$dir/nginx.conf" ] || { echo "balancer: $dir is not a balancer this script started" >&2; exit 1; }
        if [ -s "$dir/nginx.pid" ]; then
            pid=$(cat "$dir/nginx.pid")
            kill -QUIT "$pid" 2>/dev/null || true
            for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        [ "${KEEP:-}" = 1 ] || rm -rf "$dir"
        ;;
    *)
        sed -n '2,10p' "$0"
        exit 2
        ;;
esac
