#!/usr/bin/env bash
# Lints the Swift sources with swift-format (bundled with the toolchain) and .swift-format.
set -euo pipefail
cd "$(dirname "$0")/.."
exec swift format lint --recursive --parallel Sources Tests "$@"
