#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the tests: a new cluster in a temporary directory, on a free port of
# 127.0.0.1, trusted logins, stopped and removed by `stop`.
#
#   dir=$(scripts/postgres-server.sh start)   # prints the cluster's directory; its URL is in DIR/url
#   export SELFCARE_TEST_POSTGRES=$(cat "$dir/url")
#   scripts/postgres-server.sh stop "$dir"
#
# Run as root, the cluster belongs to the `postgres` user (PostgreSQL refuses to run as root); otherwise to the
# caller. Needs Debian's postgresql-15 (/usr/lib/postgresql/15/bin) and python3 (to find a free port).
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
case "${1:-}" in
    start)
        [ -x "$bin/initdb" ] || { echo "postgres-server: no PostgreSQL 15 at $bin (apt-get install postgresql-15)" >&2; exit 1; }
        dir=$(mktemp -d /tmp/selfcare-postgres.XXXXXX)
        chmod 755 "$dir"
        port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        as=()
        if [ "$(id -u)" = 0 ]; then
            chown postgres "$dir"
            as=(su postgres -s /bin/sh -c)
        else
            as=(sh -c)
        fi
        "${as[@]}" "$bin/initdb -D '$dir/data' -A trust -U postgres -E UTF8 --locale=C.UTF-8 >'$dir/initdb.log' 2>&1" ||
            { cat "$dir/initdb.log" >&2; exit 1; }
        "${as[@]}" "$bin/pg_ctl -D '$dir/data' -w -l '$dir/server.log' -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c max_connections=300\" start >/dev/null" ||
            { cat "$dir/server.log" >&2; exit 1; }
        echo "postgres://postgres@127.0.0.1:$port/postgres" > "$dir/url"
        echo "$dir"
        ;;
    stop)
        dir=${2:?postgres-server: stop DIR}
        [ -f "$dir/url" ] || { echo "postgres-server: $dir is not a cluster this script started" >&2; exit 1; }
        if [ "$(id -u)" = 0 ]; then
            su postgres -s /bin/sh -c "$bin/pg_ctl -D '$dir/data' -m fast stop >/dev/null" || true
        else
            "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null || true
        fi
        rm -rf "$dir"
        ;;
    *)
        sed -n '2,11p' "$0"
        exit 2
        ;;
esac
