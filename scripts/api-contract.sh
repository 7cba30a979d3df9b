#!/usr/bin/env bash
# The JSON routes against their contract, docs/openapi.yaml, with the OpenAPI tools' own checkers:
# openapi-spec-validator validates the document, then schemathesis generates requests from it against a real
# `selfcare serve` (a fresh demo database) and checks that no answer is a 5xx and every answer's status, content
# type, headers and body are the ones the document gives.
#
#   scripts/api-contract.sh [--binary PATH] [--python PATH] [--examples N]
#
# PATH of --python is a Python with schemathesis and openapi-spec-validator (.ci/run makes one in
# .build/ci-venv); --examples bounds the requests generated per operation (default 50).
set -euo pipefail
cd "$(dirname "$0")/.."
binary=.build/debug/selfcare python=${SELFCARE_CI_PYTHON:-.build/ci-venv/bin/python} examples=50
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary=$2; shift 2 ;;
        --python) python=$2; shift 2 ;;
        --examples) examples=$2; shift 2 ;;
        *) echo "api-contract: unknown option $1" >&2; exit 64 ;;
    esac
done
[ -x "$binary" ] || { echo "api-contract: no binary at $binary (run swift build first)" >&2; exit 1; }
[ -x "$python" ] || { echo "api-contract: no Python at $python with schemathesis (see .ci/run)" >&2; exit 1; }
bin=$(dirname "$python")
"$bin/openapi-spec-validator" docs/openapi.yaml

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
root=$PWD
(cd "$work" && SELFCARE_NOW=2026-11-24T10:00:00+08:00 SELFCARE_ADMIN_TOKEN=contract \
    SELFCARE_GRAMMARS="$root/grammars" SELFCARE_PROMPTS="$root/prompts" \
    exec "$root/$binary" serve --demo --port 0 >"$work/serve.log" 2>&1) &
server=$!
for _ in $(seq 1 600); do
    grep -q 'serving on' "$work/serve.log" 2>/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.1
done
base=$(sed -n 's/^selfcare: serving on //p' "$work/serve.log")
[ -n "$base" ] || { cat "$work/serve.log" >&2; echo "api-contract: the server did not start" >&2; exit 1; }
# The document the server serves is the one in the repository.
curl -sS "$base/openapi.yaml" | cmp - docs/openapi.yaml

"$bin/schemathesis" run "$base/openapi.yaml" --url "$base" \
    --header 'Authorization: Bearer contract' \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --mode all --max-examples "$examples" --seed 20261206 --workers 1 \
    --generation-database none --no-color --request-timeout 10
echo "api-contract: ok"
