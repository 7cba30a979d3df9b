#!/usr/bin/env bash
# A session flood, scaled down to seconds: new USSD sessions and IVR calls, ten times the session cap, poured
# through the HTTP adapters in process while a customer stands at the USSD password screen and a caller at an
# IVR confirmation. Fails if either loses their session, if sessions outlive their expiry, or if resident
# memory does not come back near where it started once the flood's sessions expired.
#
#   scripts/flood-test.sh [--binary PATH] [--sessions N] [--cap C] [--slack MIB]
set -euo pipefail
cd "$(dirname "$0")/.."
binary=.build/debug/selfcare sessions=20000 cap=2000 slack=4
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary=$2; shift 2 ;;
        --sessions) sessions=$2; shift 2 ;;
        --cap) cap=$2; shift 2 ;;
        --slack) slack=$2; shift 2 ;;
        *) echo "flood-test: unknown option $1" >&2; exit 64 ;;
    esac
done
[ -x "$binary" ] || { echo "flood-test: no binary at $binary (run swift build first)" >&2; exit 1; }

# The flood moves its own clock; SELFCARE_NOW only keeps the run off the wall clock.
report=$(SELFCARE_NOW=2026-11-15T10:00:00Z "$binary" bench --flood "$sessions" --flood-cap "$cap")
echo "$report"
read -r before after < <(echo "$report" |
    sed -nE 's/.*resident ([0-9.]+) MiB before, .* ([0-9.]+) MiB once expired.*/\1 \2/p')
if [ -z "${before:-}" ]; then
    echo "flood-test: no memory figures in the report" >&2
    exit 1
fi
if awk -v b="$before" -v a="$after" -v s="$slack" 'BEGIN { exit !(a - b > s) }'; then
    echo "flood-test: resident memory stayed $(awk -v b="$before" -v a="$after" 'BEGIN { printf "%.1f", a - b }') MiB above its start (allowed: $slack MiB)" >&2
    exit 1
fi
echo "flood-test: ok"
