#!/usr/bin/env bash
# Lints the Swift sources with swift-format (bundled with the toolchain) and .swift-format, then checks that every
# public declaration of the core, the store and the channels has a doc comment (scripts/doc_comments.py). Prints nothing when
# all is well; exits non-zero when either check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
swift format lint --recursive --parallel Sources Tests "$@" || status=$?
python3 scripts/doc_comments.py Sources/SelfCareCore Sources/SelfCareStore Sources/SelfCareChannels || status=$?
exit "$status"
