#!/usr/bin/env bash
# The crash soak: SIGKILL the appending child at random moments, many times (default 250),
# recovering and verifying the whole log from scratch after each kill.
#   scripts/soak.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
export URNE_CRASH_ITERATIONS="${1:-250}"
cargo test --release -p urne --test crash -- --nocapture
