#!/usr/bin/env bash
# The test suite once more with the wall clock years ahead, to prove that no test depends on today's date.
#
#   scripts/test-far-date.sh [WHEN]      WHEN defaults to "2031-02-28 16:30:00" (UTC)
#
# Runs the test binary `swift test` built (.build/debug/selfcarePackageTests.xctest) under Debian's
# libfaketime (package faketime). The default instant is 2031-03-01 00:30 in Beijing while still February
# in UTC, so a local month read from the wall clock shows. The monotonic clock is left alone: Swift's
# concurrency runtime, NIO and the tests' timeouts measure durations with it. The library is preloaded into
# the test binary only, not into `swift`, whose driver it crashes; the programs the tests start inherit it,
# and each `selfcare` among them gets a fixed SELFCARE_NOW as always.
#
# The binary starts through a shell that has the library too: libfaketime's constructor sets
# FAKETIME_SHARED in the environment of the first process that loads it, which moves `environ`, and a
# Swift program on Linux that starts that way sees no command-line arguments (so the runner would pick
# XCTest, not Swift Testing). The shell sets it first; the binary inherits it and keeps its arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
when="${1:-2031-02-28 16:30:00}"
binary=.build/debug/selfcarePackageTests.xctest
[ -x "$binary" ] || { echo "test-far-date: $binary missing; run swift test (or swift build --build-tests) first" >&2; exit 1; }
lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1 || true)
[ -n "$lib" ] || { echo "test-far-date: libfaketime missing; apt-get install faketime" >&2; exit 1; }
export FAKETIME="@$when" FAKETIME_DONT_FAKE_MONOTONIC=1 TZ=UTC
seen=$(LD_PRELOAD="$lib" date -u '+%Y-%m-%d %H:%M')
[ "${seen%:*}" = "${when%:*:*}" ] || { echo "test-far-date: faketime did not take: date says $seen" >&2; exit 1; }
echo "test-far-date: the wall clock reads $seen UTC for the test binary"
pid_file=$(mktemp)
trap 'pid=$(cat "$pid_file" 2>/dev/null); rm -f "$pid_file" /dev/shm/faketime_shm_$pid /dev/shm/sem.faketime_sem_$pid' EXIT
LD_PRELOAD="$lib" /bin/sh -c 'echo $$ >"$0"; exec "$@"' "$pid_file" "$binary" --testing-library swift-testing
