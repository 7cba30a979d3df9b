#!/usr/bin/env bash
# libFuzzer runs for the grammar parser, SMS normalisation, the USSD/IVR input path and the HTTP adapters'
# field decoding (arbitrary bytes in every form and JSON field, then the record chain verified).
#
#   scripts/fuzz.sh [grammar|sms|sessions|adapters|all] [seconds]     (default: all, 600 s each)
#
# Builds Fuzz/ (a package of its own) with `swift build -c release --sanitize=fuzzer` and runs each
# target for SECONDS on its kept corpus in Fuzz/Corpus/TARGET (new inputs that reach new code are
# added there; commit the ones worth keeping). A crash leaves its input in Fuzz/Artifacts/; replay it
# with `Fuzz/.build/release/FuzzX Fuzz/Artifacts/crash-…`.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
seconds=${2:-600}
targets=()
case "$which" in
    all) targets=(grammar sms sessions adapters) ;;
    grammar|sms|sessions|adapters) targets=("$which") ;;
    *) echo "fuzz: unknown target $which (grammar, sms, sessions, adapters or all)" >&2; exit 2 ;;
esac
product() {
    case "$1" in
        grammar) echo FuzzGrammar ;; sms) echo FuzzSMS ;; sessions) echo FuzzSessions ;; adapters) echo FuzzAdapters ;;
    esac
}

mkdir -p Fuzz/Artifacts
export SELFCARE_FUZZ_GRAMMAR="$PWD/grammars/sms.grammar" SELFCARE_FUZZ_GRAMMARS="$PWD/grammars"
status=0
for target in "${targets[@]}"; do
    name=$(product "$target")
    echo "fuzz: building $name…" >&2
    swift build -c release --sanitize=fuzzer --package-path Fuzz --product "$name" >&2
    mkdir -p "Fuzz/Corpus/$target"
    echo "fuzz: $name for ${seconds}s on Fuzz/Corpus/$target" >&2
    if ! "Fuzz/.build/release/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="Fuzz/Artifacts/$target-" "Fuzz/Corpus/$target"; then
        echo "fuzz: $name found a problem; see Fuzz/Artifacts/" >&2
        status=1
    fi
done
exit $status
